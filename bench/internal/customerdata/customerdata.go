// Package customerdata makes the deterministic, realistic customer records that
// the benchmark writes into custd and into PocketBase, so that both stores hold
// the same data and receive the same request bodies.
//
// A body is the custd Customer wire format with only writable members. The same
// bytes are a valid PocketBase record body for the equivalent collection, whose
// fields carry the same names.
package customerdata

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// AccountPlaceholder stands in a body template where the benchmark puts an
// account number, which must be unique per customer in both stores.
const AccountPlaceholder = "@ACCOUNT@"

// AccountNumber is the account number of the customer seeded with index i. The
// load scripts derive it from an id's line in the ids file, so a PUT keeps each
// customer's own number and never collides with another's.
func AccountNumber(i int) string { return fmt.Sprintf("AC-%08d", i) }

// SearchTerms are the name fragments the search scenario looks for: common
// surname and company-word fragments matching from about 2.5% ("mill") to 15%
// ("son") of the records, so that page 2 of 20 is full from 2,000 records up.
var SearchTerms = []string{"son", "ez", "ch", "ill", "ber", "mill"}

// Customer is the writable part of custd's Customer on the wire (spec §1).
// Nulls are written out so that a PUT body is a full replacement and a PATCH
// body sets every field.
type Customer struct {
	BillingAddress          *Address      `json:"billing_address"`
	ServiceAddress          *Address      `json:"service_address"`
	ListingAddress          *Address      `json:"listing_address"`
	ParentCustomerID        *int32        `json:"parent_customer_id"`
	AccountNumber           string        `json:"account_number"`
	ActivatedDate           *string       `json:"activated_date"`
	AgentID                 *int32        `json:"agent_id"`
	SecondaryAgentID        *int32        `json:"secondary_agent_id"`
	CloseDate               *string       `json:"close_date"`
	Email                   string        `json:"email"`
	IsParent                bool          `json:"is_parent"`
	SecurityPIN             string        `json:"security_pin"`
	SoldBy                  *int32        `json:"sold_by"`
	Source                  string        `json:"source"`
	Status                  string        `json:"status"`
	AutoDebit               AutoDebit     `json:"auto_debit"`
	Finance                 Finance       `json:"finance"`
	Profile                 Profile       `json:"profile"`
	Fields                  []CustomField `json:"fields"`
	Suspended               bool          `json:"suspended"`
	SuspendedDate           *string       `json:"suspended_date"`
	Culture                 string        `json:"culture"`
	CloseOnNoActiveServices bool          `json:"close_on_no_active_services"`
}

// Address is a postal address (spec §1.1).
type Address struct {
	FirstName           string `json:"first_name"`
	LastName            string `json:"last_name"`
	MiddleInitial       string `json:"middle_initial"`
	CompanyName         string `json:"company_name"`
	Line1               string `json:"line_1"`
	Line2               string `json:"line_2"`
	City                string `json:"city"`
	StateOrProvince     string `json:"state_or_province"`
	PostalCode          string `json:"postal_code"`
	PostalCodeExtension string `json:"postal_code_extension"`
	CountryCode         int32  `json:"country_code"`
}

// AutoDebit is spec §1.2.
type AutoDebit struct {
	Enabled          bool   `json:"enabled"`
	Day              *int32 `json:"day"`
	PaymentAccountID *int32 `json:"payment_account_id"`
}

// Finance is the writable part of spec §1.3. Money is a JSON number literal.
type Finance struct {
	BalanceLimit         json.Number `json:"balance_limit"`
	BalanceLimitEnabled  bool        `json:"balance_limit_enabled"`
	BillProfileID        *int32      `json:"bill_profile_id"`
	BillingMethod        string      `json:"billing_method"`
	CollectionTemplateID *int32      `json:"collection_template_id"`
	ContractStartDate    *string     `json:"contract_start_date"`
	ContractEndDate      *string     `json:"contract_end_date"`
	CycleDate            *string     `json:"cycle_date"`
	LateFeesEnabled      bool        `json:"late_fees_enabled"`
	PaymentTermsDays     int32       `json:"payment_terms_days"`
	PaymentFeesEnabled   bool        `json:"payment_fees_enabled"`
	TaxExemptEnabled     bool        `json:"tax_exempt_enabled"`
	TaxExemptTypes       string      `json:"tax_exempt_types"`
	UsageFileEnabled     bool        `json:"usage_file_enabled"`
	UsageFileFormat      string      `json:"usage_file_format"`
}

// Profile is spec §1.4.
type Profile struct {
	Class       string  `json:"class"`
	DateOfBirth *string `json:"date_of_birth"`
	Language    string  `json:"language"`
	TaxID       string  `json:"tax_id"`
}

// CustomField is spec §1.5.
type CustomField struct {
	FieldID int32  `json:"field_id"`
	Label   string `json:"label"`
	Value   string `json:"value"`
}

// New returns the customer with index i of the data set named by seed. The
// same (seed, i) always gives the same customer.
func New(seed uint64, i int) Customer {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	first, last := pick(r, firstNames), weighted(r, surnames)
	business := r.IntN(100) < 35
	company := ""
	if business {
		company = companyName(r, last)
	}
	billing := address(r, first, last, company)
	// Most customers are served where they are billed; a null service address
	// says so as well as a copy does. Few are in a directory listing.
	var service, listing *Address
	switch n := r.IntN(100); {
	case n < 30:
		a := address(r, first, last, company)
		service = &a
	case n < 60:
		a := billing
		service = &a
	}
	if r.IntN(4) == 0 {
		a := billing
		a.Line2 = ""
		listing = &a
	}

	created := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(10 * 365 * 24 * time.Hour))))
	c := Customer{
		BillingAddress: &billing,
		ServiceAddress: service,
		ListingAddress: listing,
		AccountNumber:  AccountNumber(i),
		ActivatedDate:  date(created),
		AgentID:        int32p(1 + r.Int32N(400)),
		Email:          email(r, first, last, company),
		SecurityPIN:    fmt.Sprintf("%04d", r.IntN(10000)),
		SoldBy:         int32p(1 + r.Int32N(60)),
		Source:         pick(r, sources),
		Status:         weighted(r, statuses),
		Culture:        pick(r, cultures),
		Finance: Finance{
			BalanceLimit:         json.Number(fmt.Sprintf("%d.%02d", 100*(1+r.IntN(50)), r.IntN(4)*25)),
			BalanceLimitEnabled:  r.IntN(4) == 0,
			BillProfileID:        int32p(1 + r.Int32N(12)),
			BillingMethod:        pick(r, billingMethods),
			CollectionTemplateID: int32p(1 + r.Int32N(5)),
			ContractStartDate:    date(created),
			ContractEndDate:      date(created.AddDate(1+r.IntN(3), 0, 0)),
			CycleDate:            date(time.Date(2025, time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)),
			LateFeesEnabled:      r.IntN(2) == 0,
			PaymentTermsDays:     int32(pick(r, []int{15, 30, 30, 30, 45, 60})),
			PaymentFeesEnabled:   r.IntN(5) == 0,
			UsageFileEnabled:     business && r.IntN(3) == 0,
			UsageFileFormat:      "CSV",
		},
		Profile: Profile{
			Class:    "RESIDENTIAL",
			Language: "English",
		},
		Fields: []CustomField{
			{FieldID: 1, Label: "Sales region", Value: pick(r, regions)},
			{FieldID: 2, Label: "Legacy account", Value: fmt.Sprintf("L%07d", r.IntN(10000000))},
		},
		CloseOnNoActiveServices: r.IntN(10) == 0,
	}
	if r.IntN(3) == 0 {
		c.Fields = append(c.Fields, CustomField{FieldID: 3, Label: "Notes", Value: pick(r, notes)})
	}
	if r.IntN(3) == 0 {
		c.SecondaryAgentID = int32p(1 + r.Int32N(400))
	}
	if business {
		c.Profile.Class = "BUSINESS"
		c.Profile.TaxID = fmt.Sprintf("%02d-%07d", 10+r.IntN(89), r.IntN(10000000))
		if r.IntN(10) == 0 {
			c.Finance.TaxExemptEnabled = true
			c.Finance.TaxExemptTypes = "STATE,COUNTY"
		}
	} else {
		dob := time.Date(1940+r.IntN(62), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
		c.Profile.DateOfBirth = &dob
	}
	if r.IntN(3) == 0 {
		c.AutoDebit = AutoDebit{Enabled: true, Day: int32p(1 + r.Int32N(28)), PaymentAccountID: int32p(1 + r.Int32N(1000000))}
	}
	// The same states the server would derive, so that both stores hold the same record.
	switch c.Status {
	case "CLOSED":
		c.CloseDate = date(created.AddDate(0, 1+r.IntN(60), 0))
	case "PROSPECT":
		c.ActivatedDate = nil
	}
	if c.Status != "CLOSED" && r.IntN(40) == 0 {
		c.Suspended = true
		c.SuspendedDate = date(created.AddDate(0, 1+r.IntN(24), 0))
	}
	return c
}

// Body is the customer's JSON request body.
func Body(c Customer) []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // only plain values: cannot fail
	}
	return b
}

// Template is Body with the account number replaced by AccountPlaceholder.
func Template(c Customer) []byte {
	c.AccountNumber = AccountPlaceholder
	return Body(c)
}

// Matches reports whether the customer's billing name matches term the way
// custd's search.name does: a case-insensitive substring of the company name or
// of first and last name joined by a space.
func Matches(c Customer, term string) bool {
	a := c.BillingAddress
	term = strings.ToLower(term)
	return strings.Contains(strings.ToLower(a.CompanyName), term) ||
		strings.Contains(strings.ToLower(a.FirstName+" "+a.LastName), term)
}

func address(r *rand.Rand, first, last, company string) Address {
	city := cities[r.IntN(len(cities))]
	a := Address{
		FirstName:       first,
		LastName:        last,
		MiddleInitial:   string(rune('A' + r.IntN(26))),
		CompanyName:     company,
		Line1:           fmt.Sprintf("%d %s %s", 1+r.IntN(9899), pick(r, streets), pick(r, streetKinds)),
		City:            city.name,
		StateOrProvince: city.state,
		PostalCode:      fmt.Sprintf("%05d", city.zip+r.IntN(90)),
		CountryCode:     1,
	}
	if r.IntN(4) == 0 {
		a.Line2 = fmt.Sprintf("%s %d", pick(r, []string{"Suite", "Apt", "Unit", "Floor"}), 1+r.IntN(400))
	}
	if r.IntN(2) == 0 {
		a.PostalCodeExtension = fmt.Sprintf("%04d", r.IntN(10000))
	}
	return a
}

func companyName(r *rand.Rand, last string) string {
	switch r.IntN(3) {
	case 0:
		return fmt.Sprintf("%s %s %s", last, pick(r, industries), pick(r, companySuffixes))
	case 1:
		return fmt.Sprintf("%s %s %s", pick(r, companyWords), pick(r, industries), pick(r, companySuffixes))
	default:
		return fmt.Sprintf("%s & %s %s", last, weighted(r, surnames), pick(r, []string{"LLC", "Partners", "Associates", "Law Group"}))
	}
}

func email(r *rand.Rand, first, last, company string) string {
	local := strings.ToLower(first[:1] + last)
	domain := pick(r, mailDomains)
	if company != "" {
		domain = strings.ToLower(strings.Map(func(c rune) rune {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
				return c
			}
			return -1
		}, strings.Fields(company)[0])) + ".example.com"
	}
	addr := fmt.Sprintf("%s%d@%s", local, r.IntN(1000), domain)
	if company != "" && r.IntN(5) == 0 {
		addr += ", billing@" + domain // custd accepts several addresses
	}
	return addr
}

func date(t time.Time) *string {
	s := t.UTC().Format("2006-01-02T15:04:05.000Z")
	return &s
}

func int32p(v int32) *int32 { return &v }

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// weightedList is a list of values with relative frequencies.
type weightedList struct {
	values  []string
	cumsums []int
}

func newWeighted(pairs ...any) weightedList {
	var w weightedList
	total := 0
	for i := 0; i < len(pairs); i += 2 {
		total += pairs[i+1].(int)
		w.values = append(w.values, pairs[i].(string))
		w.cumsums = append(w.cumsums, total)
	}
	return w
}

func weighted(r *rand.Rand, w weightedList) string {
	n := r.IntN(w.cumsums[len(w.cumsums)-1])
	for i, c := range w.cumsums {
		if n < c {
			return w.values[i]
		}
	}
	panic("unreachable")
}
