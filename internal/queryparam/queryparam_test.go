package queryparam

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/custd/custd/internal/customer"
)

// filterSet tells, for each filter of the customer search, whether a parsed query has it.
var filterSet = map[string]func(q *customer.Query) bool{
	"customer_id":          func(q *customer.Query) bool { return len(q.IDs) > 0 },
	"account_number":       func(q *customer.Query) bool { return len(q.AccountNumbers) > 0 },
	"parent_customer_id":   func(q *customer.Query) bool { return len(q.ParentIDs) > 0 },
	"agent_id":             func(q *customer.Query) bool { return len(q.AgentIDs) > 0 },
	"secondary_agent_id":   func(q *customer.Query) bool { return len(q.SecondaryAgentIDs) > 0 },
	"sold_by":              func(q *customer.Query) bool { return len(q.SoldBy) > 0 },
	"created_by":           func(q *customer.Query) bool { return len(q.CreatedBy) > 0 },
	"bill_profile_id":      func(q *customer.Query) bool { return len(q.BillProfileIDs) > 0 },
	"email":                func(q *customer.Query) bool { return q.Email != "" },
	"name":                 func(q *customer.Query) bool { return q.Name != "" },
	"is_parent":            func(q *customer.Query) bool { return q.IsParent != nil },
	"suspended":            func(q *customer.Query) bool { return q.Suspended != nil },
	"created_date_start":   func(q *customer.Query) bool { return q.Created.From != nil },
	"created_date_end":     func(q *customer.Query) bool { return q.Created.To != nil },
	"updated_date_start":   func(q *customer.Query) bool { return q.Updated.From != nil },
	"updated_date_end":     func(q *customer.Query) bool { return q.Updated.To != nil },
	"activated_date_start": func(q *customer.Query) bool { return q.Activated.From != nil },
	"activated_date_end":   func(q *customer.Query) bool { return q.Activated.To != nil },
	"close_date_start":     func(q *customer.Query) bool { return q.Closed.From != nil },
	"close_date_end":       func(q *customer.Query) bool { return q.Closed.To != nil },
}

// checkNoFilterDropped fails unless parsing raw either refuses it or keeps every filter
// it gives a value to (status=ALL is the one filter that means none).
func checkNoFilterDropped(t *testing.T, raw string) {
	q, err := Search(raw)
	if err != nil {
		if !customer.IsKind(err, customer.Invalid) {
			t.Fatalf("%q: %v, want Invalid", raw, err)
		}
		return
	}
	values, perr := url.ParseQuery(raw)
	if perr != nil {
		t.Fatalf("%q: the standard parser refuses it (%v), yet it was searched", raw, perr)
	}
	for name, vs := range values {
		key := strings.TrimPrefix(strings.ToLower(name), "search.")
		set, isFilter := filterSet[key]
		if !isFilter {
			if _, known := Names(Customers(&customer.Query{}))[key]; !known {
				t.Fatalf("%q: unknown parameter %q accepted", raw, name)
			}
			continue
		}
		for _, v := range vs {
			if strings.TrimSpace(v) != "" && !set(q) {
				t.Fatalf("%q: filter %s=%q was dropped", raw, name, v)
			}
		}
	}
	if q.PageSize < 1 || q.PageSize > customer.MaxPageSize || len(q.Name) > 4*customer.MaxNameSearch || len(q.Email) > 4*customer.MaxEmail {
		t.Fatalf("%q: page size %d, name %d bytes, email %d bytes", raw, q.PageSize, len(q.Name), len(q.Email))
	}
}

// TestQueryStringsThatCannotBeRead: a filter that cannot be read is a 400 naming it, never
// a broader page. (Before, the error of URL.Query was ignored and these searched all.)
func TestQueryStringsThatCannotBeRead(t *testing.T) {
	for raw, field := range map[string]string{
		"account_number=X%zz":       "account_number",
		"search.account_number=X;y": "search.account_number",
		"account%zz=X":              "account%zz",
		"email=a%2":                 "email",
		"name=" + strings.Repeat("n", customer.MaxNameSearch+1): "name",
		"email=" + strings.Repeat("e", customer.MaxEmail+1):     "email",
	} {
		_, err := Search(raw)
		var e *customer.Error
		if !customer.IsKind(err, customer.Invalid) || !errors.As(err, &e) || len(e.Fields) == 0 || e.Fields[0].Field != field {
			t.Errorf("%.40q: %v, want a 400 naming %s", raw, err, field)
		}
	}
	// Empty pairs are only separators: the filter stays.
	q, err := Search("account_number=X&&&&")
	if err != nil || len(q.AccountNumbers) != 1 || q.AccountNumbers[0] != "X" {
		t.Fatalf("account_number=X&&&&: %+v, %v", q, err)
	}
	// Names in any letter case, as ASP.NET binds them.
	q, err = Search("Search.Page_Size=2&SEARCH.STATUS=open&Account_Number=A")
	if err != nil || q.PageSize != 2 || len(q.Statuses) != 1 || len(q.AccountNumbers) != 1 {
		t.Fatalf("mixed-case names: %+v, %v", q, err)
	}
	checkNoFilterDropped(t, "name=ab&Email=x%40y&is_parent=TRUE")
}

// FuzzQueryParams: whatever the query string, the search parser refuses it or keeps
// every filter it names, never does unbounded work, and never fails otherwise.
func FuzzQueryParams(f *testing.F) {
	for _, seed := range []string{
		"", "account_number=X", "account_number=X%zz", "search.account_number=X;y", "account_number=X&&&&",
		"status=ALL&status=open", "name=%E2%82%AC", "customer_id=1&customer_id=2&page=3&page_size=999",
		"created_date_end=2024-06-10&sort=-account_number", "Search.Page_Size=2", "email=a%00b", "=x&x=",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if len(raw) > 1<<16 {
			return
		}
		checkNoFilterDropped(t, raw)
	})
}
