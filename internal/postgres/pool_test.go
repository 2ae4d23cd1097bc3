package postgres

import (
	"context"
	"net/url"
	"testing"

	"github.com/custd/custd/internal/postgres/pgtest"
)

// TestPoolSize checks the size of a process's connection pool: 16 unless the URL's
// pool_max_conns says otherwise, as the README tells operators sizing max_connections.
func TestPoolSize(t *testing.T) {
	base := pgtest.NewDatabase(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "3")
	u.RawQuery = q.Encode()
	for _, tc := range []struct {
		url  string
		want int32
	}{
		{base, defaultMaxConns},
		{u.String(), 3},
	} {
		s, err := Open(context.Background(), tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.pool.Config().MaxConns; got != tc.want {
			t.Errorf("%s: pool of %d connections, want %d", tc.url, got, tc.want)
		}
		s.Close()
	}
}
