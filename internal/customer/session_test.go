package customer_test

import (
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

func TestSessionCheck(t *testing.T) {
	u := &customer.User{ID: 7, ClientID: 3, PasswordHash: "$2a$04$first"}
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	s, id := customer.NewSession(u, start)
	other, otherID := customer.NewSession(u, start)
	if id == otherID || s.IDHash == other.IDHash || s.IDHash != customer.SessionHash(id) {
		t.Fatalf("two sessions: ids %q and %q, digests %q and %q", id, otherID, s.IDHash, other.IDHash)
	}
	s.User = &customer.User{ID: 7, ClientID: 3, PasswordHash: "$2a$04$first"}
	idle := 30 * time.Minute
	for _, tc := range []struct {
		name string
		at   time.Time
		hash string
		ok   bool
	}{
		{"just begun", start, "$2a$04$first", true},
		{"idle a moment less than the limit", start.Add(idle - time.Millisecond), "$2a$04$first", true},
		{"idle for the limit", start.Add(idle), "$2a$04$first", false},
		{"a new password", start.Add(time.Minute), "$2a$04$second", false},
	} {
		s.User.PasswordHash = tc.hash
		err := s.Check(tc.at, idle)
		if (err == nil) != tc.ok || (err != nil && !customer.IsKind(err, customer.NotFound)) {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	s.User.PasswordHash, s.User.Disabled = "$2a$04$first", true
	if err := s.Check(start, idle); !customer.IsKind(err, customer.NotFound) {
		t.Errorf("the session of a disabled user: %v", err)
	}
	s.User = nil
	if err := s.Check(start, idle); err == nil {
		t.Error("a session read without its user passed")
	}
}
