package httpapi

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/custd/custd/internal/customer"
)

// wireFromDocument returns the wire form of customer id from its stored document
// (customer.Customer.Document), as json.Marshal(e.customer(c)) writes it for the customer c
// that customer.FromDocument reads from the document, byte for byte, without decoding the
// document into a customer: the members are found by name and their text kept, and only
// date-times and amounts are rewritten. ok is false when the document holds something it
// does not read as FromDocument would; the caller then decodes the document.
func (e encoder) wireFromDocument(id int32, doc []byte) (out []byte, ok bool) {
	return e.appendWire(make([]byte, 0, len(doc)+len(doc)/2+512), id, doc)
}

// appendWire is wireFromDocument appending to dst; when ok is false, out is dst.
func (e encoder) appendWire(dst []byte, id int32, doc []byte) (out []byte, ok bool) {
	defer func() {
		if recover() != nil { // a document that is not JSON as json.Marshal writes it
			out, ok = dst, false
		}
	}()
	i := skipSpace(doc, 0)
	c := doc[i:skipValue(doc, i)]
	if len(c) == 0 || c[0] != '{' || skipSpace(doc, i+len(c)) != len(doc) {
		return dst, false
	}
	var m [len(customerMembers)][]byte
	members(c, customerMembers[:], m[:])
	w := &wireWriter{e: e, b: dst, ok: true}
	w.raw(`{"billing_address":`)
	w.address(id, m[cBillingAddress])
	w.raw(`,"service_address":`)
	w.address(id, m[cServiceAddress])
	w.raw(`,"listing_address":`)
	w.address(id, m[cListingAddress])
	w.raw(`,"customer_id":`)
	w.b = strconv.AppendInt(w.b, int64(id), 10)
	w.raw(`,"parent_customer_id":`)
	w.int(m[cParentCustomerID], "null")
	w.raw(`,"account_number":`)
	w.str(m[cAccountNumber], "null")
	w.raw(`,"activated_date":`)
	w.time(m[cActivatedDate], true)
	w.raw(`,"agent_id":`)
	w.int(m[cAgentID], "null")
	w.raw(`,"secondary_agent_id":`)
	w.int(m[cSecondaryAgentID], "null")
	w.raw(`,"close_date":`)
	w.time(m[cCloseDate], true)
	w.raw(`,"created_by":`)
	w.int(m[cCreatedBy], "0")
	w.raw(`,"created_date":`)
	w.time(m[cCreatedDate], false)
	w.raw(`,"updated_date":`)
	w.time(m[cUpdatedDate], false)
	w.raw(`,"email":`)
	w.str(m[cEmail], "null")
	w.raw(`,"is_parent":`)
	w.bool(m[cIsParent])
	w.raw(`,"registration_code":`)
	w.str(m[cRegistrationCode], `""`)
	w.raw(`,"security_pin":`)
	w.str(m[cSecurityPIN], "null")
	w.raw(`,"sold_by":`)
	w.int(m[cSoldBy], "null")
	w.raw(`,"source":`)
	w.str(m[cSource], "null")
	w.raw(`,"status":`)
	w.str(m[cStatus], `""`)
	var ad [3][]byte
	members(w.object(m[cAutoDebit]), []string{"enabled", "day", "payment_account_id"}, ad[:])
	w.raw(`,"auto_debit":{"enabled":`)
	w.bool(ad[0])
	w.raw(`,"day":`)
	w.int(ad[1], "null")
	w.raw(`,"payment_account_id":`)
	w.int(ad[2], "null")
	var f [len(financeMembers)][]byte
	members(w.object(m[cFinance]), financeMembers[:], f[:])
	w.raw(`},"finance":{"amount_due":0,"amount_overdue":0,"balance":0,"balance_limit":`)
	w.money(f[fBalanceLimit])
	w.raw(`,"balance_limit_enabled":`)
	w.bool(f[fBalanceLimitEnabled])
	w.raw(`,"bill_profile_id":`)
	w.int(f[fBillProfileID], "null")
	w.raw(`,"billing_method":`)
	w.str(f[fBillingMethod], "null")
	w.raw(`,"collection_template_id":`)
	w.int(f[fCollectionTemplateID], "null")
	w.raw(`,"contract_start_date":`)
	w.time(f[fContractStartDate], true)
	w.raw(`,"contract_end_date":`)
	w.time(f[fContractEndDate], true)
	w.raw(`,"cycle_date":`)
	w.time(f[fCycleDate], true)
	w.raw(`,"due_date":null,"late_fees_enabled":`)
	w.bool(f[fLateFeesEnabled])
	w.raw(`,"payment_terms_days":`)
	w.int(f[fPaymentTermsDays], "null")
	w.raw(`,"payment_fees_enabled":`)
	w.bool(f[fPaymentFeesEnabled])
	w.raw(`,"tax_exempt_enabled":`)
	w.bool(f[fTaxExemptEnabled])
	w.raw(`,"tax_exempt_types":`)
	w.str(f[fTaxExemptTypes], "null")
	w.raw(`,"usage_file_enabled":`)
	w.bool(f[fUsageFileEnabled])
	w.raw(`,"usage_file_format":`)
	w.str(f[fUsageFileFormat], "null")
	var pr [4][]byte
	members(w.object(m[cProfile]), []string{"class", "date_of_birth", "language", "tax_id"}, pr[:])
	w.raw(`},"profile":{"class":`)
	w.str(pr[0], "null")
	w.raw(`,"date_of_birth":`)
	w.date(pr[1])
	w.raw(`,"language":`)
	w.str(pr[2], "null")
	w.raw(`,"tax_id":`)
	w.str(pr[3], "null")
	w.raw(`},"fields":[`)
	if fs := m[cFields]; fs != nil {
		if fs[0] != '[' {
			return dst, false
		}
		for i, it := range items(fs) {
			if i > 0 {
				w.raw(",")
			}
			var cf [3][]byte
			if string(it) != "null" { // null is the zero field, as json.Unmarshal leaves it
				members(w.object(it), []string{"field_id", "label", "value"}, cf[:])
			}
			w.raw(`{"field_id":`)
			w.int(cf[0], "0")
			w.raw(`,"label":`)
			w.str(cf[1], `""`)
			w.raw(`,"value":`)
			w.str(cf[2], `""`)
			w.raw("}")
		}
	}
	w.raw(`],"suspended":`)
	w.bool(m[cSuspended])
	w.raw(`,"suspended_date":`)
	w.time(m[cSuspendedDate], true)
	w.raw(`,"culture":`)
	w.str(m[cCulture], "null")
	w.raw(`,"close_on_no_active_services":`)
	w.bool(m[cCloseOnNoActiveServices])
	w.raw("}")
	if !w.ok {
		return dst, false
	}
	return w.b, true
}

// The members of a stored customer (customer.Customer's JSON), in the order json.Marshal
// writes them, and their places in customerMembers.
var customerMembers = [...]string{"id", "created_by", "created_date", "updated_date", "billing_address", "service_address",
	"listing_address", "parent_customer_id", "account_number", "activated_date", "agent_id", "secondary_agent_id",
	"close_date", "email", "is_parent", "registration_code", "security_pin", "sold_by", "source", "status", "auto_debit",
	"finance", "profile", "fields", "suspended", "suspended_date", "culture", "close_on_no_active_services"}

const (
	_ = iota // id: the customer's id is the one given
	cCreatedBy
	cCreatedDate
	cUpdatedDate
	cBillingAddress
	cServiceAddress
	cListingAddress
	cParentCustomerID
	cAccountNumber
	cActivatedDate
	cAgentID
	cSecondaryAgentID
	cCloseDate
	cEmail
	cIsParent
	cRegistrationCode
	cSecurityPIN
	cSoldBy
	cSource
	cStatus
	cAutoDebit
	cFinance
	cProfile
	cFields
	cSuspended
	cSuspendedDate
	cCulture
	cCloseOnNoActiveServices
)

// The members of a stored customer's finance, and their places.
var financeMembers = [...]string{"balance_limit", "balance_limit_enabled", "bill_profile_id", "billing_method",
	"collection_template_id", "contract_start_date", "contract_end_date", "cycle_date", "late_fees_enabled",
	"payment_terms_days", "payment_fees_enabled", "tax_exempt_enabled", "tax_exempt_types", "usage_file_enabled",
	"usage_file_format"}

const (
	fBalanceLimit = iota
	fBalanceLimitEnabled
	fBillProfileID
	fBillingMethod
	fCollectionTemplateID
	fContractStartDate
	fContractEndDate
	fCycleDate
	fLateFeesEnabled
	fPaymentTermsDays
	fPaymentFeesEnabled
	fTaxExemptEnabled
	fTaxExemptTypes
	fUsageFileEnabled
	fUsageFileFormat
)

// storedAddressMembers are the members of a stored address.
var storedAddressMembers = [...]string{"id", "first_name", "last_name", "middle_initial", "company_name", "line_1", "line_2",
	"city", "state_or_province", "postal_code", "postal_code_extension", "country_code"}

// members sets into[i] to the text of the value of member names[i] of the object o,
// nil when o is nil, or has no such member, or its value is null (json.Unmarshal leaves
// a field as it is for null). names are in the order the document is expected to have
// them, so that each is found at once; others are looked for.
func members(o []byte, names []string, into [][]byte) {
	if o == nil {
		return
	}
	next := 0
	eachMember(o, func(k, v []byte) {
		slot := -1
		if next < len(names) && string(k) == names[next] {
			slot = next
		} else {
			for j, name := range names {
				if string(k) == name {
					slot = j
					break
				}
			}
		}
		if slot < 0 {
			return
		}
		next = slot + 1
		if string(v) == "null" {
			v = nil
		}
		into[slot] = v
	})
}

// eachMember calls f with the name (unescaped) and the value's text of each member of
// the object o, in order. It panics where o is not JSON; the callers recover.
func eachMember(o []byte, f func(name, value []byte)) {
	for i := skipSpace(o, 1); o[i] != '}'; {
		if o[i] != '"' {
			panic("httpapi: not a member name")
		}
		e := stringEnd(o, i)
		k := o[i+1 : e-1]
		if bytes.IndexByte(k, '\\') >= 0 {
			var name string
			json.Unmarshal(o[i:e], &name)
			k = []byte(name)
		}
		if i = skipSpace(o, e); o[i] != ':' {
			panic("httpapi: no ':' after a member name")
		}
		i = skipSpace(o, i+1)
		e = skipValue(o, i)
		if e == i {
			panic("httpapi: not a JSON value")
		}
		v := o[i:e]
		if i = skipSpace(o, e); o[i] == ',' {
			i = skipSpace(o, i+1)
		}
		f(k, v)
	}
}

// items returns the texts of the array a's items.
func items(a []byte) [][]byte {
	var out [][]byte
	for i := skipSpace(a, 1); a[i] != ']'; {
		e := skipValue(a, i)
		if e == i {
			panic("httpapi: not a JSON value")
		}
		out = append(out, a[i:e])
		if i = skipSpace(a, e); a[i] == ',' {
			i = skipSpace(a, i+1)
		}
	}
	return out
}

// wireWriter writes a wire form; ok turns false at the first value it cannot write as
// json.Marshal would after json.Unmarshal.
type wireWriter struct {
	e  encoder
	b  []byte
	ok bool
}

func (w *wireWriter) raw(s string) { w.b = append(w.b, s...) }

// object returns n when it is an object, nil when it is nil (an absent or null object
// reads as the zero struct), and marks the document unreadable otherwise.
func (w *wireWriter) object(n []byte) []byte {
	if n != nil && n[0] != '{' {
		w.ok = false
		return nil
	}
	return n
}

func (w *wireWriter) address(owner int32, a []byte) {
	if a = w.object(a); a == nil {
		w.raw("null")
		return
	}
	var m [len(storedAddressMembers)][]byte
	members(a, storedAddressMembers[:], m[:])
	w.raw(`{"address_id":`)
	w.int(m[0], "0")
	w.raw(`,"customer_id":`)
	w.b = strconv.AppendInt(w.b, int64(owner), 10)
	for _, f := range [...]struct {
		wire string
		i    int
	}{
		{`,"first_name":`, 1}, {`,"middle_initial":`, 3}, {`,"last_name":`, 2}, {`,"company_name":`, 4}, {`,"line_1":`, 5},
		{`,"line_2":`, 6}, {`,"city":`, 7}, {`,"state_or_province":`, 8}, {`,"postal_code":`, 9},
		{`,"postal_code_extension":`, 10},
	} {
		w.raw(f.wire)
		w.str(m[f.i], `""`)
	}
	w.raw(`,"country_code":`)
	w.int(m[11], "0")
	w.raw("}")
}

// str writes a string member, or absent when r is nil.
func (w *wireWriter) str(r []byte, absent string) {
	if r == nil {
		w.raw(absent)
		return
	}
	if len(r) < 2 || r[0] != '"' {
		w.ok = false
		return
	}
	text, ascii := r[1:len(r)-1], true
	for _, c := range text {
		if c >= 0x80 {
			ascii = false
			continue
		}
		if c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			ascii = false
			text = nil
			break
		}
	}
	// json.Marshal writes valid UTF-8 as it is, but for U+2028 and U+2029; escapes and
	// the rest take the general case.
	if !ascii && (text == nil || !utf8.Valid(text) || bytes.Contains(text, []byte("\u2028")) || bytes.Contains(text, []byte("\u2029"))) {
		var s string
		if json.Unmarshal(r, &s) != nil {
			w.ok = false
			return
		}
		q, _ := json.Marshal(s)
		w.b = append(w.b, q...)
		return
	}
	w.b = append(w.b, r...)
}

// int writes an int32 member, or absent when r is nil.
func (w *wireWriter) int(r []byte, absent string) {
	if r == nil {
		w.raw(absent)
		return
	}
	v, err := strconv.ParseInt(string(r), 10, 32)
	if err != nil {
		w.ok = false
		return
	}
	w.b = strconv.AppendInt(w.b, v, 10)
}

// bool writes a bool member: false when r is nil.
func (w *wireWriter) bool(r []byte) {
	switch {
	case r == nil:
		w.raw("false")
	case string(r) == "true" || string(r) == "false":
		w.b = append(w.b, r...)
	default:
		w.ok = false
	}
}

// time writes a date-time member in the encoder's form; when r is nil, null if optional
// and the zero time's otherwise.
func (w *wireWriter) time(r []byte, optional bool) {
	var t time.Time
	if r == nil && optional {
		w.raw("null")
		return
	}
	if utcMillis(r) {
		// As stored, it is already the wire's text: to the millisecond, in UTC.
		if w.e.layout == TimeRFC3339.layout() {
			w.b = append(w.b, r...)
		} else {
			w.b = append(append(w.b, r[:len(r)-2]...), '"')
		}
		return
	}
	if r != nil && t.UnmarshalJSON(r) != nil {
		w.ok = false
		return
	}
	w.b = append(w.b, '"')
	w.b = t.UTC().AppendFormat(w.b, w.e.layout)
	w.b = append(w.b, '"')
}

// utcMillis reports whether r is a quoted UTC date-time with three digits of
// milliseconds, "2006-01-02T15:04:05.000Z", as time.Time's MarshalJSON writes most stored
// times: the text that both wire forms write for it (the one without its Z).
func utcMillis(r []byte) bool {
	const shape = `"dddd-dd-ddTdd:dd:dd.dddZ"`
	if len(r) != len(shape) {
		return false
	}
	for i := range len(shape) {
		if shape[i] == 'd' {
			if r[i] < '0' || r[i] > '9' {
				return false
			}
		} else if r[i] != shape[i] {
			return false
		}
	}
	return true
}

// date writes a date member (the profile's date of birth), or null.
func (w *wireWriter) date(r []byte) {
	var t time.Time
	switch {
	case r == nil:
		w.raw("null")
		return
	case t.UnmarshalJSON(r) != nil:
		w.ok = false
		return
	}
	w.b = append(w.b, '"')
	w.b = t.UTC().AppendFormat(w.b, time.DateOnly)
	w.b = append(w.b, '"')
}

// money writes an amount member as a JSON number, or null.
func (w *wireWriter) money(r []byte) {
	var m customer.Money
	switch {
	case r == nil:
		w.raw("null")
	case canonicalMoney(r):
		w.b = append(w.b, r[1:len(r)-1]...)
	case m.UnmarshalJSON(r) != nil:
		w.ok = false
	default:
		w.b = append(w.b, m.String()...)
	}
}

// canonicalMoney reports whether raw is an amount as customer.Money writes it, quoted: its
// text is then the wire's number. An optional minus, an integer of at most 12 digits
// without leading zeros, and at most 4 decimals that do not end in 0; not "-0".
func canonicalMoney(raw []byte) bool {
	if len(raw) < 3 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return false
	}
	s := raw[1 : len(raw)-1]
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 12 || (s[0] == '0' && i > 1) {
		return false
	}
	if i == len(s) {
		return !(neg && s[0] == '0')
	}
	frac := s[i+1:]
	if s[i] != '.' || len(frac) == 0 || len(frac) > 4 || frac[len(frac)-1] == '0' {
		return false
	}
	for _, c := range frac {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
