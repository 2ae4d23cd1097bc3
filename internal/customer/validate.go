package customer

import (
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// Limits of the text fields, in characters.
const (
	MaxAccountNumber    = 25
	MaxEmail            = 255
	MaxRegistrationCode = 20
	MaxSecurityPIN      = 50
	MaxSource           = 50
	MaxCulture          = 35
	MaxTaxExemptTypes   = 255
	MaxUsageFileFormat  = 50
	MaxProfileText      = 50
	MaxCustomFields     = 100
	MaxFieldLabel       = 100
	MaxFieldValue       = 4000
	MaxPaymentTermsDays = 365
	// MaxNameSearch is the longest text search.name is looked for in: a billing company
	// name (100) or a first and last name with the space between (50 + 1 + 50).
	MaxNameSearch = 101
)

// AddressLimits gives the maximum length of each Address text member, by JSON name.
var AddressLimits = []struct {
	Name string
	Max  int
	Get  func(*Address) *string
}{
	{"first_name", 50, func(a *Address) *string { return &a.FirstName }},
	{"last_name", 50, func(a *Address) *string { return &a.LastName }},
	{"middle_initial", 5, func(a *Address) *string { return &a.MiddleInitial }},
	{"company_name", 100, func(a *Address) *string { return &a.CompanyName }},
	{"line_1", 100, func(a *Address) *string { return &a.Line1 }},
	{"line_2", 100, func(a *Address) *string { return &a.Line2 }},
	{"city", 50, func(a *Address) *string { return &a.City }},
	{"state_or_province", 50, func(a *Address) *string { return &a.StateOrProvince }},
	{"postal_code", 20, func(a *Address) *string { return &a.PostalCode }},
	{"postal_code_extension", 10, func(a *Address) *string { return &a.PostalCodeExtension }},
}

// Validate checks every rule of w that needs no stored data and records each broken one
// in p. self is the customer's own id (0 on create), which may not be its own parent.
func (w *Writable) Validate(p *Problems, self int32, now time.Time) {
	for _, a := range []struct {
		name string
		addr *Address
	}{{"billing_address", w.BillingAddress}, {"service_address", w.ServiceAddress}, {"listing_address", w.ListingAddress}} {
		if a.addr != nil {
			a.addr.validate(p, a.name)
		}
	}
	positive(p, "parent_customer_id", w.ParentCustomerID)
	if w.ParentCustomerID != nil && self != 0 && *w.ParentCustomerID == self {
		p.Add("parent_customer_id", "must not be the customer itself")
	}
	maxLen(p, "account_number", w.AccountNumber, MaxAccountNumber)
	positive(p, "agent_id", w.AgentID)
	positive(p, "secondary_agent_id", w.SecondaryAgentID)
	if w.SecondaryAgentID != nil && w.AgentID == nil {
		p.Add("secondary_agent_id", "is allowed only when agent_id is set (use agent_id first)")
	}
	if maxLen(p, "email", w.Email, MaxEmail) && w.Email != nil {
		if msg := checkEmails(*w.Email); msg != "" {
			p.Add("email", "%s", msg)
		}
	}
	maxLen(p, "registration_code", w.RegistrationCode, MaxRegistrationCode)
	maxLen(p, "security_pin", w.SecurityPIN, MaxSecurityPIN)
	positive(p, "sold_by", w.SoldBy)
	maxLen(p, "source", w.Source, MaxSource)
	if _, ok := ParseEnum(string(w.Status), Statuses); !ok {
		if Fold(string(w.Status)) == "all" {
			p.Add("status", "ALL is only a search value; a customer's status must be one of %s", EnumList(Statuses))
		} else {
			p.Add("status", "must be one of %s", EnumList(Statuses))
		}
	}
	w.AutoDebit.validate(p)
	w.Finance.validate(p, w.Email)
	w.Profile.validate(p, now)
	if len(w.Fields) > MaxCustomFields {
		p.Add("fields", "must have at most %d items (got %d)", MaxCustomFields, len(w.Fields))
	}
	seen := make(map[int32]int, len(w.Fields))
	for i := range w.Fields {
		f := &w.Fields[i]
		path := "fields[" + strconv.Itoa(i) + "]"
		if f.FieldID < 1 {
			p.Add(join(path, "field_id"), "must be at least 1")
		} else if j, dup := seen[f.FieldID]; dup {
			p.Add(join(path, "field_id"), "must be unique within fields (also at fields[%d])", j)
		} else {
			seen[f.FieldID] = i
		}
		maxLen(p, join(path, "label"), &f.Label, MaxFieldLabel)
		maxLen(p, join(path, "value"), &f.Value, MaxFieldValue)
	}
	if w.Culture != nil {
		if maxLen(p, "culture", w.Culture, MaxCulture) {
			if _, err := language.Parse(*w.Culture); err != nil {
				p.Add("culture", "must be a BCP 47 language tag such as en-US")
			}
		}
	}
}

// WithRulesOf returns the Invalid error of an input that did not decode whole: the
// decoding problems p, then each rule of the domain that what did decode (w) breaks, on
// the members p does not name already, so that one answer names every problem at once.
// Every reader of customer input (JSON bodies, console forms) reports a failed decoding
// with it; an input that decodes whole is checked by Apply alone. Nil when p and the
// rules are all satisfied.
func (p Problems) WithRulesOf(w *Writable, self int32, now time.Time) error {
	var rules Problems
	w.Validate(&rules, self, now)
	for _, r := range rules {
		if !slices.ContainsFunc(p, func(f FieldError) bool { return f.Field == r.Field }) {
			p = append(p, r)
		}
	}
	return p.Err()
}

func (a *Address) validate(p *Problems, path string) {
	for _, l := range AddressLimits {
		if maxLen(p, join(path, l.Name), l.Get(a), l.Max) && HasControl(*l.Get(a)) {
			p.Add(join(path, l.Name), "must not contain control characters such as line breaks")
		}
	}
	if a.CountryCode < 0 {
		p.Add(join(path, "country_code"), "must be at least 0")
	}
}

func (a *AutoDebit) validate(p *Problems) {
	if a.Day != nil && (*a.Day < 1 || *a.Day > 31) {
		p.Add("auto_debit.day", "must be from 1 to 31")
	}
	positive(p, "auto_debit.payment_account_id", a.PaymentAccountID)
	if a.Enabled {
		if a.Day == nil {
			p.Add("auto_debit.day", "is required when auto_debit.enabled is true")
		}
		if a.PaymentAccountID == nil {
			p.Add("auto_debit.payment_account_id", "is required when auto_debit.enabled is true")
		}
	}
}

func (f *Finance) validate(p *Problems, email *string) {
	if f.BalanceLimit != nil && *f.BalanceLimit < 0 {
		p.Add("finance.balance_limit", "must be at least 0")
	}
	positive(p, "finance.bill_profile_id", f.BillProfileID)
	if m := f.BillingMethod; m != nil {
		if _, ok := ParseEnum(string(*m), BillingMethods); !ok {
			p.Add("finance.billing_method", "must be one of %s", EnumList(BillingMethods))
		} else if (*m == BillingEmailOnly || *m == BillingBoth) && (email == nil || strings.TrimSpace(*email) == "") {
			p.Add("finance.billing_method", "%s requires a non-empty email", *m)
		}
	}
	positive(p, "finance.collection_template_id", f.CollectionTemplateID)
	if f.ContractStartDate != nil && f.ContractEndDate != nil && f.ContractEndDate.Before(*f.ContractStartDate) {
		p.Add("finance.contract_end_date", "must not be before finance.contract_start_date")
	}
	if d := f.PaymentTermsDays; d != nil && (*d < 0 || *d > MaxPaymentTermsDays) {
		p.Add("finance.payment_terms_days", "must be from 0 to %d", MaxPaymentTermsDays)
	}
	maxLen(p, "finance.tax_exempt_types", f.TaxExemptTypes, MaxTaxExemptTypes)
	maxLen(p, "finance.usage_file_format", f.UsageFileFormat, MaxUsageFileFormat)
}

func (pr *Profile) validate(p *Problems, now time.Time) {
	if c := pr.Class; c != nil {
		if _, ok := ParseEnum(string(*c), Classes); !ok {
			p.Add("profile.class", "must be one of %s", EnumList(Classes))
		}
	}
	if d := pr.DateOfBirth; d != nil && d.After(now) {
		p.Add("profile.date_of_birth", "must not be in the future")
	}
	maxLen(p, "profile.language", pr.Language, MaxProfileText)
	maxLen(p, "profile.tax_id", pr.TaxID, MaxProfileText)
}

// maxLen records a problem when s is longer than max characters, and reports whether s
// is within the limit.
func maxLen(p *Problems, field string, s *string, max int) bool {
	if s == nil {
		return true
	}
	if !utf8.ValidString(*s) {
		p.Add(field, "must be valid UTF-8 text")
		return false
	}
	if strings.ContainsRune(*s, 0) {
		// PostgreSQL cannot store it, and no billing text needs it.
		p.Add(field, "must not contain the NUL character (U+0000)")
		return false
	}
	if n := utf8.RuneCountInString(*s); n > max {
		p.Add(field, "must be at most %d characters (got %d)", max, n)
		return false
	}
	return true
}

// HasControl reports whether s holds a control character (line feed, tab, …).
func HasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

func positive(p *Problems, field string, v *int32) {
	if v != nil && *v < 1 {
		p.Add(field, "must be at least 1")
	}
}

// checkEmails returns why s is not a list of addresses separated by commas, or "".
func checkEmails(s string) string {
	if strings.TrimSpace(s) == "" {
		return "" // an empty email is allowed: the field is simply unset
	}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return "must not contain an empty address between commas"
		}
		a, err := mail.ParseAddress(part)
		if err != nil || a.Address != part || a.Name != "" || !strings.Contains(a.Address[strings.LastIndexByte(a.Address, '@')+1:], ".") {
			if i == 0 && !strings.Contains(s, ",") {
				return "must be a valid email address (got " + quote(part) + ")"
			}
			return "must be valid email addresses separated by commas (" + quote(part) + " is not one)"
		}
	}
	return ""
}

func quote(s string) string {
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return `"` + s + `"`
}
