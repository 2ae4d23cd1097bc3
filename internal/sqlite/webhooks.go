package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlquery"
)

// CreateReceiver stores a new receiver.
func (s *Store) CreateReceiver(ctx context.Context, r *customer.Receiver, rc customer.Receipt[*customer.Receiver]) error {
	return s.writer.do(ctx, 0, func(t *tx) error { return customer.CreateReceiver(ctx, t, r, rc) })
}

// Receiver returns one receiver of the client.
func (s *Store) Receiver(ctx context.Context, client int64, id int32) (*customer.Receiver, error) {
	r, err := sqlquery.ScanReceiver(s.read.QueryRowContext(ctx, sqlquery.SelectReceiver(dialect{})+` WHERE client_id = ? AND id = ?`, client, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "webhook receiver %d not found", id)
	}
	if err != nil {
		return nil, s.readErr(err)
	}
	return r, nil
}

// Receivers returns a page of the client's receivers.
func (s *Store) Receivers(ctx context.Context, client int64, page, size int) ([]*customer.Receiver, bool, error) {
	rows, err := s.read.QueryContext(ctx, sqlquery.SelectReceiver(dialect{})+` WHERE client_id = ? ORDER BY id`+sqlquery.PageLimit(page, size), client)
	if err != nil {
		return nil, false, s.readErr(err)
	}
	out, err := collect(rows, sqlquery.ScanReceiver)
	if err != nil {
		return nil, false, s.readErr(err)
	}
	return pageOf(out, size)
}

// SetReceiverStatus changes a receiver's status; disabling it fails its pending deliveries.
func (s *Store) SetReceiverStatus(ctx context.Context, client int64, id int32, st customer.ReceiverStatus) (*customer.Receiver, error) {
	var out *customer.Receiver
	err := s.writer.do(ctx, 0, func(t *tx) error {
		if err := customer.SetReceiverStatus(ctx, t, client, id, st); err != nil {
			return err
		}
		var err error
		out, err = sqlquery.ScanReceiver(t.queryRow(sqlquery.SelectReceiver(dialect{})+` WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CreateSubscription stores a new subscription to one of the client's receivers.
func (s *Store) CreateSubscription(ctx context.Context, sub *customer.Subscription, rc customer.Receipt[*customer.Subscription]) error {
	return s.writer.do(ctx, 0, func(t *tx) error { return customer.CreateSubscription(ctx, t, sub, rc) })
}

// Subscription returns one subscription of the client.
func (s *Store) Subscription(ctx context.Context, client int64, id int32) (*customer.Subscription, error) {
	sub, err := sqlquery.ScanSubscription(s.read.QueryRowContext(ctx, sqlquery.SelectSubscription(dialect{})+` WHERE s.client_id = ? AND s.id = ?`, client, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "webhook subscription %d not found", id)
	}
	if err != nil {
		return nil, s.readErr(err)
	}
	return sub, nil
}

// Subscriptions returns a page of the client's subscriptions.
func (s *Store) Subscriptions(ctx context.Context, client int64, page, size int) ([]*customer.Subscription, bool, error) {
	rows, err := s.read.QueryContext(ctx, sqlquery.SelectSubscription(dialect{})+` WHERE s.client_id = ? ORDER BY s.id`+sqlquery.PageLimit(page, size), client)
	if err != nil {
		return nil, false, s.readErr(err)
	}
	out, err := collect(rows, sqlquery.ScanSubscription)
	if err != nil {
		return nil, false, s.readErr(err)
	}
	return pageOf(out, size)
}

// DeleteSubscription removes a subscription of the client.
func (s *Store) DeleteSubscription(ctx context.Context, client int64, id int32) (*customer.Subscription, error) {
	var out *customer.Subscription
	err := s.writer.do(ctx, 0, func(t *tx) error {
		var err error
		out, err = sqlquery.ScanSubscription(t.queryRow(sqlquery.SelectSubscription(dialect{})+` WHERE s.client_id = ? AND s.id = ?`, client, id))
		if errors.Is(err, sql.ErrNoRows) {
			return customer.Errorf(customer.NotFound, "webhook subscription %d not found", id)
		}
		if err != nil {
			return err
		}
		_, err = t.exec(`DELETE FROM webhook_subscriptions WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Deliveries returns a page of the client's deliveries, newest first.
func (s *Store) Deliveries(ctx context.Context, client int64, q *customer.DeliveryQuery) ([]*customer.Delivery, bool, error) {
	query, args := sqlquery.DeliveriesSQL(dialect{}, client, q)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, s.readErr(err)
	}
	out, err := collect(rows, sqlquery.ScanDelivery)
	if err != nil {
		return nil, false, s.readErr(err)
	}
	return pageOf(out, q.PageSize)
}

// RetryDelivery queues a delivery again, now.
func (s *Store) RetryDelivery(ctx context.Context, client int64, id int64) (*customer.Delivery, error) {
	var out *customer.Delivery
	err := s.writer.do(ctx, 0, func(t *tx) error {
		if err := customer.RetryDelivery(ctx, t, client, id, customer.Now()); err != nil {
			return err
		}
		var err error
		out, err = sqlquery.ScanDelivery(t.queryRow(sqlquery.SelectDelivery(dialect{})+` WHERE d.id = ?`, id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LiveReceivers counts the client's receivers that are not deleted.
func (t *tx) LiveReceivers(_ context.Context, client int64) (n int, err error) {
	err = t.queryRow(`SELECT count(*) FROM webhook_receivers WHERE client_id = ? AND status <> 'DISABLED'`, client).Scan(&n)
	return n, err
}

// InsertReceiver stores a new receiver.
func (t *tx) InsertReceiver(_ context.Context, r *customer.Receiver) error {
	res, err := t.exec(`INSERT INTO webhook_receivers (client_id, url, description, status, secret, created_date) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ClientID, r.URL, r.Description, string(r.Status), r.Secret, r.CreatedDate.UnixMilli())
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	r.ID = int32(id)
	return err
}

// ReceiverStatusOf returns a receiver's status.
func (t *tx) ReceiverStatusOf(_ context.Context, client int64, id int32) (customer.ReceiverStatus, error) {
	var st string
	err := t.queryRow(`SELECT status FROM webhook_receivers WHERE client_id = ? AND id = ?`, client, id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", customer.Errorf(customer.NotFound, "webhook receiver %d not found", id)
	}
	return customer.ReceiverStatus(st), err
}

// UpdateReceiverStatus sets a receiver's status.
func (t *tx) UpdateReceiverStatus(_ context.Context, client int64, id int32, st customer.ReceiverStatus) error {
	_, err := t.exec(`UPDATE webhook_receivers SET status = ? WHERE client_id = ? AND id = ?`, string(st), client, id)
	return err
}

// FailPendingDeliveries ends a receiver's pending deliveries.
func (t *tx) FailPendingDeliveries(_ context.Context, receiver int32, reason string) error {
	_, err := t.exec(`UPDATE webhook_deliveries SET status = 'FAILED', next_attempt_date = NULL, lease_owner = NULL,
		lease_until = NULL, last_error = ? WHERE receiver_id = ? AND status = 'PENDING'`, reason, receiver)
	return err
}

// InsertSubscription stores a new subscription.
func (t *tx) InsertSubscription(_ context.Context, sub *customer.Subscription) error {
	res, err := t.exec(`INSERT INTO webhook_subscriptions (client_id, receiver_id, event_type, created_date) VALUES (?, ?, ?, ?)`,
		sub.ClientID, sub.ReceiverID, string(sub.EventType), sub.CreatedDate.UnixMilli())
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	sub.ID = int32(id)
	return err
}

// DeliveryReceiver returns the receiver of one of the client's deliveries.
func (t *tx) DeliveryReceiver(_ context.Context, client int64, id int64) (receiver int32, err error) {
	err = t.queryRow(`SELECT receiver_id FROM webhook_deliveries WHERE client_id = ? AND id = ?`, client, id).Scan(&receiver)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, customer.Errorf(customer.NotFound, "webhook delivery %d not found", id)
	}
	return receiver, err
}

// RequeueDelivery makes a delivery pending again.
func (t *tx) RequeueDelivery(_ context.Context, id int64, when time.Time) error {
	_, err := t.exec(`UPDATE webhook_deliveries SET status = 'PENDING', next_attempt_date = ?, lease_owner = NULL, lease_until = NULL
		WHERE id = ?`, when.UnixMilli(), id)
	return err
}

// FanOut turns new events into deliveries, on the single writer, and reads what the
// attempts of those it leased need.
func (s *Store) FanOut(ctx context.Context, limit int, lease *customer.Lease) (int, []*customer.Claim, error) {
	var (
		n      int
		leased []*customer.Delivery
	)
	err := s.writer.do(ctx, 0, func(t *tx) error {
		var err error
		n, leased, err = customer.FanOut(ctx, t, customer.Now(), limit, lease)
		return err
	})
	if err != nil {
		return 0, nil, err // n and leased are not to be read: the write may still be running
	}
	if len(leased) == 0 {
		return n, nil, nil
	}
	claims, err := s.claims(ctx, leased)
	return n, claims, err
}

// LockCursor reads a feed cursor; the single writer needs no lock.
func (t *tx) LockCursor(_ context.Context, name string) (v int64, err error) {
	err = t.queryRow(`SELECT value FROM feed_cursors WHERE name = ?`, name).Scan(&v)
	return v, err
}

// SetCursor moves a feed cursor.
func (t *tx) SetCursor(_ context.Context, name string, to int64) error {
	_, err := t.exec(`UPDATE feed_cursors SET value = ? WHERE name = ?`, to, name)
	return err
}

// EventsAfter returns the events of every client after an event id.
func (t *tx) EventsAfter(_ context.Context, after int64, limit int) ([]*customer.Version, error) {
	query, args := sqlquery.EventsAfterSQL(dialect{}, after, limit)
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, sqlquery.ScanEvent)
}

// ActiveSubscriptions returns the subscriptions of the clients' active receivers.
func (t *tx) ActiveSubscriptions(_ context.Context, clients []int64) ([]*customer.Subscription, error) {
	query, args := sqlquery.ActiveSubscriptionsSQL(dialect{}, clients)
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, sqlquery.ScanSubscription)
}

// LineIdle reports whether no delivery of the customer to the receiver is pending.
func (t *tx) LineIdle(_ context.Context, receiver, customer int32) (idle bool, err error) {
	err = t.queryRow(`SELECT NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE receiver_id = ? AND object_id = ? AND status = 'PENDING')`,
		receiver, customer).Scan(&idle)
	return idle, err
}

// InsertDelivery stores a new delivery, leased when lease is not nil.
func (t *tx) InsertDelivery(_ context.Context, d *customer.Delivery, lease *customer.Lease) error {
	var owner, until any
	if lease != nil {
		owner, until = lease.Owner, lease.Until.UnixMilli()
	}
	res, err := t.exec(`INSERT INTO webhook_deliveries (client_id, receiver_id, event_id, event_type, object_id, version, status,
		attempts, created_date, last_error, next_attempt_date, lease_owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, '', ?, ?, ?)`,
		d.ClientID, d.ReceiverID, d.EventID, string(d.EventType), d.ObjectID, d.Version, string(d.Status),
		d.CreatedDate.UnixMilli(), d.NextAttemptDate.UnixMilli(), owner, until)
	if err != nil {
		return err
	}
	d.ID, err = res.LastInsertId()
	return err
}

// ClaimDeliveries leases due deliveries, each the oldest pending one of its receiver and
// customer. The single writer claims them one call at a time, so no two claims overlap.
func (s *Store) ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int, skip []int32) ([]*customer.Claim, error) {
	var claimed []*customer.Delivery
	err := s.writer.do(ctx, 0, func(t *tx) error {
		claimed = nil
		query, args := sqlquery.DueDeliveriesSQL(dialect{}, now, limit, skip)
		rows, err := t.query(query, args...)
		if err != nil {
			return err
		}
		if claimed, err = collect(rows, sqlquery.ScanDelivery); err != nil || len(claimed) == 0 {
			return err
		}
		ids := make([]any, len(claimed)+2)
		ids[0], ids[1] = owner, now.Add(lease).UnixMilli()
		for i, d := range claimed {
			ids[i+2] = d.ID
		}
		_, err = t.exec(`UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ? WHERE id IN (?`+
			strings.Repeat(", ?", len(claimed)-1)+`)`, ids...)
		return err
	})
	if err != nil || len(claimed) == 0 {
		return nil, err
	}
	return s.claims(ctx, claimed)
}

// claims reads the receiver and the event of each claimed delivery, in one query.
func (s *Store) claims(ctx context.Context, ds []*customer.Delivery) ([]*customer.Claim, error) {
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	query, args := sqlquery.ClaimsSQL(dialect{}, ids)
	rows, err := s.recent.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.readErr(err)
	}
	defer rows.Close()
	read := make(map[int64]*customer.Claim, len(ds))
	for rows.Next() {
		id, r, v, err := sqlquery.ScanClaim(rows)
		if err != nil {
			return nil, s.readErr(err)
		}
		read[id] = &customer.Claim{Receiver: r, Event: v}
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(err)
	}
	out := make([]*customer.Claim, 0, len(ds))
	for _, d := range ds {
		c := read[d.ID]
		if c == nil {
			return nil, fmt.Errorf("webhook delivery %d: its receiver or event is missing", d.ID)
		}
		c.Delivery = d
		out = append(out, c)
	}
	return out, nil
}

// FinishDelivery records attempts' outcomes, where owner still holds the lease, as one
// write of the writer.
func (s *Store) FinishDelivery(ctx context.Context, owner string, ds ...*customer.Delivery) error {
	return s.writer.do(ctx, 0, func(t *tx) error {
		for _, d := range ds {
			_, err := t.exec(`UPDATE webhook_deliveries SET status = ?, attempts = ?, last_attempt_date = ?, last_status_code = ?,
				last_error = ?, next_attempt_date = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?`,
				string(d.Status), d.Attempts, millis(d.LastAttemptDate), d.LastStatusCode, d.LastError, millis(d.NextAttemptDate), d.ID, owner)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func pageOf[T any](items []T, size int) ([]T, bool, error) {
	if len(items) > size {
		return items[:size], true, nil
	}
	return items, false, nil
}

func collect[T any](rows *sql.Rows, scan func(sqlquery.Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// DeliveryBacklog reports the pending deliveries of every client.
func (s *Store) DeliveryBacklog(ctx context.Context) (int64, time.Time, error) {
	var (
		n      int64
		oldest sql.NullInt64
	)
	if err := s.read.QueryRowContext(ctx, sqlquery.BacklogSQL(dialect{})).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, s.readErr(err)
	}
	if !oldest.Valid {
		return n, time.Time{}, nil
	}
	return n, time.UnixMilli(oldest.Int64), nil
}
