// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// The server comes from the environment: CUSTD_TEST_POSTGRES is the URL of a database on
// it that the tests may connect to and create databases from, such as
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. Without it the tests that
// need PostgreSQL skip, unless CUSTD_REQUIRE_POSTGRES=1 (as in CI), where they fail:
// a run that was meant to test PostgreSQL must not pass by skipping it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// NewDatabase creates an empty database named custd_test_<random> on the server of
// CUSTD_TEST_POSTGRES and returns its URL. The database is dropped when the test ends,
// after the cleanups registered later (such as closing a store on it) have run.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base, u := server(t)
	var b [6]byte
	rand.Read(b[:])
	name := "custd_test_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connecting to CUSTD_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("creating test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		// FORCE ends connections a failed test left open.
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// server returns the URL of CUSTD_TEST_POSTGRES, parsed too, or skips (or fails) the test.
func server(t testing.TB) (string, *url.URL) {
	t.Helper()
	base := os.Getenv("CUSTD_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CUSTD_REQUIRE_POSTGRES") == "1" {
			t.Fatal("CUSTD_REQUIRE_POSTGRES=1 but CUSTD_TEST_POSTGRES is not set: set it to a PostgreSQL URL")
		}
		t.Skip("CUSTD_TEST_POSTGRES is not set; skipping the PostgreSQL tests")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("CUSTD_TEST_POSTGRES must be a postgres:// URL, not %q", base)
	}
	return base, u
}

// KeptDatabase returns the URL of the database called name on the server of
// CUSTD_TEST_POSTGRES, creating it if it does not exist, and keeps it after the test:
// benchmarks seed a large database once and reuse it.
func KeptDatabase(t testing.TB, name string) string {
	t.Helper()
	base, u := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connecting to CUSTD_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			t.Fatalf("creating database %s: %v", name, err)
		}
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}
