package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlquery"
)

// WriteCustomers runs ws through customer.ApplyBatch in one transaction, retried from the
// start as WriteCustomer's is. Errors: a *customer.BatchError naming the write that
// failed, of its kind; Unavailable.
func (s *Store) WriteCustomers(ctx context.Context, ws []*customer.Write) ([]*customer.Customer, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	var out []*customer.Customer
	err := s.inTx(ctx, func(t pgx.Tx) error {
		cs, err := customer.ApplyBatch(ctx, &tx{t}, ws, customer.Now())
		out = cs
		return err
	})
	if err != nil {
		return nil, err
	}
	s.wake() // number the new versions for the change feed
	return out, nil
}

// Snapshot reads the client's customers in one REPEATABLE READ, read-only transaction:
// every statement in it sees the database as its first statement did, and it takes no
// lock that holds up a writer. Rows are streamed from the server as they are walked.
// Errors: read's, Unavailable.
func (s *Store) Snapshot(ctx context.Context, client int64, read func(*customer.Snapshot) error) error {
	return s.withConn(ctx, func(conn *pgxpool.Conn) error {
		t, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer t.Rollback(context.WithoutCancel(ctx))
		snap := &customer.Snapshot{}
		// The first statement fixes the snapshot.
		if err := t.QueryRow(ctx, `SELECT count(*) FROM customers WHERE client_id = $1`, client).Scan(&snap.Count); err != nil {
			return err
		}
		snap.Stored = func(each func(*customer.Stored) error) error {
			rows, err := t.Query(ctx, sqlquery.SelectCustomer+` WHERE c.client_id = $1 ORDER BY c.customer_id`, client)
			if err != nil {
				return storeError(err)
			}
			defer rows.Close()
			for rows.Next() {
				st, err := sqlquery.ScanStored(rows)
				if err != nil {
					return storeError(err)
				}
				if err := each(st); err != nil {
					return err
				}
			}
			return storeError(rows.Err())
		}
		return read(snap)
	})
}
