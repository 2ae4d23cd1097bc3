package httpapi_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/postgres"
	"github.com/custd/custd/internal/postgres/pgtest"
	"github.com/custd/custd/internal/sqlite"
)

// heldStores are the stores of storeKinds, each with a way to hold, from outside custd,
// what a write of a customer waits for: SQLite's one write lock, or PostgreSQL's lock on
// the customer's row. hold returns the function that lets go.
var heldStores = []struct {
	name string
	open func(t *testing.T) (s customer.Store, hold func(t *testing.T, id int) (release func()))
}{
	{"sqlite", func(t *testing.T) (customer.Store, func(*testing.T, int) func()) {
		path := filepath.Join(t.TempDir(), "custd.db")
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return s, func(t *testing.T, _ int) func() {
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
			if err != nil {
				t.Fatal(err)
			}
			conn, err := db.Conn(context.Background())
			if err == nil {
				_, err = conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
			}
			if err != nil {
				t.Fatal(err)
			}
			return func() {
				conn.ExecContext(context.Background(), "ROLLBACK")
				conn.Close()
				db.Close()
			}
		}
	}},
	{"postgres", func(t *testing.T) (customer.Store, func(*testing.T, int) func()) {
		url := pgtest.NewDatabase(t)
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		return s, func(t *testing.T, id int) func() {
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			tx, err := conn.Begin(ctx)
			if err == nil {
				_, err = tx.Exec(ctx, "SELECT 1 FROM customers WHERE customer_id = $1 FOR UPDATE", id)
			}
			if err != nil {
				t.Fatal(err)
			}
			return func() {
				tx.Rollback(ctx)
				conn.Close(ctx)
			}
		}
	}},
}
