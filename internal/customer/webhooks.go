package customer

import (
	"context"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ReceiverStatus is the state of a webhook receiver.
type ReceiverStatus string

// The receiver states. Only an active receiver is sent notifications.
const (
	ReceiverPending  ReceiverStatus = "PENDING"  // registered, not confirmed yet
	ReceiverActive   ReceiverStatus = "ACTIVE"   // confirmed
	ReceiverDisabled ReceiverStatus = "DISABLED" // deleted: kept for the deliveries that name it
)

// Receiver is a URL of a client's that custd notifies of events, Rev.io's webhook
// receiver. Its Secret is the confirmation code and the key of every signature; the API
// never shows it.
type Receiver struct {
	ID          int32
	ClientID    int64
	URL         string
	Description string
	Status      ReceiverStatus
	Secret      string
	CreatedDate time.Time
}

// Subscription asks for one event type to be sent to a receiver.
type Subscription struct {
	ID          int32
	ClientID    int64
	ReceiverID  int32
	EventType   EventType
	CreatedDate time.Time
}

// DeliveryStatus is the state of a delivery.
type DeliveryStatus string

// The delivery states.
const (
	DeliveryPending   DeliveryStatus = "PENDING"
	DeliveryDelivered DeliveryStatus = "DELIVERED"
	DeliveryFailed    DeliveryStatus = "FAILED"
)

// DeliveryStatuses lists every delivery state.
var DeliveryStatuses = []DeliveryStatus{DeliveryPending, DeliveryDelivered, DeliveryFailed}

// Delivery is one event to send to one receiver, and how sending it went.
type Delivery struct {
	ID              int64
	ClientID        int64
	ReceiverID      int32
	EventID         int64
	EventType       EventType
	ObjectID        int32 // the customer
	Version         int64 // the customer's version the event is
	Status          DeliveryStatus
	Attempts        int32
	CreatedDate     time.Time
	LastAttemptDate *time.Time
	LastStatusCode  *int32 // nil when no HTTP answer came
	LastError       string
	NextAttemptDate *time.Time // nil unless pending
}

// Limits of receivers.
const (
	MaxReceiverURL         = 2000
	MaxReceiverDescription = 500
	// MaxReceivers is how many receivers (not deleted) one client may have.
	MaxReceivers = 100
)

// NewReceiver returns the receiver to register for a client, PENDING with a new secret.
// Errors: Invalid. Whether the URL may be reached at all is the sender's rule (it knows
// the network), checked beside this one.
func NewReceiver(client int64, rawURL, description string) (*Receiver, error) {
	var p Problems
	if rawURL == "" {
		p.Add("url", "is required")
	} else if maxLen(&p, "url", &rawURL, MaxReceiverURL) {
		u, err := url.Parse(rawURL)
		switch {
		case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
			p.Add("url", "must be an absolute URL such as https://hooks.example.com/custd")
		case u.User != nil:
			p.Add("url", "must not hold a user name or password (the signature authenticates custd)")
		case u.Fragment != "":
			p.Add("url", "must not have a fragment (#…)")
		case u.Scheme != "https" && u.Scheme != "http":
			p.Add("url", "must be an https URL")
		}
	}
	if maxLen(&p, "description", &description, MaxReceiverDescription) && HasControl(description) {
		p.Add("description", "must not contain control characters")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return &Receiver{ClientID: client, URL: rawURL, Description: description, Status: ReceiverPending,
		Secret: RandomString("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", 32), CreatedDate: Now()}, nil
}

// NewSubscription returns the subscription to create. Errors: Invalid.
func NewSubscription(client int64, receiver int32, eventType string) (*Subscription, error) {
	var p Problems
	if receiver < 1 {
		p.Add("webhook_receiver_id", "must be the id of one of your webhook receivers")
	}
	et, ok := ParseEnum(eventType, EventTypes)
	if !ok {
		p.Add("event_type", "must be one of %s", EnumList(EventTypes))
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return &Subscription{ClientID: client, ReceiverID: receiver, EventType: et, CreatedDate: Now()}, nil
}

// CheckSecret reports whether code is the receiver's confirmation code. Errors: Invalid.
func (r *Receiver) CheckSecret(code string) error {
	if code == "" || !EqualSecret(code, r.Secret) {
		return Problems{{Field: "confirmation_code", Message: "does not match the code sent to the receiver in X-Hook-Secret"}}.Err()
	}
	return nil
}

// Webhooks keeps the clients' webhook receivers, subscriptions and deliveries. Every
// method takes the client explicitly: another client's records are NotFound.
type Webhooks interface {
	// CreateReceiver stores a new receiver and sets its ID, recording rc's reply in the
	// same transaction. Errors: Conflict (the client has MaxReceivers), Unavailable.
	CreateReceiver(ctx context.Context, r *Receiver, rc Receipt[*Receiver]) error
	// Receiver returns one receiver, deleted ones included. Errors: NotFound.
	Receiver(ctx context.Context, client int64, id int32) (*Receiver, error)
	// Receivers returns a page of the client's receivers, deleted ones included, in id order.
	Receivers(ctx context.Context, client int64, page, size int) ([]*Receiver, bool, error)
	// SetReceiverStatus changes a receiver's status and returns it. Disabling one also
	// fails its pending deliveries. Errors: NotFound.
	SetReceiverStatus(ctx context.Context, client int64, id int32, s ReceiverStatus) (*Receiver, error)

	// CreateSubscription stores a new subscription to one of the client's receivers and
	// sets its ID, recording rc's reply in the same transaction. Errors: Invalid (no such
	// receiver of the client, or a deleted one), Unavailable.
	CreateSubscription(ctx context.Context, s *Subscription, rc Receipt[*Subscription]) error
	// Subscription returns one subscription. Errors: NotFound.
	Subscription(ctx context.Context, client int64, id int32) (*Subscription, error)
	// Subscriptions returns a page of the client's subscriptions in id order.
	Subscriptions(ctx context.Context, client int64, page, size int) ([]*Subscription, bool, error)
	// DeleteSubscription removes a subscription and returns it. Errors: NotFound.
	DeleteSubscription(ctx context.Context, client int64, id int32) (*Subscription, error)

	// Deliveries returns a page of the client's deliveries, newest first.
	Deliveries(ctx context.Context, client int64, q *DeliveryQuery) ([]*Delivery, bool, error)
	// RetryDelivery queues a delivery again, now, and returns it. Errors: NotFound,
	// Conflict (its receiver is deleted).
	RetryDelivery(ctx context.Context, client int64, id int64) (*Delivery, error)

	// FanOut turns the events after the fan-out's cursor into deliveries for the
	// subscriptions that were active when they were written, and moves the cursor, in one
	// transaction that one process at a time runs. It reports how many events it read.
	// With a lease it also claims, as ClaimDeliveries would, the new deliveries that are
	// due at once (up to lease.Max, none to the receivers in lease.Skip), and returns them.
	FanOut(ctx context.Context, limit int, lease *Lease) (int, []*Claim, error)
	// ClaimDeliveries leases up to limit deliveries that are due, each the oldest pending
	// one of its receiver and customer, to owner until the lease ends: no other process
	// claims them meanwhile. Deliveries to the receivers in skip are left. Each comes with
	// its event and its receiver.
	ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int, skip []int32) ([]*Claim, error)
	// FinishDelivery records the outcomes of attempts of claimed deliveries, in one
	// transaction; one whose lease owner no longer holds is left as it is.
	FinishDelivery(ctx context.Context, owner string, ds ...*Delivery) error
	// DeliveryBacklog reports how many deliveries of every client are pending and when
	// the oldest of them was made (zero when none is).
	DeliveryBacklog(ctx context.Context) (pending int64, oldest time.Time, err error)
}

// DeliveryQuery selects deliveries.
type DeliveryQuery struct {
	ReceiverIDs []int32
	Statuses    []DeliveryStatus
	EventIDs    []int64
	Page        int
	PageSize    int
}

// Lease is a claim of deliveries: the owner, until when, how many at most, and to which
// receivers none.
type Lease struct {
	Owner string
	Until time.Time
	Max   int
	Skip  []int32
}

// Claim is a delivery leased for an attempt, with what the attempt needs.
type Claim struct {
	Delivery *Delivery
	Receiver *Receiver
	// Event is the delivery's version with its documents as stored, undecoded: Document,
	// and PreviousDocument but for the first version; Customer and Previous are nil.
	Event *Version
}

// DeliveryPatience is how long a delivery is retried before it fails for good.
const DeliveryPatience = 72 * time.Hour

// Outcome records the result of an attempt on d made at now: delivered, or retried after
// wait (Backoff) until DeliveryPatience has passed since d was created, then failed.
// status is the receiver's HTTP status (0 for none), problem what went wrong.
func (d *Delivery) Outcome(now time.Time, status int, problem string, wait time.Duration) {
	d.Attempts++
	d.LastAttemptDate = &now
	d.LastStatusCode = nil
	if status != 0 {
		s := int32(status)
		d.LastStatusCode = &s
	}
	d.LastError = truncate(problem, 500)
	d.NextAttemptDate = nil
	switch {
	case status >= 200 && status < 300:
		d.Status, d.LastError = DeliveryDelivered, ""
	case now.Sub(d.CreatedDate) >= DeliveryPatience:
		d.Status = DeliveryFailed
	default:
		d.Status = DeliveryPending
		next := now.Add(wait)
		d.NextAttemptDate = &next
	}
}

// Backoff is the wait before attempt n+1 after n failed ones: 5 s doubling up to an hour,
// each drawn between half and all of it so that receivers back from an outage are not hit
// by every retry at once.
func Backoff(n int32) time.Duration {
	d := 5 * time.Second
	for i := int32(1); i < n && d < time.Hour; i++ {
		d *= 2
	}
	d = min(d, time.Hour)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.ToValidUTF8(s[:n], "")
}

// FanOutTx is what FanOut needs from a store inside one transaction.
type FanOutTx interface {
	// LockCursor returns how far the feed consumer name has read, and keeps other
	// transactions from reading or moving it until this one ends.
	LockCursor(ctx context.Context, name string) (int64, error)
	// SetCursor moves the cursor name.
	SetCursor(ctx context.Context, name string, to int64) error
	// EventsAfter returns up to limit events of every client after the event id, in
	// event_id order, without their documents. The change feed's promise holds: no event
	// appears later below one already returned.
	EventsAfter(ctx context.Context, after int64, limit int) ([]*Version, error)
	// ActiveSubscriptions returns the subscriptions of the clients' active receivers.
	ActiveSubscriptions(ctx context.Context, clients []int64) ([]*Subscription, error)
	// LineIdle reports whether no delivery of the customer to the receiver is pending.
	LineIdle(ctx context.Context, receiver int32, customer int32) (bool, error)
	// InsertDelivery stores a new delivery, leased when lease is not nil.
	InsertDelivery(ctx context.Context, d *Delivery, lease *Lease) error
}

// WebhookCursor is the feed cursor of the webhook fan-out.
const WebhookCursor = "webhooks"

// FanOut turns the events after the webhook cursor into one pending delivery for each
// subscription that matches the event's client and type, whose receiver is active, and
// that existed when the event was written; then it moves the cursor past them. A store
// runs it in one transaction, so an event becomes deliveries exactly once. It reports how
// many events it read.
//
// With a lease, the new deliveries that no earlier pending delivery of their receiver
// and customer holds back are leased as they are made (up to lease.Max, none to the
// receivers in lease.Skip), and returned: the claim the worker would make next, without
// reading and writing them again.
func FanOut(ctx context.Context, tx FanOutTx, now time.Time, limit int, lease *Lease) (int, []*Delivery, error) {
	after, err := tx.LockCursor(ctx, WebhookCursor)
	if err != nil {
		return 0, nil, err
	}
	evs, err := tx.EventsAfter(ctx, after, limit)
	if err != nil || len(evs) == 0 {
		return 0, nil, err
	}
	var clients []int64
	for _, ev := range evs {
		if len(clients) == 0 || clients[len(clients)-1] != ev.ClientID {
			clients = append(clients, ev.ClientID)
		}
	}
	subs, err := tx.ActiveSubscriptions(ctx, clients)
	if err != nil {
		return 0, nil, err
	}
	type line struct{ receiver, customer int32 }
	var (
		leased []*Delivery
		made   = map[line]bool{} // lines with a delivery made here: later ones wait
	)
	for _, ev := range evs {
		sent := map[int32]bool{} // two subscriptions of one receiver make one delivery
		for _, s := range subs {
			if s.ClientID != ev.ClientID || s.EventType != ev.EventType || s.CreatedDate.After(ev.ChangedDate) || sent[s.ReceiverID] {
				continue
			}
			sent[s.ReceiverID] = true
			d := &Delivery{ClientID: ev.ClientID, ReceiverID: s.ReceiverID, EventID: ev.EventID, EventType: ev.EventType,
				ObjectID: ev.CustomerID, Version: ev.Version, Status: DeliveryPending, CreatedDate: now, NextAttemptDate: &now}
			l := line{s.ReceiverID, ev.CustomerID}
			var dl *Lease
			if lease != nil && len(leased) < lease.Max && !made[l] && !slices.Contains(lease.Skip, s.ReceiverID) {
				idle, err := tx.LineIdle(ctx, l.receiver, l.customer)
				if err != nil {
					return 0, nil, err
				}
				if idle {
					dl = lease
				}
			}
			made[l] = true
			if err := tx.InsertDelivery(ctx, d, dl); err != nil {
				return 0, nil, err
			}
			if dl != nil {
				leased = append(leased, d)
			}
		}
	}
	return len(evs), leased, tx.SetCursor(ctx, WebhookCursor, evs[len(evs)-1].EventID)
}

// WebhooksTx is what the writes of receivers, subscriptions and deliveries need from a
// store inside one transaction. The functions below hold their rules, for every store.
type WebhooksTx interface {
	ReplyRecorder
	// LiveReceivers counts the client's receivers that are not deleted.
	LiveReceivers(ctx context.Context, client int64) (int, error)
	// InsertReceiver stores a new receiver and sets its ID.
	InsertReceiver(ctx context.Context, r *Receiver) error
	// ReceiverStatusOf returns a receiver's status and keeps it until commit.
	// Errors: NotFound.
	ReceiverStatusOf(ctx context.Context, client int64, id int32) (ReceiverStatus, error)
	// UpdateReceiverStatus sets a receiver's status.
	UpdateReceiverStatus(ctx context.Context, client int64, id int32, s ReceiverStatus) error
	// FailPendingDeliveries ends the receiver's pending deliveries as FAILED.
	FailPendingDeliveries(ctx context.Context, receiver int32, reason string) error
	// InsertSubscription stores a new subscription and sets its ID.
	InsertSubscription(ctx context.Context, s *Subscription) error
	// DeliveryReceiver returns the receiver of one of the client's deliveries.
	// Errors: NotFound.
	DeliveryReceiver(ctx context.Context, client int64, id int64) (int32, error)
	// RequeueDelivery makes a delivery pending again, due at when.
	RequeueDelivery(ctx context.Context, id int64, when time.Time) error
}

// CreateReceiver stores r, a new receiver, unless its client has MaxReceivers already,
// and records rc's reply. Errors: Conflict.
func CreateReceiver(ctx context.Context, tx WebhooksTx, r *Receiver, rc Receipt[*Receiver]) error {
	n, err := tx.LiveReceivers(ctx, r.ClientID)
	if err != nil {
		return err
	}
	if n >= MaxReceivers {
		return Errorf(Conflict, "a client may have at most %d webhook receivers; delete one first", MaxReceivers)
	}
	if err := tx.InsertReceiver(ctx, r); err != nil {
		return err
	}
	return rc.Record(ctx, tx, r)
}

// SetReceiverStatus changes a receiver's status. A deleted receiver stays deleted, and
// its pending deliveries end as FAILED. Errors: NotFound, Conflict (activating a deleted
// receiver).
func SetReceiverStatus(ctx context.Context, tx WebhooksTx, client int64, id int32, s ReceiverStatus) error {
	cur, err := tx.ReceiverStatusOf(ctx, client, id)
	if err != nil {
		return err
	}
	if cur == ReceiverDisabled && s != ReceiverDisabled {
		return Errorf(Conflict, "webhook receiver %d was deleted; register the URL again", id)
	}
	if err := tx.UpdateReceiverStatus(ctx, client, id, s); err != nil {
		return err
	}
	if s == ReceiverDisabled {
		return tx.FailPendingDeliveries(ctx, id, "the receiver was deleted")
	}
	return nil
}

// CreateSubscription stores s, a new subscription to one of its client's receivers that
// is not deleted, and records rc's reply. Errors: Invalid (no such receiver of the
// client).
func CreateSubscription(ctx context.Context, tx WebhooksTx, s *Subscription, rc Receipt[*Subscription]) error {
	st, err := tx.ReceiverStatusOf(ctx, s.ClientID, s.ReceiverID)
	if IsKind(err, NotFound) || st == ReceiverDisabled {
		return Problems{{Field: "webhook_receiver_id", Message: "must be the id of one of your webhook receivers that is not deleted"}}.Err()
	}
	if err != nil {
		return err
	}
	if err := tx.InsertSubscription(ctx, s); err != nil {
		return err
	}
	return rc.Record(ctx, tx, s)
}

// RetryDelivery queues one of the client's deliveries again, due now, whatever its
// state. Errors: NotFound, Conflict (its receiver was deleted).
func RetryDelivery(ctx context.Context, tx WebhooksTx, client int64, id int64, now time.Time) error {
	receiver, err := tx.DeliveryReceiver(ctx, client, id)
	if err != nil {
		return err
	}
	st, err := tx.ReceiverStatusOf(ctx, client, receiver)
	if err != nil {
		return err
	}
	if st == ReceiverDisabled {
		return Errorf(Conflict, "webhook delivery %d cannot be sent again: its receiver was deleted", id)
	}
	return tx.RequeueDelivery(ctx, id, now)
}
