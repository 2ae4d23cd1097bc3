package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

func testIdempotency(t *testing.T, f *fixture) {
	k := &customer.IdempotencyKey{User: f.acme.ID, Key: "key-1", Fingerprint: "fp-1"}
	if r, err := f.s.BeginIdempotent(f.ctx, k); r != nil || err != nil {
		t.Fatalf("first claim: %v %v", r, err)
	}
	_, err := f.s.BeginIdempotent(f.ctx, k)
	wantKind(t, err, customer.Conflict, "claim while the first runs")
	_, err = f.s.BeginIdempotent(f.ctx, &customer.IdempotencyKey{User: f.acme.ID, Key: "key-1", Fingerprint: "fp-2"})
	wantKind(t, err, customer.IdempotencyMismatch, "claim with another fingerprint")
	// Keys are per user.
	if r, err := f.s.BeginIdempotent(f.ctx, &customer.IdempotencyKey{User: f.other.ID, Key: "key-1", Fingerprint: "fp-9"}); r != nil || err != nil {
		t.Fatalf("same key, other user: %v %v", r, err)
	}
	want := &customer.Reply{Status: 404, Body: []byte(`{"ok":false}`)}
	if err := f.s.FinishIdempotent(f.ctx, k, want); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.BeginIdempotent(f.ctx, k)
	if err != nil || got == nil || got.Status != 404 || string(got.Body) != string(want.Body) {
		t.Fatalf("replay: %v %+v", err, got)
	}
	_, err = f.s.BeginIdempotent(f.ctx, &customer.IdempotencyKey{User: f.acme.ID, Key: "key-1", Fingerprint: "fp-2"})
	wantKind(t, err, customer.IdempotencyMismatch, "finished key with another fingerprint")

	// A released key (its request failed on the server) can be claimed again.
	k2 := &customer.IdempotencyKey{User: f.acme.ID, Key: "key-2", Fingerprint: "fp"}
	f.s.BeginIdempotent(f.ctx, k2)
	if err := f.s.ReleaseIdempotent(f.ctx, k2); err != nil {
		t.Fatal(err)
	}
	if r, err := f.s.BeginIdempotent(f.ctx, k2); r != nil || err != nil {
		t.Fatalf("claim after release: %v %v", r, err)
	}
	// Purging removes keys claimed before the cut-off, and only those.
	n, err := f.s.PurgeIdempotency(f.ctx, time.Now().Add(-time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("purge of nothing: %d %v", n, err)
	}
	n, err = f.s.PurgeIdempotency(f.ctx, time.Now().Add(time.Second))
	if err != nil || n != 3 {
		t.Fatalf("purge of all: %d %v, want 3", n, err)
	}
	if r, err := f.s.BeginIdempotent(f.ctx, k); r != nil || err != nil {
		t.Fatalf("claim after purge: %v %v", r, err)
	}
}

// testIdempotentWrite checks that a write's response is recorded with the write itself,
// and that a failed write records nothing.
func testIdempotentWrite(t *testing.T, f *fixture) {
	k := &customer.IdempotencyKey{User: f.acme.ID, Key: "create-1", Fingerprint: "fp"}
	if _, err := f.s.BeginIdempotent(f.ctx, k); err != nil {
		t.Fatal(err)
	}
	render := func(c *customer.Customer) (*customer.Reply, error) {
		return &customer.Reply{Status: 201, ETag: c.ETag(), Location: "/v1/Customers/x", Body: []byte(c.ETag())}, nil
	}
	bad := &customer.Writable{Status: customer.StatusOpen, AgentID: ptr(int32(0))}
	_, err := f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID, Input: bad, Receipt: customer.Receipt[*customer.Customer]{Key: k, Render: render}})
	wantKind(t, err, customer.Invalid, "invalid idempotent write")
	_, err = f.s.BeginIdempotent(f.ctx, k)
	wantKind(t, err, customer.Conflict, "key of a failed write is still claimed, not finished")

	c, err := f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID,
		Input: &customer.Writable{Status: customer.StatusOpen}, Receipt: customer.Receipt[*customer.Customer]{Key: k, Render: render}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.s.BeginIdempotent(f.ctx, k)
	if err != nil || got == nil || got.Status != 201 || got.ETag != c.ETag() || got.Location != "/v1/Customers/x" || string(got.Body) != c.ETag() {
		t.Fatalf("recorded response: %v %+v", err, got)
	}
}

// testConcurrentIdempotencyClaim claims one key from many goroutines at once: exactly one
// claim succeeds, the others learn that it is running.
func testConcurrentIdempotencyClaim(t *testing.T, f *fixture) {
	for round := range 5 {
		k := customer.IdempotencyKey{User: f.acme.ID, Key: "race-" + string(rune('a'+round)), Fingerprint: "fp"}
		var wg sync.WaitGroup
		var mu sync.Mutex
		claimed, running := 0, 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				kk := k
				r, err := f.s.BeginIdempotent(f.ctx, &kk)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && r == nil:
					claimed++
				case customer.IsKind(err, customer.Conflict):
					running++
				default:
					t.Errorf("concurrent claim: %v %v", r, err)
				}
			}()
		}
		wg.Wait()
		if claimed != 1 || running != 7 {
			t.Fatalf("round %d: %d claims succeeded and %d saw it running, want 1 and 7", round, claimed, running)
		}
	}
}
