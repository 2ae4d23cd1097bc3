package customer

import (
	"golang.org/x/crypto/bcrypt"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

// valid returns a customer that breaks no rule.
func valid() Writable {
	return Writable{
		Status:         StatusOpen,
		Email:          ptr("a@example.com"),
		BillingAddress: &Address{FirstName: "A"},
		AgentID:        ptr(int32(1)),
		Finance:        Finance{BillingMethod: ptr(BillingEmailOnly)},
	}
}

func TestValidateRules(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	long := func(n int) *string { return ptr(strings.Repeat("é", n)) } // characters, not bytes
	tests := []struct {
		name   string
		change func(w *Writable)
		field  string // "" means the customer is valid
		msg    string
	}{
		{"valid", func(w *Writable) {}, "", ""},
		{"account_number at limit", func(w *Writable) { w.AccountNumber = long(25) }, "", ""},
		{"account_number over", func(w *Writable) { w.AccountNumber = long(26) }, "account_number", "at most 25 characters (got 26)"},
		{"email over", func(w *Writable) { w.Email = ptr(strings.Repeat("a", 250) + "@x.com") }, "email", "at most 255"},
		{"email invalid", func(w *Writable) { w.Email = ptr("nobody") }, "email", "valid email"},
		{"email with name", func(w *Writable) { w.Email = ptr("Ann <ann@x.com>") }, "email", "valid email"},
		{"email list", func(w *Writable) { w.Email = ptr("a@x.com,b@y.org , c@z.net") }, "", ""},
		{"email list gap", func(w *Writable) { w.Email = ptr("a@x.com,,b@y.org") }, "email", "empty address"},
		{"email list bad", func(w *Writable) { w.Email = ptr("a@x.com, b@") }, "email", `"b@"`},
		{"email empty", func(w *Writable) { w.Email = ptr(""); w.Finance.BillingMethod = nil }, "", ""},
		{"registration_code over", func(w *Writable) { w.RegistrationCode = long(21) }, "registration_code", "at most 20"},
		{"security_pin over", func(w *Writable) { w.SecurityPIN = long(51) }, "security_pin", "at most 50"},
		{"source over", func(w *Writable) { w.Source = long(51) }, "source", "at most 50"},
		{"culture over", func(w *Writable) { w.Culture = ptr("en-" + strings.Repeat("a", 33)) }, "culture", "at most 35"},
		{"culture not a tag", func(w *Writable) { w.Culture = ptr("english please") }, "culture", "BCP 47"},
		{"culture ok", func(w *Writable) { w.Culture = ptr("pt-BR") }, "", ""},
		{"parent zero", func(w *Writable) { w.ParentCustomerID = ptr(int32(0)) }, "parent_customer_id", "at least 1"},
		{"parent self", func(w *Writable) { w.ParentCustomerID = ptr(int32(42)) }, "parent_customer_id", "itself"},
		{"agent zero", func(w *Writable) { w.AgentID = ptr(int32(0)) }, "agent_id", "at least 1"},
		{"secondary agent zero", func(w *Writable) { w.SecondaryAgentID = ptr(int32(-1)) }, "secondary_agent_id", "at least 1"},
		{"secondary without agent", func(w *Writable) { w.AgentID = nil; w.SecondaryAgentID = ptr(int32(2)) }, "secondary_agent_id", "agent_id"},
		{"sold_by zero", func(w *Writable) { w.SoldBy = ptr(int32(0)) }, "sold_by", "at least 1"},
		{"status bad", func(w *Writable) { w.Status = "ACTIVE" }, "status", "OPEN, PENDING, PROSPECT or CLOSED"},
		{"status any case", func(w *Writable) { w.Status = "closed" }, "", ""},
		{"address first_name over", func(w *Writable) { w.BillingAddress.FirstName = *long(51) }, "billing_address.first_name", "at most 50"},
		{"address last_name over", func(w *Writable) { w.ServiceAddress = &Address{LastName: *long(51)} }, "service_address.last_name", "at most 50"},
		{"address middle_initial over", func(w *Writable) { w.ListingAddress = &Address{MiddleInitial: *long(6)} }, "listing_address.middle_initial", "at most 5"},
		{"address company over", func(w *Writable) { w.BillingAddress.CompanyName = *long(101) }, "billing_address.company_name", "at most 100"},
		{"address line_1 over", func(w *Writable) { w.BillingAddress.Line1 = *long(101) }, "billing_address.line_1", "at most 100"},
		{"address line_2 over", func(w *Writable) { w.BillingAddress.Line2 = *long(101) }, "billing_address.line_2", "at most 100"},
		{"address city over", func(w *Writable) { w.BillingAddress.City = *long(51) }, "billing_address.city", "at most 50"},
		{"address state over", func(w *Writable) { w.BillingAddress.StateOrProvince = *long(51) }, "billing_address.state_or_province", "at most 50"},
		{"address postal over", func(w *Writable) { w.BillingAddress.PostalCode = *long(21) }, "billing_address.postal_code", "at most 20"},
		{"address extension over", func(w *Writable) { w.BillingAddress.PostalCodeExtension = *long(11) }, "billing_address.postal_code_extension", "at most 10"},
		{"address with a line break", func(w *Writable) { w.BillingAddress.CompanyName = "Acme\nCorp" }, "billing_address.company_name", "control characters"},
		{"address with a tab", func(w *Writable) { w.ServiceAddress = &Address{Line1: "1\tMain"} }, "service_address.line_1", "control characters"},
		{"address country negative", func(w *Writable) { w.BillingAddress.CountryCode = -1 }, "billing_address.country_code", "at least 0"},
		{"auto debit day", func(w *Writable) { w.AutoDebit.Day = ptr(int32(32)) }, "auto_debit.day", "1 to 31"},
		{"auto debit account", func(w *Writable) { w.AutoDebit.PaymentAccountID = ptr(int32(0)) }, "auto_debit.payment_account_id", "at least 1"},
		{"auto debit enabled needs day", func(w *Writable) { w.AutoDebit = AutoDebit{Enabled: true, PaymentAccountID: ptr(int32(1))} }, "auto_debit.day", "required"},
		{"auto debit enabled needs account", func(w *Writable) { w.AutoDebit = AutoDebit{Enabled: true, Day: ptr(int32(1))} }, "auto_debit.payment_account_id", "required"},
		{"auto debit complete", func(w *Writable) {
			w.AutoDebit = AutoDebit{Enabled: true, Day: ptr(int32(31)), PaymentAccountID: ptr(int32(1))}
		}, "", ""},
		{"balance limit negative", func(w *Writable) { w.Finance.BalanceLimit = ptr(Money(-1)) }, "finance.balance_limit", "at least 0"},
		{"bill profile zero", func(w *Writable) { w.Finance.BillProfileID = ptr(int32(0)) }, "finance.bill_profile_id", "at least 1"},
		{"billing method bad", func(w *Writable) { w.Finance.BillingMethod = ptr(BillingMethod("FAX")) }, "finance.billing_method", "PRINT_ONLY"},
		{"email billing needs email", func(w *Writable) { w.Email = nil }, "finance.billing_method", "non-empty email"},
		{"both needs email", func(w *Writable) { w.Email = ptr(" "); w.Finance.BillingMethod = ptr(BillingBoth) }, "finance.billing_method", "non-empty email"},
		{"print needs no email", func(w *Writable) { w.Email = nil; w.Finance.BillingMethod = ptr(BillingPrintOnly) }, "", ""},
		{"collection template zero", func(w *Writable) { w.Finance.CollectionTemplateID = ptr(int32(0)) }, "finance.collection_template_id", "at least 1"},
		{"contract ends before start", func(w *Writable) {
			w.Finance.ContractStartDate, w.Finance.ContractEndDate = ptr(now), ptr(now.Add(-time.Millisecond))
		}, "finance.contract_end_date", "before"},
		{"contract same day", func(w *Writable) { w.Finance.ContractStartDate, w.Finance.ContractEndDate = ptr(now), ptr(now) }, "", ""},
		{"payment terms over", func(w *Writable) { w.Finance.PaymentTermsDays = ptr(int32(366)) }, "finance.payment_terms_days", "0 to 365"},
		{"payment terms negative", func(w *Writable) { w.Finance.PaymentTermsDays = ptr(int32(-1)) }, "finance.payment_terms_days", "0 to 365"},
		{"tax exempt types over", func(w *Writable) { w.Finance.TaxExemptTypes = long(256) }, "finance.tax_exempt_types", "at most 255"},
		{"usage file format over", func(w *Writable) { w.Finance.UsageFileFormat = long(51) }, "finance.usage_file_format", "at most 50"},
		{"class bad", func(w *Writable) { w.Profile.Class = ptr(Class("ALIEN")) }, "profile.class", "BUSINESS or RESIDENTIAL"},
		{"birth in future", func(w *Writable) { w.Profile.DateOfBirth = ptr(now.Add(24 * time.Hour)) }, "profile.date_of_birth", "future"},
		{"birth today", func(w *Writable) { w.Profile.DateOfBirth = ptr(now) }, "", ""},
		{"language over", func(w *Writable) { w.Profile.Language = long(51) }, "profile.language", "at most 50"},
		{"tax id over", func(w *Writable) { w.Profile.TaxID = long(51) }, "profile.tax_id", "at most 50"},
		{"too many fields", func(w *Writable) {
			for i := range 101 {
				w.Fields = append(w.Fields, CustomField{FieldID: int32(i + 1)})
			}
		}, "fields", "at most 100 items (got 101)"},
		{"field id zero", func(w *Writable) { w.Fields = []CustomField{{FieldID: 0}} }, "fields[0].field_id", "at least 1"},
		{"field id repeated", func(w *Writable) { w.Fields = []CustomField{{FieldID: 3}, {FieldID: 4}, {FieldID: 3}} }, "fields[2].field_id", "also at fields[0]"},
		{"field label over", func(w *Writable) { w.Fields = []CustomField{{FieldID: 1, Label: *long(101)}} }, "fields[0].label", "at most 100"},
		{"field value over", func(w *Writable) { w.Fields = []CustomField{{FieldID: 1, Value: *long(4001)}} }, "fields[0].value", "at most 4000"},
		{"field value at limit", func(w *Writable) { w.Fields = []CustomField{{FieldID: 1, Value: *long(4000)}} }, "", ""},
		{"text not UTF-8", func(w *Writable) { w.Source = ptr("\xff") }, "source", "UTF-8"},
		{"text with NUL", func(w *Writable) { w.Fields = []CustomField{{FieldID: 1, Value: "a\x00b"}} }, "fields[0].value", "NUL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := valid()
			tc.change(&w)
			var p Problems
			w.Validate(&p, 42, now)
			if tc.field == "" {
				if len(p) != 0 {
					t.Fatalf("valid customer rejected: %v", p)
				}
				return
			}
			if len(p) != 1 || p[0].Field != tc.field || !strings.Contains(p[0].Message, tc.msg) {
				t.Fatalf("got %v, want one problem on %s mentioning %q", p, tc.field, tc.msg)
			}
			if err := p.Err(); KindOf(err) != Invalid {
				t.Fatalf("error kind %d", KindOf(err))
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	w := valid()
	w.AccountNumber = ptr(strings.Repeat("x", 30))
	w.Email = ptr("bad")
	w.Fields = []CustomField{{FieldID: 0}}
	var p Problems
	w.Validate(&p, 0, time.Now())
	if len(p) != 3 || p.Err().Error() == "" || !strings.HasPrefix(p.Err().(*Error).Message, "3 fields are invalid") {
		t.Fatalf("got %v", p)
	}
}

func TestMoney(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0", "12.5": "12.5", "-0.0001": "-0.0001", "1.2300": "1.23", "999999999999.9999": "999999999999.9999",
		"1e3": "1000", "1.5E-2": "0.015", "-3": "-3", "0.1": "0.1", "0e999999": "0",
	} {
		m, err := ParseMoney(in)
		if err != nil || m.String() != want {
			t.Errorf("ParseMoney(%q) = %v, %v; want %s", in, m, err, want)
		}
	}
	for in, want := range map[string]error{
		"1.23456": ErrMoneyPlaces, "1e-5": ErrMoneyPlaces, "1e12": ErrMoneyRange, "-1000000000000": ErrMoneyRange,
		"1e999999999": ErrMoneyRange, `"1"`: ErrMoneySyntax, "01": ErrMoneySyntax, "1.": ErrMoneySyntax, "+1": ErrMoneySyntax,
		"NaN": ErrMoneySyntax, "": ErrMoneySyntax, "1e-99999999999": ErrMoneyPlaces,
	} {
		if _, err := ParseMoney(in); err != want {
			t.Errorf("ParseMoney(%q) error %v, want %v", in, err, want)
		}
	}
	// 0.1 + 0.2 is exactly 0.3: no binary float is involved.
	a, _ := ParseMoney("0.1")
	b, _ := ParseMoney("0.2")
	if (a + b).String() != "0.3" {
		t.Fatalf("0.1 + 0.2 = %s", a+b)
	}
}

func TestRegistrationCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := RandomString(RegistrationAlphabet, RegistrationCodeLength)
		if len(c) != 12 || strings.ContainsAny(c, "0O1IL") || strings.ToUpper(c) != c || seen[c] {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
	}
}

func TestSplitLogin(t *testing.T) {
	for in, want := range map[string][2]string{
		"admin@demo": {"admin", "demo"}, "ann@example.com@acme": {"ann@example.com", "acme"},
	} {
		u, c, ok := SplitLogin(in)
		if !ok || u != want[0] || c != want[1] {
			t.Errorf("SplitLogin(%q) = %q %q %v", in, u, c, ok)
		}
	}
	for _, bad := range []string{"admin", "@demo", "admin@", ""} {
		if _, _, ok := SplitLogin(bad); ok {
			t.Errorf("SplitLogin(%q) accepted", bad)
		}
	}
}

func TestPasswordHashing(t *testing.T) {
	if PasswordCost < 10 {
		t.Fatalf("bcrypt cost %d is below 10", PasswordCost)
	}
	h, err := HashPassword("a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(h)); err != nil || cost != PasswordCost {
		t.Fatalf("hash cost %d, %v", cost, err)
	}
	h2, _ := HashPassword("a long enough password")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if !CheckPassword(h, "a long enough password") || CheckPassword(h, "a long enough passworD") || CheckPassword("", "") {
		t.Fatal("CheckPassword")
	}
	if _, err := HashPassword("short"); KindOf(err) != Invalid {
		t.Fatalf("short password: %v", err)
	}
}
