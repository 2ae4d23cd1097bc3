package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/custd/custd/internal/console"
	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/postgres"
	"github.com/custd/custd/internal/postgres/pgtest"
	"github.com/custd/custd/internal/sqlite"
	"github.com/custd/custd/internal/storetest"
)

// BenchmarkPages renders the customer list and search pages over a SQLite store of
// storetest.BenchCustomers() customers (CUSTD_BENCH_CUSTOMERS), seeded once and kept in
// the temporary folder: each request goes through the whole console, the session read,
// the store's search and the template. (Its database is its own, not the store
// benchmark's: it holds the console's sessions table.)
func BenchmarkPages(b *testing.B) {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("custd-console-bench-%d.db", storetest.BenchCustomers()))
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	benchmarkPages(b, s)
}

// BenchmarkPagesPostgres is BenchmarkPages on PostgreSQL, over a database seeded once and
// kept on the server. Run VACUUM ANALYZE on it after the first run seeds it: until the
// planner has statistics of the new rows, it plans searches as for an empty table.
func BenchmarkPagesPostgres(b *testing.B) {
	s, err := postgres.Open(context.Background(), pgtest.KeptDatabase(b, fmt.Sprintf("custd_console_bench_%d", storetest.BenchCustomers())))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	benchmarkPages(b, s)
}

func benchmarkPages(b *testing.B, s customer.Store) {
	ctx := context.Background()
	u := storetest.SeedForBenchmark(b, s)
	se, id := customer.NewSession(u, time.Now())
	if err := s.CreateSession(ctx, se); err != nil {
		b.Fatal(err)
	}
	defer s.DeleteSession(ctx, se.IDHash)
	h := console.New(console.Config{Store: s})
	for _, tc := range []struct{ name, path string }{
		{"List", "/console/customers"}, // the console's first page: the latest changes
		{"ListPage20", "/console/customers?page=20"},
		{"ListByID", "/console/customers?sort=customer_id"},
		{"SearchName", "/console/customers?name=smith"},
		{"SearchNameRare", "/console/customers?name=nakamura+okafor"},
		{"SearchNameByID", "/console/customers?name=kowalski&sort=customer_id"},
		{"SearchEmail", "/console/customers?email=nakamura12"},
		{"SearchAccountNumber", fmt.Sprintf("/console/customers?account_number=AC-%08d", storetest.BenchCustomers()/2)},
		{"SearchStatus", "/console/customers?status=CLOSED&page=5"},
		{"SearchActivatedWeek", "/console/customers?activated_date_start=2020-06-01&activated_date_end=2020-06-07&sort=activated_date"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			req.AddCookie(&http.Cookie{Name: "custd_console", Value: id})
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: status %d\n%.2000s", tc.path, rec.Code, rec.Body)
				}
			}
		})
	}
}
