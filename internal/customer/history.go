package customer

import (
	"context"
	"time"
)

// Operation names the kind of write that made a version.
type Operation string

// The operations.
const (
	OpCreate  Operation = "CREATE"  // POST
	OpReplace Operation = "REPLACE" // PUT
	OpPatch   Operation = "PATCH"   // PATCH
	OpClose   Operation = "CLOSE"   // DELETE
	OpImport  Operation = "IMPORT"  // custd import
)

// Operations lists every operation.
var Operations = []Operation{OpCreate, OpReplace, OpPatch, OpClose, OpImport}

// EventType names what a version tells the systems that follow the change feed.
type EventType string

// The event types.
const (
	EventCreated EventType = "CUSTOMER_CREATED"
	EventUpdated EventType = "CUSTOMER_UPDATED"
	// EventClosed is a write that moved the status to CLOSED; closing a closed customer
	// again is EventUpdated.
	EventClosed EventType = "CUSTOMER_CLOSED"
)

// EventTypes lists every event type.
var EventTypes = []EventType{EventCreated, EventUpdated, EventClosed}

// eventTypeOf is the event a write from cur (nil on create) to next makes.
func eventTypeOf(cur, next *Customer) EventType {
	switch {
	case cur == nil:
		return EventCreated
	case next.Status == StatusClosed && cur.Status != StatusClosed:
		return EventClosed
	}
	return EventUpdated
}

// Version is one version of a customer as the write that made it recorded it, in the
// same transaction: who wrote it, how, and the customer as stored. A version is also the
// customer's event in its client's change feed. Versions are never changed or deleted.
type Version struct {
	ClientID       int64
	CustomerID     int32
	Version        int64
	Operation      Operation
	EventType      EventType
	ChangedDate    time.Time // the customer's updated_date after the write; an import's time for an import
	UserID         int32
	Username       string // "name@clientcode" of the writer
	RequestID      string // "" when the write had none (an import)
	IdempotencyKey string // "" when the write had none
	// EventID is the version's place in the client's change feed, increasing in the order
	// the feed gives. 0 until the store has given it one (see Feed).
	EventID int64
	// Document is the customer as stored (Customer.Document), on write; Customer is it
	// decoded, on read (but see PreviousDocument).
	Document []byte
	Customer *Customer
	// Previous is the version before this one as read with it, for telling what changed;
	// nil for the first version.
	Previous *Customer
	// PreviousDocument is the version before this one as stored, where a read leaves the
	// documents undecoded (Customer and Previous nil): the webhook worker's claims, which
	// render them without decoding. nil for the first version.
	PreviousDocument []byte
}

// Actor names who makes a write and under which request, as history records it beside
// the user's id (Write.User).
type Actor struct {
	Username  string // "name@clientcode"
	RequestID string
}

// newVersion is the version Apply records for the write w from cur (nil on create) to next,
// made at now.
func newVersion(w *Write, cur, next *Customer, doc []byte, now time.Time) *Version {
	op := w.Operation
	if op == "" {
		op = OpReplace
		if cur == nil {
			op = OpCreate
		}
	}
	// A version is dated by the customer's updated_date, except an import's: the record
	// keeps the updated_date it had elsewhere, and the version is when it was imported
	// (never before the version it follows, as updated_date never goes backwards).
	changed := next.UpdatedDate
	if w.Keep != nil {
		changed = now
		if cur != nil && !now.After(cur.UpdatedDate) {
			changed = cur.UpdatedDate.Add(time.Millisecond)
		}
	}
	v := &Version{
		ClientID: next.ClientID, CustomerID: next.ID, Version: next.Version, Operation: op,
		EventType: eventTypeOf(cur, next), ChangedDate: changed, UserID: w.User,
		Username: w.Actor.Username, RequestID: w.Actor.RequestID, Document: doc,
	}
	if w.Receipt.Key != nil {
		v.IdempotencyKey = w.Receipt.Key.Key
	}
	return v
}

// History reads the versions of customers. Every method takes the client explicitly:
// another client's customer is NotFound.
type History interface {
	// CustomerHistory returns one page of a customer's versions, each with the version
	// before it. Errors: NotFound (no such customer), Unavailable.
	CustomerHistory(ctx context.Context, client int64, id int32, q *HistoryQuery) (*VersionPage, error)
	// CustomerVersion returns a customer as one of its versions stored it.
	// Errors: NotFound (no such customer or version), Unavailable.
	CustomerVersion(ctx context.Context, client int64, id int32, version int64) (*Customer, error)
	// Events returns the client's events after q.After in event_id order, each with the
	// version before it. The promise of the change feed: a reader that pages with After
	// from 0 while any number of processes write sees every event exactly once, in
	// event_id order, and never sees an event appear later with a smaller event_id than
	// one it was already given. An event is in the feed at most a few seconds after its
	// write was acknowledged. Errors: Unavailable.
	Events(ctx context.Context, client int64, q *EventQuery) (*VersionPage, error)
}

// HistoryQuery selects a page of a customer's versions.
type HistoryQuery struct {
	Oldest   bool // oldest first; newest first otherwise
	Page     int  // from 1
	PageSize int  // from 1 to MaxPageSize
}

// EventQuery selects events of the change feed.
type EventQuery struct {
	After      int64
	ObjectIDs  []int32
	EventTypes []EventType
	Created    TimeRange
	PageSize   int // from 1 to MaxPageSize
}

// VersionPage is one page of versions.
type VersionPage struct {
	Versions []*Version
	HasMore  bool
}

// PageOfVersions makes a page of size from the versions a store read: up to one more than
// size, the extra one only telling that a later page has records.
func PageOfVersions(vs []*Version, size int) *VersionPage {
	if len(vs) > size {
		return &VersionPage{Versions: vs[:size], HasMore: true}
	}
	return &VersionPage{Versions: vs}
}

// HistoryOf makes the page of a customer's history from the versions a store read for it
// (up to one more than size). Every customer has a version, so none means that the
// customer does not exist, unless the page is past the last one: exists, called only then,
// tells which. Errors: exists's (NotFound).
func HistoryOf(vs []*Version, size int, exists func() error) (*VersionPage, error) {
	if len(vs) == 0 {
		if err := exists(); err != nil {
			return nil, err
		}
	}
	return PageOfVersions(vs, size), nil
}
