package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlite"
)

// TestFilesArePrivate: the database and its -wal and -shm files hold customers' personal
// data and the users' password hashes, and the request log's file names users and
// customers, so only their owner may read them, whatever the umask of the process that
// creates them.
func TestFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask, which leaves new files world-readable
	defer syscall.Umask(old)

	path := filepath.Join(t.TempDir(), "custd.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A write, so that the WAL and its index exist whatever SQLite does lazily.
	if _, err := s.CreateClient(ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, &customer.NewUser{ClientCode: "acme", Username: "admin", Role: customer.RoleAdmin, PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	reqs := path + sqlite.RequestLogSuffix
	for _, name := range []string{path, path + "-wal", path + "-shm", reqs, reqs + "-wal", reqs + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", filepath.Base(name), mode)
		}
	}
}
