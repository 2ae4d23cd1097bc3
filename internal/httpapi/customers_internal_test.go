package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

// TestStoredResponseIsCustomerResponse: a customer read by id is answered from its stored
// document with exactly the bytes, status and ETag that the decoded customer's answer
// has, in both time formats and behind a proxy that names the scheme.
func TestStoredResponseIsCustomerResponse(t *testing.T) {
	day := time.Date(2024, 2, 29, 13, 14, 15, 678_000_000, time.UTC)
	text := func(s string) *string { return &s }
	num := func(n int32) *int32 { return &n }
	limit := customer.Money(1_234_500_000)
	cs := []*customer.Customer{
		{CreatedDate: day, UpdatedDate: day},
		{CreatedBy: 3, CreatedDate: day, UpdatedDate: day.Add(time.Hour), Writable: customer.Writable{
			BillingAddress: &customer.Address{ID: 11, FirstName: "Zoë", LastName: `O"Neil <&>`, Line1: "1 Main St\n2nd floor", CountryCode: 1},
			ServiceAddress: &customer.Address{ID: 12, City: "日本", PostalCode: "\u2028"},
			AccountNumber:  text("ACC-1"), ActivatedDate: &day, AgentID: num(7), Email: text("a@b.example"),
			Status: customer.StatusOpen, Finance: customer.Finance{BalanceLimit: &limit, CycleDate: &day},
			Fields: []customer.CustomField{{FieldID: 2, Label: "Tier", Value: `gold\silver`}, {FieldID: 1, Label: "", Value: ""}},
		}},
	}
	for _, layout := range []string{TimeRFC3339.layout(), TimeRevio.layout()} {
		s := &server{enc: encoder{layout: layout}}
		for i, c := range cs {
			doc, err := c.Document()
			if err != nil {
				t.Fatal(err)
			}
			st := &customer.Stored{ID: int32(40 + i), ClientID: 1, Version: 7, Document: doc}
			back, err := st.Customer()
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "http://custd.example:8080/v1/Customers/40", nil)
			r.Header.Set("X-Forwarded-Proto", "https")
			want, err := s.customerResponse(r, back, http.StatusOK)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.storedResponse(r, st, http.StatusOK)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Body, want.Body) || got.Status != want.Status || got.ETag != want.ETag {
				t.Errorf("customer %d: got %d %s %s\nwant %d %s %s", i, got.Status, got.ETag, got.Body, want.Status, want.ETag, want.Body)
			}
		}
	}
}

// TestStoredPageIsTheDecodedPage: a search page written from its stored documents is,
// byte for byte, what json.Marshal writes for the list of the decoded customers' wire
// forms, empty or not, with or without a later page.
func TestStoredPageIsTheDecodedPage(t *testing.T) {
	day := time.Date(2024, 2, 29, 13, 14, 15, 678_000_000, time.UTC)
	text := func(s string) *string { return &s }
	cs := []*customer.Customer{
		{ID: 40, CreatedDate: day, UpdatedDate: day},
		{ID: 41, CreatedBy: 3, CreatedDate: day, UpdatedDate: day.Add(1500 * time.Microsecond), Writable: customer.Writable{
			BillingAddress: &customer.Address{ID: 11, FirstName: "Zoë", LastName: `O"Neil <&>`, CountryCode: 1},
			AccountNumber:  text("ACC-1\u2028"), Email: text("a@b.example"), Status: customer.StatusOpen,
			Fields: []customer.CustomField{{FieldID: 2, Label: "Tier", Value: `gold\silver`}},
		}},
	}
	for _, layout := range []string{TimeRFC3339.layout(), TimeRevio.layout()} {
		s := &server{enc: encoder{layout: layout}}
		for n := range len(cs) + 1 {
			for _, more := range []bool{false, true} {
				page := &customer.StoredPage{Customers: []*customer.Stored{}, HasMore: more}
				records := []*customerJSON{}
				for _, c := range cs[:n] {
					doc, err := c.Document()
					if err != nil {
						t.Fatal(err)
					}
					st := &customer.Stored{ID: c.ID, ClientID: 1, Version: 7, Document: doc}
					back, err := st.Customer()
					if err != nil {
						t.Fatal(err)
					}
					page.Customers = append(page.Customers, st)
					records = append(records, s.enc.customer(back))
				}
				want, err := json.Marshal(struct {
					OK          bool            `json:"ok"`
					HasMore     bool            `json:"has_more"`
					RecordCount int             `json:"record_count"`
					Records     []*customerJSON `json:"records"`
				}{true, more, len(records), records})
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.storedPage(page)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Body, want) || got.Status != http.StatusOK {
					t.Errorf("%d customers, has_more %v:\ngot  %d %s\nwant %s", n, more, got.Status, got.Body, want)
				}
			}
		}
	}
}
