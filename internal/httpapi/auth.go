package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/signin"
)

// verifiedFor is how long a verified login is trusted without reading its user again.
// The user is then re-read (cheaply); the slow password hash is compared again only when
// the stored hash changed. So a user disabled, or given a new password, from the command
// line or another process is refused by every process within verifiedFor.
const verifiedFor = 5 * time.Second

// maxVerified bounds the cache of verified logins.
const maxVerified = 10_000

// authenticator checks HTTP Basic credentials "username@clientcode:password" against the
// store. bcrypt makes each check slow on purpose, so a verified login is remembered by a
// keyed digest of the credentials, and concurrent checks of one login share one
// comparison. Failed sign-ins are throttled per login and per source address before any
// password is compared, and comparisons are bounded, by the process's signin.Guard.
type authenticator struct {
	logins  customer.Logins
	log     *slog.Logger
	key     [32]byte
	trusted []netip.Prefix // proxies whose X-Forwarded-For is believed
	guard   *signin.Guard
	timeout time.Duration // of reading a user

	mu       sync.Mutex
	verified map[[32]byte]*verified
}

type verified struct {
	done chan struct{} // closed when user, err and at are set
	user *customer.User
	err  error
	at   time.Time
}

// reusable reports whether v is a finished successful check that is still trusted.
func (v *verified) reusable() bool {
	select {
	case <-v.done:
		return v.err == nil && time.Since(v.at) < verifiedFor
	default:
		return true // still running: wait for it
	}
}

func newAuthenticator(logins customer.Logins, log *slog.Logger, trusted []netip.Prefix, guard *signin.Guard, timeout time.Duration) *authenticator {
	a := &authenticator{logins: logins, log: log, trusted: trusted, guard: guard, timeout: timeout, verified: map[[32]byte]*verified{}}
	rand.Read(a.key[:])
	return a
}

var errUnauthorized = customer.Errorf(customer.Unauthorized,
	"send HTTP Basic credentials username@clientcode:password of an existing user")

// Why a sign-in failed, for the log; the caller is told only errUnauthorized's message.
var (
	errNoSuchUser    = errors.New("no such user")
	errWrongPassword = errors.New("wrong password")
	errDisabled      = errors.New("the user is disabled")
)

// unauthorized is errUnauthorized with the reason as its cause.
func unauthorized(reason error) error {
	return &customer.Error{Kind: customer.Unauthorized, Message: errUnauthorized.Message, Err: reason}
}

// authenticate returns the user whose credentials the request carries.
// Errors: Unauthorized, RateLimited (too many failed sign-ins, or too many in progress),
// Unavailable.
func (a *authenticator) authenticate(r *http.Request) (*customer.User, error) {
	login, password, ok := r.BasicAuth()
	if !ok {
		return nil, errUnauthorized
	}
	username, code, ok := customer.SplitLogin(login)
	if !ok {
		return nil, customer.Errorf(customer.Unauthorized, "the username must have the form username@clientcode")
	}
	h := sha256.New()
	h.Write(a.key[:])
	h.Write([]byte(customer.Fold(login)))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var digest [32]byte
	h.Sum(digest[:0])
	addr := signin.ClientAddress(r, a.trusted)

	a.mu.Lock()
	v := a.verified[digest]
	if v != nil && v.reusable() {
		a.mu.Unlock()
		<-v.done
		return v.user, v.err
	}
	// Credentials verified before (v) need no password comparison: only others are
	// throttled.
	if v == nil {
		if err := a.guard.Check(login, addr, time.Now()); err != nil {
			a.mu.Unlock()
			return nil, err
		}
	}
	mine := &verified{done: make(chan struct{})}
	if len(a.verified) >= maxVerified {
		clear(a.verified)
	}
	a.verified[digest] = mine
	a.mu.Unlock()

	mine.user, mine.err = a.check(r, username, code, password, v)
	mine.at = time.Now()
	close(mine.done)
	if mine.err != nil {
		a.mu.Lock()
		if a.verified[digest] == mine {
			delete(a.verified, digest)
		}
		a.mu.Unlock()
	}
	switch {
	case mine.err == nil:
		a.guard.Succeeded(login)
	case customer.IsKind(mine.err, customer.Unauthorized):
		a.failed(r, login, addr, mine.err)
	}
	return mine.user, mine.err
}

// failed counts a failed sign-in against the login and the address, and logs it (never
// the password).
func (a *authenticator) failed(r *http.Request, login string, addr netip.Addr, err error) {
	f := a.guard.Failed(login, addr, time.Now())
	attrs := []slog.Attr{
		slog.String("login", login),
		slog.String("address", addr.String()),
		slog.String("request_id", requestID(r.Context())),
		slog.String("reason", reasonOf(err)),
		slog.Int("login_failures", f.LoginFailures),
	}
	if addr.IsValid() {
		attrs = append(attrs, slog.Int("address_failures", f.AddressFailures))
	}
	if f.Lockout > 0 {
		attrs = append(attrs, slog.Float64("locked_out_s", f.Lockout.Seconds()))
	}
	a.log.LogAttrs(r.Context(), slog.LevelWarn, "sign-in failed", attrs...)
}

func reasonOf(err error) string {
	for _, r := range []error{errNoSuchUser, errWrongPassword, errDisabled} {
		if errors.Is(err, r) {
			return r.Error()
		}
	}
	return "no credentials"
}

// check reads the user and compares the password, skipping the slow comparison when an
// earlier verification of the same credentials saw the same stored hash.
func (a *authenticator) check(r *http.Request, username, code, password string, earlier *verified) (*customer.User, error) {
	// Other requests may wait for this check: it must not end with this request, but it
	// has the time of one.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), a.timeout)
	defer cancel()
	user, err := a.logins.UserByLogin(ctx, code, username)
	if customer.IsKind(err, customer.NotFound) {
		// Cost the same as a wrong password, so that the time taken tells nothing.
		if _, err := a.guard.Compare(ctx, "", password); err != nil {
			return nil, err
		}
		return nil, unauthorized(errNoSuchUser)
	}
	if err != nil {
		return nil, err
	}
	known := earlier != nil && earlier.err == nil && earlier.user.ID == user.ID && earlier.user.PasswordHash == user.PasswordHash
	if !known {
		match, err := a.guard.Compare(ctx, user.PasswordHash, password)
		if err != nil {
			return nil, err
		}
		if !match {
			return nil, unauthorized(errWrongPassword)
		}
	}
	// Told only to whoever knows the password.
	if user.Disabled {
		return nil, &customer.Error{Kind: customer.Unauthorized, Message: "user " + user.Login() + " is disabled", Err: errDisabled}
	}
	return user, nil
}

// rateLimits holds one token bucket per user.
type rateLimits struct {
	perSecond rate.Limit
	mu        sync.Mutex
	users     map[int32]*rate.Limiter
}

func newRateLimits(perSecond float64) *rateLimits {
	return &rateLimits{perSecond: rate.Limit(perSecond), users: map[int32]*rate.Limiter{}}
}

// allow takes a token from the user's bucket. Errors: RateLimited.
func (l *rateLimits) allow(user int32) error {
	if l.perSecond <= 0 {
		return nil
	}
	l.mu.Lock()
	lim := l.users[user]
	if lim == nil {
		lim = rate.NewLimiter(l.perSecond, max(1, int(2*l.perSecond)))
		l.users[user] = lim
	}
	l.mu.Unlock()
	if !lim.Allow() {
		return customer.Errorf(customer.RateLimited, "too many requests: at most %g per second per user; retry after the Retry-After seconds", float64(l.perSecond))
	}
	return nil
}
