package console

import (
	"cmp"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custd/custd/internal/customer"
)

// The customer form is one table of fields, in groups as the customer page shows them.
// Each field's input is named by the domain's path of the field (billing_address.city,
// fields[0].value), so the domain's field errors land next to their inputs unchanged.
//
// The form reads only what a form's text means (a whole number, an amount, a date-time,
// a ticked box); every rule about values is the domain's, checked by the one write path.

// kind is how a field's value is written in its input.
type kind int

const (
	textKind   kind = iota // free text
	numberKind             // a whole number
	moneyKind              // an exact decimal amount
	timeKind               // a date-time in UTC
	dateKind               // a date
	checkKind              // a box ticked or not
	choiceKind             // one of a list, or none
)

// field is one input of the customer form.
type field struct {
	name    string // the domain's path of the field, and the input's name
	label   string
	kind    kind
	hint    string
	choices []string // choiceKind: the values, in order
	none    bool     // choiceKind: no value may be chosen
	private bool     // a secret a browser should not remember or suggest
	get     func(w *customer.Writable) string
	set     func(r *formReader, w *customer.Writable)
	// keep gives next the empty value cur had, where the form's empty input stands for
	// both (null and "" read alike), so that saving an untouched form changes nothing.
	keep func(next, cur *customer.Writable)
}

// group is a fieldset of the form.
type group struct {
	id, legend string
	fields     []field
	// slot is set for an address group: the address the fields belong to, which is null
	// when all of them are empty.
	slot func(w *customer.Writable) **customer.Address
	// custom marks the group of custom fields, which has a row per field.
	custom bool
}

const timeLayout = "2006-01-02T15:04:05.000Z"

const timeHint = "UTC, such as 2024-06-10T09:31:44.903Z or 2024-06-10"

// formGroups is the customer form, in the order of the customer page.
var formGroups = []group{
	{id: "account", legend: "Account", fields: []field{
		choice("status", "Status", customer.Statuses, func(w *customer.Writable) *customer.Status { return &w.Status }),
		text("account_number", "Account number", "", func(w *customer.Writable) **string { return &w.AccountNumber }),
		text("email", "Email", "One address, or several separated by commas", func(w *customer.Writable) **string { return &w.Email }),
		number("parent_customer_id", "Parent customer ID", func(w *customer.Writable) **int32 { return &w.ParentCustomerID }),
		check("is_parent", "Is a parent account", func(w *customer.Writable) *bool { return &w.IsParent }),
		number("agent_id", "Agent ID", func(w *customer.Writable) **int32 { return &w.AgentID }),
		number("secondary_agent_id", "Secondary agent ID", func(w *customer.Writable) **int32 { return &w.SecondaryAgentID }),
		number("sold_by", "Sold by (user ID)", func(w *customer.Writable) **int32 { return &w.SoldBy }),
		text("source", "Source", "", func(w *customer.Writable) **string { return &w.Source }),
		text("registration_code", "Registration code", "Left empty, the current code is kept",
			func(w *customer.Writable) **string { return &w.RegistrationCode }),
		secret(text("security_pin", "Security PIN", "", func(w *customer.Writable) **string { return &w.SecurityPIN })),
		text("culture", "Culture", "A language tag such as en-US", func(w *customer.Writable) **string { return &w.Culture }),
		datetime("activated_date", "Activated", func(w *customer.Writable) **time.Time { return &w.ActivatedDate }),
		datetime("close_date", "Closed", func(w *customer.Writable) **time.Time { return &w.CloseDate }),
		check("suspended", "Suspended", func(w *customer.Writable) *bool { return &w.Suspended }),
		datetime("suspended_date", "Suspended on", func(w *customer.Writable) **time.Time { return &w.SuspendedDate }),
		check("close_on_no_active_services", "Close when no service is active",
			func(w *customer.Writable) *bool { return &w.CloseOnNoActiveServices }),
	}},
	address("billing_address", "Billing address", func(w *customer.Writable) **customer.Address { return &w.BillingAddress }),
	address("service_address", "Service address", func(w *customer.Writable) **customer.Address { return &w.ServiceAddress }),
	address("listing_address", "Listing address", func(w *customer.Writable) **customer.Address { return &w.ListingAddress }),
	{id: "auto_debit", legend: "Auto debit", fields: []field{
		check("auto_debit.enabled", "Auto debit enabled", func(w *customer.Writable) *bool { return &w.AutoDebit.Enabled }),
		number("auto_debit.day", "Day of the month", func(w *customer.Writable) **int32 { return &w.AutoDebit.Day }),
		number("auto_debit.payment_account_id", "Payment account ID",
			func(w *customer.Writable) **int32 { return &w.AutoDebit.PaymentAccountID }),
	}},
	{id: "finance", legend: "Finance", fields: []field{
		optChoice("finance.billing_method", "Billing method", customer.BillingMethods,
			func(w *customer.Writable) **customer.BillingMethod { return &w.Finance.BillingMethod }),
		amount("finance.balance_limit", "Balance limit", func(w *customer.Writable) **customer.Money { return &w.Finance.BalanceLimit }),
		check("finance.balance_limit_enabled", "Balance limit enabled",
			func(w *customer.Writable) *bool { return &w.Finance.BalanceLimitEnabled }),
		number("finance.bill_profile_id", "Bill profile ID", func(w *customer.Writable) **int32 { return &w.Finance.BillProfileID }),
		number("finance.collection_template_id", "Collection template ID",
			func(w *customer.Writable) **int32 { return &w.Finance.CollectionTemplateID }),
		number("finance.payment_terms_days", "Payment terms (days)",
			func(w *customer.Writable) **int32 { return &w.Finance.PaymentTermsDays }),
		datetime("finance.contract_start_date", "Contract start", func(w *customer.Writable) **time.Time { return &w.Finance.ContractStartDate }),
		datetime("finance.contract_end_date", "Contract end", func(w *customer.Writable) **time.Time { return &w.Finance.ContractEndDate }),
		datetime("finance.cycle_date", "Cycle date", func(w *customer.Writable) **time.Time { return &w.Finance.CycleDate }),
		check("finance.late_fees_enabled", "Late fees", func(w *customer.Writable) *bool { return &w.Finance.LateFeesEnabled }),
		check("finance.payment_fees_enabled", "Payment fees", func(w *customer.Writable) *bool { return &w.Finance.PaymentFeesEnabled }),
		check("finance.tax_exempt_enabled", "Tax exempt", func(w *customer.Writable) *bool { return &w.Finance.TaxExemptEnabled }),
		text("finance.tax_exempt_types", "Tax exempt types", "", func(w *customer.Writable) **string { return &w.Finance.TaxExemptTypes }),
		check("finance.usage_file_enabled", "Usage file", func(w *customer.Writable) *bool { return &w.Finance.UsageFileEnabled }),
		text("finance.usage_file_format", "Usage file format", "", func(w *customer.Writable) **string { return &w.Finance.UsageFileFormat }),
	}},
	{id: "profile", legend: "Profile", fields: []field{
		optChoice("profile.class", "Class", customer.Classes, func(w *customer.Writable) **customer.Class { return &w.Profile.Class }),
		dateField("profile.date_of_birth", "Date of birth", func(w *customer.Writable) **time.Time { return &w.Profile.DateOfBirth }),
		text("profile.language", "Language", "", func(w *customer.Writable) **string { return &w.Profile.Language }),
		secret(text("profile.tax_id", "Tax ID", "", func(w *customer.Writable) **string { return &w.Profile.TaxID })),
	}},
	{id: "fields", legend: "Custom fields", custom: true},
}

// The builders of fields, one per kind of value.

// text is an optional text, null when its input is empty.
func text(name, label, hint string, ref func(*customer.Writable) **string) field {
	return field{name: name, label: label, kind: textKind, hint: hint,
		get: func(w *customer.Writable) string { return deref(*ref(w)) },
		set: func(r *formReader, w *customer.Writable) { *ref(w) = r.optional(name) },
		keep: func(next, cur *customer.Writable) {
			if n, c := ref(next), *ref(cur); *n == nil && c != nil && *c == "" {
				*n = c
			}
		}}
}

func secret(f field) field { f.private = true; return f }

func number(name, label string, ref func(*customer.Writable) **int32) field {
	return field{name: name, label: label, kind: numberKind,
		get: func(w *customer.Writable) string {
			if v := *ref(w); v != nil {
				return strconv.FormatInt(int64(*v), 10)
			}
			return ""
		},
		set: func(r *formReader, w *customer.Writable) { *ref(w) = r.number(name) }}
}

func amount(name, label string, ref func(*customer.Writable) **customer.Money) field {
	return field{name: name, label: label, kind: moneyKind, hint: "An amount such as 2500 or 19.99",
		get: func(w *customer.Writable) string {
			if v := *ref(w); v != nil {
				return v.String()
			}
			return ""
		},
		set: func(r *formReader, w *customer.Writable) { *ref(w) = r.money(name) }}
}

func datetime(name, label string, ref func(*customer.Writable) **time.Time) field {
	return field{name: name, label: label, kind: timeKind, hint: timeHint,
		get: func(w *customer.Writable) string { return formatTime(*ref(w)) },
		set: func(r *formReader, w *customer.Writable) { *ref(w) = r.time(name, customer.ParseTime) }}
}

func dateField(name, label string, ref func(*customer.Writable) **time.Time) field {
	return field{name: name, label: label, kind: dateKind, hint: "Such as 1980-05-31",
		get: func(w *customer.Writable) string {
			if t := *ref(w); t != nil {
				return t.UTC().Format(time.DateOnly)
			}
			return ""
		},
		set: func(r *formReader, w *customer.Writable) { *ref(w) = r.time(name, customer.ParseDate) }}
}

func check(name, label string, ref func(*customer.Writable) *bool) field {
	return field{name: name, label: label, kind: checkKind,
		get: func(w *customer.Writable) string {
			if *ref(w) {
				return "on"
			}
			return ""
		},
		set: func(r *formReader, w *customer.Writable) { *ref(w) = r.v.Get(name) != "" }}
}

// choice is one of values, required.
func choice[T ~string](name, label string, values []T, ref func(*customer.Writable) *T) field {
	f := field{name: name, label: label, kind: choiceKind, choices: names(values)}
	f.get = func(w *customer.Writable) string { return string(*ref(w)) }
	f.set = func(r *formReader, w *customer.Writable) { *ref(w) = T(r.v.Get(name)) }
	return f
}

// optChoice is one of values, or none.
func optChoice[T ~string](name, label string, values []T, ref func(*customer.Writable) **T) field {
	f := field{name: name, label: label, kind: choiceKind, none: true, choices: names(values)}
	f.get = func(w *customer.Writable) string {
		if v := *ref(w); v != nil {
			return string(*v)
		}
		return ""
	}
	f.set = func(r *formReader, w *customer.Writable) {
		*ref(w) = nil
		if s := r.v.Get(name); s != "" {
			v := T(s)
			*ref(w) = &v
		}
	}
	return f
}

func names[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// address is the group of one address slot; the address is null when every input is
// empty.
func address(id, legend string, slot func(*customer.Writable) **customer.Address) group {
	g := group{id: id, legend: legend, slot: slot}
	labels := map[string]string{"first_name": "First name", "middle_initial": "Middle initial", "last_name": "Last name",
		"company_name": "Company name", "line_1": "Address line 1", "line_2": "Address line 2", "city": "City",
		"state_or_province": "State or province", "postal_code": "Postal code", "postal_code_extension": "Postal code extension"}
	order := []string{"company_name", "first_name", "middle_initial", "last_name", "line_1", "line_2", "city", "state_or_province",
		"postal_code", "postal_code_extension"}
	for _, member := range order {
		i := slices.IndexFunc(customer.AddressLimits, func(l struct {
			Name string
			Max  int
			Get  func(*customer.Address) *string
		}) bool {
			return l.Name == member
		})
		get, name := customer.AddressLimits[i].Get, id+"."+member
		g.fields = append(g.fields, field{name: name, label: labels[member], kind: textKind,
			get: func(w *customer.Writable) string {
				if a := *slot(w); a != nil {
					return *get(a)
				}
				return ""
			},
			set: func(r *formReader, w *customer.Writable) { *get(r.address(slot, w)) = r.v.Get(name) }})
	}
	name := id + ".country_code"
	g.fields = append(g.fields, field{name: name, label: "Country code", kind: numberKind, hint: "A number; 0 when unknown",
		get: func(w *customer.Writable) string {
			if a := *slot(w); a != nil && a.CountryCode != 0 {
				return strconv.FormatInt(int64(a.CountryCode), 10)
			}
			return ""
		},
		set: func(r *formReader, w *customer.Writable) {
			if n := r.number(name); n != nil {
				r.address(slot, w).CountryCode = *n
			}
		}})
	return g
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func formatTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

// formReader reads a submitted form into a Writable, recording what cannot be read as
// the value its input stands for (a number that is not one) under the field's name.
type formReader struct {
	v url.Values
	p customer.Problems
	// touched marks the address slots that some input gave a value to.
	touched map[**customer.Address]bool
}

func (r *formReader) optional(name string) *string {
	if s := r.v.Get(name); s != "" {
		return &s
	}
	return nil
}

func (r *formReader) number(name string) *int32 { return r.numberOf(name, r.v.Get(name)) }

// numberOf reads s, the value of the input name, as a whole number.
func (r *formReader) numberOf(name, s string) *int32 {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil:
		r.p.Add(name, "must be a whole number, such as 42 (got %q)", clip(s))
		return nil
	case n < math.MinInt32 || n > math.MaxInt32:
		r.p.Add(name, "must be a whole number from %d to %d", math.MinInt32, math.MaxInt32)
		return nil
	}
	v := int32(n)
	return &v
}

func (r *formReader) money(name string) *customer.Money {
	s := strings.TrimSpace(r.v.Get(name))
	if s == "" {
		return nil
	}
	m, err := customer.ParseMoney(s)
	if err != nil {
		r.p.Add(name, "%s, such as 2500 or 19.99 (got %q)", err, clip(s))
		return nil
	}
	return &m
}

func (r *formReader) time(name string, parse func(string) (time.Time, bool)) *time.Time {
	s := strings.TrimSpace(r.v.Get(name))
	if s == "" {
		return nil
	}
	t, ok := parse(s)
	if !ok {
		r.p.Add(name, "must be a date-time such as 2024-06-10T09:31:44.903Z or a date such as 2024-06-10 (got %q)", clip(s))
		return nil
	}
	return &t
}

// address returns the address of a slot that an input gives a value to, making it.
func (r *formReader) address(slot func(*customer.Writable) **customer.Address, w *customer.Writable) *customer.Address {
	a := slot(w)
	if *a == nil {
		*a = &customer.Address{}
	}
	return *a
}

// clip shortens text quoted back in a message.
func clip(s string) string {
	if len(s) > 40 {
		i := 40
		for i > 0 && s[i]&0xC0 == 0x80 {
			i--
		}
		return s[:i] + "…"
	}
	return s
}

// maxCustomRows bounds the custom field rows a form may carry: more than the domain
// allows, so that its rule, not the form, says how many.
const maxCustomRows = customer.MaxCustomFields + 20

// readCustomerForm reads a submitted customer form. It returns the Writable, the problems of
// inputs that could not be read (named as the domain names the fields), and the form's
// values as they should be shown again: the custom field rows left empty dropped, the
// others numbered from 0 in their order, as the Writable's fields are.
func readCustomerForm(v url.Values) (*customer.Writable, customer.Problems, map[string]string) {
	r := &formReader{v: v}
	w := &customer.Writable{}
	for _, g := range formGroups {
		for _, f := range g.fields {
			f.set(r, w)
		}
		if g.slot != nil && *g.slot(w) != nil && **g.slot(w) == (customer.Address{}) {
			*g.slot(w) = nil // every input empty: no address
		}
	}
	values := map[string]string{}
	for _, g := range formGroups {
		for _, f := range g.fields {
			if s := v.Get(f.name); s != "" {
				values[f.name] = s
			}
		}
	}
	// Custom fields: the rows that hold anything, in the order of their numbers.
	var rows []int
	for key := range v {
		if n, _, ok := customRow(key); ok && n < 10*maxCustomRows && !slices.Contains(rows, n) {
			rows = append(rows, n)
		}
	}
	slices.Sort(rows)
	for _, n := range rows {
		get := func(member string) string { return v.Get("fields[" + strconv.Itoa(n) + "]." + member) }
		id, label, value := strings.TrimSpace(get("field_id")), get("label"), get("value")
		if id == "" && label == "" && value == "" {
			continue
		}
		i := len(w.Fields)
		if i == maxCustomRows {
			r.p.Add("fields", "must have at most %d items", customer.MaxCustomFields)
			break
		}
		prefix := "fields[" + strconv.Itoa(i) + "]."
		values[prefix+"field_id"], values[prefix+"label"], values[prefix+"value"] = id, label, value
		cf := customer.CustomField{Label: label, Value: value}
		if n := r.numberOf(prefix+"field_id", id); n != nil {
			cf.FieldID = *n
		} else if id == "" {
			r.p.Add(prefix+"field_id", "is required")
		}
		w.Fields = append(w.Fields, cf)
	}
	return w, r.p, values
}

// customRow reads the row number and member of a custom field input's name,
// fields[3].label.
func customRow(name string) (row int, member string, ok bool) {
	rest, found := strings.CutPrefix(name, "fields[")
	if !found {
		return 0, "", false
	}
	num, member, found := strings.Cut(rest, "].")
	if !found || len(num) == 0 || len(num) > 4 || strings.Trim(num, "0123456789") != "" {
		return 0, "", false
	}
	n, _ := strconv.Atoi(num)
	return n, member, member == "field_id" || member == "label" || member == "value"
}

// formValues is a stored customer's form, as its inputs show it.
func formValues(w *customer.Writable) map[string]string {
	values := map[string]string{}
	for _, g := range formGroups {
		for _, f := range g.fields {
			if s := f.get(w); s != "" {
				values[f.name] = s
			}
		}
	}
	for i, cf := range w.Fields {
		prefix := "fields[" + strconv.Itoa(i) + "]."
		values[prefix+"field_id"] = strconv.FormatInt(int64(cf.FieldID), 10)
		values[prefix+"label"], values[prefix+"value"] = cf.Label, cf.Value
	}
	return values
}

// keepEmpty gives next, read from a form, the empty values cur (the customer it
// replaces) had where the form cannot tell one empty value from another: an empty text
// that was "" rather than null, an address whose every member is empty.
func keepEmpty(next, cur *customer.Writable) {
	for _, g := range formGroups {
		for _, f := range g.fields {
			if f.keep != nil {
				f.keep(next, cur)
			}
		}
		if g.slot != nil {
			if n, c := g.slot(next), *g.slot(cur); *n == nil && c != nil && *c == (customer.Address{ID: c.ID}) {
				empty := *c
				*n = &empty
			}
		}
	}
}

// labelOf returns the label of a field path for people, with its group unless it is an
// account's own field: "Email", "Billing address: City", "Custom field 3: Value".
func labelOf(path string) string {
	for _, g := range formGroups {
		for _, f := range g.fields {
			if f.name == path {
				if g.id != "account" {
					return g.legend + ": " + f.label
				}
				return f.label
			}
		}
	}
	if rest, ok := strings.CutPrefix(path, "fields["); ok {
		if id, member, ok := strings.Cut(rest, "]."); ok {
			if m, ok := map[string]string{"field_id": "ID", "label": "Label", "value": "Value"}[member]; ok {
				return "Custom field " + id + ": " + m
			}
		}
		return "Custom field " + strings.TrimSuffix(rest, "]")
	}
	return path
}

// change is one changed field of a version, for people.
type change struct {
	Field, Label, From, To string
}

// displayValues lists a customer's fields as a person reads them, in the order of the
// form; custom fields are named by their field_id, as history names them.
func displayValues(w *customer.Writable) ([]string, map[string]string) {
	var keys []string
	values := map[string]string{}
	for _, g := range formGroups {
		for _, f := range g.fields {
			keys = append(keys, f.name)
			values[f.name] = display(f, f.get(w))
		}
	}
	fields := slices.Clone(w.Fields)
	slices.SortStableFunc(fields, func(a, b customer.CustomField) int { return cmp.Compare(a.FieldID, b.FieldID) })
	for _, cf := range fields {
		prefix := "fields[" + strconv.FormatInt(int64(cf.FieldID), 10) + "]."
		keys = append(keys, prefix+"label", prefix+"value")
		values[prefix+"label"], values[prefix+"value"] = cf.Label, cf.Value
	}
	return keys, values
}

// display writes a field's form value as a page shows it.
func display(f field, v string) string {
	if f.kind == checkKind {
		if v == "" {
			return "No"
		}
		return "Yes"
	}
	return v
}

// changes lists what a version changed from the one before it (prev; nil for the first
// version, compared with the customer a create of nothing makes), field by field.
func changes(prev, next *customer.Writable) []change {
	if prev == nil {
		prev = &customer.Writable{Status: customer.StatusOpen}
	}
	fromKeys, from := displayValues(prev)
	toKeys, to := displayValues(next)
	var out []change
	seen := map[string]bool{}
	for _, k := range append(toKeys, fromKeys...) {
		if seen[k] {
			continue
		}
		seen[k] = true
		if from[k] != to[k] {
			out = append(out, change{Field: k, Label: labelOf(k), From: from[k], To: to[k]})
		}
	}
	return out
}
