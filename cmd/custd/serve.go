package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/custd/custd/internal/console"
	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
	"github.com/custd/custd/internal/metrics"
	"github.com/custd/custd/internal/natsfeed"
	"github.com/custd/custd/internal/postgres"
	"github.com/custd/custd/internal/reqlog"
	"github.com/custd/custd/internal/signin"
	"github.com/custd/custd/internal/sqlite"
	"github.com/custd/custd/internal/webhook"
)

var serveCommand = &command{
	name:    "serve",
	summary: "run the API and the console",
	about: `Runs the Customers API, and the console (web pages for people) at /console/ on the same
address, until SIGINT or SIGTERM, then finishes the requests in flight.

It first takes its address (so a taken port fails before anything is written), then opens
the store, creating a SQLite one if there is none, and applies the schema migrations it
lacks. On a store without users it creates client demo and user admin@demo, whose password
is CUSTD_ADMIN_PASSWORD or else generated and printed once to standard error; on a store
with users CUSTD_ADMIN_PASSWORD is ignored (custd user reset-password changes a password).

Every request is logged as a JSON line on standard error.`,
	store: true,
	flags: func(f *flags) {
		f.String("addr", "HOST:PORT", "CUSTD_ADDR", "127.0.0.1:8080", "address to listen on; 0.0.0.0:PORT for every interface, port 0 for any free port")
		f.String("tls-cert", "FILE", "CUSTD_TLS_CERT", "", "serve HTTPS with this PEM certificate (chain); needs --tls-key. A renewed\ncertificate is read again within a minute, without a restart")
		f.String("tls-key", "FILE", "CUSTD_TLS_KEY", "", "the PEM private key of --tls-cert")
		f.String("time-format", "FORMAT", "CUSTD_TIME_FORMAT", "rfc3339", "how date-times are written: rfc3339 (2024-06-10T09:31:44.903Z)\nor revio (2024-06-10T09:31:44.903, UTC without designator)")
		f.String("base-url", "URL", "CUSTD_BASE_URL", "", "scheme and host of the links in responses, such as https://billing.example.com\n(by default taken from the request's Host and X-Forwarded-Proto)")
		f.Float("rate-limit", "N", "CUSTD_RATE_LIMIT", 0, "requests per second one user may make, in bursts of twice as many; 0 for no limit")
		f.Duration("store-timeout", "DURATION", "CUSTD_STORE_TIMEOUT", httpapi.DefaultStoreTimeout, "the longest a request waits for the store, over all its store calls, before\nit is answered 503, such as 5s or 1500ms; /readyz waits at most 1s")
		f.String("cors-origins", "ORIGINS", "CUSTD_CORS_ORIGINS", "", "comma-separated web origins whose pages may call the API from a browser,\nsuch as https://portal.example.com, or * for any; none by default")
		f.String("trusted-proxies", "CIDRS", "CUSTD_TRUSTED_PROXIES", "", "comma-separated addresses or CIDR blocks of load balancers whose\nX-Forwarded-For names the client address that failed sign-ins count against")
		f.String("metrics-addr", "HOST:PORT", "CUSTD_METRICS_ADDR", "", "address of /metrics (Prometheus), served there without credentials; when\nempty, /metrics is on the API's address for admin users only; off: no metrics")
		f.Int("request-log-days", "N", "CUSTD_REQUEST_LOG_DAYS", customer.DefaultRequestLogDays, "days each client's request log is kept; 0 turns the request log off")
		f.String("debug-addr", "HOST:PORT", "CUSTD_DEBUG_ADDR", "", "address of Go's profiler (/debug/pprof/), off when empty; keep it private")
		f.Bool("webhook-allow-private", "CUSTD_WEBHOOK_ALLOW_PRIVATE", "let webhook receivers use http and internal addresses (loopback, private\nranges): for development and tests only")
		f.String("nats-url", "URL", "CUSTD_NATS_URL", "", "NATS server (nats://host:4222; several separated by commas) to publish every\nevent to, on JetStream stream CUSTD_EVENTS; off when empty")
		f.String("console-idle-timeout", "DURATION", "CUSTD_CONSOLE_IDLE_TIMEOUT", "30m", "how long a console session may go unused before it ends, such as 30m or 8h\n(from 1m to 720h)")
	},
	run: serve,
}

// serveConfig is what serve reads from its flags, checked before anything happens.
type serveConfig struct {
	addr, debugAddr, metricsAddr string
	natsURL                      string
	logDays                      int
	consoleIdle                  time.Duration
	api                          httpapi.Config
	tls                          *tls.Config
}

func serveSettings(inv *invocation) (*serveConfig, error) {
	f := inv.flags
	c := &serveConfig{addr: f.lookup("addr"), debugAddr: f.lookup("debug-addr"), metricsAddr: f.lookup("metrics-addr"), natsURL: f.lookup("nats-url")}
	if c.natsURL != "" {
		if err := natsfeed.CheckURL(c.natsURL); err != nil {
			return nil, fmt.Errorf("--nats-url: %w", err)
		}
	}
	c.logDays, _ = strconv.Atoi(f.lookup("request-log-days")) // the flag parsed it already
	if c.logDays < 0 || c.logDays > 3650 {
		return nil, fmt.Errorf("--request-log-days must be from 0 (no request log) to 3650")
	}
	idle, err := time.ParseDuration(f.lookup("console-idle-timeout"))
	if err != nil || idle < time.Minute || idle > 30*24*time.Hour {
		return nil, fmt.Errorf("--console-idle-timeout must be a duration from 1m to 720h, such as 30m or 8h, not %q", f.lookup("console-idle-timeout"))
	}
	c.consoleIdle = idle
	tf := httpapi.TimeFormat(strings.ToLower(f.lookup("time-format")))
	if tf != httpapi.TimeRFC3339 && tf != httpapi.TimeRevio {
		return nil, fmt.Errorf("--time-format must be rfc3339 or revio, not %q", f.lookup("time-format"))
	}
	rate, _ := strconv.ParseFloat(f.lookup("rate-limit"), 64) // the flag parsed it already
	if rate < 0 {
		return nil, fmt.Errorf("--rate-limit must be 0 (no limit) or more")
	}
	timeout, _ := time.ParseDuration(f.lookup("store-timeout")) // the flag parsed it already
	if timeout <= 0 {
		return nil, fmt.Errorf("--store-timeout must be a positive duration, such as 5s")
	}
	origins, err := httpapi.ParseOrigins(f.lookup("cors-origins"))
	if err != nil {
		return nil, fmt.Errorf("--cors-origins: %w", err)
	}
	proxies, err := parsePrefixes(f.lookup("trusted-proxies"))
	if err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	c.api = httpapi.Config{TimeFormat: tf, BaseURL: f.lookup("base-url"), RateLimit: rate, CORSOrigins: origins, TrustedProxies: proxies,
		WebhookGuard: &webhook.Guard{AllowPrivate: f.lookup("webhook-allow-private") == "true"},
		MetricsOnAPI: c.metricsAddr == "", NoRequestLog: c.logDays == 0, StoreTimeout: timeout}
	cert, key := f.lookup("tls-cert"), f.lookup("tls-key")
	if (cert == "") != (key == "") {
		return nil, errors.New("--tls-cert and --tls-key go together: give both, or neither for plain HTTP")
	}
	if cert != "" {
		kp, err := newKeyPair(cert, key)
		if err != nil {
			return nil, err
		}
		c.tls = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: kp.get}
	}
	return c, nil
}

// parsePrefixes reads a comma-separated list of addresses and CIDR blocks.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR block such as 10.0.0.0/8", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func serve(inv *invocation) error {
	cfg, err := serveSettings(inv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(inv.stderr, nil))

	// The address first: a start that cannot listen must fail before it creates a store
	// or a user whose password it would print and lose.
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return listenError("--addr", cfg.addr, err)
	}
	defer ln.Close()
	var dbg, mln net.Listener
	if cfg.debugAddr != "" {
		if dbg, err = net.Listen("tcp", cfg.debugAddr); err != nil {
			return listenError("--debug-addr", cfg.debugAddr, err)
		}
		defer dbg.Close()
	}
	if cfg.metricsAddr != "" && cfg.metricsAddr != "off" {
		if mln, err = net.Listen("tcp", cfg.metricsAddr); err != nil {
			return listenError("--metrics-addr", cfg.metricsAddr, err)
		}
		defer mln.Close()
	}

	s, err := inv.openStore(true)
	if err != nil {
		return err
	}
	defer s.Close()
	for _, m := range s.Schema().Applied {
		log.Info("applied migration", "name", m)
	}
	if err := bootstrap(inv.ctx, s, inv.getenv, inv.stderr, log); err != nil {
		return err
	}

	var m *metrics.Metrics
	if cfg.metricsAddr != "off" {
		m = metrics.New()
		watchStore(m, s)
	}
	// One writer of the request log takes the API's requests and the console's.
	var requests *reqlog.Writer
	if cfg.logDays > 0 {
		requests = reqlog.New(s, log, m, 0, 0)
	}
	// And one guard of sign-ins: a password guessed at counts the same through the API
	// and the console.
	signIns := signin.New()
	cfg.api.Store, cfg.api.Logger, cfg.api.Metrics, cfg.api.RequestLogWriter, cfg.api.SignIns = s, log, m, requests, signIns
	api := httpapi.New(cfg.api)
	con := console.New(console.Config{Store: s, Logger: log, Metrics: m, RequestLog: requests, IdleTimeout: cfg.consoleIdle,
		SignIns: signIns, TrustedProxies: cfg.api.TrustedProxies, StoreTimeout: cfg.api.StoreTimeout})
	srv := &http.Server{
		Handler:           site(api, con),
		ConnState:         m.ConnState,
		TLSConfig:         cfg.tls,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	bg, stopBackground := context.WithCancel(context.WithoutCancel(inv.ctx))
	defer stopBackground()
	go httpapi.PurgeIdempotencyKeys(bg, s, log, 10*time.Minute)
	// The webhook worker: the change feed into deliveries, and their attempts.
	worker := &webhook.Worker{Store: s, Sender: webhook.NewSender(cfg.api.WebhookGuard), Body: httpapi.NotificationBody(cfg.api.TimeFormat),
		Log: log, Owner: processName(), Observe: m.WatchWebhooks(func() (int64, time.Duration) {
			ctx, cancel := context.WithTimeout(bg, 2*time.Second)
			defer cancel()
			n, oldest, err := s.DeliveryBacklog(ctx)
			if err != nil || oldest.IsZero() {
				return n, 0
			}
			return n, time.Since(oldest)
		}).ObserveAttempt}
	workerDone := make(chan struct{})
	go func() { worker.Run(bg); close(workerDone) }()
	// Every event onto NATS JetStream. Nothing waits for it: the API and webhooks work
	// while NATS is away, and publishing resumes where it stopped when it returns.
	publisherDone := make(chan struct{})
	if cfg.natsURL != "" {
		pub := &natsfeed.Publisher{URL: cfg.natsURL, Feed: s, Render: httpapi.EventBody(cfg.api.TimeFormat), Log: log}
		watch := m.WatchNATS(func() time.Duration {
			ctx, cancel := context.WithTimeout(bg, 2*time.Second)
			defer cancel()
			lag, _ := pub.Lag(ctx)
			return lag
		})
		pub.Published, pub.Failed = watch.Published, watch.Failed
		log.Info("publishing events to NATS JetStream", "nats", natsfeed.Redacted(cfg.natsURL), "stream", natsfeed.Stream)
		go func() {
			if err := pub.Run(bg); err != nil {
				log.Error("publishing events to NATS JetStream", "err", err)
			}
			close(publisherDone)
		}()
	} else {
		close(publisherDone)
	}
	if cfg.logDays > 0 {
		go httpapi.PurgeRequestLog(bg, s, log, time.Duration(cfg.logDays)*24*time.Hour, 10*time.Minute)
	}
	go console.PurgeSessions(bg, s, log, cfg.consoleIdle, 10*time.Minute)
	if mln != nil {
		// The metrics on a listener of their own, for a scraper on a private network:
		// without credentials, and then not on the API's address at all.
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go ms.Serve(mln)
		defer ms.Close()
		log.Info("metrics", "addr", mln.Addr().String())
	}

	if dbg != nil {
		// Go's profiler on a listener of its own, never on the API's address.
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		debug := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go debug.Serve(dbg)
		defer debug.Close()
		log.Info("profiling endpoints", "addr", dbg.Addr().String())
	}

	served := make(chan error, 1)
	go func() {
		if cfg.tls != nil {
			served <- srv.ServeTLS(ln, "", "") // the certificate comes from TLSConfig
		} else {
			served <- srv.Serve(ln)
		}
	}()
	log.Info("listening", "addr", ln.Addr().String(), "tls", cfg.tls != nil, "db", storeName(inv.flags.lookup("db")))

	select {
	case err := <-served:
		return err
	case <-inv.ctx.Done():
	}
	// Finish the requests in flight, write the request log they left in memory, then
	// close the store, which finishes queued writes.
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(inv.ctx), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if cerr := api.Close(); cerr != nil {
		log.Warn("writing the last request log records", "err", cerr)
	}
	if requests != nil {
		if cerr := requests.Close(); cerr != nil {
			log.Warn("writing the last request log records", "err", cerr)
		}
	}
	if err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	stopBackground()
	<-workerDone    // attempts in flight finish (or time out) before the store closes
	<-publisherDone // so do publishes, and the cursor is recorded
	log.Info("stopped")
	return nil
}

// site is everything served on the API's address: the console under /console/ (and /
// sends a browser there), the API everywhere else.
func site(api, con http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle(console.Prefix, con)
	mux.Handle("GET /{$}", http.RedirectHandler(console.Prefix, http.StatusFound))
	return mux
}

// processName names this process in the leases it takes (webhook deliveries): host,
// process id and a random part, unique among processes on one database.
func processName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), customer.RandomString("abcdefghijkmnopqrstuvwxyz23456789", 6))
}

// watchStore has the metrics follow the store: the SQLite group commit, or the
// PostgreSQL connection pool.
func watchStore(m *metrics.Metrics, store customer.Store) {
	switch s := store.(type) {
	case *sqlite.Store:
		m.WatchSQLite()
		s.ObserveCommits(m.ObserveCommit)
	case *postgres.Store:
		m.WatchPostgresPool(func() metrics.PoolStat {
			st := s.PoolStat()
			return metrics.PoolStat{
				Acquired: st.AcquiredConns(), Idle: st.IdleConns(), Constructing: st.ConstructingConns(), Max: st.MaxConns(),
				Acquires: st.AcquireCount(), EmptyAcquires: st.EmptyAcquireCount(), CanceledAcquires: st.CanceledAcquireCount(),
				AcquireWait: st.AcquireDuration(),
			}
		})
	}
}

// listenError says why an address cannot be listened on, in terms of what to do.
func listenError(flagName, addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("cannot listen on %s: the address is in use (another custd, or another program); choose another with %s: %w", addr, flagName, err)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("cannot listen on %s: permission denied (ports below 1024 need privileges; use a higher port behind a proxy): %w", addr, err)
	}
	return fmt.Errorf("cannot listen on %s (%s): %w", addr, flagName, err)
}

// bootstrap creates client demo and user admin@demo on a store without users.
func bootstrap(ctx context.Context, s customer.Accounts, getenv func(string) string, stderr io.Writer, log *slog.Logger) error {
	password := getenv("CUSTD_ADMIN_PASSWORD")
	generated := password == ""
	if generated {
		password = customer.NewPassword()
	}
	created, err := s.Bootstrap(ctx, "Demo", func() (*customer.NewUser, error) {
		hash, err := customer.HashPassword(password)
		if err != nil {
			return nil, fmt.Errorf("CUSTD_ADMIN_PASSWORD: %w", oneLine(err))
		}
		return &customer.NewUser{ClientCode: "demo", Username: "admin", Role: customer.RoleAdmin, PasswordHash: hash}, nil
	})
	switch {
	case err != nil:
		return fmt.Errorf("creating the first user: %w", err)
	case created && generated:
		fmt.Fprintf(stderr, "custd: created client demo and user admin@demo with password %s (shown only now)\n", password)
	case created:
		log.Info("created client demo and user admin@demo with the password of CUSTD_ADMIN_PASSWORD")
	case !generated:
		log.Warn("CUSTD_ADMIN_PASSWORD is ignored: the store has users already; to change a password, run custd user reset-password USERNAME@CODE")
	}
	return nil
}

// keyPair is a TLS certificate and key read from files, read again when the files change
// (a renewal), checked at most once a minute.
type keyPair struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time // of the newer file when last read
	checked time.Time
}

func newKeyPair(certFile, keyFile string) (*keyPair, error) {
	kp := &keyPair{certFile: certFile, keyFile: keyFile}
	if err := kp.load(); err != nil {
		return nil, err
	}
	return kp, nil
}

func (kp *keyPair) load() error {
	cert, err := tls.LoadX509KeyPair(kp.certFile, kp.keyFile)
	if err != nil {
		return fmt.Errorf("--tls-cert %s and --tls-key %s: %w", kp.certFile, kp.keyFile, err)
	}
	kp.cert, kp.modTime = &cert, kp.newest()
	return nil
}

// newest returns the later modification time of the two files.
func (kp *keyPair) newest() time.Time {
	var t time.Time
	for _, f := range []string{kp.certFile, kp.keyFile} {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(t) {
			t = st.ModTime()
		}
	}
	return t
}

// get is tls.Config.GetCertificate. A renewal that cannot be read (half written, or a
// key that does not match yet) keeps the previous certificate until the next check.
func (kp *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	kp.mu.Lock()
	defer kp.mu.Unlock()
	if now := time.Now(); now.Sub(kp.checked) > time.Minute {
		kp.checked = now
		if kp.newest().After(kp.modTime) {
			kp.load()
		}
	}
	return kp.cert, nil
}
