package httpapi

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/queryparam"
)

// versionJSON is one record of a customer's history: a change.
type versionJSON struct {
	CustomerID     int32        `json:"customer_id"`
	Version        int64        `json:"version"`
	Operation      string       `json:"operation"`
	ChangedDate    string       `json:"changed_date"`
	ChangedBy      changedBy    `json:"changed_by"`
	RequestID      *string      `json:"request_id"`
	IdempotencyKey *string      `json:"idempotency_key"`
	Changes        []changeJSON `json:"changes"`
}

type changedBy struct {
	UserID   int32  `json:"user_id"`
	Username string `json:"username"`
}

// eventJSON is one event of the change feed.
type eventJSON struct {
	EventID     int64     `json:"event_id"`
	EventType   string    `json:"event_type"`
	CreatedDate string    `json:"created_date"`
	ObjectType  string    `json:"object_type"`
	ObjectID    int32     `json:"object_id"`
	Version     int64     `json:"version"`
	Data        eventData `json:"data"`
}

type eventData struct {
	Customer *customerJSON `json:"customer"`
	Changes  []changeJSON  `json:"changes"`
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (e encoder) version(v *customer.Version) *versionJSON {
	return &versionJSON{
		CustomerID: v.CustomerID, Version: v.Version, Operation: string(v.Operation),
		ChangedDate: *e.time(&v.ChangedDate), ChangedBy: changedBy{v.UserID, v.Username},
		RequestID: nullIfEmpty(v.RequestID), IdempotencyKey: nullIfEmpty(v.IdempotencyKey),
		Changes: e.changes(v.Previous, v.Customer),
	}
}

func (e encoder) event(v *customer.Version) *eventJSON {
	return &eventJSON{
		EventID: v.EventID, EventType: string(v.EventType), CreatedDate: *e.time(&v.ChangedDate),
		ObjectType: "customer", ObjectID: v.CustomerID, Version: v.Version,
		Data: eventData{Customer: e.customer(v.Customer), Changes: e.changes(v.Previous, v.Customer)},
	}
}

// EventBody returns the function that renders an event exactly as GET /v1/Events gives
// it as one record, with date-times in the given form: the body of its message on NATS
// JetStream.
func EventBody(f TimeFormat) func(*customer.Version) ([]byte, error) {
	if f == "" {
		f = TimeRFC3339
	}
	e := encoder{layout: f.layout()}
	return func(v *customer.Version) ([]byte, error) { return json.Marshal(e.event(v)) }
}

// historySort is the order of a customer's history.
type historySort string

// historyParams is the table of a customer history's parameters.
func historyParams(q *customer.HistoryQuery, sort *historySort, newest *bool) []queryparam.Param {
	return append([]queryparam.Param{queryparam.Sort([]historySort{"version"}, sort, newest)}, queryparam.Paging(&q.Page, &q.PageSize)...)
}

// eventParams is the table of the change feed's parameters, reading into q.
func eventParams(q *customer.EventQuery) []queryparam.Param {
	table := []queryparam.Param{
		queryparam.Int64("after", 0, math.MaxInt64, &q.After),
		queryparam.PageSize(&q.PageSize),
		queryparam.IDs("object_id", &q.ObjectIDs),
		queryparam.Enums("event_type", customer.EventTypes, "", &q.EventTypes),
	}
	return append(table, queryparam.Range("created_date", &q.Created)...)
}

func (s *server) customerHistory(r *http.Request, u *customer.User) (*response, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	q := &customer.HistoryQuery{Page: 1, PageSize: customer.DefaultPageSize}
	sort, newest := historySort("version"), true
	if err := queryparam.Parse(r.URL.RawQuery, historyParams(q, &sort, &newest)); err != nil {
		return nil, err
	}
	q.Oldest = !newest
	release, err := s.readingPage(r.Context(), 2*q.PageSize) // each version with the one before
	if err != nil {
		return nil, err
	}
	defer release()
	page, err := s.history.CustomerHistory(r.Context(), u.ClientID, id, q)
	if err != nil {
		return nil, err
	}
	records := make([]*versionJSON, len(page.Versions))
	for i, v := range page.Versions {
		records[i] = s.enc.version(v)
	}
	return jsonResponse(http.StatusOK, struct {
		OK          bool           `json:"ok"`
		HasMore     bool           `json:"has_more"`
		RecordCount int            `json:"record_count"`
		Records     []*versionJSON `json:"records"`
	}{true, page.HasMore, len(records), records})
}

func (s *server) customerVersion(r *http.Request, u *customer.User) (*response, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	version, err := strconv.ParseInt(r.PathValue("version"), 10, 64)
	if err != nil || version < 1 {
		return nil, customer.Problems{{Field: "version", Message: "must be a whole number of at least 1"}}.Err()
	}
	c, err := s.history.CustomerVersion(r.Context(), u.ClientID, id, version)
	if err != nil {
		return nil, err
	}
	out := s.enc.customer(c)
	out.OK = true
	self := s.base(r) + "/v1/Customers/" + strconv.Itoa(int(c.ID))
	out.Links = []linkJSON{{Rel: "self", Href: self + "/History/" + strconv.FormatInt(version, 10)}, {Rel: "customer", Href: self}}
	resp, err := jsonResponse(http.StatusOK, out)
	if err != nil {
		return nil, err
	}
	resp.ETag = c.ETag()
	return resp, nil
}

func (s *server) events(r *http.Request, u *customer.User) (*response, error) {
	q := &customer.EventQuery{PageSize: customer.DefaultPageSize}
	if err := queryparam.Parse(r.URL.RawQuery, eventParams(q)); err != nil {
		return nil, err
	}
	release, err := s.readingPage(r.Context(), 2*q.PageSize) // each event with the version before
	if err != nil {
		return nil, err
	}
	defer release()
	page, err := s.history.Events(r.Context(), u.ClientID, q)
	if err != nil {
		return nil, err
	}
	records := make([]*eventJSON, len(page.Versions))
	next := q.After
	for i, v := range page.Versions {
		records[i] = s.enc.event(v)
		next = v.EventID
	}
	return jsonResponse(http.StatusOK, struct {
		OK          bool         `json:"ok"`
		HasMore     bool         `json:"has_more"`
		RecordCount int          `json:"record_count"`
		Records     []*eventJSON `json:"records"`
		NextAfter   int64        `json:"next_after"`
	}{true, page.HasMore, len(records), records, next})
}
