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
	in(b, "r.customer_id", q.CustomerIDs)
	// Every index of the table ends with (created_date, id), so each filter's index
	// gives its records in this order too.
	return requestLog(b, q, "request_logs r", "r")
}

// RequestLogByCustomer is RequestLog for a query with customer ids, for a store that
// keeps its index by customer as a table of its own, request_logs_customers (client_id,
// customer_id, created_date, id): the records are found through it, in its order.
func RequestLogByCustomer(d Dialect, client int64, q *customer.RequestLogQuery) (string, []any) {
	b := &builder{d: d}
	b.cond("c.client_id = " + b.arg(client))
	in(b, "c.customer_id", q.CustomerIDs)
	// CROSS JOIN keeps request_logs_customers the outer loop: a customer's few records
	// are read from it, rather than every record of the client checked for the customer.
	return requestLog(b, q, "request_logs_customers c CROSS JOIN request_logs r ON r.id = c.id", "c")
}

// requestLog adds q's filters other than the client and the customers to b, and returns
// the query of the page from the tables of from; ordered is the alias of the table whose
// created_date and id give the order.
func requestLog(b *builder, q *customer.RequestLogQuery, from, ordered string) (string, []any) {
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
	in(b, "r.username_fold", q.Usernames)
	if q.Created.From != nil {
		b.cond(ordered + ".created_date >= " + b.arg(b.d.Time(*q.Created.From)))
	}
	if q.Created.To != nil {
		b.cond(ordered + ".created_date <= " + b.arg(b.d.Time(*q.Created.To)))
	}
	return "SELECT " + RequestLogColumns + " FROM " + from + " WHERE " + strings.Join(b.conds, " AND ") +
		" ORDER BY " + ordered + ".created_date DESC, " + ordered + ".id DESC LIMIT " + strconv.Itoa(q.PageSize+1) +
		" OFFSET " + strconv.Itoa(q.Offset()), b.args
}
