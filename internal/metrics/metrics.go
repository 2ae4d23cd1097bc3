// Package metrics holds custd's Prometheus instruments and serves them in Prometheus'
// text format with the official client library.
//
// Labels take only values from small fixed sets (route patterns, methods, statuses,
// reasons), never a client code, a user, an id or a raw path, so the number of series
// does not grow with the data or with what callers send.
//
// Every method of a nil *Metrics does nothing, so that a server runs without metrics.
package metrics

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the registry of one server process and its instruments.
type Metrics struct {
	reg *prometheus.Registry

	requests          *prometheus.CounterVec
	durations         *prometheus.HistogramVec
	openConnections   prometheus.Gauge
	commitWrites      prometheus.Histogram
	commitSeconds     prometheus.Histogram
	requestLogWritten prometheus.Counter
	requestLogDropped *prometheus.CounterVec

	mu     sync.RWMutex
	routes map[routeKey]routeInstruments // the children of requests and durations, by labels
}

type routeKey struct {
	route, method string
	status        int
}

type routeInstruments struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// Reasons a request log record is dropped.
const (
	// DroppedBufferFull is a record that found the buffer full: the store fell behind.
	DroppedBufferFull = "buffer_full"
	// DroppedWriteFailed is a record of a batch that the store failed to write.
	DroppedWriteFailed = "write_failed"
)

// New returns a registry with custd's instruments and the Go runtime's and the process's
// collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custd_http_requests_total",
			Help: "HTTP requests answered, by route pattern (unmatched for a path no route has), method and status.",
		}, []string{"route", "method", "status"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "custd_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its response, by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		openConnections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "custd_http_open_connections",
			Help: "HTTP connections open on the API's address.",
		}),
		commitWrites: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "custd_sqlite_commit_writes",
			Help:    "Writes that shared one SQLite transaction and its fsync (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "custd_sqlite_commit_duration_seconds",
			Help:    "Time of one SQLite COMMIT, its fsync included.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}),
		requestLogWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "custd_request_log_records_written_total",
			Help: "Request log records handed to the store.",
		}),
		requestLogDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custd_request_log_records_dropped_total",
			Help: "Request log records lost: buffer_full when the buffer was full, write_failed when the store failed to write their batch.",
		}, []string{"reason"}),
		routes: map[routeKey]routeInstruments{},
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.durations, m.openConnections, m.requestLogWritten, m.requestLogDropped,
	)
	// Both reasons exist from the start, so that a rate over them needs no absent series.
	m.requestLogDropped.WithLabelValues(DroppedBufferFull)
	m.requestLogDropped.WithLabelValues(DroppedWriteFailed)
	return m
}

// Handler serves the registry in Prometheus' text format (or OpenMetrics when asked).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// Gatherer returns the registry, for tests that read the metrics without HTTP.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// methods are the methods counted by name; any other is counted as OTHER.
var methods = map[string]string{
	"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH", "DELETE": "DELETE", "OPTIONS": "OPTIONS",
}

// ObserveRequest counts one answered request and its duration. route must be a route
// pattern (or a fixed word such as unmatched), never a raw path.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if known, ok := methods[method]; ok {
		method = known
	} else {
		method = "OTHER"
	}
	k := routeKey{route, method, status}
	m.mu.RLock()
	inst, ok := m.routes[k]
	m.mu.RUnlock()
	if !ok {
		inst = routeInstruments{
			requests: m.requests.WithLabelValues(route, method, strconv.Itoa(status)),
			duration: m.durations.WithLabelValues(route, method),
		}
		m.mu.Lock()
		m.routes[k] = inst
		m.mu.Unlock()
	}
	inst.requests.Inc()
	inst.duration.Observe(d.Seconds())
}

// ConnState follows the API's connections; it is an http.Server's ConnState hook.
func (m *Metrics) ConnState(_ net.Conn, state http.ConnState) {
	if m == nil {
		return
	}
	switch state {
	case http.StateNew:
		m.openConnections.Inc()
	case http.StateClosed, http.StateHijacked:
		m.openConnections.Dec()
	}
}

// ObserveCommit records one SQLite group commit: how many writes shared it and how long
// its COMMIT took. WatchSQLite puts these instruments in the registry.
func (m *Metrics) ObserveCommit(writes int, commit time.Duration) {
	if m == nil {
		return
	}
	m.commitWrites.Observe(float64(writes))
	m.commitSeconds.Observe(commit.Seconds())
}

// WatchSQLite registers the SQLite group-commit instruments that ObserveCommit feeds.
func (m *Metrics) WatchSQLite() {
	if m == nil {
		return
	}
	m.reg.MustRegister(m.commitWrites, m.commitSeconds)
}

// RequestLogWritten counts n records handed to the store.
func (m *Metrics) RequestLogWritten(n int) {
	if m != nil {
		m.requestLogWritten.Add(float64(n))
	}
}

// RequestLogDropped counts n records lost for reason (DroppedBufferFull or
// DroppedWriteFailed).
func (m *Metrics) RequestLogDropped(reason string, n int) {
	if m != nil {
		m.requestLogDropped.WithLabelValues(reason).Add(float64(n))
	}
}

// WatchRequestLogBuffer reports, at each scrape, how many records wait in the request
// log's buffer and how many it holds at most.
func (m *Metrics) WatchRequestLogBuffer(waiting func() int, capacity int) {
	if m == nil {
		return
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "custd_request_log_buffered_records",
			Help: "Request log records waiting in memory to be written.",
		}, func() float64 { return float64(waiting()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "custd_request_log_buffer_capacity_records",
			Help: "Request log records the buffer holds at most; more are dropped.",
		}, func() float64 { return float64(capacity) }),
	)
}

// WebhookResults are the outcomes of a webhook delivery attempt: delivered, retry (it
// failed and is tried again) or failed (for good).
var WebhookResults = []string{"delivered", "retry", "failed"}

// Webhooks holds the webhook worker's instruments; a nil *Webhooks does nothing.
type Webhooks struct {
	attempts *prometheus.CounterVec
	lag      prometheus.Histogram
}

// WatchWebhooks registers the webhook worker's instruments: attempts by result, the lag
// from a write's commit to its delivery, and, read at each scrape from backlog, how many
// deliveries are pending and how long the oldest has waited.
func (m *Metrics) WatchWebhooks(backlog func() (pending int64, oldest time.Duration)) *Webhooks {
	if m == nil {
		return nil
	}
	w := &Webhooks{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custd_webhook_attempts_total",
			Help: "Webhook delivery attempts by result: delivered, retry (failed, tried again later) or failed (for good).",
		}, []string{"result"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "custd_webhook_delivery_lag_seconds",
			Help:    "Time from a customer write to its notification's acknowledgement by the receiver (first attempts that succeed).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
	for _, r := range WebhookResults {
		w.attempts.WithLabelValues(r)
	}
	var (
		mu      sync.Mutex
		at      time.Time
		pending int64
		oldest  time.Duration
	)
	read := func() (int64, time.Duration) { // one store query per scrape for both gauges
		mu.Lock()
		defer mu.Unlock()
		if time.Since(at) > time.Second {
			pending, oldest = backlog()
			at = time.Now()
		}
		return pending, oldest
	}
	m.reg.MustRegister(w.attempts, w.lag,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "custd_webhook_deliveries_pending",
			Help: "Webhook deliveries waiting for an attempt (the queue depth), of every client.",
		}, func() float64 { n, _ := read(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "custd_webhook_oldest_pending_seconds",
			Help: "How long the oldest pending webhook delivery has waited since it was made.",
		}, func() float64 { _, d := read(); return d.Seconds() }),
	)
	return w
}

// ObserveAttempt counts one attempt's result; lag is the time from the write to a first
// successful attempt's end (0 for others).
func (w *Webhooks) ObserveAttempt(result string, lag time.Duration) {
	if w == nil {
		return
	}
	w.attempts.WithLabelValues(result).Inc()
	if lag > 0 {
		w.lag.Observe(lag.Seconds())
	}
}

// NATS holds the instruments of the publisher to NATS JetStream; a nil *NATS does
// nothing.
type NATS struct {
	published prometheus.Counter
	failures  prometheus.Counter
}

// WatchNATS registers the publisher's instruments: events JetStream acknowledged, failed
// attempts, and, read at most once a second from lag, how long the oldest event not yet
// published has waited since its write.
func (m *Metrics) WatchNATS(lag func() time.Duration) *NATS {
	if m == nil {
		return nil
	}
	n := &NATS{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "custd_nats_published_events_total",
			Help: "Events this process published to NATS JetStream and JetStream acknowledged.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "custd_nats_publish_failures_total",
			Help: "Attempts to publish to NATS JetStream that failed (NATS or the store unreachable, an acknowledgement missing); each is retried.",
		}),
	}
	var (
		mu  sync.Mutex
		at  time.Time
		cur time.Duration
	)
	m.reg.MustRegister(n.published, n.failures,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "custd_nats_lag_seconds",
			Help: "How long the oldest event not yet on NATS JetStream has waited since its write; 0 when all are published (or another process publishes).",
		}, func() float64 {
			mu.Lock()
			defer mu.Unlock()
			if time.Since(at) > time.Second {
				cur, at = lag(), time.Now()
			}
			return cur.Seconds()
		}),
	)
	return n
}

// Published counts events acknowledged by JetStream.
func (n *NATS) Published(events int) {
	if n != nil {
		n.published.Add(float64(events))
	}
}

// Failed counts a failed attempt to publish.
func (n *NATS) Failed() {
	if n != nil {
		n.failures.Inc()
	}
}
