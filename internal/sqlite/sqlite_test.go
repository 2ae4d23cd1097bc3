package sqlite_test

import (
	"context"
	"fmt"
	"os"
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

// BenchmarkStore runs the store benchmarks over a database seeded once and kept in the
// temporary folder between runs (CUSTD_BENCH_CUSTOMERS sets its size).
func BenchmarkStore(b *testing.B) {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("custd-bench-%d.db", storetest.BenchCustomers()))
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.Benchmark(b, s)
}
