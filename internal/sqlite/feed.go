package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlquery"
)

// ClaimFeed claims a feed consumer for this store. A SQLite database belongs to the one
// process that embeds it, so the claim is the store's own: a second claim of the same name
// gets nil until the first is released.
func (s *Store) ClaimFeed(ctx context.Context, name string) (customer.FeedClaim, error) {
	var v int64
	err := s.read.QueryRowContext(ctx, `SELECT value FROM feed_cursors WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "no feed consumer %q", name)
	}
	if err != nil {
		return nil, s.readErr(err)
	}
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	if s.feedClaims[name] {
		return nil, nil
	}
	if s.feedClaims == nil {
		s.feedClaims = map[string]bool{}
	}
	s.feedClaims[name] = true
	return &feedClaim{s: s, name: name}, nil
}

// feedClaim is a claim on a feed consumer's cursor in this store.
type feedClaim struct {
	s        *Store
	name     string
	released atomic.Bool
}

// Cursor returns the consumer's cursor.
func (c *feedClaim) Cursor(ctx context.Context) (v int64, err error) {
	if c.released.Load() {
		return 0, customer.ErrClaimLost
	}
	if err := c.s.read.QueryRowContext(ctx, `SELECT value FROM feed_cursors WHERE name = ?`, c.name).Scan(&v); err != nil {
		return 0, c.s.readErr(err)
	}
	return v, nil
}

// MoveCursor moves the consumer's cursor forward, through the single writer.
func (c *feedClaim) MoveCursor(ctx context.Context, to int64) error {
	if c.released.Load() {
		return customer.ErrClaimLost
	}
	return c.s.writer.do(ctx, 0, func(t *tx) error {
		_, err := t.exec(`UPDATE feed_cursors SET value = max(value, ?) WHERE name = ?`, to, c.name)
		return err
	})
}

// Release gives the claim up.
func (c *feedClaim) Release() {
	if c.released.Swap(true) {
		return
	}
	c.s.feedMu.Lock()
	delete(c.s.feedClaims, c.name)
	c.s.feedMu.Unlock()
}

// FeedAfter returns events of every client after an event id. Versions are numbered as the
// single writer commits them, so a snapshot holds every event below the last it sees.
func (s *Store) FeedAfter(ctx context.Context, after int64, limit int) ([]*customer.FeedEvent, error) {
	query, args := sqlquery.FeedSQL(dialect{}, after, limit)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.readErr(err)
	}
	evs, err := collect(rows, sqlquery.ScanFeedEvent)
	if err != nil {
		return nil, s.readErr(err)
	}
	return evs, nil
}
