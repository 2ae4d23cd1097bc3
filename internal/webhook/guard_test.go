package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/custd/custd/internal/customer"
)

// TestDialRefusesInternalAddresses: the check on the address dialled holds whatever the
// URL says: a sender with the default guard cannot reach a server on loopback that a
// sender allowed private addresses reaches.
func TestDialRefusesInternalAddresses(t *testing.T) {
	var reached atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	named := NewSender(&Guard{Resolver: fixed{"hooks.example.test": "127.0.0.1"}})
	for _, url := range []string{srv.URL, "http://localhost:" + port, "http://hooks.example.test:" + port} {
		status, problem := named.Notify(context.Background(), &customer.Receiver{URL: url, Secret: "s"}, 1, []byte("{}"))
		if status != 0 || !strings.HasPrefix(problem, errInternal.Error()) {
			t.Fatalf("%s: status %d, %q; want the internal-address refusal", url, status, problem)
		}
	}
	if reached.Load() != 0 {
		t.Fatal("the default guard reached the server")
	}
	allowed := NewSender(&Guard{AllowPrivate: true})
	if status, problem := allowed.Notify(context.Background(), &customer.Receiver{URL: srv.URL, Secret: "s"}, 1, []byte("{}")); status != 200 || reached.Load() != 1 {
		t.Fatalf("allowed private addresses: status %d, %q", status, problem)
	}
}

type fixed map[string]string

func (f fixed) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if ip, ok := f[host]; ok {
		return []netip.Addr{netip.MustParseAddr(ip)}, nil
	}
	return (&Guard{}).resolver().LookupNetIP(ctx, network, host)
}

func TestSign(t *testing.T) {
	// printf '1700000000.{}' | openssl dgst -sha256 -hmac secret
	want := "sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
	if got := Sign("secret", 1700000000, []byte("{}")); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}
