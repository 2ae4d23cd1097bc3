package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/custd/custd/client"
	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
)

// basic is an Authorization header of HTTP Basic credentials.
func basic(login, pw string) header {
	return header{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(login+":"+pw))}
}

// loggedRequest is a request log record as the API writes it.
type loggedRequest struct {
	RequestID      string   `json:"request_id"`
	CreatedDate    string   `json:"created_date"`
	Method         string   `json:"method"`
	Path           string   `json:"path"`
	Query          string   `json:"query"`
	Status         int      `json:"status"`
	DurationMS     *float64 `json:"duration_ms"`
	Username       string   `json:"username"`
	CustomerID     *int     `json:"customer_id"`
	IdempotencyKey *string  `json:"idempotency_key"`
	Replayed       bool     `json:"replayed"`
	Error          *string  `json:"error"`
}

// stamp writes a time as a request log bound.
func stamp(t time.Time) string { return url.QueryEscape(t.UTC().Format("2006-01-02T15:04:05.000Z")) }

// requestLog reads the request log of who's client, up to and including the requests
// that started by until (so that the reads themselves, which are recorded too, do not
// count), waiting until it holds want records: they are written in the background.
func (a *api) requestLog(who as, query string, until time.Time, want int) []loggedRequest {
	a.t.Helper()
	path := "/v1/RequestLogs?page_size=500&created_date_end=" + stamp(until)
	if query != "" {
		path += "&" + query
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var page struct {
			OK          bool            `json:"ok"`
			HasMore     bool            `json:"has_more"`
			RecordCount int             `json:"record_count"`
			Records     []loggedRequest `json:"records"`
		}
		r := a.do(who, "GET", path, nil).want(a.t, http.StatusOK)
		if err := json.Unmarshal(r.body, &page); err != nil {
			a.t.Fatal(err)
		}
		if len(page.Records) >= want || time.Now().After(deadline) {
			if len(page.Records) != want || page.RecordCount != want {
				a.t.Fatalf("request log %s: %d records, want %d: %s", query, len(page.Records), want, r.body)
			}
			return page.Records
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pause makes the next request start in a later millisecond than the last one.
func pause() { time.Sleep(3 * time.Millisecond) }

func TestRequestLog(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		type sent struct {
			id     string // the response's X-Request-Id
			status int
		}
		var log []sent // acme's requests that the log must hold, oldest first
		do := func(who as, method, path string, body any, status int, headers ...header) *result {
			t.Helper()
			r := a.do(who, method, path, body, headers...).want(t, status)
			log = append(log, sent{r.header.Get("X-Request-Id"), status})
			pause()
			return r
		}
		key := header{"Idempotency-Key", "sync-7f3a9c"}
		r := do(admin, "POST", "/v1/Customers", obj{"account_number": "A-1"}, http.StatusCreated, key) // 0
		var created struct{ ID int }
		json.Unmarshal(r.body, &created)
		id := created.ID
		do(admin, "POST", "/v1/Customers", obj{"account_number": "A-1"}, http.StatusCreated, key)                                // 1: replayed
		do(admin, "GET", fmt.Sprintf("/v1/Customers/%d", id), nil, http.StatusOK)                                                // 2
		do(admin, "PUT", fmt.Sprintf("/v1/Customers/%d", id), obj{"status": "OPEN"}, 412, header{"If-Match", `"1-99"`})          // 3
		do(admin, "GET", "/v1/Customers?search.status=OPEN&page_size=5&api_key=hunter2&123-45-6789", nil, http.StatusBadRequest) // 4
		do(admin, "GET", "/v1/customers/abc", nil, http.StatusBadRequest)                                                        // 5
		mid := time.Now()
		pause()
		do(admin, "GET", "/v1/Nope?x=1", nil, http.StatusNotFound)                                         // 6: credentials not checked
		do(admin, "GET", "/v1/Customers", nil, http.StatusUnauthorized, basic("admin@acme", "wrong one"))  // 7
		do(admin, "GET", "/v1/Customers", nil, http.StatusUnauthorized, basic("Mallory@ACME", "guess123")) // 8
		// Not acme's: another client's, no client, an unknown one, not the API.
		a.do(other, "GET", "/v1/Customers", nil).want(t, http.StatusOK)
		a.do(nobody, "GET", "/v1/Customers", nil).want(t, http.StatusUnauthorized)
		a.do(admin, "GET", "/v1/Customers", nil, basic("x@nowhere", "guess123")).want(t, http.StatusUnauthorized)
		a.do(admin, "GET", "/healthz", nil).want(t, http.StatusOK)
		do(admin, "HEAD", fmt.Sprintf("/v1/Customers/%d", id), nil, http.StatusOK)          // 9
		do(clerk, "DELETE", fmt.Sprintf("/v1/Customers/%d", id), nil, http.StatusForbidden) // 10
		until := time.Now()
		pause()

		got := a.requestLog(admin, "", until, len(log))
		for i, rec := range got {
			want := log[len(log)-1-i]
			if rec.RequestID != want.id || rec.Status != want.status {
				t.Errorf("record %d: request %s status %d, want %s %d", i, rec.RequestID, rec.Status, want.id, want.status)
			}
			if rec.DurationMS == nil || *rec.DurationMS <= 0 {
				t.Errorf("record %d: duration %v", i, rec.DurationMS)
			}
			if i > 0 && rec.CreatedDate > got[i-1].CreatedDate {
				t.Errorf("record %d is newer than the one before", i)
			}
		}
		// Newest first: got[0] is request 10.
		rec := func(n int) loggedRequest { return got[len(got)-1-n] }
		str := func(s *string) string {
			if s == nil {
				return "<null>"
			}
			return *s
		}
		num := func(n *int) string {
			if n == nil {
				return "<null>"
			}
			return fmt.Sprint(*n)
		}
		for _, tc := range []struct {
			n                                                  int
			method, path, query, username, customer, key, fail string
			replayed                                           bool
		}{
			{0, "POST", "/v1/Customers", "", "admin", "<null>", "sync-7f3a9c", "<null>", false},
			{1, "POST", "/v1/Customers", "", "admin", "<null>", "sync-7f3a9c", "<null>", true},
			{2, "GET", fmt.Sprintf("/v1/Customers/%d", id), "", "admin", fmt.Sprint(id), "<null>", "<null>", false},
			{3, "PUT", fmt.Sprintf("/v1/Customers/%d", id), "", "admin", fmt.Sprint(id), "<null>",
				fmt.Sprintf(`If-Match does not match the current version of customer %d (its ETag is "%d-1")`, id, id), false},
			{4, "GET", "/v1/Customers", "search.status=OPEN&page_size=5&api_key=***&***", "admin", "<null>", "<null>", "2 fields are invalid", false},
			{5, "GET", "/v1/customers/abc", "", "admin", "<null>", "<null>", "1 field is invalid", false},
			{6, "GET", "/v1/Nope", "x=***", "admin", "<null>", "<null>", "no such resource: /v1/Nope", false},
			{7, "GET", "/v1/Customers", "", "admin", "<null>", "<null>", "send HTTP Basic credentials username@clientcode:password of an existing user", false},
			{8, "GET", "/v1/Customers", "", "Mallory", "<null>", "<null>", "send HTTP Basic credentials username@clientcode:password of an existing user", false},
			{9, "HEAD", fmt.Sprintf("/v1/Customers/%d", id), "", "admin", fmt.Sprint(id), "<null>", "<null>", false},
			{10, "DELETE", fmt.Sprintf("/v1/Customers/%d", id), "", "clerk", fmt.Sprint(id), "<null>",
				"user clerk@acme has the readonly role, which cannot change customers", false},
		} {
			r := rec(tc.n)
			g := fmt.Sprintf("%s %s %q %s %s %s %q %v", r.Method, r.Path, r.Query, r.Username, num(r.CustomerID), str(r.IdempotencyKey), str(r.Error), r.Replayed)
			w := fmt.Sprintf("%s %s %q %s %s %s %q %v", tc.method, tc.path, tc.query, tc.username, tc.customer, tc.key, tc.fail, tc.replayed)
			if g != w {
				t.Errorf("request %d:\ngot  %s\nwant %s", tc.n, g, w)
			}
		}

		// Every filter, with and without the search. prefix, through the generated client.
		ids := func(rs []loggedRequest) string {
			var out []string
			for _, r := range rs {
				for n, s := range log {
					if s.id == r.RequestID {
						out = append(out, fmt.Sprint(n))
					}
				}
			}
			return strings.Join(out, " ")
		}
		for query, want := range map[string]string{
			"status=4xx":                               "10 8 7 6 5 4 3",
			"status=412&search.status=201":             "3 1 0",
			"method=post":                              "1 0",
			"method=HEAD&method=DELETE":                "10 9",
			"customer_id=" + fmt.Sprint(id):            "10 9 3 2",
			"search.username=ADMIN":                    "9 7 6 5 4 3 2 1 0",
			"username=mallory&status=401":              "8",
			"created_date_start=" + stamp(mid):         "10 9 8 7 6",
			"status=5xx":                               "",
			"created_date_start=2000-01-01&method=GET": "8 7 6 5 4 2",
		} {
			if g := ids(a.requestLog(admin, query, until, len(strings.Fields(want)))); g != want {
				t.Errorf("%s: %q, want %q", query, g, want)
			}
		}
		c := a.client(admin)
		p, err := c.ListRequestLogsWithResponse(context.Background(), &client.ListRequestLogsParams{
			PageSize: ptr(4), Page: ptr(int32(2)), CreatedDateEnd: ptr(until.UTC().Format("2006-01-02T15:04:05.000Z")),
			Status: &client.LogStatus{"2xx", "4XX"},
		})
		if err != nil || p.JSON200 == nil {
			t.Fatalf("typed request log: %v %d %s", err, p.StatusCode(), p.Body)
		}
		var page []string
		for _, r := range p.JSON200.Records {
			page = append(page, r.RequestId)
		}
		if want := []string{log[6].id, log[5].id, log[4].id, log[3].id}; fmt.Sprint(page) != fmt.Sprint(want) || !p.JSON200.HasMore {
			t.Errorf("page 2 of 4: %v has_more=%v, want %v", page, p.JSON200.HasMore, want)
		}

		// Each client sees its own requests only; only admins see them.
		if o := a.requestLog(other, "", until, 1); o[0].Username != "admin" || o[0].Path != "/v1/Customers" {
			t.Errorf("other's log: %+v", o)
		}
		a.do(admin, "GET", "/V1/requestlogs?page_size=1", nil).want(t, http.StatusOK)
		a.do(clerk, "GET", "/v1/RequestLogs", nil).want(t, http.StatusForbidden)
		a.do(nobody, "GET", "/v1/RequestLogs", nil).want(t, http.StatusUnauthorized)

		for query, field := range map[string]string{
			"status=6xx":                            "status",
			"status=99":                             "status",
			"status=abc":                            "status",
			"method=G3T":                            "method",
			"customer_id=0":                         "customer_id",
			"username=a%0Ab":                        "username",
			"created_date_start=yesterday":          "created_date_start",
			"created_date_end=1&created_date_end=2": "created_date_end",
			"page=0":                                "page",
			"page_size=0":                           "page_size",
			"sort=status":                           "sort",
			"search.nope=1":                         "search.nope",
		} {
			r := a.do(admin, "GET", "/v1/RequestLogs?"+query, nil).want(t, http.StatusBadRequest)
			if _, ok := r.fieldErrors(t)[field]; !ok {
				t.Errorf("%s: error does not name %s: %s", query, field, r.body)
			}
		}
	})
}

// TestRequestLogOff: a server told to keep no request log records nothing and says so.
func TestRequestLogOff(t *testing.T) {
	s := storeKinds[0].open(t)
	a := newAPI(t, s, httpapi.Config{NoRequestLog: true})
	a.do(admin, "GET", "/v1/Customers", nil).want(t, http.StatusOK)
	r := a.do(admin, "GET", "/v1/RequestLogs", nil).want(t, http.StatusNotFound)
	if !strings.Contains(string(r.body), "request log is off") {
		t.Fatalf("404 body %s", r.body)
	}
	u, err := s.UserByLogin(context.Background(), "acme", "admin")
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.RequestLog(context.Background(), u.ClientID, &customer.RequestLogQuery{Page: 1, PageSize: 10})
	if err != nil || len(page.Requests) != 0 {
		t.Fatalf("records with the log off: %v %+v", err, page)
	}
}

// TestRequestLogRetention: the server's purge deletes the records older than it keeps
// and leaves the others.
func TestRequestLogRetention(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		old := &customer.LoggedRequest{ClientCode: "acme", RequestID: "old", Created: time.Now().AddDate(0, 0, -31),
			Method: "GET", Path: "/v1/Customers", Status: 200, Username: "admin"}
		if err := a.store.RecordRequests(context.Background(), []*customer.LoggedRequest{old}); err != nil {
			t.Fatal(err)
		}
		u, err := a.store.UserByLogin(context.Background(), "acme", "admin")
		if err != nil {
			t.Fatal(err)
		}
		a.do(admin, "GET", "/v1/Customers", nil).want(t, http.StatusOK)
		until := time.Now()
		pause()
		if got := a.requestLog(admin, "", until, 2); got[1].RequestID != "old" {
			t.Fatalf("before the purge: %+v", got)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			httpapi.PurgeRequestLog(ctx, a.store, slog.New(slog.DiscardHandler), 30*24*time.Hour, time.Hour)
			close(done)
		}()
		// The purge runs at once, then every interval: wait for its first run.
		deadline := time.Now().Add(10 * time.Second)
		for {
			page, err := a.store.RequestLog(context.Background(), u.ClientID, &customer.RequestLogQuery{Page: 1, PageSize: 10, Created: customer.TimeRange{To: &until}})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Requests) == 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		if got := a.requestLog(admin, "", until, 1); got[0].RequestID == "old" {
			t.Fatalf("after the purge: %+v", got)
		}
	})
}

// readAll returns the body of a response.
func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
