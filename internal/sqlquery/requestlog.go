package sqlquery

import (
	"strconv"
	"strings"

	"github.com/custd/custd/internal/customer"
)

// RequestLogColumns are the columns of a request log record that a read returns, in the
// order the stores scan them, for the request_logs table aliased as r.
const RequestLogColumns = `r.request_id, r.created_date, r.method, r.path, r.query, r.status, r.duration_us,
	r.username, r.customer_id, r.idempotency_key, r.replayed, r.error`

// RequestLog returns the query of one page of a client's request log that matches q,
// newest first, and its parameters. It reads one record more than the page holds, so the
// caller learns whether a later page has records.
func RequestLog(d Dialect, client int64, q *customer.RequestLogQuery) (string, []any) {
	b := &builder{d: d}
	b.cond("r.client_id = " + b.arg(client))
	if len(q.Statuses) > 0 {
		ors := make([]string, len(q.Statuses))
		for i, s := range q.Statuses {
			if s.From == s.To {
				ors[i] = "r.status = " + b.arg(s.From)
			} else {
				ors[i] = "r.status BETWEEN " + b.arg(s.From) + " AND " + b.arg(s.To)
			}
		}
		b.cond("(" + strings.Join(ors, " OR ") + ")")
	}
	in(b, "r.method", q.Methods)
	in(b, "r.customer_id", q.CustomerIDs)
	in(b, "r.username_fold", q.Usernames)
	if q.Created.From != nil {
		b.cond("r.created_date >= " + b.arg(d.Time(*q.Created.From)))
	}
	if q.Created.To != nil {
		b.cond("r.created_date <= " + b.arg(d.Time(*q.Created.To)))
	}
	// Every index of the table ends with (created_date, id), so each filter's index
	// gives its records in this order too.
	return "SELECT " + RequestLogColumns + " FROM request_logs r WHERE " + strings.Join(b.conds, " AND ") +
		" ORDER BY r.created_date DESC, r.id DESC LIMIT " + strconv.Itoa(q.PageSize+1) +
		" OFFSET " + strconv.Itoa(q.Offset()), b.args
}
