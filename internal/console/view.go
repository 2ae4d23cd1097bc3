package console

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/custd/custd/internal/customer"
)

// What the customer form's template shows: every group and input with its value, its
// errors next to it, and a summary of the errors on top that links to each input.

type inputView struct {
	Name, ID, Label, Hint, Value string
	Kind                         string // text, number, money, time, date, check, choice
	Choices                      []string
	None                         bool // a choice may be none
	Private                      bool
	Errors                       []string
	Note                         string // what someone else saved in this field meanwhile
}

// Shown is the value as a page shows it to read.
func (in inputView) Shown() string {
	if in.Kind == "check" {
		if in.Value == "" {
			return "No"
		}
		return "Yes"
	}
	return in.Value
}

// ErrorID is the id of the element that holds the input's errors.
func (in inputView) ErrorID() string { return in.ID + "-error" }

// HintID is the id of the element that holds the input's hint.
func (in inputView) HintID() string { return in.ID + "-hint" }

type rowView struct {
	Number                int // from 1, for people
	FieldID, Label, Value inputView
}

type groupView struct {
	ID, Legend string
	Inputs     []inputView
	Custom     bool
	Rows       []rowView
}

type summaryItem struct {
	Label, Message, Anchor string
}

type formView struct {
	Groups  []groupView
	Summary []summaryItem // the field errors, in the form's order
	Other   []string      // errors of no input on the form
}

var kindNames = map[kind]string{textKind: "text", numberKind: "number", moneyKind: "money", timeKind: "time",
	dateKind: "date", checkKind: "check", choiceKind: "choice"}

// inputID is the id of the input of a field path: letters, digits, - and _ only.
func inputID(name string) string {
	return "f-" + strings.NewReplacer(".", "-", "[", "-", "]", "").Replace(name)
}

// buildForm lays a customer form out from its values, the problems of a failed save and
// the notes of a save that lost a race.
func buildForm(values map[string]string, err error, notes map[string]string) formView {
	byField := map[string][]string{}
	var problems []customer.FieldError
	var fv formView
	var e *customer.Error
	if errors.As(err, &e) {
		if len(e.Fields) > 0 {
			problems = e.Fields
		} else {
			fv.Other = append(fv.Other, e.Message)
		}
	}
	for _, p := range problems {
		byField[p.Field] = append(byField[p.Field], p.Message)
	}
	input := func(f field, name, label string) inputView {
		in := inputView{Name: name, ID: inputID(name), Label: label, Hint: f.hint, Value: values[name], Kind: kindNames[f.kind],
			Choices: f.choices, None: f.none, Private: f.private, Errors: byField[name], Note: notes[name]}
		return in
	}
	placed := map[string]bool{}
	for _, g := range formGroups {
		gv := groupView{ID: g.id, Legend: g.legend, Custom: g.custom}
		for _, f := range g.fields {
			gv.Inputs = append(gv.Inputs, input(f, f.name, f.label))
			placed[f.name] = true
		}
		if g.custom {
			rows := 0
			for key := range values {
				if n, _, ok := customRow(key); ok && n+1 > rows {
					rows = n + 1
				}
			}
			if rows < customer.MaxCustomFields {
				rows++ // a blank row to add one
			}
			for i := range rows {
				prefix := "fields[" + strconv.Itoa(i) + "]."
				row := rowView{Number: i + 1,
					FieldID: input(field{kind: numberKind}, prefix+"field_id", "Field ID"),
					Label:   input(field{kind: textKind}, prefix+"label", "Label"),
					Value:   input(field{kind: textKind}, prefix+"value", "Value")}
				for _, m := range []string{"field_id", "label", "value"} {
					placed[prefix+m] = true
				}
				gv.Rows = append(gv.Rows, row)
			}
			if notes["fields"] != "" {
				gv.Inputs = append(gv.Inputs, inputView{Note: notes["fields"], Kind: "note"})
			}
		}
		fv.Groups = append(fv.Groups, gv)
	}
	// The summary lists the problems in the order of the form, those of no input last.
	order := func(name string) int {
		i := 0
		for _, g := range fv.Groups {
			for _, in := range g.Inputs {
				if in.Name == name {
					return i
				}
				i++
			}
			for _, row := range g.Rows {
				for _, in := range []inputView{row.FieldID, row.Label, row.Value} {
					if in.Name == name {
						return i
					}
					i++
				}
			}
		}
		return i
	}
	items := slices.Clone(problems)
	slices.SortStableFunc(items, func(a, b customer.FieldError) int { return order(a.Field) - order(b.Field) })
	for _, p := range items {
		if !placed[p.Field] {
			fv.Other = append(fv.Other, labelOfInput(p.Field)+": "+p.Message)
			continue
		}
		fv.Summary = append(fv.Summary, summaryItem{Label: labelOfInput(p.Field), Message: p.Message, Anchor: inputID(p.Field)})
	}
	return fv
}

// labelOfInput names a field of the form for people; custom fields by their row.
func labelOfInput(name string) string {
	if n, member, ok := customRow(name); ok {
		return "Custom field " + strconv.Itoa(n+1) + ": " + map[string]string{"field_id": "Field ID", "label": "Label", "value": "Value"}[member]
	}
	if rest, ok := strings.CutPrefix(name, "fields["); ok {
		if n, err := strconv.Atoi(strings.TrimSuffix(rest, "]")); err == nil {
			return "Custom field " + strconv.Itoa(n+1)
		}
	}
	return labelOf(name)
}
