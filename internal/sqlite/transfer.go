package sqlite

import (
	"context"
	"database/sql"
	"math"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlquery"
)

// WriteCustomers runs ws through customer.ApplyBatch as one op of the writer: they share
// one transaction and one fsync, and none is kept unless all are.
func (s *Store) WriteCustomers(ctx context.Context, ws []*customer.Write) ([]*customer.Customer, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	var out []*customer.Customer
	order := int32(math.MaxInt32)
	if w := ws[0]; w.ID != 0 {
		order = w.ID
	} else if w.Keep != nil && w.Keep.CustomerID > 0 {
		order = w.Keep.CustomerID
	}
	err := s.writer.do(ctx, order, func(t *tx) error {
		cs, err := customer.ApplyBatch(ctx, t, ws, customer.Now())
		out = cs
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Snapshot reads the client's customers in one read transaction of a reading connection.
// In WAL mode a read transaction sees the database as it was at its first read, whatever
// commits later, and never holds up the writer; the WAL cannot be checkpointed past that
// point until it ends, so it grows while a long export runs.
func (s *Store) Snapshot(ctx context.Context, client int64, read func(*customer.Snapshot) error) error {
	conn, err := s.read.Conn(ctx)
	if err != nil {
		return s.readErr(err)
	}
	defer conn.Close()
	t, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s.readErr(err)
	}
	defer t.Rollback()
	snap := &customer.Snapshot{}
	// The first read fixes the snapshot.
	if err := t.QueryRowContext(ctx, `SELECT count(*) FROM customers WHERE client_id = ?`, client).Scan(&snap.Count); err != nil {
		return s.readErr(err)
	}
	snap.Stored = func(each func(*customer.Stored) error) error {
		rows, err := t.QueryContext(ctx, sqlquery.SelectCustomer+` WHERE c.client_id = ? ORDER BY c.customer_id`, client)
		if err != nil {
			return s.readErr(err)
		}
		defer rows.Close()
		for rows.Next() {
			st, err := sqlquery.ScanStored(rows)
			if err != nil {
				return s.readErr(err)
			}
			if err := each(st); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return s.readErr(err)
		}
		return nil
	}
	return read(snap)
}
