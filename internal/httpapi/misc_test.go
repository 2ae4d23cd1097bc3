package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/custd/custd/client"
	"github.com/custd/custd/internal/httpapi"
)

func TestSearchParameters(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		var ids []int
		for i := range 12 {
			status := []string{"OPEN", "PENDING", "CLOSED"}[i%3]
			ids = append(ids, a.create(admin, obj{"status": status, "account_number": fmt.Sprintf("N-%02d", i),
				"email": fmt.Sprintf("user%d@Example.com", i), "agent_id": 1 + i%2,
				"billing_address": obj{"first_name": "Pat", "last_name": fmt.Sprintf("Lee%d", i), "company_name": fmt.Sprintf("Firm %d", i)}}))
		}
		search := func(query string) (map[string]any, []int) {
			t.Helper()
			page := a.do(admin, "GET", "/v1/Customers?"+query, nil).want(t, http.StatusOK).json(t)
			var got []int
			for _, r := range page["records"].([]any) {
				rec := r.(map[string]any)
				if _, has := rec["ok"]; has {
					t.Fatal("records carry ok")
				}
				got = append(got, int(rec["customer_id"].(float64)))
			}
			if page["ok"] != true || page["record_count"] != float64(len(got)) {
				t.Fatalf("envelope of %s: %v", query, page)
			}
			return page, got
		}
		eq := func(query string, want []int, hasMore bool) {
			t.Helper()
			page, got := search(query)
			if fmt.Sprint(got) != fmt.Sprint(want) || page["has_more"] != hasMore {
				t.Errorf("%s: got %v has_more=%v, want %v has_more=%v", query, got, page["has_more"], want, hasMore)
			}
		}
		eq("", ids[:10], true)
		eq("page=2", ids[10:], false)
		eq("page=3", nil, false)
		eq("page_size=1000", ids, false) // served as 500
		eq("page_size=5&page=2", ids[5:10], true)
		eq("search.status=closed", []int{ids[2], ids[5], ids[8], ids[11]}, false)
		eq("status=CLOSED&status=pending", []int{ids[1], ids[2], ids[4], ids[5], ids[7], ids[8], ids[10], ids[11]}, false)
		eq("status=ALL&page_size=20", ids, false)
		eq("search.customer_id="+fmt.Sprint(ids[3])+"&customer_id="+fmt.Sprint(ids[4]), ids[3:5], false)
		eq("account_number=N-07", ids[7:8], false)
		eq("search.email=USER1", []int{ids[1], ids[10], ids[11]}, false)
		eq("name=lee1", []int{ids[1], ids[10], ids[11]}, false)
		eq("name=pat+lee2", ids[2:3], false)
		eq("name=FIRM+3", ids[3:4], false)
		eq("agent_id=2&status=OPEN", []int{ids[3], ids[9]}, false)
		eq("sort=-customer_id&page_size=3", []int{ids[11], ids[10], ids[9]}, true)
		eq("sort=-account_number&page_size=2&page=2", []int{ids[9], ids[8]}, true)
		eq("is_parent=false&suspended=FALSE&page_size=1", ids[:1], true)
		eq("is_parent=true", nil, false)
		eq("created_by=999", nil, false)
		eq("email=&name=", ids[:10], true) // empty values are ignored
		eq("created_date_end=2000-01-01", nil, false)
		eq("created_date_start=2000-01-01&page_size=20", ids, false)
		eq("updated_date_start="+url.QueryEscape("2000-01-01 00:00:00+00:00")+"&page_size=20", ids, false)

		// Typed parameters of the client generated from the OpenAPI document.
		c := a.client(admin)
		typed := func(p client.SearchCustomersParams, want []int, hasMore bool) {
			t.Helper()
			r, err := c.SearchCustomersWithResponse(context.Background(), &p)
			if err != nil || r.JSON200 == nil {
				t.Fatalf("search %+v: %v %d %s", p, err, r.StatusCode(), r.Body)
			}
			var got []int
			for _, rec := range r.JSON200.Records {
				got = append(got, int(rec.CustomerId))
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || r.JSON200.HasMore != hasMore || int(r.JSON200.RecordCount) != len(got) {
				t.Errorf("search %+v: got %v has_more=%v, want %v has_more=%v", p, got, r.JSON200.HasMore, want, hasMore)
			}
		}
		typed(client.SearchCustomersParams{}, ids[:10], true)
		typed(client.SearchCustomersParams{Status: &client.SearchStatus{"CLOSED", "pending"}}, []int{ids[1], ids[2], ids[4], ids[5], ids[7], ids[8], ids[10], ids[11]}, false)
		typed(client.SearchCustomersParams{SearchStatus: &client.PrefixedStatus{"closed"}}, []int{ids[2], ids[5], ids[8], ids[11]}, false)
		typed(client.SearchCustomersParams{PageSize: ptr(5), Page: ptr(int32(2))}, ids[5:10], true)
		typed(client.SearchCustomersParams{Sort: ptr(client.SearchCustomersParamsSortMinusCustomerId), PageSize: ptr(3)}, []int{ids[11], ids[10], ids[9]}, true)
		typed(client.SearchCustomersParams{Name: ptr("pat lee2")}, ids[2:3], false)
		typed(client.SearchCustomersParams{AgentId: &client.SearchAgentId{2}, Status: &client.SearchStatus{"OPEN"}}, []int{ids[3], ids[9]}, false)
		typed(client.SearchCustomersParams{IsParent: ptr(false), Suspended: ptr(false), PageSize: ptr(1)}, ids[:1], true)
		typed(client.SearchCustomersParams{CreatedDateStart: ptr("2000-01-01"), PageSize: ptr(1000)}, ids, false)
		bad, err := c.SearchCustomersWithResponse(context.Background(), &client.SearchCustomersParams{PageSize: ptr(0)})
		if err != nil || bad.JSON400 == nil || bad.JSON400.Errors == nil || fieldError(*bad.JSON400.Errors, "page_size") == "" {
			t.Fatalf("page_size=0: %v %d %s", err, bad.StatusCode(), bad.Body)
		}

		for query, field := range map[string]string{
			"colour=red":                 "colour",
			"search.foo=1":               "search.foo",
			"page_size=0":                "page_size",
			"page_size=-3":               "page_size",
			"page_size=ten":              "page_size",
			"page=0":                     "page",
			"sort=name":                  "sort",
			"status=ACTIVE":              "status",
			"customer_id=abc":            "customer_id",
			"is_parent=yes":              "is_parent",
			"created_date_start=monday":  "created_date_start",
			"name=a&search.name=b":       "name",
			"activated_date_end=2024-99": "activated_date_end",
			"name=a%0Ab":                 "name",
			"search.email=%FF":           "email",
		} {
			r := a.do(admin, "GET", "/v1/Customers?"+query, nil).want(t, http.StatusBadRequest)
			if _, ok := r.fieldErrors(t)[field]; !ok {
				t.Errorf("%s: error does not name %s: %s", query, field, r.body)
			}
		}
	})
}

func TestAuthentication(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		for name, set := range map[string]func(*http.Request){
			"no credentials":    func(*http.Request) {},
			"wrong password":    func(r *http.Request) { r.SetBasicAuth("admin@acme", "wrong password!") },
			"unknown user":      func(r *http.Request) { r.SetBasicAuth("ghost@acme", password) },
			"unknown client":    func(r *http.Request) { r.SetBasicAuth("admin@nowhere", password) },
			"no client code":    func(r *http.Request) { r.SetBasicAuth("admin", password) },
			"bearer token":      func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") },
			"malformed basic":   func(r *http.Request) { r.Header.Set("Authorization", "Basic !!!") },
			"right, then wrong": func(r *http.Request) { r.SetBasicAuth("admin@acme", password+"x") },
		} {
			req, _ := http.NewRequest("GET", a.url+"/v1/Customers", nil)
			set(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Basic realm="custd"`) {
				t.Errorf("%s: %d %q", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
		// Login names match ignoring case; the subscription key header is ignored.
		req, _ := http.NewRequest("GET", a.url+"/v1/customers", nil)
		req.SetBasicAuth("ADMIN@Acme", password)
		req.Header.Set("Ocp-Apim-Subscription-Key", "whatever")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("case-insensitive login: %d", resp.StatusCode)
		}
	})
}

func TestRoutingAndFormats(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		id := a.create(admin, obj{})
		// Resource segments match ignoring case.
		for _, p := range []string{"/v1/customers/%d", "/V1/CUSTOMERS/%d", "/v1/Customers/%d"} {
			a.do(admin, "GET", fmt.Sprintf(p, id), nil).want(t, http.StatusOK)
		}
		a.do(admin, "GET", "/v1/customers?page_size=1", nil).want(t, http.StatusOK)
		r := a.do(admin, "POST", fmt.Sprintf("/v1/Customers/%d", id), obj{}).want(t, http.StatusMethodNotAllowed)
		if r.header.Get("Allow") != "GET, HEAD, PUT, PATCH, DELETE" {
			t.Fatalf("Allow %q", r.header.Get("Allow"))
		}
		r = a.do(admin, "DELETE", "/v1/Customers", nil).want(t, http.StatusMethodNotAllowed)
		if r.header.Get("Allow") != "POST, GET, HEAD" {
			t.Fatalf("Allow %q", r.header.Get("Allow"))
		}
		a.do(admin, "GET", "/v2/Customers", nil).want(t, http.StatusNotFound)
		a.do(nobody, "GET", "/v2/Customers", nil).want(t, http.StatusNotFound)
		// Under /v1/ the credentials are checked first, even for a path or method that does
		// not exist: without valid ones nothing is told about what exists there.
		for _, c := range []struct{ method, path string }{
			{"GET", "/v1/Accounts"}, {"GET", "/V1/accounts/7"}, {"GET", "/v1"}, {"GET", fmt.Sprintf("/v1/Customers/%d/notes", id)},
			{"POST", fmt.Sprintf("/v1/Customers/%d", id)}, {"DELETE", "/v1/customers"},
		} {
			r := a.do(nobody, c.method, c.path, nil).want(t, http.StatusUnauthorized)
			if r.header.Get("WWW-Authenticate") == "" || r.header.Get("Allow") != "" {
				t.Errorf("%s %s without credentials: WWW-Authenticate %q, Allow %q", c.method, c.path, r.header.Get("WWW-Authenticate"), r.header.Get("Allow"))
			}
			a.do(wrong, c.method, c.path, nil).want(t, http.StatusUnauthorized)
			want := http.StatusNotFound
			if c.method != "GET" {
				want = http.StatusMethodNotAllowed
			}
			a.do(admin, c.method, c.path, nil).want(t, want)
		}
		a.do(admin, "GET", "/v1/Customers/0", nil).want(t, http.StatusBadRequest)
		a.do(admin, "GET", "/v1/Customers/2147483648", nil).want(t, http.StatusBadRequest)
		a.do(admin, "GET", "/v1/Customers/999999", nil).want(t, http.StatusNotFound)
		a.do(admin, "HEAD", fmt.Sprintf("/v1/Customers/%d", id), nil).want(t, http.StatusOK)

		// text/json when the request prefers it.
		for accept, want := range map[string]string{
			"":                                  "application/json; charset=utf-8",
			"text/json":                         "text/json; charset=utf-8",
			"application/json, text/json;q=0.5": "application/json; charset=utf-8",
			"text/json, application/json;q=0.9": "text/json; charset=utf-8",
			"text/*":                            "text/json; charset=utf-8",
			"*/*":                               "application/json; charset=utf-8",
		} {
			r := a.do(admin, "GET", fmt.Sprintf("/v1/Customers/%d", id), nil, header{"Accept", accept})
			if got := r.header.Get("Content-Type"); got != want {
				t.Errorf("Accept %q: Content-Type %q, want %q", accept, got, want)
			}
			a.do(admin, "GET", "/v1/Customers/999999", nil, header{"Accept", accept}) // errors too (checked by do)
		}
		// X-Request-Id: a caller's well-formed id is kept, any other is replaced.
		if got := a.do(admin, "GET", "/healthz", nil, header{"X-Request-Id", "trace-123"}).header.Get("X-Request-Id"); got != "trace-123" {
			t.Fatalf("kept request id %q", got)
		}
		if got := a.do(admin, "GET", "/healthz", nil, header{"X-Request-Id", "bad id with spaces"}).header.Get("X-Request-Id"); got == "" || strings.Contains(got, " ") {
			t.Fatalf("replaced request id %q", got)
		}
		// Health needs no credentials.
		a.do(nobody, "GET", "/healthz", nil).want(t, http.StatusOK)
		a.do(nobody, "GET", "/readyz", nil).want(t, http.StatusOK)
	})
}

func TestReadyzWithoutStore(t *testing.T) {
	s := storeKinds[0].open(t)
	a := newAPI(t, s, httpapi.Config{})
	a.do(nobody, "GET", "/readyz", nil).want(t, http.StatusOK)
	s.Close()
	r := a.do(nobody, "GET", "/readyz", nil).want(t, http.StatusServiceUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	// A request that needs the store is a 503 too, never a 500.
	r = a.do(admin, "GET", "/v1/Customers", nil)
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("request on a closed store: %d %s", r.status, r.body)
	}
	var e map[string]any
	json.Unmarshal(r.body, &e)
	if strings.Contains(fmt.Sprint(e["message"]), "sql") {
		t.Fatalf("503 leaks internals: %s", r.body)
	}
}

func TestRateLimit(t *testing.T) {
	a := newAPI(t, storeKinds[0].open(t), httpapi.Config{RateLimit: 2}) // bursts of 4
	statuses := map[int]int{}
	var limited *result
	for range 12 {
		r := a.do(admin, "GET", "/v1/Customers", nil)
		statuses[r.status]++
		if r.status == http.StatusTooManyRequests {
			limited = r
		}
	}
	if limited == nil || statuses[http.StatusOK] < 4 || statuses[http.StatusOK] > 6 {
		t.Fatalf("12 requests at once with a limit of 2/s (bursts of 4): %v", statuses)
	}
	if limited.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// The limit is per user: another user is not held back.
	a.do(other, "GET", "/v1/Customers", nil).want(t, http.StatusOK)
}
