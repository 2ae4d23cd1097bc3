package storetest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

// seedSearch stores customers with varied values for acme (and a few for other, which
// must never appear), and returns acme's as stored.
func seedSearch(t *testing.T, f *fixture) []*customer.Customer {
	r := rand.New(rand.NewPCG(1, 2))
	companies := []string{"Acme Corp", "Globex", "Initech", "100% Pure_Water", `Quote "Co"`, "Ünïcode GmbH", "", "acme widgets"}
	firsts := []string{"Ada", "Alan", "Grace", "Linus", "", "Zoë"}
	lasts := []string{"Lovelace", "Turing", "Hopper", "Torvalds", "Smith", "O'Brien"}
	emails := []string{"ada@example.com", "ops@GLOBEX.com", "a_b@x.io", "billing@acme.com, ada@acme.com", ""}
	opt := func(p float64, v int32) *int32 {
		if r.Float64() < p {
			return &v
		}
		return nil
	}
	base := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	var parents []int32
	var out []*customer.Customer
	for i := range 60 {
		w := customer.Writable{
			Status:           customer.Statuses[r.IntN(len(customer.Statuses))],
			AgentID:          opt(0.7, int32(1+r.IntN(4))),
			SoldBy:           opt(0.5, int32(1+r.IntN(3))),
			IsParent:         i < 6,
			Suspended:        r.IntN(4) == 0,
			BillingAddress:   &customer.Address{CompanyName: companies[r.IntN(len(companies))], FirstName: firsts[r.IntN(len(firsts))], LastName: lasts[r.IntN(len(lasts))]},
			Finance:          customer.Finance{BillProfileID: opt(0.6, int32(1+r.IntN(3)))},
			RegistrationCode: nil,
		}
		if w.AgentID != nil {
			w.SecondaryAgentID = opt(0.5, int32(5+r.IntN(2)))
		}
		switch r.IntN(4) {
		case 0:
		case 1:
			w.AccountNumber = ptr("")
		default:
			w.AccountNumber = ptr(fmt.Sprintf("%c-%03d", "ABab"[r.IntN(4)], r.IntN(1000)+i*1000))
		}
		if e := emails[r.IntN(len(emails))]; e != "" {
			w.Email = &e
		}
		if r.IntN(5) == 0 {
			w.BillingAddress = nil
		}
		if w.Status == customer.StatusOpen && r.IntN(2) == 0 {
			w.ActivatedDate = ptr(base.Add(time.Duration(r.IntN(1000)) * time.Hour))
		}
		if w.Status != customer.StatusOpen && r.IntN(3) == 0 {
			w.ActivatedDate = ptr(base.Add(time.Duration(r.IntN(1000)) * time.Hour))
		}
		if w.Status == customer.StatusClosed && r.IntN(2) == 0 {
			w.CloseDate = ptr(base.Add(time.Duration(r.IntN(1000)) * time.Hour))
		}
		if len(parents) > 0 && r.IntN(3) == 0 {
			w.ParentCustomerID = &parents[r.IntN(len(parents))]
		}
		c := f.create(f.acme, w)
		if c.IsParent {
			parents = append(parents, c.ID)
		}
		out = append(out, c)
		if i%10 == 0 {
			twin := w // the other client's twin, never in acme's results
			twin.ParentCustomerID = nil
			f.create(f.other, twin)
		}
	}
	// Some writes later, so updated_date differs from created_date.
	for _, c := range out[:15] {
		w := c.Writable
		w.Source = ptr("update")
		got, err := f.replace(f.acme, c.ID, w, nil)
		if err != nil {
			t.Fatal(err)
		}
		*c = *got
	}
	return out
}

// match is the reference meaning of a query, written plainly in Go.
func match(c *customer.Customer, q *customer.Query) bool {
	in := func(v *int32, set []int32) bool { return len(set) == 0 || v != nil && slices.Contains(set, *v) }
	within := func(t *time.Time, r customer.TimeRange) bool {
		if r.From == nil && r.To == nil {
			return true
		}
		return t != nil && (r.From == nil || !t.Before(*r.From)) && (r.To == nil || !t.After(*r.To))
	}
	text := c.SearchText()
	acct := ""
	if c.AccountNumber != nil {
		acct = *c.AccountNumber
	}
	return in(&c.ID, q.IDs) &&
		(len(q.AccountNumbers) == 0 || acct != "" && slices.Contains(q.AccountNumbers, acct)) &&
		in(c.ParentCustomerID, q.ParentIDs) && in(c.AgentID, q.AgentIDs) && in(c.SecondaryAgentID, q.SecondaryAgentIDs) &&
		in(c.SoldBy, q.SoldBy) && in(&c.CreatedBy, q.CreatedBy) && in(c.Finance.BillProfileID, q.BillProfileIDs) &&
		(len(q.Statuses) == 0 || slices.Contains(q.Statuses, c.Status)) &&
		strings.Contains(text.Email, q.Email) &&
		(q.Name == "" || strings.Contains(text.Company, q.Name) || strings.Contains(text.Person, q.Name)) &&
		(q.IsParent == nil || *q.IsParent == c.IsParent) && (q.Suspended == nil || *q.Suspended == c.Suspended) &&
		within(&c.CreatedDate, q.Created) && within(&c.UpdatedDate, q.Updated) &&
		within(c.ActivatedDate, q.Activated) && within(c.CloseDate, q.Closed)
}

// order is the reference order: customers without a value first ascending, last
// descending; ties broken by customer_id in the same direction.
func order(q *customer.Query) func(a, b *customer.Customer) int {
	key := func(c *customer.Customer) (string, bool) {
		tm := func(t *time.Time) (string, bool) {
			if t == nil {
				return "", false
			}
			return t.UTC().Format("2006-01-02T15:04:05.000"), true
		}
		switch q.Sort {
		case customer.SortAccountNumber:
			if c.AccountNumber == nil || *c.AccountNumber == "" {
				return "", false
			}
			return *c.AccountNumber, true
		case customer.SortCreatedDate:
			return tm(&c.CreatedDate)
		case customer.SortUpdatedDate:
			return tm(&c.UpdatedDate)
		case customer.SortActivatedDate:
			return tm(c.ActivatedDate)
		case customer.SortCloseDate:
			return tm(c.CloseDate)
		case customer.SortStatus:
			return string(c.Status), true
		}
		return "", true
	}
	return func(a, b *customer.Customer) int {
		ka, oka := key(a)
		kb, okb := key(b)
		r := 0
		switch {
		case !oka && okb:
			r = -1
		case oka && !okb:
			r = 1
		default:
			r = strings.Compare(ka, kb)
		}
		if r == 0 {
			r = cmp.Compare(a.ID, b.ID)
		}
		if q.Descending {
			r = -r
		}
		return r
	}
}

// checkQuery runs q on the store and compares the page with the reference.
func checkQuery(t *testing.T, f *fixture, all []*customer.Customer, q customer.Query) {
	t.Helper()
	if q.Page == 0 {
		q.Page = 1
	}
	if q.PageSize == 0 {
		q.PageSize = 100
	}
	if q.Sort == "" {
		q.Sort = customer.SortCustomerID
	}
	var want []*customer.Customer
	for _, c := range all {
		if match(c, &q) {
			want = append(want, c)
		}
	}
	slices.SortFunc(want, order(&q))
	hasMore := len(want) > q.Offset()+q.PageSize
	want = want[min(q.Offset(), len(want)):min(q.Offset()+q.PageSize, len(want))]
	page, err := f.s.SearchCustomers(f.ctx, f.acme.ClientID, &q)
	if err != nil {
		t.Fatalf("query %s: %v", describe(&q), err)
	}
	if !slices.Equal(ids(page.Customers), ids(want)) || page.HasMore != hasMore {
		t.Fatalf("query %s:\ngot  %v has_more=%v\nwant %v has_more=%v", describe(&q), ids(page.Customers), page.HasMore, ids(want), hasMore)
	}
	for i, c := range page.Customers {
		same(t, c, want[i])
	}
	// The same page as stored: the same customers, in order, as their documents say.
	stored, err := f.s.SearchStored(f.ctx, f.acme.ClientID, &q)
	if err != nil {
		t.Fatalf("query %s, as stored: %v", describe(&q), err)
	}
	if len(stored.Customers) != len(want) || stored.HasMore != hasMore {
		t.Fatalf("query %s, as stored: %d customers has_more=%v, want %d has_more=%v", describe(&q), len(stored.Customers), stored.HasMore, len(want), hasMore)
	}
	for i, st := range stored.Customers {
		c, err := st.Customer()
		if err != nil {
			t.Fatalf("query %s, as stored, customer %d: %v", describe(&q), st.ID, err)
		}
		if st.ID != want[i].ID || st.ClientID != f.acme.ClientID || st.Version != want[i].Version {
			t.Fatalf("query %s, as stored, record %d: id %d client %d version %d, want %d %d %d", describe(&q), i,
				st.ID, st.ClientID, st.Version, want[i].ID, f.acme.ClientID, want[i].Version)
		}
		same(t, c, want[i])
	}
}

func testSearch(t *testing.T, f *fixture) {
	all := seedSearch(t, f)
	yes, no := true, false
	mid := all[30].CreatedDate
	upd := all[5].UpdatedDate
	act := time.Date(2023, 1, 20, 0, 0, 0, 0, time.UTC)
	var anyAcct []string
	for _, c := range all {
		if c.AccountNumber != nil && *c.AccountNumber != "" && len(anyAcct) < 2 {
			anyAcct = append(anyAcct, *c.AccountNumber)
		}
	}
	queries := []customer.Query{
		{},
		{IDs: []int32{all[3].ID, all[7].ID, all[59].ID + 1000}},
		{AccountNumbers: anyAcct},
		{AccountNumbers: []string{strings.ToLower(anyAcct[0])}},
		{ParentIDs: []int32{all[0].ID, all[1].ID}},
		{AgentIDs: []int32{2}},
		{AgentIDs: []int32{1, 3}, SecondaryAgentIDs: []int32{5}},
		{SoldBy: []int32{1}},
		{CreatedBy: []int32{f.acme.ID}},
		{CreatedBy: []int32{f.other.ID}},
		{BillProfileIDs: []int32{1, 3}},
		{Statuses: []customer.Status{customer.StatusClosed}},
		{Statuses: []customer.Status{customer.StatusOpen, customer.StatusPending}},
		{IsParent: &yes},
		{IsParent: &no, Suspended: &yes},
		{Suspended: &no, Statuses: []customer.Status{customer.StatusProspect}},
		{Created: customer.TimeRange{From: &mid}},
		{Created: customer.TimeRange{To: &mid}},
		{Created: customer.TimeRange{From: &mid, To: &mid}},
		{Updated: customer.TimeRange{From: &upd}},
		{Activated: customer.TimeRange{To: &act}},
		{Activated: customer.TimeRange{From: &act}},
		{Closed: customer.TimeRange{From: &act}},
	}
	for _, q := range queries {
		checkQuery(t, f, all, q)
	}
	// Every sort key, both directions, page by page until one past the end.
	for _, key := range customer.SortKeys {
		for _, desc := range []bool{false, true} {
			for page := 1; page <= 10; page++ {
				q := customer.Query{Sort: key, Descending: desc, Page: page, PageSize: 7}
				checkQuery(t, f, all, q)
			}
			checkQuery(t, f, all, customer.Query{Sort: key, Descending: desc, Statuses: []customer.Status{customer.StatusClosed, customer.StatusOpen}, PageSize: 5, Page: 2})
		}
	}
}

func testSearchText(t *testing.T, f *fixture) {
	all := seedSearch(t, f)
	for _, s := range []string{"acme", "ac", "a", "me c", "ada l", "lovelace", "smith", "100%", "%", "_", "e_w", `"co"`, `"`,
		"ünï", "zoë", "o'b", "'", " ", "globex", "zzz", "ada@", "@acme.com", ".io", "a_b", "com, ada"} {
		checkQuery(t, f, all, customer.Query{Name: customer.Fold(s)})
		checkQuery(t, f, all, customer.Query{Email: customer.Fold(s)})
		checkQuery(t, f, all, customer.Query{Name: customer.Fold(s), Sort: customer.SortAccountNumber, Descending: true, PageSize: 3, Page: 2})
	}
	checkQuery(t, f, all, customer.Query{Name: "acme", Email: "acme", Statuses: []customer.Status{customer.StatusOpen}})
	// Search text follows writes.
	c := all[0]
	old := "acme"
	if c.BillingAddress != nil && c.BillingAddress.CompanyName != "" {
		old = customer.Fold(c.BillingAddress.CompanyName)
	}
	w := c.Writable
	w.BillingAddress = &customer.Address{CompanyName: "Renamed Holdings", FirstName: "Quinn", LastName: "Zed"}
	w.Email = ptr("quinn@renamed.example")
	got, err := f.replace(f.acme, c.ID, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	*all[0] = *got
	for _, s := range []string{"renamed", "quinn z", "quinn@", old, "lovelace"} {
		checkQuery(t, f, all, customer.Query{Name: s})
		checkQuery(t, f, all, customer.Query{Email: s})
	}
}

func ids(cs []*customer.Customer) []int32 {
	out := make([]int32, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func describe(q *customer.Query) string {
	b, _ := json.Marshal(q)
	return string(b)
}
