package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlite"
)

// TestRestoreSetsRequestLogAside: the request log names the clients of the store it was
// recorded against, so a restore keeps it beside the replaced store and the restored one
// starts an empty log: a client created after the backup, whose id a new client of the
// restored store may get, never shows through.
func TestRestoreSetsRequestLogAside(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "custd.db")
	s, client := openWithClient(t, path)
	backup := filepath.Join(dir, "backup.db")
	if _, err := sqlite.Backup(ctx, path, backup); err != nil {
		t.Fatal(err)
	}
	rec := &customer.LoggedRequest{ClientID: client, RequestID: "after-the-backup", Created: time.Now(), Method: "GET",
		Path: "/v1/Customers", Status: 200, Username: "alice"}
	if err := s.RecordRequests(ctx, []*customer.LoggedRequest{rec}); err != nil {
		t.Fatal(err)
	}
	if got, _ := requestIDs(t, s, client, customer.RequestLogQuery{}); got != "after-the-backup" {
		t.Fatalf("before the restore: %q", got)
	}
	s.Close()

	replaced, err := sqlite.Restore(ctx, backup, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(replaced + sqlite.RequestLogSuffix); err != nil {
		t.Fatalf("the replaced store's request log: %v", err)
	}
	s, err = sqlite.OpenExisting(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, _ := requestIDs(t, s, client, customer.RequestLogQuery{}); got != "" {
		t.Fatalf("the restored store shows the old request log: %q", got)
	}
}

// openWithClient opens a new store at path with one client, acme, and returns its id.
func openWithClient(t *testing.T, path string) (*sqlite.Store, int64) {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateClient(context.Background(), "acme", "Acme")
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s, c.ID
}

// requestIDs returns the request ids of the page of the client's request log that q
// asks for (the first 100 records when it names no page), in its order, and whether a
// later page has records.
func requestIDs(t *testing.T, s *sqlite.Store, client int64, q customer.RequestLogQuery) (ids string, more bool) {
	t.Helper()
	if q.Page == 0 {
		q.Page, q.PageSize = 1, 100
	}
	page, err := s.RequestLog(context.Background(), client, &q)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range page.Requests {
		got = append(got, r.RequestID)
	}
	return strings.Join(got, " "), page.HasMore
}

// TestRequestLogIndexByCustomer: the writer adds records to the index by customer once
// enough wait, and a read by customer first adds those that still wait, so that it finds
// every record stored.
func TestRequestLogIndexByCustomer(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "custd.db")
	s, client := openWithClient(t, path)
	defer s.Close()
	sqlite.SetRequestLogIndexAfter(s, 10)
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	record := func(from, to int) {
		t.Helper()
		var rs []*customer.LoggedRequest
		for i := from; i < to; i++ {
			r := &customer.LoggedRequest{ClientID: client, RequestID: fmt.Sprintf("r%d", i), Created: start.Add(time.Duration(i) * time.Second),
				Method: "GET", Path: fmt.Sprintf("/v1/Customers/%d", 1+i%3), Status: 200, Username: "alice", CustomerID: int32(1 + i%3)}
			r.Clean()
			rs = append(rs, r)
		}
		if err := s.RecordRequests(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+sqlite.RequestLogSuffix+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	indexed := func() (n int) {
		t.Helper()
		if err := db.QueryRow(`SELECT count(*) FROM request_logs_customers`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	record(0, 6)
	if n := indexed(); n != 0 {
		t.Fatalf("6 records waiting, below the writer's 10: %d indexed", n)
	}
	record(6, 12)
	if n := indexed(); n != 12 {
		t.Fatalf("12 records waiting, the writer's 10 reached: %d indexed", n)
	}
	record(12, 14) // these two wait
	if got, more := requestIDs(t, s, client, customer.RequestLogQuery{CustomerIDs: []int32{2}, Page: 1, PageSize: 3}); got != "r13 r10 r7" || !more {
		t.Fatalf("customer 2, newest first: %q (more: %v)", got, more)
	}
	if n := indexed(); n != 14 {
		t.Fatalf("after a read by customer: %d indexed", n)
	}
}

// TestRequestLogIndexByCustomerMigrates: a request log kept by an older custd, whose
// table had its index by customer, reads by customer after the upgrade.
func TestRequestLogIndexByCustomerMigrates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "custd.db")
	s, client := openWithClient(t, path)
	s.Close()
	db, err := sql.Open("sqlite", "file:"+path+sqlite.RequestLogSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TABLE request_logs_customers; DROP TABLE request_logs_indexed;
		CREATE INDEX request_logs_customer ON request_logs (client_id, customer_id, created_date);
		DELETE FROM schema_migrations WHERE version >= 2`); err != nil {
		t.Fatal(err)
	}
	for i, id := range []any{7, nil, 7, 8} {
		if _, err := db.Exec(`INSERT INTO request_logs (client_id, created_date, request_id, method, path, query, status,
			duration_us, username, username_fold, customer_id, replayed) VALUES (?, ?, ?, 'GET', '/v1/Customers', '', 200, 1500,
			'alice', 'alice', ?, 0)`, client, 1764500000000+int64(i), fmt.Sprintf("old-%d", i), id); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err = sqlite.OpenExisting(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, _ := requestIDs(t, s, client, customer.RequestLogQuery{CustomerIDs: []int32{7}}); got != "old-2 old-0" {
		t.Fatalf("customer 7 after the upgrade: %q", got)
	}
}
