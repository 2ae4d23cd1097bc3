package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlquery"
)

// CreateReceiver stores a new receiver. Errors: Conflict, Unavailable.
func (s *Store) CreateReceiver(ctx context.Context, r *customer.Receiver, rc customer.Receipt[*customer.Receiver]) error {
	return s.inTx(ctx, func(t pgx.Tx) error { return customer.CreateReceiver(ctx, &tx{t}, r, rc) })
}

// Receiver returns one receiver of the client. Errors: NotFound, Unavailable.
func (s *Store) Receiver(ctx context.Context, client int64, id int32) (*customer.Receiver, error) {
	var r *customer.Receiver
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		var err error
		r, err = sqlquery.ScanReceiver(c.QueryRow(ctx, sqlquery.SelectReceiver(dialect{})+` WHERE client_id = $1 AND id = $2`, client, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "webhook receiver %d not found", id)
	}
	return r, err
}

// Receivers returns a page of the client's receivers. Errors: Unavailable.
func (s *Store) Receivers(ctx context.Context, client int64, page, size int) ([]*customer.Receiver, bool, error) {
	out, err := collectAll(ctx, s, sqlquery.SelectReceiver(dialect{})+` WHERE client_id = $1 ORDER BY id`+sqlquery.PageLimit(page, size),
		[]any{client}, sqlquery.ScanReceiver)
	return pageOf(out, size, err)
}

// SetReceiverStatus changes a receiver's status; disabling it fails its pending
// deliveries. Errors: NotFound, Conflict, Unavailable.
func (s *Store) SetReceiverStatus(ctx context.Context, client int64, id int32, st customer.ReceiverStatus) (*customer.Receiver, error) {
	var out *customer.Receiver
	err := s.inTx(ctx, func(t pgx.Tx) error {
		if err := customer.SetReceiverStatus(ctx, &tx{t}, client, id, st); err != nil {
			return err
		}
		var err error
		out, err = sqlquery.ScanReceiver(t.QueryRow(ctx, sqlquery.SelectReceiver(dialect{})+` WHERE id = $1`, id))
		return err
	})
	return out, err
}

// CreateSubscription stores a new subscription. Errors: Invalid, Unavailable.
func (s *Store) CreateSubscription(ctx context.Context, sub *customer.Subscription, rc customer.Receipt[*customer.Subscription]) error {
	return s.inTx(ctx, func(t pgx.Tx) error { return customer.CreateSubscription(ctx, &tx{t}, sub, rc) })
}

// Subscription returns one subscription of the client. Errors: NotFound, Unavailable.
func (s *Store) Subscription(ctx context.Context, client int64, id int32) (*customer.Subscription, error) {
	var sub *customer.Subscription
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		var err error
		sub, err = sqlquery.ScanSubscription(c.QueryRow(ctx, sqlquery.SelectSubscription(dialect{})+` WHERE s.client_id = $1 AND s.id = $2`, client, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "webhook subscription %d not found", id)
	}
	return sub, err
}

// Subscriptions returns a page of the client's subscriptions. Errors: Unavailable.
func (s *Store) Subscriptions(ctx context.Context, client int64, page, size int) ([]*customer.Subscription, bool, error) {
	out, err := collectAll(ctx, s, sqlquery.SelectSubscription(dialect{})+` WHERE s.client_id = $1 ORDER BY s.id`+sqlquery.PageLimit(page, size),
		[]any{client}, sqlquery.ScanSubscription)
	return pageOf(out, size, err)
}

// DeleteSubscription removes a subscription of the client. Errors: NotFound, Unavailable.
func (s *Store) DeleteSubscription(ctx context.Context, client int64, id int32) (*customer.Subscription, error) {
	var out *customer.Subscription
	err := s.inTx(ctx, func(t pgx.Tx) error {
		var err error
		out, err = sqlquery.ScanSubscription(t.QueryRow(ctx, sqlquery.SelectSubscription(dialect{})+` WHERE s.client_id = $1 AND s.id = $2 FOR UPDATE`, client, id))
		if err != nil {
			return err
		}
		_, err = t.Exec(ctx, `DELETE FROM webhook_subscriptions WHERE id = $1`, id)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "webhook subscription %d not found", id)
	}
	return out, err
}

// Deliveries returns a page of the client's deliveries, newest first. Errors: Unavailable.
func (s *Store) Deliveries(ctx context.Context, client int64, q *customer.DeliveryQuery) ([]*customer.Delivery, bool, error) {
	query, args := sqlquery.DeliveriesSQL(dialect{}, client, q)
	out, err := collectAll(ctx, s, query, args, sqlquery.ScanDelivery)
	return pageOf(out, q.PageSize, err)
}

// RetryDelivery queues a delivery again, now. Errors: NotFound, Conflict, Unavailable.
func (s *Store) RetryDelivery(ctx context.Context, client int64, id int64) (*customer.Delivery, error) {
	var out *customer.Delivery
	err := s.inTx(ctx, func(t pgx.Tx) error {
		if err := customer.RetryDelivery(ctx, &tx{t}, client, id, customer.Now()); err != nil {
			return err
		}
		var err error
		out, err = sqlquery.ScanDelivery(t.QueryRow(ctx, sqlquery.SelectDelivery(dialect{})+` WHERE d.id = $1`, id))
		return err
	})
	return out, err
}

// FanOut turns new events into deliveries. The cursor's row lock makes one process at a
// time do it, and the feed's promise (sequencer.go) that no event appears later below
// the cursor makes each event become deliveries exactly once. Errors: Unavailable.
func (s *Store) FanOut(ctx context.Context, limit int, lease *customer.Lease) (int, []*customer.Claim, error) {
	if err := s.numberPending(ctx, nil); err != nil {
		return 0, nil, err
	}
	var (
		n      int
		leased []*customer.Delivery
	)
	err := s.inTx(ctx, func(t pgx.Tx) error {
		var err error
		n, leased, err = customer.FanOut(ctx, &tx{t}, customer.Now(), limit, lease)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	if len(leased) == 0 {
		return n, nil, nil
	}
	claims, err := s.claims(ctx, leased)
	return n, claims, err
}

// ClaimDeliveries leases due deliveries. FOR UPDATE SKIP LOCKED keeps two processes from
// claiming one delivery at once, and the lease from claiming it again while it is being
// sent; a customer's later delivery is not due while an earlier one is pending. Errors:
// Unavailable.
func (s *Store) ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int, skip []int32) ([]*customer.Claim, error) {
	var claimed []*customer.Delivery
	err := s.inTx(ctx, func(t pgx.Tx) error {
		query, args := sqlquery.DueDeliveriesSQL(dialect{}, now, limit, skip)
		rows, err := t.Query(ctx, query+` FOR UPDATE OF d SKIP LOCKED`, args...)
		if err != nil {
			return err
		}
		if claimed, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*customer.Delivery, error) { return sqlquery.ScanDelivery(r) }); err != nil {
			return err
		}
		ids := make([]int64, len(claimed))
		for i, d := range claimed {
			ids[i] = d.ID
		}
		_, err = t.Exec(ctx, `UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2 WHERE id = ANY($3)`, owner, millis(now.Add(lease)), ids)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(claimed) == 0 {
		return nil, nil
	}
	return s.claims(ctx, claimed)
}

// claims reads the receiver and the event of each claimed delivery, in one query.
func (s *Store) claims(ctx context.Context, claimed []*customer.Delivery) ([]*customer.Claim, error) {
	// What the attempts need, in one read.
	ids := make([]int64, len(claimed))
	for i, d := range claimed {
		ids[i] = d.ID
	}
	query, args := sqlquery.ClaimsSQL(dialect{}, ids)
	read := make(map[int64]*customer.Claim, len(claimed))
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			id, r, v, err := sqlquery.ScanClaim(rows)
			if err != nil {
				return err
			}
			read[id] = &customer.Claim{Receiver: r, Event: v}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	out := make([]*customer.Claim, 0, len(claimed))
	for _, d := range claimed {
		c := read[d.ID]
		if c == nil {
			return nil, fmt.Errorf("webhook delivery %d: its receiver or event is missing", d.ID)
		}
		c.Delivery = d
		out = append(out, c)
	}
	return out, nil
}

// FinishDelivery records attempts' outcomes, where owner still holds the lease, in one
// transaction sent as one batch. Errors: Unavailable.
func (s *Store) FinishDelivery(ctx context.Context, owner string, ds ...*customer.Delivery) error {
	return s.inTx(ctx, func(t pgx.Tx) error {
		b := &pgx.Batch{}
		for _, d := range ds {
			b.Queue(`UPDATE webhook_deliveries SET status = $1, attempts = $2, last_attempt_date = $3, last_status_code = $4,
				last_error = $5, next_attempt_date = $6, lease_owner = NULL, lease_until = NULL WHERE id = $7 AND lease_owner = $8`,
				string(d.Status), d.Attempts, optMillis(d.LastAttemptDate), d.LastStatusCode, d.LastError, optMillis(d.NextAttemptDate), d.ID, owner)
		}
		return t.SendBatch(ctx, b).Close()
	})
}

// LockCursor reads a feed cursor and locks its row until commit.
func (t *tx) LockCursor(ctx context.Context, name string) (v int64, err error) {
	err = t.t.QueryRow(ctx, `SELECT value FROM feed_cursors WHERE name = $1 FOR UPDATE`, name).Scan(&v)
	return v, err
}

// SetCursor moves a feed cursor.
func (t *tx) SetCursor(ctx context.Context, name string, to int64) error {
	_, err := t.t.Exec(ctx, `UPDATE feed_cursors SET value = $1 WHERE name = $2`, to, name)
	return err
}

// EventsAfter returns the events of every client after an event id.
func (t *tx) EventsAfter(ctx context.Context, after int64, limit int) ([]*customer.Version, error) {
	query, args := sqlquery.EventsAfterSQL(dialect{}, after, limit)
	rows, err := t.t.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*customer.Version, error) { return sqlquery.ScanEvent(r) })
}

// ActiveSubscriptions returns the subscriptions of the clients' active receivers.
func (t *tx) ActiveSubscriptions(ctx context.Context, clients []int64) ([]*customer.Subscription, error) {
	query, args := sqlquery.ActiveSubscriptionsSQL(dialect{}, clients)
	rows, err := t.t.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*customer.Subscription, error) { return sqlquery.ScanSubscription(r) })
}

// LineIdle reports whether no delivery of the customer to the receiver is pending.
func (t *tx) LineIdle(ctx context.Context, receiver, customer int32) (idle bool, err error) {
	err = t.t.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE receiver_id = $1 AND object_id = $2 AND status = 'PENDING')`,
		receiver, customer).Scan(&idle)
	return idle, err
}

// InsertDelivery stores a new delivery, leased when lease is not nil.
func (t *tx) InsertDelivery(ctx context.Context, d *customer.Delivery, lease *customer.Lease) error {
	var (
		owner *string
		until *time.Time
	)
	if lease != nil {
		u := millis(lease.Until)
		owner, until = &lease.Owner, &u
	}
	return t.t.QueryRow(ctx, `INSERT INTO webhook_deliveries (client_id, receiver_id, event_id, event_type, object_id, version, status,
		attempts, created_date, last_error, next_attempt_date, lease_owner, lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, '', $9, $10, $11)
		RETURNING id`,
		d.ClientID, d.ReceiverID, d.EventID, string(d.EventType), d.ObjectID, d.Version, string(d.Status),
		millis(d.CreatedDate), optMillis(d.NextAttemptDate), owner, until).Scan(&d.ID)
}

// LiveReceivers counts the client's receivers that are not deleted, after locking the
// client's row so that two registrations at once cannot both pass the limit.
func (t *tx) LiveReceivers(ctx context.Context, client int64) (n int, err error) {
	if _, err := t.t.Exec(ctx, `SELECT 1 FROM clients WHERE id = $1 FOR UPDATE`, client); err != nil {
		return 0, err
	}
	err = t.t.QueryRow(ctx, `SELECT count(*) FROM webhook_receivers WHERE client_id = $1 AND status <> 'DISABLED'`, client).Scan(&n)
	return n, err
}

// InsertReceiver stores a new receiver.
func (t *tx) InsertReceiver(ctx context.Context, r *customer.Receiver) error {
	return t.t.QueryRow(ctx, `INSERT INTO webhook_receivers (client_id, url, description, status, secret, created_date)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		r.ClientID, r.URL, r.Description, string(r.Status), r.Secret, millis(r.CreatedDate)).Scan(&r.ID)
}

// ReceiverStatusOf returns a receiver's status and locks its row until commit.
func (t *tx) ReceiverStatusOf(ctx context.Context, client int64, id int32) (customer.ReceiverStatus, error) {
	var st string
	err := t.t.QueryRow(ctx, `SELECT status FROM webhook_receivers WHERE client_id = $1 AND id = $2 FOR UPDATE`, client, id).Scan(&st)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", customer.Errorf(customer.NotFound, "webhook receiver %d not found", id)
	}
	return customer.ReceiverStatus(st), err
}

// UpdateReceiverStatus sets a receiver's status.
func (t *tx) UpdateReceiverStatus(ctx context.Context, client int64, id int32, st customer.ReceiverStatus) error {
	_, err := t.t.Exec(ctx, `UPDATE webhook_receivers SET status = $1 WHERE client_id = $2 AND id = $3`, string(st), client, id)
	return err
}

// FailPendingDeliveries ends a receiver's pending deliveries.
func (t *tx) FailPendingDeliveries(ctx context.Context, receiver int32, reason string) error {
	_, err := t.t.Exec(ctx, `UPDATE webhook_deliveries SET status = 'FAILED', next_attempt_date = NULL, lease_owner = NULL,
		lease_until = NULL, last_error = $1 WHERE receiver_id = $2 AND status = 'PENDING'`, reason, receiver)
	return err
}

// InsertSubscription stores a new subscription.
func (t *tx) InsertSubscription(ctx context.Context, sub *customer.Subscription) error {
	return t.t.QueryRow(ctx, `INSERT INTO webhook_subscriptions (client_id, receiver_id, event_type, created_date)
		VALUES ($1, $2, $3, $4) RETURNING id`, sub.ClientID, sub.ReceiverID, string(sub.EventType), millis(sub.CreatedDate)).Scan(&sub.ID)
}

// DeliveryReceiver returns the receiver of one of the client's deliveries.
func (t *tx) DeliveryReceiver(ctx context.Context, client int64, id int64) (receiver int32, err error) {
	err = t.t.QueryRow(ctx, `SELECT receiver_id FROM webhook_deliveries WHERE client_id = $1 AND id = $2`, client, id).Scan(&receiver)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, customer.Errorf(customer.NotFound, "webhook delivery %d not found", id)
	}
	return receiver, err
}

// RequeueDelivery makes a delivery pending again.
func (t *tx) RequeueDelivery(ctx context.Context, id int64, when time.Time) error {
	_, err := t.t.Exec(ctx, `UPDATE webhook_deliveries SET status = 'PENDING', next_attempt_date = $1, lease_owner = NULL,
		lease_until = NULL WHERE id = $2`, millis(when), id)
	return err
}

// collectAll runs a query on a pooled connection and reads every row with scan.
func collectAll[T any](ctx context.Context, s *Store, query string, args []any, scan func(sqlquery.Scanner) (T, error)) ([]T, error) {
	var out []T
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
		return err
	})
	return out, err
}

func pageOf[T any](items []T, size int, err error) ([]T, bool, error) {
	if err != nil {
		return nil, false, err
	}
	if len(items) > size {
		return items[:size], true, nil
	}
	return items, false, nil
}

// DeliveryBacklog reports the pending deliveries of every client. Errors: Unavailable.
func (s *Store) DeliveryBacklog(ctx context.Context) (int64, time.Time, error) {
	var (
		n      int64
		oldest *int64
	)
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		return c.QueryRow(ctx, sqlquery.BacklogSQL(dialect{})).Scan(&n, &oldest)
	})
	if err != nil || oldest == nil {
		return n, time.Time{}, err
	}
	return n, time.UnixMilli(*oldest), nil
}
