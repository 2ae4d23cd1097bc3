package console

import (
	"net/http"
	"strconv"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/queryparam"
)

// webhooksPage is what the webhooks page shows.
type webhooksPage struct {
	Receivers     []*customer.Receiver
	Subscriptions []*customer.Subscription
	ReceiverURL   map[int32]string
	Deliveries    []*customer.Delivery
	Status        string // the deliveries' status filter
	Statuses      []string
	CanRetry      bool
	Notice        string
	Page          int
	Prev, Next    string
}

const deliveriesPageSize = 25

// webhooks shows the client's webhook receivers with their status, the subscriptions,
// and the deliveries with their attempts and the receiver's last answer; admins may send
// a delivery again.
func (c *console) webhooks(w http.ResponseWriter, r *http.Request, v *visit) error {
	dq := &customer.DeliveryQuery{Page: 1, PageSize: deliveriesPageSize}
	var size int
	table := append([]queryparam.Param{queryparam.Enums("status", customer.DeliveryStatuses, "", &dq.Statuses),
		{Name: "done", Read: func(*customer.Problems, []string) {}}}, queryparam.Paging(&dq.Page, &size)[:1]...)
	if err := queryparam.Parse(r.URL.RawQuery, table); err != nil {
		return err
	}
	p := webhooksPage{ReceiverURL: map[int32]string{}, Statuses: names(customer.DeliveryStatuses),
		CanRetry: v.user.Role == customer.RoleAdmin, Notice: notices[r.URL.Query().Get("done")], Page: dq.Page}
	if len(dq.Statuses) > 0 {
		p.Status = string(dq.Statuses[0])
	}
	ctx, client := r.Context(), v.user.ClientID
	var err error
	// A client has at most customer.MaxReceivers receivers that are not deleted; the
	// page lists the first page of all of them, deleted ones included.
	if p.Receivers, _, err = c.store.Receivers(ctx, client, 1, customer.MaxPageSize); err != nil {
		return err
	}
	for _, rc := range p.Receivers {
		p.ReceiverURL[rc.ID] = rc.URL
	}
	if p.Subscriptions, _, err = c.store.Subscriptions(ctx, client, 1, customer.MaxPageSize); err != nil {
		return err
	}
	var more bool
	if p.Deliveries, more, err = c.store.Deliveries(ctx, client, dq); err != nil {
		return err
	}
	at := func(n int) string {
		u := Prefix + "webhooks?page=" + strconv.Itoa(n)
		if p.Status != "" {
			u += "&status=" + p.Status
		}
		return u
	}
	if dq.Page > 1 {
		p.Prev = at(dq.Page - 1)
	}
	if more {
		p.Next = at(dq.Page + 1)
	}
	c.render(w, r, v, http.StatusOK, "webhooks", "Webhooks", p)
	return nil
}

// retryDelivery sends a delivery again, now, as POST /v1/WebhookDeliveries/{id}/retry.
func (c *console) retryDelivery(w http.ResponseWriter, r *http.Request, v *visit) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return customer.Errorf(customer.NotFound, "there is no delivery %q", clip(r.PathValue("id")))
	}
	if _, err := c.store.RetryDelivery(r.Context(), v.user.ClientID, id); err != nil {
		return err
	}
	return &redirectError{Prefix + "webhooks?done=retried"}
}
