package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlquery"
)

// CustomerHistory returns one page of a customer's versions. Errors: NotFound,
// Unavailable.
//
// The page and, when it is empty, whether the customer exists are read on one pooled
// connection.
func (s *Store) CustomerHistory(ctx context.Context, client int64, id int32, q *customer.HistoryQuery) (page *customer.VersionPage, err error) {
	query, args := sqlquery.HistorySQL(dialect{}, client, id, q)
	err = s.withConn(ctx, func(c *pgxpool.Conn) error {
		vs, err := collectVersions(ctx, c, query, args)
		if err != nil {
			return err
		}
		page, err = customer.HistoryOf(vs, q.PageSize, func() error {
			var one int
			err := c.QueryRow(ctx, `SELECT 1 FROM customers WHERE client_id = $1 AND customer_id = $2`, client, id).Scan(&one)
			if errors.Is(err, pgx.ErrNoRows) {
				return notFound(id)
			}
			return err
		})
		return err
	})
	return page, err
}

// CustomerVersion returns a customer as one of its versions stored it. Errors: NotFound,
// Unavailable.
func (s *Store) CustomerVersion(ctx context.Context, client int64, id int32, version int64) (*customer.Customer, error) {
	query, args := sqlquery.VersionSQL(dialect{}, client, id, version)
	var v *customer.Version
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		var err error
		v, err = sqlquery.ScanVersion(c.QueryRow(ctx, query, args...))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "customer %d has no version %d", id, version)
	}
	if err != nil {
		return nil, err
	}
	return v.Customer, nil
}

// Events returns the client's events after q.After (see sequencer.go for why they come
// exactly once and in order). Versions of the client still waiting for their number are
// numbered first, so a reader sees every write acknowledged before it asked. Errors:
// Unavailable.
func (s *Store) Events(ctx context.Context, client int64, q *customer.EventQuery) (*customer.VersionPage, error) {
	if err := s.numberPending(ctx, &client); err != nil {
		return nil, err
	}
	query, args := sqlquery.EventsSQL(dialect{}, client, q)
	vs, err := s.versions(ctx, query, args)
	if err != nil {
		return nil, err
	}
	return customer.PageOfVersions(vs, q.PageSize), nil
}

// numberPending numbers the versions still waiting for their event id, those of one
// client or (nil) of all, waiting for the sequencer lock if another process holds it: so
// a reader of the feed sees every write acknowledged before it asked.
func (s *Store) numberPending(ctx context.Context, client *int64) error {
	var pending bool
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		return c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM customer_events WHERE event_id IS NULL
			AND ($1::bigint IS NULL OR client_id = $1))`, client).Scan(&pending)
	})
	for err == nil && pending {
		var n int64
		n, _, err = s.number(ctx, true)
		pending = n == sequencerBatch
	}
	return err
}

func (s *Store) versions(ctx context.Context, query string, args []any) (vs []*customer.Version, err error) {
	err = s.withConn(ctx, func(c *pgxpool.Conn) error {
		vs, err = collectVersions(ctx, c, query, args)
		return err
	})
	return vs, err
}

func collectVersions(ctx context.Context, c *pgxpool.Conn, query string, args []any) ([]*customer.Version, error) {
	rows, err := c.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*customer.Version, error) { return sqlquery.ScanVersion(r) })
}
