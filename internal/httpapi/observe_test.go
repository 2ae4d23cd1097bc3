package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
	"github.com/custd/custd/internal/metrics"
)

// lockedBuffer is a buffer that the server's goroutines and the test may use at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// scrape reads GET /metrics of the API as who and parses it with Prometheus' own parser.
func (a *api) scrape(who as) map[string]*dto.MetricFamily {
	a.t.Helper()
	r := a.do(who, "GET", "/metrics", nil).want(a.t, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		a.t.Fatalf("metrics as %s", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		a.t.Fatalf("the metrics do not parse: %v\n%s", err, r.body)
	}
	return families
}

// series counts the series of every family.
func series(families map[string]*dto.MetricFamily) int {
	n := 0
	for _, f := range families {
		n += len(f.Metric)
	}
	return n
}

// sample returns the metric of a family whose labels are exactly the given ones, or nil.
func sample(f *dto.MetricFamily, labels map[string]string) *dto.Metric {
	if f == nil {
		return nil
	}
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		if maps.Equal(got, labels) {
			return m
		}
	}
	return nil
}

func TestMetrics(t *testing.T) {
	a := newAPI(t, storeKinds[0].open(t), httpapi.Config{Metrics: metrics.New(), MetricsOnAPI: true})
	id := a.create(admin, obj{})
	get := func(path string) {
		t.Helper()
		resp, err := http.Get(a.url + path) // no credentials: a 401 or a 404 either way
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// Every kind of request once, then a scrape that the next ones include.
	hit := func(i int) {
		a.do(admin, "GET", fmt.Sprintf("/v1/Customers/%d", 1000+i), nil).want(t, http.StatusNotFound)
		get(fmt.Sprintf("/v1/Customers/%d", 1000+i))
		get(fmt.Sprintf("/nothing-here/%d?customer=%d", i, i))
		get(fmt.Sprintf("/v1/Customers/%d/orders/%d", i, i))
		get(fmt.Sprintf("/V1/customers/%d", i))
	}
	hit(0)
	a.do(admin, "GET", fmt.Sprintf("/v1/Customers/%d", id), nil).want(t, http.StatusOK)
	a.scrape(admin)
	before := a.scrape(admin)

	for i := 1; i <= 1000; i++ {
		hit(i)
	}
	after := a.scrape(admin)
	if b, n := series(before), series(after); n != b {
		var names []string
		for name, f := range after {
			if len(f.Metric) != len(before[name].GetMetric()) {
				names = append(names, fmt.Sprintf("%s %d→%d", name, len(before[name].GetMetric()), len(f.Metric)))
			}
		}
		t.Fatalf("1,000 more customer ids and unknown paths grew the series from %d to %d: %v", b, n, names)
	}

	for _, name := range []string{
		"custd_http_requests_total", "custd_http_request_duration_seconds",
		"custd_request_log_records_written_total", "custd_request_log_records_dropped_total",
		"custd_request_log_buffered_records", "custd_request_log_buffer_capacity_records",
		"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes",
	} {
		if after[name] == nil {
			t.Errorf("no %s in the metrics", name)
		}
	}
	requests := after["custd_http_requests_total"]
	if m := sample(requests, map[string]string{"route": "/v1/Customers/{id}", "method": "GET", "status": "404"}); m.GetCounter().GetValue() != 1001 {
		t.Errorf("GET /v1/Customers/{id} 404: %v", m)
	}
	if m := sample(requests, map[string]string{"route": "/v1/Customers/{id}", "method": "GET", "status": "401"}); m.GetCounter().GetValue() != 2002 {
		t.Errorf("GET /v1/Customers/{id} 401: %v", m) // /V1/customers/7 is the same route
	}
	if m := sample(requests, map[string]string{"route": "unmatched", "method": "GET", "status": "404"}); m.GetCounter().GetValue() != 1001 {
		t.Errorf("unmatched 404: %v", m)
	}
	if m := sample(requests, map[string]string{"route": "unmatched", "method": "GET", "status": "401"}); m.GetCounter().GetValue() != 1001 {
		t.Errorf("unmatched 401: %v", m) // under /v1/ the credentials come first
	}
	if m := sample(after["custd_http_request_duration_seconds"], map[string]string{"route": "/v1/Customers/{id}", "method": "GET"}); m.GetHistogram().GetSampleCount() != 3004 {
		t.Errorf("durations of GET /v1/Customers/{id}: %v", m)
	}
	// Routes are patterns, and no label value holds a client, a user, an id or a path.
	routes := map[string]bool{"unmatched": true, "/v1/Customers": true, "/v1/Customers/{id}": true, "/metrics": true}
	for _, name := range []string{"custd_http_requests_total", "custd_http_request_duration_seconds"} {
		for _, m := range after[name].GetMetric() {
			for _, l := range m.Label {
				if l.GetName() == "route" && !routes[l.GetValue()] {
					t.Errorf("%s: route %q", name, l.GetValue())
				}
			}
		}
	}
	for name, f := range after {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if v := strings.ToLower(l.GetValue()); strings.Contains(v, "acme") || strings.Contains(v, "admin") ||
					strings.Contains(v, "nothing-here") || strings.Contains(v, "orders") || strings.Contains(v, "/1000") {
					t.Errorf("%s: label %s=%q", name, l.GetName(), v)
				}
			}
		}
	}

	// On the API, the metrics are for admins; a server with its own metrics address (or
	// none) has no /metrics here.
	a.do(clerk, "GET", "/metrics", nil).want(t, http.StatusForbidden)
	a.do(nobody, "GET", "/metrics", nil).want(t, http.StatusUnauthorized)
	a.do(other, "GET", "/metrics", nil).want(t, http.StatusOK)
	for _, cfg := range []httpapi.Config{{Metrics: metrics.New()}, {MetricsOnAPI: true}} {
		b := newAPI(t, storeKinds[0].open(t), cfg)
		b.do(admin, "GET", "/metrics", nil).want(t, http.StatusNotFound)
	}
}

// blockingLog is a real store whose request log writes wait until released, as a store
// that falls behind would make them.
type blockingLog struct {
	customer.Store
	entered  chan struct{}
	released chan struct{}
}

func (b *blockingLog) RecordRequests(ctx context.Context, rs []*customer.LoggedRequest) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-b.released
	return b.Store.RecordRequests(ctx, rs)
}

// TestRequestLogNeverBlocks: when the store falls behind and the buffer is full, requests
// are answered anyway, and the records that do not fit are counted as dropped.
func TestRequestLogNeverBlocks(t *testing.T) {
	store := &blockingLog{Store: storeKinds[0].open(t), entered: make(chan struct{}, 1), released: make(chan struct{})}
	a := newAPI(t, store, httpapi.Config{Metrics: metrics.New(), MetricsOnAPI: true, RequestLogBuffer: 2})
	a.do(admin, "GET", "/v1/Customers", nil).want(t, http.StatusOK)
	<-store.entered // the writer holds the first record and waits for the store
	for range 5 {
		a.do(admin, "GET", "/v1/Customers", nil).want(t, http.StatusOK)
	}
	until := time.Now()
	pause()
	m := a.scrape(admin)
	if got := sample(m["custd_request_log_records_dropped_total"], map[string]string{"reason": "buffer_full"}).GetCounter().GetValue(); got != 3 {
		t.Errorf("dropped %v records, want 3", got)
	}
	if got := m["custd_request_log_buffered_records"].GetMetric()[0].GetGauge().GetValue(); got != 2 {
		t.Errorf("%v records buffered, want 2", got)
	}
	close(store.released)
	a.requestLog(admin, "", until, 3)
}

// secret values sent in requests, which nothing custd writes may contain.
const (
	secretPassword = "Wr0ng-Pa55word-Secret"
	secretPIN      = "PIN-73910-secret"
	secretTaxID    = "TAX-98-7654321-secret"
	secretToken    = "tok-Bearer-Secret-5520"
)

// TestNoSecretsAnywhere sends passwords, Authorization values, security PINs and tax ids
// in every part of requests (headers, query strings, bodies, good and bad) and checks
// that none appears in the server's log, in the request log or in the metrics.
func TestNoSecretsAnywhere(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			logs := &lockedBuffer{}
			a := newAPI(t, kind.open(t), httpapi.Config{
				Logger: slog.New(slog.NewJSONHandler(logs, nil)), Metrics: metrics.New(), MetricsOnAPI: true,
			})
			secrets := []string{password, secretPassword, secretPIN, secretTaxID, secretToken,
				base64.StdEncoding.EncodeToString([]byte("admin@acme:" + password)),
				base64.StdEncoding.EncodeToString([]byte("admin@acme:" + secretPassword)),
				base64.StdEncoding.EncodeToString([]byte("clerk@acme:" + password))}
			full := obj{"account_number": "S-1", "security_pin": secretPIN, "profile": obj{"tax_id": secretTaxID}}
			id := a.create(admin, full)
			path := fmt.Sprintf("/v1/Customers/%d", id)
			sent := 1
			send := func(who as, method, p string, body any, headers ...header) {
				t.Helper()
				a.do(who, method, p, body, headers...)
				sent++
			}
			keys := header{"X-Api-Key", secretToken}
			send(admin, "PUT", path, full, keys, header{"Cookie", "session=" + secretToken})
			send(admin, "PUT", path, full, header{"Idempotency-Key", "k-1"})
			send(admin, "PUT", path, full, header{"Idempotency-Key", "k-1"}) // replayed
			send(admin, "PATCH", path, []obj{{"op": "test", "path": "security_pin", "value": secretPIN + "x"}})
			send(admin, "PATCH", path, []obj{{"op": "replace", "path": "profile/tax_id", "value": strings.Repeat(secretTaxID, 20)}})
			send(admin, "PATCH", path, []obj{{"op": "replace", "path": "security_pin", "value": secretPIN}, {"op": "bogus", "value": secretTaxID}})
			send(admin, "POST", "/v1/Customers", `{"security_pin": "`+secretPIN+`", "profile": {"tax_id": `)
			send(admin, "POST", "/v1/Customers", `{"security_pin": ["`+secretPIN+`"], "profile": {"tax_id": 7, "x": "`+secretTaxID+`"}}`)
			send(admin, "POST", "/v1/Customers", `{"security_pin": "`+secretPIN+`"}`+"\x00"+secretTaxID, header{"Content-Type", "text/plain"})
			send(admin, "PUT", path, obj{"status": "OPEN", "security_pin": secretPIN + strings.Repeat("9", 40)})
			send(admin, "GET", "/v1/Customers?security_pin="+secretPIN+"&tax_id="+secretTaxID+"&password="+secretPassword+"&"+secretToken, nil)
			send(admin, "GET", "/v1/Customers?search.name="+secretTaxID[:3]+"&access_token="+secretToken, nil)
			send(admin, "GET", path+"?tax_id="+secretTaxID, nil, header{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin@acme:"+secretPassword))})
			send(admin, "DELETE", path+"?"+secretPIN+"="+secretTaxID, nil, header{"Ocp-Apim-Subscription-Key", secretToken})
			send(admin, "POST", "/v1/Nowhere?pin="+secretPIN, full)
			send(clerk, "PUT", path, full)
			send(admin, "GET", "/v1/RequestLogs?username=admin&pin="+secretPIN, nil)
			a.do(admin, "GET", "/v1/Customers", nil, header{"Authorization", "Bearer " + secretToken}).want(t, http.StatusUnauthorized)
			a.do(admin, "GET", "/metrics?"+secretToken, nil)
			until := time.Now()
			pause()

			a.requestLog(admin, "", until, sent) // every request is in
			var requestLog strings.Builder
			for page := 1; ; page++ {
				r := a.do(admin, "GET", fmt.Sprintf("/v1/RequestLogs?page_size=500&page=%d", page), nil).want(t, http.StatusOK)
				requestLog.Write(r.body)
				if !bytes.Contains(r.body, []byte(`"has_more":true`)) {
					break
				}
			}
			metricsText := string(a.do(admin, "GET", "/metrics", nil).want(t, http.StatusOK).body)

			// The checks can fail: each place holds what the requests did send.
			for what, s := range map[string]struct{ text, holds string }{
				"log":         {logs.String(), `"path":"/v1/Customers"`},
				"request log": {requestLog.String(), `"path":"/v1/Nowhere"`},
				"metrics":     {metricsText, `route="/v1/Customers/{id}"`},
			} {
				if !strings.Contains(s.text, s.holds) {
					t.Fatalf("the %s lacks %s:\n%.3000s", what, s.holds, s.text)
				}
				for _, secret := range secrets {
					if i := strings.Index(s.text, secret); i >= 0 {
						t.Errorf("the %s holds the secret %q: …%s…", what, secret, s.text[max(0, i-200):min(len(s.text), i+200)])
					}
				}
			}
		})
	}
}

// TestLogLine: one structured line per request, with its route pattern and the user's
// client.
func TestLogLine(t *testing.T) {
	logs := &lockedBuffer{}
	a := newAPI(t, storeKinds[0].open(t), httpapi.Config{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	id := a.create(admin, obj{})
	r := a.do(admin, "GET", fmt.Sprintf("/V1/customers/%d?x=1", id), nil, header{"X-Request-Id", "trace-77"}).want(t, http.StatusOK)
	a.do(nobody, "GET", "/no/such/path", nil)
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("%d request lines: %v", len(lines), lines)
	}
	got := lines[1]
	want := map[string]any{
		"level": "INFO", "msg": "request", "method": "GET", "path": fmt.Sprintf("/V1/customers/%d", id), "route": "/v1/Customers/{id}",
		"status": float64(200), "bytes": float64(len(r.body)), "request_id": "trace-77", "user": "admin@acme", "client": "acme",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
	for _, k := range []string{"time", "duration_ms", "remote"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
	if extra := slices.Collect(maps.Keys(got)); len(extra) != len(want)+3 {
		t.Errorf("members %v", extra)
	}
	if l := lines[2]; l["route"] != "unmatched" || l["user"] != "" || l["client"] != "" || l["status"] != float64(404) {
		t.Errorf("unmatched path: %v", l)
	}
}
