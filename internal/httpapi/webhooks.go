package httpapi

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/queryparam"
	"github.com/custd/custd/internal/webhook"
)

// The wire forms of receivers, subscriptions and deliveries. A receiver's secret is
// never among them.
type receiverJSON struct {
	OK          bool   `json:"ok,omitempty"`
	ID          int32  `json:"webhook_receiver_id"`
	URL         string `json:"url"`
	Description string `json:"description"`
	Status      string `json:"status"`
	CreatedDate string `json:"created_date"`
}

type subscriptionJSON struct {
	OK          bool   `json:"ok,omitempty"`
	ID          int32  `json:"webhook_subscription_id"`
	ReceiverID  int32  `json:"webhook_receiver_id"`
	EventType   string `json:"event_type"`
	CreatedDate string `json:"created_date"`
}

type deliveryJSON struct {
	OK              bool    `json:"ok,omitempty"`
	ID              int64   `json:"webhook_delivery_id"`
	ReceiverID      int32   `json:"webhook_receiver_id"`
	EventID         int64   `json:"event_id"`
	EventType       string  `json:"event_type"`
	ObjectID        int32   `json:"object_id"`
	Status          string  `json:"status"`
	Attempts        int32   `json:"attempts"`
	LastAttemptDate *string `json:"last_attempt_date"`
	LastStatusCode  *int32  `json:"last_status_code"`
	LastError       *string `json:"last_error"`
	NextAttemptDate *string `json:"next_attempt_date"`
}

func (e encoder) receiver(r *customer.Receiver) *receiverJSON {
	return &receiverJSON{ID: r.ID, URL: r.URL, Description: r.Description, Status: string(r.Status), CreatedDate: *e.time(&r.CreatedDate)}
}

func (e encoder) subscription(s *customer.Subscription) *subscriptionJSON {
	return &subscriptionJSON{ID: s.ID, ReceiverID: s.ReceiverID, EventType: string(s.EventType), CreatedDate: *e.time(&s.CreatedDate)}
}

func (e encoder) delivery(d *customer.Delivery) *deliveryJSON {
	return &deliveryJSON{ID: d.ID, ReceiverID: d.ReceiverID, EventID: d.EventID, EventType: string(d.EventType), ObjectID: d.ObjectID,
		Status: string(d.Status), Attempts: d.Attempts, LastAttemptDate: e.time(d.LastAttemptDate), LastStatusCode: d.LastStatusCode,
		LastError: nullIfEmpty(d.LastError), NextAttemptDate: e.time(d.NextAttemptDate)}
}

// NotificationBody returns the function that renders an event as the body of its webhook
// notification, with date-times in the given form, as the API writes them.
func NotificationBody(f TimeFormat) func(*customer.Version) ([]byte, error) {
	if f == "" {
		f = TimeRFC3339
	}
	e := encoder{layout: f.layout()}
	// The two wire forms compared are copied into the body, so their buffers, and the
	// differ's, serve the next notification.
	type scratch struct {
		from, to []byte
		differ
	}
	scratches := sync.Pool{New: func() any { return new(scratch) }}
	return func(v *customer.Version) ([]byte, error) {
		if v.Customer == nil && v.PreviousDocument != nil {
			// As stored (a claim's event): the wire forms are read from the documents.
			sc := scratches.Get().(*scratch)
			defer scratches.Put(sc)
			var ok, ok2 bool
			sc.to, ok = e.appendWire(sc.to[:0], v.CustomerID, v.Document)
			sc.from, ok2 = e.appendWire(sc.from[:0], v.CustomerID, v.PreviousDocument)
			if ok && ok2 {
				return appendNotification(nil, e, v, sc.to, sc.trees(sc.from, sc.to)), nil
			}
		}
		if v.Customer == nil {
			// The first version (its changes are against a default customer), or
			// documents the reader above does not read: decoded.
			d := *v
			var err error
			if d.Customer, err = customer.FromDocument(v.CustomerID, v.ClientID, v.Version, v.Document); err != nil {
				return nil, err
			}
			if v.PreviousDocument != nil {
				if d.Previous, err = customer.FromDocument(v.CustomerID, v.ClientID, v.Version-1, v.PreviousDocument); err != nil {
					return nil, err
				}
			}
			v = &d
		}
		// The customer is rendered once: the wire form the changes are found in is also
		// the body's.
		to := e.tree(v.Customer)
		return appendNotification(nil, e, v, to, e.changesTo(v.Previous, v.Customer, to)), nil
	}
}

// appendNotification appends the body of v's notification to b: the event of the change feed
// as json.Marshal would write it (event_id, event_type, created_date, object_id, data
// with customer and changes), byte for byte, written directly, since the customer and the
// changes' values are already compact JSON of json.Marshal's own.
func appendNotification(b []byte, e encoder, v *customer.Version, to []byte, changes []changeJSON) []byte {
	n := 160 + len(to)
	for _, c := range changes {
		n += 32 + len(c.Field) + len(c.From) + len(c.To)
	}
	b = slices.Grow(b, n)
	b = append(b, `{"event_id":`...)
	b = strconv.AppendInt(b, v.EventID, 10)
	b = append(b, `,"event_type":`...)
	b = appendString(b, string(v.EventType))
	b = append(b, `,"created_date":`...)
	b = appendString(b, *e.time(&v.ChangedDate))
	b = append(b, `,"object_id":`...)
	b = strconv.AppendInt(b, int64(v.CustomerID), 10)
	b = append(b, `,"data":{"customer":`...)
	b = append(b, to...)
	b = append(b, `,"changes":[`...)
	for i, c := range changes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"field":`...)
		b = appendString(b, c.Field)
		b = append(b, `,"from":`...)
		b = append(b, c.From...)
		b = append(b, `,"to":`...)
		b = append(b, c.To...)
		b = append(b, '}')
	}
	return append(b, "]}}"...)
}

// appendString appends s as a JSON string, as json.Marshal writes it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // escapes: the general case
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// requireAdmin is requireAuth for what only a client's admins may do.
func (s *server) requireAdmin(next func(*http.Request, *customer.User) (*response, error)) handlerFunc {
	return s.requireAuth(true, func(r *http.Request, u *customer.User) (*response, error) {
		if u.Role != customer.RoleAdmin {
			return nil, customer.Errorf(customer.Forbidden, "user %s@%s has the %s role; only admin may change webhooks", u.Username, u.ClientCode, u.Role)
		}
		return next(r, u)
	})
}

// created is the answer to a POST that made a record: 201, its id and its Location.
func created(id int64, location string) (*response, error) {
	resp, err := jsonResponse(http.StatusCreated, struct {
		OK bool  `json:"ok"`
		ID int64 `json:"id"`
	}{true, id})
	if err == nil {
		resp.Location = location
	}
	return resp, err
}

// decodeObject reads a JSON object body whose members are all in writable[object], and
// returns its members. Errors: Invalid.
func decodeObject(body []byte, object string) (map[string]json.RawMessage, *decoder, error) {
	m, err := objectMembers(body)
	if err != nil {
		return nil, nil, err
	}
	d := &decoder{}
	d.unknown("", object, m)
	return m, d, nil
}

func (s *server) createReceiver(wr *writeRequest) (*response, error) {
	m, d, err := decodeObject(wr.body, "webhook_receiver")
	if err != nil {
		return nil, err
	}
	u, desc := d.string("url", m["url"]), d.string("description", m["description"])
	r, err := customer.NewReceiver(wr.user.ClientID, deref(u), deref(desc))
	if err := d.with(err); err != nil {
		return nil, err
	}
	if err := s.guard.CheckURL(wr.r.Context(), r.URL); err != nil {
		return nil, err
	}
	ack := &acknowledgement[*customer.Receiver]{key: wr.key, render: func(r *customer.Receiver) (*response, error) {
		return created(int64(r.ID), "/v1/WebhookReceivers/"+strconv.Itoa(int(r.ID)))
	}}
	if err := s.webhooks.CreateReceiver(wr.r.Context(), r, ack.receipt()); err != nil {
		return nil, err
	}
	// The confirmation request: a receiver that echoes the code is active at once; the
	// others wait for /activate with the code they were sent.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(wr.r.Context()), webhook.Timeout)
	defer cancel()
	if ok, err := s.sender.Confirm(ctx, r); ok {
		if _, err := s.webhooks.SetReceiverStatus(ctx, r.ClientID, r.ID, customer.ReceiverActive); err != nil {
			return nil, err
		}
	} else if err != nil {
		s.log.InfoContext(ctx, "webhook confirmation not delivered", "request_id", requestID(ctx), "webhook_receiver_id", r.ID, "err", err)
	}
	return ack.response(r)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// intPath reads the {id} of a path as a whole number from 1 to max. Errors: Invalid.
func intPath(r *http.Request, max int64) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 || id > max {
		return 0, customer.Problems{{Field: "id", Message: "must be a whole number from 1 to " + strconv.FormatInt(max, 10)}}.Err()
	}
	return id, nil
}

func (s *server) getReceiver(r *http.Request, u *customer.User) (*response, error) {
	id, err := intPath(r, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	rc, err := s.webhooks.Receiver(r.Context(), u.ClientID, int32(id))
	if err != nil {
		return nil, err
	}
	return s.receiverResponse(rc)
}

func (s *server) receiverResponse(r *customer.Receiver) (*response, error) {
	out := s.enc.receiver(r)
	out.OK = true
	return jsonResponse(http.StatusOK, out)
}

func (s *server) subscriptionResponse(sub *customer.Subscription) (*response, error) {
	out := s.enc.subscription(sub)
	out.OK = true
	return jsonResponse(http.StatusOK, out)
}

func (s *server) deliveryResponse(d *customer.Delivery) (*response, error) {
	out := s.enc.delivery(d)
	out.OK = true
	return jsonResponse(http.StatusOK, out)
}

// listResponse answers with a page of records in the list envelope.
func listResponse[T any](records []T, more bool) (*response, error) {
	if records == nil {
		records = []T{}
	}
	return jsonResponse(http.StatusOK, struct {
		OK          bool `json:"ok"`
		HasMore     bool `json:"has_more"`
		RecordCount int  `json:"record_count"`
		Records     []T  `json:"records"`
	}{true, more, len(records), records})
}

// pageParams reads the paging of a list without filters.
func pageParams(r *http.Request) (page, size int, err error) {
	page, size = 1, customer.DefaultPageSize
	return page, size, queryparam.Parse(r.URL.RawQuery, queryparam.Paging(&page, &size))
}

func (s *server) listReceivers(r *http.Request, u *customer.User) (*response, error) {
	page, size, err := pageParams(r)
	if err != nil {
		return nil, err
	}
	rs, more, err := s.webhooks.Receivers(r.Context(), u.ClientID, page, size)
	if err != nil {
		return nil, err
	}
	out := make([]*receiverJSON, len(rs))
	for i, rc := range rs {
		out[i] = s.enc.receiver(rc)
	}
	return listResponse(out, more)
}

func (s *server) activateReceiver(wr *writeRequest) (*response, error) {
	id, err := intPath(wr.r, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	code := wr.r.Header.Get("X-Hook-Secret")
	if len(wr.body) == 0 && code == "" {
		return nil, customer.Problems{{Field: "confirmation_code", Message: "is required, in the body or in an X-Hook-Secret header"}}.Err()
	}
	if len(wr.body) > 0 {
		m, d, err := decodeObject(wr.body, "activation")
		if err != nil {
			return nil, err
		}
		if c := d.string("confirmation_code", m["confirmation_code"]); c != nil {
			code = *c
		}
		if err := d.p.Err(); err != nil {
			return nil, err
		}
	}
	rc, err := s.webhooks.Receiver(wr.r.Context(), wr.user.ClientID, int32(id))
	if err != nil {
		return nil, err
	}
	if err := rc.CheckSecret(code); err != nil {
		return nil, err
	}
	if rc, err = s.webhooks.SetReceiverStatus(wr.r.Context(), wr.user.ClientID, int32(id), customer.ReceiverActive); err != nil {
		return nil, err
	}
	return s.receiverResponse(rc)
}

func (s *server) deleteReceiver(wr *writeRequest) (*response, error) {
	id, err := intPath(wr.r, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	rc, err := s.webhooks.SetReceiverStatus(wr.r.Context(), wr.user.ClientID, int32(id), customer.ReceiverDisabled)
	if err != nil {
		return nil, err
	}
	return s.receiverResponse(rc)
}

func (s *server) createSubscription(wr *writeRequest) (*response, error) {
	m, d, err := decodeObject(wr.body, "webhook_subscription")
	if err != nil {
		return nil, err
	}
	receiver, typ := d.int32("webhook_receiver_id", m["webhook_receiver_id"]), d.string("event_type", m["event_type"])
	if receiver == nil {
		d.require("webhook_receiver_id")
		receiver = new(int32)
	}
	if typ == nil {
		d.require("event_type")
		typ = new(string)
	}
	sub, err := customer.NewSubscription(wr.user.ClientID, *receiver, *typ)
	if err := d.with(err); err != nil {
		return nil, err
	}
	ack := &acknowledgement[*customer.Subscription]{key: wr.key, render: func(sub *customer.Subscription) (*response, error) {
		return created(int64(sub.ID), "/v1/WebhookSubscriptions/"+strconv.Itoa(int(sub.ID)))
	}}
	if err := s.webhooks.CreateSubscription(wr.r.Context(), sub, ack.receipt()); err != nil {
		return nil, err
	}
	return ack.response(sub)
}

func (s *server) getSubscription(r *http.Request, u *customer.User) (*response, error) {
	id, err := intPath(r, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	sub, err := s.webhooks.Subscription(r.Context(), u.ClientID, int32(id))
	if err != nil {
		return nil, err
	}
	return s.subscriptionResponse(sub)
}

func (s *server) listSubscriptions(r *http.Request, u *customer.User) (*response, error) {
	page, size, err := pageParams(r)
	if err != nil {
		return nil, err
	}
	subs, more, err := s.webhooks.Subscriptions(r.Context(), u.ClientID, page, size)
	if err != nil {
		return nil, err
	}
	out := make([]*subscriptionJSON, len(subs))
	for i, sub := range subs {
		out[i] = s.enc.subscription(sub)
	}
	return listResponse(out, more)
}

func (s *server) deleteSubscription(wr *writeRequest) (*response, error) {
	id, err := intPath(wr.r, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	sub, err := s.webhooks.DeleteSubscription(wr.r.Context(), wr.user.ClientID, int32(id))
	if err != nil {
		return nil, err
	}
	return s.subscriptionResponse(sub)
}

// deliveryParams is the table of the deliveries list's parameters, reading into q.
func deliveryParams(q *customer.DeliveryQuery) []queryparam.Param {
	return append([]queryparam.Param{
		queryparam.IDs("webhook_receiver_id", &q.ReceiverIDs),
		queryparam.Enums("status", customer.DeliveryStatuses, "", &q.Statuses),
		queryparam.IDs64("event_id", &q.EventIDs),
	}, queryparam.Paging(&q.Page, &q.PageSize)...)
}

func (s *server) listDeliveries(r *http.Request, u *customer.User) (*response, error) {
	q := &customer.DeliveryQuery{Page: 1, PageSize: customer.DefaultPageSize}
	if err := queryparam.Parse(r.URL.RawQuery, deliveryParams(q)); err != nil {
		return nil, err
	}
	ds, more, err := s.webhooks.Deliveries(r.Context(), u.ClientID, q)
	if err != nil {
		return nil, err
	}
	out := make([]*deliveryJSON, len(ds))
	for i, d := range ds {
		out[i] = s.enc.delivery(d)
	}
	return listResponse(out, more)
}

func (s *server) retryDelivery(wr *writeRequest) (*response, error) {
	id, err := intPath(wr.r, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	d, err := s.webhooks.RetryDelivery(wr.r.Context(), wr.user.ClientID, id)
	if err != nil {
		return nil, err
	}
	return s.deliveryResponse(d)
}
