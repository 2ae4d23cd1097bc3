package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/queryparam"
)

// listPageSize is how many customers a page of the list shows unless asked otherwise.
const listPageSize = 25

// listPage is what the customer list shows.
type listPage struct {
	Filter   map[string]string   // the filters as given
	Errors   map[string][]string // the filters' problems, by parameter
	Summary  []summaryItem
	MoreOpen bool // a filter of the folded part is set or wrong
	Statuses []string
	Columns  []column
	Rows     []listRow
	Page     int
	Prev     string // the previous page's address, if any
	Next     string
}

type listRow struct {
	ID                                 int32
	Name, AccountNumber, Email, Status string
	Updated                            time.Time
}

// column is a heading of the list; a sortable one links to the list sorted by it.
type column struct {
	Label, URL string
	Sort       string // aria-sort: ascending, descending or none; "" when not sortable
}

// dateFilters are the filters of the list's folded part.
var dateFilters = []string{"created_date_start", "created_date_end", "updated_date_start", "updated_date_end",
	"activated_date_start", "activated_date_end", "close_date_start", "close_date_end"}

// customerList is the list of the client's customers: searched, sorted and paged by the
// same parameters as GET /v1/Customers; the latest changed first, or for a name or email
// search the newest customers first, unless sorted otherwise.
func (c *console) customerList(w http.ResponseWriter, r *http.Request, v *visit) error {
	q := &customer.Query{Sort: customer.SortUpdatedDate, Descending: true, Page: 1, PageSize: listPageSize}
	p := listPage{Filter: map[string]string{}, Errors: map[string][]string{}, Statuses: names(customer.Statuses)}
	given := r.URL.Query()
	for name := range given {
		p.Filter[strings.TrimPrefix(strings.ToLower(name), "search.")] = given.Get(name)
	}
	status := http.StatusOK
	err := queryparam.Parse(r.URL.RawQuery, queryparam.Customers(q))
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
	if p.Filter["sort"] == "" && (q.Name != "" || q.Email != "") {
		// A name or email fragment is found through its text index in customer order,
		// which stops as soon as the page is full; in another order every match would be
		// collected and sorted first (docs/search.md). So a text search lists the newest
		// customers first unless asked otherwise.
		q.Sort, q.Descending = customer.SortCustomerID, true
	}
	for _, name := range dateFilters {
		if p.Filter[name] != "" || p.Errors[name] != nil {
			p.MoreOpen = true
		}
	}
	sortKey := string(q.Sort)
	if q.Descending {
		sortKey = "-" + sortKey
	}
	for _, col := range []struct{ label, key string }{
		{"ID", "customer_id"}, {"Name", ""}, {"Account number", "account_number"}, {"Email", ""}, {"Status", "status"},
		{"Updated", "updated_date"},
	} {
		cl := column{Label: col.label}
		if col.key != "" {
			next, aria := col.key, "none"
			switch sortKey {
			case col.key:
				next, aria = "-"+col.key, "ascending"
			case "-" + col.key:
				aria = "descending"
			}
			cl.URL, cl.Sort = listURL(given, map[string]string{"sort": next, "page": ""}), aria
		}
		p.Columns = append(p.Columns, cl)
	}
	if err == nil {
		page, err := c.store.SearchCustomers(r.Context(), v.user.ClientID, q)
		if err != nil {
			return err
		}
		for _, cu := range page.Customers {
			p.Rows = append(p.Rows, listRow{ID: cu.ID, Name: displayName(cu), AccountNumber: deref(cu.AccountNumber),
				Email: deref(cu.Email), Status: string(cu.Status), Updated: cu.UpdatedDate})
		}
		p.Page = q.Page
		if q.Page > 1 {
			p.Prev = listURL(given, map[string]string{"page": strconv.Itoa(q.Page - 1)})
		}
		if page.HasMore {
			p.Next = listURL(given, map[string]string{"page": strconv.Itoa(q.Page + 1)})
		}
	}
	c.render(w, r, v, status, "customers", "Customers", p)
	return nil
}

// listURL is the list's address with the given parameters changed ("" removes one) and
// the empty ones left out.
func listURL(given url.Values, set map[string]string) string {
	q := url.Values{}
	for name, vs := range given {
		key := strings.TrimPrefix(strings.ToLower(name), "search.")
		for _, v := range vs {
			if v != "" {
				q.Add(key, v)
			}
		}
	}
	for k, v := range set {
		q.Del(k)
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return Prefix + "customers"
	}
	return Prefix + "customers?" + q.Encode()
}

// displayName names a customer for people: its billing company, else its billing
// person, else its account number.
func displayName(c *customer.Customer) string {
	if a := c.BillingAddress; a != nil {
		if a.CompanyName != "" {
			return a.CompanyName
		}
		if n := strings.TrimSpace(a.FirstName + " " + a.LastName); n != "" {
			return n
		}
	}
	if c.AccountNumber != nil && *c.AccountNumber != "" {
		return "Account " + *c.AccountNumber
	}
	return "Customer " + strconv.Itoa(int(c.ID))
}

// customerPage is what the customer page, the new customer page and a past version's
// page show.
type customerPage struct {
	C      *customer.Customer // the customer as stored (nil for a new one)
	Name   string
	ETag   string // the version the form was read from
	Form   formView
	Edit   bool // the form is shown to change (a writer, on the current version)
	New    bool
	Action string
	Notice string
	// Conflict lists what others saved since the form was read, when a save lost.
	Conflict *conflictView
	// Version is set on a past version's page.
	Version *versionView
}

type conflictView struct {
	Versions []versionView
	Earlier  int // versions before those listed, not shown
}

// notices are the messages a page shows after a write sent the browser to it.
var notices = map[string]string{
	"saved":   "Saved.",
	"created": "Customer created.",
	"closed":  "The account is closed.",
	"retried": "The delivery will be sent again now.",
}

// pathID reads the {id} of a customer's path; anything else is no customer.
func pathID(r *http.Request) (int32, error) {
	id, ok := queryparam.ParseID(r.PathValue("id"))
	if !ok {
		return 0, customer.Errorf(customer.NotFound, "there is no customer %q", clip(r.PathValue("id")))
	}
	if st := stateOf(r); st != nil {
		st.customerID = id
	}
	return id, nil
}

// customerPage shows a customer: to a writer as the form that changes it, to a readonly
// user as text.
func (c *console) customerPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	cu, err := c.store.Customer(r.Context(), v.user.ClientID, id)
	if err != nil {
		return err
	}
	p := customerPage{C: cu, Name: displayName(cu), ETag: cu.ETag(), Form: buildForm(formValues(&cu.Writable), nil, nil),
		Edit: v.user.Role.CanWrite(), Action: customerURL(id), Notice: notices[r.URL.Query().Get("done")]}
	c.render(w, r, v, http.StatusOK, "customer", p.Name, p)
	return nil
}

func customerURL(id int32) string { return Prefix + "customers/" + strconv.Itoa(int(id)) }

// actor names the user and the request of a write, for history.
func actor(r *http.Request, v *visit) customer.Actor {
	return customer.Actor{Username: v.user.Username + "@" + v.user.ClientCode, RequestID: stateOf(r).requestID}
}

// saveCustomer replaces a customer with the form, on the condition that it is still the
// version the form was read from. A refused save shows the form again with every
// problem next to its field; a save that lost a race shows what the other saves changed.
func (c *console) saveCustomer(w http.ResponseWriter, r *http.Request, v *visit) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	etag := r.PostForm.Get("etag")
	in, problems, values := readCustomerForm(r.PostForm)
	if len(problems) == 0 {
		_, err = c.store.WriteCustomer(r.Context(), &customer.Write{
			Client: v.user.ClientID, User: v.user.ID, ID: id, If: &customer.Precondition{Tags: []string{etag}},
			Operation: customer.OpReplace, Actor: actor(r, v),
			Change: func(cur *customer.Customer) (*customer.Writable, error) {
				next := *in
				keepEmpty(&next, &cur.Writable)
				return &next, nil
			},
		})
		if err == nil {
			return &redirectError{customerURL(id) + "?done=saved"}
		}
	} else {
		err = problems.WithRulesOf(in, id, customer.Now())
	}
	cu, rerr := c.store.Customer(r.Context(), v.user.ClientID, id)
	if rerr != nil {
		return rerr // NotFound: another client's or no customer, whatever the form said
	}
	p := customerPage{C: cu, Name: displayName(cu), ETag: etag, Edit: true, Action: customerURL(id)}
	switch kind := customer.KindOf(err); kind {
	case customer.Invalid, customer.Conflict:
		p.Form = buildForm(values, err, nil)
		return c.refuse(w, r, v, err, "customer", p.Name, p)
	case customer.PreconditionFailed:
		p.Conflict, p.Form = c.conflict(r.Context(), v, cu, etag, values)
		p.ETag = cu.ETag()
		err = customer.Errorf(customer.PreconditionFailed, "customer %d was saved by someone else after this form was opened", id)
		return c.refuse(w, r, v, err, "customer", p.Name, p)
	}
	return err
}

// refuse shows a page again with the error of what it sent, answered with the error's
// status.
func (c *console) refuse(w http.ResponseWriter, r *http.Request, v *visit, err error, name, title string, page any) error {
	var e *customer.Error
	if errors.As(err, &e) {
		stateOf(r).failure = e.Message
	}
	c.render(w, r, v, statusOf[customer.KindOf(err)], name, title, page)
	return nil
}

// conflict tells what others saved since the version a form was read from (etag), and
// makes the form to save again: the current customer with the fields this form changed
// put back on it. A field both changed keeps this form's value, with a note of theirs.
func (c *console) conflict(ctx context.Context, v *visit, cur *customer.Customer, etag string, mine map[string]string) (*conflictView, formView) {
	cv := &conflictView{}
	read := int64(0)
	if tag := strings.Trim(etag, `"`); strings.HasPrefix(tag, strconv.Itoa(int(cur.ID))+"-") {
		read, _ = strconv.ParseInt(strings.TrimPrefix(tag, strconv.Itoa(int(cur.ID))+"-"), 10, 64)
	}
	var base map[string]string
	if read > 0 && read < cur.Version {
		if old, err := c.store.CustomerVersion(ctx, v.user.ClientID, cur.ID, read); err == nil {
			base = formValues(&old.Writable)
		}
		const shown = 20
		page, err := c.store.CustomerHistory(ctx, v.user.ClientID, cur.ID, &customer.HistoryQuery{Page: 1, PageSize: shown})
		if err == nil {
			for _, ver := range page.Versions {
				if ver.Version > read {
					cv.Versions = append(cv.Versions, versionOf(ver))
				}
			}
			cv.Earlier = int(cur.Version-read) - len(cv.Versions)
		}
	}
	theirs := formValues(&cur.Writable)
	if base == nil { // the version read is unknown: show this form as sent, noting theirs
		base = theirs
	}
	merged, notes := map[string]string{}, map[string]string{}
	for _, g := range formGroups {
		for _, f := range g.fields {
			m, t, b := mine[f.name], theirs[f.name], base[f.name]
			if m == b {
				merged[f.name] = t
				continue
			}
			merged[f.name] = m
			if t != b && t != m {
				notes[f.name] = "Saved meanwhile as “" + display(f, t) + "”; the value you entered is kept."
				if t == "" {
					notes[f.name] = "Emptied meanwhile; the value you entered is kept."
				}
			}
		}
	}
	custom := func(values map[string]string) string {
		var b strings.Builder
		for i := 0; ; i++ {
			prefix := "fields[" + strconv.Itoa(i) + "]."
			id, ok := values[prefix+"field_id"]
			if !ok {
				return b.String()
			}
			b.WriteString(id + "\x00" + values[prefix+"label"] + "\x00" + values[prefix+"value"] + "\x00")
		}
	}
	from := theirs
	if custom(mine) != custom(base) {
		from = mine
		if custom(theirs) != custom(base) {
			notes["fields"] = "The custom fields were changed meanwhile too; the ones you entered are kept."
		}
	}
	for k, val := range from {
		if _, _, ok := customRow(k); ok {
			merged[k] = val
		}
	}
	return cv, buildForm(merged, nil, notes)
}

// newCustomer shows the form of a new customer.
func (c *console) newCustomer(w http.ResponseWriter, r *http.Request, v *visit) error {
	p := customerPage{New: true, Edit: true, Action: Prefix + "customers/new",
		Form: buildForm(map[string]string{"status": string(customer.StatusOpen)}, nil, nil)}
	c.render(w, r, v, http.StatusOK, "customer", "New customer", p)
	return nil
}

// createCustomer creates a customer from the form.
func (c *console) createCustomer(w http.ResponseWriter, r *http.Request, v *visit) error {
	in, problems, values := readCustomerForm(r.PostForm)
	var err error
	if len(problems) == 0 {
		var cu *customer.Customer
		cu, err = c.store.WriteCustomer(r.Context(), &customer.Write{Client: v.user.ClientID, User: v.user.ID, Input: in,
			Operation: customer.OpCreate, Actor: actor(r, v)})
		if err == nil {
			stateOf(r).customerID = cu.ID
			return &redirectError{customerURL(cu.ID) + "?done=created"}
		}
	} else {
		err = problems.WithRulesOf(in, 0, customer.Now())
	}
	if k := customer.KindOf(err); k != customer.Invalid && k != customer.Conflict {
		return err
	}
	p := customerPage{New: true, Edit: true, Action: Prefix + "customers/new", Form: buildForm(values, err, nil)}
	return c.refuse(w, r, v, err, "customer", "New customer", p)
}

// closePage is what the page that confirms a close shows.
type closePage struct {
	C        *customer.Customer
	Name     string
	ETag     string
	Conflict *conflictView
}

// confirmClose asks whether to close the account.
func (c *console) confirmClose(w http.ResponseWriter, r *http.Request, v *visit) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	cu, err := c.store.Customer(r.Context(), v.user.ClientID, id)
	if err != nil {
		return err
	}
	c.render(w, r, v, http.StatusOK, "close", "Close "+displayName(cu), closePage{C: cu, Name: displayName(cu), ETag: cu.ETag()})
	return nil
}

// closeCustomer closes the account, if it is still the version the confirmation showed;
// otherwise it shows what changed and asks again.
func (c *console) closeCustomer(w http.ResponseWriter, r *http.Request, v *visit) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	etag := r.PostForm.Get("etag")
	_, err = c.store.WriteCustomer(r.Context(), &customer.Write{
		Client: v.user.ClientID, User: v.user.ID, ID: id, If: &customer.Precondition{Tags: []string{etag}},
		Operation: customer.OpClose, Actor: actor(r, v),
		Change: func(cur *customer.Customer) (*customer.Writable, error) {
			next := cur.Writable
			next.Status = customer.StatusClosed
			return &next, nil
		},
	})
	if err == nil {
		return &redirectError{customerURL(id) + "?done=closed"}
	}
	if !customer.IsKind(err, customer.PreconditionFailed) {
		return err
	}
	cu, err := c.store.Customer(r.Context(), v.user.ClientID, id)
	if err != nil {
		return err
	}
	p := closePage{C: cu, Name: displayName(cu), ETag: cu.ETag()}
	p.Conflict, _ = c.conflict(r.Context(), v, cu, etag, nil)
	return c.refuse(w, r, v, customer.Errorf(customer.PreconditionFailed, "customer %d was saved by someone else after the confirmation was opened", id),
		"close", "Close "+p.Name, p)
}
