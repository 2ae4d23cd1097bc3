package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custd/custd/internal/httpapi"
	"github.com/custd/custd/internal/webhook"
)

// receiver is a real HTTP receiver on loopback that records what it gets.
type receiver struct {
	srv    *httptest.Server
	echo   bool                                  // answer confirmations by echoing the code
	answer func(n int, event map[string]any) int // status for the n-th notification (from 1)

	mu     sync.Mutex
	secret string           // the code of the confirmation request
	got    []map[string]any // notifications, in the order they arrived
	bad    []string         // notifications whose signature did not verify
	count  atomic.Int32
}

func newReceiver(t *testing.T, echo bool) *receiver {
	rc := &receiver{echo: echo}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m map[string]any
	json.Unmarshal(body, &m)
	if m["event_type"] == "WEBHOOK_CONFIRMATION" {
		rc.mu.Lock()
		rc.secret = r.Header.Get("X-Hook-Secret")
		rc.mu.Unlock()
		if rc.echo {
			w.Header().Set("X-Hook-Secret", r.Header.Get("X-Hook-Secret"))
		}
		return
	}
	n := int(rc.count.Add(1))
	status := http.StatusOK
	if rc.answer != nil {
		status = rc.answer(n, m)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	// Verify as a receiver would: HMAC-SHA256(code, timestamp + "." + body).
	mac := hmac.New(sha256.New, []byte(rc.secret))
	mac.Write([]byte(r.Header.Get("X-Hook-Timestamp") + "." + string(body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-Hook-Signature"))) || r.Header.Get("X-Hook-Event-Id") != fmt.Sprint(m["event_id"]) {
		rc.bad = append(rc.bad, string(body))
	}
	if status/100 == 2 {
		rc.got = append(rc.got, m)
	}
	w.WriteHeader(status)
}

func (rc *receiver) notifications() []map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]map[string]any(nil), rc.got...)
}

// waitFor polls cond for up to 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// startWorker runs the webhook worker of a as serve does, with short waits.
func startWorker(t *testing.T, a *api, owner string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w := &webhook.Worker{Store: a.store, Sender: webhook.NewSender(a.cfg.WebhookGuard), Body: httpapi.NotificationBody(""),
		Log: slog.New(slog.NewTextHandler(testWriter{t}, nil)), Owner: owner, Poll: 20 * time.Millisecond, Backoff: func(int32) time.Duration { return 50 * time.Millisecond }}
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func (a *api) register(who as, url string) int {
	a.t.Helper()
	r := a.do(who, "POST", "/v1/WebhookReceivers", obj{"url": url, "description": "test"}).want(a.t, http.StatusCreated)
	return int(r.json(a.t)["id"].(float64))
}

func (a *api) subscribe(who as, receiver int, types ...string) {
	a.t.Helper()
	for _, typ := range types {
		a.do(who, "POST", "/v1/WebhookSubscriptions", obj{"webhook_receiver_id": receiver, "event_type": typ}).want(a.t, http.StatusCreated)
	}
}

func TestWebhooks(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			a := newAPI(t, kind.open(t), httpapi.Config{WebhookGuard: &webhook.Guard{AllowPrivate: true}})

			// Confirmation by echo: active at once.
			echo := newReceiver(t, true)
			echoID := a.register(admin, echo.srv.URL)
			if st := a.do(clerk, "GET", fmt.Sprintf("/v1/WebhookReceivers/%d", echoID), nil).want(t, http.StatusOK).json(t)["status"]; st != "ACTIVE" {
				t.Fatalf("an echoing receiver is %v", st)
			}
			// Confirmation by code: pending until activated with the code it was sent.
			quiet := newReceiver(t, false)
			quietID := a.register(admin, quiet.srv.URL)
			path := fmt.Sprintf("/v1/WebhookReceivers/%d", quietID)
			if st := a.do(admin, "GET", path, nil).want(t, http.StatusOK).json(t)["status"]; st != "PENDING" || quiet.secret == "" {
				t.Fatalf("a silent receiver is %v (code sent: %q)", st, quiet.secret)
			}
			a.do(admin, "POST", path+"/activate", obj{"confirmation_code": "wrong"}).want(t, http.StatusBadRequest)
			a.do(clerk, "POST", path+"/activate", obj{"confirmation_code": quiet.secret}).want(t, http.StatusForbidden)
			a.do(other, "POST", path+"/activate", obj{"confirmation_code": quiet.secret}).want(t, http.StatusNotFound)
			if st := a.do(admin, "POST", path+"/activate", nil, header{"X-Hook-Secret", quiet.secret}).want(t, http.StatusOK).json(t)["status"]; st != "ACTIVE" {
				t.Fatalf("activated with the code: %v", st)
			}
			// The code is never shown.
			for _, p := range []string{"/v1/WebhookReceivers", path} {
				if b := string(a.do(admin, "GET", p, nil).want(t, http.StatusOK).body); strings.Contains(b, quiet.secret) || strings.Contains(b, echo.secret) {
					t.Fatalf("%s shows a receiver's code: %s", p, b)
				}
			}

			// Subscriptions: rules and tenancy.
			a.subscribe(admin, echoID, "CUSTOMER_CREATED", "CUSTOMER_UPDATED")
			otherRcv := newReceiver(t, true)
			otherID := a.register(other, otherRcv.srv.URL)
			r := a.do(admin, "POST", "/v1/WebhookSubscriptions", obj{"webhook_receiver_id": otherID, "event_type": "CUSTOMER_CREATED"}).want(t, http.StatusBadRequest)
			if _, ok := r.fieldErrors(t)["webhook_receiver_id"]; !ok {
				t.Fatalf("another client's receiver: %s", r.body)
			}
			r = a.do(admin, "POST", "/v1/WebhookSubscriptions", obj{"webhook_receiver_id": echoID, "event_type": "CUSTOMER_ERASED", "x": 1}).want(t, http.StatusBadRequest)
			if fe := r.fieldErrors(t); fe["event_type"] == "" || fe["x"] == "" {
				t.Fatalf("bad subscription: %s", r.body)
			}
			a.do(clerk, "POST", "/v1/WebhookSubscriptions", obj{"webhook_receiver_id": echoID, "event_type": "CUSTOMER_CREATED"}).want(t, http.StatusForbidden)
			if n := a.do(clerk, "GET", "/v1/WebhookSubscriptions", nil).want(t, http.StatusOK).json(t)["record_count"]; n != 2.0 {
				t.Fatalf("%v subscriptions", n)
			}
			if n := a.do(other, "GET", "/v1/WebhookReceivers", nil).want(t, http.StatusOK).json(t)["record_count"]; n != 1.0 {
				t.Fatalf("the other client sees %v receivers", n)
			}
			a.do(other, "GET", fmt.Sprintf("/v1/WebhookReceivers/%d", echoID), nil).want(t, http.StatusNotFound)

			// Events before the worker runs are delivered once it does; in order, signed.
			id := a.create(admin, obj{"account_number": "W-1"})
			a.do(admin, "PATCH", fmt.Sprintf("/v1/Customers/%d", id), []obj{{"op": "replace", "path": "/email", "value": "w@example.com"}}).want(t, http.StatusOK)
			a.do(admin, "DELETE", fmt.Sprintf("/v1/Customers/%d", id), nil).want(t, http.StatusOK) // CLOSED: not subscribed
			startWorker(t, a, "test-worker")
			waitFor(t, "two notifications", func() bool { return len(echo.notifications()) >= 2 })
			got := echo.notifications()
			if len(got) != 2 || got[0]["event_type"] != "CUSTOMER_CREATED" || got[1]["event_type"] != "CUSTOMER_UPDATED" || got[0]["object_id"] != float64(id) {
				t.Fatalf("notifications: %v", got)
			}
			for _, k := range []string{"event_id", "event_type", "created_date", "object_id", "data"} {
				if _, ok := got[1][k]; !ok {
					t.Fatalf("notification without %s: %v", k, got[1])
				}
			}
			if c := got[1]["data"].(map[string]any)["customer"].(map[string]any); c["email"] != "w@example.com" {
				t.Fatalf("notification data: %v", c)
			}
			if len(echo.bad) > 0 {
				t.Fatalf("signatures did not verify: %v", echo.bad)
			}
			if otherRcv.count.Load() != 0 {
				t.Fatal("another client's receiver was sent this client's events")
			}
			// The receiver acknowledged before the worker records it: wait for the record.
			var ds map[string]any
			waitFor(t, "both deliveries recorded", func() bool {
				ds = a.do(clerk, "GET", "/v1/WebhookDeliveries?search.webhook_receiver_id="+fmt.Sprint(echoID), nil).want(t, http.StatusOK).json(t)
				for _, d := range ds["records"].([]any) {
					if d.(map[string]any)["status"] != "DELIVERED" {
						return false
					}
				}
				return len(ds["records"].([]any)) == 2
			})
			for _, d := range ds["records"].([]any) {
				d := d.(map[string]any)
				if d["status"] != "DELIVERED" || d["attempts"] != 1.0 || d["last_status_code"] != 200.0 || d["next_attempt_date"] != nil || d["last_error"] != nil {
					t.Fatalf("delivery: %v", d)
				}
			}

			// Retries: a receiver that fails twice gets it on the third attempt.
			flaky := newReceiver(t, true)
			flaky.answer = func(n int, _ map[string]any) int {
				if n <= 2 {
					return http.StatusServiceUnavailable
				}
				return http.StatusOK
			}
			flakyID := a.register(admin, flaky.srv.URL)
			a.subscribe(admin, flakyID, "CUSTOMER_CREATED")
			a.create(admin, obj{})
			waitFor(t, "the third attempt", func() bool { return len(flaky.notifications()) == 1 })
			waitFor(t, "the delivery recorded", func() bool {
				d := a.do(admin, "GET", fmt.Sprintf("/v1/WebhookDeliveries?webhook_receiver_id=%d", flakyID), nil).json(t)["records"].([]any)[0].(map[string]any)
				return d["status"] == "DELIVERED" && d["attempts"] == 3.0
			})

			// Order within a customer, while another customer is not held back: customer
			// x's first event fails until released, its second waits; customer y flows.
			var release atomic.Bool
			slow := newReceiver(t, true)
			slowID := 0
			x := a.create(admin, obj{"account_number": "X"})
			slow.answer = func(_ int, m map[string]any) int {
				if m["object_id"] == float64(x) && !release.Load() {
					return http.StatusInternalServerError
				}
				return http.StatusOK
			}
			slowID = a.register(admin, slow.srv.URL)
			a.subscribe(admin, slowID, "CUSTOMER_UPDATED")
			for i := range 2 {
				a.do(admin, "PUT", fmt.Sprintf("/v1/Customers/%d", x), obj{"status": "OPEN", "account_number": "X", "source": fmt.Sprint("x", i)}).want(t, http.StatusOK)
			}
			y := a.create(admin, obj{"account_number": "Y"})
			a.do(admin, "PUT", fmt.Sprintf("/v1/Customers/%d", y), obj{"status": "OPEN", "account_number": "Y"}).want(t, http.StatusOK)
			waitFor(t, "customer y's event past customer x's failing one", func() bool {
				for _, m := range slow.notifications() {
					if m["object_id"] == float64(y) {
						return true
					}
				}
				return false
			})
			time.Sleep(200 * time.Millisecond) // x's first event keeps failing meanwhile
			for _, m := range slow.notifications() {
				if m["object_id"] == float64(x) {
					t.Fatal("customer x's second event was delivered while its first was failing")
				}
			}
			release.Store(true)
			waitFor(t, "customer x's events", func() bool { return len(slow.notifications()) == 3 })
			var xs []float64
			for _, m := range slow.notifications() {
				if m["object_id"] == float64(x) {
					xs = append(xs, m["data"].(map[string]any)["customer"].(map[string]any)["customer_id"].(float64))
					if src := m["data"].(map[string]any)["customer"].(map[string]any)["source"]; src != fmt.Sprint("x", len(xs)-1) {
						t.Fatalf("customer x's event %d carries source %v: out of order", len(xs), src)
					}
				}
			}

			// Retry by hand sends a delivered one again; deleting a receiver stops it.
			d := a.do(admin, "GET", fmt.Sprintf("/v1/WebhookDeliveries?webhook_receiver_id=%d&status=delivered&page_size=1", echoID), nil).json(t)["records"].([]any)[0].(map[string]any)
			before := len(echo.notifications())
			a.do(clerk, "POST", fmt.Sprintf("/v1/WebhookDeliveries/%d/retry", int(d["webhook_delivery_id"].(float64))), nil).want(t, http.StatusForbidden)
			a.do(other, "POST", fmt.Sprintf("/v1/WebhookDeliveries/%d/retry", int(d["webhook_delivery_id"].(float64))), nil).want(t, http.StatusNotFound)
			if st := a.do(admin, "POST", fmt.Sprintf("/v1/WebhookDeliveries/%d/retry", int(d["webhook_delivery_id"].(float64))), nil).want(t, http.StatusOK).json(t)["status"]; st != "PENDING" {
				t.Fatalf("retried delivery is %v", st)
			}
			waitFor(t, "the retried delivery", func() bool { return len(echo.notifications()) == before+1 })
			if st := a.do(admin, "DELETE", fmt.Sprintf("/v1/WebhookReceivers/%d", echoID), nil).want(t, http.StatusOK).json(t)["status"]; st != "DISABLED" {
				t.Fatalf("deleted receiver is %v", st)
			}
			a.create(admin, obj{})
			time.Sleep(200 * time.Millisecond)
			if n := len(echo.notifications()); n != before+1 {
				t.Fatalf("a deleted receiver got %d more notifications", n-before-1)
			}
			a.do(admin, "POST", fmt.Sprintf("/v1/WebhookReceivers/%d/activate", echoID), nil, header{"X-Hook-Secret", echo.secret}).want(t, http.StatusConflict)
			a.do(admin, "GET", "/v1/WebhookDeliveries?status=LOST", nil).want(t, http.StatusBadRequest)
		})
	}
}

// lookup is a resolver with fixed answers, for names the test makes up.
type lookup func(host string) []netip.Addr

func (l lookup) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if ips := l(host); len(ips) > 0 {
		return ips, nil
	}
	return nil, fmt.Errorf("no such host %s", host)
}

// TestWebhookAddresses: by default a receiver may not point at internal addresses, at
// registration and again when connecting.
func TestWebhookAddresses(t *testing.T) {
	var rebound atomic.Bool
	resolver := lookup(func(host string) []netip.Addr {
		switch host {
		case "loopback.example.test":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}
		case "mixed.example.test":
			return []netip.Addr{netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.1.2.3")}
		case "localhost":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
		case "rebind.example.test":
			// Public when registered, loopback when connecting.
			if rebound.Swap(true) {
				return []netip.Addr{netip.MustParseAddr("127.0.0.1")}
			}
			return []netip.Addr{netip.MustParseAddr("93.184.216.34")}
		}
		return nil
	})
	a := newAPI(t, storeKinds[0].open(t), httpapi.Config{WebhookGuard: &webhook.Guard{Resolver: resolver}})
	target := newReceiver(t, true) // a real receiver on loopback: never to be reached
	port := target.srv.URL[strings.LastIndex(target.srv.URL, ":")+1:]
	for _, u := range []string{
		"https://127.0.0.1:" + port + "/hook", "https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data",
		"https://[::1]:" + port + "/hook", "https://localhost:" + port + "/hook", "https://loopback.example.test:" + port + "/",
		"https://mixed.example.test/", "https://192.168.1.10/", "https://100.64.0.1/", "https://0.0.0.0/",
		"https://[::ffff:127.0.0.1]/", "https://[fd00::1]/", "http://93.184.216.34/hook", "https://nowhere.example.test/",
		"ftp://files.example.com/", "https://user:pw@hooks.example.com/", "not a url",
	} {
		r := a.do(admin, "POST", "/v1/WebhookReceivers", obj{"url": u}).want(t, http.StatusBadRequest)
		if msg := r.fieldErrors(t)["url"]; msg == "" {
			t.Errorf("%s: refused without naming url: %s", u, r.body)
		}
	}
	if target.count.Load() != 0 || target.secret != "" {
		t.Fatal("a refused receiver was called")
	}
	if n := a.do(admin, "GET", "/v1/WebhookReceivers", nil).want(t, http.StatusOK).json(t)["record_count"]; n != 0.0 {
		t.Fatalf("refused registrations stored %v receivers", n)
	}
	// A name that resolved to a public address at registration and to loopback when
	// connecting: the connection is refused, so the receiver is never reached.
	id := a.register(admin, "https://rebind.example.test:"+port+"/hook")
	if st := a.do(admin, "GET", fmt.Sprintf("/v1/WebhookReceivers/%d", id), nil).json(t)["status"]; st != "PENDING" || target.secret != "" {
		t.Fatalf("the rebound receiver is %v; confirmation reached it: %v", st, target.secret != "")
	}
}

// testWriter writes a log into the test's output.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
