package postgres

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custd/custd/internal/customer"
)

// SQLSTATE codes the store acts on.
const (
	uniqueViolation      = "23505"
	serializationFailure = "40001"
	deadlockDetected     = "40P01"
)

// maxAttempts bounds how often a transaction runs when PostgreSQL keeps aborting it for
// a deadlock, a serialization failure or a race on a unique value.
const maxAttempts = 5

// withConn runs fn on a pooled connection and classifies its error.
func (s *Store) withConn(ctx context.Context, fn func(*pgxpool.Conn) error) error {
	conn, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	return storeError(classify(conn, fn(conn)))
}

// acquire takes a connection from the pool. Errors: Unavailable (the store is closed, the
// server cannot be reached, or no connection became free before ctx's deadline).
func (s *Store) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	conn, err := s.pool.Acquire(ctx)
	switch {
	case err == nil:
		return conn, nil
	case s.closed.Load():
		return nil, &customer.Error{Kind: customer.Unavailable, Message: "the store is shutting down", Err: err}
	}
	return nil, unavailableErr(err)
}

// inTx runs fn in a READ COMMITTED transaction and commits it. When PostgreSQL aborts the
// transaction for a deadlock or a serialization failure, or a unique index refuses a
// customer's value that another transaction took in the meantime, it runs fn again from
// the start: a fresh run reads the other transaction's committed rows, so it either
// succeeds or fails the way the SQLite store would (a rule's own error naming the owner of
// the value, not the index's).
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return storeError(err)
		}
		// A short random pause keeps the transactions that collided from colliding again.
		pause := time.Duration(attempt) * time.Duration(1+rand.IntN(5)) * time.Millisecond
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return storeError(err)
		}
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(pgx.Tx) error) error {
	conn, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	t, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return classify(conn, err)
	}
	// A no-op after Commit; after a failure it ends the transaction even if ctx is done.
	// A connection left inside a transaction is closed by the pool, not reused.
	defer t.Rollback(context.WithoutCancel(ctx))
	if err := fn(t); err != nil {
		return classify(conn, err)
	}
	return classify(conn, t.Commit(ctx))
}

// retryable reports whether err aborted a transaction that may succeed if run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case serializationFailure, deadlockDetected:
		return true
	case uniqueViolation:
		return pe.ConstraintName == "customers_account_number" || pe.ConstraintName == "customers_registration_code"
	}
	return false
}

// classify marks err as Unavailable when the connection it happened on was lost: a
// network failure closes it, a statement's own error does not.
func classify(conn *pgxpool.Conn, err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	var ce *customer.Error
	if !errors.As(err, &pe) && !errors.As(err, &ce) && conn.Conn().IsClosed() && !errors.Is(err, context.Canceled) {
		return unavailableErr(err)
	}
	return err
}

// storeError marks err as Unavailable (503) when it says that the database is unreachable,
// shutting down, overloaded or out of resources, keeping it as the cause; other errors,
// among them those of a wrong query, pass unchanged and become a 500.
func storeError(err error) error {
	if err == nil {
		return nil
	}
	var ce *customer.Error
	if errors.As(err, &ce) {
		return err
	}
	if isUnavailable(err) {
		return unavailableErr(err)
	}
	return err
}

func isUnavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:2] {
		case "08", // connection exception
			"53", // insufficient resources: disk full, out of memory, too many connections
			"57", // operator intervention: shutdown, statement_timeout, cannot connect now
			"58": // system error: I/O
			return true
		}
		switch pe.Code {
		case serializationFailure, deadlockDetected, // still colliding after maxAttempts
			"55P03", // lock_not_available: lock_timeout
			"25006": // read_only_sql_transaction: a standby after a failover
			return true
		}
		return false
	}
	var (
		connect *pgconn.ConnectError
		netErr  net.Error
	)
	return errors.As(err, &connect) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// unavailableErr wraps err as Unavailable. It is used as is for errors of acquiring a
// connection (the server cannot be reached, the pool is closed, or none became free before
// the deadline); a caller that went away keeps its context.Canceled.
func unavailableErr(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return &customer.Error{Kind: customer.Unavailable, Message: "the store is unavailable", Err: err}
}

func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// storable reports whether PostgreSQL can hold s in a text column: it takes neither NUL
// characters nor invalid UTF-8, which SQLite stores as they are.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// millis cuts t to whole milliseconds, as custd stores times.
func millis(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }
