package console

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/custd/custd/internal/customer"
)

// signInPage is what the sign-in page shows.
type signInPage struct {
	Login, Next, Token string
	Notice, Error      string
}

func (c *console) home(w http.ResponseWriter, r *http.Request, v *visit) error {
	if v.user == nil {
		return &redirectError{Prefix + "sign-in"}
	}
	return &redirectError{Prefix + "customers"}
}

// signInForm shows the sign-in form, with a new token for it in a cookie.
func (c *console) signInForm(w http.ResponseWriter, r *http.Request, v *visit) error {
	if v.user != nil {
		return &redirectError{localNext(r.URL.Query().Get("next"))}
	}
	p := signInPage{Next: localNext(r.URL.Query().Get("next"))}
	switch {
	case r.URL.Query().Has("expired"):
		p.Notice = "Your session ended. Sign in again to go on."
	case r.URL.Query().Has("signed_out"):
		p.Notice = "You signed out."
	}
	return c.showSignIn(w, r, http.StatusOK, p)
}

func (c *console) showSignIn(w http.ResponseWriter, r *http.Request, status int, p signInPage) error {
	p.Token = newToken()
	setCookie(w, r, signInCookie, p.Token, 0)
	c.render(w, r, &visit{}, status, "sign_in", "Sign in", p)
	return nil
}

// localNext returns where to go after signing in: a console page, never another site.
func localNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.ContainsAny(next, "\\\r\n") || strings.HasPrefix(next, "//") {
		return Prefix + "customers"
	}
	return next
}

// signIn checks the login and password as the API does (the same users, the same bcrypt
// comparison, as slow for a login that does not exist), starts a session, and sends the
// browser on. Failures are throttled per login and address, and recorded in the request
// log of the client the login names.
func (c *console) signIn(w http.ResponseWriter, r *http.Request, v *visit) error {
	if err := parseForm(r); err != nil {
		return err
	}
	ck, err := r.Cookie(signInCookie)
	if err != nil || !customer.EqualSecret(ck.Value, r.PostForm.Get("token")) || ck.Value == "" {
		return customer.Errorf(customer.Forbidden, "this sign-in form is out of date or was not sent from the console; reload the page and sign in again")
	}
	login, password := strings.TrimSpace(r.PostForm.Get("login")), r.PostForm.Get("password")
	p := signInPage{Login: login, Next: localNext(r.PostForm.Get("next"))}
	st := stateOf(r)
	username, code, ok := customer.SplitLogin(login)
	if !ok || len(login) > customer.MaxUsername+1+customer.MaxClientCode || len(password) > 1024 {
		p.Error = "Sign in as username@clientcode, with your password."
		st.failure = p.Error
		return c.showSignIn(w, r, http.StatusUnauthorized, p)
	}
	st.claimedUser, st.claimedClient = username, code
	key := customer.Fold(login) + "\x00" + remoteHost(r)
	if wait := c.throttle.wait(key, time.Now()); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		p.Error = fmt.Sprintf("Too many failed sign-ins as %s from here: try again in %d second%s.", login, secs, map[bool]string{true: "s"}[secs != 1])
		st.failure = "too many failed sign-ins"
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		return c.showSignIn(w, r, http.StatusTooManyRequests, p)
	}
	u, err := c.store.UserByLogin(r.Context(), code, username)
	hash := ""
	switch {
	case err == nil:
		hash = u.PasswordHash
	case !customer.IsKind(err, customer.NotFound):
		return err
	}
	if !customer.CheckPassword(hash, password) {
		c.throttle.fail(key, time.Now())
		c.log.Warn("console sign-in failed", "login", login, "address", remoteHost(r), "request_id", st.requestID)
		p.Error = "The username or the password is not right."
		st.failure = "wrong username or password"
		return c.showSignIn(w, r, http.StatusUnauthorized, p)
	}
	c.throttle.succeed(key)
	if v.sessionID != "" { // a browser signing in again leaves its old session behind
		if err := c.store.DeleteSession(r.Context(), customer.SessionHash(v.sessionID)); err != nil {
			return err
		}
	}
	s, id := customer.NewSession(u, c.now())
	if err := c.store.CreateSession(r.Context(), s); err != nil {
		return err
	}
	st.user = u
	setCookie(w, r, sessionCookie, id, 0)
	setCookie(w, r, signInCookie, "", -1)
	return &redirectError{p.Next}
}

// signOut ends the session.
func (c *console) signOut(w http.ResponseWriter, r *http.Request, v *visit) error {
	if err := c.store.DeleteSession(r.Context(), customer.SessionHash(v.sessionID)); err != nil {
		return err
	}
	setCookie(w, r, sessionCookie, "", -1)
	return &redirectError{Prefix + "sign-in?signed_out=1"}
}

// remoteHost is the address a request came from, as the connection says.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// throttle slows the guessing of passwords: it counts failed sign-ins per login and
// address; after a few free ones, each further failure locks that pair out for twice as
// long as the one before, up to a cap, and a locked-out sign-in is refused before any
// password is compared. Failures are forgotten after a quiet while, and at a success.
type throttle struct {
	free   int
	base   time.Duration
	cap    time.Duration
	forget time.Duration
	max    int

	mu   sync.Mutex
	keys map[string]*failures
}

type failures struct {
	count       int
	last, until time.Time
}

// newThrottle allows 5 failures, then locks out for 1 s, 2 s, 4 s … up to a minute.
func newThrottle() *throttle {
	return &throttle{free: 5, base: time.Second, cap: time.Minute, forget: 15 * time.Minute, max: 100_000, keys: map[string]*failures{}}
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

// fail records a failed sign-in of key.
func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.keys[key]
	if f == nil {
		if len(t.keys) >= t.max {
			for k, old := range t.keys { // make room: forget the quiet ones, then any
				if now.Sub(old.last) > t.forget || len(t.keys) >= t.max {
					delete(t.keys, k)
				}
			}
		}
		f = &failures{}
		t.keys[key] = f
	}
	if now.Sub(f.last) > t.forget {
		f.count = 0
	}
	f.count++
	f.last = now
	if n := f.count - t.free; n > 0 {
		lockout := t.cap
		if n < 30 {
			lockout = min(t.cap, t.base<<(n-1))
		}
		f.until = now.Add(lockout)
	}
}

// succeed forgets the failures of key.
func (t *throttle) succeed(key string) {
	t.mu.Lock()
	delete(t.keys, key)
	t.mu.Unlock()
}
