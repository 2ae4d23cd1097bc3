package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlquery"
)

var _ customer.RequestLog = (*Store)(nil)

// requestLogRows is how many records the largest INSERT statement stores: fewer
// statements for a batch, each with a parameter list well below SQLite's limit. The rest
// of a batch goes in statements of 64, 32, ... 1 rows, each prepared once.
const requestLogRows = 128

// requestLogColumns is how many values a record's row takes.
const requestLogColumns = 14

const insertRequestLog = `INSERT INTO request_logs (client_id, created_date, request_id, method, path, query, status,
	duration_us, username, username_fold, customer_id, idempotency_key, replayed, error) VALUES `

const requestLogValues = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

// insertRequestLogRows holds the INSERT statement of n rows at index n, for each power of
// two up to requestLogRows.
var insertRequestLogRows = func() map[int]string {
	m := map[int]string{}
	for n := 1; n <= requestLogRows; n *= 2 {
		m[n] = insertRequestLog + strings.Repeat(requestLogValues+", ", n-1) + requestLogValues
	}
	return m
}()

// RequestLogSuffix is added to the store's path to name the request log's file. The
// request log is a database of its own, so that its writes share nothing with the
// customers' (their writer, transactions, fsyncs and WAL) and its commits do not make
// the connections that read customers drop the pages they had cached.
const RequestLogSuffix = "-requests"

// requestLogSync is how often the request log's committed records are synced at most:
// its commits are not synced one by one (synchronous=NORMAL), and a goroutine syncs its
// WAL this long after a commit, so that a power cut loses no more than the records of
// the last half second (with those the server had not yet written, well under a second),
// while a busy server syncs the request log twice a second instead of at every batch.
const requestLogSync = 500 * time.Millisecond

// requestsDB is the request log's database file.
type requestsDB struct {
	indexAfter int64             // requestLogIndexAfter
	write      *sql.DB           // one connection
	insert     map[int]*sql.Stmt // insertRequestLogRows prepared on write, by rows
	read       *sql.DB

	wal      string      // the path of its WAL
	unsynced atomic.Bool // a commit happened since the WAL was last synced
	stop     chan struct{}
	stopped  chan struct{}
}

// syncLoop syncs the WAL every requestLogSync while commits happen, and once more when
// the store closes.
func (r *requestsDB) syncLoop() {
	defer close(r.stopped)
	tick := time.NewTicker(requestLogSync)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if r.unsynced.Swap(false) {
				r.syncWAL()
			}
		case <-r.stop:
			if r.unsynced.Swap(false) {
				r.syncWAL()
			}
			return
		}
	}
}

// syncWAL makes every frame written to the WAL durable (fsync is the file's, whichever
// descriptor asks). A failure is not reported: a disk that cannot sync fails the
// store's own writes, which are synced at every commit, and those are reported.
func (r *requestsDB) syncWAL() {
	f, err := os.Open(r.wal)
	if err != nil {
		return
	}
	f.Sync()
	f.Close()
}

// requestsPragmas are those of the request log's connections beside dsn's. The statement
// journal of a multi-row INSERT stays in memory. The writer checkpoints when the WAL holds
// 16,000 pages (64 MiB) rather than SQLite's 1,000: a leaf written by several commits
// between two checkpoints is copied back to the file once (BenchmarkRecordRequests, batches
// of 1,000: 18.8 against 21.8 µs a record). The WAL file keeps that size once it has
// reached it.
const requestsPragmas = "&_pragma=synchronous(NORMAL)&_pragma=cache_size(-2000)&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(16000)" + mmapPragma

// openRequests opens (creating if needed, readable by its owner only) the request log's
// database at path and brings its schema up to date.
func openRequests(ctx context.Context, path string) (*requestsDB, error) {
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	wdb, err := sql.Open("sqlite", dsn(path, requestsPragmas))
	if err != nil {
		return nil, err
	}
	oneConnection(wdb)
	var mode string
	if err := wdb.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		wdb.Close()
		return nil, explain(path, err)
	}
	if _, err := applyMigrations(ctx, wdb, "requestlog"); err != nil {
		wdb.Close()
		return nil, explain(path, err)
	}
	r := &requestsDB{indexAfter: requestLogIndexAfter, write: wdb, insert: map[int]*sql.Stmt{}, wal: path + "-wal", stop: make(chan struct{}), stopped: make(chan struct{})}
	go r.syncLoop()
	for n, query := range insertRequestLogRows {
		if r.insert[n], err = wdb.PrepareContext(ctx, query); err != nil {
			r.close()
			return nil, explain(path, err)
		}
	}
	if r.read, err = sql.Open("sqlite", dsn(path, requestsPragmas+"&_pragma=query_only(ON)")); err != nil {
		r.close()
		return nil, err
	}
	r.read.SetMaxOpenConns(2)
	r.read.SetMaxIdleConns(2)
	return r, nil
}

func (r *requestsDB) close() error {
	select {
	case <-r.stopped: // closed before
	default:
		close(r.stop)
		<-r.stopped
	}
	var errs []error
	for _, st := range r.insert {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	errs = append(errs, r.write.Close())
	if r.read != nil {
		errs = append(errs, r.read.Close())
	}
	return errors.Join(errs...)
}

// RecordRequests stores records in one transaction of the request log's file. They are
// operational records: they do not go through customer.Apply. A record whose client is
// named by its code only is stored under that client's id, and dropped when no client
// has that code (there is nobody to show it to). Errors: Unavailable.
func (s *Store) RecordRequests(ctx context.Context, rs []*customer.LoggedRequest) error {
	if len(rs) == 0 {
		return nil
	}
	clients, err := customer.ClientsOf(rs, func(code string) (id int64, err error) {
		if err = s.read.QueryRowContext(ctx, `SELECT id FROM clients WHERE code_fold = ?`, code).Scan(&id); errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
		return id, err
	})
	if err != nil {
		return s.readErr(err)
	}
	// Values of the types the driver binds as they are (int64, string, bool, nil), which
	// database/sql passes on without converting.
	rows := make([]any, 0, len(rs)*requestLogColumns)
	for i, r := range rs {
		if clients[i] == 0 {
			continue
		}
		rows = append(rows, clients[i], r.Created.UnixMilli(), r.RequestID, r.Method, r.Path, r.Query, int64(r.Status),
			r.Duration.Microseconds(), r.Username, customer.Fold(r.Username), nullID(r.CustomerID),
			nullText(r.IdempotencyKey), r.Replayed, nullText(r.Error))
	}
	if len(rows) == 0 {
		return nil
	}
	tx, err := s.requests.write.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	var last, through int64 // the last record's id; the index by customer's
	for len(rows) > 0 {
		n := requestLogRows
		for n*requestLogColumns > len(rows) {
			n /= 2
		}
		res, err := tx.StmtContext(ctx, s.requests.insert[n]).ExecContext(ctx, rows[:n*requestLogColumns]...)
		if err == nil {
			last, err = res.LastInsertId()
		}
		if err != nil {
			return unavailable(err)
		}
		rows = rows[n*requestLogColumns:]
	}
	if err := tx.QueryRowContext(ctx, `SELECT through FROM request_logs_indexed`).Scan(&through); err != nil {
		return unavailable(err)
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	s.requests.unsynced.Store(true)
	if last-through >= s.requests.indexAfter {
		// The records are stored: a failure here leaves them to be indexed by the next
		// batch or the next read by customer (which reports it, if it fails again).
		s.requests.indexCustomers(ctx)
	}
	return nil
}

// requestLogIndexAfter is how many records wait for the index by customer before the
// request log's writer brings it up to date: enough that the records of one customer
// share the write of their leaf (at 10,000 customers, most do), few enough that it takes
// a fraction of a second. A read by customer brings it up to date first.
const requestLogIndexAfter = 50_000

// requestLogIndexChunk is the most records one transaction adds to the index by customer,
// so that a request log of many unindexed records (moved from the store by migration
// 0008) is indexed in steps rather than in one transaction that holds its writer for long.
const requestLogIndexChunk = 4 * requestLogIndexAfter

// indexCustomers brings request_logs_customers up to date with every record stored: it
// adds the records after request_logs_indexed.through in the index's order, and moves
// through to the last of them. Errors: Unavailable.
func (r *requestsDB) indexCustomers(ctx context.Context) error {
	for {
		done, err := r.indexCustomersChunk(ctx)
		if err != nil || done {
			return err
		}
	}
}

// indexCustomersChunk adds up to requestLogIndexChunk records to the index by customer,
// in one transaction, and reports whether none were left.
func (r *requestsDB) indexCustomersChunk(ctx context.Context) (done bool, err error) {
	tx, err := r.write.BeginTx(ctx, nil)
	if err != nil {
		return false, unavailable(err)
	}
	defer tx.Rollback()
	var through, last int64
	if err := tx.QueryRowContext(ctx, `SELECT through, (SELECT coalesce(max(id), 0) FROM request_logs)
		FROM request_logs_indexed`).Scan(&through, &last); err != nil {
		return false, unavailable(err)
	}
	if last <= through {
		return true, nil
	}
	upto := min(last, through+requestLogIndexChunk)
	if _, err := tx.ExecContext(ctx, `INSERT INTO request_logs_customers (client_id, customer_id, created_date, id)
		SELECT client_id, customer_id, created_date, id FROM request_logs
		WHERE id > ? AND id <= ? AND customer_id IS NOT NULL
		ORDER BY client_id, customer_id, created_date, id`, through, upto); err != nil {
		return false, unavailable(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE request_logs_indexed SET through = ?`, upto); err != nil {
		return false, unavailable(err)
	}
	if err := tx.Commit(); err != nil {
		return false, unavailable(err)
	}
	r.unsynced.Store(true)
	return upto == last, nil
}

// nullID is a customer id for the driver: NULL for 0.
func nullID(id int32) any {
	if id == 0 {
		return nil
	}
	return int64(id)
}

// nullText is a text for the driver: NULL for "".
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// RequestLog returns one page of the client's request log matching q, newest first.
// Errors: Unavailable.
func (s *Store) RequestLog(ctx context.Context, client int64, q *customer.RequestLogQuery) (*customer.RequestLogPage, error) {
	query, args := sqlquery.RequestLog(dialect{}, client, q)
	if len(q.CustomerIDs) > 0 {
		// The records stored by now are all found by customer once the index is up to date.
		if err := s.requests.indexCustomers(ctx); err != nil {
			return nil, err
		}
		query, args = sqlquery.RequestLogByCustomer(dialect{}, client, q)
	}
	rows, err := s.requests.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.readErr(err)
	}
	defer rows.Close()
	var found []*customer.LoggedRequest
	for rows.Next() {
		var (
			r                 = &customer.LoggedRequest{ClientID: client}
			created, duration int64
			id                sql.NullInt32
			key, msg          sql.NullString
		)
		if err := rows.Scan(&r.RequestID, &created, &r.Method, &r.Path, &r.Query, &r.Status, &duration,
			&r.Username, &id, &key, &r.Replayed, &msg); err != nil {
			return nil, s.readErr(err)
		}
		r.Created = time.UnixMilli(created).UTC()
		r.Duration = time.Duration(duration) * time.Microsecond
		r.CustomerID, r.IdempotencyKey, r.Error = id.Int32, key.String, msg.String
		found = append(found, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(err)
	}
	return q.PageOf(found), nil
}

// PurgeRequestLog deletes the records created before the given time, client by client
// and a few thousand at a time, each step a transaction of the request log's file.
// Errors: Unavailable.
func (s *Store) PurgeRequestLog(ctx context.Context, before time.Time) (int64, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM clients ORDER BY id`)
	if err != nil {
		return 0, s.readErr(err)
	}
	var clients []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, s.readErr(err)
		}
		clients = append(clients, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, s.readErr(err)
	}
	return customer.PurgeInBatches(clients, func(client int64) (int64, error) {
		return s.requests.purge(ctx, client, before.UnixMilli())
	})
}

// purge deletes up to customer.PurgeRows of a client's records created before the given
// time (Unix milliseconds), oldest first, with their entries in the index by customer,
// in one transaction, and returns how many it deleted. Errors: Unavailable.
func (r *requestsDB) purge(ctx context.Context, client, before int64) (int64, error) {
	tx, err := r.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, unavailable(err)
	}
	defer tx.Rollback()
	// Both statements pick the same records: the same rows in the same order, in one
	// transaction. A record without a customer matches no entry.
	const oldest = `SELECT %s FROM request_logs WHERE client_id = ?1 AND created_date < ?2 ORDER BY created_date, id LIMIT ?3`
	if _, err := tx.ExecContext(ctx, `DELETE FROM request_logs_customers WHERE (client_id, customer_id, created_date, id) IN (`+
		fmt.Sprintf(oldest, "client_id, customer_id, created_date, id")+`)`, client, before, customer.PurgeRows); err != nil {
		return 0, unavailable(err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM request_logs WHERE id IN (`+fmt.Sprintf(oldest, "id")+`)`,
		client, before, customer.PurgeRows)
	if err != nil {
		return 0, unavailable(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, unavailable(err)
	}
	// SQLite gives a new record the id after the largest in the table, so when the purge
	// deletes the last records, ids are given again: through must stay below them.
	if _, err := tx.ExecContext(ctx, `UPDATE request_logs_indexed
		SET through = min(through, (SELECT coalesce(max(id), 0) FROM request_logs))`); err != nil {
		return 0, unavailable(err)
	}
	if err := tx.Commit(); err != nil {
		return 0, unavailable(err)
	}
	r.unsynced.Store(true)
	return n, nil
}
