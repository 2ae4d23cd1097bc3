package console_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/custd/custd/internal/console"
	"github.com/custd/custd/internal/postgres"
	"github.com/custd/custd/internal/postgres/pgtest"
)

// TestFrozenPostgres: with the database server frozen, a console page is answered 503
// when the store deadline passes instead of hanging, and pages work again afterwards.
func TestFrozenPostgres(t *testing.T) {
	proxy := pgtest.NewProxy(t, pgtest.NewDatabase(t))
	store, err := postgres.Open(context.Background(), proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	const deadline = 500 * time.Millisecond
	s := newSite(t, store, func(c *console.Config) { c.StoreTimeout = deadline })
	b := s.signedIn("admin@acme")
	b.get("/console/customers").want(t, http.StatusOK)

	proxy.Freeze()
	defer proxy.Thaw()
	start := time.Now()
	b.get("/console/customers").want(t, http.StatusServiceUnavailable)
	if took := time.Since(start); took > deadline+2*time.Second {
		t.Fatalf("answered after %v with the server frozen; the deadline is %v", took, deadline)
	}
	proxy.Thaw()
	b.get("/console/customers").want(t, http.StatusOK)
}
