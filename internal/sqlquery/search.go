// Package sqlquery holds the SQL that every SQL store shares: the query of a customer
// search, so that every store filters and orders alike, and reading and writing the
// customers table's common columns. Only the differences between SQL dialects (placeholders,
// booleans, times and substring matching) are left to the store, through Dialect.
package sqlquery

import (
	"strconv"
	"strings"
	"time"

	"github.com/custd/custd/internal/customer"
)

// Dialect is what differs between the SQL stores.
type Dialect interface {
	// Placeholder returns the text of the n-th parameter (from 1): "?" or "$n".
	Placeholder(n int) string
	// Bool and Time convert a value to the column's representation.
	Bool(bool) any
	Time(time.Time) any
	// Millis returns an expression reading a date-time column as Unix milliseconds.
	Millis(column string) string
	// Substring returns a condition that is true when the customer's text of the given
	// field contains the folded substring s; it adds its parameters through arg.
	Substring(field TextField, s string, arg func(any) string) string
	// Order returns one ORDER BY term. Customers without a value sort before all others
	// ascending and after them descending, in every store.
	Order(column string, desc bool) string
}

// TextField is a text that searches match substrings of.
type TextField int

// The searched texts.
const (
	// NameText is the billing company name, and the billing first and last name.
	NameText TextField = iota
	// EmailText is the email.
	EmailText
)

// Search returns the WHERE conditions (joined with AND, always starting with the client),
// the ORDER BY list, and the parameters, for the customers table aliased as c.
// LIMIT and OFFSET are left to the caller: the page size plus one, to learn has_more.
func Search(d Dialect, client int64, q *customer.Query) (where, order string, args []any) {
	b := &builder{d: d}
	b.cond("c.client_id = " + b.arg(client))
	in(b, "c.customer_id", q.IDs)
	in(b, "c.account_number", q.AccountNumbers)
	in(b, "c.parent_customer_id", q.ParentIDs)
	in(b, "c.agent_id", q.AgentIDs)
	in(b, "c.secondary_agent_id", q.SecondaryAgentIDs)
	in(b, "c.sold_by", q.SoldBy)
	in(b, "c.created_by", q.CreatedBy)
	in(b, "c.bill_profile_id", q.BillProfileIDs)
	statuses := make([]string, len(q.Statuses))
	for i, s := range q.Statuses {
		statuses[i] = string(s)
	}
	in(b, "c.status", statuses)
	if q.Email != "" {
		b.cond(d.Substring(EmailText, q.Email, b.arg))
	}
	if q.Name != "" {
		b.cond(d.Substring(NameText, q.Name, b.arg))
	}
	if q.IsParent != nil {
		b.cond("c.is_parent = " + b.arg(d.Bool(*q.IsParent)))
	}
	if q.Suspended != nil {
		b.cond("c.suspended = " + b.arg(d.Bool(*q.Suspended)))
	}
	for _, r := range []struct {
		col string
		r   customer.TimeRange
	}{{"c.created_date", q.Created}, {"c.updated_date", q.Updated}, {"c.activated_date", q.Activated}, {"c.close_date", q.Closed}} {
		if r.r.From != nil {
			b.cond(r.col + " >= " + b.arg(d.Time(*r.r.From)))
		}
		if r.r.To != nil {
			b.cond(r.col + " <= " + b.arg(d.Time(*r.r.To)))
		}
	}
	sort := q.Sort
	if sort == "" {
		sort = customer.SortCustomerID
	}
	order = d.Order("c."+string(sort), q.Descending)
	if sort != customer.SortCustomerID {
		order += ", " + d.Order("c.customer_id", q.Descending)
	}
	return strings.Join(b.conds, " AND "), order, b.args
}

// Limit returns the LIMIT and OFFSET clause for q's page, asking one record more than the
// page holds so the caller learns whether a later page has records.
func Limit(q *customer.Query) string {
	return " LIMIT " + strconv.Itoa(q.PageSize+1) + " OFFSET " + strconv.Itoa(q.Offset())
}

type builder struct {
	d     Dialect
	conds []string
	args  []any
}

func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return b.d.Placeholder(len(b.args))
}

func (b *builder) cond(c string) { b.conds = append(b.conds, c) }

func in[T any](b *builder, col string, vs []T) {
	if len(vs) == 0 {
		return
	}
	ps := make([]string, len(vs))
	for i, v := range vs {
		ps[i] = b.arg(v)
	}
	b.cond(col + " IN (" + strings.Join(ps, ", ") + ")")
}

// ShortSubstring reports whether a substring search for s is too short for a trigram
// index, and so is answered by reading the client's customers in order instead.
func ShortSubstring(s string) bool { return len([]rune(s)) < 3 }

// LikePattern returns a SQL LIKE pattern matching s anywhere, with '\' as escape.
func LikePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// SelectCustomer starts every query that reads whole customers (the customers table
// aliased as c); ScanCustomer reads one of its rows.
const SelectCustomer = `SELECT c.customer_id, c.client_id, c.version, c.doc FROM customers c`

// Scanner is a row of a query: *sql.Row, *sql.Rows, pgx.Row and pgx.Rows are.
type Scanner interface{ Scan(dest ...any) error }

// ScanCustomer reads a row of SelectCustomer.
func ScanCustomer(r Scanner) (*customer.Customer, error) {
	var (
		id           int32
		client, vers int64
		doc          []byte
	)
	if err := r.Scan(&id, &client, &vers, &doc); err != nil {
		return nil, err
	}
	return customer.FromDocument(id, client, vers, doc)
}

// ScanStored reads a row of SelectCustomer without decoding its document.
func ScanStored(r Scanner) (*customer.Stored, error) {
	st := &customer.Stored{}
	if err := r.Scan(&st.ID, &st.ClientID, &st.Version, &st.Document); err != nil {
		return nil, err
	}
	return st, nil
}

// NullIfEmpty is the column value of an optional text whose unique index must ignore
// empty values: NULL for null and for "".
func NullIfEmpty(s *string) any {
	if s == nil || *s == "" {
		return nil
	}
	return *s
}
