package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

// TestFeedClaimAcrossProcesses: two processes on one database (two stores) never hold a
// feed consumer at once; when the holder's session ends without a release, the other
// claims it at once, and the old holder can no longer move the cursor.
func TestFeedClaimAcrossProcesses(t *testing.T) {
	_, url, _ := setup(t)
	ctx := context.Background()
	a, b := openStore(t, url), openStore(t, url)
	ca, err := a.ClaimFeed(ctx, "nats")
	if err != nil || ca == nil {
		t.Fatalf("first claim: %v, %v", ca, err)
	}
	if cb, err := b.ClaimFeed(ctx, "nats"); err != nil || cb != nil {
		t.Fatalf("a second process claimed a held consumer: %v, %v", cb, err)
	}
	if err := ca.MoveCursor(ctx, 7); err != nil {
		t.Fatal(err)
	}

	// An administrator (or a network failure PostgreSQL notices) ends the holder's session.
	var ended bool
	err = b.pool.QueryRow(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 2`,
		uint32(lockFeedConsumer), uint32(feedLockKey("nats"))).Scan(&ended)
	if err != nil || !ended {
		t.Fatalf("terminating the holder's session: %v, %v", ended, err)
	}
	// The session ends a moment after the signal.
	var cb customer.FeedClaim
	for deadline := time.Now().Add(5 * time.Second); cb == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cb, err = b.ClaimFeed(ctx, "nats"); err != nil {
			t.Fatal(err)
		}
	}
	if cb == nil {
		t.Fatal("no claim within 5 s of the holder's session ending")
	}
	defer cb.Release()
	if err := ca.MoveCursor(ctx, 100); customer.KindOf(err) != customer.Unavailable {
		t.Fatalf("the old holder moved the cursor: %v", err)
	}
	if v, err := cb.Cursor(ctx); err != nil || v != 7 {
		t.Fatalf("cursor %d, %v; want 7", v, err)
	}
	ca.Release() // after the loss: does nothing
}
