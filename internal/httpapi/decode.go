package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/custd/custd/internal/customer"
)

// bodyMode says what a customer body is for.
type bodyMode int

const (
	forCreate  bodyMode = iota // POST: status defaults to OPEN
	forReplace                 // PUT and the result of a PATCH: status is required
)

// readOnly lists the members a client may send (a GET body sent back) but that the server
// sets; they are ignored in a body and rejected as a PATCH target.
var readOnly = map[string][]string{
	"":                {"customer_id", "created_by", "created_date", "updated_date", "ok", "links"},
	"billing_address": {"address_id", "customer_id"},
	"service_address": {"address_id", "customer_id"},
	"listing_address": {"address_id", "customer_id"},
	"finance":         {"amount_due", "amount_overdue", "balance", "due_date"},
}

// addressMembers are the members a body may set in an address.
var addressMembers = []string{"first_name", "middle_initial", "last_name", "company_name", "line_1", "line_2", "city",
	"state_or_province", "postal_code", "postal_code_extension", "country_code"}

// writable lists the members a body may set, by the path of their object as in readOnly
// ("fields" stands for each custom field). Together with readOnly they are the members of
// the wire structs, as a test checks.
var writable = map[string][]string{
	"": {"billing_address", "service_address", "listing_address", "parent_customer_id", "account_number",
		"activated_date", "agent_id", "secondary_agent_id", "close_date", "email", "is_parent", "registration_code",
		"security_pin", "sold_by", "source", "status", "auto_debit", "finance", "profile", "fields", "suspended",
		"suspended_date", "culture", "close_on_no_active_services"},
	"billing_address": addressMembers,
	"service_address": addressMembers,
	"listing_address": addressMembers,
	"auto_debit":      {"enabled", "day", "payment_account_id"},
	"finance": {"balance_limit", "balance_limit_enabled", "bill_profile_id", "billing_method",
		"collection_template_id", "contract_start_date", "contract_end_date", "cycle_date", "late_fees_enabled",
		"payment_terms_days", "payment_fees_enabled", "tax_exempt_enabled", "tax_exempt_types",
		"usage_file_enabled", "usage_file_format"},
	"profile": {"class", "date_of_birth", "language", "tax_id"},
	"fields":  {"field_id", "label", "value"},

	// The bodies of the webhook resources.
	"webhook_receiver":     {"url", "description"},
	"webhook_subscription": {"webhook_receiver_id", "event_type"},
	"activation":           {"confirmation_code"},
}

// decoder reads a JSON customer member by member, recording every problem instead of
// stopping at the first, so that one 400 lists them all.
type decoder struct {
	p customer.Problems
}

// decodeCustomer decodes a POST or PUT body (or a patched document) into the writable
// state of a customer. self is the customer of the path (0 on create): a customer_id in
// the body must equal it. Errors: Invalid, listing every problem of the body, including
// the domain rules of the members that did decode.
func decodeCustomer(body []byte, mode bodyMode, self int32) (*customer.Writable, error) {
	var d decoder
	members, err := objectMembers(body)
	if err != nil {
		return nil, err
	}
	w := &customer.Writable{Status: customer.StatusOpen}
	d.customer(members, w, mode, self)
	if len(d.p) == 0 {
		return w, nil
	}
	// Report the domain rules too, except on members that did not even decode.
	return nil, d.p.WithRulesOf(w, self, customer.Now())
}

// objectMembers parses a JSON object body. Errors: Invalid.
//
// A valid body is checked once and then split by members without decoding: the nested
// objects and arrays are split the same way when their turn comes, not parsed again.
func objectMembers(body []byte) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, customer.Errorf(customer.Invalid, "the request body is empty: send a JSON object")
	}
	if trimmed[0] == '{' && json.Valid(trimmed) {
		return splitObject(trimmed, 32), nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, customer.Errorf(customer.Invalid, "the request body must be a JSON object, not %s", typeErr.Value)
		}
		return nil, customer.Errorf(customer.Invalid, "the request body is not valid JSON: %s", jsonProblem(err))
	}
	if members == nil {
		return nil, customer.Errorf(customer.Invalid, "the request body must be a JSON object, not null")
	}
	return members, nil
}

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%s (at byte %d)", syn.Error(), syn.Offset)
	}
	return err.Error()
}

// unknown records the members of the object at path that are neither writable nor
// read-only there; object is its key in writable and readOnly.
func (d *decoder) unknown(path, object string, members map[string]json.RawMessage) {
	names := make([]string, 0, len(members))
	for name := range members {
		if !slices.Contains(writable[object], name) && !slices.Contains(readOnly[object], name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		d.p.Add(join(path, name), "is not a member of this object (check its spelling)")
	}
}

// with returns the problems decoding found together with those of err, the domain's
// verdict on what did decode, in one error; nil when there are none. A member that did
// not decode is reported once, by decoding.
func (d *decoder) with(err error) error {
	var e *customer.Error
	if errors.As(err, &e) && e.Kind == customer.Invalid && len(e.Fields) > 0 {
		for _, f := range e.Fields {
			if !slices.ContainsFunc(d.p, func(g customer.FieldError) bool { return g.Field == f.Field }) {
				d.p = append(d.p, f)
			}
		}
	} else if err != nil {
		return err
	}
	return d.p.Err()
}

// require records that a member is required, unless its value was already reported.
func (d *decoder) require(path string) {
	if !slices.ContainsFunc(d.p, func(f customer.FieldError) bool { return f.Field == path }) {
		d.p.Add(path, "is required")
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (d *decoder) customer(m map[string]json.RawMessage, w *customer.Writable, mode bodyMode, self int32) {
	d.unknown("", "", m)
	if raw, ok := m["customer_id"]; ok && self != 0 && !isNull(raw) {
		if id, ok := intValue(raw); !ok || id != int64(self) {
			d.p.Add("customer_id", "must be omitted, null or equal to the id in the path (%d)", self)
		}
	}
	w.BillingAddress = d.address("billing_address", m["billing_address"])
	w.ServiceAddress = d.address("service_address", m["service_address"])
	w.ListingAddress = d.address("listing_address", m["listing_address"])
	w.ParentCustomerID = d.int32("parent_customer_id", m["parent_customer_id"])
	w.AccountNumber = d.string("account_number", m["account_number"])
	w.ActivatedDate = d.time("activated_date", m["activated_date"])
	w.AgentID = d.int32("agent_id", m["agent_id"])
	w.SecondaryAgentID = d.int32("secondary_agent_id", m["secondary_agent_id"])
	w.CloseDate = d.time("close_date", m["close_date"])
	w.Email = d.string("email", m["email"])
	w.IsParent = d.bool("is_parent", m["is_parent"])
	w.RegistrationCode = d.string("registration_code", m["registration_code"])
	w.SecurityPIN = d.string("security_pin", m["security_pin"])
	w.SoldBy = d.int32("sold_by", m["sold_by"])
	w.Source = d.string("source", m["source"])
	if raw, ok := m["status"]; ok && !isNull(raw) {
		if st := enum[customer.Status](d, "status", raw); st != nil {
			w.Status = *st
		}
	} else if mode == forReplace {
		d.p.Add("status", "is required: a replace must state the status (one of %s)", customer.EnumList(customer.Statuses))
	}
	d.autoDebit(m["auto_debit"], &w.AutoDebit)
	d.finance(m["finance"], &w.Finance)
	d.profile(m["profile"], &w.Profile)
	w.Fields = d.customFields(m["fields"])
	w.Suspended = d.bool("suspended", m["suspended"])
	w.SuspendedDate = d.time("suspended_date", m["suspended_date"])
	w.Culture = d.string("culture", m["culture"])
	w.CloseOnNoActiveServices = d.bool("close_on_no_active_services", m["close_on_no_active_services"])
}

// object returns the members of an optional nested object; nil for absent or null.
func (d *decoder) object(path string, raw json.RawMessage) map[string]json.RawMessage {
	if raw == nil || isNull(raw) {
		return nil
	}
	if raw[0] != '{' {
		d.p.Add(path, "must be an object or null")
		return nil
	}
	return splitObject(raw, 16) // a member of a body checked as JSON already
}

func (d *decoder) address(path string, raw json.RawMessage) *customer.Address {
	m := d.object(path, raw)
	if m == nil {
		return nil
	}
	a := &customer.Address{}
	for _, l := range customer.AddressLimits {
		if s := d.string(join(path, l.Name), m[l.Name]); s != nil {
			*l.Get(a) = *s
		}
	}
	if c := d.int32(join(path, "country_code"), m["country_code"]); c != nil {
		a.CountryCode = *c
	}
	d.unknown(path, path, m)
	return a
}

func (d *decoder) autoDebit(raw json.RawMessage, a *customer.AutoDebit) {
	m := d.object("auto_debit", raw)
	d.unknown("auto_debit", "auto_debit", m)
	a.Enabled = d.bool("auto_debit.enabled", m["enabled"])
	a.Day = d.int32("auto_debit.day", m["day"])
	a.PaymentAccountID = d.int32("auto_debit.payment_account_id", m["payment_account_id"])
}

func (d *decoder) finance(raw json.RawMessage, f *customer.Finance) {
	m := d.object("finance", raw)
	d.unknown("finance", "finance", m)
	f.BalanceLimit = d.money("finance.balance_limit", m["balance_limit"])
	f.BalanceLimitEnabled = d.bool("finance.balance_limit_enabled", m["balance_limit_enabled"])
	f.BillProfileID = d.int32("finance.bill_profile_id", m["bill_profile_id"])
	f.BillingMethod = enum[customer.BillingMethod](d, "finance.billing_method", m["billing_method"])
	f.CollectionTemplateID = d.int32("finance.collection_template_id", m["collection_template_id"])
	f.ContractStartDate = d.time("finance.contract_start_date", m["contract_start_date"])
	f.ContractEndDate = d.time("finance.contract_end_date", m["contract_end_date"])
	f.CycleDate = d.time("finance.cycle_date", m["cycle_date"])
	f.LateFeesEnabled = d.bool("finance.late_fees_enabled", m["late_fees_enabled"])
	f.PaymentTermsDays = d.int32("finance.payment_terms_days", m["payment_terms_days"])
	f.PaymentFeesEnabled = d.bool("finance.payment_fees_enabled", m["payment_fees_enabled"])
	f.TaxExemptEnabled = d.bool("finance.tax_exempt_enabled", m["tax_exempt_enabled"])
	f.TaxExemptTypes = d.string("finance.tax_exempt_types", m["tax_exempt_types"])
	f.UsageFileEnabled = d.bool("finance.usage_file_enabled", m["usage_file_enabled"])
	f.UsageFileFormat = d.string("finance.usage_file_format", m["usage_file_format"])
}

func (d *decoder) profile(raw json.RawMessage, p *customer.Profile) {
	m := d.object("profile", raw)
	d.unknown("profile", "profile", m)
	p.Class = enum[customer.Class](d, "profile.class", m["class"])
	if s := d.string("profile.date_of_birth", m["date_of_birth"]); s != nil {
		if t, ok := customer.ParseDate(*s); ok {
			p.DateOfBirth = &t
		} else {
			d.p.Add("profile.date_of_birth", "must be a date such as 1980-05-31")
		}
	}
	p.Language = d.string("profile.language", m["language"])
	p.TaxID = d.string("profile.tax_id", m["tax_id"])
}

func (d *decoder) customFields(raw json.RawMessage) []customer.CustomField {
	if raw == nil || isNull(raw) {
		return nil
	}
	if raw[0] != '[' {
		d.p.Add("fields", "must be an array of objects")
		return nil
	}
	items := splitArray(raw) // a member of a body checked as JSON already
	out := make([]customer.CustomField, 0, len(items))
	for i, item := range items {
		path := "fields[" + strconv.Itoa(i) + "]"
		m := d.object(path, item)
		if m == nil {
			if isNull(item) {
				d.p.Add(path, "must be an object")
			}
			continue
		}
		d.unknown(path, "fields", m)
		var f customer.CustomField
		if id := d.int32(path+".field_id", m["field_id"]); id != nil {
			f.FieldID = *id
		} else if _, given := m["field_id"]; !given || isNull(m["field_id"]) {
			d.p.Add(path+".field_id", "is required")
		}
		if s := d.string(path+".label", m["label"]); s != nil {
			f.Label = *s
		}
		if s := d.string(path+".value", m["value"]); s != nil {
			f.Value = *s
		}
		out = append(out, f)
	}
	return out
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

func (d *decoder) string(path string, raw json.RawMessage) *string {
	if raw == nil || isNull(raw) {
		return nil
	}
	s, ok := unquote(raw)
	if !ok {
		d.p.Add(path, "must be a string")
		return nil
	}
	return &s
}

// unquote returns the value of a JSON string of a body checked as JSON already, and
// false for any other JSON value.
func unquote(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if !bytes.ContainsRune(raw, '\\') {
		return string(raw[1 : len(raw)-1]), true // without escapes, a string is its bytes
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

func (d *decoder) bool(path string, raw json.RawMessage) bool {
	switch string(raw) {
	case "true":
		return true
	case "", "false", "null":
		return false
	}
	d.p.Add(path, "must be true or false")
	return false
}

// intValue reads a JSON whole number.
func intValue(raw json.RawMessage) (int64, bool) {
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil
}

// int32 reads a whole number that fits the member's type; which values the member
// allows is the domain's rule.
func (d *decoder) int32(path string, raw json.RawMessage) *int32 {
	if raw == nil || isNull(raw) {
		return nil
	}
	n, ok := intValue(raw)
	switch {
	case !ok:
		d.p.Add(path, "must be a whole number, written without a fraction or quotes")
		return nil
	case n < math.MinInt32 || n > math.MaxInt32:
		d.p.Add(path, "must be a whole number from %d to %d", math.MinInt32, math.MaxInt32)
		return nil
	}
	v := int32(n)
	return &v
}

// enum reads the string of an enumerated member; which values it allows, and their
// letter case, are the domain's rule.
func enum[T ~string](d *decoder, path string, raw json.RawMessage) *T {
	s := d.string(path, raw)
	if s == nil {
		return nil
	}
	v := T(*s)
	return &v
}

func (d *decoder) time(path string, raw json.RawMessage) *time.Time {
	if raw == nil || isNull(raw) {
		return nil
	}
	s, ok := unquote(raw)
	if !ok {
		d.p.Add(path, "must be a date-time string such as 2024-06-10T09:31:44.903Z")
		return nil
	}
	t, ok := customer.ParseTime(s)
	if !ok {
		d.p.Add(path, "must be a date-time such as 2024-06-10T09:31:44.903Z (got %q)", s)
		return nil
	}
	return &t
}

func (d *decoder) money(path string, raw json.RawMessage) *customer.Money {
	if raw == nil || isNull(raw) {
		return nil
	}
	m, err := customer.ParseMoney(string(raw))
	if err != nil {
		d.p.Add(path, "%s", err.Error())
		return nil
	}
	return &m
}

// memberNames are the names of every member a body may have, so that splitting a body
// finds each name without allocating it (looking a []byte up converted to a string does
// not copy it).
var memberNames = func() map[string]string {
	m := map[string]string{}
	for _, list := range []map[string][]string{writable, readOnly} {
		for object, names := range list {
			m[object] = object
			for _, n := range names {
				m[n] = n
			}
		}
	}
	return m
}()

// splitObject returns the members of a JSON object that is known to be valid JSON, each
// value as the bytes it spans in raw, without decoding them. Like encoding/json, a name
// given twice keeps its last value. size is a guess of the number of members.
func splitObject(raw []byte, size int) map[string]json.RawMessage {
	m := make(map[string]json.RawMessage, size)
	i := skipSpace(raw, 1) // past '{'
	for i < len(raw) && raw[i] != '}' {
		end := skipValue(raw, i) // the name, a string
		name, known := memberNames[string(raw[i+1:end-1])]
		if !known {
			name, _ = unquote(raw[i:end])
		}
		if !known && !utf8.ValidString(name) {
			// As encoding/json: each invalid byte of a name reads as U+FFFD.
			json.Unmarshal(raw[i:end], &name)
		}
		i = skipSpace(raw, skipSpace(raw, end)+1) // past ':'
		end = skipValue(raw, i)
		m[name] = raw[i:end:end]
		i = skipSpace(raw, end)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return m
}

// splitArray returns the elements of a JSON array known to be valid JSON, as splitObject
// does the members of an object.
func splitArray(raw []byte) []json.RawMessage {
	var items []json.RawMessage
	i := skipSpace(raw, 1) // past '['
	for i < len(raw) && raw[i] != ']' {
		end := skipValue(raw, i)
		items = append(items, raw[i:end:end])
		i = skipSpace(raw, end)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return items
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the valid JSON value that starts at raw[i].
func skipValue(raw []byte, i int) int {
	switch raw[i] {
	case '"':
		// The next quote that an even number of backslashes (an escaped backslash each
		// pair) or none precedes; bytes.IndexByte finds the quotes many bytes at a time.
		for j := i + 1; ; {
			q := bytes.IndexByte(raw[j:], '"')
			if q < 0 {
				return len(raw)
			}
			q += j
			p := q - 1
			for p > i && raw[p] == '\\' {
				p--
			}
			if (q-1-p)%2 == 0 {
				return q + 1
			}
			j = q + 1
		}
	case '{', '[':
		depth := 0
		for j := i; j < len(raw); j++ {
			switch raw[j] {
			case '"':
				j = skipValue(raw, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(raw)
	default: // a number, true, false or null
		j := i
		for j < len(raw) && raw[j] != ',' && raw[j] != '}' && raw[j] != ']' && raw[j] != ' ' &&
			raw[j] != '\t' && raw[j] != '\n' && raw[j] != '\r' {
			j++
		}
		return j
	}
}
