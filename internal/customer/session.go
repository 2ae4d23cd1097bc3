package customer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// Session is a browser signed in to the console as one user. The browser holds a random
// 256-bit id in a cookie; the store keeps only the id's SHA-256 digest, so that a copy of
// the database signs nobody in. A session ends when it is idle for too long, when its
// browser signs out, and when its user's password changes.
type Session struct {
	IDHash   string // hex SHA-256 of the id the browser holds
	ClientID int64
	UserID   int32
	// PasswordDigest fingerprints the user's password hash when the session began: a new
	// password ends every session signed in with the old one.
	PasswordDigest string
	Created        time.Time
	LastSeen       time.Time
	// User is the session's user as stored now, on read (so a new role applies to the
	// session's next request); nil on create.
	User *User
}

// SessionIDBytes is the length of a session id before encoding: 256 random bits.
const SessionIDBytes = 32

// NewSession returns a new session of u begun at now, and the id to give its browser (43
// URL-safe characters). Only the session, holding the id's digest, is stored.
func NewSession(u *User, now time.Time) (*Session, string) {
	var b [SessionIDBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	id := base64.RawURLEncoding.EncodeToString(b[:])
	return &Session{IDHash: SessionHash(id), ClientID: u.ClientID, UserID: u.ID, PasswordDigest: passwordDigest(u.PasswordHash),
		Created: now, LastSeen: now}, id
}

// SessionHash returns the digest under which the session whose id a browser sent is
// stored.
func SessionHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// passwordDigest fingerprints a password hash; it reveals nothing the hash does not.
func passwordDigest(hash string) string {
	sum := sha256.Sum256([]byte(hash))
	return hex.EncodeToString(sum[:16])
}

// Check reports whether the session, as read with its user, may still be used at now:
// NotFound when it has been idle for idle or longer, when its user's password changed
// since it began, or when its user is disabled.
func (s *Session) Check(now time.Time, idle time.Duration) error {
	if now.Sub(s.LastSeen) >= idle {
		return Errorf(NotFound, "the session expired after %v without use", idle)
	}
	if s.User == nil || !EqualSecret(passwordDigest(s.User.PasswordHash), s.PasswordDigest) {
		return Errorf(NotFound, "the session ended: the user's password changed")
	}
	if s.User.Disabled {
		return Errorf(NotFound, "the session ended: user %s is disabled", s.User.Login())
	}
	return nil
}

// SessionTouchEvery is how stale a session's LastSeen may grow before a request records
// its use again: idle expiry is exact to this much, and a session costs a store write at
// most this often, not on every page.
const SessionTouchEvery = time.Minute

// Sessions keeps the console's sessions. A session is found by the digest of the id its
// browser holds, before its client is known, as a login is found by its name; once read,
// it names its client and user, and every other read of the console takes that client
// explicitly.
type Sessions interface {
	// CreateSession stores a new session of a user of the client.
	// Errors: NotFound (no such user of the client), Unavailable.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns the session stored under idHash, with its user as stored now.
	// Errors: NotFound, Unavailable.
	Session(ctx context.Context, idHash string) (*Session, error)
	// TouchSession records that the session was used at the given time. A session that no
	// longer exists is not an error. Errors: Unavailable.
	TouchSession(ctx context.Context, idHash string, at time.Time) error
	// DeleteSession ends a session; one that does not exist is not an error.
	// Errors: Unavailable.
	DeleteSession(ctx context.Context, idHash string) error
	// PurgeSessions deletes the sessions of every client last used before the given time
	// and reports how many. Errors: Unavailable.
	PurgeSessions(ctx context.Context, before time.Time) (int64, error)
}
