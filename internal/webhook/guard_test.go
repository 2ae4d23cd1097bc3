package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// TestDialRefusesInternalAddresses: the check on the address dialled holds whatever the
// URL says: a client of the default guard cannot reach a server on loopback that a client
// allowed private addresses reaches.
func TestDialRefusesInternalAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	named := Guard{Resolver: fixed{"hooks.example.test": "127.0.0.1"}}
	for _, url := range []string{srv.URL, "http://localhost:" + port, "http://hooks.example.test:" + port} {
		g := &named
		resp, err := g.Client(Timeout).Post(url, "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: reached with the default guard", url)
		}
		if !errors.Is(err, errInternal) {
			t.Fatalf("%s: %v, want the internal-address refusal", url, err)
		}
	}
	allowed := Guard{AllowPrivate: true}
	resp, err := allowed.Client(Timeout).Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("allowed private addresses: %v", err)
	}
	resp.Body.Close()
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
