// Package customer holds custd's domain: the Customer and its parts, the rules a customer
// must keep, the error kinds, clients and users, and the Store interface that the storage
// packages implement.
package customer

import (
	"strings"
	"time"
)

// Customer is one customer account of one client, as stored. The JSON tags describe the
// stored document, not the wire format (internal/httpapi owns that).
type Customer struct {
	ID          int32     `json:"id"`
	ClientID    int64     `json:"-"`
	Version     int64     `json:"-"`
	CreatedBy   int32     `json:"created_by"`
	CreatedDate time.Time `json:"created_date"`
	UpdatedDate time.Time `json:"updated_date"`
	Writable
}

// Writable is the part of a customer that a client sets with POST, PUT or PATCH.
// A nil pointer is JSON null.
type Writable struct {
	BillingAddress   *Address   `json:"billing_address,omitempty"`
	ServiceAddress   *Address   `json:"service_address,omitempty"`
	ListingAddress   *Address   `json:"listing_address,omitempty"`
	ParentCustomerID *int32     `json:"parent_customer_id,omitempty"`
	AccountNumber    *string    `json:"account_number,omitempty"`
	ActivatedDate    *time.Time `json:"activated_date,omitempty"`
	AgentID          *int32     `json:"agent_id,omitempty"`
	SecondaryAgentID *int32     `json:"secondary_agent_id,omitempty"`
	CloseDate        *time.Time `json:"close_date,omitempty"`
	Email            *string    `json:"email,omitempty"`
	IsParent         bool       `json:"is_parent,omitempty"`
	// RegistrationCode nil on input means "keep the current code" (PUT) or "generate one"
	// (POST); a stored customer always has a non-nil code, possibly empty.
	RegistrationCode        *string       `json:"registration_code,omitempty"`
	SecurityPIN             *string       `json:"security_pin,omitempty"`
	SoldBy                  *int32        `json:"sold_by,omitempty"`
	Source                  *string       `json:"source,omitempty"`
	Status                  Status        `json:"status"`
	AutoDebit               AutoDebit     `json:"auto_debit"`
	Finance                 Finance       `json:"finance"`
	Profile                 Profile       `json:"profile"`
	Fields                  []CustomField `json:"fields,omitempty"`
	Suspended               bool          `json:"suspended,omitempty"`
	SuspendedDate           *time.Time    `json:"suspended_date,omitempty"`
	Culture                 *string       `json:"culture,omitempty"`
	CloseOnNoActiveServices bool          `json:"close_on_no_active_services,omitempty"`
}

// Address is a postal address of a customer. Its ID is assigned by the server and kept
// across writes for as long as the customer has an address in that slot.
type Address struct {
	ID                  int32  `json:"id"`
	FirstName           string `json:"first_name,omitempty"`
	LastName            string `json:"last_name,omitempty"`
	MiddleInitial       string `json:"middle_initial,omitempty"`
	CompanyName         string `json:"company_name,omitempty"`
	Line1               string `json:"line_1,omitempty"`
	Line2               string `json:"line_2,omitempty"`
	City                string `json:"city,omitempty"`
	StateOrProvince     string `json:"state_or_province,omitempty"`
	PostalCode          string `json:"postal_code,omitempty"`
	PostalCodeExtension string `json:"postal_code_extension,omitempty"`
	CountryCode         int32  `json:"country_code,omitempty"`
}

// AutoDebit says whether and when the customer's balance is drawn automatically.
type AutoDebit struct {
	Enabled          bool   `json:"enabled,omitempty"`
	Day              *int32 `json:"day,omitempty"`
	PaymentAccountID *int32 `json:"payment_account_id,omitempty"`
}

// Finance holds the customer's billing settings. The ledger-owned amounts (amount due,
// balance and so on) are not here: custd is not the ledger.
type Finance struct {
	BalanceLimit         *Money         `json:"balance_limit,omitempty"`
	BalanceLimitEnabled  bool           `json:"balance_limit_enabled,omitempty"`
	BillProfileID        *int32         `json:"bill_profile_id,omitempty"`
	BillingMethod        *BillingMethod `json:"billing_method,omitempty"`
	CollectionTemplateID *int32         `json:"collection_template_id,omitempty"`
	ContractStartDate    *time.Time     `json:"contract_start_date,omitempty"`
	ContractEndDate      *time.Time     `json:"contract_end_date,omitempty"`
	CycleDate            *time.Time     `json:"cycle_date,omitempty"`
	LateFeesEnabled      bool           `json:"late_fees_enabled,omitempty"`
	PaymentTermsDays     *int32         `json:"payment_terms_days,omitempty"`
	PaymentFeesEnabled   bool           `json:"payment_fees_enabled,omitempty"`
	TaxExemptEnabled     bool           `json:"tax_exempt_enabled,omitempty"`
	TaxExemptTypes       *string        `json:"tax_exempt_types,omitempty"`
	UsageFileEnabled     bool           `json:"usage_file_enabled,omitempty"`
	UsageFileFormat      *string        `json:"usage_file_format,omitempty"`
}

// Profile describes who the customer is.
type Profile struct {
	Class       *Class     `json:"class,omitempty"`
	DateOfBirth *time.Time `json:"date_of_birth,omitempty"` // midnight UTC of the date
	Language    *string    `json:"language,omitempty"`
	TaxID       *string    `json:"tax_id,omitempty"`
}

// CustomField is one client-defined value on a customer.
type CustomField struct {
	FieldID int32  `json:"field_id"`
	Label   string `json:"label,omitempty"`
	Value   string `json:"value,omitempty"`
}

// Status is the lifecycle state of a customer account.
type Status string

// The statuses a customer can be in.
const (
	StatusOpen     Status = "OPEN"
	StatusPending  Status = "PENDING"
	StatusProspect Status = "PROSPECT"
	StatusClosed   Status = "CLOSED"
)

// Statuses lists every status a customer can be in.
var Statuses = []Status{StatusOpen, StatusPending, StatusProspect, StatusClosed}

// BillingMethod says how bills reach the customer.
type BillingMethod string

// The billing methods.
const (
	BillingPrintOnly BillingMethod = "PRINT_ONLY"
	BillingEmailOnly BillingMethod = "EMAIL_ONLY"
	BillingBoth      BillingMethod = "BOTH"
	BillingNone      BillingMethod = "NONE"
)

// BillingMethods lists every billing method.
var BillingMethods = []BillingMethod{BillingPrintOnly, BillingEmailOnly, BillingBoth, BillingNone}

// Class is the kind of customer.
type Class string

// The customer classes.
const (
	ClassBusiness    Class = "BUSINESS"
	ClassResidential Class = "RESIDENTIAL"
)

// Classes lists every customer class.
var Classes = []Class{ClassBusiness, ClassResidential}

// ParseEnum returns the member of values that equals s ignoring letter case.
func ParseEnum[T ~string](s string, values []T) (T, bool) {
	for _, v := range values {
		if strings.EqualFold(s, string(v)) {
			return v, true
		}
	}
	return "", false
}

// EnumList joins values for an error message: "OPEN, PENDING, PROSPECT or CLOSED".
func EnumList[T ~string](values []T) string {
	var b strings.Builder
	for i, v := range values {
		switch {
		case i == 0:
		case i == len(values)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(string(v))
	}
	return b.String()
}

// SearchText is the lower-cased text that name and email searches match against.
type SearchText struct {
	Company string // billing address company_name
	Person  string // billing address first_name + " " + last_name
	Email   string
}

// Fold lower-cases s the way searches compare text: the same function folds the stored
// text and the query, so every store matches alike.
func Fold(s string) string { return strings.ToLower(s) }

// SearchText returns the text that name and email searches look in.
func (c *Customer) SearchText() SearchText {
	var t SearchText
	if a := c.BillingAddress; a != nil {
		t.Company = Fold(a.CompanyName)
		t.Person = Fold(a.FirstName + " " + a.LastName)
	}
	if c.Email != nil {
		t.Email = Fold(*c.Email)
	}
	return t
}

// ETag returns the strong entity tag of this version of the customer.
func (c *Customer) ETag() string { return ETag(c.ID, c.Version) }
