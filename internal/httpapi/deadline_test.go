package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/custd/custd/internal/httpapi"
	"github.com/custd/custd/internal/postgres"
	"github.com/custd/custd/internal/postgres/pgtest"
)

// deadlineSlack is how much later than its deadline a 503 may come on a loaded machine;
// without a deadline the requests would wait for as long as the store does.
const deadlineSlack = 2 * time.Second

// call is one request of a deadline test.
type call struct {
	who          as
	method, path string
	body         any
}

// callAll sends the calls at once and returns their results and how long each took.
func callAll(a *api, calls []call) ([]*result, []time.Duration) {
	results := make([]*result, len(calls))
	took := make([]time.Duration, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			results[i] = a.do(c.who, c.method, c.path, c.body)
			took[i] = time.Since(start)
		}()
	}
	wg.Wait()
	return results, took
}

// TestFrozenPostgres: when the PostgreSQL server stops answering, without closing its
// connections (a process stopped with SIGSTOP, a network that drops every packet), every
// request is answered 503 once the store deadline passes, /readyz once its shorter probe
// deadline passes, and all succeed again as soon as the server answers. The server is
// frozen by a proxy between custd and PostgreSQL that stops forwarding bytes, so that the
// PostgreSQL server others use keeps running.
func TestFrozenPostgres(t *testing.T) {
	proxy := pgtest.NewProxy(t, pgtest.NewDatabase(t))
	s, err := postgres.Open(context.Background(), proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	const deadline = 500 * time.Millisecond
	a := newAPI(t, s, httpapi.Config{StoreTimeout: deadline})
	id := a.create(admin, fullBody())
	path := fmt.Sprintf("/v1/Customers/%d", id)
	calls := []call{
		{admin, "GET", path, nil},
		{admin, "GET", "/v1/Customers?page_size=5", nil},
		{admin, "PUT", path, obj{"status": "OPEN", "source": "frozen"}},
		{admin, "PATCH", path, []obj{{"op": "replace", "path": "/source", "value": "frozen"}}},
		{admin, "POST", "/v1/Customers", obj{"source": "frozen"}},
		{admin, "DELETE", path, nil},
		{clerk, "GET", path, nil}, // a login not verified yet: reading the user waits too
		{nobody, "GET", "/readyz", nil},
	}
	a.do(admin, "GET", path, nil).want(t, http.StatusOK)

	proxy.Freeze()
	defer proxy.Thaw()
	results, took := callAll(a, calls)
	for i, c := range calls {
		r := results[i]
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Errorf("%s %s with the server frozen: %d (Retry-After %q) %s", c.method, c.path, r.status, r.header.Get("Retry-After"), r.body)
		}
		if took[i] > deadline+deadlineSlack {
			t.Errorf("%s %s with the server frozen: answered after %v, the deadline is %v", c.method, c.path, took[i], deadline)
		}
	}
	t.Logf("answers with the server frozen took %v", took)

	proxy.Thaw()
	results, _ = callAll(a, calls[:len(calls)-2]) // without DELETE, which would close the customer for the others
	for i, c := range calls[:len(calls)-2] {
		if r := results[i]; r.status >= 300 {
			t.Errorf("%s %s after the server answers again: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	a.do(clerk, "GET", path, nil).want(t, http.StatusOK)
	a.do(nobody, "GET", "/readyz", nil).want(t, http.StatusOK)
}

// TestWriteDeadline: a write that cannot begin because another transaction holds what it
// needs (SQLite's write lock, the customer's row on PostgreSQL) is answered 503 when the
// store deadline passes, leaves nothing behind, and reads go on meanwhile.
func TestWriteDeadline(t *testing.T) {
	for _, kind := range heldStores {
		t.Run(kind.name, func(t *testing.T) {
			s, hold := kind.open(t)
			const deadline = 500 * time.Millisecond
			a := newAPI(t, s, httpapi.Config{StoreTimeout: deadline})
			id := a.create(admin, fullBody())
			path := fmt.Sprintf("/v1/Customers/%d", id)
			etag := a.do(admin, "GET", path, nil).header.Get("ETag")

			release := hold(t, id)
			calls := []call{
				{admin, "PUT", path, obj{"status": "OPEN", "source": "held"}},
				{admin, "PATCH", path, []obj{{"op": "replace", "path": "/source", "value": "held"}}},
				{admin, "DELETE", path, nil},
			}
			results, took := callAll(a, calls)
			for i, c := range calls {
				if r := results[i]; r.status != http.StatusServiceUnavailable {
					t.Errorf("%s with the write held: %d %s", c.method, r.status, r.body)
				}
				if took[i] > deadline+deadlineSlack {
					t.Errorf("%s with the write held: answered after %v, the deadline is %v", c.method, took[i], deadline)
				}
			}
			a.do(admin, "GET", path, nil).want(t, http.StatusOK)
			a.do(nobody, "GET", "/readyz", nil).want(t, http.StatusOK)
			release()

			if got := a.do(admin, "GET", path, nil).header.Get("ETag"); got != etag {
				t.Fatalf("writes answered 503 changed the customer: ETag %s, was %s", got, etag)
			}
			a.do(admin, "PUT", path, obj{"status": "OPEN", "source": "after"}).want(t, http.StatusOK)
		})
	}
}
