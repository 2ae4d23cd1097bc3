package customer

import "context"

// FeedEvent is an event of the change feed of every client, with its client's code, as a
// consumer outside custd reads it.
type FeedEvent struct {
	ClientCode string
	Event      *Version
}

// FeedConsumers lets a consumer outside custd (the publisher to NATS JetStream) follow the
// change feed of every client, one process at a time, and remember how far it got. Each
// consumer has a name and a cursor of its own, created by a migration.
type FeedConsumers interface {
	// ClaimFeed makes this process the one that follows the feed as the consumer name,
	// until it releases the claim or loses it (its process, or its connection to the
	// store, ends). It returns nil and no error while another holder has it. Errors:
	// NotFound (no such consumer), Unavailable.
	ClaimFeed(ctx context.Context, name string) (FeedClaim, error)
	// FeedAfter returns up to limit events of every client after the event id, in
	// event_id order, each with its customer, the customer before it and its client's
	// code. The change feed's promise holds: no event appears later below one already
	// returned. Errors: Unavailable.
	FeedAfter(ctx context.Context, after int64, limit int) ([]*FeedEvent, error)
}

// FeedClaim is one holder's claim on a feed consumer's cursor.
type FeedClaim interface {
	// Cursor returns the last event id the consumer has finished. Errors: Unavailable
	// (also once the claim is lost).
	Cursor(ctx context.Context) (int64, error)
	// MoveCursor records that the consumer has finished every event up to the id. The
	// cursor never moves back, and nothing moves once the claim is lost or released.
	// Errors: Unavailable.
	MoveCursor(ctx context.Context, to int64) error
	// Release gives the claim up. The cursor stays where it is.
	Release()
}

// ErrClaimLost is the error of a feed claim's methods once the claim is released or lost.
var ErrClaimLost = &Error{Kind: Unavailable, Message: "the claim on the feed consumer was released or lost"}
