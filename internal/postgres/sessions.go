package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlquery"
)

var _ customer.Sessions = (*Store)(nil)

// CreateSession stores a new session of a user of the client. Errors: NotFound (no such
// user of the client), Unavailable.
func (s *Store) CreateSession(ctx context.Context, se *customer.Session) error {
	return s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, sqlquery.InsertSession(dialect{}), se.IDHash, se.PasswordDigest, millis(se.Created),
			millis(se.LastSeen), se.UserID, se.ClientID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return customer.Errorf(customer.NotFound, "user %d of client %d not found", se.UserID, se.ClientID)
		}
		return nil
	})
}

// Session returns the session stored under idHash, with its user. Errors: NotFound,
// Unavailable.
func (s *Store) Session(ctx context.Context, idHash string) (*customer.Session, error) {
	var se *customer.Session
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		var err error
		se, err = sqlquery.ScanSession(c.QueryRow(ctx, sqlquery.SelectSession(dialect{}), idHash))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "no such session")
	}
	if err != nil {
		return nil, err
	}
	return se, nil
}

// TouchSession records that the session was used at the given time; its last use never
// goes backwards, whichever process records it. Errors: Unavailable.
func (s *Store) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	return s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, `UPDATE console_sessions SET last_seen = greatest(last_seen, $1) WHERE id_hash = $2`, millis(at), idHash)
		return err
	})
}

// DeleteSession ends a session. Errors: Unavailable.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	return s.withConn(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, idHash)
		return err
	})
}

// PurgeSessions deletes the sessions last used before the given time. Errors:
// Unavailable.
func (s *Store) PurgeSessions(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, `DELETE FROM console_sessions WHERE last_seen < $1`, millis(before))
		n = tag.RowsAffected()
		return err
	})
	return n, err
}
