package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/custd/custd/internal/customer"
)

// verifiedFor is how long a verified login is trusted without reading its user again.
// The user is then re-read (cheaply); the slow password hash is compared again only when
// the stored hash changed.
const verifiedFor = 5 * time.Second

// maxVerified bounds the cache of verified logins.
const maxVerified = 10_000

// authenticator checks HTTP Basic credentials "username@clientcode:password" against the
// store. bcrypt makes each check slow on purpose, so a verified login is remembered by a
// keyed digest of the credentials, and concurrent checks of one login share one
// comparison.
type authenticator struct {
	logins customer.Logins
	key    [32]byte

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

func newAuthenticator(logins customer.Logins) *authenticator {
	a := &authenticator{logins: logins, verified: map[[32]byte]*verified{}}
	rand.Read(a.key[:])
	return a
}

var errUnauthorized = customer.Errorf(customer.Unauthorized,
	"send HTTP Basic credentials username@clientcode:password of an existing user")

// authenticate returns the user whose credentials the request carries.
// Errors: Unauthorized, Unavailable.
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

	a.mu.Lock()
	v := a.verified[digest]
	if v != nil && v.reusable() {
		a.mu.Unlock()
		<-v.done
		return v.user, v.err
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
	return mine.user, mine.err
}

// check reads the user and compares the password, skipping the slow comparison when an
// earlier verification of the same credentials saw the same stored hash.
func (a *authenticator) check(r *http.Request, username, code, password string, earlier *verified) (*customer.User, error) {
	// Other requests may wait for this check: it must not end with this request.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	user, err := a.logins.UserByLogin(ctx, code, username)
	if customer.IsKind(err, customer.NotFound) {
		customer.CheckPassword("", password) // cost the same as a wrong password
		return nil, errUnauthorized
	}
	if err != nil {
		return nil, err
	}
	if earlier != nil && earlier.err == nil && earlier.user.ID == user.ID && earlier.user.PasswordHash == user.PasswordHash {
		return user, nil
	}
	if !customer.CheckPassword(user.PasswordHash, password) {
		return nil, errUnauthorized
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
