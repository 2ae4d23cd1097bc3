package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/migrate"
	"github.com/custd/custd/internal/postgres/pgtest"
	"github.com/custd/custd/internal/sqlquery"
)

// These tests cover what is PostgreSQL's own: migrations, several processes on one
// database, the mapping of server failures, and that indexes serve every search. The
// rules every store keeps are in internal/storetest (postgres_test.go runs it).

func openStore(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// setup returns a store on a new database with one client and one user.
func setup(t *testing.T) (*Store, string, *customer.User) {
	url := pgtest.NewDatabase(t)
	s := openStore(t, url)
	ctx := context.Background()
	if _, err := s.CreateClient(ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, &customer.NewUser{ClientCode: "acme", Username: "alice", Role: customer.RoleAdmin, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return s, url, u
}

func create(t *testing.T, s *Store, u *customer.User, w customer.Writable) *customer.Customer {
	t.Helper()
	if w.Status == "" {
		w.Status = customer.StatusOpen
	}
	c, err := s.WriteCustomer(context.Background(), &customer.Write{Client: u.ClientID, User: u.ID, Input: &w})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	url := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	applied := make([]int, len(errs))
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), url)
			if err == nil {
				applied[i] = len(s.Schema().Applied)
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	s := openStore(t, url)
	var n, version int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &version); err != nil {
		t.Fatal(err)
	}
	ms, err := migrate.Load(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || version != len(ms) {
		t.Fatalf("schema_migrations has %d rows up to version %d, want one row for each of the %d migrations", n, version, len(ms))
	}
	// One of the processes applied them all; the others found them applied.
	slices.Sort(applied)
	if !slices.Equal(applied, []int{0, 0, 0, len(ms)}) {
		t.Fatalf("migrations applied by each Open: %v", applied)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	url := pgtest.NewDatabase(t)
	s := openStore(t, url)
	if _, err := s.pool.Exec(context.Background(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, '0099_future.sql', now())`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(context.Background(), url)
	if err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("Open of a schema at version 99: %v, want a refusal naming the version", err)
	}
}

// TestTwoProcesses runs the races of the conformance suite across two stores on one
// database, as two custd processes would.
func TestTwoProcesses(t *testing.T) {
	a, url, u := setup(t)
	b := openStore(t, url)
	ctx := context.Background()
	stores := []*Store{a, b}

	t.Run("IdempotencyClaim", func(t *testing.T) {
		for round := range 5 {
			k := customer.IdempotencyKey{User: u.ID, Key: fmt.Sprintf("two-%d", round), Fingerprint: "fp"}
			var mu sync.Mutex
			claimed, running := 0, 0
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					kk := k
					r, err := stores[i%2].BeginIdempotent(ctx, &kk)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil && r == nil:
						claimed++
					case customer.IsKind(err, customer.Conflict):
						running++
					default:
						t.Errorf("claim: %v %v", r, err)
					}
				}()
			}
			wg.Wait()
			if claimed != 1 || running != 7 {
				t.Fatalf("round %d: %d claims and %d running, want 1 and 7", round, claimed, running)
			}
		}
	})

	t.Run("IdempotentWriteThenReplay", func(t *testing.T) {
		// Two identical requests: the one that claims writes; the other, on the other
		// process, gets the recorded response once the first finished.
		k := &customer.IdempotencyKey{User: u.ID, Key: "write-once", Fingerprint: "fp"}
		if r, err := a.BeginIdempotent(ctx, k); r != nil || err != nil {
			t.Fatalf("claim: %v %v", r, err)
		}
		if _, err := b.BeginIdempotent(ctx, k); !customer.IsKind(err, customer.Conflict) {
			t.Fatalf("second claim while the first runs: %v, want Conflict", err)
		}
		c, err := a.WriteCustomer(ctx, &customer.Write{Client: u.ClientID, User: u.ID, Input: &customer.Writable{Status: customer.StatusOpen},
			Receipt: customer.Receipt[*customer.Customer]{Key: k, Render: func(c *customer.Customer) (*customer.Reply, error) {
				return &customer.Reply{Status: 201, ETag: c.ETag(), Body: []byte("created")}, nil
			}}})
		if err != nil {
			t.Fatal(err)
		}
		r, err := b.BeginIdempotent(ctx, k)
		if err != nil || r == nil || r.Status != 201 || r.ETag != c.ETag() || string(r.Body) != "created" {
			t.Fatalf("replay on the other process: %v %+v", err, r)
		}
	})

	t.Run("ParentAndChild", func(t *testing.T) {
		for i := range 10 {
			parent := create(t, a, u, customer.Writable{IsParent: true})
			var wg sync.WaitGroup
			var unparentErr, childErr error
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, unparentErr = a.WriteCustomer(ctx, &customer.Write{Client: u.ClientID, User: u.ID, ID: parent.ID,
					Input: &customer.Writable{Status: customer.StatusOpen}})
			}()
			go func() {
				defer wg.Done()
				_, childErr = b.WriteCustomer(ctx, &customer.Write{Client: u.ClientID, User: u.ID,
					Input: &customer.Writable{Status: customer.StatusOpen, ParentCustomerID: &parent.ID}})
			}()
			wg.Wait()
			if (unparentErr == nil) == (childErr == nil) {
				t.Fatalf("round %d: un-parenting: %v; adding a child: %v; want exactly one to succeed", i, unparentErr, childErr)
			}
		}
	})

	t.Run("CrossedParents", func(t *testing.T) {
		// Making two customers each other's parent at once deadlocks on the row locks:
		// each write holds its own customer FOR UPDATE (the barrier in Change makes sure
		// both do) and asks for the other's FOR SHARE. PostgreSQL aborts one; its retry
		// finds the cycle.
		for i := range 2 {
			x := create(t, a, u, customer.Writable{IsParent: true})
			y := create(t, a, u, customer.Writable{IsParent: true})
			var locked, wg sync.WaitGroup
			locked.Add(2)
			errs := make([]error, 2)
			for j, pair := range [][2]int32{{x.ID, y.ID}, {y.ID, x.ID}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var once sync.Once
					_, errs[j] = stores[j].WriteCustomer(ctx, &customer.Write{Client: u.ClientID, User: u.ID, ID: pair[0],
						Change: func(*customer.Customer) (*customer.Writable, error) {
							once.Do(func() { locked.Done(); locked.Wait() })
							return &customer.Writable{Status: customer.StatusOpen, IsParent: true, ParentCustomerID: &pair[1]}, nil
						}})
				}()
			}
			wg.Wait()
			failed := 0
			for _, err := range errs {
				if err != nil {
					if !customer.IsKind(err, customer.Invalid) || !strings.Contains(err.Error(), "cycle") {
						t.Fatalf("round %d: %v, want a cycle refused as Invalid", i, err)
					}
					failed++
				}
			}
			if failed != 1 {
				t.Fatalf("round %d: %d of the two crossed writes failed, want 1", i, failed)
			}
		}
	})

	t.Run("UniqueRace", func(t *testing.T) {
		// Writers that all find an account number free (the barrier in Change lets none
		// of them read before all are ready) race to insert it; the unique index refuses
		// all but one, and their retries fail with the message a serial write gets.
		const writers = 4
		var ready, wg sync.WaitGroup
		ready.Add(writers)
		errs := make([]error, writers)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var once sync.Once
				_, errs[i] = stores[i%2].WriteCustomer(ctx, &customer.Write{Client: u.ClientID, User: u.ID,
					Change: func(*customer.Customer) (*customer.Writable, error) {
						once.Do(func() { ready.Done(); ready.Wait() })
						return &customer.Writable{Status: customer.StatusOpen, AccountNumber: ptr("SAME")}, nil
					}})
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case customer.IsKind(err, customer.Conflict):
				if !strings.Contains(err.Error(), `account_number "SAME" is already used by customer`) {
					t.Errorf("conflict message %q", err)
				}
			default:
				t.Errorf("unexpected error %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d writes won, want 1", won)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestTimeBoundsCutToMilliseconds checks that a search bound with a fraction finer than a
// millisecond selects what it selects in SQLite, whose columns hold whole milliseconds.
func TestTimeBoundsCutToMilliseconds(t *testing.T) {
	s, _, u := setup(t)
	act := time.Date(2024, 3, 1, 12, 0, 0, 7_000_000, time.UTC)
	c := create(t, s, u, customer.Writable{ActivatedDate: &act})
	for _, tc := range []struct {
		from, to time.Time
		found    bool
	}{
		{act.Add(900 * time.Microsecond), act.Add(time.Hour), true},    // same millisecond as act
		{act.Add(-time.Hour), act.Add(-100 * time.Microsecond), false}, // the millisecond before
		{act.Add(time.Millisecond), act.Add(time.Hour), false},
	} {
		page, err := s.SearchCustomers(context.Background(), u.ClientID, &customer.Query{Page: 1, PageSize: 10,
			Activated: customer.TimeRange{From: &tc.from, To: &tc.to}})
		if err != nil {
			t.Fatal(err)
		}
		if found := len(page.Customers) == 1 && page.Customers[0].ID == c.ID; found != tc.found {
			t.Errorf("activated %v within [%v, %v]: found %v, want %v", act, tc.from, tc.to, found, tc.found)
		}
	}
}

// TestTextPostgreSQLCannotStore checks that text with a NUL character, which a text
// column cannot hold, is refused as invalid input (by the domain's rules) or, in a search
// or a login, matches nothing; never a 500.
func TestTextPostgreSQLCannotStore(t *testing.T) {
	s, _, u := setup(t)
	ctx := context.Background()
	_, err := s.WriteCustomer(ctx, &customer.Write{Client: u.ClientID, User: u.ID, Input: &customer.Writable{Status: customer.StatusOpen,
		AccountNumber: ptr("A\x00B"), BillingAddress: &customer.Address{CompanyName: "Nul\x00 Inc"}}})
	var e *customer.Error
	if !errors.As(err, &e) || e.Kind != customer.Invalid || len(e.Fields) != 2 {
		t.Fatalf("NUL in stored text: %v", err)
	}
	for _, q := range []customer.Query{{AccountNumbers: []string{"A\x00B"}}, {Name: "nul\x00"}, {Email: "\xff"}} {
		q.Page, q.PageSize = 1, 10
		if page, err := s.SearchCustomers(ctx, u.ClientID, &q); err != nil || len(page.Customers) != 0 {
			t.Fatalf("search for unstorable text: %v %v", err, page)
		}
	}
	q := customer.Query{Page: 1, PageSize: 10, AccountNumbers: []string{"x\x00", "none"}}
	if page, err := s.SearchCustomers(ctx, u.ClientID, &q); err != nil || len(page.Customers) != 0 {
		t.Fatalf("search for unstorable and storable account numbers: %v %v", err, page)
	}
	if _, err := s.UserByLogin(ctx, "acme", "ali\x00ce"); !customer.IsKind(err, customer.NotFound) {
		t.Fatalf("login with a NUL: %v, want NotFound", err)
	}
}

// TestUnavailable checks that failures of the server or the pool are Unavailable (503),
// keeping the cause, while the store's own errors are not.
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	t.Run("NoServer", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := Open(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
		if !customer.IsKind(err, customer.Unavailable) || strings.Contains(err.Error(), "password") {
			t.Fatalf("Open with no server: %v, want Unavailable", err)
		}
	})
	t.Run("ClosedPool", func(t *testing.T) {
		s, _, u := setup(t)
		s.Close()
		if _, err := s.Customer(ctx, u.ClientID, 1); !customer.IsKind(err, customer.Unavailable) {
			t.Fatalf("Customer on a closed store: %v, want Unavailable", err)
		}
		if err := s.Ping(ctx); !customer.IsKind(err, customer.Unavailable) {
			t.Fatalf("Ping on a closed store: %v, want Unavailable", err)
		}
		_, err := s.WriteCustomer(ctx, &customer.Write{Client: u.ClientID, User: u.ID, Input: &customer.Writable{Status: customer.StatusOpen}})
		if !customer.IsKind(err, customer.Unavailable) {
			t.Fatalf("WriteCustomer on a closed store: %v, want Unavailable", err)
		}
	})
	t.Run("LockTimeout", func(t *testing.T) {
		s, url, u := setup(t)
		c := create(t, s, u, customer.Writable{})
		// Another session holds the customer's row lock past the store's lock_timeout.
		other, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close(ctx)
		hold, err := other.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer hold.Rollback(ctx)
		if _, err := hold.Exec(ctx, `SELECT 1 FROM customers WHERE customer_id = $1 FOR UPDATE`, c.ID); err != nil {
			t.Fatal(err)
		}
		impatient := openStore(t, url+"&lock_timeout=100")
		_, err = impatient.WriteCustomer(ctx, &customer.Write{Client: u.ClientID, User: u.ID, ID: c.ID, Input: &customer.Writable{Status: customer.StatusOpen}})
		if !customer.IsKind(err, customer.Unavailable) || !isCode(err, "55P03") {
			t.Fatalf("write behind a held lock: %v, want Unavailable caused by lock_not_available", err)
		}
	})
	t.Run("TerminatedConnections", func(t *testing.T) {
		s, url, u := setup(t)
		c := create(t, s, u, customer.Writable{})
		admin, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(ctx)
		for range 3 {
			if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
				t.Fatal(err)
			}
			// The pool may notice the dead connection and use a new one, or the call may
			// fail on it; failing, it must be a 503, not a 500.
			if _, err := s.Customer(ctx, u.ClientID, c.ID); err != nil && !customer.IsKind(err, customer.Unavailable) {
				t.Fatalf("read on a terminated connection: %v (kind %d), want success or Unavailable", err, customer.KindOf(err))
			}
			_, err := s.WriteCustomer(ctx, &customer.Write{Client: u.ClientID, User: u.ID, ID: c.ID, Input: &customer.Writable{Status: customer.StatusOpen}})
			if err != nil && !customer.IsKind(err, customer.Unavailable) {
				t.Fatalf("write on a terminated connection: %v (kind %d), want success or Unavailable", err, customer.KindOf(err))
			}
		}
		if _, err := s.Customer(ctx, u.ClientID, c.ID); err != nil {
			t.Fatalf("read after the connections were replaced: %v", err)
		}
	})
	t.Run("OwnErrorsStayPlain", func(t *testing.T) {
		s, _, _ := setup(t)
		err := s.withConn(ctx, func(c *pgxpool.Conn) error {
			_, err := c.Exec(ctx, `SELECT no_such_column FROM customers`)
			return err
		})
		if err == nil || customer.KindOf(err) != customer.Internal {
			t.Fatalf("a wrong query: %v, want an internal error", err)
		}
	})
}

// TestSearchesUseIndexes checks, with sorting and sequential scans priced out, that
// PostgreSQL can answer every sort order in both directions from an index without sorting
// (so that a page is read in order, not sorted from all of a client's customers), and that
// every filter and the substring searches have an index.
func TestSearchesUseIndexes(t *testing.T) {
	s, _, u := setup(t)
	ctx := context.Background()
	for i := range 100 {
		create(t, s, u, customer.Writable{AccountNumber: ptr(fmt.Sprintf("N-%d", i)), Email: ptr(fmt.Sprintf("user%d@example.com", i)),
			BillingAddress: &customer.Address{CompanyName: fmt.Sprintf("Company %d", i), FirstName: "Ann", LastName: "Lee"}})
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `VACUUM ANALYZE customers`); err != nil {
		t.Fatal(err)
	}
	plan := func(q *customer.Query, settings string) string {
		t.Helper()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, settings); err != nil {
			t.Fatal(err)
		}
		where, order, args := sqlquery.Search(dialect{}, u.ClientID, q)
		rows, err := tx.Query(ctx, "EXPLAIN "+sqlquery.SelectCustomer+" WHERE "+where+" ORDER BY "+order+sqlquery.Limit(q), args...)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "\n")
	}
	noSort := `SET LOCAL enable_sort = off; SET LOCAL enable_incremental_sort = off; SET LOCAL enable_seqscan = off`
	for _, key := range customer.SortKeys {
		for _, desc := range []bool{false, true} {
			q := &customer.Query{Sort: key, Descending: desc, Page: 3, PageSize: 5}
			if p := plan(q, noSort); strings.Contains(p, "Sort") || strings.Contains(p, "Seq Scan") {
				t.Errorf("sort by %s (descending %v) is not read from an index:\n%s", key, desc, p)
			}
		}
	}
	yes := true
	now := time.Now()
	for _, tc := range []struct {
		q      customer.Query
		column string
	}{
		{customer.Query{AccountNumbers: []string{"N-1"}}, "account_number"},
		{customer.Query{ParentIDs: []int32{99}}, "parent_customer_id"},
		{customer.Query{AgentIDs: []int32{99}}, "agent_id"},
		{customer.Query{SecondaryAgentIDs: []int32{99}}, "secondary_agent_id"},
		{customer.Query{SoldBy: []int32{99}}, "sold_by"},
		{customer.Query{CreatedBy: []int32{99}}, "created_by"},
		{customer.Query{BillProfileIDs: []int32{99}}, "bill_profile_id"},
		{customer.Query{Statuses: []customer.Status{customer.StatusClosed}}, "status"},
		{customer.Query{IsParent: &yes}, "is_parent"},
		{customer.Query{Suspended: &yes}, "suspended"},
		{customer.Query{Created: customer.TimeRange{From: &now}}, "created_date"},
		{customer.Query{Updated: customer.TimeRange{From: &now}}, "updated_date"},
		{customer.Query{Activated: customer.TimeRange{From: &now}}, "activated_date"},
		{customer.Query{Closed: customer.TimeRange{From: &now}}, "close_date"},
		{customer.Query{Email: "zqx"}, "email_fold"},
		{customer.Query{Name: "zqx"}, "company_fold"},
		{customer.Query{Name: "zqx"}, "person_fold"},
	} {
		q := tc.q
		q.Page, q.PageSize = 1, 10
		// Without an index scan in customer_id order, the filter's own index is best.
		p := plan(&q, `SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off`)
		if !indexCond(p, tc.column) {
			t.Errorf("filter %s has no index:\n%s", tc.column, p)
		}
	}
}

// indexCond reports whether a plan looks a column up in an index.
func indexCond(plan, column string) bool {
	for _, line := range strings.Split(plan, "\n") {
		if strings.Contains(line, "Index Cond:") && strings.Contains(line, column+" ") {
			return true
		}
	}
	return false
}
