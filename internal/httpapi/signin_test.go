package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
)

// logBuffer collects a server's log.
func logBuffer() (*syncBuffer, *slog.Logger) {
	b := &syncBuffer{}
	return b, slog.New(slog.NewJSONHandler(b, nil))
}

// signIn sends GET /v1/Customers as login with password from address (through a trusted
// proxy's X-Forwarded-For).
func (a *api) signIn(login, pw, address string) *result {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.url+"/v1/Customers", nil)
	req.SetBasicAuth(login, pw)
	req.Header.Set("X-Forwarded-For", address)
	return a.send(req)
}

func TestSignInThrottle(t *testing.T) {
	logs, log := logBuffer()
	a := newAPI(t, storeKinds[0].open(t), httpapi.Config{Logger: log, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	const attacker, elsewhere = "203.0.113.7", "192.0.2.1"
	a.signIn("admin@acme", password, attacker).want(t, http.StatusOK)

	// Five failures are free; the sixth locks the login out for a second, then 2, 4 ...
	for i := range 6 {
		a.signIn("clerk@acme", "guess number "+string(rune('a'+i)), attacker).want(t, http.StatusUnauthorized)
	}
	r := a.signIn("clerk@acme", "yet another guess", attacker).want(t, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q, want 1", r.header.Get("Retry-After"))
	}
	// While it lasts, the right password is refused too, from anywhere, before it is
	// compared: that is what makes guessing cost the server nothing.
	a.signIn("CLERK@acme", password, elsewhere).want(t, http.StatusTooManyRequests)
	// A user already signed in is not held back, even from the guessing address.
	a.signIn("admin@acme", password, attacker).want(t, http.StatusOK)
	// A lockout is short: once over, the real user signs in, which forgets the failures.
	time.Sleep(time.Second + 100*time.Millisecond)
	a.signIn("clerk@acme", password, elsewhere).want(t, http.StatusOK)
	a.signIn("clerk@acme", "wrong again", attacker).want(t, http.StatusUnauthorized)

	// An address gets 20 free failures, whichever logins they name (7 so far).
	for i := range 14 {
		a.signIn("ghost"+string(rune('a'+i))+"@acme", password, attacker).want(t, http.StatusUnauthorized)
	}
	r = a.signIn("admin@other", password, attacker).want(t, http.StatusTooManyRequests)
	if !strings.Contains(string(r.body), "from this address") || r.header.Get("Retry-After") == "" {
		t.Fatalf("address lockout: %s %v", r.body, r.header)
	}
	a.signIn("admin@other", password, elsewhere).want(t, http.StatusOK)

	// Every failure is logged with its login, address and reason, never the password.
	text := logs.String()
	for _, want := range []string{`"msg":"sign-in failed","login":"clerk@acme","address":"203.0.113.7"`,
		`"reason":"wrong password"`, `"reason":"no such user"`, `"locked_out_s":1`} {
		if !strings.Contains(text, want) {
			t.Errorf("the log lacks %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, "guess number") || strings.Contains(text, password) {
		t.Fatal("the log holds a password")
	}
}

func TestDisabledUser(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		ctx := context.Background()
		a.do(clerk, "GET", "/v1/Customers", nil).want(t, http.StatusOK)
		yes, no := true, false
		if _, err := a.store.UpdateUser(ctx, "acme", "clerk", &customer.UserChange{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		// A process that verified the user's password keeps it for at most 5 seconds.
		deadline := time.Now().Add(15 * time.Second)
		var r *result
		for r = a.do(clerk, "GET", "/v1/Customers", nil); r.status == http.StatusOK && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			r = a.do(clerk, "GET", "/v1/Customers", nil)
		}
		r.want(t, http.StatusUnauthorized)
		if !strings.Contains(string(r.body), "user clerk@acme is disabled") {
			t.Fatalf("disabled: %s", r.body)
		}
		// Only whoever knows the password learns that the user is disabled.
		req, _ := http.NewRequest("GET", a.url+"/v1/Customers", nil)
		req.SetBasicAuth("clerk@acme", "not the password")
		if r := a.send(req).want(t, http.StatusUnauthorized); strings.Contains(string(r.body), "disabled") {
			t.Fatalf("a wrong password is told the user is disabled: %s", r.body)
		}
		// Enabled again, the user signs in at once.
		if _, err := a.store.UpdateUser(ctx, "acme", "clerk", &customer.UserChange{Disabled: &no}); err != nil {
			t.Fatal(err)
		}
		a.do(clerk, "GET", "/v1/Customers", nil).want(t, http.StatusOK)
	})
}
