package natsfeed_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/natsfeed"
	"github.com/custd/custd/internal/natsfeed/natstest"
	"github.com/custd/custd/internal/postgres"
	"github.com/custd/custd/internal/postgres/pgtest"
	"github.com/custd/custd/internal/sqlite"
)

// stores opens a store on a new database of each kind; again opens another store (as
// another process would) on the same database.
var stores = []struct {
	name string
	open func(t testing.TB) (s customer.Store, again func() customer.Store)
}{
	{"sqlite", func(t testing.TB) (customer.Store, func() customer.Store) {
		path := filepath.Join(t.TempDir(), "custd.db")
		open := func() customer.Store {
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open(), open
	}},
	{"postgres", func(t testing.TB) (customer.Store, func() customer.Store) {
		url := pgtest.NewDatabase(t)
		open := func() customer.Store {
			s, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open(), open
	}},
}

// render stands for the API's rendering of an event (httpapi.EventBody, which cmd/custd's
// tests check end to end): what it renders is carried as it is.
func render(v *customer.Version) ([]byte, error) {
	return json.Marshal(map[string]any{"event_id": v.EventID, "event_type": v.EventType, "object_id": v.CustomerID, "version": v.Version})
}

// syncBuffer collects a publisher's log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a store with clients, a private NATS server and the publishers of a test.
type env struct {
	t     testing.TB
	ctx   context.Context
	store customer.Store
	again func() customer.Store
	nats  *natstest.Server
	users map[string]*customer.User
	log   *syncBuffer
}

func newEnv(t testing.TB, open func(testing.TB) (customer.Store, func() customer.Store), codes ...string) *env {
	e := &env{t: t, ctx: context.Background(), nats: natstest.Start(t), users: map[string]*customer.User{}, log: &syncBuffer{}}
	e.store, e.again = open(t)
	for _, code := range codes {
		if _, err := e.store.CreateClient(e.ctx, code, code); err != nil {
			t.Fatal(err)
		}
		u, err := e.store.CreateUser(e.ctx, &customer.NewUser{ClientCode: code, Username: "w", Role: customer.RoleAdmin, PasswordHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		e.users[code] = u
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("publisher log:\n%s", e.log.String())
		}
	})
	return e
}

// publish runs a publisher on store until the returned function stops it.
func (e *env) publish(store customer.FeedConsumers) (stop func()) {
	ctx, cancel := context.WithCancel(e.ctx)
	p := &natsfeed.Publisher{URL: e.nats.URL, Feed: store, Render: render, Log: slog.New(slog.NewTextHandler(e.log, nil)),
		Poll: 10 * time.Millisecond, Standby: 50 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, AckWait: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("Run: %v", err)
			}
		})
	}
	e.t.Cleanup(stop)
	return stop
}

// write makes a customer of the client, or a new version of it, and fails the test if
// the write is refused.
func (e *env) write(code string, id int32) int32 {
	u := e.users[code]
	w := customer.Writable{Status: customer.StatusOpen, Source: ptr(fmt.Sprint(time.Now().UnixNano()))}
	c, err := e.store.WriteCustomer(e.ctx, &customer.Write{Client: u.ClientID, User: u.ID, ID: id, Input: &w})
	if err != nil {
		e.t.Error(err)
		return id
	}
	return c.ID
}

func ptr[T any](v T) *T { return &v }

// feed waits until the store's feed of every client has n events and returns them.
func (e *env) feed(n int) []*customer.FeedEvent {
	e.t.Helper()
	var all []*customer.FeedEvent
	for deadline := time.Now().Add(20 * time.Second); ; {
		var err error
		if all, err = e.store.FeedAfter(e.ctx, 0, 100_000); err != nil {
			e.t.Fatal(err)
		}
		if len(all) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(all) != n {
		e.t.Fatalf("the feed has %d events, want %d", len(all), n)
	}
	return all
}

// connect connects the test to its NATS server, as a consumer would.
func (e *env) connect() jetstream.JetStream {
	e.t.Helper()
	nc, err := nats.Connect(e.nats.URL, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		e.t.Fatal(err)
	}
	return js
}

// stream waits until the stream exists and holds n messages.
func (e *env) stream(js jetstream.JetStream, n uint64) jetstream.Stream {
	e.t.Helper()
	var got uint64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		s, err := js.Stream(e.ctx, natsfeed.Stream)
		if err != nil {
			continue
		}
		info, err := s.Info(e.ctx)
		if err != nil {
			continue
		}
		if got = info.State.Msgs; got >= n {
			// A moment more, for a duplicate that would come late.
			time.Sleep(200 * time.Millisecond)
			if info, err = s.Info(e.ctx); err == nil && info.State.Msgs != n {
				e.t.Fatalf("stream %s holds %d messages, want %d", natsfeed.Stream, info.State.Msgs, n)
			}
			return s
		}
	}
	e.t.Fatalf("stream %s holds %d messages after 30 s, want %d", natsfeed.Stream, got, n)
	return nil
}

// received is what a consumer got: the messages in the order it got them.
type received struct {
	mu   sync.Mutex
	msgs []jetstream.Msg
}

func (r *received) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// consume follows the stream from its start with an ordered consumer, which recreates
// itself where it stopped after a NATS restart.
func (e *env) consume(js jetstream.JetStream) *received {
	e.t.Helper()
	var c jetstream.Consumer
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		// The publisher creates the stream.
		if c, err = js.OrderedConsumer(e.ctx, natsfeed.Stream, jetstream.OrderedConsumerConfig{}); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		e.t.Fatal(err)
	}
	r := &received{}
	cc, err := c.Consume(func(m jetstream.Msg) {
		r.mu.Lock()
		r.msgs = append(r.msgs, m)
		r.mu.Unlock()
	}, jetstream.PullExpiry(2*time.Second), jetstream.PullHeartbeat(500*time.Millisecond),
		jetstream.ConsumeErrHandler(func(jetstream.ConsumeContext, error) {}))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(cc.Stop)
	return r
}

// wantEvents checks that msgs are the events, one each, in order, with their subject,
// message id and body.
func wantEvents(t *testing.T, msgs []jetstream.Msg, evs []*customer.FeedEvent) {
	t.Helper()
	for i, ev := range evs {
		if i >= len(msgs) {
			t.Fatalf("%d messages for %d events: event %d is missing", len(msgs), len(evs), ev.Event.EventID)
		}
		m := msgs[i]
		id := natsfeed.MsgID(ev.ClientCode, ev.Event.EventID)
		if got := m.Headers().Get(jetstream.MsgIDHeader); got != id {
			t.Fatalf("message %d has id %s, want %s (the events in event_id order, each once)", i+1, got, id)
		}
		if want := natsfeed.Subject(ev.ClientCode, ev.Event.EventType); m.Subject() != want {
			t.Fatalf("message %s has subject %s, want %s", id, m.Subject(), want)
		}
		body, _ := render(ev.Event)
		if !bytes.Equal(m.Data(), body) {
			t.Fatalf("message %s has body %s, want %s", id, m.Data(), body)
		}
	}
	if len(msgs) != len(evs) {
		t.Fatalf("%d messages for %d events", len(msgs), len(evs))
	}
}

// TestEveryEventOnceInOrderAcrossANATSRestart: while clients write, NATS stops and starts
// again; a consumer of the stream gets every event, those from before the publisher
// started too, exactly once and in event_id order, and the writes never wait for NATS.
func TestEveryEventOnceInOrderAcrossANATSRestart(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			e := newEnv(t, st.open, "acme", "other", "eu.acme")
			// Events written before publishing starts are published too.
			before := []int32{e.write("acme", 0), e.write("other", 0)}
			e.write("acme", before[0])

			e.publish(e.store)
			js := e.connect()
			got := e.consume(js)

			var written atomic.Int64
			written.Store(3)
			var enough atomic.Bool
			var wg sync.WaitGroup
			for i, code := range []string{"acme", "other", "eu.acme"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var ids [3]int32 // each writer keeps three customers
					for n := 0; n < 20 || !enough.Load(); n++ {
						ids[n%3] = e.write(code, ids[n%3])
						written.Add(1)
						time.Sleep(time.Duration(2+i) * time.Millisecond)
					}
				}()
			}
			// NATS goes away in the middle of the writes, and comes back.
			for deadline := time.Now().Add(20 * time.Second); got.len() < 20 && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
			e.nats.Stop()
			down := written.Load()
			time.Sleep(300 * time.Millisecond)
			if written.Load()-down < 10 {
				t.Fatalf("only %d writes while NATS was down: the writes waited for it", written.Load()-down)
			}
			e.nats.Restart()
			time.Sleep(300 * time.Millisecond)
			enough.Store(true)
			wg.Wait()

			evs := e.feed(int(written.Load()))
			s := e.stream(js, uint64(len(evs)))
			for deadline := time.Now().Add(30 * time.Second); got.len() < len(evs) && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(200 * time.Millisecond) // a duplicate would come now
			got.mu.Lock()
			wantEvents(t, got.msgs, evs)
			got.mu.Unlock()

			cfg := s.CachedInfo().Config
			if !slices.Equal(cfg.Subjects, []string{"custd.>"}) || cfg.Duplicates != natsfeed.DuplicateWindow || cfg.Storage != jetstream.FileStorage {
				t.Errorf("stream created with subjects %v, duplicate window %v, storage %v", cfg.Subjects, cfg.Duplicates, cfg.Storage)
			}
			if !strings.Contains(e.log.String(), "disconnected from NATS") || !strings.Contains(e.log.String(), "publishing events to NATS JetStream again") {
				t.Errorf("the outage and the recovery are not in the log:\n%s", e.log.String())
			}
		})
	}
}

// TestResumesAfterTheStreamNotTheCursor: a publisher that stopped after JetStream stored
// its events but before it recorded its cursor (a crash), restarted long after the
// duplicate window, publishes none of them again, and then the new events.
func TestResumesAfterTheStreamNotTheCursor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "custd.db")
	e := newEnv(t, func(t testing.TB) (customer.Store, func() customer.Store) {
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, nil
	}, "acme")
	// The stream's owner made it with a duplicate window of one second; custd keeps it.
	js := e.connect()
	if _, err := js.CreateStream(e.ctx, jetstream.StreamConfig{Name: natsfeed.Stream, Subjects: []string{"custd.>"}, Duplicates: time.Second}); err != nil {
		t.Fatal(err)
	}
	id := e.write("acme", 0)
	for range 9 {
		e.write("acme", id)
	}
	stop := e.publish(e.store)
	e.stream(js, 10)
	stop()

	// The crash: the cursor is back where it was before those ten were published.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE feed_cursors SET value = 0 WHERE name = 'nats'`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // JetStream has forgotten their message ids

	for range 5 {
		e.write("acme", id)
	}
	e.publish(e.store)
	s := e.stream(js, 15)
	if s.CachedInfo().Config.Duplicates != time.Second {
		t.Errorf("custd changed the duplicate window of an existing stream to %v", s.CachedInfo().Config.Duplicates)
	}
	got := e.consume(js)
	for deadline := time.Now().Add(10 * time.Second); got.len() < 15 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	wantEvents(t, got.msgs, e.feed(15))
	var cursor int64
	if err := db.QueryRow(`SELECT value FROM feed_cursors WHERE name = 'nats'`).Scan(&cursor); err != nil || cursor != e.feed(15)[14].Event.EventID {
		t.Errorf("cursor %d (%v), want the last event", cursor, err)
	}
}

// TestStreamOfAnotherDatabase: a stream holding events that this database does not have
// (another custd's) gets nothing from this one, and the log says why.
func TestStreamOfAnotherDatabase(t *testing.T) {
	e := newEnv(t, stores[0].open, "acme")
	id := e.write("acme", 0)
	for range 4 {
		e.write("acme", id)
	}
	stop := e.publish(e.store)
	js := e.connect()
	e.stream(js, 5)
	stop()

	other, _ := stores[0].open(t)
	if _, err := other.CreateClient(e.ctx, "acme", "acme"); err != nil {
		t.Fatal(err)
	}
	u, err := other.CreateUser(e.ctx, &customer.NewUser{ClientCode: "acme", Username: "w", Role: customer.RoleAdmin, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	w := customer.Writable{Status: customer.StatusOpen}
	if _, err := other.WriteCustomer(e.ctx, &customer.Write{Client: u.ClientID, User: u.ID, Input: &w}); err != nil {
		t.Fatal(err)
	}
	e.publish(other)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(e.log.String(), "another custd") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(e.log.String(), "another custd") {
		t.Fatalf("no word of the other database in the log:\n%s", e.log.String())
	}
	e.stream(js, 5)
}

// TestOneProcessPublishesAtATime: two processes on one PostgreSQL database both run a
// publisher; one publishes, and when it stops the other takes over where it stopped.
func TestOneProcessPublishesAtATime(t *testing.T) {
	e := newEnv(t, stores[1].open, "acme", "other")
	stopFirst := e.publish(e.store)
	js := e.connect()
	got := e.consume(js)
	a, b := e.write("acme", 0), e.write("other", 0)
	for deadline := time.Now().Add(10 * time.Second); got.len() < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	second := e.again()
	e.publish(second)
	for range 20 {
		e.write("acme", a)
		e.write("other", b)
	}
	stopFirst()
	for range 20 {
		e.write("acme", a)
		e.write("other", b)
	}
	evs := e.feed(82)
	e.stream(js, 82)
	for deadline := time.Now().Add(10 * time.Second); got.len() < 82 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	wantEvents(t, got.msgs, evs)
}

// BenchmarkPublish measures how fast events already in the store reach the stream, by
// how many are published before their acknowledgements are awaited: 1 is one round trip
// per event.
func BenchmarkPublish(b *testing.B) {
	for _, batch := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			e := newEnv(b, stores[0].open, "acme")
			id := e.write("acme", 0)
			for range b.N - 1 {
				e.write("acme", id)
			}
			js := e.connect()
			b.ResetTimer()
			ctx, cancel := context.WithCancel(e.ctx)
			defer cancel()
			p := &natsfeed.Publisher{URL: e.nats.URL, Feed: e.store, Render: render, Batch: batch, Poll: time.Millisecond}
			go p.Run(ctx)
			for {
				if s, err := js.Stream(e.ctx, natsfeed.Stream); err == nil {
					if info, err := s.Info(e.ctx); err == nil && info.State.Msgs == uint64(b.N) {
						break
					}
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func TestCheckURLAndRedacted(t *testing.T) {
	for _, ok := range []string{"nats://127.0.0.1:4222", "tls://nats.internal:4222", "nats://a:4222, nats://b:4222", "nats://u:p@host:4222"} {
		if err := natsfeed.CheckURL(ok); err != nil {
			t.Errorf("CheckURL(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"127.0.0.1:4222", "http://host:4222", "nats://", "nats://a:4222,", "nats://u:secret@host:4222,:x"} {
		err := natsfeed.CheckURL(bad)
		if err == nil {
			t.Errorf("CheckURL(%q) accepted it", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("CheckURL(%q) tells the password: %v", bad, err)
		}
	}
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                    "nats://127.0.0.1:4222",
		"nats://custd:secret@a:4222,nats://b:4222": "nats://custd:xxxxx@a:4222,nats://b:4222",
		"nats://s3cr3tt0ken@a:4222":                "nats://xxxxx@a:4222",
		"nats://a:4222,nats://custd:secret@b:4222": "nats://a:4222,nats://custd:xxxxx@b:4222",
	} {
		if got := natsfeed.Redacted(in); got != want {
			t.Errorf("Redacted(%q) = %q, want %q", in, got, want)
		}
	}
}
