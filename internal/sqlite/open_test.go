package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlite"
)

// TestOpenErrors: opening fails with a message that names the path and what is wrong with
// it, and creates nothing when it fails.
func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	notADB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notADB, []byte(strings.Repeat("not a database\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		existing   bool
		want       []string
		notExist   bool
	}{
		{"missing folder", filepath.Join(dir, "nope", "custd.db"), false,
			[]string{filepath.Join(dir, "nope", "custd.db"), "folder " + filepath.Join(dir, "nope") + " does not exist"}, false},
		{"missing folder, existing store wanted", filepath.Join(dir, "nope", "custd.db"), true,
			[]string{"folder " + filepath.Join(dir, "nope") + " does not exist"}, false},
		{"a file where the folder should be", filepath.Join(notADB, "custd.db"), false,
			[]string{notADB + " is not a folder"}, false},
		{"not a database", notADB, false, []string{notADB, "is not a SQLite database"}, false},
		{"no file, existing store wanted", filepath.Join(dir, "custd.db"), true,
			[]string{filepath.Join(dir, "custd.db"), "no database file there"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			openFn := sqlite.Open
			if tc.existing {
				openFn = sqlite.OpenExisting
			}
			s, err := openFn(ctx, tc.path)
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if errors.Is(err, fs.ErrNotExist) != tc.notExist {
				t.Errorf("error %q: errors.Is(fs.ErrNotExist) = %v", err, !tc.notExist)
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("failed opens left files behind: %v", entries)
	}
}

// TestOpenExistingMigrates opens a store that exists, and upgrades its schema.
func TestOpenExistingMigrates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "custd.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateClient(ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, &customer.NewUser{ClientCode: "acme", Username: "alice", Role: customer.RoleAdmin, PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Take the schema back to before the users' disabled column, as an older custd left it
	// (a later migration will have to be undone here too), with a request log record in
	// the store's own file, where custd kept it then.
	old, err := os.ReadFile("migrations/0004_request_log.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`ALTER TABLE users DROP COLUMN disabled; DELETE FROM feed_cursors WHERE name = 'nats';
		DROP TABLE console_sessions; DELETE FROM schema_migrations WHERE version >= 5`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(old)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO request_logs (client_id, created_date, request_id, method, path, query, status,
		duration_us, username, username_fold, replayed) VALUES ((SELECT id FROM clients), 1764500000000, 'req-1', 'GET',
		'/v1/Customers', '', 200, 1500, 'alice@acme', 'alice@acme', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// The request log's own file as an older custd never made it.
	for _, side := range []string{"", "-wal", "-shm"} {
		os.Remove(path + sqlite.RequestLogSuffix + side)
	}

	s, err = sqlite.OpenExisting(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r := s.Schema(); len(r.Applied) == 0 || r.Applied[0] != "0005_user_disabled.sql" || r.Version != 4+len(r.Applied) {
		t.Fatalf("schema report: %+v", r)
	}
	if u, err := s.UserByLogin(ctx, "acme", "alice"); err != nil || u.Disabled {
		t.Fatalf("a user from before the upgrade: %v %+v", err, u)
	}
	// The record moved to the request log's file and reads as it was.
	u, _ := s.UserByLogin(ctx, "acme", "alice")
	page, err := s.RequestLog(ctx, u.ClientID, &customer.RequestLogQuery{Page: 1, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Requests) != 1 || page.Requests[0].RequestID != "req-1" || page.Requests[0].Duration != 1500*time.Microsecond {
		t.Fatalf("the request log after the upgrade: %+v", page.Requests)
	}
}
