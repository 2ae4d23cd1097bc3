package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/custd/custd/internal/customer"
)

// The console's cookies. Both are HttpOnly, SameSite=Strict, limited to the console's
// path, and Secure when the request came over TLS.
const (
	// sessionCookie holds the id of the browser's session.
	sessionCookie = "custd_console"
	// signInCookie holds the token of the sign-in form, before there is a session: the
	// form must carry the same, so that another site cannot sign a browser in.
	signInCookie = "custd_console_sign_in"
)

// maxForm is the largest form the console reads: a customer with every field and its
// custom fields fits.
const maxForm = 1 << 20

// visit is one request of a browser, signed in or not.
type visit struct {
	user      *customer.User // nil when not signed in
	sessionID string         // the id the browser holds
	// csrf is the token every form of the session carries: derived from the session id,
	// which only the browser and the server know, so another site cannot produce it.
	csrf string
}

// csrfToken derives the forms' token of a session from its id.
func csrfToken(sessionID string) string {
	m := hmac.New(sha256.New, []byte(sessionID))
	m.Write([]byte("custd console form"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// secure reports whether the browser reached custd over TLS, itself or through a proxy
// that says so.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge, HttpOnly: true,
		Secure: secure(r), SameSite: http.SameSiteStrictMode})
}

// handlerFunc is a page: it writes its answer, or returns an error that the adapter
// turns into an error page.
type handlerFunc func(w http.ResponseWriter, r *http.Request, v *visit) error

// session returns the visit of a signed-in browser, or nil when the request carries no
// session that may still be used. A session found idle for too long, or begun before its
// user's password changed, is deleted.
func (c *console) session(r *http.Request) (*visit, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || len(ck.Value) != 43 {
		return nil, nil
	}
	hash := customer.SessionHash(ck.Value)
	s, err := c.store.Session(r.Context(), hash)
	if customer.IsKind(err, customer.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := c.now()
	if s.Check(now, c.idle) != nil {
		if err := c.store.DeleteSession(r.Context(), hash); err != nil {
			return nil, err
		}
		return nil, nil
	}
	if now.Sub(s.LastSeen) >= customer.SessionTouchEvery {
		if err := c.store.TouchSession(r.Context(), hash, now); err != nil {
			return nil, err
		}
	}
	if st := stateOf(r); st != nil {
		st.user = s.User
	}
	return &visit{user: s.User, sessionID: ck.Value, csrf: csrfToken(ck.Value)}, nil
}

// serve adapts a page to http.Handler, turning its error into an error page.
func (c *console) serve(v func(r *http.Request) (*visit, error), h handlerFunc) http.Handler {
	return routed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store") // pages hold customer data
		vis, err := v(r)
		if err == nil {
			err = h(w, r, vis)
		}
		if err != nil {
			var redirect *redirectError
			if errors.As(err, &redirect) {
				http.Redirect(w, r, redirect.to, http.StatusSeeOther)
				return
			}
			c.fail(w, r, vis, err)
		}
	}))
}

// redirectError sends the browser elsewhere instead of answering.
type redirectError struct{ to string }

func (e *redirectError) Error() string { return "redirect to " + e.to }

// public serves a page to anyone, signed in or not.
func (c *console) public(h handlerFunc) http.Handler {
	return c.serve(func(r *http.Request) (*visit, error) {
		v, err := c.session(r)
		if v == nil && err == nil {
			v = &visit{}
		}
		return v, err
	}, h)
}

// signedIn serves a page to signed-in users only; the others are sent to the sign-in
// page, which brings them back. A form must carry the session's token.
func (c *console) signedIn(h handlerFunc) http.Handler {
	return c.serve(func(r *http.Request) (*visit, error) {
		v, err := c.session(r)
		if err != nil {
			return nil, err
		}
		if v == nil {
			to := Prefix + "sign-in"
			if r.Method == http.MethodGet {
				to += "?next=" + url.QueryEscape(r.URL.RequestURI())
			} else {
				to += "?expired=1"
			}
			return nil, &redirectError{to}
		}
		if r.Method == http.MethodPost {
			if err := parseForm(r); err != nil {
				return v, err
			}
			if !customer.EqualSecret(r.PostForm.Get("csrf"), v.csrf) {
				return v, customer.Errorf(customer.Forbidden, "this form is out of date or was not sent from the console; reload the page and send it again")
			}
		}
		return v, nil
	}, h)
}

// parseForm reads a posted form, up to maxForm. Errors: TooLarge, Invalid.
func parseForm(r *http.Request) error {
	r.Body = http.MaxBytesReader(nil, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return customer.Errorf(customer.TooLarge, "the form is larger than %d bytes", maxForm)
		}
		return customer.Errorf(customer.Invalid, "the form cannot be read: %v", err)
	}
	return nil
}

// writer serves a page to users whose role may change customers.
func (c *console) writer(h handlerFunc) http.Handler {
	return c.signedIn(func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if !v.user.Role.CanWrite() {
			return customer.Errorf(customer.Forbidden, "user %s@%s has the %s role, which cannot change customers", v.user.Username, v.user.ClientCode, v.user.Role)
		}
		return h(w, r, v)
	})
}

// admin serves a page to admin users only.
func (c *console) admin(h handlerFunc) http.Handler {
	return c.signedIn(func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if v.user.Role != customer.RoleAdmin {
			return customer.Errorf(customer.Forbidden, "user %s@%s has the %s role; only admin users may open this page", v.user.Username, v.user.ClientCode, v.user.Role)
		}
		return h(w, r, v)
	})
}

// newToken returns a random token of 256 bits.
func newToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
