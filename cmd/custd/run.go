package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
	"github.com/custd/custd/internal/metrics"
	"github.com/custd/custd/internal/postgres"
	"github.com/custd/custd/internal/sqlite"
	"github.com/custd/custd/internal/webhook"
)

const usage = `custd keeps the customer accounts of billing companies and serves them over the
Customers API.

Usage:
  custd serve [--addr ADDR] [--db URL] [--time-format rfc3339|revio] [--base-url URL] [--rate-limit N]
              [--metrics-addr ADDR|off] [--request-log-days N] [--debug-addr ADDR]
              [--webhook-allow-private]
  custd migrate [--db URL]
  custd client add CODE [--name NAME] [--db URL]
  custd user add USERNAME@CODE [--role admin|readwrite|readonly] [--password-stdin] [--db URL]
  custd help

Commands:
  serve       run the API (applies schema migrations; on a store with no users, creates
              client demo and user admin@demo)
  migrate     apply schema migrations and exit
  client add  add a client (a billing company)
  user add    add an API user to a client; the password comes from CUSTD_PASSWORD, from
              standard input with --password-stdin, or is generated and printed
  help        show this text

Environment:
  CUSTD_DB              store: sqlite:PATH (default sqlite:custd.db) or postgres://...
  CUSTD_ADDR            listen address of serve (default 127.0.0.1:8080)
  CUSTD_TIME_FORMAT     rfc3339 (default) or revio
  CUSTD_BASE_URL        scheme and host of links in responses (default: from the request)
  CUSTD_RATE_LIMIT      requests per second per user, 0 for no limit (default 0)
  CUSTD_METRICS_ADDR    listen address of /metrics (Prometheus), served there without
                        credentials; empty (default): /metrics on the API's address, for
                        admin users only; off: no metrics
  CUSTD_REQUEST_LOG_DAYS  days each client's request log is kept (default 30); 0 turns
                        the request log off
  CUSTD_DEBUG_ADDR      listen address of Go's profiler (/debug/pprof/), off when empty;
                        keep it on a private address
  CUSTD_WEBHOOK_ALLOW_PRIVATE  1 lets webhook receivers use http and internal addresses
                        (loopback, private ranges); for development and tests only
  CUSTD_ADMIN_PASSWORD  password of admin@demo when serve creates it (default: random,
                        printed once to standard error)
  CUSTD_PASSWORD        password for user add
`

// run is the whole program: main only adds the process's arguments, environment, standard
// streams and signals.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given; see custd help")
	}
	cmd, rest := args[1], args[2:]
	if (cmd == "client" || cmd == "user") && len(rest) > 0 && rest[0] == "add" {
		cmd, rest = cmd+" add", rest[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stderr)
	case "migrate":
		return migrateCmd(ctx, rest, getenv, stdout)
	case "client add":
		return addClient(ctx, rest, getenv, stdout)
	case "user add":
		return addUser(ctx, rest, getenv, stdin, stdout)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q; see custd help", strings.Join(args[1:min(len(args), 3)], " "))
}

// command is the flag set of one command plus what every command takes.
type command struct {
	fs *flag.FlagSet
	db *string
}

func newCommand(name string, getenv func(string) string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &command{fs: fs, db: fs.String("db", envOr(getenv, "CUSTD_DB", "sqlite:custd.db"), "store URL")}
}

// parse reads flags anywhere among the arguments and returns the positional ones, of
// which there must be exactly want.
func (c *command) parse(args []string, want int, what string) ([]string, error) {
	var positional []string
	for {
		if err := c.fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%s: %v", c.fs.Name(), err)
		}
		if c.fs.NArg() == 0 {
			break
		}
		positional = append(positional, c.fs.Arg(0))
		args = c.fs.Args()[1:]
	}
	if len(positional) != want {
		return nil, fmt.Errorf("%s takes %s; see custd help", c.fs.Name(), what)
	}
	return positional, nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// openStore opens the store a URL names.
func openStore(ctx context.Context, url string) (customer.Store, error) {
	// Each case returns its store only when err is nil: a nil *Store in a non-nil
	// interface would pass a nil check.
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		s, err := sqlite.Open(ctx, strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//"))
		if err != nil {
			return nil, err
		}
		return s, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		s, err := postgres.Open(ctx, url)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("unknown store %q: use sqlite:PATH or postgres://...", url)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	c := newCommand("serve", getenv)
	addr := c.fs.String("addr", envOr(getenv, "CUSTD_ADDR", "127.0.0.1:8080"), "listen address")
	timeFormat := c.fs.String("time-format", envOr(getenv, "CUSTD_TIME_FORMAT", "rfc3339"), "rfc3339 or revio")
	baseURL := c.fs.String("base-url", getenv("CUSTD_BASE_URL"), "scheme and host of links")
	rateLimit := c.fs.Float64("rate-limit", 0, "requests per second per user")
	debugAddr := c.fs.String("debug-addr", getenv("CUSTD_DEBUG_ADDR"), "listen address of the profiling endpoints")
	allowPrivate := c.fs.Bool("webhook-allow-private", getenv("CUSTD_WEBHOOK_ALLOW_PRIVATE") == "1",
		"let webhook receivers use http and internal addresses (development and tests only)")
	metricsAddr := c.fs.String("metrics-addr", getenv("CUSTD_METRICS_ADDR"), "listen address of /metrics, or off")
	logDays := c.fs.Int("request-log-days", customer.DefaultRequestLogDays, "days the request log is kept; 0 turns it off")
	for flag, env := range map[string]string{"rate-limit": "CUSTD_RATE_LIMIT", "request-log-days": "CUSTD_REQUEST_LOG_DAYS"} {
		if v := getenv(env); v != "" {
			if err := c.fs.Set(flag, v); err != nil {
				return fmt.Errorf("%s: %v", env, err)
			}
		}
	}
	if _, err := c.parse(args, 0, "no arguments"); err != nil {
		return err
	}
	tf := httpapi.TimeFormat(strings.ToLower(*timeFormat))
	if tf != httpapi.TimeRFC3339 && tf != httpapi.TimeRevio {
		return fmt.Errorf("--time-format must be rfc3339 or revio, not %q", *timeFormat)
	}
	if *rateLimit < 0 {
		return fmt.Errorf("--rate-limit must be 0 (no limit) or more")
	}
	if *logDays < 0 || *logDays > 3650 {
		return fmt.Errorf("--request-log-days must be from 0 (no request log) to 3650")
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))

	store, err := openStore(ctx, *c.db)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := bootstrap(ctx, store, getenv, stderr); err != nil {
		return err
	}

	var m *metrics.Metrics
	if *metricsAddr != "off" {
		m = metrics.New()
		watchStore(m, store)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	guard := &webhook.Guard{AllowPrivate: *allowPrivate}
	api := httpapi.New(httpapi.Config{
		Store: store, Logger: log, TimeFormat: tf, BaseURL: *baseURL, RateLimit: *rateLimit, WebhookGuard: guard,
		Metrics: m, MetricsOnAPI: *metricsAddr == "", NoRequestLog: *logDays == 0,
	})
	srv := &http.Server{
		Handler:           api,
		ConnState:         m.ConnState,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	go httpapi.PurgeIdempotencyKeys(bg, store, log, 10*time.Minute)
	// The webhook worker: the change feed into deliveries, and their attempts.
	worker := &webhook.Worker{Store: store, Sender: webhook.NewSender(guard), Body: httpapi.NotificationBody(tf), Log: log,
		Owner: processName(), Observe: m.WatchWebhooks(func() (int64, time.Duration) {
			ctx, cancel := context.WithTimeout(bg, 2*time.Second)
			defer cancel()
			n, oldest, err := store.DeliveryBacklog(ctx)
			if err != nil || oldest.IsZero() {
				return n, 0
			}
			return n, time.Since(oldest)
		}).ObserveAttempt}
	workerDone := make(chan struct{})
	go func() { worker.Run(bg); close(workerDone) }()
	if *logDays > 0 {
		go httpapi.PurgeRequestLog(bg, store, log, time.Duration(*logDays)*24*time.Hour, 10*time.Minute)
	}

	if m != nil && *metricsAddr != "" {
		// The metrics on a listener of their own, for a scraper on a private network:
		// without credentials, and then not on the API's address at all.
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go ms.Serve(mln)
		defer ms.Close()
		log.Info("metrics", "addr", mln.Addr().String())
	}

	if *debugAddr != "" {
		// Go's profiler on a listener of its own, never on the API's address.
		dbg, err := net.Listen("tcp", *debugAddr)
		if err != nil {
			return fmt.Errorf("--debug-addr: %w", err)
		}
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
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "db", redact(*c.db))

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Finish the requests in flight, write the request log they left in memory, then
	// close the store, which finishes queued writes.
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if cerr := api.Close(); cerr != nil {
		log.Warn("writing the last request log records", "err", cerr)
	}
	if err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	stopBackground()
	<-workerDone // attempts in flight finish (or time out) before the store closes
	log.Info("stopped")
	return nil
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

// bootstrap creates client demo and user admin@demo on a store without users.
func bootstrap(ctx context.Context, store customer.Store, getenv func(string) string, stderr io.Writer) error {
	password := getenv("CUSTD_ADMIN_PASSWORD")
	generated := password == ""
	if generated {
		password = customer.NewPassword()
	}
	created, err := store.Bootstrap(ctx, "Demo", func() (*customer.NewUser, error) {
		hash, err := customer.HashPassword(password)
		if err != nil {
			return nil, fmt.Errorf("CUSTD_ADMIN_PASSWORD: %w", err)
		}
		return &customer.NewUser{ClientCode: "demo", Username: "admin", Role: customer.RoleAdmin, PasswordHash: hash}, nil
	})
	if err != nil {
		return fmt.Errorf("creating the first user: %w", err)
	}
	if created && generated {
		fmt.Fprintf(stderr, "custd: created client demo and user admin@demo with password %s (shown only now)\n", password)
	}
	return nil
}

// redact hides a password in a store URL.
func redact(url string) string {
	if i := strings.Index(url, "://"); i >= 0 {
		if at := strings.LastIndex(url, "@"); at > i {
			if colon := strings.Index(url[i+3:at], ":"); colon >= 0 {
				return url[:i+3+colon+1] + "****" + url[at:]
			}
		}
	}
	return url
}

func migrateCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	c := newCommand("migrate", getenv)
	if _, err := c.parse(args, 0, "no arguments"); err != nil {
		return err
	}
	store, err := openStore(ctx, *c.db)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema of %s is up to date\n", redact(*c.db))
	return store.Close()
}

func addClient(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	c := newCommand("client add", getenv)
	name := c.fs.String("name", "", "display name")
	pos, err := c.parse(args, 1, "one client CODE")
	if err != nil {
		return err
	}
	if *name == "" {
		*name = pos[0]
	}
	store, err := openStore(ctx, *c.db)
	if err != nil {
		return err
	}
	defer store.Close()
	cl, err := store.CreateClient(ctx, pos[0], *name)
	if err != nil {
		return oneLine(err)
	}
	fmt.Fprintf(stdout, "created client %s (%s)\n", cl.Code, cl.Name)
	return nil
}

func addUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	c := newCommand("user add", getenv)
	role := c.fs.String("role", string(customer.RoleReadWrite), "admin, readwrite or readonly")
	fromStdin := c.fs.Bool("password-stdin", false, "read the password from standard input")
	pos, err := c.parse(args, 1, "one USERNAME@CODE")
	if err != nil {
		return err
	}
	r, ok := customer.ParseEnum(*role, customer.Roles)
	if !ok {
		return fmt.Errorf("user add: --role must be one of %s", customer.EnumList(customer.Roles))
	}
	username, code, ok := customer.SplitLogin(pos[0])
	if !ok {
		return fmt.Errorf("user add: %q is not USERNAME@CODE", pos[0])
	}
	password, generated := getenv("CUSTD_PASSWORD"), false
	switch {
	case *fromStdin:
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading the password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	case password == "":
		password, generated = customer.NewPassword(), true
	}
	hash, err := customer.HashPassword(password)
	if err != nil {
		return oneLine(err)
	}
	store, err := openStore(ctx, *c.db)
	if err != nil {
		return err
	}
	defer store.Close()
	u, err := store.CreateUser(ctx, &customer.NewUser{ClientCode: code, Username: username, Role: r, PasswordHash: hash})
	if err != nil {
		return oneLine(err)
	}
	fmt.Fprintf(stdout, "created user %s@%s with role %s\n", u.Username, u.ClientCode, u.Role)
	if generated {
		fmt.Fprintf(stdout, "password: %s\n", password)
	}
	return nil
}

// oneLine states a domain error, with its field problems, on one line.
func oneLine(err error) error {
	var e *customer.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + " " + f.Message
	}
	return errors.New(strings.Join(parts, "; "))
}
