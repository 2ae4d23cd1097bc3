package httpapi_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/custd/custd/internal/httpapi"
)

// logLines returns the lines of a JSON log so far, decoded.
func logLines(t *testing.T, logs *syncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Bytes())
		}
		out = append(out, m)
	}
	return out
}

// TestClientGoneIsNotAnError: a request whose client hangs up before its answer (here
// while the write it waits for is held by another transaction) is logged as what it is,
// status 499 at level INFO, and not as an internal error.
func TestClientGoneIsNotAnError(t *testing.T) {
	for _, kind := range heldStores {
		t.Run(kind.name, func(t *testing.T) {
			s, hold := kind.open(t)
			logs, log := logBuffer()
			a := newAPI(t, s, httpapi.Config{Logger: log})
			id := a.create(admin, obj{})
			path := fmt.Sprintf("/v1/Customers/%d", id)
			release := hold(t, id)
			defer release()

			req, _ := http.NewRequest("PUT", a.url+path, strings.NewReader(`{"status":"OPEN"}`))
			req.SetBasicAuth(string(admin), password)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Request-Id", "hangs-up")
			impatient := &http.Client{Timeout: 200 * time.Millisecond}
			if resp, err := impatient.Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("the PUT was answered %d while its write was held", resp.StatusCode)
			}
			var line map[string]any
			for deadline := time.Now().Add(10 * time.Second); line == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				for _, l := range logLines(t, logs) {
					if l["msg"] == "request" && l["request_id"] == "hangs-up" {
						line = l
					}
				}
			}
			if line == nil {
				t.Fatal("no request line for the request whose client hung up")
			}
			if line["status"] != float64(499) || line["level"] != "INFO" {
				t.Errorf("the request whose client hung up is logged with status %v at %v, want 499 at INFO", line["status"], line["level"])
			}
			for _, l := range logLines(t, logs) {
				if l["level"] == "ERROR" {
					t.Errorf("logged an error: %v", l)
				}
			}
		})
	}
}

// TestStoreUnavailableLoggedOnce: while the store is unavailable, each refused request
// has its request line, but the store's error, the same for all, is logged once (and the
// count of the others later), as is the request log's failure to write them, so that an
// outage does not flood the log.
func TestStoreUnavailableLoggedOnce(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			s := kind.open(t)
			logs, log := logBuffer()
			a := newAPI(t, s, httpapi.Config{Logger: log})
			id := a.create(admin, obj{})
			a.do(admin, "GET", fmt.Sprintf("/v1/Customers/%d", id), nil).want(t, http.StatusOK)
			s.Close()
			for i := range 30 {
				a.do(admin, "GET", fmt.Sprintf("/v1/Customers/%d", id), nil).want(t, http.StatusServiceUnavailable)
				a.do(admin, "POST", "/v1/Customers", obj{}, header{"Idempotency-Key", fmt.Sprint(i)}).want(t, http.StatusServiceUnavailable)
				a.do(admin, "PUT", fmt.Sprintf("/v1/Customers/%d", id), obj{"status": "OPEN"}, header{"Idempotency-Key", fmt.Sprint(i)}).want(t, http.StatusServiceUnavailable)
			}
			requests, warnings := 0, map[string]int{}
			for _, l := range logLines(t, logs) {
				switch {
				case l["msg"] == "request" && l["status"] == float64(503):
					requests++
				case l["msg"] != "request":
					warnings[l["msg"].(string)]++
				}
			}
			if requests != 90 || warnings["store unavailable"] != 1 {
				t.Errorf("90 requests refused for an unavailable store: %d request lines and %d store unavailable warnings, want 90 and 1", requests, warnings["store unavailable"])
			}
			for msg, n := range warnings { // the request log's failed writes too
				if n != 1 {
					t.Errorf("%q logged %d times", msg, n)
				}
			}
		})
	}
}
