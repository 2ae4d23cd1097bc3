package postgres

import (
	"context"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlquery"
)

// A feed consumer is claimed by a session advisory lock, held by a connection that leaves
// the pool and belongs to the claim until it is released:
//
//   - one process at a time holds it, across every process on the database, and it
//     passes to another at once when the holder's connection ends (a crash, a kill -9, a
//     network failure that PostgreSQL notices);
//   - the cursor is read and moved on that same connection, so a statement that succeeds
//     there proves the lock is still held: a holder whose session ended (say, terminated
//     by an administrator) learns it at its next statement and moves nothing;
//   - the cursor only ever moves forward (greatest), so even a holder that has not yet
//     learnt of its loss cannot take it back.
//
// A lease row with an expiry would work too, but would leave the consumer idle until the
// lease ran out after a crash, and would depend on the processes' clocks.

// lockFeedConsumer is the first key of a feed consumer's advisory lock (the two-integer
// key space, apart from the single keys of postgres.go); the second is a hash of its name.
const lockFeedConsumer int32 = 0x63757374 // "cust"

func feedLockKey(name string) int32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int32(h.Sum32())
}

// ClaimFeed claims a feed consumer for this process, or returns nil while another
// process holds it. Errors: NotFound, Unavailable.
func (s *Store) ClaimFeed(ctx context.Context, name string) (customer.FeedClaim, error) {
	pc, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	var exists, held bool
	err = pc.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM feed_cursors WHERE name = $1)`, name).Scan(&exists)
	if err == nil && exists {
		err = pc.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, lockFeedConsumer, feedLockKey(name)).Scan(&held)
	}
	if err != nil || !held {
		// Nothing is held: the connection goes back to the pool as it was.
		pc.Release()
		if err != nil {
			return nil, storeError(err)
		}
		if !exists {
			return nil, customer.Errorf(customer.NotFound, "no feed consumer %q", name)
		}
		return nil, nil
	}
	return &feedClaim{conn: pc.Hijack(), name: name}, nil
}

// feedClaim holds a feed consumer's advisory lock on a connection of its own.
type feedClaim struct {
	mu   sync.Mutex
	conn *pgx.Conn // nil once released or lost
	name string
}

// Cursor returns the consumer's cursor, read on the claim's connection.
func (c *feedClaim) Cursor(ctx context.Context) (int64, error) {
	var v int64
	err := c.run(ctx, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT value FROM feed_cursors WHERE name = $1`, c.name).Scan(&v)
	})
	return v, err
}

// MoveCursor moves the consumer's cursor forward, on the claim's connection.
func (c *feedClaim) MoveCursor(ctx context.Context, to int64) error {
	return c.run(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `UPDATE feed_cursors SET value = greatest(value, $1) WHERE name = $2`, to, c.name)
		return err
	})
}

// run runs fn on the claim's connection. A connection that failed is closed, which ends
// the claim (and the lock, if PostgreSQL still held it): the caller claims again.
func (c *feedClaim) run(ctx context.Context, fn func(*pgx.Conn) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return customer.ErrClaimLost
	}
	err := fn(c.conn)
	if err != nil && c.conn.IsClosed() {
		c.conn = nil
		return &customer.Error{Kind: customer.Unavailable, Message: "the claim on feed consumer " + c.name + " was lost", Err: err}
	}
	return storeError(err)
}

// Release unlocks the claim's lock and closes its connection. The unlock comes first:
// PostgreSQL releases the locks of a closed connection only when its backend has ended,
// after Close has returned, so a claim made right after Release could find the lock still
// held. If the unlock fails, closing the connection releases the lock anyway.
func (c *feedClaim) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.conn.Exec(ctx, `SELECT pg_advisory_unlock($1, $2)`, lockFeedConsumer, feedLockKey(c.name))
	c.conn.Close(ctx)
	c.conn = nil
}

// FeedAfter returns events of every client after an event id: those the sequencer has
// numbered (see sequencer.go for why none appears later below them). Errors: Unavailable.
func (s *Store) FeedAfter(ctx context.Context, after int64, limit int) ([]*customer.FeedEvent, error) {
	query, args := sqlquery.FeedSQL(dialect{}, after, limit)
	var out []*customer.FeedEvent
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*customer.FeedEvent, error) { return sqlquery.ScanFeedEvent(r) })
		return err
	})
	return out, err
}
