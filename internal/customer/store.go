package customer

import (
	"context"
	"strconv"
	"time"
)

// Store is everything custd keeps: internal/sqlite and internal/postgres implement it, and
// both pass the suite in internal/storetest. Each consumer asks only for the role it uses
// (Customers, Idempotency, Accounts, RequestLog, Sessions).
type Store interface {
	Customers
	History
	Webhooks
	FeedConsumers
	Idempotency
	Accounts
	RequestLog
	Sessions
	// Ping reports whether the store answers. Errors: Unavailable.
	Ping(ctx context.Context) error
	// Close releases the store; writes already acknowledged are durable.
	Close() error
}

// Customers keeps the clients' customers. Every method takes the client (tenant)
// explicitly and touches only that client's customers: another client's customer is
// NotFound.
type Customers interface {
	// Customer returns one customer. Errors: NotFound, Unavailable.
	Customer(ctx context.Context, client int64, id int32) (*Customer, error)
	// StoredCustomer returns one customer as stored, not decoded (Stored.Customer decodes
	// it), for readers that can use the document as it is. Errors: NotFound, Unavailable.
	StoredCustomer(ctx context.Context, client int64, id int32) (*Stored, error)
	// SearchCustomers returns one page of the client's customers that match q.
	// Errors: Unavailable.
	SearchCustomers(ctx context.Context, client int64, q *Query) (*Page, error)
	// SearchStored is SearchCustomers with the customers as stored, not decoded, for
	// readers that can use the documents as they are. Errors: Unavailable.
	SearchStored(ctx context.Context, client int64, q *Query) (*StoredPage, error)
	// WriteCustomer creates, replaces or changes one customer in one transaction, by
	// calling Apply. Errors: Invalid, NotFound, Conflict, PreconditionFailed, Unavailable.
	WriteCustomer(ctx context.Context, w *Write) (*Customer, error)
	// WriteCustomers makes many writes in one transaction, each through Apply (by calling
	// ApplyBatch), all or none: an import writes its records a batch at a time. Errors: a
	// *BatchError naming the first write that failed, of its kind; Unavailable.
	WriteCustomers(ctx context.Context, ws []*Write) ([]*Customer, error)
	// Snapshot calls read with a consistent snapshot of the client's customers: however
	// many writes commit while read runs, every walk of the snapshot sees the customers as
	// they were when it was taken, including every write acknowledged before Snapshot was
	// called. Errors: read's, Unavailable.
	Snapshot(ctx context.Context, client int64, read func(*Snapshot) error) error
}

// Idempotency keeps the Idempotency-Keys of requests and the replies they were
// acknowledged with. A write records its reply in its own transaction (Receipt); these
// methods claim keys before a request runs and settle those whose request wrote nothing.
type Idempotency interface {
	// BeginIdempotent claims k for a request about to run. It returns the stored reply
	// when the key already completed for the same request. Errors: IdempotencyMismatch
	// (same key, other request), Conflict (the first request is still running), Unavailable.
	BeginIdempotent(ctx context.Context, k *IdempotencyKey) (*Reply, error)
	// FinishIdempotent records the reply of a claimed key whose request wrote nothing
	// (a write records it through its Receipt otherwise). Errors: Unavailable.
	FinishIdempotent(ctx context.Context, k *IdempotencyKey, r *Reply) error
	// ReleaseIdempotent forgets a claimed key whose request failed for a reason a retry may
	// not meet again (a 5xx), so that the retry runs. Errors: Unavailable.
	ReleaseIdempotent(ctx context.Context, k *IdempotencyKey) error
	// PurgeIdempotency deletes the keys claimed before the given time and reports how many.
	PurgeIdempotency(ctx context.Context, before time.Time) (int64, error)
}

// Accounts keeps the clients (tenants) and their users.
type Accounts interface {
	Logins
	// CreateClient adds a client. Errors: Invalid, Conflict (code taken).
	CreateClient(ctx context.Context, code, name string) (*Client, error)
	// Clients returns every client in order of code. Errors: Unavailable.
	Clients(ctx context.Context) ([]*Client, error)
	// CreateUser adds a user to an existing client.
	// Errors: Invalid, NotFound (no such client), Conflict (username taken).
	CreateUser(ctx context.Context, u *NewUser) (*User, error)
	// Users returns the users of the client whose code is clientCode (matched ignoring
	// letter case), or of every client when it is empty, in order of client code and
	// username. Errors: NotFound (no such client), Unavailable.
	Users(ctx context.Context, clientCode string) ([]*User, error)
	// UpdateUser applies ch to the user that clientCode and username name (ignoring letter
	// case) and returns the user as changed. Errors: Invalid, NotFound, Unavailable.
	UpdateUser(ctx context.Context, clientCode, username string, ch *UserChange) (*User, error)
	// Bootstrap creates the client and user that newUser returns when the store has no
	// user at all (calling newUser only then), and reports whether it did. Safe when
	// several processes start at once.
	Bootstrap(ctx context.Context, clientName string, newUser func() (*NewUser, error)) (bool, error)
}

// Logins finds the user a request's credentials name.
type Logins interface {
	// UserByLogin finds a user by client code and username, both matched ignoring letter
	// case. Disabled users are found too: refusing them is the caller's decision.
	// Errors: NotFound, Unavailable.
	UserByLogin(ctx context.Context, clientCode, username string) (*User, error)
}

// Tx is what Apply needs from a store inside one write transaction. Reads through a Tx see
// the transaction's own writes; a store that runs writers concurrently locks the rows it
// returns so that the checks Apply makes still hold at commit.
type Tx interface {
	// CustomerForUpdate returns a customer and locks it for this transaction.
	// Errors: NotFound.
	CustomerForUpdate(ctx context.Context, client int64, id int32) (*Customer, error)
	// ParentOf returns a customer's is_parent flag and its own parent, and keeps the
	// customer from changing is_parent until commit. Errors: NotFound.
	ParentOf(ctx context.Context, client int64, id int32) (isParent bool, parent *int32, err error)
	// HasChildren reports whether any customer of the client names id as its parent.
	HasChildren(ctx context.Context, client int64, id int32) (bool, error)
	// OwnerOf returns the customer whose unique field (UniqueAccountNumber or
	// UniqueRegistrationCode) has value, or 0.
	OwnerOf(ctx context.Context, client int64, field UniqueField, value string) (int32, error)
	// NextAddressID returns a new, never used address id.
	NextAddressID(ctx context.Context) (int32, error)
	// NextCustomerID returns the id of the customer about to be inserted: never used
	// before by any client, or used only by a write that was rolled back.
	NextCustomerID(ctx context.Context) (int32, error)
	// UseCustomerID takes id, which an imported record carries, for the customer about to
	// be inserted, instead of NextCustomerID: NextCustomerID never returns it afterwards.
	// Errors: Conflict (TakenCustomerID) when a customer of any client has it.
	UseCustomerID(ctx context.Context, id int32) error
	// UseAddressID records that an address keeps id, which an imported record carries:
	// NextAddressID never returns it afterwards.
	UseAddressID(ctx context.Context, id int32) error
	// InsertCustomer stores a new customer, whose Document is doc, and adds v, its first
	// version, to its history and its client's change feed. Errors: Conflict.
	InsertCustomer(ctx context.Context, c *Customer, doc []byte, v *Version) error
	// UpdateCustomer stores next, the new version of cur, which CustomerForUpdate returned
	// in this transaction (a store may write only what differs), and whose Document is
	// doc, and adds v, that version, to the customer's history and its client's change
	// feed. Errors: Conflict.
	UpdateCustomer(ctx context.Context, cur, next *Customer, doc []byte, v *Version) error
	ReplyRecorder
}

// UniqueField names a field that is unique per client when non-empty.
type UniqueField string

// The unique fields.
const (
	UniqueAccountNumber    UniqueField = "account_number"
	UniqueRegistrationCode UniqueField = "registration_code"
)

// Write is one write to one customer.
type Write struct {
	Client int64
	User   int32
	// ID is the customer to change; 0 creates one from Input.
	ID int32
	// Input is the new writable state (POST, PUT). Exactly one of Input and Change is set.
	Input *Writable
	// Change computes the new writable state from the current customer (PATCH, DELETE).
	// It runs inside the transaction; its errors abort the write.
	Change func(current *Customer) (*Writable, error)
	// If is the If-Match precondition, or nil.
	If *Precondition
	// Operation is what history records the write as; when empty, OpCreate for a create
	// and OpReplace otherwise.
	Operation Operation
	// Keep, for an import, holds the server-set members the record carries, which Apply
	// keeps instead of deriving (see ServerFields). With Keep.CustomerID set, ID is 0.
	Keep *ServerFields
	// Actor names the user and the request, for history.
	Actor Actor
	// Receipt records the reply the write is acknowledged with, in its own transaction.
	Receipt Receipt[*Customer]
}

// Receipt records, in a write's own transaction, the reply that acknowledges the write
// under the request's idempotency key, so that a retry of an acknowledged write gets the
// same reply instead of writing again, and a write that rolls back leaves no reply behind.
// Any resource's write can carry one; the zero Receipt records nothing.
//
// The callbacks a write carries (Write.Change, Receipt.Render) run inside the store's
// transaction, with the written rows locked and, on SQLite, the single writer held. They
// must only compute from their argument: no I/O, no store calls, no waiting, and work
// bounded by the size of one customer. An error they return aborts the write, which then
// leaves no trace.
type Receipt[T any] struct {
	Key *IdempotencyKey // nil: no idempotency key, nothing to record
	// Render makes the reply from what the write stored. It is called only when Key is set.
	Render func(T) (*Reply, error)
}

// Record stores the reply to v under r.Key through tx, when r has a key.
func (r Receipt[T]) Record(ctx context.Context, tx ReplyRecorder, v T) error {
	if r.Key == nil {
		return nil
	}
	reply, err := r.Render(v)
	if err != nil {
		return err
	}
	return tx.CompleteIdempotent(ctx, r.Key, reply)
}

// ReplyRecorder is the part of a write transaction that stores idempotent replies.
type ReplyRecorder interface {
	// CompleteIdempotent records the reply of a claimed key.
	CompleteIdempotent(ctx context.Context, k *IdempotencyKey, r *Reply) error
}

// Precondition is a parsed If-Match header.
type Precondition struct {
	Any  bool     // If-Match: *
	Tags []string // strong entity tags, quotes included
}

// Check returns PreconditionFailed unless c's current ETag is one of the tags.
func (p *Precondition) Check(c *Customer) error {
	if p == nil || p.Any {
		return nil
	}
	tag := c.ETag()
	for _, t := range p.Tags {
		if t == tag {
			return nil
		}
	}
	return Errorf(PreconditionFailed, "If-Match does not match the current version of customer %d (its ETag is %s)", c.ID, tag)
}

// ETag returns the strong entity tag of version v of customer id.
func ETag(id int32, v int64) string {
	return `"` + strconv.FormatInt(int64(id), 10) + "-" + strconv.FormatInt(v, 10) + `"`
}

// IdempotencyKey identifies one request by its user and Idempotency-Key, and fingerprints
// what it asked for (method, path, body) to tell a retry from a reuse.
type IdempotencyKey struct {
	User        int32
	Key         string
	Fingerprint string
}

// Reply is the answer a request was acknowledged with, kept under its idempotency key and
// given again to a retry. The domain keeps it as the API made it: a status, the entity tag
// and location of what was written, and the body.
type Reply struct {
	Status   int
	ETag     string
	Location string
	Body     []byte
}

// IdempotencyRecord is what a store holds under an idempotency key.
type IdempotencyRecord struct {
	Fingerprint string
	ClaimedAt   time.Time
	Reply       *Reply // nil while the first request runs
}

// Resolve decides what a new request with key k gets when rec is already stored under
// its key: the stored reply to replay, or take=true when k may claim the key afresh
// (the record expired, or its request died without finishing). Errors:
// IdempotencyMismatch (another request used the key), Conflict (the first request is
// still running).
func (rec *IdempotencyRecord) Resolve(k *IdempotencyKey, now time.Time) (replay *Reply, take bool, err error) {
	age := now.Sub(rec.ClaimedAt)
	switch {
	case age > IdempotencyTTL:
		return nil, true, nil
	case rec.Fingerprint != k.Fingerprint:
		return nil, false, Errorf(IdempotencyMismatch, "Idempotency-Key was already used for a different request (another method, path or body)")
	case rec.Reply != nil:
		return rec.Reply, false, nil
	case age < IdempotencyStale:
		return nil, false, Errorf(Conflict, "a request with this Idempotency-Key is still running; retry after it finishes")
	}
	return nil, true, nil
}

// IdempotencyTTL is how long a reply stays replayable.
const IdempotencyTTL = 24 * time.Hour

// IdempotencyStale is how long a claimed key may stay unfinished before a retry may take
// it over: longer than any request may run, so only a crashed process leaves one.
const IdempotencyStale = 2 * time.Minute

// Query selects and orders customers for a search. Within one filter several values
// match any of them; different filters must all match.
type Query struct {
	IDs               []int32
	AccountNumbers    []string
	ParentIDs         []int32
	AgentIDs          []int32
	SecondaryAgentIDs []int32
	SoldBy            []int32
	CreatedBy         []int32
	BillProfileIDs    []int32
	Statuses          []Status
	Email             string // substring, already Fold-ed
	Name              string // substring, already Fold-ed
	IsParent          *bool
	Suspended         *bool
	Created           TimeRange
	Updated           TimeRange
	Activated         TimeRange
	Closed            TimeRange
	Sort              SortKey
	Descending        bool
	Page              int // from 1
	PageSize          int // from 1 to MaxPageSize
}

// TimeRange is an inclusive range; a nil end is open.
type TimeRange struct{ From, To *time.Time }

// SortKey is a field a search can be ordered by. Ties always break on customer_id in the
// same direction; a customer without a value sorts before all others ascending.
type SortKey string

// The sort keys.
const (
	SortCustomerID    SortKey = "customer_id"
	SortAccountNumber SortKey = "account_number"
	SortCreatedDate   SortKey = "created_date"
	SortUpdatedDate   SortKey = "updated_date"
	SortActivatedDate SortKey = "activated_date"
	SortCloseDate     SortKey = "close_date"
	SortStatus        SortKey = "status"
)

// SortKeys lists every sort key.
var SortKeys = []SortKey{SortCustomerID, SortAccountNumber, SortCreatedDate, SortUpdatedDate, SortActivatedDate, SortCloseDate, SortStatus}

// Page sizes of a search.
const (
	DefaultPageSize = 10
	MaxPageSize     = 500
)

// Page is one page of search results.
type Page struct {
	Customers []*Customer
	HasMore   bool
}

// StoredPage is one page of a search, its customers as stored.
type StoredPage struct {
	Customers []*Stored
	HasMore   bool
}

// Offset is the number of records before the query's page.
func (q *Query) Offset() int { return (q.Page - 1) * q.PageSize }
