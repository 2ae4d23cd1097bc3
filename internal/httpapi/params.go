package httpapi

import (
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/custd/custd/internal/customer"
)

// param is one query parameter of a list endpoint. The same rules hold for every list
// (customers, history, events, …): the name may carry a "search." prefix, empty values
// are ignored as if the parameter were absent, only a repeatable parameter may be given
// more than once (its values then match any of them), and an unknown name is an error.
type param struct {
	name       string
	repeatable bool
	// read takes the parameter's non-empty values, at least one, and records each
	// problem under the parameter's name.
	read func(p *customer.Problems, values []string)
}

// parseParams reads a raw query string by its table of parameters. Names are matched
// ignoring letter case (Search.Page_Size is page_size), as ASP.NET, which Rev.io's API
// runs on, binds them. A parameter that cannot be read (bad URL encoding, a ';'
// separator) is an error, never skipped: a filter dropped would answer with more records
// than asked, and a sync that deletes what it does not see would lose data. Errors:
// Invalid, naming every bad parameter.
func parseParams(raw string, table []param) error {
	var p customer.Problems
	byName := make(map[string]*param, len(table))
	for i := range table {
		byName[table[i].name] = &table[i]
	}
	given := map[*param][]string{}
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
		case len(vs) > 1 && !prm.repeatable:
			p.Add(prm.name, "may be given only once (with or without the search. prefix)")
		default:
			prm.read(&p, vs)
		}
	}
	return p.Err()
}

// paramNames returns the names a table accepts (without the search. prefix) and whether
// each may be repeated.
func paramNames(table []param) map[string]bool {
	out := make(map[string]bool, len(table))
	for _, prm := range table {
		out[prm.name] = prm.repeatable
	}
	return out
}

// The kinds of parameter. Each returns the table row that reads into its target.

// idsParam reads repeatable ids into *dst.
func idsParam(name string, dst *[]int32) param {
	return param{name, true, func(p *customer.Problems, vs []string) {
		for _, v := range vs {
			if id, ok := parseID(v); ok {
				*dst = append(*dst, id)
			} else {
				p.Add(name, "must be a whole number from 1 to 2147483647 (got %q)", v)
			}
		}
	}}
}

// idsParam64 reads repeatable 64-bit ids into *dst.
func idsParam64(name string, dst *[]int64) param {
	return param{name, true, func(p *customer.Problems, vs []string) {
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

// int64Param reads one whole number from min to max into *dst.
func int64Param(name string, min, max int64, dst *int64) param {
	return param{name, false, func(p *customer.Problems, vs []string) {
		n, err := strconv.ParseInt(vs[0], 10, 64)
		if err != nil || n < min || n > max {
			p.Add(name, "must be a whole number from %d to %d (got %q)", min, max, vs[0])
			return
		}
		*dst = n
	}}
}

// stringsParam reads repeatable exact values into *dst.
func stringsParam(name string, dst *[]string) param {
	return param{name, true, func(_ *customer.Problems, vs []string) { *dst = append(*dst, vs...) }}
}

// enumsParam reads repeatable members of values, in any letter case, into *dst. When all
// is not empty, that word among the values means no filter.
func enumsParam[T ~string](name string, values []T, all string, dst *[]T) param {
	return param{name, true, func(p *customer.Problems, vs []string) {
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

// textParam reads one substring to search for, folded, into *dst: at most max
// characters, the longest text it is searched in, so that no search does work for text
// that can match nothing.
func textParam(name string, max int, dst *string) param {
	return param{name, false, func(p *customer.Problems, vs []string) {
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

// flagParam reads true or false into *dst.
func flagParam(name string, dst **bool) param {
	return param{name, false, func(p *customer.Problems, vs []string) {
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

// rangeParams reads name_start and name_end, inclusive date-time bounds. A bare date as
// an end bound means the end of that day, so created_date_end=2024-06-10 includes
// customers created on June 10th.
func rangeParams(name string, dst *customer.TimeRange) []param {
	bound := func(key string, end bool, t **time.Time) param {
		return param{key, false, func(p *customer.Problems, vs []string) {
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
	return []param{bound(name+"_start", false, &dst.From), bound(name+"_end", true, &dst.To)}
}

// sortParam reads one of keys, with a leading - for descending.
func sortParam[T ~string](keys []T, key *T, desc *bool) param {
	return param{"sort", false, func(p *customer.Problems, vs []string) {
		k, ok := customer.ParseEnum(strings.TrimPrefix(vs[0], "-"), keys)
		if !ok {
			p.Add("sort", "must be one of %s, with a leading - for descending (got %q)", customer.EnumList(keys), vs[0])
			return
		}
		*key, *desc = k, strings.HasPrefix(vs[0], "-")
	}}
}

// pagingParams reads page (from 1) and page_size (from 1; larger than the maximum is
// served as the maximum).
func pagingParams(page, size *int) []param {
	return []param{
		{"page", false, func(p *customer.Problems, vs []string) {
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 1 || n > 10_000_000 {
				p.Add("page", "must be a whole number from 1 to 10000000 (got %q)", vs[0])
				return
			}
			*page = n
		}},
		pageSizeParam(size),
	}
}

// pageSizeParam reads page_size (from 1; larger than the maximum is served as the
// maximum).
func pageSizeParam(size *int) param {
	return param{"page_size", false, func(p *customer.Problems, vs []string) {
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
