// Package console serves the console: web pages at /console/ for the billing company's
// staff, to look customers up, change and close them, see who changed what, why a
// request failed and how webhooks fare. The pages are rendered on the server from
// templates embedded in the binary, with a little JavaScript that only improves them;
// nothing is loaded from elsewhere.
//
// The console signs users in with the API's users and passwords, keeps a session per
// browser in the store (customer.Sessions), and writes customers only through
// customer.Customers.WriteCustomer, so every rule, the history and the change feed apply
// exactly as to the API. It knows the store only through the roles it uses.
package console

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/metrics"
	"github.com/custd/custd/internal/reqlog"
	"github.com/custd/custd/internal/signin"
)

// Store is what the console reads and writes: the roles of customer.Store it uses.
type Store interface {
	customer.Customers
	customer.History
	customer.Webhooks
	customer.RequestLog
	customer.Accounts // sign-in, and the users page
	customer.Sessions
}

// Config is what the console needs.
type Config struct {
	Store  Store
	Logger *slog.Logger // nil logs nothing
	// Metrics, when set, counts the console's requests beside the API's.
	Metrics *metrics.Metrics
	// RequestLog is the writer of the request log, shared with the API. The console
	// records its sign-ins, writes and failures there; nil records nothing, and the
	// request log page says the request log is off.
	RequestLog *reqlog.Writer
	// IdleTimeout ends a session unused for this long; DefaultIdleTimeout when 0.
	IdleTimeout time.Duration
	// SignIns throttles failed sign-ins and bounds password comparisons: share the API's,
	// so that guesses count the same through either. A new one when nil.
	SignIns *signin.Guard
	// TrustedProxies are the load balancers whose X-Forwarded-For names the address
	// that failed sign-ins count against, as for the API.
	TrustedProxies []netip.Prefix
	// Now is the clock of session expiry; time.Now when nil.
	Now func() time.Time
	// StoreTimeout is the longest a page waits for the store, over all its calls, before
	// it is answered 503, as for the API; no limit when 0.
	StoreTimeout time.Duration
}

// DefaultIdleTimeout is how long a session may stay unused unless told otherwise.
const DefaultIdleTimeout = 30 * time.Minute

// Prefix is the path the console is served under.
const Prefix = "/console/"

// console holds what the handlers share.
type console struct {
	store   Store
	log     *slog.Logger
	metrics *metrics.Metrics
	reqlog  *reqlog.Writer
	idle    time.Duration
	now     func() time.Time
	pages   *pages
	signins *signin.Guard
	trusted []netip.Prefix
	handler http.Handler
}

// New returns the handler of the console, to be served at Prefix.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SignIns == nil {
		cfg.SignIns = signin.New()
	}
	c := &console{
		store: cfg.Store, log: cfg.Logger, metrics: cfg.Metrics, reqlog: cfg.RequestLog,
		idle: cfg.IdleTimeout, now: cfg.Now, pages: parsePages(), signins: cfg.SignIns, trusted: cfg.TrustedProxies,
	}
	mux := http.NewServeMux()
	for _, rt := range c.routes() {
		mux.Handle(rt.pattern, rt.handler)
	}
	var h http.Handler = mux
	if t := cfg.StoreTimeout; t > 0 {
		// A store that stops answering (a frozen database server) makes a page fail
		// with 503 when this passes, instead of holding it.
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), t)
			defer cancel()
			inner.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	c.handler = c.observe(c.recoverPanics(c.sameOrigin(h)))
	return c.handler
}

// PurgeSessions deletes the sessions idle for longer than idle every interval until ctx
// ends, so that no scheduler outside custd is needed.
func PurgeSessions(ctx context.Context, store customer.Sessions, log *slog.Logger, idle, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := store.PurgeSessions(ctx, time.Now().Add(-idle))
		if err != nil && ctx.Err() == nil {
			log.Warn("purging idle console sessions", "err", err)
		} else if n > 0 {
			log.Info("purged idle console sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
