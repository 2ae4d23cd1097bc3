package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
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
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateClient(ctx, "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if _, err := sqlite.Backup(ctx, path, backup); err != nil {
		t.Fatal(err)
	}
	rec := &customer.LoggedRequest{ClientID: c.ID, RequestID: "after-the-backup", Created: time.Now(), Method: "GET",
		Path: "/v1/Customers", Status: 200, Username: "alice"}
	if err := s.RecordRequests(ctx, []*customer.LoggedRequest{rec}); err != nil {
		t.Fatal(err)
	}
	if got := requestIDs(t, s, c.ID); len(got) != 1 {
		t.Fatalf("before the restore: %v", got)
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
	if got := requestIDs(t, s, c.ID); len(got) != 0 {
		t.Fatalf("the restored store shows the old request log: %v", got)
	}
}

func requestIDs(t *testing.T, s *sqlite.Store, client int64) []string {
	t.Helper()
	page, err := s.RequestLog(context.Background(), client, &customer.RequestLogQuery{Page: 1, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range page.Requests {
		ids = append(ids, r.RequestID)
	}
	return ids
}
