package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/custd/custd/internal/httpapi"
)

// preflight sends the OPTIONS request a browser sends before a cross-origin PUT.
func preflight(t *testing.T, a *api, origin string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("OPTIONS", a.url+"/v1/Customers/1", nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "PUT")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type, if-match, idempotency-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestCORS(t *testing.T) {
	const portal = "https://portal.example.com"
	origins, err := httpapi.ParseOrigins(" https://portal.example.com, http://localhost:5173 ")
	if err != nil {
		t.Fatal(err)
	}
	a := newAPI(t, storeKinds[0].open(t), httpapi.Config{CORSOrigins: origins})

	// A preflight from an allowed origin needs no credentials and says what may be sent.
	resp := preflight(t, a, portal)
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != portal ||
		h.Get("X-Request-Id") == "" || h.Get("Access-Control-Allow-Credentials") != "" || h.Get("Access-Control-Max-Age") == "" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, h)
	}
	for _, want := range []string{"PUT", "PATCH", "DELETE", "POST"} {
		if !strings.Contains(h.Get("Access-Control-Allow-Methods"), want) {
			t.Errorf("Access-Control-Allow-Methods %q lacks %s", h.Get("Access-Control-Allow-Methods"), want)
		}
	}
	for _, want := range strings.Split("authorization, content-type, if-match, idempotency-key", ", ") {
		if !strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), want) {
			t.Errorf("Access-Control-Allow-Headers %q lacks %s", h.Get("Access-Control-Allow-Headers"), want)
		}
	}
	if vary := strings.Join(h.Values("Vary"), ", "); !strings.Contains(vary, "Origin") || !strings.Contains(vary, "Access-Control-Request-Method") {
		t.Errorf("preflight Vary %q", vary)
	}

	// The request itself: the page may read the answer and its ETag.
	id := a.create(admin, obj{})
	r := a.do(admin, "GET", "/v1/Customers/"+strconv.Itoa(id), nil, header{"Origin", portal}).want(t, http.StatusOK)
	if r.header.Get("Access-Control-Allow-Origin") != portal || !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "ETag") {
		t.Fatalf("cross-origin GET: %v", r.header)
	}
	// Errors too, so that the page can show them.
	r = a.do(nobody, "GET", "/v1/Customers", nil, header{"Origin", "http://LOCALHOST:5173"}).want(t, http.StatusUnauthorized)
	if r.header.Get("Access-Control-Allow-Origin") != "http://LOCALHOST:5173" {
		t.Fatalf("cross-origin 401: %v", r.header)
	}

	// Another origin gets no permission: its preflight is an ordinary OPTIONS, without
	// credentials (401: under /v1/ they come before the 405).
	resp = preflight(t, a, "https://evil.example")
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin: %d %v", resp.StatusCode, resp.Header)
	}
	r = a.do(admin, "GET", "/v1/Customers", nil, header{"Origin", "https://evil.example"}).want(t, http.StatusOK)
	if r.header.Get("Access-Control-Allow-Origin") != "" || !strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Origin") {
		t.Fatalf("GET from another origin: %v", r.header)
	}

	// Off by default: no origin is allowed.
	b := newAPI(t, storeKinds[0].open(t), httpapi.Config{})
	if resp := preflight(t, b, portal); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight with CORS off: %d %v", resp.StatusCode, resp.Header)
	}
	if r := b.do(admin, "GET", "/v1/Customers", nil, header{"Origin", portal}); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS off: %v", r.header)
	}

	// "*" allows any origin.
	any := newAPI(t, storeKinds[0].open(t), httpapi.Config{CORSOrigins: []string{"*"}})
	if resp := preflight(t, any, "https://anywhere.example"); resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight with *: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestParseOrigins(t *testing.T) {
	for _, bad := range []string{"portal.example.com", "https://portal.example.com/", "https://portal.example.com/app",
		"ftp://portal.example.com", "https://", "https://user@portal.example.com", "https://portal.example.com?x=1"} {
		if _, err := httpapi.ParseOrigins("https://ok.example," + bad); err == nil || !strings.Contains(err.Error(), "is not a web origin") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if got, err := httpapi.ParseOrigins("*"); err != nil || len(got) != 1 {
		t.Fatalf("*: %v %v", got, err)
	}
}
