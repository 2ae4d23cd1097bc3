// Package signin guards password sign-ins, the API's credentials and the console's form
// alike: it slows the guessing of passwords per login and per source address, and bounds
// the bcrypt work in progress. A process has one Guard, so that guesses at a login count
// the same wherever they come in.
package signin

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/custd/custd/internal/customer"
)

// Bounds of the password comparisons in progress: bcrypt is slow on purpose, so at most
// half the processor's cores compare passwords at once (the rest serve requests of users
// already signed in), and at most maxWaitingSignIns more wait, each for at most
// signInWait, before being told to retry.
var maxComparing = max(1, runtime.GOMAXPROCS(0)/2)

const (
	maxWaitingSignIns = 64
	signInWait        = 5 * time.Second
)

// Guard throttles failed sign-ins per login and per source address, before any password
// is compared, and bounds the password comparisons in progress.
type Guard struct {
	byLogin, byAddress *throttle
	comparing          chan struct{} // a token per password comparison in progress
	waiting            atomic.Int32  // sign-ins waiting for a token
}

// New returns a Guard with the throttles of docs/decisions.md: a login gets 5 free
// failures, then waits 1 s, 2 s, 4 s … up to 15 s; an address 20, then up to a minute.
func New() *Guard {
	return &Guard{byLogin: newLoginThrottle(), byAddress: newAddressThrottle(), comparing: make(chan struct{}, maxComparing)}
}

// RetryLater is an error whose caller may try again after a known time (Retry-After).
type RetryLater struct {
	Err   error
	After time.Duration
	Why   string // what the error says, without how to go on: "too many failed sign-ins as alice@acme"
}

// retry returns the RetryLater of why, told to retry after d.
func retry(d time.Duration, format string, args ...any) *RetryLater {
	why := fmt.Sprintf(format, args...)
	return &RetryLater{Err: customer.Errorf(customer.RateLimited, "%s: retry after the Retry-After seconds", why), After: d, Why: why}
}

func (e *RetryLater) Error() string { return e.Err.Error() }
func (e *RetryLater) Unwrap() error { return e.Err }

// Check returns a RateLimited *RetryLater when the login (username@clientcode, as sent)
// or the address is locked out by earlier failures; an invalid address is not checked.
func (g *Guard) Check(login string, addr netip.Addr, now time.Time) error {
	if d := g.byLogin.wait(loginKey(login), now); d > 0 {
		return retry(d, "too many failed sign-ins as %s", login)
	}
	if addr.IsValid() {
		if d := g.byAddress.wait(addressKey(addr), now); d > 0 {
			return retry(d, "too many failed sign-ins from this address")
		}
	}
	return nil
}

// Failure is what a failed sign-in counted, for the log.
type Failure struct {
	LoginFailures, AddressFailures int
	Lockout                        time.Duration // the lockout it started, 0 for none
}

// Failed counts a failed sign-in against the login and the address.
func (g *Guard) Failed(login string, addr netip.Addr, now time.Time) Failure {
	var f Failure
	f.LoginFailures, f.Lockout = g.byLogin.fail(loginKey(login), now)
	if addr.IsValid() {
		n, lockout := g.byAddress.fail(addressKey(addr), now)
		f.AddressFailures, f.Lockout = n, max(f.Lockout, lockout)
	}
	return f
}

// Succeeded forgets the failures of the login.
func (g *Guard) Succeeded(login string) { g.byLogin.succeed(loginKey(login)) }

// Compare checks a password against a bcrypt hash (customer.CheckPassword: an empty hash
// costs the same and never matches) once a comparison token is free.
// Errors: RateLimited, a *RetryLater (too many sign-ins waiting, or none freed in time).
func (g *Guard) Compare(ctx context.Context, hash, password string) (bool, error) {
	select {
	case g.comparing <- struct{}{}:
	default:
		if g.waiting.Add(1) > maxWaitingSignIns {
			g.waiting.Add(-1)
			return false, retry(time.Second, "too many sign-ins are being checked at once")
		}
		t := time.NewTimer(signInWait)
		defer t.Stop()
		select {
		case g.comparing <- struct{}{}:
			g.waiting.Add(-1)
		case <-t.C:
			g.waiting.Add(-1)
			return false, retry(time.Second, "too many sign-ins are being checked at once")
		case <-ctx.Done():
			g.waiting.Add(-1)
			return false, retry(time.Second, "too many sign-ins are being checked at once")
		}
	}
	defer func() { <-g.comparing }()
	return customer.CheckPassword(hash, password), nil
}
