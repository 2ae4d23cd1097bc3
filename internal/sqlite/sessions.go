package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlquery"
)

var _ customer.Sessions = (*Store)(nil)

// CreateSession stores a new session of a user of the client, as a write of the writer's
// group commit. Errors: NotFound (no such user of the client), Unavailable.
func (s *Store) CreateSession(ctx context.Context, se *customer.Session) error {
	return s.writer.do(ctx, 0, func(t *tx) error {
		res, err := t.exec(sqlquery.InsertSession(dialect{}), se.IDHash, se.PasswordDigest, se.Created.UnixMilli(),
			se.LastSeen.UnixMilli(), se.UserID, se.ClientID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, customer.Errorf(customer.NotFound, "user %d of client %d not found", se.UserID, se.ClientID))
		}
		return nil
	})
}

// Session returns the session stored under idHash, with its user. Errors: NotFound,
// Unavailable.
func (s *Store) Session(ctx context.Context, idHash string) (*customer.Session, error) {
	se, err := sqlquery.ScanSession(s.read.QueryRowContext(ctx, sqlquery.SelectSession(dialect{}), idHash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "no such session")
	}
	if err != nil {
		return nil, s.readErr(err)
	}
	return se, nil
}

// TouchSession records that the session was used at the given time; its last use never
// goes backwards. Errors: Unavailable.
func (s *Store) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	return s.writer.do(ctx, 0, func(t *tx) error {
		_, err := t.exec(`UPDATE console_sessions SET last_seen = max(last_seen, ?) WHERE id_hash = ?`, at.UnixMilli(), idHash)
		return err
	})
}

// DeleteSession ends a session. Errors: Unavailable.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	return s.writer.do(ctx, 0, func(t *tx) error {
		_, err := t.exec(`DELETE FROM console_sessions WHERE id_hash = ?`, idHash)
		return err
	})
}

// PurgeSessions deletes the sessions last used before the given time. Errors:
// Unavailable.
func (s *Store) PurgeSessions(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.writer.do(ctx, 0, func(t *tx) error {
		res, err := t.exec(`DELETE FROM console_sessions WHERE last_seen < ?`, before.UnixMilli())
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return n, err
}
