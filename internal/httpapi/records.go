package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/custd/custd/internal/customer"
)

// This file is the wire form of customers outside HTTP: the records of an export file and
// of an import. An exported record is a customer exactly as GET returns it, without ok and
// links; an imported record is read by the same decoder as a request body, and validated
// by the same rules, with the members the server sets read too (an import keeps them).

// Records writes customers in their wire form, with one time format.
type Records struct{ enc encoder }

// NewRecords returns the writer of records whose date-times are in format f
// (TimeRFC3339 when empty). Errors: an unknown format.
func NewRecords(f TimeFormat) (*Records, error) {
	switch f {
	case "":
		f = TimeRFC3339
	case TimeRFC3339, TimeRevio:
	default:
		return nil, fmt.Errorf("unknown time format %q (rfc3339 or revio)", f)
	}
	return &Records{enc: encoder{layout: f.layout()}}, nil
}

// JSON returns c as GET returns it, without ok and links: the same bytes.
func (r *Records) JSON(c *customer.Customer) ([]byte, error) { return json.Marshal(r.enc.customer(c)) }

// DecodeRecord reads one imported record, a JSON object in the wire form, as the API reads
// a body: a record without customer_id as a POST body, one with it as a PUT body (status is
// required). The members the server sets are read too and kept: customer_id, created_by,
// created_date, updated_date and the addresses' address_id; the others that GET writes
// (the ledger's amounts, the addresses' customer_id) are ignored, as in a body. Errors:
// Invalid, naming every problem of the record, the domain's rules included.
func DecodeRecord(body []byte) (*customer.ImportRecord, error) {
	members, err := objectMembers(body)
	if err != nil {
		return nil, err
	}
	var d decoder
	rec := &customer.ImportRecord{Writable: &customer.Writable{Status: customer.StatusOpen}}
	k := &rec.Keep
	mode := forCreate
	if id := d.int32("customer_id", members["customer_id"]); id != nil {
		k.CustomerID, mode = *id, forReplace
	}
	d.customer(members, rec.Writable, mode, 0)
	if id := d.int32("created_by", members["created_by"]); id != nil {
		k.CreatedBy = *id
	}
	if t := d.time("created_date", members["created_date"]); t != nil {
		k.CreatedDate = *t
	}
	if t := d.time("updated_date", members["updated_date"]); t != nil {
		k.UpdatedDate = *t
	}
	for i, slot := range []string{"billing_address", "service_address", "listing_address"} {
		if raw := members[slot]; raw != nil && !isNull(raw) && raw[0] == '{' {
			if id := d.int32(slot+".address_id", splitObject(raw, 16)["address_id"]); id != nil {
				k.AddressIDs[i] = *id
			}
		}
	}
	var rules customer.Problems
	rec.Validate(&rules, customer.Now())
	if err := d.with(rules.Err()); err != nil {
		return nil, err
	}
	return rec, nil
}

// CSV form: nested members flatten to dotted column names (billing_address.city,
// finance.balance_limit), custom fields to fields[<field_id>].label and .value, in the
// order of the wire form. A cell of a member that is null is empty. So that text can be
// told from null, an empty text is written "" (two quotation marks) where a member may be
// null, and a text of only quotation marks gets one more; a member of an address or a
// custom field that is present reads an empty cell as the empty text.

// cellKind says how a column's cells are written and read.
type cellKind int

const (
	cellText     cellKind = iota // a text that is never null, or a date-time: verbatim
	cellNullable                 // a text that may be null: quoted emptiness (nullText)
	cellNumber                   // a number: verbatim JSON
	cellBool                     // true or false
)

// csvColumn is one column of the customer's members.
type csvColumn struct {
	name  string
	index []int // of the member in customerJSON
	kind  cellKind
	// object is the member holding the column when that member may be null (an address):
	// it is null when all its cells are empty.
	object string
}

// csvFieldsAt is the position among csvColumns where the custom fields' columns go.
var csvColumns, csvFieldsAt = func() ([]csvColumn, int) {
	var cols []csvColumn
	at := -1
	dates := []string{"activated_date", "close_date", "suspended_date", "contract_start_date", "contract_end_date",
		"cycle_date", "due_date", "date_of_birth", "created_date", "updated_date"}
	moneyType := reflect.TypeFor[money]()
	var walk func(t reflect.Type, prefix, object string, index []int)
	walk = func(t reflect.Type, prefix, object string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			idx := append(slices.Clone(index), i)
			ft := f.Type
			switch {
			case name == "ok" || name == "links":
				continue
			case name == "fields" && prefix == "":
				at = len(cols)
				continue
			case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
				walk(ft.Elem(), prefix+name+".", prefix+name, idx)
				continue
			case ft.Kind() == reflect.Struct:
				walk(ft, prefix+name+".", object, idx)
				continue
			}
			c := csvColumn{name: prefix + name, index: idx, object: object}
			base := ft
			if base.Kind() == reflect.Pointer {
				base = base.Elem()
			}
			switch {
			case base == moneyType, base.Kind() == reflect.Int32, base.Kind() == reflect.Int64:
				c.kind = cellNumber
			case base.Kind() == reflect.Bool:
				c.kind = cellBool
			case slices.Contains(dates, name):
				c.kind = cellText
			case ft.Kind() == reflect.Pointer || name == "registration_code":
				// registration_code is never null in a GET, but an import that omits it
				// generates one: the empty code must stay apart from no code.
				c.kind = cellNullable
			default:
				c.kind = cellText
			}
			cols = append(cols, c)
		}
	}
	walk(reflect.TypeFor[customerJSON](), "", "", nil)
	return cols, at
}()

// fieldColumn is the name of a custom field's column: fields[7].label.
func fieldColumn(id int32, member string) string {
	return "fields[" + strconv.Itoa(int(id)) + "]." + member
}

// CSVHeader returns the header row of a CSV export whose customers have the custom fields
// fieldIDs (in ascending order): every member of the wire form, and a label and a value
// column for each custom field.
func CSVHeader(fieldIDs []int32) []string {
	out := make([]string, 0, len(csvColumns)+2*len(fieldIDs))
	for i, c := range csvColumns {
		if i == csvFieldsAt {
			out = appendFieldColumns(out, fieldIDs)
		}
		out = append(out, c.name)
	}
	return out
}

func appendFieldColumns(out []string, fieldIDs []int32) []string {
	for _, id := range fieldIDs {
		out = append(out, fieldColumn(id, "label"), fieldColumn(id, "value"))
	}
	return out
}

// CSV appends to row (which it may reuse) the cells of c under CSVHeader(fieldIDs).
// fieldIDs must hold the field_id of each of c's custom fields.
func (r *Records) CSV(row []string, c *customer.Customer, fieldIDs []int32) []string {
	row = row[:0]
	v := reflect.ValueOf(r.enc.customer(c)).Elem()
	for i, col := range csvColumns {
		if i == csvFieldsAt {
			row = appendFieldCells(row, c.Fields, fieldIDs)
		}
		row = append(row, cell(v, col))
	}
	return row
}

func appendFieldCells(row []string, fields []customer.CustomField, fieldIDs []int32) []string {
	for _, id := range fieldIDs {
		i := slices.IndexFunc(fields, func(f customer.CustomField) bool { return f.FieldID == id })
		if i < 0 {
			row = append(row, "", "")
			continue
		}
		row = append(row, quoteEmpty(fields[i].Label), quoteEmpty(fields[i].Value))
	}
	return row
}

// cell writes one member's value.
func cell(v reflect.Value, col csvColumn) string {
	f, err := v.FieldByIndexErr(col.index)
	if err != nil { // in an address that is null
		return ""
	}
	if f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return ""
		}
		f = f.Elem()
	}
	switch {
	case f.Type() == reflect.TypeFor[money]():
		return customer.Money(f.Int()).String()
	case f.Kind() == reflect.Int32, f.Kind() == reflect.Int64:
		return strconv.FormatInt(f.Int(), 10)
	case f.Kind() == reflect.Bool:
		return strconv.FormatBool(f.Bool())
	case col.kind == cellNullable:
		return quoteEmpty(f.String())
	}
	return f.String()
}

// quoteEmpty writes a text that may be null: the empty text as "", and a text of two or
// more quotation marks with one more, so that every text reads back as itself.
func quoteEmpty(s string) string {
	switch {
	case s == "":
		return `""`
	case onlyQuotes(s):
		return s + `"`
	}
	return s
}

// unquoteEmpty reads a cell that quoteEmpty wrote: nil for an empty cell (null).
func unquoteEmpty(s string) *string {
	switch {
	case s == "":
		return nil
	case s == `""`:
		s = ""
	case onlyQuotes(s):
		s = s[1:]
	}
	return &s
}

// onlyQuotes reports whether s is two or more quotation marks and nothing else.
func onlyQuotes(s string) bool { return len(s) >= 2 && strings.Trim(s, `"`) == "" }

// CSVRecords reads the rows of a CSV file of customers.
type CSVRecords struct {
	columns []csvInput
	layout  []csvMember // the record's members, from the columns, in the order of the header
	fields  []csvField  // the custom fields, by ascending field_id
}

// csvMember is a member of a record and the columns it is read from: one for a value, or
// one per member of a nested object (an empty name for a value).
type csvMember struct {
	name    string
	members []csvCell
}

type csvCell struct {
	name   string // in the nested object, or "" for the member itself
	column int
	kind   cellKind
}

// csvField is a custom field and the columns of its label and value (-1: none).
type csvField struct {
	id           int32
	label, value int
}

// csvInput is what a column of the file is.
type csvInput struct {
	col     *csvColumn // a member, or nil for a custom field's
	fieldID int32
	member  string // of the custom field: label or value
}

// NewCSVRecords reads a header row. Columns may be in any order and any may be missing (a
// missing member is absent from every record). Errors: Invalid, naming every column that
// is not a member or is given twice.
func NewCSVRecords(header []string) (*CSVRecords, error) {
	var p customer.Problems
	r := &CSVRecords{columns: make([]csvInput, len(header))}
	seen := map[string]bool{}
	for i, name := range header {
		if i == 0 {
			name = strings.TrimPrefix(name, "\uFEFF") // a byte order mark, as spreadsheets write
		}
		in := &r.columns[i]
		if j := slices.IndexFunc(csvColumns, func(c csvColumn) bool { return c.name == name }); j >= 0 {
			in.col = &csvColumns[j]
		} else if id, member, ok := parseFieldColumn(name); ok {
			in.fieldID, in.member = id, member
		} else {
			p.Add(name, "is not a column of a customer (a member of the wire form in dotted form, or fields[<field_id>].label or .value)")
			continue
		}
		if seen[name] {
			p.Add(name, "is given twice")
		}
		seen[name] = true
	}
	if len(p) > 0 {
		return nil, &customer.Error{Kind: customer.Invalid, Message: "the header row is invalid", Fields: p}
	}
	r.plan()
	return r, nil
}

// plan groups the columns by the member of the record each belongs to.
func (r *CSVRecords) plan() {
	at := map[string]int{} // member name -> index in layout
	fields := map[int32]*csvField{}
	for i, in := range r.columns {
		if in.col == nil {
			f := fields[in.fieldID]
			if f == nil {
				f = &csvField{id: in.fieldID, label: -1, value: -1}
				fields[in.fieldID] = f
			}
			if in.member == "label" {
				f.label = i
			} else {
				f.value = i
			}
			continue
		}
		name, member, _ := strings.Cut(in.col.name, ".")
		j, ok := at[name]
		if !ok {
			j = len(r.layout)
			at[name] = j
			r.layout = append(r.layout, csvMember{name: name})
		}
		r.layout[j].members = append(r.layout[j].members, csvCell{name: member, column: i, kind: in.col.kind})
	}
	for _, f := range fields {
		r.fields = append(r.fields, *f)
	}
	slices.SortFunc(r.fields, func(a, b csvField) int { return int(a.id) - int(b.id) })
}

func parseFieldColumn(name string) (int32, string, bool) {
	rest, ok := strings.CutPrefix(name, "fields[")
	if !ok {
		return 0, "", false
	}
	num, member, ok := strings.Cut(rest, "].")
	if !ok || (member != "label" && member != "value") {
		return 0, "", false
	}
	id, err := strconv.ParseInt(num, 10, 32)
	if err != nil || id < 1 || num != strconv.FormatInt(id, 10) {
		return 0, "", false
	}
	return int32(id), member, true
}

// Decode reads one row as the record it stands for, validated as DecodeRecord validates
// one; a problem of a custom field is named by its column (fields[7].value). Errors:
// Invalid.
func (r *CSVRecords) Decode(row []string) (*customer.ImportRecord, error) {
	body, ids, err := r.JSON(row)
	if err != nil {
		return nil, err
	}
	rec, err := DecodeRecord(body)
	var e *customer.Error
	if errors.As(err, &e) {
		for i := range e.Fields {
			e.Fields[i].Field = renameField(e.Fields[i].Field, ids)
		}
	}
	return rec, err
}

// renameField names the custom field at fields[i] by its field id, as the columns do.
func renameField(path string, ids []int32) string {
	rest, ok := strings.CutPrefix(path, "fields[")
	if !ok {
		return path
	}
	num, tail, ok := strings.Cut(rest, "]")
	i, err := strconv.Atoi(num)
	if !ok || err != nil || i < 0 || i >= len(ids) {
		return path
	}
	return "fields[" + strconv.Itoa(int(ids[i])) + "]" + tail
}

// JSON returns the record a row stands for as a JSON object, and the field_id of each of
// its custom fields in order. Errors: Invalid (a row with another number of cells than the
// header).
func (r *CSVRecords) JSON(row []string) ([]byte, []int32, error) {
	if len(row) != len(r.columns) {
		return nil, nil, customer.Errorf(customer.Invalid, "the row has %d cells, the header %d", len(row), len(r.columns))
	}
	b := make([]byte, 0, 2048)
	b = append(b, '{')
	first := true
	member := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, name)
		b = append(b, ':')
	}
	for _, m := range r.layout {
		if len(m.members) == 1 && m.members[0].name == "" {
			mark, wasFirst := len(b), first
			member(m.name)
			var ok bool
			if b, ok = cellJSON(b, row[m.members[0].column], m.members[0].kind); !ok {
				b, first = b[:mark], wasFirst // an absent member
			}
			continue
		}
		// A nested object is present when any of its cells is.
		opened := false
		for _, c := range m.members {
			mark, wasFirst := len(b), first
			if !opened {
				member(m.name)
				b = append(b, '{')
			} else {
				b = append(b, ',')
			}
			b = appendJSONString(b, c.name)
			b = append(b, ':')
			var ok bool
			if b, ok = cellJSON(b, row[c.column], c.kind); !ok {
				b, first = b[:mark], wasFirst // an absent member
				continue
			}
			opened = true
		}
		if opened {
			b = append(b, '}')
		}
	}
	var ids []int32
	for _, f := range r.fields {
		label, value := fieldCell(row, f.label), fieldCell(row, f.value)
		if label == nil && value == nil {
			continue
		}
		if ids == nil {
			member("fields")
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		ids = append(ids, f.id)
		b = fmt.Appendf(b, `{"field_id":%d,"label":`, f.id)
		b = appendJSONString(b, deref(label))
		b = append(b, `,"value":`...)
		b = appendJSONString(b, deref(value))
		b = append(b, '}')
	}
	if ids != nil {
		b = append(b, ']')
	}
	return append(b, '}'), ids, nil
}

// fieldCell reads the cell of a custom field's label or value: nil when there is no such
// column or the cell is empty.
func fieldCell(row []string, column int) *string {
	if column < 0 {
		return nil
	}
	return unquoteEmpty(row[column])
}

// appendJSONString appends s as a JSON string. Bytes that are not UTF-8 are copied as
// they are, so that the decoder names the member that holds them, as it does in a body.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = fmt.Appendf(b, `\u%04x`, c)
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// cellJSON appends to b the JSON value of a cell and reports whether there is one: an
// empty cell stands for an absent member. A cell that is not a value of the column's type
// becomes a JSON string, so that the decoder names the member and the rule as it does
// for a body.
func cellJSON(b []byte, s string, kind cellKind) ([]byte, bool) {
	switch kind {
	case cellNullable:
		t := unquoteEmpty(s)
		if t == nil {
			return b, false
		}
		return appendJSONString(b, *t), true
	case cellNumber:
		if s == "" {
			return b, false
		}
		if isJSONNumber(s) {
			return append(b, s...), true
		}
	case cellBool:
		switch {
		case s == "":
			return b, false
		case strings.EqualFold(s, "true"):
			return append(b, "true"...), true
		case strings.EqualFold(s, "false"):
			return append(b, "false"...), true
		}
	default:
		if s == "" {
			return b, false
		}
	}
	return appendJSONString(b, s), true
}

// isJSONNumber reports whether s is a JSON number: a JSON value that starts as one.
func isJSONNumber(s string) bool {
	return (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && json.Valid([]byte(s))
}
