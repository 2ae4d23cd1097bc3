package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlite"
	"github.com/custd/custd/internal/storetest"
)

func open(t *testing.T) (customer.Store, func() customer.Store) {
	path := filepath.Join(t.TempDir(), "custd.db")
	openOne := func() customer.Store {
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return openOne(), openOne
}

func TestStore(t *testing.T) { storetest.Run(t, open) }
