package signin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

func TestThrottleLockouts(t *testing.T) {
	th := newLoginThrottle()
	now := time.Unix(1_800_000_000, 0)
	var got []time.Duration
	for range 11 {
		if w := th.wait("alice@acme", now); w != 0 {
			t.Fatalf("locked out for %v before failing", w)
		}
		_, lockout := th.fail("alice@acme", now)
		got = append(got, lockout)
		now = now.Add(lockout) // the guesser waits exactly as long as told
	}
	want := "[0s 0s 0s 0s 0s 1s 2s 4s 8s 15s 15s]"
	if fmt.Sprint(got) != want {
		t.Fatalf("lockouts %v, want %v", got, want)
	}
	// Locked out until the end of the last lockout, not after.
	th.fail("bob@acme", now)
	if w := th.wait("alice@acme", now.Add(-time.Second)); w != time.Second {
		t.Fatalf("wait %v during a lockout", w)
	}
	if w := th.wait("bob@acme", now); w != 0 {
		t.Fatalf("another login waits %v", w)
	}
	// Failures are forgotten after a quiet quarter of an hour, and on success.
	if n, lockout := th.fail("alice@acme", now.Add(16*time.Minute)); n != 1 || lockout != 0 {
		t.Fatalf("after a quiet while: failure %d, lockout %v", n, lockout)
	}
	th.succeed("bob@acme")
	if n, _ := th.fail("bob@acme", now); n != 1 {
		t.Fatalf("after a success: failure %d", n)
	}
}

func TestThrottleStaysBounded(t *testing.T) {
	th := newAddressThrottle()
	th.max = 1000
	now := time.Unix(1_800_000_000, 0)
	for range 25 { // locked out
		th.fail("198.51.100.1", now)
	}
	for i := range 5000 {
		th.fail(fmt.Sprint("key", i), now)
	}
	if len(th.keys) > th.max {
		t.Fatalf("%d keys remembered, at most %d wanted", len(th.keys), th.max)
	}
	if th.wait("198.51.100.1", now) == 0 {
		t.Fatal("making room forgot a key that is locked out")
	}
}

func TestClientAddress(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		remote, forwarded string
		trusted           []netip.Prefix
		want              string
	}{
		{"203.0.113.7:5123", "", trusted, "203.0.113.7"},
		{"203.0.113.7:5123", "198.51.100.1", trusted, "203.0.113.7"}, // not a trusted proxy: ignored
		{"203.0.113.7:5123", "198.51.100.1", nil, "203.0.113.7"},
		{"10.1.2.3:5123", "198.51.100.1", trusted, "198.51.100.1"},
		{"10.1.2.3:5123", "192.0.2.9, 198.51.100.1, 10.0.0.5", trusted, "198.51.100.1"}, // the client wrote 192.0.2.9
		{"10.1.2.3:5123", "", trusted, "10.1.2.3"},
		{"10.1.2.3:5123", "nonsense", trusted, "10.1.2.3"},
		{"[::1]:5123", "2001:db8::1", trusted, "2001:db8::1"},
		{"[::ffff:203.0.113.7]:5123", "", trusted, "203.0.113.7"},
	} {
		r, _ := http.NewRequestWithContext(context.Background(), "GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.forwarded != "" {
			r.Header.Set("X-Forwarded-For", tc.forwarded)
		}
		if got := ClientAddress(r, tc.trusted); got.String() != tc.want {
			t.Errorf("%s forwarding %q: %s, want %s", tc.remote, tc.forwarded, got, tc.want)
		}
	}
	// An IPv6 subscriber's block counts as one address.
	if a, b := addressKey(netip.MustParseAddr("2001:db8:1:2::1")), addressKey(netip.MustParseAddr("2001:db8:1:2:ffff::9")); a != b || a != "2001:db8:1:2::/64" {
		t.Fatalf("IPv6 keys %s and %s", a, b)
	}
}

// TestPasswordComparisonsAreBounded: once every comparison token is taken and enough
// sign-ins wait, another is told to retry at once, without running bcrypt.
func TestPasswordComparisonsAreBounded(t *testing.T) {
	g := New()
	for range cap(g.comparing) {
		g.comparing <- struct{}{}
	}
	g.waiting.Store(maxWaitingSignIns)
	if _, err := g.Compare(context.Background(), "", "password"); err == nil {
		t.Fatal("compared with every token taken and the queue full")
	} else if rl, ok := err.(*RetryLater); !ok || rl.After != time.Second {
		t.Fatalf("error %v, want a retry after a second", err)
	}
	if g.waiting.Load() != maxWaitingSignIns {
		t.Fatalf("%d waiting afterwards", g.waiting.Load())
	}
	// With room in the queue, a sign-in waits for a token, until its context ends.
	g.waiting.Store(0)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := g.Compare(ctx, "", "password"); err == nil {
		t.Fatal("compared with every token taken")
	}
	if g.waiting.Load() != 0 {
		t.Fatalf("%d waiting afterwards", g.waiting.Load())
	}
	<-g.comparing // one token comes back: the next sign-in compares
	if match, err := g.Compare(context.Background(), "", "password"); err != nil || match {
		t.Fatalf("compare with a token free: %v %v", match, err)
	}
}

// TestGuard: a login and an address are locked out by their own failures, each with the
// reason, and a success forgets the login's.
func TestGuard(t *testing.T) {
	g := New()
	now := time.Unix(1_800_000_000, 0)
	alice, home, office := "Alice@ACME", netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("198.51.100.1")
	for range 5 {
		if err := g.Check(alice, home, now); err != nil {
			t.Fatalf("locked out before failing: %v", err)
		}
		if f := g.Failed(alice, home, now); f.Lockout != 0 {
			t.Fatalf("free failures lock out: %+v", f)
		}
	}
	f := g.Failed("alice@acme", office, now) // the same login in another letter case
	if f.LoginFailures != 6 || f.AddressFailures != 1 || f.Lockout != time.Second {
		t.Fatalf("the sixth failure: %+v", f)
	}
	var rl *RetryLater
	err := g.Check(alice, netip.MustParseAddr("192.0.2.1"), now)
	if !errors.As(err, &rl) || rl.After != time.Second || !customer.IsKind(err, customer.RateLimited) ||
		!strings.Contains(err.Error(), "too many failed sign-ins as Alice@ACME") {
		t.Fatalf("a locked-out login: %v", err)
	}
	if err := g.Check("bob@acme", home, now); err != nil {
		t.Fatalf("another login from the same address: %v", err)
	}
	g.Succeeded(alice)
	if err := g.Check(alice, home, now); err != nil {
		t.Fatalf("after a success: %v", err)
	}
	for range 25 {
		g.Failed(fmt.Sprint("guess", now.UnixNano()), home, now)
		now = now.Add(time.Nanosecond)
	}
	if err := g.Check("carol@acme", home, now); !errors.As(err, &rl) || !strings.Contains(err.Error(), "from this address") {
		t.Fatalf("a locked-out address: %v", err)
	}
	if err := g.Check("carol@acme", netip.Addr{}, now); err != nil {
		t.Fatalf("no address known: %v", err)
	}
}
