package customer

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is the class of an error. The set is closed: every error custd reports to a caller
// carries one of these kinds, and the HTTP layer maps each kind to one status code.
type Kind int

// The error kinds.
const (
	// Internal is an unexpected failure; callers are told only a request id.
	Internal Kind = iota
	// Invalid is input that breaks a rule; FieldErrors say which.
	Invalid
	// Unauthorized is a request without valid credentials.
	Unauthorized
	// Forbidden is a request the user's role does not allow.
	Forbidden
	// NotFound is a customer (or client, or user) that does not exist for the caller.
	NotFound
	// MethodNotAllowed is a method the resource does not offer.
	MethodNotAllowed
	// Conflict is a write that collides with existing data or with a request in flight.
	Conflict
	// PreconditionFailed is an If-Match that does not match the current version.
	PreconditionFailed
	// TooLarge is a request body over the size limit.
	TooLarge
	// UnsupportedMediaType is a request body of a content type the endpoint does not take.
	UnsupportedMediaType
	// IdempotencyMismatch is an Idempotency-Key reused for a different request.
	IdempotencyMismatch
	// RateLimited is a caller over its request rate.
	RateLimited
	// Unavailable is a store that cannot be reached or is overloaded.
	Unavailable
)

// FieldError is one broken rule of one field. Field is a dotted path with [i] for array
// items, such as "billing_address.postal_code" or "fields[2].value".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error with a Kind, a message for the caller and, for Invalid, the list of
// every field that broke a rule.
type Error struct {
	Kind    Kind
	Message string
	Fields  []FieldError
	Err     error // the cause, logged but never shown to callers
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with a formatted message.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of err: the Kind of the first *Error in its chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// IsKind reports whether err is of kind k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// Problems collects field errors in the order they are found.
type Problems []FieldError

// Add records that field broke the rule described by the formatted message.
func (p *Problems) Add(field, format string, args ...any) {
	*p = append(*p, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing was recorded, else an Invalid *Error listing every problem.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	msg := "1 field is invalid"
	if len(p) > 1 {
		msg = fmt.Sprintf("%d fields are invalid", len(p))
	}
	return &Error{Kind: Invalid, Message: msg, Fields: p}
}

// Join prefixes every field path with parent (a dotted path or an [i] index).
func join(parent, field string) string {
	if parent == "" {
		return field
	}
	if strings.HasPrefix(field, "[") {
		return parent + field
	}
	return parent + "." + field
}
