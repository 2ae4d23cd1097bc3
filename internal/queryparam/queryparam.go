// Package queryparam reads the query strings of list reads (the customer search, the
// request log, history, the change feed, webhook lists) by tables of their parameters,
// with the rules every list shares: an optional search. prefix, names in any letter case,
// empty values ignored, repeats only where allowed, and anything that cannot be read
// refused with the parameter named, never skipped. The API and the console read their
// lists with it, so a filter means the same in both.
package queryparam

import (
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/custd/custd/internal/customer"
)

// Param is one query parameter of a list endpoint. The same rules hold for every list
// (customers, history, events, …): the name may carry a "search." prefix, empty values
// are ignored as if the parameter were absent, only a repeatable parameter may be given
// more than once (its values then match any of them), and an unknown name is an error.
type Param struct {
	Name       string
	Repeatable bool
	// Read takes the parameter's non-empty values, at least one, and records each
	// problem under the parameter's name.
	Read func(p *customer.Problems, values []string)
}

// Parse reads a raw query string by its table of parameters. Names are matched
// ignoring letter case (Search.Page_Size is page_size), as ASP.NET, which Rev.io's API
// runs on, binds them. A parameter that cannot be read (bad URL encoding, a ';'
// separator) is an error, never skipped: a filter dropped would answer with more records
// than asked, and a sync that deletes what it does not see would lose data. Errors:
// Invalid, naming every bad parameter.
func Parse(raw string, table []Param) error {
	var p customer.Problems
	byName := make(map[string]*Param, len(table))
	for i := range table {
		byName[table[i].Name] = &table[i]
	}
	given := map[*Param][]string{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil || strings.Contains(pair, ";") {
			if err != nil {
				name = rawName
			}
			p.Add(name, "cannot be read: the query string must be URL-encoded name=value pairs joined by & (not ;); nothing was searched")
			continue
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			p.Add(name, "cannot be read: its value is not valid URL encoding (%v); nothing was searched", err)
			continue
		}
		prm := byName[strings.TrimPrefix(strings.ToLower(name), "search.")]
		if prm == nil {
			p.Add(name, "is not a parameter of this list")
			continue
		}
		if value = strings.TrimSpace(value); value != "" {
			given[prm] = append(given[prm], value)
		}
	}
	for i := range table {
		prm := &table[i]
		vs := given[prm]
		switch {
		case len(vs) == 0:
		case len(vs) > 1 && !prm.Repeatable:
			p.Add(prm.Name, "may be given only once (with or without the search. prefix)")
		default:
			prm.Read(&p, vs)
		}
	}
	return p.Err()
}

// Names returns the names a table accepts (without the search. prefix) and whether
// each may be repeated.
func Names(table []Param) map[string]bool {
	out := make(map[string]bool, len(table))
	for _, prm := range table {
		out[prm.Name] = prm.Repeatable
	}
	return out
}

// The kinds of parameter. Each returns the table row that reads into its target.

// IDs reads repeatable ids into *dst.
func IDs(name string, dst *[]int32) Param {
	return Param{name, true, func(p *customer.Problems, vs []string) {
		for _, v := range vs {
			if id, ok := ParseID(v); ok {
				*dst = append(*dst, id)
			} else {
				p.Add(name, "must be a whole number from 1 to 2147483647 (got %q)", v)
			}
		}
	}}
}

// IDs64 reads repeatable 64-bit ids into *dst.
func IDs64(name string, dst *[]int64) Param {
	return Param{name, true, func(p *customer.Problems, vs []string) {
		for _, v := range vs {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id < 1 {
				p.Add(name, "must be a whole number from 1 to 9223372036854775807 (got %q)", v)
				continue
			}
			*dst = append(*dst, id)
		}
	}}
}

// Int64 reads one whole number from min to max into *dst.
func Int64(name string, min, max int64, dst *int64) Param {
	return Param{name, false, func(p *customer.Problems, vs []string) {
		n, err := strconv.ParseInt(vs[0], 10, 64)
		if err != nil || n < min || n > max {
			p.Add(name, "must be a whole number from %d to %d (got %q)", min, max, vs[0])
			return
		}
		*dst = n
	}}
}

// Strings reads repeatable exact values into *dst.
func Strings(name string, dst *[]string) Param {
	return Param{name, true, func(_ *customer.Problems, vs []string) { *dst = append(*dst, vs...) }}
}

// Enums reads repeatable members of values, in any letter case, into *dst. When all
// is not empty, that word among the values means no filter.
func Enums[T ~string](name string, values []T, all string, dst *[]T) Param {
	return Param{name, true, func(p *customer.Problems, vs []string) {
		for _, v := range vs {
			if all != "" && strings.EqualFold(v, all) {
				*dst = nil
				return
			}
			e, ok := customer.ParseEnum(v, values)
			if !ok {
				or := ""
				if all != "" {
					or = ", or " + all
				}
				p.Add(name, "must be one of %s%s (got %q)", customer.EnumList(values), or, v)
				continue
			}
			*dst = append(*dst, e)
		}
	}}
}

// Text reads one substring to search for, folded, into *dst: at most max
// characters, the longest text it is searched in, so that no search does work for text
// that can match nothing.
func Text(name string, max int, dst *string) Param {
	return Param{name, false, func(p *customer.Problems, vs []string) {
		if customer.HasControl(vs[0]) || !utf8.ValidString(vs[0]) {
			p.Add(name, "must be text without control characters")
			return
		}
		if n := utf8.RuneCountInString(vs[0]); n > max {
			p.Add(name, "must be at most %d characters, the longest text it is searched in (got %d)", max, n)
			return
		}
		*dst = customer.Fold(vs[0])
	}}
}

// Flag reads true or false into *dst.
func Flag(name string, dst **bool) Param {
	return Param{name, false, func(p *customer.Problems, vs []string) {
		var b bool
		switch strings.ToLower(vs[0]) {
		case "true":
			b = true
		case "false":
		default:
			p.Add(name, "must be true or false (got %q)", vs[0])
			return
		}
		*dst = &b
	}}
}

// Range reads name_start and name_end, inclusive date-time bounds. A bare date as
// an end bound means the end of that day, so created_date_end=2024-06-10 includes
// customers created on June 10th.
func Range(name string, dst *customer.TimeRange) []Param {
	bound := func(key string, end bool, t **time.Time) Param {
		return Param{key, false, func(p *customer.Problems, vs []string) {
			v, ok := customer.ParseTime(vs[0])
			if !ok {
				p.Add(key, "must be a date-time such as 2024-06-10T09:31:44.903Z or a date such as 2024-06-10 (got %q)", vs[0])
				return
			}
			if end && len(vs[0]) == len(time.DateOnly) {
				v = v.Add(24*time.Hour - time.Millisecond)
			}
			*t = &v
		}}
	}
	return []Param{bound(name+"_start", false, &dst.From), bound(name+"_end", true, &dst.To)}
}

// Sort reads one of keys, with a leading - for descending.
func Sort[T ~string](keys []T, key *T, desc *bool) Param {
	return Param{"sort", false, func(p *customer.Problems, vs []string) {
		k, ok := customer.ParseEnum(strings.TrimPrefix(vs[0], "-"), keys)
		if !ok {
			p.Add("sort", "must be one of %s, with a leading - for descending (got %q)", customer.EnumList(keys), vs[0])
			return
		}
		*key, *desc = k, strings.HasPrefix(vs[0], "-")
	}}
}

// Paging reads page (from 1) and page_size (from 1; larger than the maximum is
// served as the maximum).
func Paging(page, size *int) []Param {
	return []Param{
		{"page", false, func(p *customer.Problems, vs []string) {
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 1 || n > 10_000_000 {
				p.Add("page", "must be a whole number from 1 to 10000000 (got %q)", vs[0])
				return
			}
			*page = n
		}},
		PageSize(size),
	}
}

// PageSize reads page_size (from 1; larger than the maximum is served as the
// maximum).
func PageSize(size *int) Param {
	return Param{"page_size", false, func(p *customer.Problems, vs []string) {
		v := vs[0]
		n, err := strconv.Atoi(v)
		switch {
		case err != nil && strings.Trim(v, "0123456789") != "":
			p.Add("page_size", "must be a whole number of at least 1 (got %q)", v)
		case err != nil || n > customer.MaxPageSize:
			*size = customer.MaxPageSize
		case n < 1:
			p.Add("page_size", "must be at least 1 (got %d)", n)
		default:
			*size = n
		}
	}}
}

// ParseID reads a customer id (or any other 32-bit id) from a path or query value: a
// whole number from 1 to 2147483647.
func ParseID(s string) (int32, bool) {
	n, err := strconv.ParseInt(s, 10, 32)
	return int32(n), err == nil && n >= 1
}
