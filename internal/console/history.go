package console

import (
	"net/http"
	"strconv"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/queryparam"
)

// versionView is one version of a customer on a page: who made it, when, how, and what
// it changed.
type versionView struct {
	Version   int64
	Operation string
	Who       string
	When      time.Time
	RequestID string
	Changes   []change
	URL       string // the page of the version whole
}

func versionOf(v *customer.Version) versionView {
	vv := versionView{Version: v.Version, Operation: string(v.Operation), Who: v.Username, When: v.ChangedDate,
		RequestID: v.RequestID, URL: customerURL(v.CustomerID) + "/history/" + strconv.FormatInt(v.Version, 10)}
	if vv.Who == "" { // a write that named no user, such as one of a command
		vv.Who = "user " + strconv.Itoa(int(v.UserID))
	}
	var prev *customer.Writable
	if v.Previous != nil {
		prev = &v.Previous.Writable
	}
	if v.Customer != nil {
		vv.Changes = changes(prev, &v.Customer.Writable)
	}
	return vv
}

// historyPage is what the history timeline shows.
type historyPage struct {
	C          *customer.Customer
	Name       string
	Versions   []versionView
	Page       int
	Prev, Next string
}

// historyPageSize is how many versions a page of the timeline shows.
const historyPageSize = 20

// history shows a customer's versions, newest first, each with every field it changed
// from → to.
func (c *console) history(w http.ResponseWriter, r *http.Request, v *visit) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	cu, err := c.store.Customer(r.Context(), v.user.ClientID, id)
	if err != nil {
		return err
	}
	q := &customer.HistoryQuery{Page: 1, PageSize: historyPageSize}
	var size int
	if err := queryparam.Parse(r.URL.RawQuery, queryparam.Paging(&q.Page, &size)[:1]); err != nil {
		return err
	}
	page, err := c.store.CustomerHistory(r.Context(), v.user.ClientID, id, q)
	if err != nil {
		return err
	}
	p := historyPage{C: cu, Name: displayName(cu), Page: q.Page}
	for _, ver := range page.Versions {
		p.Versions = append(p.Versions, versionOf(ver))
	}
	base := customerURL(id) + "/history"
	if q.Page > 1 {
		p.Prev = base + "?page=" + strconv.Itoa(q.Page-1)
	}
	if page.HasMore {
		p.Next = base + "?page=" + strconv.Itoa(q.Page+1)
	}
	c.render(w, r, v, http.StatusOK, "history", "History of "+p.Name, p)
	return nil
}

// version shows one version of a customer whole, as it was saved.
func (c *console) version(w http.ResponseWriter, r *http.Request, v *visit) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(r.PathValue("version"), 10, 64)
	if err != nil || n < 1 || n > 10_000_000 {
		return customer.Errorf(customer.NotFound, "there is no version %q", clip(r.PathValue("version")))
	}
	// Versions are numbered without gaps from the first one kept (1, or the version a
	// customer had when history began), so version n is read by its place, with who saved
	// it and the version before it.
	first, err := c.store.CustomerHistory(r.Context(), v.user.ClientID, id, &customer.HistoryQuery{Oldest: true, Page: 1, PageSize: 1})
	if err != nil {
		return err
	}
	if len(first.Versions) == 0 || n < first.Versions[0].Version {
		return customer.Errorf(customer.NotFound, "customer %d has no version %d", id, n)
	}
	at := n - first.Versions[0].Version + 1
	page, err := c.store.CustomerHistory(r.Context(), v.user.ClientID, id, &customer.HistoryQuery{Oldest: true, Page: int(at), PageSize: 1})
	if err != nil {
		return err
	}
	if len(page.Versions) == 0 || page.Versions[0].Version != n || page.Versions[0].Customer == nil {
		return customer.Errorf(customer.NotFound, "customer %d has no version %d", id, n)
	}
	ver := page.Versions[0]
	vv := versionOf(ver)
	p := customerPage{C: ver.Customer, Name: displayName(ver.Customer), Version: &vv,
		Form: buildForm(formValues(&ver.Customer.Writable), nil, nil)}
	c.render(w, r, v, http.StatusOK, "customer", "Version "+strconv.FormatInt(n, 10)+" of "+p.Name, p)
	return nil
}
