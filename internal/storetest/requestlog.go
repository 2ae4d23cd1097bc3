package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

// logged is a request log record of client u, created at minute min of a fixed day.
func logged(u *customer.User, min int, method string, status int) *customer.LoggedRequest {
	return &customer.LoggedRequest{
		ClientID:  u.ClientID,
		RequestID: fmt.Sprintf("req-%s-%d", u.ClientCode, min),
		Created:   logDay.Add(time.Duration(min) * time.Minute),
		Method:    method,
		Path:      "/v1/Customers",
		Status:    status,
		Duration:  1500 * time.Microsecond,
		Username:  u.Username,
	}
}

var logDay = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// requestIDs lists the request ids of a page, in its order.
func requestIDs(p *customer.RequestLogPage) string {
	var out []string
	for _, r := range p.Requests {
		out = append(out, r.RequestID)
	}
	return strings.Join(out, " ")
}

func (f *fixture) record(rs ...*customer.LoggedRequest) {
	f.t.Helper()
	for _, r := range rs {
		r.Clean()
	}
	if err := f.s.RecordRequests(f.ctx, rs); err != nil {
		f.t.Fatalf("RecordRequests: %v", err)
	}
}

func (f *fixture) requestLog(u *customer.User, q customer.RequestLogQuery) *customer.RequestLogPage {
	f.t.Helper()
	if q.Page == 0 {
		q.Page = 1
	}
	if q.PageSize == 0 {
		q.PageSize = customer.MaxPageSize
	}
	p, err := f.s.RequestLog(f.ctx, u.ClientID, &q)
	if err != nil {
		f.t.Fatalf("RequestLog(%+v): %v", q, err)
	}
	return p
}

// testRequestLogRecords: every member of a record comes back as stored, records are read
// newest first, and each client sees only its own, including the records of requests that
// failed to authenticate, filed under the client they named.
func testRequestLogRecords(t *testing.T, f *fixture) {
	full := &customer.LoggedRequest{
		ClientID:       f.acme.ClientID,
		RequestID:      "req-full",
		Created:        logDay.Add(90 * time.Minute),
		Method:         "PUT",
		Path:           "/v1/Customers/42",
		Query:          "a=%C3%A9&b=***",
		Status:         412,
		Duration:       12345 * time.Microsecond,
		Username:       "Alice",
		CustomerID:     42,
		IdempotencyKey: "sync-7f3a9c",
		Replayed:       true,
		Error:          `If-Match does not match the current version of customer 42 (its ETag is "42-3")`,
	}
	failed := &customer.LoggedRequest{ClientCode: "ACME", RequestID: "req-failed", Created: logDay.Add(80 * time.Minute),
		Method: "GET", Path: "/v1/Customers", Status: 401, Duration: time.Millisecond, Username: "mallory", Error: "bad credentials"}
	nowhere := &customer.LoggedRequest{ClientCode: "no-such-client", RequestID: "req-nowhere", Created: logDay,
		Method: "GET", Path: "/v1/Customers", Status: 401, Username: "x"}
	// Two records of one millisecond are read in the reverse of the order they were
	// stored in, in separate batches as in one.
	tie1, tie2, tie3 := logged(f.acme, 10, "GET", 200), logged(f.acme, 10, "GET", 200), logged(f.acme, 10, "GET", 200)
	tie1.RequestID, tie2.RequestID, tie3.RequestID = "tie-1", "tie-2", "tie-3"
	f.record(logged(f.acme, 1, "GET", 200), full, failed, nowhere, logged(f.other, 5, "POST", 201), tie1, tie2)
	f.record(tie3)

	got := f.requestLog(f.acme, customer.RequestLogQuery{})
	if want := "req-full req-failed tie-3 tie-2 tie-1 req-acme-1"; requestIDs(got) != want || got.HasMore {
		t.Fatalf("acme's log: %q has_more=%v, want %q", requestIDs(got), got.HasMore, want)
	}
	sameRecord(t, got.Requests[0], full)
	want := *failed
	want.ClientID, want.ClientCode = f.acme.ClientID, ""
	sameRecord(t, got.Requests[1], &want)
	if r := got.Requests[2]; r.CustomerID != 0 || r.IdempotencyKey != "" || r.Error != "" || r.Replayed || r.Query != "" {
		t.Fatalf("empty members: %+v", *r)
	}
	if got := f.requestLog(f.other, customer.RequestLogQuery{}); requestIDs(got) != "req-other-5" {
		t.Fatalf("other's log: %q", requestIDs(got))
	}

	// Text is stored as Clean leaves it, whatever was sent.
	odd := logged(f.acme, 100, "GET", 400)
	odd.RequestID = "odd"
	odd.Username = "bad\x00name\xff"
	odd.Path = "/v1/" + strings.Repeat("é", 2000)
	f.record(odd)
	r := f.requestLog(f.acme, customer.RequestLogQuery{PageSize: 1}).Requests[0]
	if r.Username != "bad\ufffdname\ufffd" || len([]rune(r.Path)) != 1000 {
		t.Fatalf("cleaned text: username %q, path of %d characters", r.Username, len([]rune(r.Path)))
	}
}

func between(from, to int) customer.StatusRange { return customer.StatusRange{From: from, To: to} }

// sameRecord fails the test unless got and want hold the same values.
func sameRecord(t *testing.T, got, want *customer.LoggedRequest) {
	t.Helper()
	g, w := *got, *want
	if !g.Created.Equal(w.Created) {
		t.Fatalf("record %s: created %v, want %v", w.RequestID, g.Created, w.Created)
	}
	g.Created, w.Created = time.Time{}, time.Time{}
	if g != w {
		t.Fatalf("stored and read differ:\ngot  %+v\nwant %+v", g, w)
	}
}

// testRequestLogFilters: every filter, alone and together, and paging.
func testRequestLogFilters(t *testing.T, f *fixture) {
	carol := &customer.User{ClientID: f.acme.ClientID, ClientCode: "acme", Username: "Carol"}
	var rs []*customer.LoggedRequest
	for i := range 12 {
		r := logged(f.acme, i, []string{"GET", "PUT", "POST"}[i%3], []int{200, 404, 201, 500, 409, 503}[i%6])
		if i%4 == 0 {
			r.Username = carol.Username
		}
		if i%2 == 1 {
			r.CustomerID = int32(100 + i%3)
		}
		rs = append(rs, r)
	}
	f.record(rs...)
	// The other client's records match every filter too, and are never returned.
	o := logged(f.other, 3, "PUT", 404)
	o.Username, o.CustomerID = "carol", 101
	f.record(o)

	at := func(min int) *time.Time { t := logDay.Add(time.Duration(min) * time.Minute); return &t }
	for _, tc := range []struct {
		name string
		q    customer.RequestLogQuery
		want string
	}{
		{"all", customer.RequestLogQuery{}, "11 10 9 8 7 6 5 4 3 2 1 0"},
		{"one status", customer.RequestLogQuery{Statuses: []customer.StatusRange{between(404, 404)}}, "7 1"},
		{"5xx", customer.RequestLogQuery{Statuses: []customer.StatusRange{between(500, 599)}}, "11 9 5 3"},
		{"4xx or 201", customer.RequestLogQuery{Statuses: []customer.StatusRange{between(400, 499), between(201, 201)}}, "10 8 7 4 2 1"},
		{"method", customer.RequestLogQuery{Methods: []string{"PUT"}}, "10 7 4 1"},
		{"methods", customer.RequestLogQuery{Methods: []string{"PUT", "POST"}}, "11 10 8 7 5 4 2 1"},
		{"customer", customer.RequestLogQuery{CustomerIDs: []int32{101}}, "7 1"},
		{"customers", customer.RequestLogQuery{CustomerIDs: []int32{101, 102}}, "11 7 5 1"},
		{"username", customer.RequestLogQuery{Usernames: []string{"carol"}}, "8 4 0"},
		{"usernames", customer.RequestLogQuery{Usernames: []string{"carol", "alice"}}, "11 10 9 8 7 6 5 4 3 2 1 0"},
		{"from", customer.RequestLogQuery{Created: customer.TimeRange{From: at(9)}}, "11 10 9"},
		{"to", customer.RequestLogQuery{Created: customer.TimeRange{To: at(2)}}, "2 1 0"},
		{"between", customer.RequestLogQuery{Created: customer.TimeRange{From: at(3), To: at(5)}}, "5 4 3"},
		{"all together", customer.RequestLogQuery{Statuses: []customer.StatusRange{between(500, 599)}, Methods: []string{"GET"},
			CustomerIDs: []int32{100}, Usernames: []string{"alice"}, Created: customer.TimeRange{From: at(1), To: at(10)}}, "9 3"},
		{"nothing", customer.RequestLogQuery{Methods: []string{"DELETE"}}, ""},
		{"page 1", customer.RequestLogQuery{PageSize: 5}, "11 10 9 8 7"},
		{"page 3", customer.RequestLogQuery{PageSize: 5, Page: 3}, "1 0"},
		{"page 4", customer.RequestLogQuery{PageSize: 5, Page: 4}, ""},
	} {
		got := f.requestLog(f.acme, tc.q)
		var mins []string
		for _, r := range got.Requests {
			mins = append(mins, strings.TrimPrefix(r.RequestID, "req-acme-"))
		}
		if g := strings.Join(mins, " "); g != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, g, tc.want)
		}
		wantMore := tc.name == "page 1"
		if got.HasMore != wantMore {
			t.Errorf("%s: has_more %v", tc.name, got.HasMore)
		}
	}
}

// testRequestLogPurge: the purge deletes every client's records created before the
// cut-off, however many, and keeps the later ones.
func testRequestLogPurge(t *testing.T, f *fixture) {
	const old = 5050 // more than one step of a purge
	rs := make([]*customer.LoggedRequest, 0, old)
	for i := range old {
		r := logged(f.acme, 0, "GET", 200)
		r.Created = r.Created.Add(time.Duration(i) * time.Millisecond)
		rs = append(rs, r)
	}
	f.record(rs...)
	f.record(logged(f.other, 1, "GET", 200), logged(f.acme, 60, "GET", 200), logged(f.other, 61, "GET", 200))

	cut := logDay.Add(30 * time.Minute)
	n, err := f.s.PurgeRequestLog(f.ctx, cut)
	if err != nil || n != old+1 {
		t.Fatalf("purge: %d %v, want %d", n, err, old+1)
	}
	if got := f.requestLog(f.acme, customer.RequestLogQuery{}); requestIDs(got) != "req-acme-60" {
		t.Fatalf("acme after the purge: %q", requestIDs(got))
	}
	if got := f.requestLog(f.other, customer.RequestLogQuery{}); requestIDs(got) != "req-other-61" {
		t.Fatalf("other after the purge: %q", requestIDs(got))
	}
	if n, err := f.s.PurgeRequestLog(f.ctx, cut); n != 0 || err != nil {
		t.Fatalf("second purge: %d %v", n, err)
	}
}

// testRequestLogPurgeByCustomer: records purged are no longer found by customer, those
// kept are, and so are those stored after a purge that deleted every record.
func testRequestLogPurgeByCustomer(t *testing.T, f *fixture) {
	byCustomer := func(id int32) string {
		t.Helper()
		return requestIDs(f.requestLog(f.acme, customer.RequestLogQuery{CustomerIDs: []int32{id}}))
	}
	var rs []*customer.LoggedRequest
	for i := range 6 {
		r := logged(f.acme, i, "GET", 200)
		r.CustomerID = int32(7 + i%2)
		rs = append(rs, r)
	}
	f.record(rs...)
	if got := byCustomer(7); got != "req-acme-4 req-acme-2 req-acme-0" {
		t.Fatalf("customer 7 before the purge: %q", got)
	}
	if _, err := f.s.PurgeRequestLog(f.ctx, logDay.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := byCustomer(7); got != "req-acme-4" {
		t.Fatalf("customer 7 after purging the first three minutes: %q", got)
	}
	if _, err := f.s.PurgeRequestLog(f.ctx, logDay.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := requestIDs(f.requestLog(f.acme, customer.RequestLogQuery{})); got != "" {
		t.Fatalf("after purging every record: %q", got)
	}
	later := logged(f.acme, 90, "PUT", 200)
	later.CustomerID = 8
	f.record(later)
	if got := byCustomer(8); got != "req-acme-90" {
		t.Fatalf("customer 8, stored after a purge of every record: %q", got)
	}
	if got := byCustomer(7); got != "" {
		t.Fatalf("customer 7, all purged: %q", got)
	}
}
