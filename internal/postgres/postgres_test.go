package postgres_test

import (
	"context"
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
