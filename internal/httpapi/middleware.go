package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/custd/custd/internal/customer"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	stateKey
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// middleware wraps the routes in what every request goes through, outermost first:
// a request id, the log line, metrics and request log, panic recovery, cross-origin
// requests, the deadline of its store calls, and case-insensitive resource paths.
func (s *server) middleware(routes []route, next http.Handler) http.Handler {
	return s.withRequestID(s.observe(s.recoverPanics(s.crossOrigin(s.storeDeadline(canonicalPaths(routes, next))))))
}

// storeDeadline gives each request storeTimeout for all the store calls it makes: a store
// that stops answering (a frozen database server, a lock held elsewhere) is answered 503
// when it passes, instead of holding the request, and a client, for as long as it stays.
func (s *server) storeDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.storeTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// What a page of an allowed origin may send and read (CORS). The response headers
// listed are those a browser hides from scripts unless told.
const (
	corsMethods       = "GET, HEAD, POST, PUT, PATCH, DELETE"
	corsHeaders       = "Authorization, Content-Type, Accept, If-Match, If-None-Match, If-Modified-Since, Idempotency-Key, X-Request-Id, X-Hook-Secret, Ocp-Apim-Subscription-Key"
	corsExposed       = "ETag, Location, Idempotent-Replayed, Retry-After, X-Request-Id, WWW-Authenticate"
	corsMaxAgeSeconds = "7200"
)

// crossOrigin lets the pages of the configured origins call the API from a browser
// (CORS); with no origins configured it does nothing, and browsers keep other sites'
// pages from reading the API's answers. A preflight request (OPTIONS with
// Access-Control-Request-Method) from an allowed origin is answered here with 204 and
// what may be sent, without credentials, as browsers send none with it. Pages send the
// Authorization header themselves, so no cookie is involved and
// Access-Control-Allow-Credentials is not given.
func (s *server) crossOrigin(next http.Handler) http.Handler {
	if s.origins == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		allow := ""
		if origin := r.Header.Get("Origin"); origin != "" {
			if s.origins["*"] {
				allow = "*"
			} else if s.origins[strings.ToLower(origin)] {
				allow = origin
			}
		}
		if !s.origins["*"] {
			h.Add("Vary", "Origin") // the answer differs by origin: caches must keep them apart
		}
		if allow == "" {
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", allow)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAgeSeconds)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", corsExposed)
		next.ServeHTTP(w, r)
	})
}

// ParseOrigins reads a comma-separated list of web origins for Config.CORSOrigins: each
// scheme://host[:port] with http or https and nothing after it, or "*" for any origin.
// Errors: the first entry that is not an origin.
func ParseOrigins(list string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o != "*" {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
				u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "/") {
				return nil, fmt.Errorf("%q is not a web origin: write scheme://host[:port], such as https://portal.example.com, or *", o)
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// withRequestID gives each request an id, taken from a well-formed X-Request-Id header or
// made new, and returns it in the response's X-Request-Id.
func (s *server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			var b [12]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// requestState is what is learnt of a request while it is served, for its log line, its
// metrics and its request log record: the response's status and size, the route that
// matched, the customer its path names, the user it authenticated as, the start of an
// error body. The handlers fill it in through the request's context.
type requestState struct {
	http.ResponseWriter
	start      time.Time
	status     int
	bytes      int
	route      string // the matched route's pattern without its method; "" when none matched
	customerID int32  // the {id} of the path, when it is one
	user       *customer.User
	// errBody is the start of the body of a response of 400 or more, kept when keepErr
	// is set (for the request log record's error).
	errBody []byte
	keepErr bool

	// What the request log record needs beside the above, taken from the request once
	// it has been answered. Never the Authorization header itself.
	method, path, rawQuery, requestID, idempotencyKey string
	claimedUser, claimedClient                        string // of credentials that failed
	duration                                          time.Duration
	replayed                                          bool
}

// maxErrBody is how much of an error body the request log looks into for its message,
// which comes first after ok.
const maxErrBody = 2048

func stateOf(r *http.Request) *requestState {
	st, _ := r.Context().Value(stateKey).(*requestState)
	return st
}

func (st *requestState) WriteHeader(status int) {
	if st.status == 0 {
		st.status = status
	}
	st.ResponseWriter.WriteHeader(status)
}

func (st *requestState) Write(b []byte) (int, error) {
	if st.status == 0 {
		st.status = http.StatusOK
	}
	if st.keepErr && st.status >= 400 && len(st.errBody) < maxErrBody {
		st.errBody = append(st.errBody, b[:min(len(b), maxErrBody-len(st.errBody))]...)
	}
	n, err := st.ResponseWriter.Write(b)
	st.bytes += n
	return n, err
}

func (st *requestState) Unwrap() http.ResponseWriter { return st.ResponseWriter }

// routeLabel is the route of the metrics and the log: the matched route's pattern, or one
// fixed word for every path that no route has.
func (st *requestState) routeLabel() string {
	if st.route == "" || st.route == "/" {
		return "unmatched"
	}
	return st.route
}

// observe writes one structured line per request, counts it in the metrics and hands it
// to the request log. It logs the login name of an authenticated user, never the
// Authorization header or a password.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &requestState{ResponseWriter: w, start: time.Now(), keepErr: s.reqlog != nil}
		ctx := context.WithValue(r.Context(), stateKey, st)
		next.ServeHTTP(st, r.WithContext(ctx))
		st.duration = time.Since(st.start)
		if st.status == 0 {
			st.status = http.StatusOK
		}
		route := st.routeLabel()
		s.metrics.ObserveRequest(route, r.Method, st.status, st.duration)
		var login, client string
		if st.user != nil {
			login, client = st.user.Username+"@"+st.user.ClientCode, st.user.ClientCode
		}
		s.log.LogAttrs(ctx, levelOf(st.status), "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", route),
			slog.Int("status", st.status),
			slog.Float64("duration_ms", float64(st.duration.Microseconds())/1000),
			slog.Int("bytes", st.bytes),
			slog.String("request_id", requestID(ctx)),
			slog.String("user", login),
			slog.String("client", client),
			slog.String("remote", r.RemoteAddr),
		)
		if s.reqlog != nil && apiPath(r.URL.Path) {
			st.method, st.path, st.rawQuery, st.requestID = r.Method, r.URL.Path, r.URL.RawQuery, requestID(ctx)
			st.idempotencyKey = r.Header.Get("Idempotency-Key")
			st.replayed = st.Header().Get("Idempotent-Replayed") == "true"
			st.ResponseWriter = nil // answered: let the connection's writer go
			if st.user == nil {
				// A request that did not authenticate is filed under the client its
				// credentials name, if any: that is where a guessed password shows.
				if claimed, _, ok := r.BasicAuth(); ok {
					st.claimedUser, st.claimedClient, _ = customer.SplitLogin(claimed)
				}
				if st.claimedClient == "" {
					return
				}
			}
			s.reqlog.Add(st)
		}
	})
}

// apiPath reports whether a path is one of the API's resources (under /v1, in any letter
// case), whose requests the request log records.
func apiPath(p string) bool {
	return len(p) >= 3 && strings.EqualFold(p[:3], "/v1") && (len(p) == 3 || p[3] == '/')
}

func levelOf(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// recoverPanics turns a panic in a handler into a 500 that names the request id.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.writeError(w, r, fmt.Errorf("panic: %v", p))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// canonicalPaths matches the literal segments of API paths ignoring letter case, as the
// contract requires: /V1/customers/7/history is served as /v1/Customers/7/History. The
// segments are those of the routes' patterns under /v1/.
func canonicalPaths(routes []route, next http.Handler) http.Handler {
	canonical := map[string]string{}
	for _, rt := range routes {
		if !strings.HasPrefix(rt.pattern, "/v1/") {
			continue
		}
		for _, seg := range strings.Split(rt.pattern[1:], "/") {
			if !strings.HasPrefix(seg, "{") {
				canonical[strings.ToLower(seg)] = seg
			}
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Path) > 3 && strings.EqualFold(r.URL.Path[:4], "/v1/") {
			segs := strings.Split(r.URL.Path[1:], "/")
			changed := false
			for i, seg := range segs {
				if c, ok := canonical[strings.ToLower(seg)]; ok && c != seg {
					segs[i], changed = c, true
				}
			}
			if changed {
				r2 := *r
				u := *r.URL
				u.Path = "/" + strings.Join(segs, "/")
				u.RawPath = ""
				r2.URL = &u
				r = &r2
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requireAuth runs next for the user the request authenticates as, if authorize lets it.
func (s *server) requireAuth(write bool, next func(*http.Request, *customer.User) (*response, error)) handlerFunc {
	return func(r *http.Request) (*response, error) {
		u, err := s.authorize(r, write)
		if err != nil {
			return nil, err
		}
		return next(r, u)
	}
}

// authorize authenticates the request, counts it against the user's rate limit and, for
// writes, checks the user's role. Errors: Unauthorized, RateLimited, Forbidden, Unavailable.
func (s *server) authorize(r *http.Request, write bool) (*customer.User, error) {
	u, err := s.auth.authenticate(r)
	if err != nil {
		return nil, err
	}
	if st := stateOf(r); st != nil {
		st.user = u
	}
	if err := s.limits.allow(u.ID); err != nil {
		return nil, err
	}
	if write && !u.Role.CanWrite() {
		return nil, customer.Errorf(customer.Forbidden, "user %s@%s has the %s role, which cannot change customers", u.Username, u.ClientCode, u.Role)
	}
	return u, nil
}
