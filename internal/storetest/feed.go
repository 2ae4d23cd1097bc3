package storetest

import (
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

// natsConsumer is the feed consumer that the migrations create for the publisher to NATS.
const natsConsumer = "nats"

func (f *fixture) claim(name string) customer.FeedClaim {
	f.t.Helper()
	c, err := f.s.ClaimFeed(f.ctx, name)
	if err != nil {
		f.t.Fatalf("ClaimFeed(%s): %v", name, err)
	}
	return c
}

func (f *fixture) cursor(c customer.FeedClaim) int64 {
	f.t.Helper()
	v, err := c.Cursor(f.ctx)
	if err != nil {
		f.t.Fatalf("Cursor: %v", err)
	}
	return v
}

// testFeedClaims: a feed consumer is claimed by one holder at a time; its cursor starts
// at 0, only moves forward, is moved only under a claim, and survives a restart.
func testFeedClaims(t *testing.T, f *fixture) {
	if _, err := f.s.ClaimFeed(f.ctx, "no such consumer"); customer.KindOf(err) != customer.NotFound {
		t.Fatalf("claiming an unknown consumer: %v, want NotFound", err)
	}
	c := f.claim(natsConsumer)
	if c == nil {
		t.Fatal("the first claim was refused")
	}
	if again := f.claim(natsConsumer); again != nil {
		t.Fatal("a second claim was given while the first is held")
	}
	if v := f.cursor(c); v != 0 {
		t.Fatalf("a new store's cursor is %d, want 0 (every event is published)", v)
	}
	if err := c.MoveCursor(f.ctx, 5); err != nil {
		t.Fatal(err)
	}
	if err := c.MoveCursor(f.ctx, 3); err != nil {
		t.Fatal(err)
	}
	if v := f.cursor(c); v != 5 {
		t.Fatalf("cursor %d after moving it to 5 and then 3, want 5", v)
	}
	c.Release()
	c.Release() // a second release does nothing
	if err := c.MoveCursor(f.ctx, 9); customer.KindOf(err) != customer.Unavailable {
		t.Fatalf("MoveCursor after Release: %v, want Unavailable", err)
	}
	c = f.claim(natsConsumer)
	if c == nil {
		t.Fatal("the claim was refused after the holder released it")
	}
	if v := f.cursor(c); v != 5 {
		t.Fatalf("cursor %d after a new claim, want 5", v)
	}
	c.Release()

	if err := f.s.Close(); err != nil {
		t.Fatal(err)
	}
	s := f.reopen()
	defer s.Close()
	c, err := s.ClaimFeed(f.ctx, natsConsumer)
	if err != nil || c == nil {
		t.Fatalf("claiming after a restart: %v, %v", c, err)
	}
	defer c.Release()
	if v := f.cursor(c); v != 5 {
		t.Fatalf("cursor %d after a restart, want 5", v)
	}
}

// testFeedOfEveryClient: FeedAfter gives the events of every client in event_id order,
// with their client's code, the customer and what it was before, exactly as each client's
// own feed gives them, page after page.
func testFeedOfEveryClient(t *testing.T, f *fixture) {
	a := f.create(f.acme, customer.Writable{})
	b := f.create(f.other, customer.Writable{})
	if _, err := f.replace(f.acme, a.ID, customer.Writable{Status: customer.StatusOpen, Source: ptr("crm")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.replace(f.other, b.ID, customer.Writable{Status: customer.StatusClosed}, nil); err != nil {
		t.Fatal(err)
	}
	f.create(f.acme, customer.Writable{})
	const total = 5

	// An event is in the feed within seconds of its write (PostgreSQL numbers them after
	// commit), and each page continues after the last event of the one before.
	var all []*customer.FeedEvent
	deadline := time.Now().Add(10 * time.Second)
	for len(all) < total && time.Now().Before(deadline) {
		after := int64(0)
		if len(all) > 0 {
			after = all[len(all)-1].Event.EventID
		}
		page, err := f.s.FeedAfter(f.ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 {
			t.Fatalf("a page of 2 has %d events", len(page))
		}
		all = append(all, page...)
		if len(page) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if len(all) != total {
		t.Fatalf("the feed of every client has %d events, want %d", len(all), total)
	}
	own := map[string][]*customer.Version{
		"acme":  f.events(f.acme, customer.EventQuery{}),
		"other": f.events(f.other, customer.EventQuery{}),
	}
	seen := map[string]int{}
	for i, fe := range all {
		e := fe.Event
		if i > 0 && e.EventID <= all[i-1].Event.EventID {
			t.Fatalf("event %d after %d", e.EventID, all[i-1].Event.EventID)
		}
		list := own[fe.ClientCode]
		n := seen[fe.ClientCode]
		if n >= len(list) {
			t.Fatalf("event %d has client code %q, which has only %d events", e.EventID, fe.ClientCode, len(list))
		}
		want := list[n]
		seen[fe.ClientCode]++
		if e.EventID != want.EventID || e.ClientID != want.ClientID || e.CustomerID != want.CustomerID ||
			e.Version != want.Version || e.EventType != want.EventType || !e.ChangedDate.Equal(want.ChangedDate) {
			t.Fatalf("event %d of the feed of every client is %+v, its client's feed has %+v", e.EventID, e, want)
		}
		same(t, e.Customer, want.Customer)
		if (e.Previous == nil) != (e.Version == 1) {
			t.Fatalf("event %d (version %d) has previous %v", e.EventID, e.Version, e.Previous)
		}
		if e.Previous != nil {
			same(t, e.Previous, want.Previous)
		}
	}
	if seen["acme"] != 3 || seen["other"] != 2 {
		t.Fatalf("events by client: %v, want acme 3, other 2", seen)
	}
	if rest, err := f.s.FeedAfter(f.ctx, all[total-1].Event.EventID, 10); err != nil || len(rest) != 0 {
		t.Fatalf("after the last event: %d events, %v", len(rest), err)
	}
}
