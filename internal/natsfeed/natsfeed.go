// Package natsfeed publishes the change feed of every client to NATS JetStream, so that
// systems at internet scale can follow custd's events without polling its API.
//
// Every event becomes one message of stream CUSTD_EVENTS, on subject
// custd.<clientcode>.customer.<event_type>, with message id <clientcode>-<event_id> and the
// event as GET /v1/Events renders it for its body. The stream holds each event exactly
// once, in event_id order:
//
//   - One process at a time publishes: it holds the store's claim on the feed consumer
//     "nats" (customer.FeedClaim), whose cursor is the last event it knows JetStream
//     stored. The cursor moves only after JetStream acknowledged every event up to it.
//   - Each message expects the stream's last sequence to be the one before it
//     (Nats-Expected-Last-Sequence). JetStream stores a message only right after the one
//     published before it, so the stream never has a gap and never an event out of order,
//     even when a publish is lost, retried, or sent late by a connection that recovers,
//     and even while a process that lost its claim has not noticed yet.
//   - So the stream's last custd message tells exactly how far publishing got. A new
//     holder (after a restart, a crash, a NATS outage, another process's crash) continues
//     after the later of its cursor and that message, and publishes nothing twice however
//     long it was down; the message id lets JetStream drop a duplicate within its
//     duplicate window besides.
package natsfeed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/custd/custd/internal/customer"
)

// The stream custd publishes to, and what custd creates it with when it is missing.
const (
	Stream   = "CUSTD_EVENTS"
	Subjects = "custd.>"
	// DuplicateWindow is how long JetStream remembers message ids to drop duplicates.
	// Publishing does not rely on it (see the package comment); it is a second guard.
	DuplicateWindow = 10 * time.Minute
)

// Consumer is the feed consumer whose cursor the publisher keeps in the store.
const Consumer = "nats"

// Subject returns the subject of an event of a client: custd.<code>.customer.<type>. A dot
// separates a subject's tokens, so each '.' of the client code is written %2E (client
// codes never hold '%'): custd.acme%2Eeu.customer.CUSTOMER_UPDATED.
func Subject(clientCode string, t customer.EventType) string {
	return "custd." + strings.ReplaceAll(clientCode, ".", "%2E") + ".customer." + string(t)
}

// MsgID returns the message id of an event: <clientcode>-<event_id>.
func MsgID(clientCode string, eventID int64) string {
	return clientCode + "-" + strconv.FormatInt(eventID, 10)
}

// CheckURL reports whether s names NATS servers: one URL, or several separated by
// commas, each nats://, tls://, ws:// or wss:// with a host.
func CheckURL(s string) error {
	for part := range strings.SplitSeq(s, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil || u.Host == "" || !slices.Contains([]string{"nats", "tls", "ws", "wss"}, u.Scheme) {
			return fmt.Errorf("%q is not a NATS URL such as nats://127.0.0.1:4222", Redacted(part))
		}
	}
	return nil
}

// Redacted returns s with the password of each URL in it masked, for logs.
func Redacted(s string) string {
	parts := strings.Split(s, ",")
	for i, part := range parts {
		if u, err := url.Parse(strings.TrimSpace(part)); err == nil && u.User != nil {
			if _, has := u.User.Password(); has {
				parts[i] = u.Redacted()
			} else if u.User.Username() != "" {
				// A token alone (nats://TOKEN@host) is a secret too.
				u.User = url.User("xxxxx")
				parts[i] = u.String()
			}
		} else if err != nil {
			parts[i] = "(unparsable)"
		}
	}
	return strings.Join(parts, ",")
}

// Publisher publishes the change feed of every client to NATS JetStream. Every serve
// process runs one; the store's claim makes one of them publish at a time, the others
// stand by.
type Publisher struct {
	// URL is the NATS server, or several separated by commas.
	URL  string
	Feed customer.FeedConsumers
	// Render renders an event as the body of its message.
	Render func(*customer.Version) ([]byte, error)
	Log    *slog.Logger

	// Batch is the most events published before their acknowledgements are awaited
	// (default 128).
	Batch int
	// Poll is how often the feed is read once every event is published (default 100 ms),
	// and Standby how often a process without the claim tries to take it (default 2 s).
	Poll, Standby time.Duration
	// AckWait bounds the wait for JetStream's acknowledgements (default 10 s).
	AckWait time.Duration
	// MaxBackoff is the longest wait between failed attempts (default 15 s); a
	// reconnection to NATS ends the wait early.
	MaxBackoff time.Duration

	// Published, when set, is told how many events JetStream acknowledged, batch by
	// batch, and Failed of each failed attempt.
	Published func(events int)
	Failed    func()

	// known is 1 + the last event this process knows to be in the stream, or 0 while it
	// does not know (not started, or another process publishes): for Lag.
	known atomic.Int64
}

// Lag returns how long the oldest event this process has still to publish has waited
// since its write: 0 once every event is published, and while another process
// publishes. It grows while NATS is away. Errors: Unavailable.
func (p *Publisher) Lag(ctx context.Context) (time.Duration, error) {
	k := p.known.Load()
	if k == 0 {
		return 0, nil
	}
	evs, err := p.Feed.FeedAfter(ctx, k-1, 1)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	return max(0, time.Since(evs[0].Event.ChangedDate)), nil
}

// cursorEvery is how often the cursor is recorded while events keep coming. Between two
// records the stream is ahead of the cursor, which a new holder reads from the stream.
const cursorEvery = 250 * time.Millisecond

// errStandby ends a round in which another process holds the claim.
var errStandby = errors.New("another process publishes")

// Run publishes until ctx ends. It returns an error only for a URL that does not parse;
// NATS or the store being unreachable is logged (at most once a minute while it lasts)
// and retried with backoff, and publishing resumes where it stopped.
func (p *Publisher) Run(ctx context.Context) error {
	p.defaults()
	connected := make(chan struct{}, 1)
	wake := func(*nats.Conn) {
		select {
		case connected <- struct{}{}:
		default:
		}
	}
	nc, err := nats.Connect(p.URL,
		nats.Name("custd"),
		// Keep trying for as long as custd runs, and never queue messages while
		// disconnected: a publish then fails at once, and is retried from the store.
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
		nats.ReconnectBufSize(-1),
		nats.ConnectHandler(wake), nats.ReconnectHandler(wake),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				p.Log.Warn("disconnected from NATS", "err", err)
			}
		}),
	)
	if err != nil {
		return fmt.Errorf("NATS: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(p.AckWait))
	if err != nil {
		return fmt.Errorf("NATS: %w", err)
	}
	t := trouble{log: p.Log}
	failures := 0
	for ctx.Err() == nil {
		err := p.round(ctx, js, func() {
			// Publishing works again: the next failure starts the backoff afresh.
			failures = 0
			t.recovered()
		})
		wait := p.Standby
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errStandby):
		case err != nil:
			failures++
			t.failed(err)
			if p.Failed != nil {
				p.Failed()
			}
			wait = backoff(failures, p.MaxBackoff)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		case <-connected:
		}
	}
	return nil
}

func (p *Publisher) defaults() {
	if p.Batch == 0 {
		p.Batch = 128
	}
	if p.Poll == 0 {
		p.Poll = 100 * time.Millisecond
	}
	if p.Standby == 0 {
		p.Standby = 2 * time.Second
	}
	if p.AckWait == 0 {
		p.AckWait = 10 * time.Second
	}
	if p.MaxBackoff == 0 {
		p.MaxBackoff = 15 * time.Second
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
}

// backoff is the wait after n failed rounds in a row: 250 ms doubling up to max, each
// drawn between half and all of it.
func backoff(n int, max time.Duration) time.Duration {
	d := 250 * time.Millisecond
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d/2 + rand.N(d/2+1)
}

// position is how far the stream has got: the last event in it (or the cursor, if that
// is later) and the stream's last sequence, which the next message expects.
type position struct {
	after int64
	seq   uint64
}

// round claims the feed and publishes while it can, calling resumed once it knows where
// to continue. It returns errStandby at once when another process holds the claim, nil
// when ctx ends, and otherwise the error that ended it.
func (p *Publisher) round(ctx context.Context, js jetstream.JetStream, resumed func()) error {
	claim, err := p.Feed.ClaimFeed(ctx, Consumer)
	if err != nil {
		return fmt.Errorf("claiming the feed: %w", err)
	}
	if claim == nil {
		p.known.Store(0)
		return errStandby
	}
	defer claim.Release()
	cursor, err := claim.Cursor(ctx)
	if err != nil {
		return fmt.Errorf("reading the cursor: %w", err)
	}
	p.known.Store(max(p.known.Load(), cursor+1))
	stream, err := p.stream(ctx, js)
	if err != nil {
		return err
	}
	pos, err := p.resume(ctx, claim, stream, cursor)
	if err != nil {
		return err
	}
	p.known.Store(pos.after + 1)
	resumed()
	recorded, recordedAt := pos.after, time.Now()
	record := func() error {
		if pos.after == recorded {
			return nil
		}
		// Recorded even when ctx has ended: a shutdown keeps what was acknowledged.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := claim.MoveCursor(rctx, pos.after); err != nil {
			return fmt.Errorf("recording the cursor: %w", err)
		}
		recorded, recordedAt = pos.after, time.Now()
		return nil
	}
	for {
		evs, err := p.Feed.FeedAfter(ctx, pos.after, p.Batch)
		if err != nil {
			return errors.Join(fmt.Errorf("reading the feed: %w", err), record())
		}
		if len(evs) == 0 {
			if err := record(); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(p.Poll):
			}
			continue
		}
		before := pos.after
		err = p.publish(js, evs, &pos)
		if n := countAfter(evs, before, pos.after); n > 0 {
			p.known.Store(pos.after + 1)
			if p.Published != nil {
				p.Published(n)
			}
		}
		if err != nil {
			return errors.Join(err, record())
		}
		if ctx.Err() != nil || time.Since(recordedAt) >= cursorEvery {
			if err := record(); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// countAfter counts the events of evs after from, up to and including to.
func countAfter(evs []*customer.FeedEvent, from, to int64) int {
	n := 0
	for _, e := range evs {
		if e.Event.EventID > from && e.Event.EventID <= to {
			n++
		}
	}
	return n
}

// stream returns the stream, creating it when it is missing. An existing stream is used
// as its owner configured it, with custd.> added to its subjects if it lacks it.
func (p *Publisher) stream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        Stream,
			Description: "custd's change feed: every event of every client, in event_id order",
			Subjects:    []string{Subjects},
			Storage:     jetstream.FileStorage,
			Duplicates:  DuplicateWindow,
		})
		if err == nil {
			p.Log.Info("created NATS JetStream stream", "stream", Stream, "subjects", Subjects)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", Stream, err)
	}
	if cfg := s.CachedInfo().Config; !slices.Contains(cfg.Subjects, Subjects) {
		cfg.Subjects = append(cfg.Subjects, Subjects)
		if s, err = js.UpdateStream(ctx, cfg); err != nil {
			return nil, fmt.Errorf("adding %s to the subjects of stream %s: %w", Subjects, Stream, err)
		}
	}
	return s, nil
}

// resume finds where publishing continues: after the claim's cursor, or after the last
// event in the stream when a previous holder got further than it recorded. An event in
// the stream that this database does not have means that the stream belongs to another
// custd, and nothing is published.
func (p *Publisher) resume(ctx context.Context, claim customer.FeedClaim, s jetstream.Stream, cursor int64) (position, error) {
	info, err := s.Info(ctx)
	if err != nil {
		return position{}, fmt.Errorf("stream %s: %w", Stream, err)
	}
	pos := position{after: cursor, seq: info.State.LastSeq}
	last, err := s.GetLastMsgForSubject(ctx, Subjects)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return pos, nil // no event in the stream (new, or purged)
	}
	if err != nil {
		return position{}, fmt.Errorf("stream %s: reading its last message: %w", Stream, err)
	}
	id := last.Header.Get(jetstream.MsgIDHeader)
	eventID, err := strconv.ParseInt(id[strings.LastIndexByte(id, '-')+1:], 10, 64)
	if err != nil || eventID < 1 {
		return position{}, fmt.Errorf("stream %s: its last message (sequence %d, id %q) is not an event of custd", Stream, last.Sequence, id)
	}
	if eventID <= cursor {
		return pos, nil
	}
	evs, err := p.Feed.FeedAfter(ctx, eventID-1, 1)
	if err != nil {
		return position{}, fmt.Errorf("reading the feed: %w", err)
	}
	var body struct {
		ObjectID int32 `json:"object_id"`
		Version  int64 `json:"version"`
	}
	json.Unmarshal(last.Data, &body)
	if len(evs) == 0 || evs[0].Event.EventID != eventID || MsgID(evs[0].ClientCode, eventID) != id ||
		evs[0].Event.CustomerID != body.ObjectID || evs[0].Event.Version != body.Version {
		return position{}, fmt.Errorf("stream %s holds event %s (customer %d, version %d), which this database does not have: "+
			"it belongs to another custd; give each custd a stream of its own (a NATS account each)", Stream, id, body.ObjectID, body.Version)
	}
	pos.after = eventID
	if err := claim.MoveCursor(ctx, eventID); err != nil {
		return position{}, fmt.Errorf("recording the cursor: %w", err)
	}
	return pos, nil
}

// publish sends evs, each expecting the stream's last sequence to be that of the message
// before it, then waits for the acknowledgements in order and moves pos past the events
// acknowledged before the first failure.
func (p *Publisher) publish(js jetstream.JetStream, evs []*customer.FeedEvent, pos *position) error {
	futures := make([]jetstream.PubAckFuture, 0, len(evs))
	var sendErr error
	for i, e := range evs {
		body, err := p.Render(e.Event)
		if err != nil {
			sendErr = fmt.Errorf("rendering event %d: %w", e.Event.EventID, err)
			break
		}
		m := &nats.Msg{Subject: Subject(e.ClientCode, e.Event.EventType), Data: body}
		f, err := js.PublishMsgAsync(m, jetstream.WithMsgID(MsgID(e.ClientCode, e.Event.EventID)),
			jetstream.WithExpectLastSequence(pos.seq+uint64(i)))
		if errors.Is(err, nats.ErrReconnectBufExceeded) {
			err = errors.New("not connected to NATS") // nothing is queued while disconnected
		}
		if err != nil {
			sendErr = fmt.Errorf("publishing event %d: %w", e.Event.EventID, err)
			break
		}
		futures = append(futures, f)
	}
	// The wait does not end with a shutdown, which first learns what was stored.
	timeout := time.NewTimer(p.AckWait)
	defer timeout.Stop()
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			pos.after = evs[i].Event.EventID
			if !ack.Duplicate {
				// A duplicate was stored before and leaves the last sequence as it is.
				pos.seq = ack.Sequence
			}
		case err := <-f.Err():
			return fmt.Errorf("publishing event %d: %w", evs[i].Event.EventID, err)
		case <-timeout.C:
			return fmt.Errorf("publishing event %d: no acknowledgement from JetStream within %v", evs[i].Event.EventID, p.AckWait)
		}
	}
	return sendErr
}

// trouble logs failures that go on: the first at once, then at most one a minute, and
// the recovery.
type trouble struct {
	log         *slog.Logger
	n           int
	since, last time.Time
}

func (t *trouble) failed(err error) {
	now := time.Now()
	t.n++
	if t.n == 1 {
		t.since = now
	} else if now.Sub(t.last) < time.Minute {
		return
	}
	t.last = now
	t.log.Warn("publishing events to NATS JetStream", "err", err, "failures", t.n, "since", t.since)
}

func (t *trouble) recovered() {
	if t.n > 0 {
		t.log.Info("publishing events to NATS JetStream again", "failures", t.n, "for", time.Since(t.since).Round(time.Millisecond).String())
		t.n = 0
	}
}
