package httpapi

import (
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/queryparam"
)

// TimeFormat is how date-times are written on the wire.
type TimeFormat string

// The time formats.
const (
	// TimeRFC3339 writes UTC with milliseconds and a Z: 2024-06-10T09:31:44.903Z.
	TimeRFC3339 TimeFormat = "rfc3339"
	// TimeRevio writes UTC with milliseconds and no designator: 2024-06-10T09:31:44.903.
	TimeRevio TimeFormat = "revio"
)

func (f TimeFormat) layout() string {
	if f == TimeRevio {
		return "2006-01-02T15:04:05.000"
	}
	return "2006-01-02T15:04:05.000Z"
}

// customerJSON is the wire form of a customer, members in the order of the contract.
type customerJSON struct {
	OK                      bool              `json:"ok,omitempty"`
	BillingAddress          *addressJSON      `json:"billing_address"`
	ServiceAddress          *addressJSON      `json:"service_address"`
	ListingAddress          *addressJSON      `json:"listing_address"`
	CustomerID              int32             `json:"customer_id"`
	ParentCustomerID        *int32            `json:"parent_customer_id"`
	AccountNumber           *string           `json:"account_number"`
	ActivatedDate           *string           `json:"activated_date"`
	AgentID                 *int32            `json:"agent_id"`
	SecondaryAgentID        *int32            `json:"secondary_agent_id"`
	CloseDate               *string           `json:"close_date"`
	CreatedBy               int32             `json:"created_by"`
	CreatedDate             string            `json:"created_date"`
	UpdatedDate             string            `json:"updated_date"`
	Email                   *string           `json:"email"`
	IsParent                bool              `json:"is_parent"`
	RegistrationCode        string            `json:"registration_code"`
	SecurityPIN             *string           `json:"security_pin"`
	SoldBy                  *int32            `json:"sold_by"`
	Source                  *string           `json:"source"`
	Status                  customer.Status   `json:"status"`
	AutoDebit               autoDebitJSON     `json:"auto_debit"`
	Finance                 financeJSON       `json:"finance"`
	Profile                 profileJSON       `json:"profile"`
	Fields                  []customFieldJSON `json:"fields"`
	Suspended               bool              `json:"suspended"`
	SuspendedDate           *string           `json:"suspended_date"`
	Culture                 *string           `json:"culture"`
	CloseOnNoActiveServices bool              `json:"close_on_no_active_services"`
	Links                   []linkJSON        `json:"links,omitempty"`
}

type addressJSON struct {
	AddressID           int32  `json:"address_id"`
	CustomerID          int32  `json:"customer_id"`
	FirstName           string `json:"first_name"`
	MiddleInitial       string `json:"middle_initial"`
	LastName            string `json:"last_name"`
	CompanyName         string `json:"company_name"`
	Line1               string `json:"line_1"`
	Line2               string `json:"line_2"`
	City                string `json:"city"`
	StateOrProvince     string `json:"state_or_province"`
	PostalCode          string `json:"postal_code"`
	PostalCodeExtension string `json:"postal_code_extension"`
	CountryCode         int32  `json:"country_code"`
}

type autoDebitJSON struct {
	Enabled          bool   `json:"enabled"`
	Day              *int32 `json:"day"`
	PaymentAccountID *int32 `json:"payment_account_id"`
}

type financeJSON struct {
	AmountDue            money                   `json:"amount_due"`
	AmountOverdue        money                   `json:"amount_overdue"`
	Balance              money                   `json:"balance"`
	BalanceLimit         *money                  `json:"balance_limit"`
	BalanceLimitEnabled  bool                    `json:"balance_limit_enabled"`
	BillProfileID        *int32                  `json:"bill_profile_id"`
	BillingMethod        *customer.BillingMethod `json:"billing_method"`
	CollectionTemplateID *int32                  `json:"collection_template_id"`
	ContractStartDate    *string                 `json:"contract_start_date"`
	ContractEndDate      *string                 `json:"contract_end_date"`
	CycleDate            *string                 `json:"cycle_date"`
	DueDate              *string                 `json:"due_date"`
	LateFeesEnabled      bool                    `json:"late_fees_enabled"`
	PaymentTermsDays     *int32                  `json:"payment_terms_days"`
	PaymentFeesEnabled   bool                    `json:"payment_fees_enabled"`
	TaxExemptEnabled     bool                    `json:"tax_exempt_enabled"`
	TaxExemptTypes       *string                 `json:"tax_exempt_types"`
	UsageFileEnabled     bool                    `json:"usage_file_enabled"`
	UsageFileFormat      *string                 `json:"usage_file_format"`
}

type profileJSON struct {
	Class       *customer.Class `json:"class"`
	DateOfBirth *string         `json:"date_of_birth"`
	Language    *string         `json:"language"`
	TaxID       *string         `json:"tax_id"`
}

type customFieldJSON struct {
	FieldID int32  `json:"field_id"`
	Label   string `json:"label"`
	Value   string `json:"value"`
}

type linkJSON struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// money writes an exact decimal as a JSON number.
type money customer.Money

func (m money) MarshalJSON() ([]byte, error) { return []byte(customer.Money(m).String()), nil }

// encoder turns domain values into their wire form.
type encoder struct{ layout string }

func (e encoder) time(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(e.layout)
	return &s
}

func date(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(time.DateOnly)
	return &s
}

func (e encoder) customer(c *customer.Customer) *customerJSON {
	out := &customerJSON{
		BillingAddress:          address(c.ID, c.BillingAddress),
		ServiceAddress:          address(c.ID, c.ServiceAddress),
		ListingAddress:          address(c.ID, c.ListingAddress),
		CustomerID:              c.ID,
		ParentCustomerID:        c.ParentCustomerID,
		AccountNumber:           c.AccountNumber,
		ActivatedDate:           e.time(c.ActivatedDate),
		AgentID:                 c.AgentID,
		SecondaryAgentID:        c.SecondaryAgentID,
		CloseDate:               e.time(c.CloseDate),
		CreatedBy:               c.CreatedBy,
		CreatedDate:             *e.time(&c.CreatedDate),
		UpdatedDate:             *e.time(&c.UpdatedDate),
		Email:                   c.Email,
		IsParent:                c.IsParent,
		SecurityPIN:             c.SecurityPIN,
		SoldBy:                  c.SoldBy,
		Source:                  c.Source,
		Status:                  c.Status,
		AutoDebit:               autoDebitJSON(c.AutoDebit),
		Fields:                  make([]customFieldJSON, len(c.Fields)),
		Suspended:               c.Suspended,
		SuspendedDate:           e.time(c.SuspendedDate),
		Culture:                 c.Culture,
		CloseOnNoActiveServices: c.CloseOnNoActiveServices,
	}
	if c.RegistrationCode != nil {
		out.RegistrationCode = *c.RegistrationCode
	}
	f := &c.Finance
	out.Finance = financeJSON{
		BalanceLimit:         (*money)(f.BalanceLimit),
		BalanceLimitEnabled:  f.BalanceLimitEnabled,
		BillProfileID:        f.BillProfileID,
		BillingMethod:        f.BillingMethod,
		CollectionTemplateID: f.CollectionTemplateID,
		ContractStartDate:    e.time(f.ContractStartDate),
		ContractEndDate:      e.time(f.ContractEndDate),
		CycleDate:            e.time(f.CycleDate),
		LateFeesEnabled:      f.LateFeesEnabled,
		PaymentTermsDays:     f.PaymentTermsDays,
		PaymentFeesEnabled:   f.PaymentFeesEnabled,
		TaxExemptEnabled:     f.TaxExemptEnabled,
		TaxExemptTypes:       f.TaxExemptTypes,
		UsageFileEnabled:     f.UsageFileEnabled,
		UsageFileFormat:      f.UsageFileFormat,
	}
	out.Profile = profileJSON{
		Class:       c.Profile.Class,
		DateOfBirth: date(c.Profile.DateOfBirth),
		Language:    c.Profile.Language,
		TaxID:       c.Profile.TaxID,
	}
	for i, cf := range c.Fields {
		out.Fields[i] = customFieldJSON(cf)
	}
	return out
}

func address(owner int32, a *customer.Address) *addressJSON {
	if a == nil {
		return nil
	}
	return &addressJSON{
		AddressID:           a.ID,
		CustomerID:          owner,
		FirstName:           a.FirstName,
		MiddleInitial:       a.MiddleInitial,
		LastName:            a.LastName,
		CompanyName:         a.CompanyName,
		Line1:               a.Line1,
		Line2:               a.Line2,
		City:                a.City,
		StateOrProvince:     a.StateOrProvince,
		PostalCode:          a.PostalCode,
		PostalCodeExtension: a.PostalCodeExtension,
		CountryCode:         a.CountryCode,
	}
}

// parseID reads a customer id from a path or query value.
func parseID(s string) (int32, bool) { return queryparam.ParseID(s) }
