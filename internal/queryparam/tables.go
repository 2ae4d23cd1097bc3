package queryparam

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/custd/custd/internal/customer"
)

// Customers is the table of the customer search's parameters, reading into q.
func Customers(q *customer.Query) []Param {
	table := []Param{
		IDs("customer_id", &q.IDs),
		Strings("account_number", &q.AccountNumbers),
		IDs("parent_customer_id", &q.ParentIDs),
		IDs("agent_id", &q.AgentIDs),
		IDs("secondary_agent_id", &q.SecondaryAgentIDs),
		IDs("sold_by", &q.SoldBy),
		IDs("created_by", &q.CreatedBy),
		IDs("bill_profile_id", &q.BillProfileIDs),
		Enums("status", customer.Statuses, "ALL", &q.Statuses),
		Text("email", customer.MaxEmail, &q.Email),
		Text("name", customer.MaxNameSearch, &q.Name),
		Flag("is_parent", &q.IsParent),
		Flag("suspended", &q.Suspended),
		Sort(customer.SortKeys, &q.Sort, &q.Descending),
	}
	table = append(table, Range("created_date", &q.Created)...)
	table = append(table, Range("updated_date", &q.Updated)...)
	table = append(table, Range("activated_date", &q.Activated)...)
	table = append(table, Range("close_date", &q.Closed)...)
	return append(table, Paging(&q.Page, &q.PageSize)...)
}

// Search reads the raw query string of a customer search. Errors: Invalid, naming every
// bad parameter.
func Search(raw string) (*customer.Query, error) {
	q := &customer.Query{Sort: customer.SortCustomerID, Page: 1, PageSize: customer.DefaultPageSize}
	if err := Parse(raw, Customers(q)); err != nil {
		return nil, err
	}
	return q, nil
}

// RequestLog is the table of the request log's parameters, reading into q.
func RequestLog(q *customer.RequestLogQuery) []Param {
	table := []Param{
		{"status", true, func(p *customer.Problems, vs []string) {
			for _, v := range vs {
				if r, ok := StatusFilter(v); ok {
					q.Statuses = append(q.Statuses, r)
				} else {
					p.Add("status", "must be an HTTP status from 100 to 599, or a class such as 4xx or 5xx (got %q)", v)
				}
			}
		}},
		{"method", true, func(p *customer.Problems, vs []string) {
			for _, v := range vs {
				if len(v) <= customer.MaxLoggedMethod && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
					q.Methods = append(q.Methods, strings.ToUpper(v))
				} else {
					p.Add("method", "must be an HTTP method such as GET or PUT (got %q)", v)
				}
			}
		}},
		IDs("customer_id", &q.CustomerIDs),
		{"username", true, func(p *customer.Problems, vs []string) {
			for _, v := range vs {
				if !utf8.ValidString(v) || customer.HasControl(v) || utf8.RuneCountInString(v) > customer.MaxUsername {
					p.Add("username", "must be a username of at most %d characters without control characters", customer.MaxUsername)
					continue
				}
				q.Usernames = append(q.Usernames, customer.Fold(v))
			}
		}},
	}
	table = append(table, Range("created_date", &q.Created)...)
	return append(table, Paging(&q.Page, &q.PageSize)...)
}

// ParseRequestLog reads the query string of a request log read. Errors: Invalid, naming
// every bad parameter.
func ParseRequestLog(raw string) (*customer.RequestLogQuery, error) {
	q := &customer.RequestLogQuery{Page: 1, PageSize: customer.DefaultPageSize}
	if err := Parse(raw, RequestLog(q)); err != nil {
		return nil, err
	}
	return q, nil
}

// StatusFilter reads one status filter of the request log: a status (404), or a class
// (4xx).
func StatusFilter(v string) (customer.StatusRange, bool) {
	if len(v) == 3 && v[0] >= '1' && v[0] <= '5' && strings.EqualFold(v[1:], "xx") {
		from := int(v[0]-'0') * 100
		return customer.StatusRange{From: from, To: from + 99}, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 100 || n > 599 || strings.Trim(v, "0123456789") != "" {
		return customer.StatusRange{}, false
	}
	return customer.StatusRange{From: n, To: n}, true
}
