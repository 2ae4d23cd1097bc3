package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlquery"
)

// CustomerHistory returns one page of a customer's versions.
func (s *Store) CustomerHistory(ctx context.Context, client int64, id int32, q *customer.HistoryQuery) (*customer.VersionPage, error) {
	query, args := sqlquery.HistorySQL(dialect{}, client, id, q)
	vs, err := s.versions(ctx, query, args)
	if err != nil {
		return nil, err
	}
	return customer.HistoryOf(vs, q.PageSize, func() error {
		_, err := s.Customer(ctx, client, id)
		return err
	})
}

// CustomerVersion returns a customer as one of its versions stored it.
func (s *Store) CustomerVersion(ctx context.Context, client int64, id int32, version int64) (*customer.Customer, error) {
	query, args := sqlquery.VersionSQL(dialect{}, client, id, version)
	v, err := sqlquery.ScanVersion(s.read.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "customer %d has no version %d", id, version)
	}
	if err != nil {
		return nil, s.readErr(err)
	}
	return v.Customer, nil
}

// Events returns the client's events after q.After. Versions are numbered as the single
// writer commits them, so a reader's snapshot holds every event below the last it sees.
func (s *Store) Events(ctx context.Context, client int64, q *customer.EventQuery) (*customer.VersionPage, error) {
	query, args := sqlquery.EventsSQL(dialect{}, client, q)
	vs, err := s.versions(ctx, query, args)
	if err != nil {
		return nil, err
	}
	return customer.PageOfVersions(vs, q.PageSize), nil
}

func (s *Store) versions(ctx context.Context, query string, args []any) ([]*customer.Version, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.readErr(err)
	}
	defer rows.Close()
	var vs []*customer.Version
	for rows.Next() {
		v, err := sqlquery.ScanVersion(rows)
		if err != nil {
			return nil, s.readErr(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(err)
	}
	return vs, nil
}
