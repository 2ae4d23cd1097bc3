package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custd/custd/internal/postgres/pgtest"
)

// hookReceiver is a real receiver on loopback that confirms by echo and records the
// event ids it acknowledged, and whether two attempts of one event ever overlapped.
type hookReceiver struct {
	srv      *httptest.Server
	failing  atomic.Bool // answer 503 to notifications
	mu       sync.Mutex
	inFlight map[string]bool
	got      map[string]int // acknowledged notifications by event id
	overlap  []string
}

func newHookReceiver(t *testing.T, delay time.Duration) *hookReceiver {
	h := &hookReceiver{inFlight: map[string]bool{}, got: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if secret := r.Header.Get("X-Hook-Secret"); secret != "" {
			w.Header().Set("X-Hook-Secret", secret)
			return
		}
		id := r.Header.Get("X-Hook-Event-Id")
		h.mu.Lock()
		if h.inFlight[id] {
			h.overlap = append(h.overlap, id)
		}
		h.inFlight[id] = true
		h.mu.Unlock()
		time.Sleep(delay)
		h.mu.Lock()
		delete(h.inFlight, id)
		if !h.failing.Load() {
			h.got[id]++
		}
		h.mu.Unlock()
		if h.failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) acknowledged() (events, notifications int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.got {
		events++
		notifications += n
	}
	return events, notifications
}

// subscribeAll registers the receiver with p and subscribes it to every event type.
func subscribeAll(t *testing.T, p *process, pw, url string) int {
	t.Helper()
	r := call(t, p.url, "admin@demo", pw, "POST", "/v1/WebhookReceivers", fmt.Sprintf(`{"url":%q}`, url))
	var created struct{ ID int }
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &created) != nil {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	for _, typ := range []string{"CUSTOMER_CREATED", "CUSTOMER_UPDATED", "CUSTOMER_CLOSED"} {
		if r := call(t, p.url, "admin@demo", pw, "POST", "/v1/WebhookSubscriptions", fmt.Sprintf(`{"webhook_receiver_id":%d,"event_type":%q}`, created.ID, typ)); r.status != http.StatusCreated {
			t.Fatalf("subscribe: %d %s", r.status, r.body)
		}
	}
	return created.ID
}

func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out after %s waiting for %s", limit, what)
}

// TestWebhookDeliveriesSurviveKill: deliveries pending when custd is killed (-9) are
// attempted again by the next custd on the same store, and all arrive.
func TestWebhookDeliveriesSurviveKill(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "custd.db")
	const pw = "admin password 12"
	h := newHookReceiver(t, 0)
	p := startProcess(t, db, pw, "CUSTD_WEBHOOK_ALLOW_PRIVATE=1")
	subscribeAll(t, p, pw, h.srv.URL)
	h.failing.Store(true)
	const writes = 10
	for i := range writes {
		if r := call(t, p.url, "admin@demo", pw, "POST", "/v1/Customers", fmt.Sprintf(`{"account_number":"K-%d"}`, i)); r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
	}
	// Wait until every delivery has been attempted (and failed) at least once.
	waitUntil(t, 20*time.Second, "first attempts", func() bool {
		var page struct {
			Records []struct{ Attempts int } `json:"records"`
		}
		json.Unmarshal(call(t, p.url, "admin@demo", pw, "GET", "/v1/WebhookDeliveries?status=PENDING&page_size=100", "").body, &page)
		if len(page.Records) < writes {
			return false
		}
		for _, d := range page.Records {
			if d.Attempts == 0 {
				return false
			}
		}
		return true
	})
	p.cmd.Process.Kill() // kill -9: no shutdown
	p.cmd.Wait()
	h.failing.Store(false)

	q := startProcess(t, db, pw, "CUSTD_WEBHOOK_ALLOW_PRIVATE=1")
	// A delivery whose attempt was cut by the kill waits for its lease (30 s) to run out.
	waitUntil(t, 60*time.Second, "every event delivered after the restart", func() bool {
		events, _ := h.acknowledged()
		return events == writes
	})
	waitUntil(t, 10*time.Second, "every delivery recorded as DELIVERED", func() bool {
		var page struct {
			RecordCount int `json:"record_count"`
		}
		json.Unmarshal(call(t, q.url, "admin@demo", pw, "GET", "/v1/WebhookDeliveries?status=DELIVERED&page_size=100", "").body, &page)
		return page.RecordCount == writes
	})
	q.stop(t)
}

// TestWebhooksTwoProcessesOnPostgres: two custd processes on one database share the
// deliveries: each is attempted by one process at a time, and every event arrives.
func TestWebhooksTwoProcessesOnPostgres(t *testing.T) {
	db := pgtest.NewDatabase(t)
	const pw = "shared admin password"
	h := newHookReceiver(t, 30*time.Millisecond) // slow enough for attempts to overlap if they could
	a := startProcess(t, db, pw, "CUSTD_WEBHOOK_ALLOW_PRIVATE=1")
	b := startProcess(t, db, pw, "CUSTD_WEBHOOK_ALLOW_PRIVATE=1")
	subscribeAll(t, a, pw, h.srv.URL)
	const customers, updates = 20, 3
	var wg sync.WaitGroup
	for i := range customers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := []*process{a, b}[i%2]
			r := call(t, p.url, "admin@demo", pw, "POST", "/v1/Customers", `{}`)
			var created struct{ ID int }
			if json.Unmarshal(r.body, &created) != nil || created.ID == 0 {
				t.Errorf("create: %d %s", r.status, r.body)
				return
			}
			for n := range updates {
				q := []*process{a, b}[(i+n)%2]
				if r := call(t, q.url, "admin@demo", pw, "PUT", fmt.Sprintf("/v1/Customers/%d", created.ID), `{"status":"OPEN"}`); r.status != http.StatusOK {
					t.Errorf("PUT: %d %s", r.status, r.body)
				}
			}
		}()
	}
	wg.Wait()
	want := customers * (1 + updates)
	waitUntil(t, 60*time.Second, "every event delivered", func() bool {
		events, _ := h.acknowledged()
		return events == want
	})
	events, notifications := h.acknowledged()
	h.mu.Lock()
	overlap := h.overlap
	h.mu.Unlock()
	if len(overlap) > 0 {
		t.Fatalf("events attempted by two processes at once: %v", overlap)
	}
	if notifications != events {
		t.Fatalf("%d notifications for %d events: some were delivered twice", notifications, events)
	}
	for _, p := range []*process{a, b} {
		p.stop(t)
	}
}
