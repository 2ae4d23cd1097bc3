// Package sqlite implements customer.Store on an embedded SQLite database in WAL mode with
// synchronous=FULL, so that every acknowledged write survives a power cut.
//
// All writes go through one connection owned by one goroutine, which commits them in
// groups: the writes waiting when a transaction starts share it and its fsync, each in its
// own savepoint, so one write's failure never fails another. Reads use a pool of
// read-only connections and never wait for writes.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/migrate"
	"github.com/custd/custd/internal/sqlquery"
)

var _ customer.Store = (*Store)(nil)

//go:embed migrations/*.sql requestlog/*.sql
var migrations embed.FS

// Store is a customer.Store on one SQLite file.
type Store struct {
	read *sql.DB
	get  *sql.Stmt // one customer by id, prepared on each reading connection
	// recent reads what was most likely just written, on connections that do not map the
	// file (see recentPragmas): the current customer before a write, webhook claims.
	recent    *sql.DB
	getRecent *sql.Stmt
	writer    *writer
	requests  *requestsDB // the request log, in a file of its own
	closed    atomic.Bool
	schema    migrate.Report

	feedMu     sync.Mutex
	feedClaims map[string]bool // the feed consumers claimed (ClaimFeed)
}

// Open opens the SQLite database at path, creating it if needed (readable and writable by
// its owner only), and brings its schema up to date. Errors: the schema is newer than this binary, or the file cannot be opened
// (the message says why: a missing folder, a permission, a file that is not a database).
func Open(ctx context.Context, path string) (*Store, error) { return open(ctx, path, true) }

// OpenExisting is Open for a database that must exist already: it never creates one.
// Errors: as Open's, and one matching fs.ErrNotExist when there is no file at path.
func OpenExisting(ctx context.Context, path string) (*Store, error) { return open(ctx, path, false) }

func open(ctx context.Context, path string, create bool) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	mode := "" // SQLite's own: read-write, created if missing
	if create {
		if err := createPrivate(path); err != nil {
			if ferr := folderProblem(path); ferr != nil {
				return nil, ferr
			}
			if errors.Is(err, fs.ErrPermission) {
				return nil, fmt.Errorf("sqlite %s: permission denied: cannot create the database file in folder %s: %w", path, filepath.Dir(path), err)
			}
			return nil, fmt.Errorf("sqlite %s: %w", path, err)
		}
	}
	if !create {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if err := folderProblem(path); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("sqlite %s: %w", path, errNoFile)
		}
		mode = "&mode=rw" // and should it vanish meanwhile, SQLite must not create it
	}
	var opened []func() error // closed again, last first, when a later step fails
	fail := func(err error) (*Store, error) {
		for i := len(opened) - 1; i >= 0; i-- {
			opened[i]()
		}
		return nil, err
	}
	wdb, err := sql.Open("sqlite", dsn(path, writerPragmas+mode))
	if err != nil {
		return nil, err
	}
	opened = append(opened, wdb.Close)
	oneConnection(wdb)
	if err := initialize(ctx, wdb); err != nil {
		return fail(explain(path, err))
	}
	reqs, err := openRequests(ctx, path+RequestLogSuffix)
	if err != nil {
		return fail(err)
	}
	opened = append(opened, reqs.close)
	report, err := migrateWith(ctx, wdb, path+RequestLogSuffix)
	if err != nil {
		return fail(explain(path, err))
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	rdb, get, err := openReaders(ctx, path, readerPragmas+mode, n)
	if err != nil {
		return fail(explain(path, err))
	}
	opened = append(opened, rdb.Close)
	fdb, getRecent, err := openReaders(ctx, path, recentPragmas+mode, n)
	if err != nil {
		return fail(explain(path, err))
	}
	opened = append(opened, fdb.Close)
	cdb, err := sql.Open("sqlite", dsn(path, checkpointerPragmas+mode))
	if err != nil {
		return fail(err)
	}
	opened = append(opened, cdb.Close)
	w, err := newWriter(ctx, wdb, newCheckpointer(cdb))
	if err != nil {
		return fail(explain(path, err))
	}
	return &Store{read: rdb, get: get, recent: fdb, getRecent: getRecent, writer: w, requests: reqs, schema: report}, nil
}

// openReaders opens a pool of n reading connections with pragmas and prepares on it the
// read of one customer by id.
func openReaders(ctx context.Context, path, pragmas string, n int) (*sql.DB, *sql.Stmt, error) {
	db, err := sql.Open("sqlite", dsn(path, pragmas))
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	get, err := db.PrepareContext(ctx, sqlquery.SelectCustomer+` WHERE c.client_id = ? AND c.customer_id = ?`)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, get, nil
}

// Schema reports what Open did to the schema: the migrations it applied and the version.
func (s *Store) Schema() migrate.Report { return s.schema }

// errNoFile is the error of OpenExisting when there is no database.
var errNoFile = fmt.Errorf("no database file there: %w", fs.ErrNotExist)

// explain restates an error of opening the database at path in the operator's terms
// (SQLite says "unable to open database file" for a missing folder and a permission
// alike), keeping it as the cause.
func explain(path string, err error) error {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return fmt.Errorf("sqlite %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_CANTOPEN:
		if err := folderProblem(path); err != nil {
			return err
		}
		if f, oerr := os.OpenFile(path, os.O_RDWR, 0); errors.Is(oerr, fs.ErrPermission) {
			return fmt.Errorf("sqlite %s: permission denied: cannot open the database file for reading and writing: %w", path, err)
		} else if oerr == nil {
			f.Close()
		} else if errors.Is(oerr, fs.ErrNotExist) {
			return fmt.Errorf("sqlite %s: permission denied: cannot create the database file in folder %s: %w", path, dir, err)
		}
	case sqlite3.SQLITE_READONLY:
		if e.Code() == sqlite3.SQLITE_READONLY_DIRECTORY {
			return fmt.Errorf("sqlite %s: permission denied: cannot write in folder %s, where SQLite keeps the -wal and -shm files beside the database: %w", path, dir, err)
		}
		return fmt.Errorf("sqlite %s: permission denied: cannot write the database file (or create its -wal and -shm files in folder %s): %w", path, dir, err)
	case sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("sqlite %s: the file is not a SQLite database: %w", path, err)
	}
	return fmt.Errorf("sqlite %s: %w", path, err)
}

// folderProblem says what is wrong with the folder that should hold the database at path,
// or returns nil.
func folderProblem(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("sqlite %s: folder %s does not exist", path, dir)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("sqlite %s: permission denied: cannot reach folder %s", path, dir)
	case err != nil:
		return fmt.Errorf("sqlite %s: %w", path, err)
	case !st.IsDir():
		return fmt.Errorf("sqlite %s: %s is not a folder", path, dir)
	}
	return nil
}

// createPrivate creates the database file with mode 0600 when it does not exist yet: it
// holds customers' personal data and password hashes. SQLite would create it 0644 less
// the umask, world-readable under the usual 022, and gives the -wal and -shm files it
// makes later the database file's own mode, so they are private too. An existing file
// keeps the mode its owner gave it.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// oneConnection makes db keep exactly one connection open for good: a writing
// connection, whose prepared statements and settings must last.
func oneConnection(db *sql.DB) {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
}

// Pragmas of each kind of connection, beside those every connection has (dsn).
//
// The writer and the readers (but those of recent, below) map the database file into
// memory (mmap_size, up to the 2 GiB SQLite allows): a page of the file that the
// operating system has cached is read where it lies, without a system call or a copy,
// and without counting against the process's own memory (the kernel can drop such pages;
// they show as RssFile, not RssAnon). Pages still in the WAL are read from it as before.
const (
	// The writer checkpoints nothing itself (the checkpointer does, off its path), and
	// keeps savepoint journals in memory.
	writerPragmas = "&_pragma=cache_size(-32000)&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(0)" + mmapPragma
	// Readers share the operating system's page cache; a small cache of their own each
	// keeps the process small with many of them.
	readerPragmas = "&_pragma=cache_size(-2000)&_pragma=query_only(ON)" + mmapPragma
	// The readers of what was just written do not map the file. A reading connection
	// empties its page cache when a read transaction begins after another connection's
	// commit, and a mapped one also unmaps the whole file then, to map it again and fault
	// in every page it touches: under a stream of writes that costs more than reading
	// the pages with pread (docs/performance.md, "Reads after writes without the map").
	// Reads that follow no write keep the map: it is what makes GET and search fast at a
	// million customers.
	recentPragmas       = "&_pragma=cache_size(-512)&_pragma=query_only(ON)"
	mmapPragma          = "&_pragma=mmap_size(2147418112)"
	checkpointerPragmas = "&_pragma=cache_size(-2000)&_pragma=wal_autocheckpoint(0)"
)

// dsn builds a modernc.org/sqlite data source name with the pragmas every connection
// needs, then extra. (WAL mode belongs to the database file; Open sets it.)
func dsn(path, extra string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + esc + "?_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(ON)&_time_format=sqlite" + extra
}

// initialize puts the database in WAL mode. A new database first gets 2 KiB pages
// (SQLite's default is 4 KiB): a write changes a row and a dozen index entries on as many
// pages, and every changed page goes to the WAL, is synced, and is copied back by a
// checkpoint, so smaller pages mean fewer bytes for the disk per write; a customer's row
// still fits one page. An existing database keeps its page size.
func initialize(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, "PRAGMA page_size = 2048"); err != nil {
		return err
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return err
	}
	if mode != "wal" {
		return fmt.Errorf("cannot use WAL mode (the journal mode is %s)", mode)
	}
	return nil
}

// migrateWith brings the store's schema up to date with the request log's file at
// requests attached as "requests" (a migration moved the request log there), and
// reports what it did.
func migrateWith(ctx context.Context, db *sql.DB, requests string) (migrate.Report, error) {
	if _, err := db.ExecContext(ctx, "ATTACH DATABASE ? AS requests", requests); err != nil {
		return migrate.Report{}, err
	}
	report, err := applyMigrations(ctx, db, "migrations")
	if _, derr := db.ExecContext(ctx, "DETACH DATABASE requests"); err == nil {
		err = derr
	}
	return report, err
}

// applyMigrations brings the schema of db up to date with the migrations in folder dir
// and reports what it did.
func applyMigrations(ctx context.Context, db *sql.DB, dir string) (migrate.Report, error) {
	var report migrate.Report
	ms, err := migrate.Load(migrations, dir)
	if err != nil {
		return report, err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return report, err
	}
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&report.Version); err != nil {
		return report, err
	}
	pending, err := migrate.Pending(ms, report.Version)
	if err != nil {
		return report, err
	}
	for _, m := range pending {
		// BEGIN IMMEDIATE takes the write lock first, so two processes that start at once
		// apply each migration once: the second sees the first's row and skips it.
		conn, err := db.Conn(ctx)
		if err != nil {
			return report, err
		}
		applied := false
		err = func() error {
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
				return err
			}
			var done int
			err := conn.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&done)
			if err == nil && done == 0 {
				if _, err = conn.ExecContext(ctx, m.SQL); err == nil {
					_, err = conn.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
						m.Version, m.Name, time.Now().UnixMilli())
					applied = err == nil
				}
			}
			if err != nil {
				conn.ExecContext(context.Background(), "ROLLBACK")
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			_, err = conn.ExecContext(ctx, "COMMIT")
			return err
		}()
		if err != nil {
			return report, err
		}
		if applied {
			report.Applied = append(report.Applied, m.Name)
		}
		report.Version = m.Version
	}
	return report, nil
}

// Close finishes the writes already queued and closes the database.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	err := s.writer.close()
	return errors.Join(err, s.get.Close(), s.read.Close(), s.getRecent.Close(), s.recent.Close(), s.requests.close())
}

// ObserveCommits has f called after every group commit with the number of writes that
// shared it and the time its COMMIT (with its fsync) took. f runs on the writer, so it
// must be quick; a later call replaces an earlier f.
func (s *Store) ObserveCommits(f func(writes int, commit time.Duration)) {
	s.writer.onCommit.Store(&f)
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return s.readErr(err)
	}
	return nil
}

// Customer returns one customer of the client.
func (s *Store) Customer(ctx context.Context, client int64, id int32) (*customer.Customer, error) {
	st, err := s.StoredCustomer(ctx, client, id)
	if err != nil {
		return nil, err
	}
	return st.Customer()
}

// StoredCustomer returns one customer of the client as stored.
func (s *Store) StoredCustomer(ctx context.Context, client int64, id int32) (*customer.Stored, error) {
	return s.storedBy(ctx, s.get, client, id)
}

// recentCustomer is Customer on a connection of recent: the read before a write.
func (s *Store) recentCustomer(ctx context.Context, client int64, id int32) (*customer.Customer, error) {
	st, err := s.storedBy(ctx, s.getRecent, client, id)
	if err != nil {
		return nil, err
	}
	return st.Customer()
}

// storedBy reads one customer as stored with get, a prepared read by client and id.
func (s *Store) storedBy(ctx context.Context, get *sql.Stmt, client int64, id int32) (*customer.Stored, error) {
	st, err := sqlquery.ScanStored(get.QueryRowContext(ctx, client, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "customer %d not found", id)
	}
	if err != nil {
		return nil, s.readErr(err)
	}
	return st, nil
}

// SearchCustomers returns one page of the client's customers matching q.
func (s *Store) SearchCustomers(ctx context.Context, client int64, q *customer.Query) (*customer.Page, error) {
	found, err := search(ctx, s, client, q, sqlquery.ScanCustomer)
	if err != nil {
		return nil, err
	}
	return q.PageOf(found), nil
}

// SearchStored returns one page of the client's customers that match q, as stored.
func (s *Store) SearchStored(ctx context.Context, client int64, q *customer.Query) (*customer.StoredPage, error) {
	found, err := search(ctx, s, client, q, sqlquery.ScanStored)
	if err != nil {
		return nil, err
	}
	return q.StoredPageOf(found), nil
}

// search reads the rows of a search, each with scan.
func search[T any](ctx context.Context, s *Store, client int64, q *customer.Query, scan func(sqlquery.Scanner) (T, error)) ([]T, error) {
	query, args := searchSQL(client, q)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.readErr(err)
	}
	defer rows.Close()
	var found []T
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return nil, err
		}
		found = append(found, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(err)
	}
	return found, nil
}

// searchSQL returns the query of a search and its parameters.
//
// A page in customer_id order with a name (or else email) substring of three or more
// characters is driven by that text's trigram index: it yields the matching customers in
// id order, so the query stops reading as soon as the page is full, however common the
// substring. Other searches look substrings up as conditions (see dialect.Substring).
func searchSQL(client int64, q *customer.Query) (string, []any) {
	long := func(s string) bool { return s != "" && !sqlquery.ShortSubstring(s) }
	rest := *q
	var field sqlquery.TextField
	var s string
	switch {
	case q.Sort != "" && q.Sort != customer.SortCustomerID:
	case long(q.Name):
		field, s, rest.Name = sqlquery.NameText, q.Name, ""
	case long(q.Email):
		field, s, rest.Email = sqlquery.EmailText, q.Email, ""
	}
	if s == "" {
		where, order, args := sqlquery.Search(dialect{}, client, q)
		return sqlquery.SelectCustomer + " WHERE " + where + " ORDER BY " + order + sqlquery.Limit(q), args
	}
	where, _, args := sqlquery.Search(dialect{}, client, &rest)
	dir := " ASC"
	if q.Descending {
		dir = " DESC"
	}
	table, col := textIndex(field)
	// CROSS JOIN keeps the text index the outer loop, in its own rowid order.
	return `SELECT c.customer_id, c.client_id, c.version, c.doc FROM ` + table + ` t CROSS JOIN customers c ON c.customer_id = t.rowid
		WHERE t.` + col + ` GLOB ? AND ` + where + " ORDER BY t.rowid" + dir + sqlquery.Limit(q),
		append([]any{globPattern(s)}, args...)
}

// textIndex names the trigram index of a searched text and its column.
func textIndex(f sqlquery.TextField) (table, column string) {
	if f == sqlquery.NameText {
		return "customer_names", "name_fold"
	}
	return "customer_emails", "email_fold"
}

// globPattern matches s anywhere in a text. The texts are already lower-cased, so GLOB's
// exact comparison is the right one; its special characters are quoted in brackets.
func globPattern(s string) string {
	return "*" + strings.NewReplacer("*", "[*]", "?", "[?]", "[", "[[]").Replace(s) + "*"
}

// dialect is SQLite's part of a search query.
type dialect struct{}

func (dialect) Placeholder(int) string { return "?" }

func (dialect) Bool(b bool) any { return b }

func (dialect) Time(t time.Time) any { return t.UnixMilli() }

func (dialect) Millis(col string) string { return col }

func (dialect) Order(col string, desc bool) string {
	if desc {
		return col + " DESC" // SQLite's own order: NULL first ascending, last descending
	}
	return col + " ASC"
}

// Substring looks a substring of three or more characters up in the text's trigram
// index; a shorter one cannot use it and is checked on each of the client's customers.
func (dialect) Substring(field sqlquery.TextField, s string, arg func(any) string) string {
	table, col := textIndex(field)
	if sqlquery.ShortSubstring(s) {
		return "instr(c." + col + ", " + arg(s) + ") > 0"
	}
	return "c.customer_id IN (SELECT rowid FROM " + table + " WHERE " + col + " GLOB " + arg(globPattern(s)) + ")"
}

// WriteCustomer runs w through customer.Apply in the writer's next group commit.
func (s *Store) WriteCustomer(ctx context.Context, w *customer.Write) (*customer.Customer, error) {
	var out *customer.Customer
	order := w.ID
	if order == 0 {
		order = math.MaxInt32
	}
	// The writer runs one write at a time, so work moved out of it is work done in
	// parallel: the current customer is read and decoded here, on a reading connection,
	// and the writer only checks that its version has not changed since.
	var read *customer.Customer
	if w.ID != 0 {
		read, _ = s.recentCustomer(ctx, w.Client, w.ID) // on any error the writer reads it itself
	}
	first := true
	err := s.writer.do(ctx, order, func(t *tx) error {
		if first { // a batch run again reads everything afresh
			t.read, first = read, false
		}
		defer func() { t.read = nil }()
		c, err := customer.Apply(ctx, t, w, customer.Now())
		out = c
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// BeginIdempotent claims k, or returns the response stored under it.
func (s *Store) BeginIdempotent(ctx context.Context, k *customer.IdempotencyKey) (*customer.Reply, error) {
	var replay *customer.Reply
	err := s.writer.do(ctx, 0, func(t *tx) error {
		now := time.Now()
		var (
			rec     customer.IdempotencyRecord
			claimed int64
			status  sql.NullInt64
			r       customer.Reply
		)
		err := t.queryRow(`SELECT fingerprint, created_at, status, etag, location, body FROM idempotency_keys WHERE user_id = ? AND key = ?`,
			k.User, k.Key).Scan(&rec.Fingerprint, &claimed, &status, &r.ETag, &r.Location, &r.Body)
		if errors.Is(err, sql.ErrNoRows) {
			_, err = t.exec(`INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at) VALUES (?, ?, ?, ?)`,
				k.User, k.Key, k.Fingerprint, now.UnixMilli())
			return err
		}
		if err != nil {
			return err
		}
		rec.ClaimedAt = time.UnixMilli(claimed)
		if status.Valid {
			r.Status = int(status.Int64)
			rec.Reply = &r
		}
		var take bool
		if replay, take, err = rec.Resolve(k, now); !take {
			return err
		}
		_, err = t.exec(`UPDATE idempotency_keys SET fingerprint = ?, created_at = ?, status = NULL, etag = '', location = '', body = NULL
			WHERE user_id = ? AND key = ?`, k.Fingerprint, now.UnixMilli(), k.User, k.Key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return replay, nil
}

// FinishIdempotent records r as the response of k.
func (s *Store) FinishIdempotent(ctx context.Context, k *customer.IdempotencyKey, r *customer.Reply) error {
	return s.writer.do(ctx, 0, func(t *tx) error { return t.CompleteIdempotent(ctx, k, r) })
}

// ReleaseIdempotent forgets the claim on k.
func (s *Store) ReleaseIdempotent(ctx context.Context, k *customer.IdempotencyKey) error {
	return s.writer.do(ctx, 0, func(t *tx) error {
		_, err := t.exec(`DELETE FROM idempotency_keys WHERE user_id = ? AND key = ? AND status IS NULL`, k.User, k.Key)
		return err
	})
}

// CreateClient adds a client.
func (s *Store) CreateClient(ctx context.Context, code, name string) (*customer.Client, error) {
	c, err := customer.NewClient(code, name)
	if err != nil {
		return nil, err
	}
	err = s.writer.do(ctx, 0, func(t *tx) error {
		var err error
		c.ID, err = t.insertClient(c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (t *tx) insertClient(c *customer.Client) (int64, error) {
	res, err := t.exec(`INSERT INTO clients (code, code_fold, name, created_at) VALUES (?, ?, ?, ?)`,
		c.Code, customer.Fold(c.Code), c.Name, c.CreatedAt.UnixMilli())
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
		return 0, customer.Errorf(customer.Conflict, "client %q already exists", c.Code)
	}
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// PurgeIdempotency deletes keys claimed before the given time.
func (s *Store) PurgeIdempotency(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.writer.do(ctx, 0, func(t *tx) error {
		res, err := t.exec(`DELETE FROM idempotency_keys WHERE created_at < ?`, before.UnixMilli())
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// CreateUser adds a user to an existing client.
func (s *Store) CreateUser(ctx context.Context, nu *customer.NewUser) (*customer.User, error) {
	if err := nu.Validate(); err != nil {
		return nil, err
	}
	var u *customer.User
	err := s.writer.do(ctx, 0, func(t *tx) error {
		var err error
		u, err = t.insertUser(nu)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func (t *tx) insertUser(nu *customer.NewUser) (*customer.User, error) {
	u := &customer.User{Username: nu.Username, Role: nu.Role, PasswordHash: nu.PasswordHash, CreatedAt: customer.Now()}
	err := t.queryRow(`SELECT id, code FROM clients WHERE code_fold = ?`, customer.Fold(nu.ClientCode)).Scan(&u.ClientID, &u.ClientCode)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "client %q does not exist", nu.ClientCode)
	}
	if err != nil {
		return nil, err
	}
	res, err := t.exec(`INSERT INTO users (client_id, username, username_fold, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		u.ClientID, u.Username, customer.Fold(u.Username), string(u.Role), u.PasswordHash, u.CreatedAt.UnixMilli())
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
		return nil, customer.Errorf(customer.Conflict, "user %s@%s already exists", nu.Username, u.ClientCode)
	}
	if err != nil {
		return nil, err
	}
	id, err := res.LastInsertId()
	u.ID = int32(id)
	return u, err
}

// selectUser reads users with their client's code, in the order scanUser takes.
const selectUser = `SELECT u.id, u.client_id, c.code, u.username, u.role, u.password_hash, u.disabled, u.created_at
	FROM users u JOIN clients c ON c.id = u.client_id`

func scanUser(r sqlquery.Scanner) (*customer.User, error) {
	var (
		u       customer.User
		role    string
		created int64
	)
	if err := r.Scan(&u.ID, &u.ClientID, &u.ClientCode, &u.Username, &role, &u.PasswordHash, &u.Disabled, &created); err != nil {
		return nil, err
	}
	u.Role, u.CreatedAt = customer.Role(role), time.UnixMilli(created).UTC()
	return &u, nil
}

// UserByLogin finds a user by client code and username, ignoring letter case.
func (s *Store) UserByLogin(ctx context.Context, clientCode, username string) (*customer.User, error) {
	u, err := scanUser(s.read.QueryRowContext(ctx, selectUser+` WHERE c.code_fold = ? AND u.username_fold = ?`,
		customer.Fold(clientCode), customer.Fold(username)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "no such user")
	}
	if err != nil {
		return nil, s.readErr(err)
	}
	return u, nil
}

// Clients returns every client in order of code.
func (s *Store) Clients(ctx context.Context) ([]*customer.Client, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, code, name, created_at FROM clients ORDER BY code_fold`)
	if err != nil {
		return nil, s.readErr(err)
	}
	defer rows.Close()
	var out []*customer.Client
	for rows.Next() {
		var (
			c       customer.Client
			created int64
		)
		if err := rows.Scan(&c.ID, &c.Code, &c.Name, &created); err != nil {
			return nil, s.readErr(err)
		}
		c.CreatedAt = time.UnixMilli(created).UTC()
		out = append(out, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(err)
	}
	return out, nil
}

// Users returns the users of one client, or of all when clientCode is empty.
func (s *Store) Users(ctx context.Context, clientCode string) ([]*customer.User, error) {
	query, args := selectUser+` ORDER BY c.code_fold, u.username_fold`, []any(nil)
	if clientCode != "" {
		var exists int
		if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM clients WHERE code_fold = ?`, customer.Fold(clientCode)).Scan(&exists); err != nil {
			return nil, s.readErr(err)
		}
		if exists == 0 {
			return nil, customer.Errorf(customer.NotFound, "client %q does not exist", clientCode)
		}
		query, args = selectUser+` WHERE c.code_fold = ? ORDER BY u.username_fold`, []any{customer.Fold(clientCode)}
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.readErr(err)
	}
	defer rows.Close()
	var out []*customer.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, s.readErr(err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(err)
	}
	return out, nil
}

// UpdateUser applies ch to one user and returns the user as changed.
func (s *Store) UpdateUser(ctx context.Context, clientCode, username string, ch *customer.UserChange) (*customer.User, error) {
	if err := ch.Validate(); err != nil {
		return nil, err
	}
	var u *customer.User
	err := s.writer.do(ctx, 0, func(t *tx) error {
		var err error
		u, err = scanUser(t.queryRow(selectUser+` WHERE c.code_fold = ? AND u.username_fold = ?`, customer.Fold(clientCode), customer.Fold(username)))
		if errors.Is(err, sql.ErrNoRows) {
			return customer.Errorf(customer.NotFound, "user %s@%s does not exist", username, clientCode)
		}
		if err != nil {
			return err
		}
		if ch.Role != nil {
			u.Role = *ch.Role
		}
		if ch.Disabled != nil {
			u.Disabled = *ch.Disabled
		}
		if ch.PasswordHash != nil {
			u.PasswordHash = *ch.PasswordHash
		}
		_, err = t.exec(`UPDATE users SET role = ?, disabled = ?, password_hash = ? WHERE id = ?`, string(u.Role), u.Disabled, u.PasswordHash, u.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Bootstrap creates the client and user of nu when there is no user yet, on the single
// writer, so that it runs alone.
func (s *Store) Bootstrap(ctx context.Context, clientName string, newUser func() (*customer.NewUser, error)) (bool, error) {
	created := false
	err := s.writer.do(ctx, 0, func(t *tx) error {
		var err error
		created, err = customer.Bootstrap(ctx, t, clientName, newUser)
		return err
	})
	if err != nil {
		return false, err
	}
	return created, nil
}

// AnyUser reports whether there is a user.
func (t *tx) AnyUser(context.Context) (bool, error) {
	var n int
	err := t.queryRow(`SELECT count(*) FROM (SELECT 1 FROM users LIMIT 1)`).Scan(&n)
	return n > 0, err
}

// ClientExists reports whether a client has the code, ignoring letter case.
func (t *tx) ClientExists(_ context.Context, code string) (bool, error) {
	var n int
	err := t.queryRow(`SELECT count(*) FROM clients WHERE code_fold = ?`, customer.Fold(code)).Scan(&n)
	return n > 0, err
}

// InsertClient stores a new client and sets its ID.
func (t *tx) InsertClient(_ context.Context, c *customer.Client) (err error) {
	c.ID, err = t.insertClient(c)
	return err
}

// InsertUser stores a new user of an existing client.
func (t *tx) InsertUser(_ context.Context, nu *customer.NewUser) (*customer.User, error) {
	return t.insertUser(nu)
}

func isConstraint(err error, code int) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == code
}

// readErr classifies an error of a read: after Close the store is unavailable.
func (s *Store) readErr(err error) error {
	if s.closed.Load() {
		return errClosed
	}
	return unavailable(err)
}

// unavailable marks an error of the database being busy, full or unreachable, or of a
// call that ran out of its caller's time, as the store being unavailable (503), keeping
// the cause; other errors pass unchanged, a caller that went away (context.Canceled)
// among them.
func unavailable(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &customer.Error{Kind: customer.Unavailable, Message: "the store did not answer in time", Err: err}
	}
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY,
		sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN:
		return &customer.Error{Kind: customer.Unavailable, Message: "the store is unavailable", Err: err}
	}
	return err
}
