package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
	"github.com/custd/custd/internal/postgres"
	"github.com/custd/custd/internal/postgres/pgtest"
	"github.com/custd/custd/internal/sqlite"
)

const adminPW = "admin password 123"

// customersFile writes n customers in the wire form, as an export of another system
// writes them: ids, dates, address ids and registration codes included.
func customersFile(t *testing.T, n int) string {
	t.Helper()
	enc, _ := httpapi.NewRecords(httpapi.TimeRFC3339)
	created := time.Date(2022, 3, 4, 5, 6, 7, 89_000_000, time.UTC)
	var b bytes.Buffer
	for i := range n {
		c := &customer.Customer{ID: int32(10 + 3*i), CreatedBy: 42, CreatedDate: created.Add(time.Duration(i) * time.Minute),
			UpdatedDate: created.Add(time.Duration(i)*time.Minute + time.Hour), Writable: customer.Writable{
				Status: customer.StatusOpen, ActivatedDate: &created, AccountNumber: ptr(fmt.Sprint("A-", i)),
				RegistrationCode: ptr(fmt.Sprint("R", i)), Email: ptr(fmt.Sprintf("c%d@example.com", i)),
				BillingAddress: &customer.Address{ID: int32(7000 + i), CompanyName: fmt.Sprintf("Company %d, \"Ltd\"", i), LastName: "Okafor"},
				Fields:         []customer.CustomField{{FieldID: int32(1 + i%3), Label: "Tier", Value: strconv.Itoa(i)}},
			}}
		if i%4 == 1 {
			c.Status, c.CloseDate = customer.StatusClosed, ptr(created.Add(48*time.Hour))
		}
		line, err := enc.JSON(c)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "customers.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func ptr[T any](v T) *T { return &v }

// newStoreEnv makes an empty store with client demo and its admin: SQLite, or
// PostgreSQL when postgres is set.
func newStoreEnv(t *testing.T, postgres bool) env {
	t.Helper()
	e := newEnv(t)
	if postgres {
		e = env{"CUSTD_DB": pgtest.NewDatabase(t)}
	}
	e["CUSTD_PASSWORD"] = adminPW
	for _, args := range [][]string{{"migrate"}, {"client", "add", "demo"}, {"user", "add", "admin@demo", "--role", "admin"}} {
		if _, err := cli(t, e, "", args...); err != nil {
			t.Fatalf("custd %s: %v", strings.Join(args, " "), err)
		}
	}
	return e
}

// storeKinds are the stores the command tests run on: SQLite, and PostgreSQL when
// CUSTD_TEST_POSTGRES is set.
func storeKinds(t *testing.T, test func(t *testing.T, postgres bool)) {
	t.Run("sqlite", func(t *testing.T) { test(t, false) })
	t.Run("postgres", func(t *testing.T) {
		pgtest.NewDatabase(t) // skips without CUSTD_TEST_POSTGRES
		test(t, true)
	})
}

func exportOf(t *testing.T, e env, args ...string) string {
	t.Helper()
	out, err := cli(t, e, "", append([]string{"export"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImportExportCommands: a file imported, exported, imported into an empty store and
// exported again gives the same file, in both formats; the export is its owner's only;
// --dry-run writes nothing; an invalid file is refused whole, naming its lines.
func TestImportExportCommands(t *testing.T) {
	storeKinds(t, func(t *testing.T, postgres bool) {
		file := customersFile(t, 300)
		a, b := newStoreEnv(t, postgres), newStoreEnv(t, postgres)
		out, err := cli(t, a, "", "import", file, "--dry-run")
		if err != nil || out != "300 records are valid; nothing was written (--dry-run)\n" || exportOf(t, a) != "" {
			t.Fatalf("--dry-run: %v %q", err, out)
		}
		if out, err = cli(t, a, "", "import", file, "--batch", "64"); err != nil || !strings.HasPrefix(out, "imported 300 records into client demo") {
			t.Fatalf("import: %v %q", err, out)
		}
		original, _ := os.ReadFile(file)
		if got := exportOf(t, a); got != string(original) {
			t.Fatalf("the export differs from the file imported:\n%.500s", got)
		}
		dir := t.TempDir()
		for _, name := range []string{"customers.jsonl", "customers.csv"} {
			path := filepath.Join(dir, name)
			if _, err := cli(t, a, "", "export", "--out", path); err != nil {
				t.Fatal(err)
			}
			if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("export file %s: %v, mode %v", name, err, st.Mode())
			}
			if _, err := cli(t, b, "", "import", path); err != nil {
				t.Fatalf("import %s: %v", name, err)
			}
			want, _ := os.ReadFile(path)
			if got := exportOf(t, b, "--out", filepath.Join(dir, "again-"+name)); got != "" {
				t.Fatal("export --out wrote to standard output")
			}
			got, _ := os.ReadFile(filepath.Join(dir, "again-"+name))
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: export, import into an empty store, export again differ", name)
			}
		}

		// An invalid file is refused whole, naming each line; nothing is written.
		bad := filepath.Join(dir, "bad.jsonl")
		lines := strings.SplitAfter(string(original), "\n")
		lines[3] = strings.Replace(lines[3], `"status":"OPEN"`, `"status":"OPENED"`, 1)
		lines[200] = "{not json}\n"
		os.WriteFile(bad, []byte(strings.Join(lines, "")), 0o600)
		c := newStoreEnv(t, postgres)
		_, err = cli(t, c, "", "import", bad)
		if err == nil || !strings.Contains(err.Error(), "2 records are invalid; nothing was written") ||
			!strings.Contains(err.Error(), "line 4: status must be one of OPEN, PENDING, PROSPECT or CLOSED") ||
			!strings.Contains(err.Error(), "line 201: the request body is not valid JSON") {
			t.Fatalf("invalid file: %v", err)
		}
		if exportOf(t, c) != "" {
			t.Fatal("a refused import wrote customers")
		}
	})
}

// flakySource stands in front of a custd serving real data, as a Rev.io API under load
// would: it answers some requests 429 (with Retry-After) or 503 instead of passing them
// on, and, told to, behaves like a source that died (connections closed unanswered).
type flakySource struct {
	t      *testing.T
	srv    *httptest.Server
	target atomic.Pointer[url.URL]
	n      atomic.Int64

	mu sync.Mutex
	// log is every request: its page, when it came, and what it was answered.
	log []sourceRequest
	// dieAt, when set, is the page whose first request kills the source (kill).
	dieAt int
	kill  func()
}

type sourceRequest struct {
	page   int
	at     time.Time
	status int
}

func newFlakySource(t *testing.T, target string) *flakySource {
	f := &flakySource{t: t}
	f.retarget(target)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(f.target.Load()) },
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// A dead source does not answer 502: the connection just fails.
			if conn, _, herr := http.NewResponseController(w).Hijack(); herr == nil {
				conn.Close()
			}
		},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("search.page"))
		status := http.StatusOK
		switch n := f.n.Add(1); {
		case n%4 == 2:
			status = http.StatusTooManyRequests
			w.Header().Set("Retry-After", "1")
		case n%7 == 3:
			status = http.StatusServiceUnavailable
		}
		f.mu.Lock()
		f.log = append(f.log, sourceRequest{page, time.Now(), status})
		kill := f.kill
		if page == f.dieAt && kill != nil {
			f.kill = nil
		} else {
			kill = nil
		}
		f.mu.Unlock()
		if kill != nil {
			kill()
		}
		if status != http.StatusOK {
			http.Error(w, `{"ok":false,"message":"slow down"}`, status)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *flakySource) retarget(base string) {
	u, err := url.Parse(base)
	if err != nil {
		f.t.Fatal(err)
	}
	f.target.Store(u)
}

// checkRetryAfter checks that every request after a 429 came at least its Retry-After
// (1 s) later.
func (f *flakySource) checkRetryAfter() {
	f.mu.Lock()
	defer f.mu.Unlock()
	limited := 0
	for i, r := range f.log[:len(f.log)-1] {
		if r.status != http.StatusTooManyRequests {
			continue
		}
		limited++
		if wait := f.log[i+1].at.Sub(r.at); wait < 900*time.Millisecond {
			f.t.Errorf("a request came %v after a 429 with Retry-After: 1", wait)
		}
	}
	if limited == 0 {
		f.t.Error("the source never answered 429")
	}
}

// TestImportFromAnotherCustd reads every customer of a custd process, through a source
// that answers 429 and 503 now and then, and dies half-way: the import stops, writes
// nothing, and a second run, once the source is back, goes on from the page it reached
// and completes it. The result exports exactly as the source does, and each customer was
// written once.
func TestImportFromAnotherCustd(t *testing.T) {
	storeKinds(t, func(t *testing.T, postgres bool) {
		// 1,100 customers: three pages of 500.
		srcEnv := newStoreEnv(t, false)
		if _, err := cli(t, srcEnv, "", "import", customersFile(t, 1100)); err != nil {
			t.Fatal(err)
		}
		want := exportOf(t, srcEnv)
		db := srcEnv["CUSTD_DB"]
		source := startProcess(t, db, adminPW)
		flaky := newFlakySource(t, source.url)
		flaky.dieAt = 2
		flaky.kill = func() { source.cmd.Process.Kill(); source.cmd.Wait() }

		dst := newStoreEnv(t, postgres)
		dst["CUSTD_SOURCE_PASSWORD"] = adminPW
		_, stderr, err := cliAll(t, dst, "", "import", "--from", flaky.srv.URL, "--user", "admin@demo")
		if err == nil || !strings.Contains(err.Error(), "reading page 2 of") || !strings.Contains(err.Error(), "run the same command again") {
			t.Fatalf("import from a source that died: %v\n%s", err, stderr)
		}
		if exportOf(t, dst) != "" {
			t.Fatal("an import whose source died wrote customers")
		}

		// The source is back (on another port, behind the same address).
		source = startProcess(t, db, adminPW)
		flaky.retarget(source.url)
		out, stderr, err := cliAll(t, dst, "", "import", "--from", flaky.srv.URL, "--user", "admin@demo")
		if err != nil || !strings.HasPrefix(out, "imported 1,100 records into client demo") {
			t.Fatalf("second run: %v %q\n%s", err, out, stderr)
		}
		if !strings.Contains(stderr, "going on after page 1 (500 records)") {
			t.Fatalf("the second run did not resume:\n%s", stderr)
		}
		if got := exportOf(t, dst); got != want {
			t.Fatalf("the imported customers export differently from the source:\n%.300s", got)
		}
		flaky.checkRetryAfter()
		// Page 1 was read once by the first run and not again.
		pages := map[int]int{}
		flaky.mu.Lock()
		for _, r := range flaky.log {
			if r.status == http.StatusOK {
				pages[r.page]++
			}
		}
		flaky.mu.Unlock()
		if pages[1] != 1 || pages[3] != 1 {
			t.Fatalf("pages read with success: %v", pages)
		}
		// Nothing twice: one version per customer, each a create.
		if n := strings.Count(exportOf(t, dst), "\n"); n != 1100 {
			t.Fatalf("%d customers", n)
		}
		checkVersions(t, dst["CUSTD_DB"], 1100)
	})
}

// checkVersions checks that client demo's change feed holds exactly n events, all
// creates made by an import.
func checkVersions(t *testing.T, db string, n int) {
	t.Helper()
	ctx := context.Background()
	var s customer.Store
	var err error
	if path, ok := sqlitePath(db); ok {
		s, err = sqlite.OpenExisting(ctx, path)
	} else {
		s, err = postgres.Open(ctx, db)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	clients, _ := s.Clients(ctx)
	var after int64
	count := 0
	for {
		p, err := s.Events(ctx, clients[0].ID, &customer.EventQuery{After: after, PageSize: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range p.Versions {
			if v.Operation != customer.OpImport || v.EventType != customer.EventCreated {
				t.Fatalf("event %d: %s %s", v.EventID, v.Operation, v.EventType)
			}
		}
		count += len(p.Versions)
		if !p.HasMore {
			break
		}
		after = p.Versions[len(p.Versions)-1].EventID
	}
	if count != n {
		t.Fatalf("%d events, want %d: a customer was written more than once, or not at all", count, n)
	}
}
