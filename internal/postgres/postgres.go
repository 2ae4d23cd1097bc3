// Package postgres implements customer.Store on PostgreSQL through a pgx connection pool.
//
// Every write is one READ COMMITTED transaction that runs customer.Apply, the same
// algorithm the SQLite store runs, with row locks standing in for SQLite's single writer:
// the customer being written is locked FOR UPDATE and every customer read to check a
// parent FOR SHARE, so the checks Apply makes still hold when the transaction commits.
// pgx caches a prepared statement per query text on each connection.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/migrate"
	"github.com/custd/custd/internal/sqlquery"
)

var _ customer.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory lock keys, one per task that must not run twice at once across processes.
// Their high bytes spell "custd" so that they stay clear of other applications' keys in a
// shared database.
const (
	lockMigrate   int64 = 0x637573746400_01
	lockBootstrap int64 = 0x637573746400_02
	// lockSequencer (sequencer.go) is 0x637573746400_03.
)

// defaultMaxConns is the size of a process's connection pool unless the URL's
// pool_max_conns sets it.
const defaultMaxConns = 16

// Store is a customer.Store on one PostgreSQL database.
type Store struct {
	pool   *pgxpool.Pool
	closed atomic.Bool
	schema migrate.Report

	// The change feed's sequencer loop (sequencer.go).
	wakeup    chan struct{}
	sequenced chan struct{} // closed when the loop has ended
	stop      context.CancelFunc
}

// Open connects to the PostgreSQL database at url (postgres:// or postgresql://, with
// pgx's pool_* parameters if wanted) and brings its schema up to date. Errors: the URL
// does not parse, the schema is newer than this binary, or (kind Unavailable) the server
// cannot be reached.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err) // pgx masks the password
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "custd"
	}
	if !strings.Contains(url, "pool_max_conns=") {
		// pgx's default (4 on two cores) keeps too few transactions in flight: a write
		// holds its connection across several round trips and its commit's flush, and
		// PostgreSQL flushes concurrent commits together only when there are some.
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	report, err := applyMigrations(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres %s@%s/%s: %w", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	s := &Store{pool: pool, schema: report, wakeup: make(chan struct{}, 1), sequenced: make(chan struct{})}
	var seqCtx context.Context
	seqCtx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	go s.sequence(seqCtx)
	return s, nil
}

// Schema reports what Open did to the schema: the migrations it applied and the version.
func (s *Store) Schema() migrate.Report { return s.schema }

// applyMigrations applies the pending migrations, each in its own transaction, under a
// session advisory lock: two processes that start at once take turns, and the second
// finds the first's migrations recorded and applies nothing.
func applyMigrations(ctx context.Context, pool *pgxpool.Pool) (migrate.Report, error) {
	var report migrate.Report
	ms, err := migrate.Load(migrations, "migrations")
	if err != nil {
		return report, err
	}
	pc, err := pool.Acquire(ctx)
	if err != nil {
		return report, unavailableErr(err)
	}
	// The connection leaves the pool and is closed at the end, which releases the
	// session lock whatever happened, rather than going back to the pool holding it.
	conn := pc.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockMigrate); err != nil {
		return report, storeError(err)
	}
	// Checked before creating, so that a role without the right to create tables can
	// open a database whose schema is already current.
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return report, storeError(err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)`); err != nil {
			return report, storeError(err)
		}
	}
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&report.Version); err != nil {
		return report, storeError(err)
	}
	pending, err := migrate.Pending(ms, report.Version)
	if err != nil {
		return report, err
	}
	for _, m := range pending {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// Without arguments pgx sends the file with the simple protocol, which runs
			// all of its statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, customer.Now())
			return err
		})
		if err != nil {
			return report, fmt.Errorf("migration %s: %w", m.Name, storeError(err))
		}
		report.Applied = append(report.Applied, m.Name)
		report.Version = m.Version
	}
	return report, nil
}

// Close waits for the calls in progress to give back their connections and closes them
// all; acknowledged writes are already committed. Calls after Close fail as Unavailable.
// Closing again does nothing.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stop()
	<-s.sequenced
	s.pool.Close()
	return nil
}

// PoolStat returns the state of the connection pool now: connections in use, idle and
// being opened, and the counts and total wait of the connections taken from it.
func (s *Store) PoolStat() *pgxpool.Stat { return s.pool.Stat() }

// Ping reports whether the database answers. Errors: Unavailable.
func (s *Store) Ping(ctx context.Context) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error { return c.Ping(ctx) })
	if err != nil && customer.KindOf(err) != customer.Unavailable {
		return &customer.Error{Kind: customer.Unavailable, Message: "the store is unavailable", Err: err}
	}
	return err
}

// Customer returns one customer of the client. Errors: NotFound, Unavailable.
func (s *Store) Customer(ctx context.Context, client int64, id int32) (*customer.Customer, error) {
	st, err := s.StoredCustomer(ctx, client, id)
	if err != nil {
		return nil, err
	}
	return st.Customer()
}

// StoredCustomer returns one customer of the client as stored.
func (s *Store) StoredCustomer(ctx context.Context, client int64, id int32) (*customer.Stored, error) {
	var st *customer.Stored
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		var err error
		st, err = sqlquery.ScanStored(conn.QueryRow(ctx, sqlquery.SelectCustomer+` WHERE c.client_id = $1 AND c.customer_id = $2`, client, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(id)
	}
	return st, err
}

func notFound(id int32) error { return customer.Errorf(customer.NotFound, "customer %d not found", id) }

// SearchCustomers returns one page of the client's customers matching q. Errors:
// Unavailable.
func (s *Store) SearchCustomers(ctx context.Context, client int64, q *customer.Query) (*customer.Page, error) {
	q, none := storableQuery(q)
	if none {
		return &customer.Page{}, nil
	}
	found, err := search(ctx, s, client, q, sqlquery.ScanCustomer)
	if err != nil {
		return nil, err
	}
	return q.PageOf(found), nil
}

// SearchStored returns one page of the client's customers that match q, as stored.
func (s *Store) SearchStored(ctx context.Context, client int64, q *customer.Query) (*customer.StoredPage, error) {
	q, none := storableQuery(q)
	if none {
		return &customer.StoredPage{}, nil
	}
	found, err := search(ctx, s, client, q, sqlquery.ScanStored)
	if err != nil {
		return nil, err
	}
	return q.StoredPageOf(found), nil
}

// search reads the rows of a search of a query that storableQuery kept, each with scan.
func search[T any](ctx context.Context, s *Store, client int64, q *customer.Query, scan func(sqlquery.Scanner) (T, error)) ([]T, error) {
	where, order, args := sqlquery.Search(dialect{}, client, q)
	// A search is planned for its own values, never from a cached generic plan: a generic
	// plan cannot tell a rare name fragment (read the trigram index) from a common one
	// (walk the client's customers in page order and stop at the end of the page), and
	// picks a scan and sort of the client's whole table for both. QueryExecModeExec sends
	// the query as an unnamed statement, which PostgreSQL plans with its parameters.
	args = append([]any{pgx.QueryExecModeExec}, args...)
	query := sqlquery.SelectCustomer + " WHERE " + where + " ORDER BY " + order + sqlquery.Limit(q)
	if q.Offset() > 0 {
		// A later page finds its customers' ids first, skipping the earlier pages' rows in
		// the index alone, and reads only its own rows' documents: a plain OFFSET reads
		// every skipped row from the table (200 ms for page 199 of 500 at 100,000).
		query = sqlquery.SelectCustomer + " JOIN (SELECT c.customer_id FROM customers c WHERE " + where + " ORDER BY " + order +
			sqlquery.Limit(q) + ") page ON page.customer_id = c.customer_id ORDER BY " + order
	}
	var found []T
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		rows, err := conn.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scan(rows)
			if err != nil {
				return err
			}
			found = append(found, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// storableQuery drops the text values of q that PostgreSQL cannot hold in a text column
// (a NUL character, or invalid UTF-8). No stored value contains one, so such a value
// matches nothing; sending it would be an error instead. none reports that a filter is
// left with no value that can match, so the search has no results.
func storableQuery(q *customer.Query) (_ *customer.Query, none bool) {
	if !storable(q.Email) || !storable(q.Name) {
		return q, true
	}
	clean := true
	for _, a := range q.AccountNumbers {
		clean = clean && storable(a)
	}
	if clean {
		return q, false
	}
	c := *q
	c.AccountNumbers = nil
	for _, a := range q.AccountNumbers {
		if storable(a) {
			c.AccountNumbers = append(c.AccountNumbers, a)
		}
	}
	return &c, len(c.AccountNumbers) == 0
}

// dialect is PostgreSQL's part of a search query.
type dialect struct{}

func (dialect) Placeholder(n int) string { return "$" + strconv.Itoa(n) }

func (dialect) Bool(b bool) any { return b }

// Time cuts t to the millisecond the way SQLite's integer columns do (UnixMilli), so that
// a bound with a finer fraction includes and excludes the same customers in both stores.
func (dialect) Time(t time.Time) any { return millis(t) }

func (dialect) Millis(col string) string { return "(extract(epoch FROM " + col + ") * 1000)::bigint" }

// Order puts customers without a value first ascending and last descending, as SQLite
// does. Every sort index is built with NULLS FIRST on each column, so a forward scan gives
// exactly "ASC NULLS FIRST" and a backward scan "DESC NULLS LAST", for the key and the
// customer_id tie-break alike.
func (dialect) Order(col string, desc bool) string {
	if desc {
		return col + " DESC NULLS LAST"
	}
	return col + " ASC NULLS FIRST"
}

// Substring matches a query of three or more characters with LIKE, which the trigram
// indexes serve; a shorter one cannot use them and is checked with strpos on each of the
// client's customers. The folded columns are COLLATE "C", so both compare bytes, as
// SQLite does.
func (dialect) Substring(field sqlquery.TextField, s string, arg func(any) string) string {
	cols := []string{"email_fold"}
	if field == sqlquery.NameText {
		cols = []string{"company_fold", "person_fold"}
	}
	conds := make([]string, len(cols))
	if sqlquery.ShortSubstring(s) {
		p := arg(s)
		for i, c := range cols {
			conds[i] = "strpos(c." + c + ", " + p + ") > 0"
		}
	} else {
		p := arg(sqlquery.LikePattern(s)) // LIKE's default escape is '\', as LikePattern uses
		for i, c := range cols {
			conds[i] = "c." + c + " LIKE " + p
		}
	}
	return "(" + strings.Join(conds, " OR ") + ")"
}

// WriteCustomer runs w through customer.Apply in one transaction, retried from the start
// when PostgreSQL aborts it for a deadlock or a race on a unique value. Errors: Invalid,
// NotFound, Conflict, PreconditionFailed, Unavailable.
func (s *Store) WriteCustomer(ctx context.Context, w *customer.Write) (*customer.Customer, error) {
	var out *customer.Customer
	err := s.inTx(ctx, func(t pgx.Tx) error {
		c, err := customer.Apply(ctx, &tx{t}, w, customer.Now())
		out = c
		return err
	})
	if err != nil {
		return nil, err
	}
	s.wake() // number the new version for the change feed
	return out, nil
}

// BeginIdempotent claims k, or returns the response stored under it. Errors:
// IdempotencyMismatch, Conflict (the first request is still running), Unavailable.
//
// The claim is an INSERT that does nothing when the key exists. Two requests with one key
// cannot both insert: the second's INSERT waits for the first's transaction and then finds
// the row. It then reads the row FOR UPDATE, so that of two requests taking over an
// expired or abandoned claim only the first does, and the second sees the fresh claim.
func (s *Store) BeginIdempotent(ctx context.Context, k *customer.IdempotencyKey) (*customer.Reply, error) {
	var replay *customer.Reply
	err := s.inTx(ctx, func(t pgx.Tx) error {
		replay = nil
		// A key released or purged between the INSERT and the SELECT is free again: claim
		// it anew. Each turn needs another request to delete the key, so few turns suffice.
		for range 5 {
			now := time.Now()
			tag, err := t.Exec(ctx, `INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (user_id, key) DO NOTHING`, k.User, k.Key, k.Fingerprint, millis(now))
			if err != nil || tag.RowsAffected() == 1 {
				return err
			}
			var (
				rec    customer.IdempotencyRecord
				status *int32
				r      customer.Reply
			)
			err = t.QueryRow(ctx, `SELECT fingerprint, created_at, status, etag, location, body FROM idempotency_keys
				WHERE user_id = $1 AND key = $2 FOR UPDATE`, k.User, k.Key).Scan(&rec.Fingerprint, &rec.ClaimedAt, &status, &r.ETag, &r.Location, &r.Body)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if status != nil {
				r.Status = int(*status)
				rec.Reply = &r
			}
			var take bool
			if replay, take, err = rec.Resolve(k, now); !take {
				return err
			}
			_, err = t.Exec(ctx, `UPDATE idempotency_keys SET fingerprint = $1, created_at = $2, status = NULL, etag = '', location = '', body = NULL
				WHERE user_id = $3 AND key = $4`, k.Fingerprint, millis(now), k.User, k.Key)
			return err
		}
		return fmt.Errorf("idempotency key %q: claimed and deleted by others too often", k.Key)
	})
	return replay, err
}

// FinishIdempotent records r as the response of k. Errors: Unavailable.
func (s *Store) FinishIdempotent(ctx context.Context, k *customer.IdempotencyKey, r *customer.Reply) error {
	return s.withConn(ctx, func(c *pgxpool.Conn) error { return completeIdempotent(ctx, c, k, r) })
}

// ReleaseIdempotent forgets the claim on k, unless its response was recorded. Errors:
// Unavailable.
func (s *Store) ReleaseIdempotent(ctx context.Context, k *customer.IdempotencyKey) error {
	return s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status IS NULL`, k.User, k.Key)
		return err
	})
}

// PurgeIdempotency deletes the keys claimed before the given time and reports how many.
// Errors: Unavailable.
func (s *Store) PurgeIdempotency(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, millis(before))
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// CreateClient adds a client. Errors: Invalid, Conflict (the code is taken, in any letter
// case), Unavailable.
func (s *Store) CreateClient(ctx context.Context, code, name string) (*customer.Client, error) {
	c, err := customer.NewClient(code, name)
	if err != nil {
		return nil, err
	}
	err = s.withConn(ctx, func(conn *pgxpool.Conn) error {
		var err error
		c.ID, err = insertClient(ctx, conn, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// querier is what both a connection and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func insertClient(ctx context.Context, q querier, c *customer.Client) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO clients (code, code_fold, name, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		c.Code, customer.Fold(c.Code), c.Name, c.CreatedAt).Scan(&id)
	if isCode(err, uniqueViolation) {
		return 0, &customer.Error{Kind: customer.Conflict, Message: fmt.Sprintf("client %q already exists", c.Code), Err: err}
	}
	return id, err
}

// CreateUser adds a user to an existing client. Errors: Invalid, NotFound (no such
// client), Conflict (the username is taken in the client, in any letter case),
// Unavailable.
func (s *Store) CreateUser(ctx context.Context, nu *customer.NewUser) (*customer.User, error) {
	if err := nu.Validate(); err != nil {
		return nil, err
	}
	var u *customer.User
	err := s.inTx(ctx, func(t pgx.Tx) error {
		var err error
		u, err = insertUser(ctx, t, nu)
		return err
	})
	return u, err
}

func insertUser(ctx context.Context, q querier, nu *customer.NewUser) (*customer.User, error) {
	u := &customer.User{Username: nu.Username, Role: nu.Role, PasswordHash: nu.PasswordHash, CreatedAt: customer.Now()}
	err := q.QueryRow(ctx, `SELECT id, code FROM clients WHERE code_fold = $1`, customer.Fold(nu.ClientCode)).Scan(&u.ClientID, &u.ClientCode)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "client %q does not exist", nu.ClientCode)
	}
	if err != nil {
		return nil, err
	}
	err = q.QueryRow(ctx, `INSERT INTO users (client_id, username, username_fold, role, password_hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		u.ClientID, u.Username, customer.Fold(u.Username), string(u.Role), u.PasswordHash, u.CreatedAt).Scan(&u.ID)
	if isCode(err, uniqueViolation) {
		return nil, &customer.Error{Kind: customer.Conflict, Message: fmt.Sprintf("user %s@%s already exists", nu.Username, u.ClientCode), Err: err}
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

// selectUser reads users with their client's code, in the order scanUser takes.
const selectUser = `SELECT u.id, u.client_id, c.code, u.username, u.role, u.password_hash, u.disabled, u.created_at
	FROM users u JOIN clients c ON c.id = u.client_id`

func scanUser(r pgx.Row) (*customer.User, error) {
	var (
		u    customer.User
		role string
	)
	if err := r.Scan(&u.ID, &u.ClientID, &u.ClientCode, &u.Username, &role, &u.PasswordHash, &u.Disabled, &u.CreatedAt); err != nil {
		return nil, err
	}
	u.Role, u.CreatedAt = customer.Role(role), u.CreatedAt.UTC()
	return &u, nil
}

// UserByLogin finds a user by client code and username, both matched ignoring letter
// case. Errors: NotFound, Unavailable.
func (s *Store) UserByLogin(ctx context.Context, clientCode, username string) (*customer.User, error) {
	if !storable(clientCode) || !storable(username) {
		return nil, customer.Errorf(customer.NotFound, "no such user")
	}
	var u *customer.User
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		var err error
		u, err = scanUser(c.QueryRow(ctx, selectUser+` WHERE c.code_fold = $1 AND u.username_fold = $2`,
			customer.Fold(clientCode), customer.Fold(username)))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "no such user")
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Clients returns every client in order of code. Errors: Unavailable.
func (s *Store) Clients(ctx context.Context) ([]*customer.Client, error) {
	var out []*customer.Client
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		rows, err := conn.Query(ctx, `SELECT id, code, name, created_at FROM clients ORDER BY code_fold`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c customer.Client
			if err := rows.Scan(&c.ID, &c.Code, &c.Name, &c.CreatedAt); err != nil {
				return err
			}
			c.CreatedAt = c.CreatedAt.UTC()
			out = append(out, &c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Users returns the users of one client, or of all when clientCode is empty. Errors:
// NotFound (no such client), Unavailable.
func (s *Store) Users(ctx context.Context, clientCode string) ([]*customer.User, error) {
	if !storable(clientCode) {
		return nil, customer.Errorf(customer.NotFound, "client %q does not exist", clientCode)
	}
	var out []*customer.User
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		query, args := selectUser+` ORDER BY c.code_fold, u.username_fold`, []any(nil)
		if clientCode != "" {
			var exists bool
			if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM clients WHERE code_fold = $1)`, customer.Fold(clientCode)).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return customer.Errorf(customer.NotFound, "client %q does not exist", clientCode)
			}
			query, args = selectUser+` WHERE c.code_fold = $1 ORDER BY u.username_fold`, []any{customer.Fold(clientCode)}
		}
		rows, err := conn.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return err
			}
			out = append(out, u)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateUser applies ch to one user and returns the user as changed. Errors: Invalid,
// NotFound, Unavailable.
func (s *Store) UpdateUser(ctx context.Context, clientCode, username string, ch *customer.UserChange) (*customer.User, error) {
	if err := ch.Validate(); err != nil {
		return nil, err
	}
	if !storable(clientCode) || !storable(username) {
		return nil, customer.Errorf(customer.NotFound, "user %s@%s does not exist", username, clientCode)
	}
	var u *customer.User
	err := s.inTx(ctx, func(t pgx.Tx) error {
		var err error
		u, err = scanUser(t.QueryRow(ctx, selectUser+` WHERE c.code_fold = $1 AND u.username_fold = $2 FOR UPDATE OF u`,
			customer.Fold(clientCode), customer.Fold(username)))
		if errors.Is(err, pgx.ErrNoRows) {
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
		_, err = t.Exec(ctx, `UPDATE users SET role = $1, disabled = $2, password_hash = $3 WHERE id = $4`,
			string(u.Role), u.Disabled, u.PasswordHash, u.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Bootstrap creates the client and user that newUser returns when the store has no user
// at all, and reports whether it did. A transaction-scoped advisory lock makes processes
// that start at once take turns: the later ones find the user and do nothing. Errors:
// newUser's, Invalid, Unavailable.
func (s *Store) Bootstrap(ctx context.Context, clientName string, newUser func() (*customer.NewUser, error)) (bool, error) {
	created := false
	err := s.inTx(ctx, func(t pgx.Tx) error {
		if _, err := t.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockBootstrap); err != nil {
			return err
		}
		// READ COMMITTED: the statements after the lock was granted see the user that a
		// process holding the lock before us created.
		var err error
		created, err = customer.Bootstrap(ctx, &tx{t}, clientName, newUser)
		return err
	})
	return created && err == nil, err
}

// AnyUser reports whether there is a user.
func (t *tx) AnyUser(ctx context.Context) (bool, error) {
	var users bool
	err := t.t.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&users)
	return users, err
}

// ClientExists reports whether a client has the code, ignoring letter case.
func (t *tx) ClientExists(ctx context.Context, code string) (bool, error) {
	var exists bool
	err := t.t.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM clients WHERE code_fold = $1)`, customer.Fold(code)).Scan(&exists)
	return exists, err
}

// InsertClient stores a new client and sets its ID.
func (t *tx) InsertClient(ctx context.Context, c *customer.Client) (err error) {
	c.ID, err = insertClient(ctx, t.t, c)
	return err
}

// InsertUser stores a new user of an existing client.
func (t *tx) InsertUser(ctx context.Context, nu *customer.NewUser) (*customer.User, error) {
	return insertUser(ctx, t.t, nu)
}
