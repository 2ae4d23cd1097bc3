package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/custd/custd/internal/postgres/pgtest"
)

// TestMetricsAddress: with CUSTD_METRICS_ADDR the metrics are served there without
// credentials, with the families of the store in use, and not on the API's address.
func TestMetricsAddress(t *testing.T) {
	for _, tc := range []struct {
		store  string
		db     func(t *testing.T) string
		family string
	}{
		{"sqlite", func(t *testing.T) string { return newEnv(t)["CUSTD_DB"] }, "custd_sqlite_commit_writes"},
		{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t) }, "custd_postgres_pool_connections"},
	} {
		t.Run(tc.store, func(t *testing.T) {
			e := env{"CUSTD_DB": tc.db(t), "CUSTD_ADMIN_PASSWORD": "first admin password", "CUSTD_METRICS_ADDR": "127.0.0.1:0"}
			s := startServe(t, e)
			m := regexp.MustCompile(`"msg":"metrics","addr":"([^"]+)"`).FindStringSubmatch(s.stderr.String())
			if m == nil {
				t.Fatalf("no metrics address logged:\n%s", s.stderr.String())
			}
			if status, body := s.request(t, "admin@demo", "first admin password", "POST", "/v1/Customers", `{}`); status != http.StatusCreated {
				t.Fatalf("create: %d %s", status, body)
			}
			if status, _ := s.request(t, "admin@demo", "first admin password", "GET", "/metrics", ""); status != http.StatusNotFound {
				t.Fatalf("/metrics on the API's address: %d", status)
			}
			resp, err := http.Get("http://" + m[1] + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			p := expfmt.NewTextParser(model.UTF8Validation)
			families, err := p.TextToMetricFamilies(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("scrape: %d %v", resp.StatusCode, err)
			}
			for _, name := range []string{
				"custd_http_requests_total", "custd_http_request_duration_seconds", "custd_http_open_connections",
				"custd_request_log_records_dropped_total", tc.family, "custd_webhook_attempts_total",
				"custd_webhook_delivery_lag_seconds", "custd_webhook_deliveries_pending", "custd_webhook_oldest_pending_seconds", "go_goroutines", "process_cpu_seconds_total",
			} {
				if families[name] == nil {
					t.Errorf("no %s", name)
				}
			}
			if tc.store == "sqlite" && families["custd_sqlite_commit_duration_seconds"].GetMetric()[0].GetHistogram().GetSampleCount() == 0 {
				t.Error("no SQLite commit timed")
			}
		})
	}
}

// TestRequestLogFlushedAtShutdown: what the request log holds in memory when the server is
// told to stop is written before it exits.
func TestRequestLogFlushedAtShutdown(t *testing.T) {
	e := newEnv(t)
	e["CUSTD_ADMIN_PASSWORD"] = "first admin password"
	s := startServe(t, e)
	if status, _ := s.request(t, "admin@demo", "first admin password", "GET", "/v1/Customers/7", ""); status != http.StatusNotFound {
		t.Fatalf("GET: %d", status)
	}
	if status, _ := s.request(t, "ghost@demo", "guessing away", "GET", "/v1/Customers", ""); status != http.StatusUnauthorized {
		t.Fatalf("bad login: %d", status)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	s2 := startServe(t, e)
	status, body := s2.request(t, "admin@demo", "first admin password", "GET", "/v1/RequestLogs?page_size=2", "")
	var page struct {
		Records []struct {
			Path, Username string
			Status         int
		}
	}
	if json.Unmarshal(body, &page); status != http.StatusOK || len(page.Records) != 2 {
		t.Fatalf("request log after a restart: %d %s", status, body)
	}
	if r := page.Records[0]; r.Username != "ghost" || r.Status != http.StatusUnauthorized {
		t.Errorf("newest: %+v", r)
	}
	if r := page.Records[1]; r.Path != "/v1/Customers/7" || r.Status != http.StatusNotFound || r.Username != "admin" {
		t.Errorf("second newest: %+v", r)
	}
	if strings.Contains(string(body), "guessing away") {
		t.Fatal("a password in the request log")
	}
}
