package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/postgres"
	"github.com/custd/custd/internal/postgres/pgtest"
	"github.com/custd/custd/internal/storetest"
)

func open(t *testing.T) (customer.Store, func() customer.Store) {
	url := pgtest.NewDatabase(t)
	openOne := func() customer.Store {
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return openOne(), openOne
}

func TestStore(t *testing.T) { storetest.Run(t, open) }

// BenchmarkStore runs the store benchmarks over a database seeded once and kept on the
// server between runs (CUSTD_BENCH_CUSTOMERS sets its size).
func BenchmarkStore(b *testing.B) {
	url := pgtest.KeptDatabase(b, fmt.Sprintf("custd_bench_%d", storetest.BenchCustomers()))
	s, err := postgres.Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.Benchmark(b, s)
}
