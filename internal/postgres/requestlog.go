package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlquery"
)

var _ customer.RequestLog = (*Store)(nil)

// requestLogColumns are the columns RecordRequests copies into.
var requestLogColumns = []string{"client_id", "created_date", "request_id", "method", "path", "query", "status",
	"duration_us", "username", "username_fold", "customer_id", "idempotency_key", "replayed", "error"}

// RecordRequests stores records with one COPY, outside any customer transaction: they are
// operational records and do not go through customer.Apply. Errors: Unavailable.
func (s *Store) RecordRequests(ctx context.Context, rs []*customer.LoggedRequest) error {
	if len(rs) == 0 {
		return nil
	}
	return s.withConn(ctx, func(c *pgxpool.Conn) error {
		clients, err := customer.ClientsOf(rs, func(code string) (id int64, err error) {
			if err = c.QueryRow(ctx, `SELECT id FROM clients WHERE code_fold = $1`, code).Scan(&id); errors.Is(err, pgx.ErrNoRows) {
				err = nil
			}
			return id, err
		})
		if err != nil {
			return err
		}
		rows := make([][]any, 0, len(rs))
		for i, r := range rs {
			client := clients[i]
			if client == 0 {
				continue // no such client: nobody to show it to
			}
			rows = append(rows, []any{client, millis(r.Created), r.RequestID, r.Method, r.Path, r.Query, int32(r.Status),
				r.Duration.Microseconds(), r.Username, customer.Fold(r.Username), nullID(r.CustomerID),
				nullText(r.IdempotencyKey), r.Replayed, nullText(r.Error)})
		}
		if len(rows) == 0 {
			return nil
		}
		_, err = c.CopyFrom(ctx, pgx.Identifier{"request_logs"}, requestLogColumns, pgx.CopyFromRows(rows))
		return err
	})
}

func nullID(id int32) *int32 {
	if id == 0 {
		return nil
	}
	return &id
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// RequestLog returns one page of the client's request log matching q, newest first.
// Errors: Unavailable.
func (s *Store) RequestLog(ctx context.Context, client int64, q *customer.RequestLogQuery) (*customer.RequestLogPage, error) {
	query, args := sqlquery.RequestLog(dialect{}, client, q)
	var found []*customer.LoggedRequest
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r        = &customer.LoggedRequest{ClientID: client}
				status   int32
				duration int64
				id       *int32
				key, msg *string
			)
			if err := rows.Scan(&r.RequestID, &r.Created, &r.Method, &r.Path, &r.Query, &status, &duration,
				&r.Username, &id, &key, &r.Replayed, &msg); err != nil {
				return err
			}
			r.Created = r.Created.UTC()
			r.Status = int(status)
			r.Duration = time.Duration(duration) * time.Microsecond
			if id != nil {
				r.CustomerID = *id
			}
			if key != nil {
				r.IdempotencyKey = *key
			}
			if msg != nil {
				r.Error = *msg
			}
			found = append(found, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return q.PageOf(found), nil
}

// PurgeRequestLog deletes the records created before the given time, client by client
// and some thousands at a time. Errors: Unavailable.
func (s *Store) PurgeRequestLog(ctx context.Context, before time.Time) (int64, error) {
	var clients []int64
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, `SELECT id FROM clients ORDER BY id`)
		if err != nil {
			return err
		}
		clients, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	if err != nil {
		return 0, err
	}
	return customer.PurgeInBatches(clients, func(client int64) (n int64, err error) {
		err = s.withConn(ctx, func(c *pgxpool.Conn) error {
			tag, err := c.Exec(ctx, `DELETE FROM request_logs WHERE id IN (SELECT id FROM request_logs
				WHERE client_id = $1 AND created_date < $2 LIMIT $3)`, client, millis(before), customer.PurgeRows)
			n = tag.RowsAffected()
			return err
		})
		return n, err
	})
}
