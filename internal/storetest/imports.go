package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

// importWrite is the write an import makes of w with the server-set members keep.
func (f *fixture) importWrite(u *customer.User, w customer.Writable, keep customer.ServerFields) *customer.Write {
	if w.Status == "" {
		w.Status = customer.StatusOpen
	}
	return &customer.Write{Client: u.ClientID, User: u.ID, Input: &w, Keep: &keep, Operation: customer.OpImport,
		Actor: customer.Actor{Username: "alice@acme"}}
}

func (f *fixture) versions(u *customer.User, id int32) []*customer.Version {
	f.t.Helper()
	return f.history(u, id, customer.HistoryQuery{Oldest: true, Page: 1, PageSize: 100}).Versions
}

func testImportKeepsServerFields(t *testing.T, f *fixture) {
	created := time.Date(2019, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
	updated := time.Date(2021, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	w := full()
	w.SuspendedDate = ptr(updated.Add(-time.Hour))
	w.ActivatedDate = ptr(created.Add(time.Hour))
	keep := customer.ServerFields{CustomerID: 500, CreatedBy: 77, CreatedDate: created, UpdatedDate: updated, AddressIDs: [3]int32{900, 901, 0}}
	before := customer.Now()
	c, err := f.s.WriteCustomer(f.ctx, f.importWrite(f.acme, w, keep))
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != 500 || c.CreatedBy != 77 || !c.CreatedDate.Equal(created) || !c.UpdatedDate.Equal(updated) || c.Version != 1 ||
		c.BillingAddress.ID != 900 || c.ServiceAddress.ID != 901 || !c.SuspendedDate.Equal(*w.SuspendedDate) ||
		!c.ActivatedDate.Equal(*w.ActivatedDate) || *c.RegistrationCode != "REGCODE1" {
		t.Fatalf("imported customer does not keep its server-set members: %+v", c)
	}
	same(t, f.get(f.acme, 500), c)
	vs := f.versions(f.acme, 500)
	if len(vs) != 1 || vs[0].Operation != customer.OpImport || vs[0].EventType != customer.EventCreated ||
		vs[0].ChangedDate.Before(before) || vs[0].UserID != f.acme.ID {
		t.Fatalf("history of the import: %+v", vs)
	}

	// The ids it kept are never given again: a create gets a larger customer id, and new
	// addresses ids the import did not use.
	n := f.create(f.acme, customer.Writable{BillingAddress: &customer.Address{City: "A"}, ServiceAddress: &customer.Address{City: "B"}})
	if n.ID <= 500 || n.BillingAddress.ID <= 901 || n.ServiceAddress.ID <= 901 {
		t.Fatalf("create after the import: id %d, addresses %d and %d", n.ID, n.BillingAddress.ID, n.ServiceAddress.ID)
	}

	// The same record again stores nothing new: no version, no change.
	again, err := f.s.WriteCustomer(f.ctx, f.importWrite(f.acme, w, keep))
	if err != nil {
		t.Fatal(err)
	}
	same(t, again, c)
	same(t, f.get(f.acme, 500), c)
	if vs := f.versions(f.acme, 500); len(vs) != 1 {
		t.Fatalf("%d versions after importing the same record again, want 1", len(vs))
	}

	// A changed record replaces the customer, keeping the dates it states, even earlier ones.
	w.Email = ptr("new@example.com")
	keep.UpdatedDate = updated.Add(-24 * time.Hour)
	keep.AddressIDs = [3]int32{0, 0, 0}
	got, err := f.s.WriteCustomer(f.ctx, f.importWrite(f.acme, w, keep))
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || *got.Email != "new@example.com" || !got.UpdatedDate.Equal(keep.UpdatedDate) ||
		got.BillingAddress.ID != 900 || got.ServiceAddress.ID != 901 {
		t.Fatalf("imported replace: version %d, updated %v, addresses %d/%d", got.Version, got.UpdatedDate, got.BillingAddress.ID, got.ServiceAddress.ID)
	}
	if vs := f.versions(f.acme, 500); len(vs) != 2 || vs[1].Operation != customer.OpImport || vs[1].EventType != customer.EventUpdated {
		t.Fatalf("history after an imported replace: %+v", vs)
	}

	// Without server-set members, an import creates as a POST does.
	plain, err := f.s.WriteCustomer(f.ctx, f.importWrite(f.acme, customer.Writable{}, customer.ServerFields{}))
	if err != nil || plain.ID <= n.ID || plain.CreatedBy != f.acme.ID || plain.CreatedDate.Before(before) || plain.RegistrationCode == nil {
		t.Fatalf("import without server fields: %v %+v", err, plain)
	}
}

func testImportIDs(t *testing.T, f *fixture) {
	theirs := f.create(f.other, customer.Writable{AccountNumber: ptr("THEIRS")})
	// An id that another client's customer has is refused, and nothing is written.
	_, err := f.s.WriteCustomer(f.ctx, f.importWrite(f.acme, customer.Writable{}, customer.ServerFields{CustomerID: theirs.ID}))
	wantKind(t, err, customer.Conflict, "import with another client's customer id")
	same(t, f.get(f.other, theirs.ID), theirs)
	page, _ := f.s.SearchCustomers(f.ctx, f.acme.ClientID, &customer.Query{Page: 1, PageSize: 10})
	if len(page.Customers) != 0 {
		t.Fatalf("%d customers after a refused import", len(page.Customers))
	}

	// The rules of stored data hold for imports as for any write.
	f.create(f.acme, customer.Writable{AccountNumber: ptr("TAKEN")})
	_, err = f.s.WriteCustomer(f.ctx, f.importWrite(f.acme, customer.Writable{AccountNumber: ptr("TAKEN")}, customer.ServerFields{CustomerID: 40}))
	wantKind(t, err, customer.Conflict, "import with a taken account number")
	_, err = f.s.WriteCustomer(f.ctx, f.importWrite(f.acme, customer.Writable{ParentCustomerID: ptr(int32(41))}, customer.ServerFields{CustomerID: 42}))
	wantField(t, err, "parent_customer_id")
	if _, err := f.s.Customer(f.ctx, f.acme.ClientID, 42); !customer.IsKind(err, customer.NotFound) {
		t.Fatalf("customer 42 after a refused import: %v", err)
	}

	// Server-set members are checked like the others.
	now := customer.Now()
	for _, tc := range []struct {
		field string
		w     customer.Writable
		keep  customer.ServerFields
	}{
		{"customer_id", customer.Writable{}, customer.ServerFields{CustomerID: -3}},
		{"created_by", customer.Writable{}, customer.ServerFields{CreatedBy: -1}},
		{"updated_date", customer.Writable{}, customer.ServerFields{CreatedDate: now, UpdatedDate: now.Add(-time.Second)}},
		{"created_date", customer.Writable{}, customer.ServerFields{CreatedDate: now.Add(time.Hour)}},
		{"billing_address.address_id", customer.Writable{}, customer.ServerFields{AddressIDs: [3]int32{5, 0, 0}}},
		{"service_address.address_id", customer.Writable{BillingAddress: &customer.Address{}, ServiceAddress: &customer.Address{}},
			customer.ServerFields{AddressIDs: [3]int32{5, 5, 0}}},
		{"listing_address.address_id", customer.Writable{ListingAddress: &customer.Address{}}, customer.ServerFields{AddressIDs: [3]int32{0, 0, -5}}},
		{"parent_customer_id", customer.Writable{ParentCustomerID: ptr(int32(43))}, customer.ServerFields{CustomerID: 43}},
	} {
		_, err := f.s.WriteCustomer(f.ctx, f.importWrite(f.acme, tc.w, tc.keep))
		wantField(t, err, tc.field)
	}
}

func testWriteCustomersBatch(t *testing.T, f *fixture) {
	parent := customer.Writable{IsParent: true, AccountNumber: ptr("P-1")}
	child := customer.Writable{ParentCustomerID: ptr(int32(70)), AccountNumber: ptr("C-1")}
	orphan := customer.Writable{ParentCustomerID: ptr(int32(9999))}
	// A batch with one bad write keeps none of them, and names the bad one.
	_, err := f.s.WriteCustomers(f.ctx, []*customer.Write{
		f.importWrite(f.acme, parent, customer.ServerFields{CustomerID: 70}),
		f.importWrite(f.acme, child, customer.ServerFields{CustomerID: 71}),
		f.importWrite(f.acme, orphan, customer.ServerFields{CustomerID: 72}),
	})
	var be *customer.BatchError
	if !errors.As(err, &be) || be.Index != 2 {
		t.Fatalf("batch with a bad third write: %v, want a BatchError at index 2", err)
	}
	wantField(t, err, "parent_customer_id")
	for _, id := range []int32{70, 71, 72} {
		if _, err := f.s.Customer(f.ctx, f.acme.ClientID, id); !customer.IsKind(err, customer.NotFound) {
			t.Fatalf("customer %d after a failed batch: %v", id, err)
		}
	}
	if p := f.events(f.acme, customer.EventQuery{PageSize: 10}); len(p) != 0 {
		t.Fatalf("%d events after a failed batch", len(p))
	}
	// A good batch keeps all, and a write sees those before it in the same batch.
	cs, err := f.s.WriteCustomers(f.ctx, []*customer.Write{
		f.importWrite(f.acme, parent, customer.ServerFields{CustomerID: 70}),
		f.importWrite(f.acme, child, customer.ServerFields{CustomerID: 71}),
		{Client: f.acme.ClientID, User: f.acme.ID, Input: &customer.Writable{Status: customer.StatusOpen, AccountNumber: ptr("P-1")}},
	})
	var ce *customer.BatchError
	if !errors.As(err, &ce) || ce.Index != 2 || !customer.IsKind(err, customer.Conflict) {
		t.Fatalf("batch whose last write takes an account number an earlier one took: %v", err)
	}
	cs, err = f.s.WriteCustomers(f.ctx, []*customer.Write{
		f.importWrite(f.acme, parent, customer.ServerFields{CustomerID: 70}),
		f.importWrite(f.acme, child, customer.ServerFields{CustomerID: 71}),
		{Client: f.acme.ClientID, User: f.acme.ID, Input: &customer.Writable{Status: customer.StatusOpen}},
	})
	if err != nil || len(cs) != 3 || cs[0].ID != 70 || cs[1].ID != 71 || cs[2].ID <= 71 {
		t.Fatalf("good batch: %v %v", err, ids(cs))
	}
	for _, c := range cs {
		same(t, f.get(f.acme, c.ID), c)
	}
	if p := f.events(f.acme, customer.EventQuery{PageSize: 10}); len(p) != 3 {
		t.Fatalf("%d events after a batch of 3", len(p))
	}
}

func testSnapshot(t *testing.T, f *fixture) {
	var want []*customer.Customer
	for range 5 {
		want = append(want, f.create(f.acme, customer.Writable{Email: ptr("a@b.example")}))
	}
	f.create(f.other, customer.Writable{})
	walk := func(s *customer.Snapshot) []*customer.Customer {
		var got []*customer.Customer
		if err := s.Walk(func(c *customer.Customer) error { got = append(got, c); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	err := f.s.Snapshot(f.ctx, f.acme.ClientID, func(s *customer.Snapshot) error {
		if s.Count != 5 {
			t.Fatalf("snapshot count %d, want 5", s.Count)
		}
		first := walk(s)
		// Writes that commit while the snapshot is read are not in it, even in a later walk.
		f.create(f.acme, customer.Writable{})
		if _, err := f.replace(f.acme, want[2].ID, customer.Writable{Status: customer.StatusClosed}, nil); err != nil {
			t.Fatal(err)
		}
		second := walk(s)
		for _, got := range [][]*customer.Customer{first, second} {
			if len(got) != len(want) {
				t.Fatalf("walk gave %v, want %v", ids(got), ids(want))
			}
			for i := range want {
				same(t, got[i], want[i])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	err = f.s.Snapshot(f.ctx, f.acme.ClientID, func(s *customer.Snapshot) error {
		return s.Walk(func(*customer.Customer) error { return stop })
	})
	if !errors.Is(err, stop) {
		t.Fatalf("a walk stopped by its callback returned %v", err)
	}
}
