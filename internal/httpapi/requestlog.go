package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/queryparam"
)

// Record turns the state of an answered request into its request log record. It runs on
// the writer's goroutine, so that the request path only hands the state over.
func (st *requestState) Record() *customer.LoggedRequest {
	r := &customer.LoggedRequest{
		RequestID:      st.requestID,
		Created:        st.start,
		Method:         st.method,
		Path:           st.path,
		Query:          cleanQuery(knownParams(st.method, st.route), st.rawQuery),
		Status:         st.status,
		Duration:       st.duration,
		CustomerID:     st.customerID,
		IdempotencyKey: st.idempotencyKey,
		Replayed:       st.replayed,
	}
	if u := st.user; u != nil {
		r.ClientID, r.Username = u.ClientID, u.Username
	} else {
		r.ClientCode, r.Username = st.claimedClient, st.claimedUser
	}
	if st.status >= 400 {
		if r.Error = errorMessage(st.errBody); r.Error == "" {
			r.Error = http.StatusText(st.status) // a HEAD request's error has no body
		}
	}
	r.Clean()
	return r
}

// errorMessage returns the message of an error body ({"ok":false,"message":...}), which
// may be cut short after it.
func errorMessage(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return ""
		}
		if key == "message" {
			msg, _ := dec.Token()
			s, _ := msg.(string)
			return s
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}

// listParams holds the names of each list's parameters (without the search. prefix), by
// route: the only parameters whose values the request log keeps.
var listParams = sync.OnceValue(func() map[string]map[string]bool {
	var sort historySort
	var newest bool
	var page, size int
	return map[string]map[string]bool{
		"/v1/Customers":              queryparam.Names(queryparam.Customers(&customer.Query{})),
		"/v1/Customers/{id}/History": queryparam.Names(historyParams(&customer.HistoryQuery{}, &sort, &newest)),
		"/v1/Events":                 queryparam.Names(eventParams(&customer.EventQuery{})),
		"/v1/WebhookReceivers":       queryparam.Names(queryparam.Paging(&page, &size)),
		"/v1/WebhookSubscriptions":   queryparam.Names(queryparam.Paging(&page, &size)),
		"/v1/WebhookDeliveries":      queryparam.Names(deliveryParams(&customer.DeliveryQuery{})),
		"/v1/RequestLogs":            queryparam.Names(queryparam.RequestLog(&customer.RequestLogQuery{})),
	}
})

// knownParams returns the query parameters (without their optional "search." prefix) of
// the route a request matched, if it is a list read.
func knownParams(method, route string) map[string]bool {
	if method != http.MethodGet && method != http.MethodHead {
		return nil
	}
	return listParams()[route]
}

// cleanQuery returns a query string with nothing secret in it. The parameters the route
// knows (search filters and paging, which name no secret) are kept as they were sent.
// Any other parameter keeps its name only when the name is a plain lower-case word (such
// as api_key or colour), and never its value: api_key=***. Anything else (a bare word,
// which could be a token, or a name with capitals or digits, which could be a password or
// a tax id) is written as *** alone. Order is kept.
func cleanQuery(known map[string]bool, raw string) string {
	if raw == "" {
		return ""
	}
	var b strings.Builder
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		rawName, _, pair := strings.Cut(part, "=")
		name, err := url.QueryUnescape(rawName)
		switch _, ok := known[strings.TrimPrefix(name, "search.")]; {
		case err == nil && ok && pair:
			b.WriteString(part)
		case err == nil && pair && plainWord(name):
			b.WriteString(name + "=***")
		default:
			b.WriteString("***")
		}
		if b.Len() > customer.MaxLoggedQuery {
			break
		}
	}
	return b.String()
}

// plainWord reports whether s is a lower-case word: 1 to 32 letters a to z, '_', '.' or
// '-', starting with a letter.
func plainWord(s string) bool {
	if s == "" || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// loggedRequestJSON is the wire form of a request log record.
type loggedRequestJSON struct {
	RequestID      string  `json:"request_id"`
	CreatedDate    string  `json:"created_date"`
	Method         string  `json:"method"`
	Path           string  `json:"path"`
	Query          string  `json:"query"`
	Status         int     `json:"status"`
	DurationMS     float64 `json:"duration_ms"`
	Username       string  `json:"username"`
	CustomerID     *int32  `json:"customer_id"`
	IdempotencyKey *string `json:"idempotency_key"`
	Replayed       bool    `json:"replayed"`
	Error          *string `json:"error"`
}

// requestLogs answers GET /v1/RequestLogs: the caller's client's requests, newest first,
// to admin users only.
func (s *server) requestLogs(r *http.Request, u *customer.User) (*response, error) {
	if u.Role != customer.RoleAdmin {
		return nil, customer.Errorf(customer.Forbidden, "user %s@%s has the %s role; only admin users may read the request log", u.Username, u.ClientCode, u.Role)
	}
	if s.reqlog == nil {
		return nil, customer.Errorf(customer.NotFound, "the request log is off on this server")
	}
	q, err := queryparam.ParseRequestLog(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	page, err := s.requestLog.RequestLog(r.Context(), u.ClientID, q)
	if err != nil {
		return nil, err
	}
	records := make([]loggedRequestJSON, len(page.Requests))
	for i, lr := range page.Requests {
		rec := loggedRequestJSON{
			RequestID:   lr.RequestID,
			CreatedDate: *s.enc.time(&lr.Created),
			Method:      lr.Method,
			Path:        lr.Path,
			Query:       lr.Query,
			Status:      lr.Status,
			DurationMS:  float64(lr.Duration.Microseconds()) / 1000,
			Username:    lr.Username,
			Replayed:    lr.Replayed,
		}
		if lr.CustomerID != 0 {
			rec.CustomerID = &lr.CustomerID
		}
		if lr.IdempotencyKey != "" {
			rec.IdempotencyKey = &lr.IdempotencyKey
		}
		if lr.Error != "" {
			rec.Error = &lr.Error
		}
		records[i] = rec
	}
	// Without HTML escaping: every query string has '&', which is easier to read as it is
	// than as \u0026.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		OK          bool                `json:"ok"`
		HasMore     bool                `json:"has_more"`
		RecordCount int                 `json:"record_count"`
		Records     []loggedRequestJSON `json:"records"`
	}{true, page.HasMore, len(records), records}); err != nil {
		return nil, err
	}
	return &response{Reply: customer.Reply{Status: http.StatusOK, Body: bytes.TrimSuffix(b.Bytes(), []byte("\n"))}}, nil
}

// serveMetrics serves the metrics at GET /metrics of the API, to admin users of any
// client, when the server is told to (MetricsOnAPI); otherwise the path does not exist.
func (s *server) serveMetrics() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.metricsOnAPI {
			s.writeError(w, r, customer.Errorf(customer.NotFound, "no such resource: %s (this server's metrics, if on, are on an address of their own)", r.URL.Path))
			return
		}
		_, err := s.requireAuth(false, func(_ *http.Request, u *customer.User) (*response, error) {
			if u.Role != customer.RoleAdmin {
				return nil, customer.Errorf(customer.Forbidden, "user %s@%s has the %s role; only admin users may read the metrics", u.Username, u.ClientCode, u.Role)
			}
			return nil, nil
		})(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.metricsPage.ServeHTTP(w, r)
	})
}
