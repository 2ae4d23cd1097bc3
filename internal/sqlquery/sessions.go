package sqlquery

import (
	"time"

	"github.com/custd/custd/internal/customer"
)

// SelectSession is the query of one console session by its id_hash (the dialect's first
// parameter), with its user and the user's client as stored now; ScanSession reads its
// row. The user must still belong to the session's client.
func SelectSession(d Dialect) string {
	return `SELECT s.id_hash, s.client_id, s.user_id, s.password_digest, ` + d.Millis("s.created_at") + `, ` +
		d.Millis("s.last_seen") + `, c.code, u.username, u.role, u.password_hash, u.disabled
		FROM console_sessions s JOIN users u ON u.id = s.user_id AND u.client_id = s.client_id
		JOIN clients c ON c.id = s.client_id WHERE s.id_hash = ` + d.Placeholder(1)
}

// ScanSession reads the row of SelectSession.
func ScanSession(r Scanner) (*customer.Session, error) {
	var (
		s              customer.Session
		u              customer.User
		created, seen  int64
		role, codeName string
	)
	if err := r.Scan(&s.IDHash, &s.ClientID, &s.UserID, &s.PasswordDigest, &created, &seen, &codeName, &u.Username, &role,
		&u.PasswordHash, &u.Disabled); err != nil {
		return nil, err
	}
	s.Created, s.LastSeen = time.UnixMilli(created).UTC(), time.UnixMilli(seen).UTC()
	u.ID, u.ClientID, u.ClientCode, u.Role = s.UserID, s.ClientID, codeName, customer.Role(role)
	s.User = &u
	return &s, nil
}

// InsertSession is the statement that stores a new session of a user of a client, with
// the parameters id_hash, password_digest, created_at, last_seen, user id and client id
// in this order. It inserts nothing when the user does not belong to the client.
func InsertSession(d Dialect) string {
	p := d.Placeholder
	return `INSERT INTO console_sessions (id_hash, client_id, user_id, password_digest, created_at, last_seen)
		SELECT ` + p(1) + `, u.client_id, u.id, ` + p(2) + `, ` + p(3) + `, ` + p(4) + ` FROM users u
		WHERE u.id = ` + p(5) + ` AND u.client_id = ` + p(6)
}
