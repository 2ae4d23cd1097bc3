package console

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/custd/custd/internal/customer"
)

type ctxKey int

const stateKey ctxKey = 0

// state is what is learnt of a request while it is served, for its log line, its metrics
// and its request log record: the response's status and size, the route, the user, the
// customer the page is about, and the error a failed request was answered with.
type state struct {
	http.ResponseWriter
	start      time.Time
	status     int
	bytes      int
	requestID  string
	route      string // the matched route's pattern without its method
	user       *customer.User
	customerID int32
	failure    string // what a request answered with 400 or more was told
	// The login of a sign-in that failed: filed under the client it names.
	claimedUser, claimedClient string

	method, path string
	duration     time.Duration
}

func stateOf(r *http.Request) *state {
	st, _ := r.Context().Value(stateKey).(*state)
	return st
}

func (st *state) WriteHeader(status int) {
	if st.status == 0 {
		st.status = status
	}
	st.ResponseWriter.WriteHeader(status)
}

func (st *state) Write(b []byte) (int, error) {
	if st.status == 0 {
		st.status = http.StatusOK
	}
	n, err := st.ResponseWriter.Write(b)
	st.bytes += n
	return n, err
}

func (st *state) Unwrap() http.ResponseWriter { return st.ResponseWriter }

// Record is the request log record of an answered console request. The query string is
// not kept: a console page's filters are a person's searches (names, emails), and the
// path and status tell what happened.
func (st *state) Record() *customer.LoggedRequest {
	r := &customer.LoggedRequest{
		RequestID:  st.requestID,
		Created:    st.start,
		Method:     st.method,
		Path:       st.path,
		Status:     st.status,
		Duration:   st.duration,
		CustomerID: st.customerID,
		Error:      st.failure,
	}
	if u := st.user; u != nil {
		r.ClientID, r.Username = u.ClientID, u.Username
	} else {
		r.ClientCode, r.Username = st.claimedClient, st.claimedUser
	}
	if st.status >= 400 && r.Error == "" {
		r.Error = http.StatusText(st.status)
	}
	r.Clean()
	return r
}

// contentPolicy allows the pages only their own scripts, styles and images, and no
// framing: with it, text that slipped into a page unescaped still could not run.
const contentPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// observe gives each request an id, the pages' security headers, one log line, its
// metrics and, for sign-ins, writes and failures of a known client, a request log record.
func (c *console) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [12]byte
		rand.Read(b[:])
		st := &state{ResponseWriter: w, start: time.Now(), requestID: hex.EncodeToString(b[:])}
		h := w.Header()
		h.Set("X-Request-Id", st.requestID)
		h.Set("Content-Security-Policy", contentPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		ctx := context.WithValue(r.Context(), stateKey, st)
		next.ServeHTTP(st, r.WithContext(ctx))
		st.duration = time.Since(st.start)
		if st.status == 0 {
			st.status = http.StatusOK
		}
		route := st.route
		if route == "" {
			route = "unmatched"
		}
		c.metrics.ObserveRequest(route, r.Method, st.status, st.duration)
		var login, client string
		if st.user != nil {
			login, client = st.user.Username+"@"+st.user.ClientCode, st.user.ClientCode
		}
		level := slog.LevelInfo
		if st.status >= 500 {
			level = slog.LevelError
		}
		c.log.LogAttrs(ctx, level, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", route),
			slog.Int("status", st.status),
			slog.Float64("duration_ms", float64(st.duration.Microseconds())/1000),
			slog.Int("bytes", st.bytes),
			slog.String("request_id", st.requestID),
			slog.String("user", login),
			slog.String("client", client),
			slog.String("remote", r.RemoteAddr),
		)
		if c.reqlog != nil && (r.Method == http.MethodPost || st.status >= 400) && (st.user != nil || st.claimedClient != "") {
			st.method, st.path = r.Method, r.URL.Path
			st.ResponseWriter = nil // answered: let the connection's writer go
			c.reqlog.Add(st)
		}
	})
}

// routed tells the request's state which route matched.
func routed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := stateOf(r); st != nil {
			_, st.route, _ = strings.Cut(r.Pattern, " ")
			if st.route == "" {
				st.route = r.Pattern
			}
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic in a handler into an error page that names the request id.
func (c *console) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				c.fail(w, r, nil, fmt.Errorf("panic: %v", p))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// sameOrigin refuses a form posted from another site before anything else looks at it,
// on the browser's word (Sec-Fetch-Site, Origin). The token of every form is the check
// that does not depend on the browser; this one is a second lock.
func (c *console) sameOrigin(next http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, nil, customer.Errorf(customer.Forbidden, "this form was sent from another site; open the console and send it from there"))
	}))
	return p.Handler(next)
}

// statusOf maps each error kind to the status of the page that reports it. A save that
// lost a race with another (PreconditionFailed) is a conflict here: the form carried the
// version read, not an If-Match header.
var statusOf = map[customer.Kind]int{
	customer.Internal:             http.StatusInternalServerError,
	customer.Invalid:              http.StatusBadRequest,
	customer.Unauthorized:         http.StatusUnauthorized,
	customer.Forbidden:            http.StatusForbidden,
	customer.NotFound:             http.StatusNotFound,
	customer.MethodNotAllowed:     http.StatusMethodNotAllowed,
	customer.Conflict:             http.StatusConflict,
	customer.PreconditionFailed:   http.StatusConflict,
	customer.TooLarge:             http.StatusRequestEntityTooLarge,
	customer.UnsupportedMediaType: http.StatusUnsupportedMediaType,
	customer.IdempotencyMismatch:  http.StatusUnprocessableEntity,
	customer.RateLimited:          http.StatusTooManyRequests,
	customer.Unavailable:          http.StatusServiceUnavailable,
}

// fail answers a request with the page of an error. An unexpected error is logged with
// its cause, and the page tells only the request id.
func (c *console) fail(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	kind := customer.KindOf(err)
	status := statusOf[kind]
	var e *customer.Error
	msg := "Something went wrong."
	if errors.As(err, &e) && kind != customer.Internal {
		msg = e.Message
	}
	st := stateOf(r)
	if kind == customer.Internal || kind == customer.Unavailable {
		id := ""
		if st != nil {
			id = st.requestID
		}
		c.log.Error("console request failed", "request_id", id, "path", r.URL.Path, "err", err)
		if kind == customer.Internal {
			msg = "Something went wrong on the server. Its log names this request " + id + "."
		}
	}
	if st != nil {
		st.failure = msg
	}
	if kind == customer.RateLimited {
		w.Header().Set("Retry-After", "60")
	}
	c.render(w, r, v, status, "error", "Error", errorPage{Status: status, Title: http.StatusText(status), Message: msg})
}

// errorPage is what the error page shows.
type errorPage struct {
	Status         int
	Title, Message string
}
