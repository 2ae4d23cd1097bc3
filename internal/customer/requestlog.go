package customer

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// RequestLog keeps each client's record of its API requests (the "Recent Requests" an
// integrator reads when a sync misbehaves): what was asked and what it got back, never a
// body or a credential. The HTTP server writes it in batches, off the request path.
//
// Its records are operational records, not customer writes: they do not go through Apply,
// have no history and no idempotency. Like every other method, reads take the client
// explicitly and see only that client's records.
type RequestLog interface {
	// RecordRequests stores records. A record with ClientID 0 is stored under the client
	// whose code is ClientCode (ignoring letter case), and dropped when there is none.
	// Their text must be valid UTF-8 without NUL (LoggedRequest.Clean makes it so).
	// Errors: Unavailable.
	RecordRequests(ctx context.Context, rs []*LoggedRequest) error
	// RequestLog returns one page of the client's records that match q, newest first
	// (created_date, then the order they were stored in). Errors: Unavailable.
	RequestLog(ctx context.Context, client int64, q *RequestLogQuery) (*RequestLogPage, error)
	// PurgeRequestLog deletes the records of every client created before the given time
	// and reports how many. It deletes in several transactions, so that a large purge does
	// not hold up other writes. Errors: Unavailable.
	PurgeRequestLog(ctx context.Context, before time.Time) (int64, error)
}

// DefaultRequestLogDays is how many days request log records are kept unless the server
// is told otherwise.
const DefaultRequestLogDays = 30

// LoggedRequest is one API request as the request log keeps it.
type LoggedRequest struct {
	// ClientID is the client the request belongs to: the authenticated user's. When the
	// request did not authenticate it is 0 and ClientCode names the client its
	// credentials claimed.
	ClientID   int64
	ClientCode string

	RequestID string
	Created   time.Time // when the request arrived, to the millisecond
	Method    string
	Path      string // without the query
	Query     string // the query string with nothing secret in it
	Status    int
	Duration  time.Duration // kept to the microsecond
	// Username is the authenticated user's name, or the name sent with credentials that
	// failed.
	Username       string
	CustomerID     int32  // the customer the path names, or 0
	IdempotencyKey string // "" when the request had none
	Replayed       bool   // the response was a stored one, replayed for a retry
	Error          string // the message of a 4xx or 5xx response, else ""
}

// Limits, in characters, of the text a request log record keeps; longer text is cut.
const (
	MaxLoggedRequestID = 64
	MaxLoggedMethod    = 20
	MaxLoggedPath      = 1000
	MaxLoggedQuery     = 2000
	MaxLoggedKey       = 255
	MaxLoggedError     = 1000
)

// Clean makes r storable in every store: each text valid UTF-8 without NUL or other
// control characters, and no longer than its limit.
func (r *LoggedRequest) Clean() {
	r.ClientCode = cleanText(r.ClientCode, MaxClientCode)
	r.RequestID = cleanText(r.RequestID, MaxLoggedRequestID)
	r.Method = cleanText(r.Method, MaxLoggedMethod)
	r.Path = cleanText(r.Path, MaxLoggedPath)
	r.Query = cleanText(r.Query, MaxLoggedQuery)
	r.Username = cleanText(r.Username, MaxUsername)
	r.IdempotencyKey = cleanText(r.IdempotencyKey, MaxLoggedKey)
	r.Error = cleanText(r.Error, MaxLoggedError)
	r.Created = r.Created.UTC().Truncate(time.Millisecond)
	r.Duration = r.Duration.Truncate(time.Microsecond)
}

// cleanText replaces invalid UTF-8 and control characters with U+FFFD and cuts s to at
// most max characters.
func cleanText(s string, max int) string {
	clean := utf8.ValidString(s) && !HasControl(s)
	if clean && len(s) <= max {
		return s
	}
	if !clean {
		s = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				return utf8.RuneError
			}
			return r
		}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	}
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max])
	}
	return s
}

// RequestLogQuery selects records of a client's request log. Within one filter several
// values match any of them; different filters must all match.
type RequestLogQuery struct {
	Statuses    []StatusRange
	Methods     []string // upper case
	CustomerIDs []int32
	Usernames   []string // already Fold-ed
	Created     TimeRange
	Page        int // from 1
	PageSize    int // from 1 to MaxPageSize
}

// StatusRange is an inclusive range of HTTP statuses: 404-404, or 500-599 for "5xx".
type StatusRange struct{ From, To int }

// Offset is the number of records before the query's page.
func (q *RequestLogQuery) Offset() int { return (q.Page - 1) * q.PageSize }

// RequestLogPage is one page of a request log.
type RequestLogPage struct {
	Requests []*LoggedRequest
	HasMore  bool
}

// PageOf makes the page of q from the records a store read for it: up to one more than
// the page size, the extra one only telling that a later page has records.
func (q *RequestLogQuery) PageOf(rs []*LoggedRequest) *RequestLogPage {
	rs, more := pageOf(q.PageSize, rs)
	return &RequestLogPage{Requests: rs, HasMore: more}
}

// PurgeRows is how many request log records one statement of a purge deletes at most, so
// that a large purge never holds up other writes for long.
const PurgeRows = 5000

// PurgeInBatches deletes, client by client, what deleteBatch deletes at most PurgeRows at
// a time, until a batch comes back short, and reports how many it deleted in all.
func PurgeInBatches(clients []int64, deleteBatch func(client int64) (int64, error)) (int64, error) {
	var total int64
	for _, client := range clients {
		for {
			n, err := deleteBatch(client)
			total += n
			if err != nil {
				return total, err
			}
			if n < PurgeRows {
				break
			}
		}
	}
	return total, nil
}

// ClientsOf returns, for each record, its client: ClientID, or else the client whose code
// is ClientCode (ignoring letter case), found by lookup (called once per code with the
// folded code; 0 when there is none). A record whose client does not exist gets 0 and is
// not stored: there is nobody to show it to.
func ClientsOf(rs []*LoggedRequest, lookup func(foldedCode string) (int64, error)) ([]int64, error) {
	out := make([]int64, len(rs))
	known := map[string]int64{}
	for i, r := range rs {
		if out[i] = r.ClientID; out[i] != 0 {
			continue
		}
		code := Fold(r.ClientCode)
		id, ok := known[code]
		if !ok {
			var err error
			if id, err = lookup(code); err != nil {
				return nil, err
			}
			known[code] = id
		}
		out[i] = id
	}
	return out, nil
}
