package httpapi

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/custd/custd/internal/customer"
)

// searchParams lists every search parameter (without its optional "search." prefix) and
// whether it may be repeated to match any of several values.
var searchParams = map[string]bool{
	"customer_id": true, "account_number": true, "parent_customer_id": true, "agent_id": true,
	"secondary_agent_id": true, "sold_by": true, "created_by": true, "bill_profile_id": true, "status": true,
	"email": false, "name": false, "is_parent": false, "suspended": false,
	"created_date_start": false, "created_date_end": false, "updated_date_start": false, "updated_date_end": false,
	"activated_date_start": false, "activated_date_end": false, "close_date_start": false, "close_date_end": false,
	"sort": false, "page": false, "page_size": false,
}

// parseSearch reads the query string of a search. Empty values are ignored, as if the
// parameter were absent. Errors: Invalid, naming every bad parameter.
func parseSearch(values url.Values) (*customer.Query, error) {
	var p customer.Problems
	params := map[string][]string{}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		key := strings.TrimPrefix(name, "search.")
		repeatable, known := searchParams[key]
		if !known {
			p.Add(name, "is not a search parameter")
			continue
		}
		for _, v := range values[name] {
			if v = strings.TrimSpace(v); v != "" {
				params[key] = append(params[key], v)
			}
		}
		if !repeatable && len(params[key]) > 1 && !slices.ContainsFunc(p, func(f customer.FieldError) bool { return f.Field == key }) {
			p.Add(key, "may be given only once (with or without the search. prefix)")
		}
	}
	q := &customer.Query{Sort: customer.SortCustomerID, Page: 1, PageSize: customer.DefaultPageSize}
	ids := func(key string) []int32 {
		var out []int32
		for _, v := range params[key] {
			if id, ok := parseID(v); ok {
				out = append(out, id)
			} else {
				p.Add(key, "must be a whole number from 1 to 2147483647 (got %q)", v)
			}
		}
		return out
	}
	q.IDs = ids("customer_id")
	q.AccountNumbers = params["account_number"]
	q.ParentIDs = ids("parent_customer_id")
	q.AgentIDs = ids("agent_id")
	q.SecondaryAgentIDs = ids("secondary_agent_id")
	q.SoldBy = ids("sold_by")
	q.CreatedBy = ids("created_by")
	q.BillProfileIDs = ids("bill_profile_id")
	for _, v := range params["status"] {
		if strings.EqualFold(v, "ALL") {
			q.Statuses = nil
			break
		}
		st, ok := customer.ParseEnum(v, customer.Statuses)
		if !ok {
			p.Add("status", "must be one of %s, or ALL (got %q)", customer.EnumList(customer.Statuses), v)
			continue
		}
		q.Statuses = append(q.Statuses, st)
	}
	text := func(key string) string {
		v := first(params, key)
		if customer.HasControl(v) || !utf8.ValidString(v) {
			p.Add(key, "must be text without control characters")
			return ""
		}
		return customer.Fold(v)
	}
	q.Email = text("email")
	q.Name = text("name")
	flag := func(key string) *bool {
		v := first(params, key)
		var b bool
		switch strings.ToLower(v) {
		case "":
			return nil
		case "true":
			b = true
		case "false":
		default:
			p.Add(key, "must be true or false (got %q)", v)
			return nil
		}
		return &b
	}
	q.IsParent = flag("is_parent")
	q.Suspended = flag("suspended")
	for _, r := range []struct {
		name string
		r    *customer.TimeRange
	}{{"created_date", &q.Created}, {"updated_date", &q.Updated}, {"activated_date", &q.Activated}, {"close_date", &q.Closed}} {
		r.r.From = bound(&p, params, r.name+"_start", false)
		r.r.To = bound(&p, params, r.name+"_end", true)
	}
	if v := first(params, "sort"); v != "" {
		key := strings.TrimPrefix(v, "-")
		if sk, ok := customer.ParseEnum(key, customer.SortKeys); ok {
			q.Sort, q.Descending = sk, strings.HasPrefix(v, "-")
		} else {
			p.Add("sort", "must be one of %s, with a leading - for descending (got %q)", customer.EnumList(customer.SortKeys), v)
		}
	}
	if v := first(params, "page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10_000_000 {
			p.Add("page", "must be a whole number from 1 to 10000000 (got %q)", v)
		} else {
			q.Page = n
		}
	}
	if v := first(params, "page_size"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil && !isDigits(v):
			p.Add("page_size", "must be a whole number of at least 1 (got %q)", v)
		case err != nil || n > customer.MaxPageSize:
			q.PageSize = customer.MaxPageSize // larger sizes are served as the maximum
		case n < 1:
			p.Add("page_size", "must be at least 1 (got %d)", n)
		default:
			q.PageSize = n
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return q, nil
}

func first(params map[string][]string, key string) string {
	if v := params[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// bound reads an inclusive date-time bound. A bare date as an end bound means the end of
// that day, so created_date_end=2024-06-10 includes customers created on June 10th.
func bound(p *customer.Problems, params map[string][]string, key string, end bool) *time.Time {
	v := first(params, key)
	if v == "" {
		return nil
	}
	t, ok := parseTime(v)
	if !ok {
		p.Add(key, "must be a date-time such as 2024-06-10T09:31:44.903Z or a date such as 2024-06-10 (got %q)", v)
		return nil
	}
	if end && len(v) == len(time.DateOnly) {
		t = t.Add(24*time.Hour - time.Millisecond)
	}
	return &t
}
