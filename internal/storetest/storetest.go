// Package storetest is the conformance suite of customer.Store: every store runs it, so
// every store keeps the same rules, answers the same searches in the same order and
// keeps the same guarantees under concurrency.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/migrate"
)

// Opener opens a new, empty store for one test. reopen opens the same database again
// (after the first store was closed), to check what survives a restart.
type Opener func(t *testing.T) (s customer.Store, reopen func() customer.Store)

// Run runs the whole suite against the stores open makes.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, *fixture)
	}{
		{"CreateAndGet", testCreateAndGet},
		{"TenantIsolation", testTenantIsolation},
		{"ReplaceKeepsServerFields", testReplaceKeepsServerFields},
		{"StatusDates", testStatusDates},
		{"InvalidWriteChangesNothing", testInvalidWriteChangesNothing},
		{"FailureAfterWritingAmongOthers", testFailureAfterWriting},
		{"Precondition", testPrecondition},
		{"ConcurrentIfMatchLosesNoUpdate", testConcurrentIfMatch},
		{"Parents", testParents},
		{"ConcurrentParentAndChild", testConcurrentParentAndChild},
		{"UniqueValues", testUniqueValues},
		{"Search", testSearch},
		{"SearchTextSubstrings", testSearchText},
		{"Idempotency", testIdempotency},
		{"IdempotentWrite", testIdempotentWrite},
		{"ConcurrentIdempotencyClaim", testConcurrentIdempotencyClaim},
		{"ClientsAndUsers", testClientsAndUsers},
		{"ListAndChangeUsers", testListAndChangeUsers},
		{"SchemaReport", testSchemaReport},
		{"ConcurrentBootstrap", testConcurrentBootstrap},
		{"SurvivesReopen", testSurvivesReopen},
		{"History", testHistory},
		{"HistoryOnlyForAcknowledgedWrites", testHistoryOnlyForAcknowledgedWrites},
		{"FeedFilters", testFeedFilters},
		{"FeedConcurrentWriters", testFeedConcurrentWriters},
		{"WebhookRecords", testWebhookRecords},
		{"WebhookFanOut", testWebhookFanOut},
		{"WebhookClaims", testWebhookClaims},
		{"WebhookFanOutClaims", testWebhookFanOutClaims},
		{"WebhookConcurrentClaims", testWebhookConcurrentClaims},
		{"RequestLogRecords", testRequestLogRecords},
		{"RequestLogFilters", testRequestLogFilters},
		{"RequestLogPurge", testRequestLogPurge},
		{"RequestLogPurgeByCustomer", testRequestLogPurgeByCustomer},
		{"FeedClaims", testFeedClaims},
		{"FeedOfEveryClient", testFeedOfEveryClient},
		{"Sessions", testSessions},
		{"CallerOutOfTime", testCallerOutOfTime},
		{"ImportKeepsServerFields", testImportKeepsServerFields},
		{"ImportIDs", testImportIDs},
		{"WriteCustomersBatch", testWriteCustomersBatch},
		{"Snapshot", testSnapshot},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, reopen := open(t)
			f := newFixture(t, s, reopen)
			f.open = open
			tc.fn(t, f)
		})
	}
}

// fixture is a store with two clients, each with one user.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	s      customer.Store
	reopen func() customer.Store
	open   Opener
	acme   *customer.User
	other  *customer.User
}

func newFixture(t *testing.T, s customer.Store, reopen func() customer.Store) *fixture {
	f := &fixture{t: t, ctx: context.Background(), s: s, reopen: reopen}
	f.acme = f.user("acme", "alice")
	f.other = f.user("other", "bob")
	return f
}

// hash is a real bcrypt hash, made once: the suite does not test hashing.
var hash = sync.OnceValue(func() string {
	h, err := customer.HashPassword("correct horse battery")
	if err != nil {
		panic(err)
	}
	return h
})

func (f *fixture) user(code, name string) *customer.User {
	f.t.Helper()
	if _, err := f.s.CreateClient(f.ctx, code, strings.ToUpper(code)+" Inc."); err != nil {
		f.t.Fatalf("CreateClient(%s): %v", code, err)
	}
	u, err := f.s.CreateUser(f.ctx, &customer.NewUser{ClientCode: code, Username: name, Role: customer.RoleAdmin, PasswordHash: hash()})
	if err != nil {
		f.t.Fatalf("CreateUser(%s@%s): %v", name, code, err)
	}
	return u
}

// create stores w for user u and returns the stored customer.
func (f *fixture) create(u *customer.User, w customer.Writable) *customer.Customer {
	f.t.Helper()
	if w.Status == "" {
		w.Status = customer.StatusOpen
	}
	c, err := f.s.WriteCustomer(f.ctx, &customer.Write{Client: u.ClientID, User: u.ID, Input: &w})
	if err != nil {
		f.t.Fatalf("create: %v", err)
	}
	return c
}

func (f *fixture) replace(u *customer.User, id int32, w customer.Writable, pre *customer.Precondition) (*customer.Customer, error) {
	return f.s.WriteCustomer(f.ctx, &customer.Write{Client: u.ClientID, User: u.ID, ID: id, Input: &w, If: pre})
}

func (f *fixture) get(u *customer.User, id int32) *customer.Customer {
	f.t.Helper()
	c, err := f.s.Customer(f.ctx, u.ClientID, id)
	if err != nil {
		f.t.Fatalf("Customer(%d): %v", id, err)
	}
	return c
}

func ptr[T any](v T) *T { return &v }

func wantKind(t *testing.T, err error, k customer.Kind, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want kind %d", what, k)
	}
	if got := customer.KindOf(err); got != k {
		t.Fatalf("%s: got %v (kind %d), want kind %d", what, err, got, k)
	}
}

// wantField checks that err is Invalid and names field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	wantKind(t, err, customer.Invalid, "field "+field)
	var e *customer.Error
	errors.As(err, &e)
	for _, fe := range e.Fields {
		if fe.Field == field {
			return
		}
	}
	t.Fatalf("error %v does not name field %s", err, field)
}

// same compares two customers as stored, by their documents, id, client and version.
func same(t *testing.T, got, want *customer.Customer) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if string(g) != string(w) || got.ID != want.ID || got.ClientID != want.ClientID || got.Version != want.Version {
		t.Fatalf("customers differ:\ngot  (id %d, client %d, version %d) %s\nwant (id %d, client %d, version %d) %s",
			got.ID, got.ClientID, got.Version, g, want.ID, want.ClientID, want.Version, w)
	}
}

// full is a writable customer with every field set.
func full() customer.Writable {
	day := time.Date(2024, 6, 10, 9, 31, 44, 903_000_000, time.UTC)
	later := day.AddDate(1, 0, 0)
	dob := time.Date(1980, 5, 31, 0, 0, 0, 0, time.UTC)
	limit := customer.Money(12_345_6789)
	return customer.Writable{
		BillingAddress: &customer.Address{FirstName: "Ada", LastName: "Lovelace", MiddleInitial: "K", CompanyName: "Analytical Engines",
			Line1: "1 Byron St", Line2: "Floor 2", City: "London", StateOrProvince: "LDN", PostalCode: "01234", PostalCodeExtension: "9", CountryCode: 44},
		ServiceAddress:   &customer.Address{Line1: "2 Service Rd", City: "Leeds"},
		AccountNumber:    ptr("ACC-0001"),
		ActivatedDate:    &day,
		AgentID:          ptr(int32(7)),
		SecondaryAgentID: ptr(int32(8)),
		Email:            ptr("ada@example.com, billing@example.com"),
		RegistrationCode: ptr("REGCODE1"),
		SecurityPIN:      ptr("4321"),
		SoldBy:           ptr(int32(3)),
		Source:           ptr("crm"),
		Status:           customer.StatusOpen,
		AutoDebit:        customer.AutoDebit{Enabled: true, Day: ptr(int32(15)), PaymentAccountID: ptr(int32(99))},
		Finance: customer.Finance{
			BalanceLimit: &limit, BalanceLimitEnabled: true, BillProfileID: ptr(int32(2)),
			BillingMethod: ptr(customer.BillingBoth), CollectionTemplateID: ptr(int32(4)),
			ContractStartDate: &day, ContractEndDate: &later, CycleDate: &day, LateFeesEnabled: true,
			PaymentTermsDays: ptr(int32(30)), PaymentFeesEnabled: true, TaxExemptEnabled: true,
			TaxExemptTypes: ptr("STATE,LOCAL"), UsageFileEnabled: true, UsageFileFormat: ptr("CSV"),
		},
		Profile:                 customer.Profile{Class: ptr(customer.ClassBusiness), DateOfBirth: &dob, Language: ptr("English"), TaxID: ptr("12-3456789")},
		Fields:                  []customer.CustomField{{FieldID: 5, Label: "Region", Value: "North"}, {FieldID: 2, Label: "Tier", Value: "Gold"}},
		Suspended:               true,
		Culture:                 ptr("en-GB"),
		CloseOnNoActiveServices: true,
	}
}

func testCreateAndGet(t *testing.T, f *fixture) {
	before := customer.Now()
	w := full()
	c := f.create(f.acme, w)
	if c.ID < 1 || c.Version != 1 || c.ClientID != f.acme.ClientID || c.CreatedBy != f.acme.ID {
		t.Fatalf("server fields: id %d version %d client %d created_by %d", c.ID, c.Version, c.ClientID, c.CreatedBy)
	}
	if c.CreatedDate.Before(before) || !c.UpdatedDate.Equal(c.CreatedDate) {
		t.Fatalf("created %v updated %v, want both at or after %v", c.CreatedDate, c.UpdatedDate, before)
	}
	if c.SuspendedDate == nil || c.SuspendedDate.Before(before) {
		t.Fatalf("suspended_date = %v, want now", c.SuspendedDate)
	}
	if c.BillingAddress.ID < 1 || c.ServiceAddress.ID < 1 || c.BillingAddress.ID == c.ServiceAddress.ID || c.ListingAddress != nil {
		t.Fatalf("address ids: billing %d service %d", c.BillingAddress.ID, c.ServiceAddress.ID)
	}
	same(t, f.get(f.acme, c.ID), c)

	// Everything written comes back as written.
	want := w
	want.BillingAddress = ptr(*w.BillingAddress)
	want.BillingAddress.ID = c.BillingAddress.ID
	want.ServiceAddress = ptr(*w.ServiceAddress)
	want.ServiceAddress.ID = c.ServiceAddress.ID
	want.SuspendedDate = c.SuspendedDate
	g, _ := json.Marshal(c.Writable)
	e, _ := json.Marshal(want)
	if string(g) != string(e) {
		t.Fatalf("stored writable fields differ:\ngot  %s\nwant %s", g, e)
	}

	// Defaults: a new customer without a code gets a generated one.
	d := f.create(f.acme, customer.Writable{})
	code := *d.RegistrationCode
	if len(code) != customer.RegistrationCodeLength || strings.Trim(code, customer.RegistrationAlphabet) != "" {
		t.Fatalf("generated registration code %q", code)
	}
	if d.ActivatedDate == nil || d.CloseDate != nil || d.SuspendedDate != nil || d.ID == c.ID {
		t.Fatalf("defaults: %+v", d)
	}
	_, err := f.s.Customer(f.ctx, f.acme.ClientID, d.ID+1000)
	wantKind(t, err, customer.NotFound, "missing customer")
}

func testTenantIsolation(t *testing.T, f *fixture) {
	c := f.create(f.acme, customer.Writable{AccountNumber: ptr("SHARED"), Email: ptr("x@acme.com")})
	_, err := f.s.Customer(f.ctx, f.other.ClientID, c.ID)
	wantKind(t, err, customer.NotFound, "other client's customer")
	_, err = f.replace(f.other, c.ID, customer.Writable{Status: customer.StatusClosed}, nil)
	wantKind(t, err, customer.NotFound, "replacing another client's customer")
	page, err := f.s.SearchCustomers(f.ctx, f.other.ClientID, &customer.Query{Page: 1, PageSize: 10, Email: "acme"})
	if err != nil || len(page.Customers) != 0 {
		t.Fatalf("other client's search: %v, %d customers", err, len(page.Customers))
	}
	// Unique values and parents are per client too.
	f.create(f.other, customer.Writable{AccountNumber: ptr("SHARED")})
	_, err = f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.other.ClientID, User: f.other.ID,
		Input: &customer.Writable{Status: customer.StatusOpen, ParentCustomerID: &c.ID}})
	wantField(t, err, "parent_customer_id")
	same(t, f.get(f.acme, c.ID), c)
}

func testReplaceKeepsServerFields(t *testing.T, f *fixture) {
	c := f.create(f.acme, full())
	time.Sleep(2 * time.Millisecond)
	w := full()
	w.RegistrationCode = nil // omitted: keep
	w.BillingAddress.City = "Paris"
	w.ServiceAddress = nil
	w.ListingAddress = &customer.Address{Line1: "3 Listing Ave"}
	got, err := f.replace(f.acme, c.ID, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.RegistrationCode != "REGCODE1" {
		t.Fatalf("registration code %q, want kept", *got.RegistrationCode)
	}
	if got.BillingAddress.ID != c.BillingAddress.ID || got.BillingAddress.City != "Paris" {
		t.Fatalf("billing address %+v, want id %d kept", got.BillingAddress, c.BillingAddress.ID)
	}
	if got.ServiceAddress != nil || got.ListingAddress == nil || got.ListingAddress.ID == c.ServiceAddress.ID || got.ListingAddress.ID == c.BillingAddress.ID {
		t.Fatalf("addresses after replace: service %+v listing %+v", got.ServiceAddress, got.ListingAddress)
	}
	if got.Version != 2 || got.CreatedBy != c.CreatedBy || !got.CreatedDate.Equal(c.CreatedDate) || !got.UpdatedDate.After(c.UpdatedDate) {
		t.Fatalf("server fields after replace: version %d created %v/%d updated %v", got.Version, got.CreatedDate, got.CreatedBy, got.UpdatedDate)
	}
	same(t, f.get(f.acme, c.ID), got)

	// A replace that omits what it does not state resets it to the defaults.
	got, err = f.replace(f.acme, c.ID, customer.Writable{Status: customer.StatusPending, RegistrationCode: ptr("")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.BillingAddress != nil || got.AccountNumber != nil || got.Fields != nil || got.Suspended || got.SuspendedDate != nil ||
		*got.RegistrationCode != "" || got.Finance.BalanceLimit != nil || got.AutoDebit.Enabled {
		t.Fatalf("replace with defaults left %+v", got)
	}
	// updated_date never goes backwards, even for writes within one millisecond.
	prev := got
	for range 5 {
		next, err := f.replace(f.acme, c.ID, customer.Writable{Status: customer.StatusPending}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !next.UpdatedDate.After(prev.UpdatedDate) || next.Version != prev.Version+1 {
			t.Fatalf("write after %v/%d got %v/%d", prev.UpdatedDate, prev.Version, next.UpdatedDate, next.Version)
		}
		prev = next
	}
}

func testStatusDates(t *testing.T, f *fixture) {
	given := time.Date(2020, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	c := f.create(f.acme, customer.Writable{Status: customer.StatusProspect})
	if c.ActivatedDate != nil || c.CloseDate != nil {
		t.Fatalf("prospect: activated %v closed %v", c.ActivatedDate, c.CloseDate)
	}
	c, _ = f.replace(f.acme, c.ID, customer.Writable{Status: customer.StatusClosed}, nil)
	if c.CloseDate == nil || c.ActivatedDate != nil {
		t.Fatalf("closed: close_date %v activated %v", c.CloseDate, c.ActivatedDate)
	}
	c, _ = f.replace(f.acme, c.ID, customer.Writable{Status: customer.StatusClosed, CloseDate: &given}, nil)
	if !c.CloseDate.Equal(given) {
		t.Fatalf("close_date %v, want the given %v", c.CloseDate, given)
	}
	c, _ = f.replace(f.acme, c.ID, customer.Writable{Status: customer.StatusOpen, CloseDate: &given, ActivatedDate: &given}, nil)
	if c.CloseDate != nil || !c.ActivatedDate.Equal(given) {
		t.Fatalf("reopened: close_date %v activated %v", c.CloseDate, c.ActivatedDate)
	}
	c, _ = f.replace(f.acme, c.ID, customer.Writable{Status: customer.StatusOpen, Suspended: true, SuspendedDate: &given}, nil)
	if !c.SuspendedDate.Equal(given) {
		t.Fatalf("suspended_date %v, want the given %v", c.SuspendedDate, given)
	}
	c, _ = f.replace(f.acme, c.ID, customer.Writable{Status: customer.StatusOpen, SuspendedDate: &given}, nil)
	if c.SuspendedDate != nil || c.ActivatedDate == nil {
		t.Fatalf("unsuspended: suspended_date %v activated %v", c.SuspendedDate, c.ActivatedDate)
	}
	// Closing through Change (what DELETE does) keeps the rest.
	closed, err := f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID, ID: c.ID,
		Change: func(cur *customer.Customer) (*customer.Writable, error) {
			w := cur.Writable
			w.Status = customer.StatusClosed
			return &w, nil
		}})
	if err != nil || closed.Status != customer.StatusClosed || closed.CloseDate == nil || !closed.ActivatedDate.Equal(*c.ActivatedDate) {
		t.Fatalf("close: %v %+v", err, closed)
	}
}

func testInvalidWriteChangesNothing(t *testing.T, f *fixture) {
	c := f.create(f.acme, full())
	bad := full()
	bad.AccountNumber = ptr(strings.Repeat("x", customer.MaxAccountNumber+1))
	bad.Email = ptr("not an email")
	bad.SecondaryAgentID, bad.AgentID = ptr(int32(3)), nil
	_, err := f.replace(f.acme, c.ID, bad, nil)
	for _, field := range []string{"account_number", "email", "secondary_agent_id"} {
		wantField(t, err, field)
	}
	// A change that fails halfway (after reading) changes nothing either.
	_, err = f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID, ID: c.ID,
		Change: func(*customer.Customer) (*customer.Writable, error) {
			return nil, customer.Errorf(customer.Conflict, "refused")
		}})
	wantKind(t, err, customer.Conflict, "failed change")
	same(t, f.get(f.acme, c.ID), c)
	// A failed create leaves no customer behind.
	_, err = f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID, Input: &bad})
	wantKind(t, err, customer.Invalid, "invalid create")
	page, _ := f.s.SearchCustomers(f.ctx, f.acme.ClientID, &customer.Query{Page: 1, PageSize: 10})
	if len(page.Customers) != 1 {
		t.Fatalf("%d customers after a failed create, want 1", len(page.Customers))
	}
}

// testFailureAfterWriting makes one of many concurrent writes fail after it has written
// (its response cannot be rendered): it leaves no trace, and the others all succeed.
func testFailureAfterWriting(t *testing.T, f *fixture) {
	c := f.create(f.acme, customer.Writable{})
	var wg sync.WaitGroup
	errs := make([]error, 24)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &customer.Write{Client: f.acme.ClientID, User: f.acme.ID,
				Input: &customer.Writable{Status: customer.StatusOpen, BillingAddress: &customer.Address{City: "Town " + strconv.Itoa(i)},
					AccountNumber: ptr("AFTER-" + strconv.Itoa(i))}}
			if i%2 == 1 {
				w.ID = c.ID // replaces of one customer among the creates
				w.Input.AccountNumber = nil
			}
			if i == 7 || i == 12 {
				k := &customer.IdempotencyKey{User: f.acme.ID, Key: "render-fails-" + strconv.Itoa(i), Fingerprint: "fp"}
				if _, err := f.s.BeginIdempotent(f.ctx, k); err != nil {
					errs[i] = err
					return
				}
				w.Receipt = customer.Receipt[*customer.Customer]{Key: k, Render: func(*customer.Customer) (*customer.Reply, error) { return nil, errors.New("cannot render") }}
			}
			_, errs[i] = f.s.WriteCustomer(f.ctx, w)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 7 || i == 12) != (err != nil) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	page, err := f.s.SearchCustomers(f.ctx, f.acme.ClientID, &customer.Query{Page: 1, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var accounts []string
	for _, c := range page.Customers {
		if c.AccountNumber != nil {
			accounts = append(accounts, *c.AccountNumber)
		}
	}
	if len(page.Customers) != 12 || slices.Contains(accounts, "AFTER-12") || !slices.Contains(accounts, "AFTER-10") {
		t.Fatalf("%d customers, account numbers %v: want the 11 successful creates and the replaced one", len(page.Customers), accounts)
	}
	if got := f.get(f.acme, c.ID); got.Version != 1+11 {
		t.Fatalf("replaced customer at version %d, want %d (11 replaces, the failed one not counted)", got.Version, 12)
	}
}

func testPrecondition(t *testing.T, f *fixture) {
	c := f.create(f.acme, customer.Writable{})
	stale := &customer.Precondition{Tags: []string{c.ETag()}}
	next, err := f.replace(f.acme, c.ID, customer.Writable{Status: customer.StatusPending}, stale)
	if err != nil {
		t.Fatalf("matching If-Match: %v", err)
	}
	_, err = f.replace(f.acme, c.ID, customer.Writable{Status: customer.StatusClosed}, stale)
	wantKind(t, err, customer.PreconditionFailed, "stale If-Match")
	same(t, f.get(f.acme, c.ID), next)
	if _, err := f.replace(f.acme, c.ID, customer.Writable{Status: customer.StatusOpen}, &customer.Precondition{Any: true}); err != nil {
		t.Fatalf("If-Match *: %v", err)
	}
	_, err = f.replace(f.acme, c.ID+99, customer.Writable{Status: customer.StatusOpen}, &customer.Precondition{Any: true})
	wantKind(t, err, customer.NotFound, "If-Match * on a missing customer")
	_, err = f.replace(f.acme, c.ID, customer.Writable{Status: customer.StatusOpen}, &customer.Precondition{Tags: []string{}})
	wantKind(t, err, customer.PreconditionFailed, "If-Match with no strong tag")
}

// testConcurrentIfMatch runs read-modify-write loops from several writers on one
// customer: with If-Match, no increment is lost.
func testConcurrentIfMatch(t *testing.T, f *fixture) {
	const writers, increments = 8, 15
	c := f.create(f.acme, customer.Writable{Fields: []customer.CustomField{{FieldID: 1, Label: "counter", Value: "0"}}})
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := 0; done < increments; {
				cur, err := f.s.Customer(f.ctx, f.acme.ClientID, c.ID)
				if err != nil {
					errs <- err
					return
				}
				n, _ := strconv.Atoi(cur.Fields[0].Value)
				w := cur.Writable
				w.Fields = []customer.CustomField{{FieldID: 1, Label: "counter", Value: strconv.Itoa(n + 1)}}
				_, err = f.replace(f.acme, c.ID, w, &customer.Precondition{Tags: []string{cur.ETag()}})
				switch {
				case err == nil:
					done++
				case customer.IsKind(err, customer.PreconditionFailed):
				default:
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := f.get(f.acme, c.ID)
	if got.Fields[0].Value != strconv.Itoa(writers*increments) || got.Version != 1+writers*increments {
		t.Fatalf("counter %s at version %d, want %d at version %d", got.Fields[0].Value, got.Version, writers*increments, 1+writers*increments)
	}
}

func testParents(t *testing.T, f *fixture) {
	plain := f.create(f.acme, customer.Writable{})
	parent := f.create(f.acme, customer.Writable{IsParent: true})
	write := func(id int32, w customer.Writable) (*customer.Customer, error) {
		if w.Status == "" {
			w.Status = customer.StatusOpen
		}
		return f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID, ID: id, Input: &w})
	}
	_, err := write(0, customer.Writable{ParentCustomerID: ptr(parent.ID + 1000)})
	wantField(t, err, "parent_customer_id")
	_, err = write(0, customer.Writable{ParentCustomerID: &plain.ID})
	wantField(t, err, "parent_customer_id")
	_, err = write(parent.ID, customer.Writable{IsParent: true, ParentCustomerID: &parent.ID})
	wantField(t, err, "parent_customer_id")
	child, err := write(0, customer.Writable{ParentCustomerID: &parent.ID, IsParent: true})
	if err != nil {
		t.Fatalf("valid parent: %v", err)
	}
	grandchild, err := write(0, customer.Writable{ParentCustomerID: &child.ID})
	if err != nil {
		t.Fatalf("child as parent: %v", err)
	}
	// parent -> child -> grandchild; making child's child the parent's parent is a cycle.
	_, err = write(parent.ID, customer.Writable{IsParent: true, ParentCustomerID: &child.ID})
	wantField(t, err, "parent_customer_id")
	_, err = write(parent.ID, customer.Writable{IsParent: false})
	wantKind(t, err, customer.Conflict, "un-parenting a customer with children")
	if !f.get(f.acme, parent.ID).IsParent {
		t.Fatal("is_parent changed despite the conflict")
	}
	// Once no child points at it, it may stop being a parent.
	if _, err := write(child.ID, customer.Writable{IsParent: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := write(parent.ID, customer.Writable{IsParent: false}); err != nil {
		t.Fatalf("un-parenting a childless customer: %v", err)
	}
	_ = grandchild
}

// testConcurrentParentAndChild races a customer losing is_parent against another
// customer naming it as parent: never may both succeed.
func testConcurrentParentAndChild(t *testing.T, f *fixture) {
	for i := range 10 {
		parent := f.create(f.acme, customer.Writable{IsParent: true})
		var wg sync.WaitGroup
		var unparentErr, childErr error
		var child *customer.Customer
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, unparentErr = f.replace(f.acme, parent.ID, customer.Writable{Status: customer.StatusOpen}, nil)
		}()
		go func() {
			defer wg.Done()
			child, childErr = f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID,
				Input: &customer.Writable{Status: customer.StatusOpen, ParentCustomerID: &parent.ID}})
		}()
		wg.Wait()
		if unparentErr == nil && childErr == nil {
			t.Fatalf("round %d: customer %d stopped being a parent while customer %d became its child", i, parent.ID, child.ID)
		}
		if unparentErr != nil && childErr != nil {
			t.Fatalf("round %d: both failed: %v; %v", i, unparentErr, childErr)
		}
	}
}

func testUniqueValues(t *testing.T, f *fixture) {
	a := f.create(f.acme, customer.Writable{AccountNumber: ptr("A-1"), RegistrationCode: ptr("CODE1")})
	b := f.create(f.acme, customer.Writable{AccountNumber: ptr(""), RegistrationCode: ptr("")})
	f.create(f.acme, customer.Writable{AccountNumber: ptr(""), RegistrationCode: ptr("")}) // empty values are not unique
	for _, w := range []customer.Writable{
		{Status: customer.StatusOpen, AccountNumber: ptr("A-1")},
		{Status: customer.StatusOpen, RegistrationCode: ptr("CODE1")},
	} {
		_, err := f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID, Input: &w})
		wantKind(t, err, customer.Conflict, "duplicate on create")
		_, err = f.replace(f.acme, b.ID, w, nil)
		wantKind(t, err, customer.Conflict, "duplicate on replace")
	}
	// Keeping one's own value is no conflict; the values are case-sensitive.
	if _, err := f.replace(f.acme, a.ID, customer.Writable{Status: customer.StatusOpen, AccountNumber: ptr("A-1")}, nil); err != nil {
		t.Fatal(err)
	}
	f.create(f.acme, customer.Writable{AccountNumber: ptr("a-1")})
	// A value freed by one customer can be taken by another.
	if _, err := f.replace(f.acme, a.ID, customer.Writable{Status: customer.StatusOpen, AccountNumber: ptr("A-2")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.replace(f.acme, b.ID, customer.Writable{Status: customer.StatusOpen, AccountNumber: ptr("A-1")}, nil); err != nil {
		t.Fatalf("taking a freed account number: %v", err)
	}
	// Concurrent creates with one account number: exactly one wins.
	var wg sync.WaitGroup
	results := make(chan error, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID,
				Input: &customer.Writable{Status: customer.StatusOpen, AccountNumber: ptr("RACE")}})
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		if err == nil {
			won++
		} else if !customer.IsKind(err, customer.Conflict) {
			t.Fatalf("concurrent duplicate: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent creates with one account number succeeded, want 1", won)
	}
}

func testClientsAndUsers(t *testing.T, f *fixture) {
	_, err := f.s.CreateClient(f.ctx, "ACME", "again")
	wantKind(t, err, customer.Conflict, "client code differing only in case")
	_, err = f.s.CreateClient(f.ctx, "no spaces", "x")
	wantKind(t, err, customer.Invalid, "bad client code")
	_, err = f.s.CreateUser(f.ctx, &customer.NewUser{ClientCode: "nope", Username: "x", Role: customer.RoleReadOnly, PasswordHash: hash()})
	wantKind(t, err, customer.NotFound, "user of a missing client")
	_, err = f.s.CreateUser(f.ctx, &customer.NewUser{ClientCode: "Acme", Username: "ALICE", Role: customer.RoleReadOnly, PasswordHash: hash()})
	wantKind(t, err, customer.Conflict, "username differing only in case")
	u, err := f.s.CreateUser(f.ctx, &customer.NewUser{ClientCode: "acme", Username: "Carol", Role: customer.RoleReadOnly, PasswordHash: hash()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.s.UserByLogin(f.ctx, "ACME", "carol")
	if err != nil || got.ID != u.ID || got.ClientID != f.acme.ClientID || got.ClientCode != "acme" || got.Username != "Carol" ||
		got.Role != customer.RoleReadOnly || got.PasswordHash != hash() || got.Disabled || !got.CreatedAt.Equal(u.CreatedAt) ||
		time.Since(got.CreatedAt) > time.Minute {
		t.Fatalf("UserByLogin: %v %+v (created %+v)", err, got, u)
	}
	_, err = f.s.UserByLogin(f.ctx, "other", "carol")
	wantKind(t, err, customer.NotFound, "user of another client")
	if err := f.s.Ping(f.ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	// Users exist, so Bootstrap does nothing and does not even build its user.
	created, err := f.s.Bootstrap(f.ctx, "Demo", func() (*customer.NewUser, error) {
		return nil, errors.New("must not be called")
	})
	if created || err != nil {
		t.Fatalf("Bootstrap on a store with users: %v %v", created, err)
	}
}

func testListAndChangeUsers(t *testing.T, f *fixture) {
	if _, err := f.s.CreateClient(f.ctx, "Beta", "Beta Networks"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"zed", "Carol"} {
		if _, err := f.s.CreateUser(f.ctx, &customer.NewUser{ClientCode: "acme", Username: name, Role: customer.RoleReadOnly, PasswordHash: hash()}); err != nil {
			t.Fatal(err)
		}
	}
	clients, err := f.s.Clients(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, c := range clients {
		codes = append(codes, c.Code+"/"+c.Name)
		if c.ID == 0 || c.CreatedAt.IsZero() {
			t.Errorf("client %+v lacks its id or creation time", c)
		}
	}
	if want := []string{"acme/ACME Inc.", "Beta/Beta Networks", "other/OTHER Inc."}; !slices.Equal(codes, want) {
		t.Fatalf("Clients: %v, want %v (in order of code, ignoring case)", codes, want)
	}
	logins := func(clientCode string) []string {
		t.Helper()
		us, err := f.s.Users(f.ctx, clientCode)
		if err != nil {
			t.Fatalf("Users(%q): %v", clientCode, err)
		}
		var out []string
		for _, u := range us {
			out = append(out, u.Login()+"/"+string(u.Role))
		}
		return out
	}
	if got, want := logins(""), []string{"alice@acme/admin", "Carol@acme/readonly", "zed@acme/readonly", "bob@other/admin"}; !slices.Equal(got, want) {
		t.Fatalf("Users of every client: %v, want %v", got, want)
	}
	if got, want := logins("ACME"), []string{"alice@acme/admin", "Carol@acme/readonly", "zed@acme/readonly"}; !slices.Equal(got, want) {
		t.Fatalf("Users of acme: %v, want %v", got, want)
	}
	if got := logins("beta"); len(got) != 0 {
		t.Fatalf("Users of a client without users: %v", got)
	}
	_, err = f.s.Users(f.ctx, "nope")
	wantKind(t, err, customer.NotFound, "users of a missing client")

	// Each change sets what it names and keeps the rest.
	role, yes, no := customer.RoleReadWrite, true, false
	u, err := f.s.UpdateUser(f.ctx, "Acme", "CAROL", &customer.UserChange{Role: &role})
	if err != nil || u.Login() != "Carol@acme" || u.Role != role || u.Disabled || u.PasswordHash != hash() {
		t.Fatalf("set role: %v %+v", err, u)
	}
	if u, err = f.s.UpdateUser(f.ctx, "acme", "carol", &customer.UserChange{Disabled: &yes}); err != nil || !u.Disabled || u.Role != role {
		t.Fatalf("disable: %v %+v", err, u)
	}
	got, err := f.s.UserByLogin(f.ctx, "acme", "carol")
	if err != nil || !got.Disabled || got.Role != role {
		t.Fatalf("a disabled user is still found, marked disabled: %v %+v", err, got)
	}
	newHash := "$2a$04$" + strings.Repeat("x", 53)
	if u, err = f.s.UpdateUser(f.ctx, "acme", "carol", &customer.UserChange{Disabled: &no, PasswordHash: &newHash}); err != nil || u.Disabled || u.PasswordHash != newHash {
		t.Fatalf("enable and reset the password: %v %+v", err, u)
	}
	if got, err = f.s.UserByLogin(f.ctx, "acme", "carol"); err != nil || got.Disabled || got.PasswordHash != newHash || got.Role != role {
		t.Fatalf("after enable and reset: %v %+v", err, got)
	}
	// Only that user changed.
	if got, err = f.s.UserByLogin(f.ctx, "acme", "zed"); err != nil || got.Disabled || got.Role != customer.RoleReadOnly || got.PasswordHash != hash() {
		t.Fatalf("another user changed: %v %+v", err, got)
	}

	bad := customer.Role("root")
	_, err = f.s.UpdateUser(f.ctx, "acme", "carol", &customer.UserChange{Role: &bad})
	wantField(t, err, "role")
	empty := ""
	_, err = f.s.UpdateUser(f.ctx, "acme", "carol", &customer.UserChange{PasswordHash: &empty})
	wantField(t, err, "password")
	_, err = f.s.UpdateUser(f.ctx, "other", "carol", &customer.UserChange{Disabled: &yes})
	wantKind(t, err, customer.NotFound, "change of a user of another client")
	_, err = f.s.UpdateUser(f.ctx, "nope", "alice", &customer.UserChange{Disabled: &yes})
	wantKind(t, err, customer.NotFound, "change of a user of a missing client")
}

// testSchemaReport: a new store reports every migration applied; opened again, none.
func testSchemaReport(t *testing.T, f *fixture) {
	type reporter interface{ Schema() migrate.Report }
	r, ok := f.s.(reporter)
	if !ok {
		t.Fatalf("%T does not report its schema", f.s)
	}
	first := r.Schema()
	if first.Version < 2 || len(first.Applied) != first.Version || !strings.HasPrefix(first.Applied[0], "0001_") {
		t.Fatalf("a new store's schema report: %+v", first)
	}
	if err := f.s.Close(); err != nil {
		t.Fatal(err)
	}
	s := f.reopen()
	defer s.Close()
	if again := s.(reporter).Schema(); again.Version != first.Version || len(again.Applied) != 0 {
		t.Fatalf("reopened store's schema report: %+v, want version %d and nothing applied", again, first.Version)
	}
}

func testConcurrentBootstrap(t *testing.T, f *fixture) {
	// The fixture's store has users already: open an empty one.
	s, _ := f.open(t)
	defer s.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.Bootstrap(f.ctx, "Demo", func() (*customer.NewUser, error) {
				return &customer.NewUser{ClientCode: "demo", Username: "admin", Role: customer.RoleAdmin, PasswordHash: hash()}, nil
			})
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				created++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if created != 1 {
		t.Fatalf("%d bootstraps created the first user, want 1", created)
	}
	if u, err := s.UserByLogin(f.ctx, "demo", "admin"); err != nil || u.Role != customer.RoleAdmin {
		t.Fatalf("bootstrapped user: %v %+v", err, u)
	}
}

func testSurvivesReopen(t *testing.T, f *fixture) {
	c := f.create(f.acme, full())
	c.AccountNumber, c.RegistrationCode = nil, ptr("")
	c, err := f.replace(f.acme, c.ID, c.Writable, nil) // free the unique values for the next create
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.Close(); err != nil {
		t.Fatal(err)
	}
	s := f.reopen()
	defer s.Close()
	got, err := s.Customer(f.ctx, f.acme.ClientID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, c)
	if _, err := s.UserByLogin(f.ctx, "acme", "alice"); err != nil {
		t.Fatal(err)
	}
	// Ids handed out before the restart are never handed out again.
	d, err := s.WriteCustomer(f.ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID, Input: ptr(full())})
	if err != nil {
		t.Fatal(err)
	}
	if d.ID == c.ID || d.BillingAddress.ID == c.BillingAddress.ID || d.BillingAddress.ID == c.ServiceAddress.ID ||
		d.ServiceAddress.ID == c.BillingAddress.ID || d.ServiceAddress.ID == c.ServiceAddress.ID {
		t.Fatalf("ids after a restart: customer %d, addresses %d and %d; before: %d, %d and %d", d.ID,
			d.BillingAddress.ID, d.ServiceAddress.ID, c.ID, c.BillingAddress.ID, c.ServiceAddress.ID)
	}
}

// testCallerOutOfTime: a call whose caller's deadline has passed fails as Unavailable (the
// store did not answer in time; an HTTP 503), one whose caller went away fails with
// context.Canceled, and neither writes.
func testCallerOutOfTime(t *testing.T, f *fixture) {
	c := f.create(f.acme, full())
	expired, cancel := context.WithDeadline(f.ctx, time.Now().Add(-time.Second))
	defer cancel()
	gone, cancelGone := context.WithCancel(f.ctx)
	cancelGone()
	for _, ctx := range []context.Context{expired, gone} {
		check := func(what string, err error) {
			t.Helper()
			if ctx == gone {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("%s for a caller that went away: %v, want context.Canceled", what, err)
				}
				return
			}
			wantKind(t, err, customer.Unavailable, what+" after the deadline")
		}
		_, err := f.s.Customer(ctx, f.acme.ClientID, c.ID)
		check("Customer", err)
		_, err = f.s.SearchCustomers(ctx, f.acme.ClientID, &customer.Query{Page: 1, PageSize: 10})
		check("SearchCustomers", err)
		_, err = f.s.SearchStored(ctx, f.acme.ClientID, &customer.Query{Page: 1, PageSize: 10})
		check("SearchStored", err)
		w := full()
		w.Status = customer.StatusOpen
		_, err = f.s.WriteCustomer(ctx, &customer.Write{Client: f.acme.ClientID, User: f.acme.ID, ID: c.ID, Input: &w})
		check("WriteCustomer", err)
		_, err = f.s.BeginIdempotent(ctx, &customer.IdempotencyKey{User: f.acme.ID, Key: "k", Fingerprint: "f"})
		check("BeginIdempotent", err)
		_, err = f.s.UserByLogin(ctx, "acme", "alice")
		check("UserByLogin", err)
		check("Ping", f.s.Ping(ctx))
	}
	if got := f.get(f.acme, c.ID); got.Version != c.Version {
		t.Fatalf("a write without time left changed the customer: version %d, was %d", got.Version, c.Version)
	}
}
