package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlquery"
)

var _ customer.RequestLog = (*Store)(nil)

// requestLogRows is how many records the largest INSERT statement stores: fewer
// statements for a batch, each with a parameter list well below SQLite's limit. The rest
// of a batch goes in statements of 64, 32, ... 1 rows, each prepared once.
const requestLogRows = 128

// requestLogColumns is how many values a record's row takes.
const requestLogColumns = 14

const insertRequestLog = `INSERT INTO request_logs (client_id, created_date, request_id, method, path, query, status,
	duration_us, username, username_fold, customer_id, idempotency_key, replayed, error) VALUES `

const requestLogValues = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

// insertRequestLogRows holds the INSERT statement of n rows at index n, for each power of
// two up to requestLogRows.
var insertRequestLogRows = func() map[int]string {
	m := map[int]string{}
	for n := 1; n <= requestLogRows; n *= 2 {
		m[n] = insertRequestLog + strings.Repeat(requestLogValues+", ", n-1) + requestLogValues
	}
	return m
}()

// RecordRequests stores records as one write of the writer's next group commit, beside
// the customer writes queued with it. They are operational records: they do not go
// through customer.Apply. Errors: Unavailable.
func (s *Store) RecordRequests(ctx context.Context, rs []*customer.LoggedRequest) error {
	if len(rs) == 0 {
		return nil
	}
	// The rows' values are made here, so that the writer, which every customer write
	// waits for, only runs the statements. They are of the types the driver binds as they
	// are (int64, string, bool, nil), which database/sql passes on without converting.
	args := make([]any, 0, len(rs)*requestLogColumns)
	byCode := false // whether a record's client is named by its code only
	for _, r := range rs {
		byCode = byCode || r.ClientID == 0
		args = append(args, r.ClientID, r.Created.UnixMilli(), r.RequestID, r.Method, r.Path, r.Query, int64(r.Status),
			r.Duration.Microseconds(), r.Username, customer.Fold(r.Username), nullID(r.CustomerID),
			nullText(r.IdempotencyKey), r.Replayed, nullText(r.Error))
	}
	return s.writer.do(ctx, 0, func(t *tx) error {
		rows := args
		if byCode {
			clients, err := customer.ClientsOf(rs, func(code string) (id int64, err error) {
				if err = t.queryRow(`SELECT id FROM clients WHERE code_fold = ?`, code).Scan(&id); errors.Is(err, sql.ErrNoRows) {
					err = nil
				}
				return id, err
			})
			if err != nil {
				return err
			}
			rows = make([]any, 0, len(args))
			for i, client := range clients {
				if client == 0 {
					continue // no such client: nobody to show the record to
				}
				rows = append(rows, client)
				rows = append(rows, args[i*requestLogColumns+1:(i+1)*requestLogColumns]...)
			}
		}
		for len(rows) > 0 {
			n := requestLogRows
			for n*requestLogColumns > len(rows) {
				n /= 2
			}
			if _, err := t.exec(insertRequestLogRows[n], rows[:n*requestLogColumns]...); err != nil {
				return err
			}
			rows = rows[n*requestLogColumns:]
		}
		return nil
	})
}

// nullID is a customer id for the driver: NULL for 0.
func nullID(id int32) any {
	if id == 0 {
		return nil
	}
	return int64(id)
}

// nullText is a text for the driver: NULL for "".
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// RequestLog returns one page of the client's request log matching q, newest first.
// Errors: Unavailable.
func (s *Store) RequestLog(ctx context.Context, client int64, q *customer.RequestLogQuery) (*customer.RequestLogPage, error) {
	query, args := sqlquery.RequestLog(dialect{}, client, q)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.readErr(err)
	}
	defer rows.Close()
	var found []*customer.LoggedRequest
	for rows.Next() {
		var (
			r                 = &customer.LoggedRequest{ClientID: client}
			created, duration int64
			id                sql.NullInt32
			key, msg          sql.NullString
		)
		if err := rows.Scan(&r.RequestID, &created, &r.Method, &r.Path, &r.Query, &r.Status, &duration,
			&r.Username, &id, &key, &r.Replayed, &msg); err != nil {
			return nil, s.readErr(err)
		}
		r.Created = time.UnixMilli(created).UTC()
		r.Duration = time.Duration(duration) * time.Microsecond
		r.CustomerID, r.IdempotencyKey, r.Error = id.Int32, key.String, msg.String
		found = append(found, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(err)
	}
	return q.PageOf(found), nil
}

// PurgeRequestLog deletes the records created before the given time, client by client
// and a few thousand at a time, each step a write of the writer's group commit.
// Errors: Unavailable.
func (s *Store) PurgeRequestLog(ctx context.Context, before time.Time) (int64, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM clients ORDER BY id`)
	if err != nil {
		return 0, s.readErr(err)
	}
	var clients []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, s.readErr(err)
		}
		clients = append(clients, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, s.readErr(err)
	}
	return customer.PurgeInBatches(clients, func(client int64) (int64, error) {
		var n int64
		err := s.writer.do(ctx, 0, func(t *tx) error {
			res, err := t.exec(`DELETE FROM request_logs WHERE id IN (SELECT id FROM request_logs
				WHERE client_id = ? AND created_date < ? LIMIT ?)`, client, before.UnixMilli(), customer.PurgeRows)
			if err == nil {
				n, err = res.RowsAffected()
			}
			return err
		})
		if err != nil { // n is not read: the writer may still be setting it
			return 0, err
		}
		return n, nil
	})
}
