// Package httpapi serves the Customers API of the contract over HTTP: routing, credentials,
// the wire format, errors, conditional requests and idempotent retries, and what watches
// it: the log line, the metrics and the request log of every request. It knows the store
// only through the roles of customer.Store it uses.
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/metrics"
	"github.com/custd/custd/internal/repeats"
	"github.com/custd/custd/internal/reqlog"
	"github.com/custd/custd/internal/signin"
	"github.com/custd/custd/internal/webhook"
)

// Config is what the API needs.
type Config struct {
	Store  customer.Store
	Logger *slog.Logger
	// TimeFormat is how date-times are written; TimeRFC3339 when empty.
	TimeFormat TimeFormat
	// BaseURL, when set, prefixes the links in responses (such as https://billing.example.com);
	// otherwise they are built from the request's Host and X-Forwarded-Proto.
	BaseURL string
	// RateLimit is the most requests per second one user may make (bursts of twice as
	// many pass); 0 means no limit.
	RateLimit float64
	// WebhookGuard decides where webhook receivers may point; nil means the default
	// (https and public addresses only).
	WebhookGuard *webhook.Guard

	// Metrics, when set, counts every request; nil counts nothing.
	Metrics *metrics.Metrics
	// MetricsOnAPI serves Metrics at GET /metrics of the API itself, to admin users only.
	// Otherwise that path is a 404: the metrics are served on an address of their own
	// (Metrics.Handler), or not at all.
	MetricsOnAPI bool

	// NoRequestLog turns the request log off: no request is recorded, and GET
	// /v1/RequestLogs is a 404.
	NoRequestLog bool
	// RequestLogWriter, when set, is the writer the API hands its requests to, shared
	// with the console; its owner closes it, after the API's Close. When nil (and the
	// request log is on), New starts a writer of its own, which Close closes.
	RequestLogWriter *reqlog.Writer
	// RequestLogInterval is the longest a record waits in memory before it is written;
	// 250 ms when zero.
	RequestLogInterval time.Duration
	// RequestLogBuffer is the most records that wait in memory; a request that finds the
	// buffer full is not recorded (and counted in the metrics). 10,000 when zero.
	RequestLogBuffer int
	// TrustedProxies are the addresses of proxies (load balancers) whose X-Forwarded-For
	// header names the client's address, which failed sign-ins are counted against.
	// Without them the client's address is the connection's.
	TrustedProxies []netip.Prefix
	// SignIns throttles failed sign-ins and bounds password comparisons; share one with
	// the console, so that guesses count the same wherever they come in. A new one when
	// nil.
	SignIns *signin.Guard
	// CORSOrigins are the web origins (such as https://portal.example.com, or "*" for
	// any) whose pages may call the API from a browser; none when empty. See
	// ParseOrigins.
	CORSOrigins []string
	// StoreTimeout is the longest a request waits for the store, over all the calls it
	// makes, before it is answered 503; DefaultStoreTimeout when 0. The probe of /readyz
	// waits at most readyTimeout, or StoreTimeout when that is shorter.
	StoreTimeout time.Duration
}

// DefaultStoreTimeout is the StoreTimeout of a Config that sets none: far longer than any
// store call takes (a few milliseconds), far shorter than a client's own timeout.
const DefaultStoreTimeout = 5 * time.Second

// readyTimeout bounds the store probe of /readyz: a readiness check is itself given little
// time by what calls it (a second, by default, in Kubernetes).
const readyTimeout = time.Second

// server holds the dependencies the handlers share.
type server struct {
	customers    customer.Customers
	history      customer.History
	webhooks     customer.Webhooks
	guard        *webhook.Guard
	sender       *webhook.Sender
	keys         customer.Idempotency
	ping         func(context.Context) error
	log          *slog.Logger
	enc          encoder
	baseURL      string
	auth         *authenticator
	limits       *rateLimits
	requestLog   customer.RequestLog
	metrics      *metrics.Metrics
	metricsOnAPI bool
	metricsPage  http.Handler   // the metrics in Prometheus' format, when metricsOnAPI
	reqlog       *reqlog.Writer // the writer of the request log; nil when it is off
	started      time.Time      // when New ran: the Last-Modified of the reference documents
	origins      map[string]bool
	pages        *semaphore.Weighted // records being read for list pages, process-wide
	storeTimeout time.Duration       // Config.StoreTimeout
	warnings     *repeats.Warnings   // the warnings an outage repeats for every request
}

// pageRecords is how many records the list pages being answered at once may hold in
// memory together: four pages of the largest size. A page's records are read, decoded and
// encoded in memory, so without this bound 32 concurrent pages of 500 took the process
// past half a gigabyte; with it, more concurrent large pages wait their turn (the SQLite
// store reads with few connections anyway) and memory stays flat.
const pageRecords = 4 * customer.MaxPageSize

// readingPage holds room for a page of n records until the returned release is called.
// Errors: Unavailable when the request ends while it waits.
func (s *server) readingPage(ctx context.Context, n int) (release func(), err error) {
	if err := s.pages.Acquire(ctx, int64(n)); err != nil {
		return nil, customer.Errorf(customer.Unavailable, "the server is answering many large pages; retry shortly")
	}
	return func() { s.pages.Release(int64(n)) }, nil
}

// API is the HTTP handler of the whole API, with the writer of its request log behind it.
type API struct {
	handler http.Handler
	reqlog  *reqlog.Writer // the writer New started, which Close closes; nil otherwise
}

// ServeHTTP serves one request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// Close writes the request log records still in memory and stops the request log's
// writer. Call it once the HTTP server has finished the requests in flight, and before
// closing the store. Errors: the store's, of writing the last records.
func (a *API) Close() error {
	if a.reqlog == nil {
		return nil
	}
	return a.reqlog.Close()
}

// New returns the HTTP handler of the whole API and starts its request log's writer,
// which Close stops.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TimeFormat == "" {
		cfg.TimeFormat = TimeRFC3339
	}
	if cfg.SignIns == nil {
		cfg.SignIns = signin.New()
	}
	if cfg.StoreTimeout <= 0 {
		cfg.StoreTimeout = DefaultStoreTimeout
	}
	s := &server{
		customers:    cfg.Store,
		history:      cfg.Store,
		webhooks:     cfg.Store,
		guard:        cfg.WebhookGuard,
		keys:         cfg.Store,
		ping:         cfg.Store.Ping,
		log:          cfg.Logger,
		enc:          encoder{layout: cfg.TimeFormat.layout()},
		baseURL:      strings.TrimRight(cfg.BaseURL, "/"),
		auth:         newAuthenticator(cfg.Store, cfg.Logger, cfg.TrustedProxies, cfg.SignIns, cfg.StoreTimeout),
		limits:       newRateLimits(cfg.RateLimit),
		requestLog:   cfg.Store,
		metrics:      cfg.Metrics,
		metricsOnAPI: cfg.MetricsOnAPI && cfg.Metrics != nil,
		started:      time.Now(),
		pages:        semaphore.NewWeighted(pageRecords),
		storeTimeout: cfg.StoreTimeout,
		warnings:     repeats.New(cfg.Logger, 0),
	}
	if len(cfg.CORSOrigins) > 0 {
		s.origins = map[string]bool{}
		for _, o := range cfg.CORSOrigins {
			s.origins[strings.ToLower(o)] = true
		}
	}
	if s.metricsOnAPI {
		s.metricsPage = cfg.Metrics.Handler()
	}
	var own *reqlog.Writer
	switch {
	case cfg.NoRequestLog:
	case cfg.RequestLogWriter != nil:
		s.reqlog = cfg.RequestLogWriter
	default:
		own = reqlog.New(cfg.Store, cfg.Logger, cfg.Metrics, cfg.RequestLogInterval, cfg.RequestLogBuffer)
		s.reqlog = own
	}
	mux := http.NewServeMux()
	if s.guard == nil {
		s.guard = &webhook.Guard{}
	}
	s.sender = webhook.NewSender(s.guard)
	routes := s.routes()
	s.addRoutes(mux, routes)
	return &API{handler: s.middleware(routes, mux), reqlog: own}
}

// PurgeIdempotencyKeys deletes expired idempotency keys every interval until ctx ends, so
// that no scheduler outside custd is needed.
func PurgeIdempotencyKeys(ctx context.Context, store customer.Idempotency, log *slog.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		// A purge is no request: it may take its time, but not forever.
		purgeCtx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := store.PurgeIdempotency(purgeCtx, time.Now().Add(-customer.IdempotencyTTL))
		cancel()
		if err != nil && ctx.Err() == nil {
			log.Warn("purging expired idempotency keys", "err", err)
		} else if n > 0 {
			log.Info("purged expired idempotency keys", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PurgeRequestLog deletes the request log records older than keep every interval until
// ctx ends, so that no scheduler outside custd is needed.
func PurgeRequestLog(ctx context.Context, store customer.RequestLog, log *slog.Logger, keep, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := store.PurgeRequestLog(ctx, time.Now().Add(-keep))
		if err != nil && ctx.Err() == nil {
			log.Warn("purging old request log records", "err", err)
		} else if n > 0 {
			log.Info("purged old request log records", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// response is what a handler answers. Its Reply (status, entity tag, location, body) is
// what an idempotency key keeps for a retry; the rest is how this answer was made.
type response struct {
	customer.Reply
	Replayed bool // a stored reply sent again for a retry
	Recorded bool // already stored under its idempotency key, in the write's transaction
}

// handlerFunc is an API handler: it returns the response to send, or an error that the
// adapter turns into the error body.
type handlerFunc func(r *http.Request) (*response, error)

// handle adapts a handlerFunc to http.Handler.
func (s *server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := h(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeResponse(w, r, resp)
	})
}

// writeResponse sends a response with the content type the request prefers.
func (s *server) writeResponse(w http.ResponseWriter, r *http.Request, resp *response) {
	h := w.Header()
	if resp.ETag != "" {
		h.Set("ETag", resp.ETag)
	}
	if resp.Replayed {
		h.Set("Idempotent-Replayed", "true")
	}
	if resp.Location != "" {
		h.Set("Location", resp.Location)
	}
	if resp.Body != nil {
		h.Set("Content-Type", contentType(r))
	}
	w.WriteHeader(resp.Status)
	if r.Method != http.MethodHead {
		w.Write(resp.Body)
	}
}

// jsonResponse encodes v as the body of a response with the given status.
func jsonResponse(status int, v any) (*response, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &response{Reply: customer.Reply{Status: status, Body: b}}, nil
}

// contentType is text/json when the request's Accept prefers it, else application/json.
func contentType(r *http.Request) string {
	accept := r.Header.Get("Accept")
	if accept != "" && acceptQuality(accept, "text", "json") > acceptQuality(accept, "application", "json") {
		return "text/json; charset=utf-8"
	}
	return "application/json; charset=utf-8"
}

// acceptQuality returns the quality an Accept header gives type/subtype, taken from its
// most specific matching media range.
func acceptQuality(accept, typ, sub string) float64 {
	best, q := -1, 0.0
	for _, part := range strings.Split(accept, ",") {
		media, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		t, st, _ := strings.Cut(strings.ToLower(strings.TrimSpace(media)), "/")
		spec := -1
		switch {
		case t == typ && st == sub:
			spec = 2
		case t == typ && st == "*":
			spec = 1
		case t == "*" && st == "*":
			spec = 0
		}
		if spec <= best {
			continue
		}
		best, q = spec, 1
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				} else {
					q = 0
				}
			}
		}
	}
	return q
}
