package console

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/signin"
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

// signIn checks the login and password as the API does (the same users, the same
// process-wide throttle of failed sign-ins and bound on bcrypt work, a comparison as slow
// for a login that does not exist), starts a session, and sends the browser on. Failures
// are recorded in the request log of the client the login names.
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
	addr := signin.ClientAddress(r, c.trusted)
	tooMany := func(err error) error {
		var rl *signin.RetryLater
		if !errors.As(err, &rl) {
			return err
		}
		secs := int(math.Ceil(rl.After.Seconds()))
		p.Error = fmt.Sprintf("%s%s: try again in %d second%s.", strings.ToUpper(rl.Why[:1]), rl.Why[1:], secs, map[bool]string{true: "s"}[secs != 1])
		st.failure = rl.Why
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		return c.showSignIn(w, r, http.StatusTooManyRequests, p)
	}
	if err := c.signins.Check(login, addr, time.Now()); err != nil {
		return tooMany(err)
	}
	u, err := c.store.UserByLogin(r.Context(), code, username)
	hash := ""
	switch {
	case err == nil:
		hash = u.PasswordHash
	case !customer.IsKind(err, customer.NotFound):
		return err
	}
	match, err := c.signins.Compare(r.Context(), hash, password)
	if err != nil {
		return tooMany(err)
	}
	reason := ""
	switch {
	case !match && u == nil:
		reason, p.Error = "no such user", "The username or the password is not right."
	case !match:
		reason, p.Error = "wrong password", "The username or the password is not right."
	case u.Disabled: // told only to whoever knows the password, as the API does
		reason, p.Error = "the user is disabled", "User "+u.Login()+" is disabled: an administrator of custd can enable it again."
	}
	if reason != "" {
		f := c.signins.Failed(login, addr, time.Now())
		c.log.Warn("console sign-in failed", "login", login, "address", addr.String(), "request_id", st.requestID, "reason", reason,
			"login_failures", f.LoginFailures, "address_failures", f.AddressFailures, "locked_out_s", f.Lockout.Seconds())
		st.failure = map[bool]string{true: "wrong username or password", false: reason}[reason != "the user is disabled"]
		return c.showSignIn(w, r, http.StatusUnauthorized, p)
	}
	c.signins.Succeeded(login)
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
