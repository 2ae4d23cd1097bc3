package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
	"github.com/custd/custd/internal/metrics"
	"github.com/custd/custd/internal/sqlite"
)

// BenchmarkGetObserved reads one customer by id through the whole API on SQLite, with the
// request log and metrics off (quiet) and on: what they add to a request, the request
// log's writes included.
func BenchmarkGetObserved(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "quiet"
		if on {
			name = "logged"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "custd.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, err := s.CreateClient(ctx, "acme", "acme"); err != nil {
				b.Fatal(err)
			}
			hash, err := customer.HashPassword(password)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.CreateUser(ctx, &customer.NewUser{ClientCode: "acme", Username: "admin", Role: customer.RoleAdmin, PasswordHash: hash}); err != nil {
				b.Fatal(err)
			}
			cfg := httpapi.Config{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), NoRequestLog: !on}
			if on {
				cfg.Metrics = metrics.New()
			}
			h := httpapi.New(cfg)
			defer h.Close()
			req := func(method, path, body string) *httptest.ResponseRecorder {
				r := httptest.NewRequest(method, path, strings.NewReader(body))
				r.SetBasicAuth("admin@acme", password)
				r.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			if w := req("POST", "/v1/Customers", "{}"); w.Code != http.StatusCreated {
				b.Fatalf("create: %d %s", w.Code, w.Body)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if w := req("GET", "/v1/Customers/1", ""); w.Code != http.StatusOK {
						b.Errorf("get: %d %s", w.Code, w.Body)
						return
					}
				}
			})
		})
	}
}
