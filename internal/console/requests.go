package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/queryparam"
)

// requestsPage is what the request log page shows.
type requestsPage struct {
	Off        bool // the request log is off on this server
	Filter     map[string]string
	Errors     map[string][]string
	Summary    []summaryItem
	Methods    []string
	Rows       []*customer.LoggedRequest
	Page       int
	Prev, Next string
}

const requestsPageSize = 25

// requests is the client's request log, newest first, filtered by the parameters of
// GET /v1/RequestLogs, to admin users: the API's requests and the console's sign-ins,
// writes and failures.
func (c *console) requests(w http.ResponseWriter, r *http.Request, v *visit) error {
	p := requestsPage{Off: c.reqlog == nil, Filter: map[string]string{}, Errors: map[string][]string{},
		Methods: []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}}
	if p.Off {
		c.render(w, r, v, http.StatusOK, "requests", "Request log", p)
		return nil
	}
	given := r.URL.Query()
	for name := range given {
		p.Filter[strings.TrimPrefix(strings.ToLower(name), "search.")] = given.Get(name)
	}
	q := &customer.RequestLogQuery{Page: 1, PageSize: requestsPageSize}
	status := http.StatusOK
	err := queryparam.Parse(r.URL.RawQuery, queryparam.RequestLog(q))
	var e *customer.Error
	if errors.As(err, &e) {
		status = http.StatusBadRequest
		stateOf(r).failure = e.Message
		for _, f := range e.Fields {
			p.Errors[f.Field] = append(p.Errors[f.Field], f.Message)
			p.Summary = append(p.Summary, summaryItem{Label: f.Field, Message: f.Message, Anchor: "q-" + f.Field})
		}
	} else if err != nil {
		return err
	}
	if err == nil {
		page, err := c.store.RequestLog(r.Context(), v.user.ClientID, q)
		if err != nil {
			return err
		}
		p.Rows, p.Page = page.Requests, q.Page
		at := func(n int) string {
			qv := url.Values{}
			for k, vs := range given {
				if k != "page" && vs[0] != "" {
					qv.Set(k, vs[0])
				}
			}
			qv.Set("page", strconv.Itoa(n))
			return Prefix + "requests?" + qv.Encode()
		}
		if q.Page > 1 {
			p.Prev = at(q.Page - 1)
		}
		if page.HasMore {
			p.Next = at(q.Page + 1)
		}
	}
	c.render(w, r, v, status, "requests", "Request log", p)
	return nil
}
