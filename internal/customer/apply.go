package customer

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"
)

// Now returns the current time as custd stores it: UTC, whole milliseconds.
func Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// maxAncestors bounds the walk up a parent chain when looking for a cycle.
const maxAncestors = 10_000

// Apply performs w inside tx: it loads and locks the current customer, checks the
// precondition, computes and validates the new state, enforces the rules that need stored
// data (parents, uniqueness) and the server-maintained fields, writes, records the new
// version in the history and the change feed, and records the idempotent reply. Every
// store runs writes through Apply, so the rules live here once.
//
// A write with Keep (an import) keeps the server-set members its record carries, validated
// like the rest; when it would store exactly what the customer already holds, Apply writes
// nothing, records no version, and returns the customer as it is.
//
// Errors: Invalid, NotFound, Conflict, PreconditionFailed, and the store's own.
func Apply(ctx context.Context, tx Tx, w *Write, now time.Time) (*Customer, error) {
	var cur *Customer
	self := w.ID
	switch {
	case w.ID != 0:
		var err error
		if cur, err = tx.CustomerForUpdate(ctx, w.Client, w.ID); err != nil {
			return nil, err
		}
	case w.Keep != nil && w.Keep.CustomerID > 0:
		// An imported record with an id replaces that customer, or creates it.
		self = w.Keep.CustomerID
		var err error
		if cur, err = tx.CustomerForUpdate(ctx, w.Client, self); IsKind(err, NotFound) {
			cur, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	if cur != nil {
		if err := w.If.Check(cur); err != nil {
			return nil, err
		}
	}
	in := w.Input
	if w.Change != nil {
		var err error
		if in, err = w.Change(cur); err != nil {
			return nil, err
		}
	}
	if in == nil {
		return nil, fmt.Errorf("customer write without input")
	}
	var p Problems
	in.Validate(&p, self, now)
	if w.Keep != nil {
		w.Keep.Validate(&p, in, now)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	next, err := derive(ctx, tx, cur, in, w, now)
	if err != nil {
		return nil, err
	}
	keepAddressIDs(cur, next, w.Keep)
	if w.Keep != nil && cur != nil {
		// Importing what is already stored changes nothing: a file imported again, or an
		// import resumed over records it had written, leaves no new version behind.
		same, err := identical(cur, next)
		if err != nil || same {
			return cur, err
		}
	}
	// Everything that can refuse the write is checked before anything is written, so a
	// refused write leaves no trace even in a store that runs several writes in one
	// transaction without savepoints.
	if err := checkStored(ctx, tx, cur, next); err != nil {
		return nil, err
	}
	if cur == nil {
		if next.ID != 0 {
			err = tx.UseCustomerID(ctx, next.ID)
		} else {
			next.ID, err = tx.NextCustomerID(ctx)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := assignAddressIDs(ctx, tx, next, w.Keep); err != nil {
		return nil, err
	}
	doc, err := next.Document()
	if err != nil {
		return nil, err
	}
	// The version is stored with the customer, in the write's transaction: an
	// acknowledged write has its history and its event, and a write that is not has
	// neither.
	v := newVersion(w, cur, next, doc, now)
	if cur == nil {
		err = tx.InsertCustomer(ctx, next, doc, v)
	} else {
		err = tx.UpdateCustomer(ctx, cur, next, doc, v)
	}
	if err != nil {
		return nil, err
	}
	if err := w.Receipt.Record(ctx, tx, next); err != nil {
		return nil, err
	}
	return next, nil
}

// derive builds the customer to store from the current one (nil on create) and the
// validated input, applying the server-maintained rules of the contract.
func derive(ctx context.Context, tx Tx, cur *Customer, in *Writable, w *Write, now time.Time) (*Customer, error) {
	next := &Customer{Writable: *in, ClientID: w.Client}
	// Enumerated values are matched ignoring letter case and stored as the contract
	// spells them.
	next.Status, _ = ParseEnum(string(in.Status), Statuses)
	if m := in.Finance.BillingMethod; m != nil {
		bm, _ := ParseEnum(string(*m), BillingMethods)
		next.Finance.BillingMethod = &bm
	}
	if c := in.Profile.Class; c != nil {
		cl, _ := ParseEnum(string(*c), Classes)
		next.Profile.Class = &cl
	}
	next.Fields = append([]CustomField(nil), in.Fields...)
	if cur == nil {
		next.CreatedBy = w.User
		next.CreatedDate = now
		next.UpdatedDate = now
		next.Version = 1
	} else {
		next.ID = cur.ID
		next.CreatedBy = cur.CreatedBy
		next.CreatedDate = cur.CreatedDate
		next.Version = cur.Version + 1
		// updated_date never goes backwards, even if clocks of several processes disagree.
		next.UpdatedDate = now
		if !now.After(cur.UpdatedDate) {
			next.UpdatedDate = cur.UpdatedDate.Add(time.Millisecond)
		}
	}
	if next.RegistrationCode == nil {
		if cur != nil {
			next.RegistrationCode = cur.RegistrationCode
		} else {
			code, err := newRegistrationCode(ctx, tx, w.Client)
			if err != nil {
				return nil, err
			}
			next.RegistrationCode = &code
		}
	}
	if k := w.Keep; k != nil {
		if cur == nil {
			next.ID = k.CustomerID // 0: a new id, given when the customer is stored
		}
		if k.CreatedBy != 0 {
			next.CreatedBy = k.CreatedBy
		}
		switch {
		case !k.CreatedDate.IsZero():
			next.CreatedDate = k.CreatedDate
		case cur == nil && !k.UpdatedDate.IsZero():
			next.CreatedDate = k.UpdatedDate // created no later than last updated
		}
		if !k.UpdatedDate.IsZero() {
			next.UpdatedDate = k.UpdatedDate
		}
		if next.UpdatedDate.Before(next.CreatedDate) {
			next.UpdatedDate = next.CreatedDate
		}
	}
	if next.Status == StatusOpen && next.ActivatedDate == nil {
		next.ActivatedDate = &now
	}
	if next.Status != StatusClosed {
		next.CloseDate = nil
	} else if next.CloseDate == nil {
		next.CloseDate = &now
	}
	if !next.Suspended {
		next.SuspendedDate = nil
	} else if next.SuspendedDate == nil {
		next.SuspendedDate = &now
	}
	return next, nil
}

// keepAddressIDs gives each address of next the id it keeps: the one the imported record
// carries (keep), else the one its slot had in cur. A new address is left with 0.
func keepAddressIDs(cur, next *Customer, keep *ServerFields) {
	// Each address slot keeps its id while it holds an address.
	var held [3]*Address
	if cur != nil {
		held = [3]*Address{cur.BillingAddress, cur.ServiceAddress, cur.ListingAddress}
	}
	for i, slot := range []**Address{&next.BillingAddress, &next.ServiceAddress, &next.ListingAddress} {
		if *slot == nil {
			continue
		}
		a := **slot
		a.ID = 0
		switch {
		case keep != nil && keep.AddressIDs[i] != 0:
			a.ID = keep.AddressIDs[i]
		case held[i] != nil:
			a.ID = held[i].ID
		}
		*slot = &a
	}
}

// assignAddressIDs gives each new address of next a new id, and tells the store of the
// ids an import keeps, so that it never gives them to another address.
func assignAddressIDs(ctx context.Context, tx Tx, next *Customer, keep *ServerFields) error {
	for i, a := range []*Address{next.BillingAddress, next.ServiceAddress, next.ListingAddress} {
		if a == nil {
			continue
		}
		var err error
		switch {
		case keep != nil && keep.AddressIDs[i] != 0:
			err = tx.UseAddressID(ctx, a.ID)
		case a.ID == 0:
			a.ID, err = tx.NextAddressID(ctx)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkStored enforces the rules that depend on other customers.
func checkStored(ctx context.Context, tx Tx, cur, next *Customer) error {
	if pid := next.ParentCustomerID; pid != nil && (cur == nil || cur.ParentCustomerID == nil || *cur.ParentCustomerID != *pid) {
		isParent, up, err := tx.ParentOf(ctx, next.ClientID, *pid)
		if IsKind(err, NotFound) {
			return Problems{{Field: "parent_customer_id", Message: fmt.Sprintf("must name an existing customer (there is no customer %d)", *pid)}}.Err()
		}
		if err != nil {
			return err
		}
		if !isParent {
			return Problems{{Field: "parent_customer_id", Message: fmt.Sprintf("must name a customer whose is_parent is true (customer %d's is false)", *pid)}}.Err()
		}
		// A new customer has no descendants; an existing one must not become its own
		// ancestor.
		for n := 0; cur != nil && up != nil; n++ {
			if *up == next.ID || n == maxAncestors {
				return Problems{{Field: "parent_customer_id", Message: fmt.Sprintf("would make a cycle: customer %d is below customer %d", *pid, next.ID)}}.Err()
			}
			if _, up, err = tx.ParentOf(ctx, next.ClientID, *up); err != nil {
				return err
			}
		}
	}
	if cur != nil && cur.IsParent && !next.IsParent {
		has, err := tx.HasChildren(ctx, next.ClientID, next.ID)
		if err != nil {
			return err
		}
		if has {
			return Errorf(Conflict, "is_parent cannot become false while other customers name customer %d as their parent", next.ID)
		}
	}
	for _, u := range []struct {
		field    UniqueField
		next     *string
		previous *string
	}{
		{UniqueAccountNumber, next.AccountNumber, accountNumberOf(cur)},
		{UniqueRegistrationCode, next.RegistrationCode, registrationCodeOf(cur)},
	} {
		if u.next == nil || *u.next == "" || (u.previous != nil && *u.previous == *u.next) {
			continue
		}
		owner, err := tx.OwnerOf(ctx, next.ClientID, u.field, *u.next)
		if err != nil {
			return err
		}
		if owner != 0 && owner != next.ID {
			return Errorf(Conflict, "%s %q is already used by customer %d", u.field, *u.next, owner)
		}
	}
	return nil
}

func accountNumberOf(c *Customer) *string {
	if c == nil {
		return nil
	}
	return c.AccountNumber
}

func registrationCodeOf(c *Customer) *string {
	if c == nil {
		return nil
	}
	return c.RegistrationCode
}

// RegistrationAlphabet is the alphabet of generated registration codes: upper-case letters
// and digits without the look-alikes 0/O, 1/I/L.
const RegistrationAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// RegistrationCodeLength is the length of a generated registration code.
const RegistrationCodeLength = 12

// newRegistrationCode returns a random code not yet used by the client.
func newRegistrationCode(ctx context.Context, tx Tx, client int64) (string, error) {
	for range 5 {
		code := RandomString(RegistrationAlphabet, RegistrationCodeLength)
		owner, err := tx.OwnerOf(ctx, client, UniqueRegistrationCode, code)
		if err != nil {
			return "", err
		}
		if owner == 0 {
			return code, nil
		}
	}
	return "", fmt.Errorf("no free registration code after 5 tries")
}

// RandomString returns n characters drawn uniformly from alphabet by a CSPRNG.
func RandomString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[randIntn(len(alphabet))]
	}
	return string(b)
}

func randIntn(n int) int {
	// Rejection sampling keeps every character equally likely.
	limit := 256 - 256%n
	var one [1]byte
	for {
		if _, err := rand.Read(one[:]); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		if int(one[0]) < limit {
			return int(one[0]) % n
		}
	}
}
