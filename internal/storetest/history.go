package storetest

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

// events reads the client's whole feed from after, page by page.
func (f *fixture) events(u *customer.User, q customer.EventQuery) []*customer.Version {
	f.t.Helper()
	if q.PageSize == 0 {
		q.PageSize = 7
	}
	var all []*customer.Version
	for {
		page, err := f.s.Events(f.ctx, u.ClientID, &q)
		if err != nil {
			f.t.Fatalf("Events: %v", err)
		}
		all = append(all, page.Versions...)
		if !page.HasMore {
			return all
		}
		q.After = page.Versions[len(page.Versions)-1].EventID
	}
}

func (f *fixture) history(u *customer.User, id int32, q customer.HistoryQuery) *customer.VersionPage {
	f.t.Helper()
	page, err := f.s.CustomerHistory(f.ctx, u.ClientID, id, &q)
	if err != nil {
		f.t.Fatalf("CustomerHistory(%d): %v", id, err)
	}
	return page
}

func versionsOf(vs []*customer.Version) []int64 {
	out := make([]int64, len(vs))
	for i, v := range vs {
		out[i] = v.Version
	}
	return out
}

// testHistory: every kind of write records its version with who, how and under which
// request; history pages both ways; a version reads back as it was.
func testHistory(t *testing.T, f *fixture) {
	actor := customer.Actor{Username: "alice@acme", RequestID: "req-1"}
	w := full()
	c, err := f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID, Input: &w, Operation: customer.OpCreate, Actor: actor})
	if err != nil {
		t.Fatal(err)
	}
	afterCreate := f.get(f.acme, c.ID)

	key := &customer.IdempotencyKey{User: f.acme.ID, Key: "hist-1", Fingerprint: "fp"}
	if _, err := f.s.BeginIdempotent(f.ctx, key); err != nil {
		t.Fatal(err)
	}
	w2 := w
	w2.Email = ptr("second@example.com")
	_, err = f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID, ID: c.ID, Input: &w2,
		Operation: customer.OpReplace, Actor: customer.Actor{Username: "alice@acme", RequestID: "req-2"},
		Receipt: customer.Receipt[*customer.Customer]{Key: key, Render: func(c *customer.Customer) (*customer.Reply, error) {
			return &customer.Reply{Status: 200, ETag: c.ETag()}, nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	afterReplace := f.get(f.acme, c.ID)
	patch := func(cur *customer.Customer) (*customer.Writable, error) {
		next := cur.Writable
		next.Source = ptr("patched")
		return &next, nil
	}
	if _, err := f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID, ID: c.ID, Change: patch, Operation: customer.OpPatch}); err != nil {
		t.Fatal(err)
	}
	closeIt := func(cur *customer.Customer) (*customer.Writable, error) {
		next := cur.Writable
		next.Status = customer.StatusClosed
		return &next, nil
	}
	for range 2 { // the second close of a closed customer is an update
		if _, err := f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID, ID: c.ID, Change: closeIt, Operation: customer.OpClose}); err != nil {
			t.Fatal(err)
		}
	}

	newest := f.history(f.acme, c.ID, customer.HistoryQuery{Page: 1, PageSize: 10})
	if got := versionsOf(newest.Versions); !slices.Equal(got, []int64{5, 4, 3, 2, 1}) || newest.HasMore {
		t.Fatalf("history newest first: versions %v (has_more %v), want [5 4 3 2 1]", got, newest.HasMore)
	}
	ops := make([]customer.Operation, 0, 5)
	types := make([]customer.EventType, 0, 5)
	for _, v := range slices.Backward(newest.Versions) {
		ops = append(ops, v.Operation)
		types = append(types, v.EventType)
		if v.ClientID != f.acme.ClientID || v.CustomerID != c.ID || v.UserID != f.acme.ID {
			t.Errorf("version %d: client %d customer %d user %d", v.Version, v.ClientID, v.CustomerID, v.UserID)
		}
		if v.Customer == nil || v.Customer.Version != v.Version || !v.ChangedDate.Equal(v.Customer.UpdatedDate) {
			t.Errorf("version %d: customer %+v, changed %v", v.Version, v.Customer, v.ChangedDate)
		}
		if (v.Version == 1) != (v.Previous == nil) || (v.Previous != nil && v.Previous.Version != v.Version-1) {
			t.Errorf("version %d: previous %+v", v.Version, v.Previous)
		}
	}
	wantOps := []customer.Operation{customer.OpCreate, customer.OpReplace, customer.OpPatch, customer.OpClose, customer.OpClose}
	wantTypes := []customer.EventType{customer.EventCreated, customer.EventUpdated, customer.EventUpdated, customer.EventClosed, customer.EventUpdated}
	if !slices.Equal(ops, wantOps) || !slices.Equal(types, wantTypes) {
		t.Fatalf("operations %v, event types %v; want %v, %v", ops, types, wantOps, wantTypes)
	}
	v1, v2 := newest.Versions[4], newest.Versions[3]
	if v1.Username != "alice@acme" || v1.RequestID != "req-1" || v1.IdempotencyKey != "" {
		t.Errorf("version 1 recorded %q %q %q", v1.Username, v1.RequestID, v1.IdempotencyKey)
	}
	if v2.RequestID != "req-2" || v2.IdempotencyKey != "hist-1" {
		t.Errorf("version 2 recorded request %q, key %q", v2.RequestID, v2.IdempotencyKey)
	}
	if newest.Versions[0].RequestID != "" {
		t.Errorf("a write without a request recorded request %q", newest.Versions[0].RequestID)
	}

	oldest := f.history(f.acme, c.ID, customer.HistoryQuery{Oldest: true, Page: 2, PageSize: 2})
	if got := versionsOf(oldest.Versions); !slices.Equal(got, []int64{3, 4}) || !oldest.HasMore {
		t.Fatalf("history oldest first, page 2 of 2: %v (has_more %v), want [3 4] and more", got, oldest.HasMore)
	}
	if past := f.history(f.acme, c.ID, customer.HistoryQuery{Page: 9, PageSize: 10}); len(past.Versions) != 0 || past.HasMore {
		t.Fatalf("a page past the end: %d versions", len(past.Versions))
	}

	// Time travel: each version reads back exactly as the customer was.
	for _, want := range []*customer.Customer{afterCreate, afterReplace} {
		got, err := f.s.CustomerVersion(f.ctx, f.acme.ClientID, c.ID, want.Version)
		if err != nil {
			t.Fatal(err)
		}
		same(t, got, want)
	}
	_, err = f.s.CustomerVersion(f.ctx, f.acme.ClientID, c.ID, 6)
	wantKind(t, err, customer.NotFound, "a version not yet written")

	// Another client sees none of it, and its feed holds none of these events.
	_, err = f.s.CustomerHistory(f.ctx, f.other.ClientID, c.ID, &customer.HistoryQuery{Page: 1, PageSize: 10})
	wantKind(t, err, customer.NotFound, "another client's customer's history")
	_, err = f.s.CustomerVersion(f.ctx, f.other.ClientID, c.ID, 1)
	wantKind(t, err, customer.NotFound, "another client's customer's version")
	_, err = f.s.CustomerHistory(f.ctx, f.acme.ClientID, c.ID+1000, &customer.HistoryQuery{Page: 1, PageSize: 10})
	wantKind(t, err, customer.NotFound, "the history of a customer that does not exist")
	if evs := f.events(f.other, customer.EventQuery{}); len(evs) != 0 {
		t.Fatalf("another client's feed has %d events", len(evs))
	}

	// The feed has the same five versions, in order.
	evs := f.events(f.acme, customer.EventQuery{})
	if got := versionsOf(evs); !slices.Equal(got, []int64{1, 2, 3, 4, 5}) {
		t.Fatalf("feed versions %v", got)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].EventID <= evs[i-1].EventID {
			t.Fatalf("event ids not increasing: %d after %d", evs[i].EventID, evs[i-1].EventID)
		}
	}
}

// testHistoryOnlyForAcknowledgedWrites: a refused or failed write records no version and
// no event.
func testHistoryOnlyForAcknowledgedWrites(t *testing.T, f *fixture) {
	c := f.create(f.acme, customer.Writable{})
	_, err := f.replace(f.acme, c.ID, customer.Writable{Status: "nope"}, nil)
	wantKind(t, err, customer.Invalid, "an invalid replace")
	_, err = f.replace(f.acme, c.ID, customer.Writable{Status: customer.StatusOpen}, &customer.Precondition{Tags: []string{`"1-9"`}})
	wantKind(t, err, customer.PreconditionFailed, "a stale If-Match")
	_, err = f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID, ID: c.ID,
		Change: func(*customer.Customer) (*customer.Writable, error) { return nil, errors.New("patch failed") }})
	if err == nil {
		t.Fatal("a failing change was written")
	}
	key := &customer.IdempotencyKey{User: f.acme.ID, Key: "fails", Fingerprint: "fp"}
	if _, err := f.s.BeginIdempotent(f.ctx, key); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID, ID: c.ID, Input: &customer.Writable{Status: customer.StatusOpen},
		Receipt: customer.Receipt[*customer.Customer]{Key: key, Render: func(*customer.Customer) (*customer.Reply, error) { return nil, errors.New("cannot render") }}})
	if err == nil {
		t.Fatal("a write whose reply failed was acknowledged")
	}
	if h := f.history(f.acme, c.ID, customer.HistoryQuery{Page: 1, PageSize: 10}); !slices.Equal(versionsOf(h.Versions), []int64{1}) {
		t.Fatalf("history after refused writes: %v, want only version 1", versionsOf(h.Versions))
	}
	if evs := f.events(f.acme, customer.EventQuery{}); len(evs) != 1 {
		t.Fatalf("%d events after refused writes, want 1", len(evs))
	}
}

// testFeedFilters: after, object ids, event types, the date range and paging.
func testFeedFilters(t *testing.T, f *fixture) {
	a := f.create(f.acme, customer.Writable{})
	b := f.create(f.acme, customer.Writable{})
	time.Sleep(5 * time.Millisecond)
	mid := customer.Now()
	time.Sleep(5 * time.Millisecond)
	f.replace(f.acme, a.ID, customer.Writable{Status: customer.StatusClosed}, nil)
	f.replace(f.acme, b.ID, customer.Writable{Status: customer.StatusPending}, nil)
	all := f.events(f.acme, customer.EventQuery{})
	if len(all) != 4 {
		t.Fatalf("%d events, want 4", len(all))
	}
	check := func(what string, q customer.EventQuery, want []*customer.Version) {
		t.Helper()
		got := f.events(f.acme, q)
		var gotIDs, wantIDs []int64
		for _, v := range got {
			gotIDs = append(gotIDs, v.EventID)
		}
		for _, v := range want {
			wantIDs = append(wantIDs, v.EventID)
		}
		if !slices.Equal(gotIDs, wantIDs) {
			t.Errorf("%s: events %v, want %v", what, gotIDs, wantIDs)
		}
	}
	check("after the first", customer.EventQuery{After: all[0].EventID}, all[1:])
	check("after the last", customer.EventQuery{After: all[3].EventID}, nil)
	check("one object", customer.EventQuery{ObjectIDs: []int32{b.ID}}, []*customer.Version{all[1], all[3]})
	check("closed", customer.EventQuery{EventTypes: []customer.EventType{customer.EventClosed}}, all[2:3])
	check("created or closed", customer.EventQuery{EventTypes: []customer.EventType{customer.EventCreated, customer.EventClosed}}, all[:3])
	check("since mid", customer.EventQuery{Created: customer.TimeRange{From: &mid}}, all[2:])
	check("until mid", customer.EventQuery{Created: customer.TimeRange{To: &mid}}, all[:2])
	check("page size 1", customer.EventQuery{PageSize: 1}, all)
	page, err := f.s.Events(f.ctx, f.acme.ClientID, &customer.EventQuery{PageSize: 3})
	if err != nil || len(page.Versions) != 3 || !page.HasMore {
		t.Fatalf("a page of 3 of 4: %v, has_more %v", err, page.HasMore)
	}
}

// testFeedConcurrentWriters: a reader paging with After while many writers write sees
// every event exactly once, in order, and never a smaller id after a larger one.
func testFeedConcurrentWriters(t *testing.T, f *fixture) {
	const writers, writes = 8, 25
	seed := make([]*customer.Customer, writers)
	for i := range seed {
		seed[i] = f.create(f.acme, customer.Writable{})
	}
	var done atomic.Bool
	var acknowledged atomic.Int64
	acknowledged.Add(writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range writes {
				w := customer.Writable{Status: customer.StatusOpen, Source: ptr("w")}
				if n%3 == 0 {
					if _, err := f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID, Input: &w}); err != nil {
						t.Error(err)
						return
					}
				} else if _, err := f.replace(f.acme, seed[i].ID, w, nil); err != nil {
					t.Error(err)
					return
				}
				acknowledged.Add(1)
			}
		}()
	}
	var seen []int64
	last := int64(0)
	read := func() {
		page, err := f.s.Events(f.ctx, f.acme.ClientID, &customer.EventQuery{After: last, PageSize: 13})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Versions {
			if v.EventID <= last {
				t.Fatalf("event %d after %d", v.EventID, last)
			}
			last = v.EventID
			seen = append(seen, v.EventID)
		}
	}
	go func() { wg.Wait(); done.Store(true) }()
	for !done.Load() {
		read()
		time.Sleep(time.Millisecond)
	}
	// The writes are acknowledged: every event is in the feed within seconds.
	deadline := time.Now().Add(10 * time.Second)
	for int64(len(seen)) < acknowledged.Load() && time.Now().Before(deadline) {
		read()
	}
	all := f.events(f.acme, customer.EventQuery{PageSize: 100})
	ids := make([]int64, len(all))
	for i, v := range all {
		ids[i] = v.EventID
	}
	if !slices.Equal(seen, ids) {
		t.Fatalf("the reader saw %d events, the feed holds %d: the reader missed or repeated some", len(seen), len(ids))
	}
	if int64(len(ids)) != acknowledged.Load() {
		t.Fatalf("%d events for %d acknowledged writes", len(ids), acknowledged.Load())
	}
}
