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
	userKey
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// middleware wraps the routes in what every request goes through, outermost first:
// a request id, the request log, panic recovery, cross-origin requests, and
// case-insensitive resource paths.
func (s *server) middleware(routes []route, next http.Handler) http.Handler {
	return s.withRequestID(s.logRequests(s.recoverPanics(s.crossOrigin(canonicalPaths(routes, next)))))
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

// statusRecorder remembers the status and size of a response for the log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequests writes one structured line per request. It logs the login name of an
// authenticated user, never the Authorization header or a password.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		var login string
		ctx := context.WithValue(r.Context(), userKey, &login)
		next.ServeHTTP(rec, r.WithContext(ctx))
		s.log.LogAttrs(ctx, levelOf(rec.status), "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int("bytes", rec.bytes),
			slog.String("request_id", requestID(ctx)),
			slog.String("user", login),
			slog.String("remote", r.RemoteAddr),
		)
	})
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

// requireAuth authenticates the request and, for writes, checks the user's role.
func (s *server) requireAuth(write bool, next func(*http.Request, *customer.User) (*response, error)) handlerFunc {
	return func(r *http.Request) (*response, error) {
		u, err := s.auth.authenticate(r)
		if err != nil {
			return nil, err
		}
		if login, ok := r.Context().Value(userKey).(*string); ok {
			*login = u.Username + "@" + u.ClientCode
		}
		if err := s.limits.allow(u.ID); err != nil {
			return nil, err
		}
		if write && !u.Role.CanWrite() {
			return nil, customer.Errorf(customer.Forbidden, "user %s@%s has the %s role, which cannot change customers", u.Username, u.ClientCode, u.Role)
		}
		return next(r, u)
	}
}
