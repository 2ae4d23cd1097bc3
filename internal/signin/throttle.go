package signin

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// throttle slows password guessing down. It counts failed sign-ins per key (a login, or a
// source address); past a number of free failures, each further failure locks the key out
// for twice as long as the one before, up to a cap. While a key is locked out, a sign-in
// with it is refused before its password is compared, so that guessing costs no bcrypt
// work, and failures are forgotten after a quiet while.
//
// The cap is what keeps a real user from being locked out for long by someone guessing
// at their login: they wait at most that long. The API's cache of verified credentials
// lets users already signed in through, whatever the lockout, and so does a console
// session.
type throttle struct {
	free   int           // failures before the first lockout
	base   time.Duration // the first lockout
	cap    time.Duration // the longest lockout
	forget time.Duration // failures are forgotten this long after the last one
	max    int           // keys remembered at most

	mu   sync.Mutex
	keys map[string]*failures
}

// failures is what a throttle remembers of one key.
type failures struct {
	count int
	last  time.Time
	until time.Time // locked out until
}

// The throttles of sign-ins. A login gets 5 free failures, then waits 1 s, 2 s, 4 s ...
// up to 15 s between guesses: about 6,000 guesses a day at most against one login from
// anywhere, against passwords of 12 or more characters, and a real user's wait is short.
// An address gets 20 free failures (several users may share it, behind one NAT), then up
// to a minute between guesses.
func newLoginThrottle() *throttle {
	return &throttle{free: 5, base: time.Second, cap: 15 * time.Second, forget: 15 * time.Minute, max: 100_000, keys: map[string]*failures{}}
}

func newAddressThrottle() *throttle {
	return &throttle{free: 20, base: time.Second, cap: time.Minute, forget: 15 * time.Minute, max: 100_000, keys: map[string]*failures{}}
}

// wait returns how long key stays locked out: 0 when it may try now.
func (t *throttle) wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.keys[key]; f != nil && f.until.After(now) {
		return f.until.Sub(now)
	}
	return 0
}

// fail records a failed sign-in of key and returns the number of failures remembered and
// the lockout it starts (0 while failures are still free).
func (t *throttle) fail(key string, now time.Time) (count int, lockout time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.keys[key]
	if f == nil {
		if len(t.keys) >= t.max {
			t.evict(now)
		}
		f = &failures{}
		t.keys[key] = f
	}
	if now.Sub(f.last) > t.forget {
		f.count = 0
	}
	f.count++
	f.last = now
	if f.count > t.free {
		lockout = t.cap
		if n := f.count - t.free - 1; n < 30 {
			lockout = min(t.cap, t.base<<n)
		}
		f.until = now.Add(lockout)
	}
	return f.count, lockout
}

// succeed forgets the failures of key.
func (t *throttle) succeed(key string) {
	t.mu.Lock()
	delete(t.keys, key)
	t.mu.Unlock()
}

// evict makes room for a new key: it drops the keys whose failures are forgotten, and when
// that is not enough, a tenth of those not locked out (in Go's random map order).
func (t *throttle) evict(now time.Time) {
	for k, f := range t.keys {
		if now.Sub(f.last) > t.forget {
			delete(t.keys, k)
		}
	}
	for k, f := range t.keys {
		if len(t.keys) < t.max*9/10 {
			return
		}
		if !f.until.After(now) {
			delete(t.keys, k)
		}
	}
}

// loginKey is the throttle key of a login: the login ignoring letter case, as it signs in,
// or a digest of it when it is long (a key's memory stays small whatever is sent).
func loginKey(login string) string {
	login = strings.ToLower(login)
	if len(login) <= 200 {
		return login
	}
	sum := sha256.Sum256([]byte(login))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// addressKey is the throttle key of a source address. An IPv6 address counts by its /64,
// the block one subscriber usually holds.
func addressKey(addr netip.Addr) string {
	if addr.Is6() && !addr.Is4In6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.Unmap().String()
}

// ClientAddress returns the address a request comes from: its peer's, or, when the peer
// is a trusted proxy, the last address in X-Forwarded-For that is not one of the trusted
// proxies (the addresses before it were written by the client and prove nothing).
func ClientAddress(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return a
		}
		peer = a
	}
	return peer
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
