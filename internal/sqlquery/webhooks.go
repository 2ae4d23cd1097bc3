package sqlquery

import (
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/custd/custd/internal/customer"
)

// SelectReceiver starts a query of webhook receivers; ScanReceiver reads its rows.
func SelectReceiver(d Dialect) string {
	return `SELECT id, client_id, url, description, status, secret, ` + d.Millis("created_date") + ` FROM webhook_receivers`
}

// receiverColumns are the columns of a receiver, of the table aliased r.
func receiverColumns(d Dialect) string {
	return `r.id, r.client_id, r.url, r.description, r.status, r.secret, ` + d.Millis("r.created_date")
}

// ScanReceiver reads a row of SelectReceiver.
func ScanReceiver(r Scanner) (*customer.Receiver, error) { return scanReceiver(r, nil) }

// scanReceiver reads a receiver's columns, after the columns before them into lead, and
// the columns after them into tail.
func scanReceiver(r Scanner, lead []any, tail ...any) (*customer.Receiver, error) {
	var (
		rc      customer.Receiver
		status  string
		created int64
	)
	dest := append(append(lead, &rc.ID, &rc.ClientID, &rc.URL, &rc.Description, &status, &rc.Secret, &created), tail...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	rc.Status, rc.CreatedDate = customer.ReceiverStatus(status), time.UnixMilli(created).UTC()
	return &rc, nil
}

// SelectSubscription starts a query of webhook subscriptions (aliased s);
// ScanSubscription reads its rows.
func SelectSubscription(d Dialect) string {
	return `SELECT s.id, s.client_id, s.receiver_id, s.event_type, ` + d.Millis("s.created_date") + ` FROM webhook_subscriptions s`
}

// ScanSubscription reads a row of SelectSubscription.
func ScanSubscription(r Scanner) (*customer.Subscription, error) {
	var (
		sub     customer.Subscription
		typ     string
		created int64
	)
	if err := r.Scan(&sub.ID, &sub.ClientID, &sub.ReceiverID, &typ, &created); err != nil {
		return nil, err
	}
	sub.EventType, sub.CreatedDate = customer.EventType(typ), time.UnixMilli(created).UTC()
	return &sub, nil
}

// SelectDelivery starts a query of webhook deliveries (aliased d); ScanDelivery reads
// its rows.
func SelectDelivery(d Dialect) string {
	return `SELECT d.id, d.client_id, d.receiver_id, d.event_id, d.event_type, d.object_id, d.version, d.status, d.attempts, ` +
		d.Millis("d.created_date") + `, ` + d.Millis("d.last_attempt_date") + `, d.last_status_code, d.last_error, ` +
		d.Millis("d.next_attempt_date") + ` FROM webhook_deliveries d`
}

// ScanDelivery reads a row of SelectDelivery.
func ScanDelivery(r Scanner) (*customer.Delivery, error) {
	var (
		dl             customer.Delivery
		typ, status    string
		created        int64
		last, next     sql.NullInt64
		lastStatusCode sql.NullInt32
	)
	if err := r.Scan(&dl.ID, &dl.ClientID, &dl.ReceiverID, &dl.EventID, &typ, &dl.ObjectID, &dl.Version, &status, &dl.Attempts,
		&created, &last, &lastStatusCode, &dl.LastError, &next); err != nil {
		return nil, err
	}
	dl.EventType, dl.Status, dl.CreatedDate = customer.EventType(typ), customer.DeliveryStatus(status), time.UnixMilli(created).UTC()
	dl.LastAttemptDate, dl.NextAttemptDate = optTime(last), optTime(next)
	if lastStatusCode.Valid {
		dl.LastStatusCode = &lastStatusCode.Int32
	}
	return &dl, nil
}

func optTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

// DeliveriesSQL returns the query of a page of the client's deliveries, newest first.
func DeliveriesSQL(d Dialect, client int64, q *customer.DeliveryQuery) (string, []any) {
	b := &builder{d: d}
	b.cond("d.client_id = " + b.arg(client))
	in(b, "d.receiver_id", q.ReceiverIDs)
	statuses := make([]string, len(q.Statuses))
	for i, s := range q.Statuses {
		statuses[i] = string(s)
	}
	in(b, "d.status", statuses)
	in(b, "d.event_id", q.EventIDs)
	return SelectDelivery(d) + " WHERE " + joinConds(b) + " ORDER BY d.id DESC" + PageLimit(q.Page, q.PageSize), b.args
}

// DueDeliveriesSQL returns the query of up to limit pending deliveries that are due at
// now and not leased, each the oldest pending delivery of its receiver and customer, so
// that a customer's events reach a receiver in order; none to the receivers in skip.
func DueDeliveriesSQL(d Dialect, now time.Time, limit int, skip []int32) (string, []any) {
	b := &builder{d: d}
	others := ""
	if len(skip) > 0 {
		ps := make([]string, len(skip))
		for i, r := range skip {
			ps[i] = b.arg(r)
		}
		others = ` AND d.receiver_id NOT IN (` + strings.Join(ps, ", ") + `)`
	}
	return SelectDelivery(d) + ` WHERE d.status = 'PENDING' AND d.next_attempt_date <= ` + b.arg(d.Time(now)) + others + `
		AND (d.lease_until IS NULL OR d.lease_until < ` + b.arg(d.Time(now)) + `)
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.receiver_id = d.receiver_id AND e.object_id = d.object_id
			AND e.status = 'PENDING' AND e.event_id < d.event_id)
		ORDER BY d.next_attempt_date LIMIT ` + b.arg(limit), b.args
}

// ClaimsSQL returns the query of what the attempts of the given deliveries need, in one
// read: each delivery's id, its receiver, and its event with the version before it;
// ScanClaim reads its rows.
func ClaimsSQL(d Dialect, ids []int64) (string, []any) {
	b := &builder{d: d}
	in(b, "d.id", ids)
	return `SELECT d.id, ` + receiverColumns(d) + `, ` + versionColumns(d) + `
		FROM webhook_deliveries d
		JOIN webhook_receivers r ON r.id = d.receiver_id
		JOIN customer_versions v ON v.event_id = d.event_id
		LEFT JOIN customer_versions p ON p.customer_id = v.customer_id AND p.version = v.version - 1
		WHERE ` + joinConds(b), b.args
}

// ScanClaim reads a row of ClaimsSQL: the delivery's id, its receiver and its event, whose
// documents it leaves undecoded (Document, PreviousDocument): the notification is
// rendered from them.
func ScanClaim(r Scanner) (int64, *customer.Receiver, *customer.Version, error) {
	var (
		id   int64
		rest versionScan
	)
	rc, err := scanReceiver(r, []any{&id}, rest.dest()...)
	if err != nil {
		return 0, nil, nil, err
	}
	return id, rc, rest.undecoded(), nil
}

// EventsAfterSQL returns the query of up to limit events of every client after an event
// id, without documents; ScanEvent reads its rows.
func EventsAfterSQL(d Dialect, after int64, limit int) (string, []any) {
	b := &builder{d: d}
	return `SELECT event_id, client_id, customer_id, version, event_type, ` + d.Millis("changed_date") + `
		FROM customer_versions WHERE event_id > ` + b.arg(after) + ` ORDER BY event_id LIMIT ` + b.arg(limit), b.args
}

// ScanEvent reads a row of EventsAfterSQL.
func ScanEvent(r Scanner) (*customer.Version, error) {
	var (
		v       customer.Version
		typ     string
		changed int64
	)
	err := r.Scan(&v.EventID, &v.ClientID, &v.CustomerID, &v.Version, &typ, &changed)
	v.EventType, v.ChangedDate = customer.EventType(typ), time.UnixMilli(changed).UTC()
	return &v, err
}

// ActiveSubscriptionsSQL returns the query of the subscriptions of the clients' active
// receivers.
func ActiveSubscriptionsSQL(d Dialect, clients []int64) (string, []any) {
	b := &builder{d: d}
	in(b, "s.client_id", clients)
	return SelectSubscription(d) + ` JOIN webhook_receivers r ON r.id = s.receiver_id AND r.status = 'ACTIVE' WHERE ` +
		joinConds(b) + ` ORDER BY s.id`, b.args
}

// PageLimit is the LIMIT and OFFSET of a page, asking one record more to learn whether a
// later page has records.
func PageLimit(page, size int) string {
	return " LIMIT " + strconv.Itoa(size+1) + " OFFSET " + strconv.Itoa((page-1)*size)
}

// BacklogSQL is the query of the number of pending deliveries and the creation of the
// oldest, in Unix milliseconds (NULL when none is pending).
func BacklogSQL(d Dialect) string {
	return `SELECT count(*), ` + d.Millis("min(created_date)") + ` FROM webhook_deliveries WHERE status = 'PENDING'`
}
