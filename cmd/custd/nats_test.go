package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/custd/custd/internal/natsfeed/natstest"
	"github.com/custd/custd/internal/postgres/pgtest"
)

// TestServePublishesToNATS: custd serve with CUSTD_NATS_URL publishes every event of
// every client to JetStream, each message exactly the record GET /v1/Events gives, and
// goes on serving while NATS is away; what was written meanwhile is published when it
// returns.
func TestServePublishesToNATS(t *testing.T) {
	n := natstest.Start(t)
	const pw = "first admin password"
	e := newEnv(t)
	e["CUSTD_ADMIN_PASSWORD"], e["CUSTD_NATS_URL"], e["CUSTD_TIME_FORMAT"] = pw, n.URL, "revio"
	s := startServe(t, e)
	if _, err := cli(t, e, "", "client", "add", "eu.acme"); err != nil {
		t.Fatal(err)
	}
	writer := env{"CUSTD_DB": e["CUSTD_DB"], "CUSTD_PASSWORD": "eu writer password"}
	if _, err := cli(t, writer, "", "user", "add", "w@eu.acme"); err != nil {
		t.Fatal(err)
	}
	want := func(status int, login, password, method, path, body string) {
		t.Helper()
		if got, b := s.request(t, login, password, method, path, body); got != status {
			t.Fatalf("%s %s: %d %s", method, path, got, b)
		}
	}
	want(http.StatusCreated, "admin@demo", pw, "POST", "/v1/Customers", `{"email":"a@example.com"}`)
	want(http.StatusCreated, "w@eu.acme", "eu writer password", "POST", "/v1/Customers", `{"email":"eu@example.com"}`)
	want(http.StatusOK, "admin@demo", pw, "PUT", "/v1/Customers/1", `{"status":"OPEN","email":"b@example.com"}`)

	// NATS goes away: custd goes on serving, and is ready.
	n.Stop()
	want(http.StatusCreated, "admin@demo", pw, "POST", "/v1/Customers", `{}`)
	want(http.StatusOK, "admin@demo", pw, "DELETE", "/v1/Customers/1", "")
	want(http.StatusOK, "w@eu.acme", "eu writer password", "PUT", "/v1/Customers/2", `{"status":"OPEN","source":"crm"}`)
	if resp, err := http.Get(s.url + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz while NATS is down: %v %v", resp, err)
	}
	if lag := natsMetrics(t, s, pw)["custd_nats_lag_seconds"]; lag <= 0 {
		t.Errorf("custd_nats_lag_seconds %v while events wait for NATS", lag)
	}
	n.Restart()

	// The events, as the API gives them to each client.
	type event struct {
		code string
		id   int64
		typ  string
		body []byte
	}
	var events []event
	for code, login := range map[string][2]string{"demo": {"admin@demo", pw}, "eu.acme": {"w@eu.acme", "eu writer password"}} {
		status, b := s.request(t, login[0], login[1], "GET", "/v1/Events", "")
		var feed struct{ Records []json.RawMessage }
		if status != http.StatusOK || json.Unmarshal(b, &feed) != nil {
			t.Fatalf("events of %s: %d %s", code, status, b)
		}
		for _, r := range feed.Records {
			var ev struct {
				EventID   int64  `json:"event_id"`
				EventType string `json:"event_type"`
			}
			json.Unmarshal(r, &ev)
			events = append(events, event{code, ev.EventID, ev.EventType, r})
		}
	}
	slices.SortFunc(events, func(a, b event) int { return int(a.id - b.id) })
	if len(events) != 6 {
		t.Fatalf("%d events in the API's feeds, want 6", len(events))
	}

	// The stream holds them, once each, in order.
	nc, err := nats.Connect(n.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	var msgs []*jetstream.RawStreamMsg
	for deadline := time.Now().Add(30 * time.Second); len(msgs) < len(events); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events in the stream after 30 s:\n%s", len(msgs), len(events), s.stderr.String())
		}
		msgs = msgs[:0]
		stream, err := js.Stream(t.Context(), "CUSTD_EVENTS")
		if err != nil {
			continue
		}
		info, err := stream.Info(t.Context())
		if err != nil {
			continue
		}
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0; seq++ {
			if m, err := stream.GetMsg(t.Context(), seq); err == nil {
				msgs = append(msgs, m)
			}
		}
	}
	time.Sleep(200 * time.Millisecond)
	if stream, err := js.Stream(t.Context(), "CUSTD_EVENTS"); err != nil || stream.CachedInfo().State.Msgs != uint64(len(events)) {
		t.Fatalf("the stream holds more messages than there are events: %v", err)
	}
	for i, ev := range events {
		m := msgs[i]
		subject := "custd." + strings.ReplaceAll(ev.code, ".", "%2E") + ".customer." + ev.typ
		id := ev.code + "-" + strconv.FormatInt(ev.id, 10)
		if m.Subject != subject || m.Header.Get("Nats-Msg-Id") != id || string(m.Data) != string(ev.body) {
			t.Fatalf("message %d: subject %s, id %s, body\n%s\nwant subject %s, id %s, body\n%s",
				m.Sequence, m.Subject, m.Header.Get("Nats-Msg-Id"), m.Data, subject, id, ev.body)
		}
	}
	// Metrics: every event published by this process, the failures while NATS was away,
	// and no lag once it caught up.
	var got map[string]float64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got = natsMetrics(t, s, pw); got["custd_nats_lag_seconds"] == 0 {
			break
		}
	}
	if got["custd_nats_published_events_total"] != 6 || got["custd_nats_publish_failures_total"] < 1 || got["custd_nats_lag_seconds"] != 0 {
		t.Errorf("metrics after NATS came back: %v", got)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if logs := s.stderr.String(); !strings.Contains(logs, `"msg":"publishing events to NATS JetStream","nats":"`+n.URL+`"`) {
		t.Fatalf("the log does not say where events go:\n%s", logs)
	}
}

// natsMetrics scrapes the publisher's metrics from the API's address.
func natsMetrics(t *testing.T, s *server, password string) map[string]float64 {
	t.Helper()
	status, body := s.request(t, "admin@demo", password, "GET", "/metrics", "")
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d %s", status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, name := range []string{"custd_nats_published_events_total", "custd_nats_publish_failures_total", "custd_nats_lag_seconds"} {
		f := families[name]
		if f == nil || len(f.GetMetric()) != 1 {
			t.Fatalf("no %s in /metrics", name)
		}
		m := f.GetMetric()[0]
		out[name] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return out
}

// TestServeRefusesABadNATSURL: a NATS URL that does not parse stops serve at once.
func TestServeRefusesABadNATSURL(t *testing.T) {
	e := newEnv(t)
	e["CUSTD_NATS_URL"] = "localhost:4222"
	if _, err := cli(t, e, "", "serve", "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "--nats-url") {
		t.Fatalf("serve with CUSTD_NATS_URL=localhost:4222: %v", err)
	}
}

// TestNATSAcrossProcessesOnPostgres: two custd processes on one PostgreSQL database both
// publish to NATS, one at a time; the one publishing is killed (kill -9) while clients
// write through both, and the other takes over: the stream holds every event once, in
// event_id order.
func TestNATSAcrossProcessesOnPostgres(t *testing.T) {
	n := natstest.Start(t)
	db := pgtest.NewDatabase(t)
	const pw = "shared admin password"
	a := startProcess(t, db, pw, "CUSTD_NATS_URL="+n.URL)
	nc, err := nats.Connect(n.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	streamHolds := func(want uint64, within time.Duration) uint64 {
		var got uint64
		for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if s, err := js.Stream(t.Context(), "CUSTD_EVENTS"); err == nil {
				if got = s.CachedInfo().State.Msgs; got >= want {
					break
				}
			}
		}
		return got
	}
	// write creates a customer (id 0) or replaces one through p; ok is false when p did
	// not answer (it was killed), and the write may or may not have happened.
	write := func(p *process, id int) (_ int, ok bool) {
		method, path, want := "PUT", fmt.Sprintf("/v1/Customers/%d", id), http.StatusOK
		if id == 0 {
			method, path, want = "POST", "/v1/Customers", http.StatusCreated
		}
		req, _ := http.NewRequest(method, p.url+path, strings.NewReader(`{"status":"OPEN","source":"nats"}`))
		req.SetBasicAuth("admin@demo", pw)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return id, false
		}
		defer resp.Body.Close()
		var created struct{ ID int }
		if resp.StatusCode != want || (id == 0 && json.NewDecoder(resp.Body).Decode(&created) != nil) {
			t.Errorf("%s %s: %d", method, path, resp.StatusCode)
			return id, false
		}
		if id == 0 {
			return created.ID, true
		}
		return id, true
	}
	first, _ := write(a, 0)
	for range 9 {
		write(a, first)
	}
	if got := streamHolds(10, 20*time.Second); got < 10 {
		t.Fatalf("the first process published %d of 10 events", got)
	}
	b := startProcess(t, db, pw, "CUSTD_NATS_URL="+n.URL)

	// Writers on both processes; the first process dies in the middle.
	var wg sync.WaitGroup
	for _, p := range []*process{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, ok := 0, true
			for i := 0; i < 40 && ok; i++ {
				id, ok = write(p, id)
			}
		}()
	}
	time.Sleep(150 * time.Millisecond)
	a.cmd.Process.Kill()
	wg.Wait()

	r := call(t, b.url, "admin@demo", pw, "GET", "/v1/Events?page_size=500", "")
	var feed struct{ Records []json.RawMessage }
	if r.status != http.StatusOK || json.Unmarshal(r.body, &feed) != nil {
		t.Fatalf("events: %d %s", r.status, r.body)
	}
	if got := streamHolds(uint64(len(feed.Records)), 30*time.Second); got != uint64(len(feed.Records)) {
		t.Fatalf("the stream holds %d messages for %d events:\n%s", got, len(feed.Records), b.logs.String())
	}
	time.Sleep(300 * time.Millisecond) // a duplicate would come now
	s, err := js.Stream(t.Context(), "CUSTD_EVENTS")
	if err != nil || s.CachedInfo().State.Msgs != uint64(len(feed.Records)) {
		t.Fatalf("stream after a while: %v, %v", s.CachedInfo().State, err)
	}
	for i, rec := range feed.Records {
		m, err := s.GetMsg(t.Context(), uint64(i)+s.CachedInfo().State.FirstSeq)
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			EventID int64 `json:"event_id"`
		}
		json.Unmarshal(rec, &ev)
		if id := "demo-" + strconv.FormatInt(ev.EventID, 10); m.Header.Get("Nats-Msg-Id") != id || string(m.Data) != string(rec) {
			t.Fatalf("message %d is %s, want %s (every event once, in event_id order)", m.Sequence, m.Header.Get("Nats-Msg-Id"), id)
		}
	}
}
