package customer

import (
	"context"
	"strconv"
	"time"
)

// ServerFields are the members the server sets on a write, as a record being imported
// carries them (custd import, a migration from another system). A write with Keep set
// keeps each of them instead of deriving it; a zero one is derived as on any write. The
// other server-set members (activated_date, close_date, suspended_date,
// registration_code) are part of Writable, which every write keeps when given.
type ServerFields struct {
	// CustomerID names the customer: the client's customer with that id is replaced, or,
	// when the client has none, created with that id. 0 creates one with a new id.
	CustomerID int32
	// CreatedBy is the id of the user who created the customer, in the system the record
	// comes from: a number kept as it is, not a user of this store.
	CreatedBy   int32
	CreatedDate time.Time
	UpdatedDate time.Time
	// AddressIDs are the ids of the billing, service and listing addresses.
	AddressIDs [3]int32
}

// MaxFutureSkew is how far in the future an imported created_date or updated_date may
// lie: the clocks of the system it comes from and of this one may disagree a little.
const MaxFutureSkew = time.Minute

// addressSlots names the address slots in the order of ServerFields.AddressIDs.
var addressSlots = [3]string{"billing_address", "service_address", "listing_address"}

// Validate checks the server-set members of an imported record against w, the record's
// writable part, and records each broken rule in p.
func (k *ServerFields) Validate(p *Problems, w *Writable, now time.Time) {
	if k.CustomerID < 0 {
		p.Add("customer_id", "must be at least 1")
	}
	if k.CreatedBy < 0 {
		p.Add("created_by", "must be at least 1")
	}
	for _, d := range []struct {
		name string
		t    time.Time
	}{{"created_date", k.CreatedDate}, {"updated_date", k.UpdatedDate}} {
		if !d.t.IsZero() && d.t.After(now.Add(MaxFutureSkew)) {
			p.Add(d.name, "must not be in the future")
		}
	}
	if !k.CreatedDate.IsZero() && !k.UpdatedDate.IsZero() && k.UpdatedDate.Before(k.CreatedDate) {
		p.Add("updated_date", "must not be before created_date")
	}
	addresses := [3]*Address{w.BillingAddress, w.ServiceAddress, w.ListingAddress}
	for i, id := range k.AddressIDs {
		path := addressSlots[i] + ".address_id"
		switch {
		case id == 0:
		case id < 0:
			p.Add(path, "must be at least 1")
		case addresses[i] == nil:
			p.Add(path, "is given for an address that is null")
		default:
			for j := range i {
				if k.AddressIDs[j] == id {
					p.Add(path, "must differ from %s.address_id (both are %d)", addressSlots[j], id)
				}
			}
		}
	}
}

// ImportRecord is a customer as an import reads it: its writable part and the server-set
// members it carries.
type ImportRecord struct {
	Writable *Writable
	Keep     ServerFields
}

// Validate checks every rule of the record that needs no stored data, as a write of it
// would, and records each broken one in p.
func (r *ImportRecord) Validate(p *Problems, now time.Time) {
	r.Writable.Validate(p, r.Keep.CustomerID, now)
	r.Keep.Validate(p, r.Writable, now)
}

// BatchError is the error of a batch of writes made in one transaction
// (Customers.WriteCustomers): the write at Index failed with Err, and no write of the
// batch was kept. Its kind is Err's.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string {
	return "write " + strconv.Itoa(e.Index+1) + " of the batch: " + e.Err.Error()
}

func (e *BatchError) Unwrap() error { return e.Err }

// ApplyBatch runs each write through Apply in turn, inside one transaction tx, and
// returns the customers written. Errors: a *BatchError naming the first write that
// failed; the caller rolls the transaction back.
func ApplyBatch(ctx context.Context, tx Tx, ws []*Write, now time.Time) ([]*Customer, error) {
	out := make([]*Customer, len(ws))
	for i, w := range ws {
		c, err := Apply(ctx, tx, w, now)
		if err != nil {
			return nil, &BatchError{Index: i, Err: err}
		}
		out[i] = c
	}
	return out, nil
}

// Stored is a customer as a store keeps it: its Document, and beside it its id, client
// and version.
type Stored struct {
	ID       int32
	ClientID int64
	Version  int64
	Document []byte
}

// Customer decodes it.
func (s *Stored) Customer() (*Customer, error) {
	return FromDocument(s.ID, s.ClientID, s.Version, s.Document)
}

// ETag is the entity tag of the customer it holds, as Customer.ETag.
func (s *Stored) ETag() string { return ETag(s.ID, s.Version) }

// Snapshot is a consistent view of one client's customers, as Customers.Snapshot gives it.
type Snapshot struct {
	// Count is how many customers the snapshot holds.
	Count int
	// Stored calls each with every customer of the snapshot as stored, not decoded, in
	// customer_id order, and returns the first error each returns (then it stops) or the
	// store's. Each Stored and its Document are each's to keep. Every walk of one
	// snapshot sees the same customers, however many writes commit meanwhile.
	Stored func(each func(*Stored) error) error
}

// Walk calls each with every customer of the snapshot, decoded, in customer_id order, and
// returns the first error each returns (then it stops) or the store's.
func (s *Snapshot) Walk(each func(*Customer) error) error {
	return s.Stored(func(st *Stored) error {
		c, err := st.Customer()
		if err != nil {
			return err
		}
		return each(c)
	})
}

// identical reports whether next, about to replace cur, stores exactly what cur does.
func identical(cur, next *Customer) (bool, error) {
	a, err := cur.Document()
	if err != nil {
		return false, err
	}
	b, err := next.Document()
	if err != nil {
		return false, err
	}
	return string(a) == string(b), nil
}

// TakenCustomerID is the Conflict a store's UseCustomerID returns for an id that a
// customer of another client has.
func TakenCustomerID(id int32) error {
	return Errorf(Conflict, "customer_id %d belongs to a customer of another client (customer ids are unique across clients)", id)
}
