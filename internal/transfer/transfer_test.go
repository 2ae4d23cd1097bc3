package transfer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
	"github.com/custd/custd/internal/postgres"
	"github.com/custd/custd/internal/postgres/pgtest"
	"github.com/custd/custd/internal/sqlite"
	"github.com/custd/custd/internal/transfer"
)

// store is a store with a client and its admin, as an import needs.
type store struct {
	customer.Store
	user *customer.User
}

type opener func(t *testing.T) customer.Store

var stores = map[string]opener{
	"sqlite": func(t *testing.T) customer.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "custd.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	},
	"postgres": func(t *testing.T) customer.Store {
		s, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	},
}

// eachStore runs test on a SQLite store and, when CUSTD_TEST_POSTGRES is set, a
// PostgreSQL one.
func eachStore(t *testing.T, test func(t *testing.T, open func() *store)) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			test(t, func() *store { return newStore(t, stores[name](t)) })
		})
	}
}

func newStore(t *testing.T, s customer.Store) *store {
	ctx := context.Background()
	if _, err := s.CreateClient(ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, &customer.NewUser{ClientCode: "acme", Username: "admin", Role: customer.RoleAdmin, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return &store{Store: s, user: u}
}

func ptr[T any](v T) *T { return &v }

// seed writes customers through the API's write path that exercise the wire form: every
// member set on some, null or empty texts on others, texts of quotation marks, custom
// fields of many ids, closed and suspended ones, and parents named by customers created
// before them.
func (s *store) seed(t *testing.T, n int) {
	t.Helper()
	ctx := context.Background()
	day := time.Date(2024, 6, 10, 9, 31, 44, 903_000_000, time.UTC)
	write := func(w *customer.Write) *customer.Customer {
		t.Helper()
		w.Client, w.User = s.user.ClientID, s.user.ID
		c, err := s.WriteCustomer(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var made []*customer.Customer
	for i := range n {
		w := customer.Writable{Status: customer.StatusOpen}
		switch i % 7 {
		case 0:
			limit := customer.Money(1_234_500 * int64(i+1))
			w = customer.Writable{
				BillingAddress: &customer.Address{FirstName: "Ada", LastName: fmt.Sprint("Lovelace ", i), CompanyName: "Engines, \"Analytical\"",
					Line1: "1 Byron St", City: "London", PostalCode: "01234", CountryCode: 44},
				ServiceAddress: &customer.Address{Line1: "2 Service Rd\u00e9"},
				ListingAddress: &customer.Address{},
				AccountNumber:  ptr(fmt.Sprint("ACC-", i)), ActivatedDate: &day, AgentID: ptr(int32(7)), SecondaryAgentID: ptr(int32(8)),
				Email: ptr(fmt.Sprintf("a%d@example.com, b@example.com", i)), RegistrationCode: ptr(fmt.Sprint("REG", i)),
				SecurityPIN: ptr("4321"), SoldBy: ptr(int32(3)), Source: ptr("crm\nimport"), Status: customer.StatusOpen,
				AutoDebit: customer.AutoDebit{Enabled: true, Day: ptr(int32(15)), PaymentAccountID: ptr(int32(99))},
				Finance: customer.Finance{BalanceLimit: &limit, BalanceLimitEnabled: true, BillProfileID: ptr(int32(2)),
					BillingMethod: ptr(customer.BillingBoth), ContractStartDate: &day, CycleDate: &day, PaymentTermsDays: ptr(int32(30)),
					TaxExemptTypes: ptr("STATE,LOCAL"), UsageFileFormat: ptr("CSV")},
				Profile: customer.Profile{Class: ptr(customer.ClassBusiness), DateOfBirth: ptr(time.Date(1980, 5, 31, 0, 0, 0, 0, time.UTC)),
					Language: ptr("English"), TaxID: ptr("12-3456789")},
				Fields:    []customer.CustomField{{FieldID: 5, Label: "Region", Value: "North"}, {FieldID: 2, Label: "", Value: ""}},
				Suspended: true, Culture: ptr("en-GB"), CloseOnNoActiveServices: true,
			}
		case 1:
			// Empty texts, which must stay apart from null, and texts of quotation marks.
			w.AccountNumber, w.Email, w.Source, w.SecurityPIN = ptr(""), ptr(""), ptr(`""`), ptr(`"`)
			w.RegistrationCode = ptr("")
			w.Fields = []customer.CustomField{{FieldID: 2, Label: `"""`, Value: "x"}, {FieldID: int32(100 + i), Label: "Only", Value: ""}}
		case 2:
			w.Status = customer.StatusClosed
		case 3:
			w.Status, w.IsParent = customer.StatusProspect, true
		case 4:
			w.Status = customer.StatusPending
			w.BillingAddress = &customer.Address{CompanyName: "Only a company"}
		}
		made = append(made, write(&customer.Write{Input: &w}))
	}
	// Children named after their parents were created, so that some children come
	// before their parents in customer_id order: some parents are themselves children.
	for i, c := range made {
		if i%7 != 3 || i < 7 {
			continue
		}
		parent := made[i-7] // a parent (i-7 ≡ 3)
		for _, child := range []*customer.Customer{made[i-2], made[i-5]} {
			w := child.Writable
			w.ParentCustomerID = &c.ID
			if child == made[i-5] {
				w.ParentCustomerID = &parent.ID
			}
			write(&customer.Write{ID: child.ID, Input: &w})
		}
		w := parent.Writable
		w.ParentCustomerID = &c.ID // the older parent goes below the newer one
		write(&customer.Write{ID: parent.ID, Input: &w})
		made[i-7] = parent
	}
}

func (s *store) export(t *testing.T, format transfer.Format) []byte {
	t.Helper()
	records, _ := httpapi.NewRecords(httpapi.TimeRFC3339)
	var b bytes.Buffer
	n, err := transfer.Export(context.Background(), s, s.user.ClientID, format, records, &b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if format == transfer.JSONL && n != bytes.Count(b.Bytes(), []byte("\n")) {
		t.Fatalf("export said %d customers, wrote %d lines", n, bytes.Count(b.Bytes(), []byte("\n")))
	}
	return b.Bytes()
}

func (s *store) importer() *transfer.Importer {
	return &transfer.Importer{Store: s, Client: s.user.ClientID, User: s.user.ID, Username: s.user.Login(), BatchSize: 50}
}

func source(format transfer.Format, data []byte) transfer.Source {
	return transfer.Source{Name: "test", Format: format, Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

// load validates and writes a file, from the start.
func (s *store) load(t *testing.T, format transfer.Format, data []byte) (int, error) {
	t.Helper()
	im := s.importer()
	plan, err := im.Validate(context.Background(), source(format, data))
	if err != nil {
		return 0, err
	}
	return im.Write(context.Background(), source(format, data), plan, transfer.Resume{})
}

func (s *store) versions(t *testing.T) int {
	t.Helper()
	n := 0
	after := int64(0)
	for {
		p, err := s.Events(context.Background(), s.user.ClientID, &customer.EventQuery{After: after, PageSize: 500})
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Versions)
		if !p.HasMore {
			return n
		}
		after = p.Versions[len(p.Versions)-1].EventID
	}
}

// TestRoundTrip: export, import into an empty store, export again: the same bytes, in
// both formats, on both stores; importing the file again changes nothing.
func TestRoundTrip(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() *store) {
		src := open()
		src.seed(t, 120)
		for _, format := range []transfer.Format{transfer.JSONL, transfer.CSV} {
			t.Run(string(format), func(t *testing.T) {
				first := src.export(t, format)
				dst := open()
				n, err := dst.load(t, format, first)
				if err != nil {
					t.Fatal(err)
				}
				if n != 120 {
					t.Fatalf("wrote %d records, want 120", n)
				}
				if second := dst.export(t, format); !bytes.Equal(first, second) {
					t.Fatalf("the export of the imported store differs:\n%s", firstDifference(first, second))
				}
				events := dst.versions(t)
				if events != 120 {
					t.Fatalf("%d versions after importing 120 customers into an empty store", events)
				}
				// The same file again: the same customers, and no new version.
				if _, err := dst.load(t, format, first); err != nil {
					t.Fatal(err)
				}
				if again := dst.export(t, format); !bytes.Equal(first, again) {
					t.Fatalf("importing the file again changed the customers:\n%s", firstDifference(first, again))
				}
				if n := dst.versions(t); n != events {
					t.Fatalf("%d versions after importing the same file again, want %d", n, events)
				}
			})
		}
	})
}

// firstDifference shows the first line where two files differ.
func firstDifference(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\nwant %s\ngot  %s", i+1, x, y)
		}
	}
	return "(they differ only in length)"
}

// records makes n records in the wire form, with ids, as an export of another store.
func records(n int) [][]byte {
	enc, _ := httpapi.NewRecords(httpapi.TimeRFC3339)
	created := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	out := make([][]byte, n)
	for i := range n {
		c := &customer.Customer{ID: int32(1000 + i), CreatedBy: 9, CreatedDate: created.Add(time.Duration(i) * time.Minute),
			UpdatedDate: created.Add(time.Duration(i)*time.Minute + time.Hour), Writable: customer.Writable{
				Status: customer.StatusOpen, ActivatedDate: &created, AccountNumber: ptr(fmt.Sprint("N-", i)),
				RegistrationCode: ptr(fmt.Sprint("R", i)), Email: ptr(fmt.Sprintf("c%d@example.com", i)),
				BillingAddress: &customer.Address{ID: int32(5000 + i), LastName: fmt.Sprint("Name", i)},
			}}
		b, err := enc.JSON(c)
		if err != nil {
			panic(err)
		}
		out[i] = b
	}
	return out
}

func jsonl(lines [][]byte) []byte { return append(bytes.Join(lines, []byte("\n")), '\n') }

// TestInvalidRecordsWriteNothing: 10,000 records with 3 invalid ones write nothing and
// name the 3 lines; with them fixed, all 10,000 load.
func TestInvalidRecordsWriteNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() *store) {
		s := open()
		lines := records(10_000)
		good := slices.Clone(lines)
		lines[16] = bytes.Replace(lines[16], []byte(`"c16@example.com"`), []byte(`"not an email"`), 1)
		lines[4999] = bytes.Replace(lines[4999], []byte(`"status":"OPEN"`), []byte(`"status":"OPEN","staus":1`), 1)
		lines[9998] = bytes.Replace(lines[9998], []byte(`"status":"OPEN"`), []byte(`"status":"ALL"`), 1)
		_, err := s.load(t, transfer.JSONL, jsonl(lines))
		var bad *transfer.InvalidRecords
		if !errors.As(err, &bad) || bad.Count != 3 {
			t.Fatalf("import of 3 invalid records among 10,000: %v", err)
		}
		want := []struct {
			line  int
			field string
		}{{17, "email"}, {5000, "staus"}, {9999, "status"}}
		for i, w := range want {
			var e *customer.Error
			if r := bad.Records[i]; r.Line != w.line || !errors.As(r.Err, &e) || e.Fields[0].Field != w.field {
				t.Errorf("invalid record %d: line %d %v, want line %d naming %s", i, r.Line, r.Err, w.line, w.field)
			}
		}
		msg := err.Error()
		for _, w := range []string{"3 records are invalid; nothing was written", "line 17: email must be a valid email address",
			"line 5000: staus is not a member", "line 9999: status ALL is only a search value"} {
			if !strings.Contains(msg, w) {
				t.Errorf("the error does not say %q:\n%s", w, msg)
			}
		}
		if n := s.versions(t); n != 0 {
			t.Fatalf("%d versions after a refused import", n)
		}
		s.importer()
		im := s.importer()
		im.BatchSize = 1000
		plan, err := im.Validate(context.Background(), source(transfer.JSONL, jsonl(good)))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := im.Write(context.Background(), source(transfer.JSONL, jsonl(good)), plan, transfer.Resume{}); err != nil || n != 10_000 {
			t.Fatalf("fixed file: %d written, %v", n, err)
		}
		page, err := s.SearchCustomers(context.Background(), s.user.ClientID, &customer.Query{Page: 20, PageSize: 500})
		if err != nil || len(page.Customers) != 500 || page.HasMore || page.Customers[499].ID != 10_999 {
			t.Fatalf("last page after the import: %v, %d customers", err, len(page.Customers))
		}
	})
}

// TestInterruptedImportResumes: an import stopped between batches has written whole
// batches only, and goes on from its resume point without writing anything twice, even
// records without ids, which would otherwise be created again.
func TestInterruptedImportResumes(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() *store) {
		s := open()
		var lines [][]byte
		for i := range 250 {
			lines = append(lines, fmt.Appendf(nil, `{"email":"n%d@example.com","status":"PROSPECT"}`, i))
		}
		file := jsonl(lines)
		im := s.importer()
		plan, err := im.Validate(context.Background(), source(transfer.JSONL, file))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var at transfer.Resume
		im.Committed = func(r transfer.Resume) {
			at = r
			if r.Written == 100 {
				cancel() // Ctrl-C while the third batch is on its way
			}
		}
		n, err := im.Write(ctx, source(transfer.JSONL, file), plan, transfer.Resume{})
		if !errors.Is(err, context.Canceled) || n != 100 || at != (transfer.Resume{Pass: 1, Line: 100, Written: 100}) {
			t.Fatalf("interrupted import: %d written, resume %+v, %v", n, at, err)
		}
		if got := s.count(t); got != 100 {
			t.Fatalf("%d customers after an interrupted import, want the 2 whole batches", got)
		}
		im.Committed = nil
		if n, err := im.Write(context.Background(), source(transfer.JSONL, file), plan, at); err != nil || n != 150 {
			t.Fatalf("resumed import: %d written, %v", n, err)
		}
		if got := s.count(t); got != 250 {
			t.Fatalf("%d customers after the resumed import, want 250", got)
		}
	})
}

func (s *store) count(t *testing.T) int {
	t.Helper()
	n := 0
	err := s.Snapshot(context.Background(), s.user.ClientID, func(snap *customer.Snapshot) error { n = snap.Count; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStoredRuleStopsAtItsBatch: a record that only stored data refuses (an account
// number an earlier record took) stops the import at its batch, which is not written,
// naming its line; the batches before it are written.
func TestStoredRuleStopsAtItsBatch(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() *store) {
		s := open()
		lines := records(300)
		lines[169] = bytes.Replace(lines[169], []byte(`"account_number":"N-169"`), []byte(`"account_number":"N-19"`), 1)
		_, err := s.load(t, transfer.JSONL, jsonl(lines))
		var we *transfer.WriteError
		if !errors.As(err, &we) || we.Line != 170 || we.Written != 150 || !customer.IsKind(err, customer.Conflict) ||
			!strings.Contains(err.Error(), `line 170: account_number "N-19" is already used by customer 1019`) {
			t.Fatalf("import with a taken account number at line 170: %v", err)
		}
		if got := s.count(t); got != 150 {
			t.Fatalf("%d customers, want the 3 batches before line 170's", got)
		}
	})
}

// TestCSVFiles: the header is checked whole, a custom field's problem is named by its
// column, rows with another number of cells are invalid, a byte order mark is ignored.
func TestCSVFiles(t *testing.T) {
	s := newStore(t, stores["sqlite"](t))
	_, err := s.load(t, transfer.CSV, []byte("customer_id,emial,status,status,fields[x].label,fields[3].name\n1,a,OPEN,OPEN,,\n"))
	for _, want := range []string{"the header row is invalid", "emial: is not a column", "status: is given twice",
		"fields[x].label: is not a column", "fields[3].name: is not a column"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("bad header: %v, want %q", err, want)
		}
	}
	file := "\uFEFFaccount_number,status,fields[7].label,fields[7].value,billing_address.city,close_on_no_active_services\n" +
		"A-1,OPEN,Tier," + strings.Repeat("x", customer.MaxFieldValue+1) + ",,\n" +
		"A-2,OPEN,,,Paris,TRUE\n" +
		"A-3,OPEN\n" +
		"A-4,OPEN,,,,maybe\n" +
		"\xffA-5,OPEN,,,\"Par\tis\",\n"
	_, err = s.load(t, transfer.CSV, []byte(file))
	for _, want := range []string{"4 records are invalid", "line 2: fields[7].value must be at most 4000 characters",
		"line 4: the row has 2 cells, the header 6", "line 5: close_on_no_active_services must be true or false",
		"line 6: billing_address.city must not contain control characters such as line breaks; account_number must be valid UTF-8 text"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("bad rows: %v, want %q", err, want)
		}
	}
	if _, err := s.load(t, transfer.CSV, []byte("\uFEFFaccount_number,status,billing_address.city,close_on_no_active_services\nA-2,OPEN,Paris,TRUE\n")); err != nil {
		t.Fatal(err)
	}
	page, _ := s.SearchCustomers(context.Background(), s.user.ClientID, &customer.Query{Page: 1, PageSize: 10})
	if len(page.Customers) != 1 || page.Customers[0].BillingAddress.City != "Paris" || !page.Customers[0].CloseOnNoActiveServices || page.Customers[0].RegistrationCode == nil ||
		*page.Customers[0].RegistrationCode == "" {
		t.Fatalf("imported row: %+v", page.Customers)
	}
}
