package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

func (f *fixture) receiver(u *customer.User, status customer.ReceiverStatus) *customer.Receiver {
	f.t.Helper()
	r, err := customer.NewReceiver(u.ClientID, "https://hooks.example.com/"+u.Username, "")
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.s.CreateReceiver(f.ctx, r, customer.Receipt[*customer.Receiver]{}); err != nil {
		f.t.Fatalf("CreateReceiver: %v", err)
	}
	if status != customer.ReceiverPending {
		if r, err = f.s.SetReceiverStatus(f.ctx, u.ClientID, r.ID, status); err != nil {
			f.t.Fatalf("SetReceiverStatus: %v", err)
		}
	}
	return r
}

func (f *fixture) subscribe(u *customer.User, r *customer.Receiver, t customer.EventType) *customer.Subscription {
	f.t.Helper()
	s, err := customer.NewSubscription(u.ClientID, r.ID, string(t))
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.s.CreateSubscription(f.ctx, s, customer.Receipt[*customer.Subscription]{}); err != nil {
		f.t.Fatalf("CreateSubscription: %v", err)
	}
	return s
}

func (f *fixture) fanOut() {
	f.t.Helper()
	for {
		n, _, err := f.s.FanOut(f.ctx, 3, nil)
		if err != nil {
			f.t.Fatalf("FanOut: %v", err)
		}
		if n < 3 {
			return
		}
	}
}

func (f *fixture) deliveries(u *customer.User, q customer.DeliveryQuery) []*customer.Delivery {
	f.t.Helper()
	q.Page, q.PageSize = 1, 500
	ds, _, err := f.s.Deliveries(f.ctx, u.ClientID, &q)
	if err != nil {
		f.t.Fatalf("Deliveries: %v", err)
	}
	return ds
}

// testWebhookRecords: receivers and subscriptions keep their rules and their client.
func testWebhookRecords(t *testing.T, f *fixture) {
	r := f.receiver(f.acme, customer.ReceiverPending)
	if r.ID == 0 || r.Status != customer.ReceiverPending || len(r.Secret) < 32 {
		t.Fatalf("new receiver %+v", r)
	}
	got, err := f.s.Receiver(f.ctx, f.acme.ClientID, r.ID)
	if err != nil || got.URL != r.URL || got.Secret != r.Secret || !got.CreatedDate.Equal(r.CreatedDate) {
		t.Fatalf("Receiver: %+v, %v", got, err)
	}
	_, err = f.s.Receiver(f.ctx, f.other.ClientID, r.ID)
	wantKind(t, err, customer.NotFound, "another client's receiver")
	_, err = f.s.SetReceiverStatus(f.ctx, f.other.ClientID, r.ID, customer.ReceiverActive)
	wantKind(t, err, customer.NotFound, "activating another client's receiver")

	s := f.subscribe(f.acme, r, customer.EventUpdated) // a pending receiver may be named
	_, err = f.s.Subscription(f.ctx, f.other.ClientID, s.ID)
	wantKind(t, err, customer.NotFound, "another client's subscription")
	foreign, _ := customer.NewSubscription(f.other.ClientID, r.ID, string(customer.EventCreated))
	wantField(t, f.s.CreateSubscription(f.ctx, foreign, customer.Receipt[*customer.Subscription]{}), "webhook_receiver_id")
	if subs, more, err := f.s.Subscriptions(f.ctx, f.acme.ClientID, 1, 10); err != nil || len(subs) != 1 || more {
		t.Fatalf("Subscriptions: %d, %v, %v", len(subs), more, err)
	}
	if _, err := f.s.DeleteSubscription(f.ctx, f.acme.ClientID, s.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.DeleteSubscription(f.ctx, f.acme.ClientID, s.ID)
	wantKind(t, err, customer.NotFound, "a deleted subscription")

	// Deleted receivers stay readable, cannot come back and take no subscriptions.
	if _, err := f.s.SetReceiverStatus(f.ctx, f.acme.ClientID, r.ID, customer.ReceiverDisabled); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.SetReceiverStatus(f.ctx, f.acme.ClientID, r.ID, customer.ReceiverActive)
	wantKind(t, err, customer.Conflict, "activating a deleted receiver")
	again, _ := customer.NewSubscription(f.acme.ClientID, r.ID, string(customer.EventCreated))
	wantField(t, f.s.CreateSubscription(f.ctx, again, customer.Receipt[*customer.Subscription]{}), "webhook_receiver_id")
	if rs, _, err := f.s.Receivers(f.ctx, f.acme.ClientID, 1, 10); err != nil || len(rs) != 1 || rs[0].Status != customer.ReceiverDisabled {
		t.Fatalf("Receivers after delete: %v %v", rs, err)
	}
	// At most MaxReceivers that are not deleted.
	for range customer.MaxReceivers {
		f.receiver(f.acme, customer.ReceiverPending)
	}
	extra, _ := customer.NewReceiver(f.acme.ClientID, "https://hooks.example.com/extra", "")
	wantKind(t, f.s.CreateReceiver(f.ctx, extra, customer.Receipt[*customer.Receiver]{}), customer.Conflict, "one receiver too many")
}

// testWebhookFanOut: each event becomes one delivery per active receiver subscribed to
// its type since before it, exactly once.
func testWebhookFanOut(t *testing.T, f *fixture) {
	early := f.create(f.acme, customer.Writable{}) // before any subscription
	active := f.receiver(f.acme, customer.ReceiverActive)
	pending := f.receiver(f.acme, customer.ReceiverPending)
	f.subscribe(f.acme, active, customer.EventCreated)
	f.subscribe(f.acme, active, customer.EventCreated) // twice: still one delivery
	f.subscribe(f.acme, active, customer.EventClosed)
	f.subscribe(f.acme, pending, customer.EventCreated)
	otherActive := f.receiver(f.other, customer.ReceiverActive)
	f.subscribe(f.other, otherActive, customer.EventCreated)
	time.Sleep(2 * time.Millisecond) // subscriptions strictly older than the events below

	c := f.create(f.acme, customer.Writable{})
	f.replace(f.acme, c.ID, customer.Writable{Status: customer.StatusOpen}, nil)   // updated: not subscribed
	f.replace(f.acme, c.ID, customer.Writable{Status: customer.StatusClosed}, nil) // closed
	f.create(f.other, customer.Writable{})
	f.fanOut()
	f.fanOut() // nothing new

	ds := f.deliveries(f.acme, customer.DeliveryQuery{})
	if len(ds) != 2 {
		t.Fatalf("%d deliveries, want 2 (created and closed, to the active receiver): %+v", len(ds), ds)
	}
	for _, d := range ds {
		if d.ReceiverID != active.ID || d.ObjectID != c.ID || d.Status != customer.DeliveryPending || d.Attempts != 0 || d.NextAttemptDate == nil {
			t.Fatalf("delivery %+v", d)
		}
		if d.ObjectID == early.ID {
			t.Fatal("an event from before the subscription was delivered")
		}
	}
	if ds[0].EventType != customer.EventClosed || ds[1].EventType != customer.EventCreated || ds[0].EventID <= ds[1].EventID {
		t.Fatalf("deliveries newest first: %+v, %+v", ds[0], ds[1])
	}
	if got := f.deliveries(f.acme, customer.DeliveryQuery{EventIDs: []int64{ds[1].EventID}}); len(got) != 1 || got[0].ID != ds[1].ID {
		t.Fatalf("by event id: %+v", got)
	}
	if got := f.deliveries(f.acme, customer.DeliveryQuery{ReceiverIDs: []int32{pending.ID}}); len(got) != 0 {
		t.Fatalf("a pending receiver got %d deliveries", len(got))
	}
	if got := f.deliveries(f.other, customer.DeliveryQuery{}); len(got) != 1 || got[0].ReceiverID != otherActive.ID {
		t.Fatalf("the other client's deliveries: %+v", got)
	}
}

// testWebhookClaims: a customer's deliveries to a receiver are attempted one after the
// other, in event order, by one claimant at a time; other customers' are not held back.
func testWebhookClaims(t *testing.T, f *fixture) {
	r := f.receiver(f.acme, customer.ReceiverActive)
	f.subscribe(f.acme, r, customer.EventCreated)
	f.subscribe(f.acme, r, customer.EventUpdated)
	time.Sleep(2 * time.Millisecond)
	x := f.create(f.acme, customer.Writable{})
	f.replace(f.acme, x.ID, customer.Writable{Status: customer.StatusOpen}, nil)
	y := f.create(f.acme, customer.Writable{})
	f.fanOut()

	now := time.Now()
	first, err := f.s.ClaimDeliveries(f.ctx, "a", now, time.Minute, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	var objects []int32
	for _, c := range first {
		objects = append(objects, c.Delivery.ObjectID)
		if c.Receiver.ID != r.ID || c.Receiver.Secret == "" || !undecodedEvent(c) {
			t.Fatalf("claim %+v", c)
		}
	}
	slices.Sort(objects)
	if !slices.Equal(objects, []int32{x.ID, y.ID}) {
		t.Fatalf("claimed the deliveries of customers %v, want x's first and y's", objects)
	}
	if again, err := f.s.ClaimDeliveries(f.ctx, "b", now, time.Minute, 10, nil); err != nil || len(again) != 0 {
		t.Fatalf("leased deliveries claimed again: %d, %v", len(again), err)
	}
	// x's first delivery fails (retried later); its second stays behind it.
	for _, c := range first {
		d := c.Delivery
		if d.ObjectID == x.ID {
			d.Outcome(now, 500, "boom", time.Hour)
		} else {
			d.Outcome(now, 200, "", 0)
		}
		if err := f.s.FinishDelivery(f.ctx, "a", d); err != nil {
			t.Fatal(err)
		}
	}
	if next, err := f.s.ClaimDeliveries(f.ctx, "b", now.Add(time.Second), time.Minute, 10, nil); err != nil || len(next) != 0 {
		t.Fatalf("x's second delivery was claimed while its first is pending: %d, %v", len(next), err)
	}
	// When x's first is due again and delivered, its second follows.
	due, err := f.s.ClaimDeliveries(f.ctx, "b", now.Add(2*time.Hour), time.Minute, 10, nil)
	if err != nil || len(due) != 1 || due[0].Delivery.Attempts != 1 || due[0].Delivery.LastError != "boom" {
		t.Fatalf("x's retry: %v, %v", due, err)
	}
	due[0].Delivery.Outcome(now, 204, "", 0)
	if err := f.s.FinishDelivery(f.ctx, "a", due[0].Delivery); err != nil { // not the lease holder: ignored
		t.Fatal(err)
	}
	if err := f.s.FinishDelivery(f.ctx, "b", due[0].Delivery); err != nil {
		t.Fatal(err)
	}
	second, err := f.s.ClaimDeliveries(f.ctx, "c", now.Add(2*time.Hour), time.Minute, 10, nil)
	if err != nil || len(second) != 1 || second[0].Delivery.ObjectID != x.ID || second[0].Event.Version != 2 {
		t.Fatalf("x's second delivery: %v, %v", second, err)
	}

	// Retry by hand, and deleting the receiver fails what is pending.
	delivered := f.deliveries(f.acme, customer.DeliveryQuery{Statuses: []customer.DeliveryStatus{customer.DeliveryDelivered}})
	if len(delivered) != 2 {
		t.Fatalf("%d delivered", len(delivered))
	}
	d, err := f.s.RetryDelivery(f.ctx, f.acme.ClientID, delivered[0].ID)
	if err != nil || d.Status != customer.DeliveryPending || d.NextAttemptDate == nil {
		t.Fatalf("RetryDelivery: %+v, %v", d, err)
	}
	_, err = f.s.RetryDelivery(f.ctx, f.other.ClientID, delivered[0].ID)
	wantKind(t, err, customer.NotFound, "retrying another client's delivery")
	if _, err := f.s.SetReceiverStatus(f.ctx, f.acme.ClientID, r.ID, customer.ReceiverDisabled); err != nil {
		t.Fatal(err)
	}
	if left := f.deliveries(f.acme, customer.DeliveryQuery{Statuses: []customer.DeliveryStatus{customer.DeliveryPending}}); len(left) != 0 {
		t.Fatalf("%d deliveries still pending to a deleted receiver", len(left))
	}
	_, err = f.s.RetryDelivery(f.ctx, f.acme.ClientID, delivered[0].ID)
	wantKind(t, err, customer.Conflict, "retrying a delivery to a deleted receiver")
}

// testWebhookFanOutClaims: a fan-out with a lease claims the new deliveries that are due
// at once, as a claim would: a customer's later delivery stays behind its earlier one,
// receivers to skip are left, and what it leased no one else claims.
func testWebhookFanOutClaims(t *testing.T, f *fixture) {
	r := f.receiver(f.acme, customer.ReceiverActive)
	skipped := f.receiver(f.acme, customer.ReceiverActive)
	f.subscribe(f.acme, r, customer.EventCreated)
	f.subscribe(f.acme, r, customer.EventUpdated)
	f.subscribe(f.acme, skipped, customer.EventCreated)
	time.Sleep(2 * time.Millisecond)
	x := f.create(f.acme, customer.Writable{})
	f.replace(f.acme, x.ID, customer.Writable{Status: customer.StatusOpen}, nil)
	y := f.create(f.acme, customer.Writable{})

	now := time.Now()
	n, claims, err := f.s.FanOut(f.ctx, 100, &customer.Lease{Owner: "a", Until: now.Add(time.Minute), Max: 10, Skip: []int32{skipped.ID}})
	if err != nil || n != 3 {
		t.Fatalf("FanOut: %d events, %v", n, err)
	}
	var objects []int32
	for _, c := range claims {
		objects = append(objects, c.Delivery.ObjectID)
		if c.Receiver.ID != r.ID || !undecodedEvent(c) || c.Delivery.ID == 0 {
			t.Fatalf("claim %+v", c)
		}
	}
	slices.Sort(objects)
	if !slices.Equal(objects, []int32{x.ID, y.ID}) {
		t.Fatalf("the fan-out claimed the deliveries of customers %v, want x's first and y's", objects)
	}
	// Left: x's second to r (behind its first), and both to the receiver skipped.
	now = time.Now() // the deliveries were made after the lease began
	left, err := f.s.ClaimDeliveries(f.ctx, "b", now, time.Minute, 10, nil)
	if err != nil || len(left) != 2 {
		t.Fatalf("claimed after the fan-out: %d, %v", len(left), err)
	}
	for _, c := range left {
		if c.Receiver.ID != skipped.ID {
			t.Fatalf("claimed %+v, leased by the fan-out or behind a delivery it leased", c.Delivery)
		}
	}
	// Once x's first is delivered, its second is due.
	for _, c := range claims {
		c.Delivery.Outcome(now, 200, "", 0)
		if err := f.s.FinishDelivery(f.ctx, "a", c.Delivery); err != nil {
			t.Fatal(err)
		}
	}
	next, err := f.s.ClaimDeliveries(f.ctx, "b", now, time.Minute, 10, nil)
	if err != nil || len(next) != 1 || next[0].Delivery.ObjectID != x.ID || next[0].Event.Version != 2 {
		t.Fatalf("x's second delivery: %v, %v", next, err)
	}
	// A fan-out with nothing new claims nothing.
	if n, claims, err := f.s.FanOut(f.ctx, 100, &customer.Lease{Owner: "a", Until: now.Add(time.Minute), Max: 10}); err != nil || n != 0 || len(claims) != 0 {
		t.Fatalf("FanOut again: %d events, %d claims, %v", n, len(claims), err)
	}
}

// testWebhookConcurrentClaims: claimants running at once never claim one delivery twice.
func testWebhookConcurrentClaims(t *testing.T, f *fixture) {
	r := f.receiver(f.acme, customer.ReceiverActive)
	f.subscribe(f.acme, r, customer.EventCreated)
	time.Sleep(2 * time.Millisecond)
	for range 40 {
		f.create(f.acme, customer.Writable{})
	}
	f.fanOut()
	var (
		mu   sync.Mutex
		seen = map[int64]string{}
		wg   sync.WaitGroup
	)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := string(rune('a' + i))
			for range 5 {
				cs, err := f.s.ClaimDeliveries(f.ctx, owner, time.Now(), time.Minute, 3, nil)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, c := range cs {
					if prev, dup := seen[c.Delivery.ID]; dup {
						t.Errorf("delivery %d claimed by %s and %s", c.Delivery.ID, prev, owner)
					}
					seen[c.Delivery.ID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) == 0 {
		t.Fatal("nothing was claimed")
	}
}

// undecodedEvent reports whether a claim carries its delivery's version as stored: the
// customer's document, and the one before it unless it is the first version, undecoded.
func undecodedEvent(c *customer.Claim) bool {
	v := c.Event
	if v == nil || v.Version != c.Delivery.Version || v.Customer != nil || v.Previous != nil || v.CustomerID != c.Delivery.ObjectID {
		return false
	}
	if _, err := customer.FromDocument(v.CustomerID, v.ClientID, v.Version, v.Document); err != nil {
		return false
	}
	if v.Version == 1 {
		return v.PreviousDocument == nil
	}
	_, err := customer.FromDocument(v.CustomerID, v.ClientID, v.Version-1, v.PreviousDocument)
	return err == nil
}
