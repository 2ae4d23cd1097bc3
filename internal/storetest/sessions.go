package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

var sessionDay = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func (f *fixture) session(u *customer.User, at time.Time) (*customer.Session, string) {
	f.t.Helper()
	s, id := customer.NewSession(u, at)
	if err := f.s.CreateSession(f.ctx, s); err != nil {
		f.t.Fatalf("CreateSession: %v", err)
	}
	return s, id
}

// testSessions: a session is found by the digest of its id alone, with its user and the
// user's client; a session cannot name a user of another client; last use only moves
// forward; deleted and purged sessions are gone, and nothing else is.
func testSessions(t *testing.T, f *fixture) {
	s, id := f.session(f.acme, sessionDay.Add(123*time.Millisecond))
	if s.IDHash != customer.SessionHash(id) || len(id) != 43 || id == s.IDHash {
		t.Fatalf("session id %q stored as %q", id, s.IDHash)
	}
	got, err := f.s.Session(f.ctx, customer.SessionHash(id))
	if err != nil {
		t.Fatal(err)
	}
	u := got.User
	if got.IDHash != s.IDHash || got.ClientID != f.acme.ClientID || got.UserID != f.acme.ID || got.PasswordDigest != s.PasswordDigest ||
		!got.Created.Equal(s.Created) || !got.LastSeen.Equal(s.LastSeen) || u == nil || u.ID != f.acme.ID ||
		u.ClientID != f.acme.ClientID || u.ClientCode != "acme" || u.Username != "alice" || u.Role != customer.RoleAdmin ||
		u.PasswordHash != f.acme.PasswordHash {
		t.Fatalf("read back %+v (user %+v), stored %+v", got, u, s)
	}
	if err := got.Check(s.LastSeen.Add(time.Minute), time.Hour); err != nil {
		t.Fatalf("a fresh session read back: %v", err)
	}
	_, err = f.s.Session(f.ctx, customer.SessionHash("not-a-session-id"))
	wantKind(t, err, customer.NotFound, "unknown session")
	_, err = f.s.Session(f.ctx, id) // the id itself is not what is stored
	wantKind(t, err, customer.NotFound, "a session looked up by its id instead of its digest")

	// A session names a user of its own client only.
	forged, _ := customer.NewSession(f.acme, sessionDay)
	forged.ClientID = f.other.ClientID
	wantKind(t, f.s.CreateSession(f.ctx, forged), customer.NotFound, "a session of acme's user under another client")
	_, err = f.s.Session(f.ctx, forged.IDHash)
	wantKind(t, err, customer.NotFound, "the refused session")
	theirs, theirID := f.session(f.other, sessionDay)
	if got, err := f.s.Session(f.ctx, customer.SessionHash(theirID)); err != nil || got.ClientID != f.other.ClientID ||
		got.User.ClientCode != "other" || got.User.ID != f.other.ID {
		t.Fatalf("the other client's session: %+v, %v", got, err)
	}

	// The user is read as stored now: a new role applies at once, and a disabled user or
	// a new password ends the session.
	role, disabled, newHash := customer.RoleReadOnly, true, "$2a$04$"+strings.Repeat("x", 53)
	if _, err := f.s.UpdateUser(f.ctx, "acme", "alice", &customer.UserChange{Role: &role, Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	got, err = f.s.Session(f.ctx, s.IDHash)
	if err != nil || got.User.Role != customer.RoleReadOnly || !got.User.Disabled {
		t.Fatalf("after the user changed: %+v, %v", got, err)
	}
	wantKind(t, got.Check(s.LastSeen, time.Hour), customer.NotFound, "the session of a disabled user")
	disabled = false
	if _, err := f.s.UpdateUser(f.ctx, "acme", "alice", &customer.UserChange{Disabled: &disabled, PasswordHash: &newHash}); err != nil {
		t.Fatal(err)
	}
	got, err = f.s.Session(f.ctx, s.IDHash)
	if err != nil || got.User.Disabled || got.User.PasswordHash != newHash {
		t.Fatalf("after a new password: %+v, %v", got, err)
	}
	wantKind(t, got.Check(s.LastSeen, time.Hour), customer.NotFound, "a session begun before a new password")

	// Last use moves forward only.
	later := sessionDay.Add(10 * time.Minute)
	if err := f.s.TouchSession(f.ctx, s.IDHash, later); err != nil {
		t.Fatal(err)
	}
	if err := f.s.TouchSession(f.ctx, s.IDHash, sessionDay.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, err := f.s.Session(f.ctx, s.IDHash); err != nil || !got.LastSeen.Equal(later) || !got.Created.Equal(s.Created) {
		t.Fatalf("after touches at +10 and +1 minutes: %+v, %v", got, err)
	}
	if err := f.s.TouchSession(f.ctx, customer.SessionHash("gone"), later); err != nil {
		t.Fatalf("touching a session that does not exist: %v", err)
	}

	// Sign-out deletes; deleting again is fine; the other session stays.
	if err := f.s.DeleteSession(f.ctx, s.IDHash); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.Session(f.ctx, s.IDHash)
	wantKind(t, err, customer.NotFound, "a deleted session")
	if err := f.s.DeleteSession(f.ctx, s.IDHash); err != nil {
		t.Fatalf("deleting a deleted session: %v", err)
	}
	if _, err := f.s.Session(f.ctx, theirs.IDHash); err != nil {
		t.Fatalf("another session after a delete: %v", err)
	}

	// The purge deletes the sessions of every client last used before its time, only them.
	old, _ := f.session(f.acme, sessionDay.Add(-2*time.Hour))
	fresh, _ := f.session(f.acme, sessionDay.Add(time.Hour))
	n, err := f.s.PurgeSessions(f.ctx, sessionDay.Add(time.Millisecond))
	if err != nil || n != 2 {
		t.Fatalf("purge: %d, %v; want 2 (the other client's and the old one)", n, err)
	}
	for _, gone := range []*customer.Session{old, theirs} {
		_, err := f.s.Session(f.ctx, gone.IDHash)
		wantKind(t, err, customer.NotFound, "a purged session")
	}
	if _, err := f.s.Session(f.ctx, fresh.IDHash); err != nil {
		t.Fatalf("a session used after the purge's time: %v", err)
	}
}
