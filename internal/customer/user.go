package customer

import (
	"context"
	"crypto/subtle"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Client is a tenant: one billing company, identified by its code.
type Client struct {
	ID        int64
	Code      string
	Name      string
	CreatedAt time.Time
}

// Role says what a user may do.
type Role string

// The roles.
const (
	RoleAdmin     Role = "admin"
	RoleReadWrite Role = "readwrite"
	RoleReadOnly  Role = "readonly"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleReadWrite, RoleReadOnly}

// CanWrite reports whether the role may create, change or close customers.
func (r Role) CanWrite() bool { return r == RoleAdmin || r == RoleReadWrite }

// User is an API login of one client.
type User struct {
	ID           int32
	ClientID     int64
	ClientCode   string
	Username     string
	Role         Role
	PasswordHash string
	// Disabled users cannot sign in; they keep their row, so that what names them (the
	// customers they created, their idempotency keys) stays meaningful.
	Disabled  bool
	CreatedAt time.Time
}

// Login is the user's sign-in name, username@clientcode.
func (u *User) Login() string { return u.Username + "@" + u.ClientCode }

// UserChange is a change to an existing user: each member that is not nil is set.
type UserChange struct {
	Role         *Role
	Disabled     *bool
	PasswordHash *string
}

// Validate checks a change. Errors: Invalid.
func (ch *UserChange) Validate() error {
	var p Problems
	if ch.Role != nil {
		if _, ok := ParseEnum(string(*ch.Role), Roles); !ok {
			p.Add("role", "must be one of %s", EnumList(Roles))
		}
	}
	if ch.PasswordHash != nil && *ch.PasswordHash == "" {
		p.Add("password", "is required")
	}
	return p.Err()
}

// NewUser is a user to create.
type NewUser struct {
	ClientCode   string
	Username     string
	Role         Role
	PasswordHash string
}

// Limits of client codes and usernames.
const (
	MaxClientCode = 32
	MaxClientName = 200
	MaxUsername   = 100
)

// ValidateClient checks a client code and name. Errors: Invalid.
func ValidateClient(code, name string) error {
	var p Problems
	if code == "" || len(code) > MaxClientCode || strings.IndexFunc(code, func(r rune) bool {
		return !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.'))
	}) >= 0 {
		p.Add("code", "must be 1 to %d letters, digits, '-', '_' or '.'", MaxClientCode)
	}
	maxLen(&p, "name", &name, MaxClientName)
	return p.Err()
}

// NewClient returns the client to create with a code and a name. Errors: Invalid.
func NewClient(code, name string) (*Client, error) {
	if err := ValidateClient(code, name); err != nil {
		return nil, err
	}
	return &Client{Code: code, Name: name, CreatedAt: Now()}, nil
}

// Validate checks a new user. Errors: Invalid.
func (u *NewUser) Validate() error {
	var p Problems
	if err := ValidateClient(u.ClientCode, ""); err != nil {
		p.Add("client", "must be an existing client code")
	}
	if u.Username == "" || utf8.RuneCountInString(u.Username) > MaxUsername || !utf8.ValidString(u.Username) ||
		strings.IndexFunc(u.Username, func(r rune) bool { return r == ':' || unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		p.Add("username", "must be 1 to %d characters without spaces or ':'", MaxUsername)
	}
	if _, ok := ParseEnum(string(u.Role), Roles); !ok {
		p.Add("role", "must be one of %s", EnumList(Roles))
	}
	if u.PasswordHash == "" {
		p.Add("password", "is required")
	}
	return p.Err()
}

// SplitLogin splits "username@clientcode" at its last '@', so a username may itself be an
// email address.
func SplitLogin(login string) (username, clientCode string, ok bool) {
	i := strings.LastIndexByte(login, '@')
	if i <= 0 || i == len(login)-1 {
		return "", "", false
	}
	return login[:i], login[i+1:], true
}

// MinPasswordLength is the shortest password custd accepts.
const MinPasswordLength = 12

// PasswordCost is the bcrypt cost of stored password hashes.
var PasswordCost = 11

// HashPassword returns a salted bcrypt hash of password. Errors: Invalid.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLength {
		return "", Problems{{Field: "password", Message: "must be at least 12 characters"}}.Err()
	}
	if len(password) > 72 {
		return "", Problems{{Field: "password", Message: "must be at most 72 bytes"}}.Err()
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), PasswordCost)
	return string(h), err
}

// dummyHash is compared against when a login names no user, so that a failed login costs
// the same whether or not the user exists.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("custd-no-such-user-password"), PasswordCost)
	return h
})

// CheckPassword reports whether password matches hash, in constant time. An empty hash
// (no such user) costs the same and never matches.
func CheckPassword(hash, password string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// EqualSecret compares two secrets in constant time.
func EqualSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// NewPassword returns a random password for generated logins.
func NewPassword() string {
	return RandomString("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", 24)
}

// AccountsTx is what Bootstrap needs from a store inside one transaction, which the store
// runs alone (SQLite's single writer, a PostgreSQL advisory lock) so that processes that
// start together create one first user.
type AccountsTx interface {
	// AnyUser reports whether the store has a user of any client.
	AnyUser(ctx context.Context) (bool, error)
	// ClientExists reports whether a client has code, ignoring letter case.
	ClientExists(ctx context.Context, code string) (bool, error)
	// InsertClient stores a new client. Errors: Conflict.
	InsertClient(ctx context.Context, c *Client) error
	// InsertUser stores a new user of an existing client. Errors: NotFound, Conflict.
	InsertUser(ctx context.Context, nu *NewUser) (*User, error)
}

// Bootstrap creates the client and user that newUser returns when the store has no user
// at all, calling newUser only then, and reports whether it did.
func Bootstrap(ctx context.Context, tx AccountsTx, clientName string, newUser func() (*NewUser, error)) (bool, error) {
	if any, err := tx.AnyUser(ctx); err != nil || any {
		return false, err
	}
	nu, err := newUser()
	if err != nil {
		return false, err
	}
	if err := nu.Validate(); err != nil {
		return false, err
	}
	exists, err := tx.ClientExists(ctx, nu.ClientCode)
	if err != nil {
		return false, err
	}
	if !exists {
		if err := tx.InsertClient(ctx, &Client{Code: nu.ClientCode, Name: clientName, CreatedAt: Now()}); err != nil {
			return false, err
		}
	}
	if _, err := tx.InsertUser(ctx, nu); err != nil {
		return false, err
	}
	return true, nil
}
