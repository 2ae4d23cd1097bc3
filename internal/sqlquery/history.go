package sqlquery

import (
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/custd/custd/internal/customer"
)

// selectVersions reads versions (customer_versions aliased as v) with the document of the
// version before each (p), for telling what changed. changed_date is read as Unix
// milliseconds in every store.
func selectVersions(d Dialect) string { return `SELECT ` + versionColumns(d) + fromVersions }

func versionColumns(d Dialect) string {
	return `v.event_id, v.client_id, v.customer_id, v.version, v.operation, v.event_type, ` +
		d.Millis("v.changed_date") + `, v.user_id, v.username, v.request_id, v.idempotency_key, v.doc, p.doc`
}

const fromVersions = `
		FROM customer_versions v
		LEFT JOIN customer_versions p ON p.customer_id = v.customer_id AND p.version = v.version - 1`

// HistorySQL returns the query of one page of a customer's versions and its parameters.
func HistorySQL(d Dialect, client int64, id int32, q *customer.HistoryQuery) (string, []any) {
	b := &builder{d: d}
	b.cond("v.client_id = " + b.arg(client))
	b.cond("v.customer_id = " + b.arg(id))
	order := " ORDER BY v.version DESC"
	if q.Oldest {
		order = " ORDER BY v.version"
	}
	return selectVersions(d) + " WHERE " + joinConds(b) + order + PageLimit(q.Page, q.PageSize), b.args
}

// VersionSQL returns the query of one version of a customer and its parameters.
func VersionSQL(d Dialect, client int64, id int32, version int64) (string, []any) {
	b := &builder{d: d}
	b.cond("v.client_id = " + b.arg(client))
	b.cond("v.customer_id = " + b.arg(id))
	b.cond("v.version = " + b.arg(version))
	return selectVersions(d) + " WHERE " + joinConds(b), b.args
}

// EventsSQL returns the query of a page of the client's change feed and its parameters.
// Versions a store has not numbered yet (event_id NULL) are not in it.
func EventsSQL(d Dialect, client int64, q *customer.EventQuery) (string, []any) {
	b := &builder{d: d}
	b.cond("v.client_id = " + b.arg(client))
	b.cond("v.event_id > " + b.arg(q.After))
	in(b, "v.customer_id", q.ObjectIDs)
	types := make([]string, len(q.EventTypes))
	for i, t := range q.EventTypes {
		types[i] = string(t)
	}
	in(b, "v.event_type", types)
	if q.Created.From != nil {
		b.cond("v.changed_date >= " + b.arg(d.Time(*q.Created.From)))
	}
	if q.Created.To != nil {
		b.cond("v.changed_date <= " + b.arg(d.Time(*q.Created.To)))
	}
	return selectVersions(d) + " WHERE " + joinConds(b) + " ORDER BY v.event_id LIMIT " + strconv.Itoa(q.PageSize+1), b.args
}

// FeedSQL returns the query of up to limit events of every client after an event id, in
// event_id order, each with its client's code; ScanFeedEvent reads its rows. Versions a
// store has not numbered yet (event_id NULL) are not in it.
func FeedSQL(d Dialect, after int64, limit int) (string, []any) {
	b := &builder{d: d}
	return `SELECT cl.code, ` + versionColumns(d) + fromVersions + `
		JOIN clients cl ON cl.id = v.client_id
		WHERE v.event_id > ` + b.arg(after) + ` ORDER BY v.event_id LIMIT ` + b.arg(limit), b.args
}

// ScanFeedEvent reads a row of FeedSQL.
func ScanFeedEvent(r Scanner) (*customer.FeedEvent, error) {
	var e customer.FeedEvent
	var err error
	e.Event, err = scanVersion(r, &e.ClientCode)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// ScanVersion reads a row of the queries above.
func ScanVersion(r Scanner) (*customer.Version, error) { return scanVersion(r) }

// scanVersion reads a row of versionColumns, after the columns before them into lead.
func scanVersion(r Scanner, lead ...any) (*customer.Version, error) {
	var vs versionScan
	if err := r.Scan(append(lead, vs.dest()...)...); err != nil {
		return nil, err
	}
	return vs.version()
}

// versionScan holds the columns of versionColumns as they are read.
type versionScan struct {
	v                  customer.Version
	eventID            sql.NullInt64
	op, typ            string
	changed            int64
	requestID, idemKey sql.NullString
	prev               []byte
}

// dest returns where a row's versionColumns go.
func (s *versionScan) dest() []any {
	v := &s.v
	return []any{&s.eventID, &v.ClientID, &v.CustomerID, &v.Version, &s.op, &s.typ, &s.changed, &v.UserID, &v.Username,
		&s.requestID, &s.idemKey, &v.Document, &s.prev}
}

// undecoded returns the version read with its customer and the customer before it as
// stored (Document, PreviousDocument), not decoded.
func (s *versionScan) undecoded() *customer.Version {
	v := s.v
	v.EventID, v.Operation, v.EventType = s.eventID.Int64, customer.Operation(s.op), customer.EventType(s.typ)
	v.ChangedDate = time.UnixMilli(s.changed).UTC()
	v.RequestID, v.IdempotencyKey = s.requestID.String, s.idemKey.String
	v.PreviousDocument = s.prev
	return &v
}

// version returns the version read, its customer and the customer before it decoded.
func (s *versionScan) version() (*customer.Version, error) {
	v := *s.undecoded()
	v.PreviousDocument = nil
	var err error
	if v.Customer, err = customer.FromDocument(v.CustomerID, v.ClientID, v.Version, v.Document); err != nil {
		return nil, err
	}
	if s.prev != nil {
		if v.Previous, err = customer.FromDocument(v.CustomerID, v.ClientID, v.Version-1, s.prev); err != nil {
			return nil, err
		}
	}
	return &v, nil
}

// NullIfZero is the column value of an optional text: NULL for "".
func NullIfZero(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func joinConds(b *builder) string { return strings.Join(b.conds, " AND ") }
