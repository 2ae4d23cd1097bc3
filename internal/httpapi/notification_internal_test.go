package httpapi

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

// notificationJSON is the body of a webhook notification as json.Marshal writes it: what
// NotificationBody must write, byte for byte.
type notificationJSON struct {
	EventID     int64            `json:"event_id"`
	EventType   string           `json:"event_type"`
	CreatedDate string           `json:"created_date"`
	ObjectID    int32            `json:"object_id"`
	Data        notificationData `json:"data"`
}

type notificationData struct {
	Customer json.RawMessage `json:"customer"`
	Changes  []changeJSON    `json:"changes"`
}

func TestNotificationBodyIsWhatJSONMarshalWrites(t *testing.T) {
	body, err := os.ReadFile("testdata/customer-body.json")
	if err != nil {
		t.Fatal(err)
	}
	in, err := decodeCustomer(body, forReplace, 1)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 30, 9, 31, 44, 903_000_000, time.UTC)
	first := &customer.Customer{ID: 7, ClientID: 1, Version: 1, CreatedBy: 3, CreatedDate: created, UpdatedDate: created, Writable: *in}
	next := *first
	next.Version, next.UpdatedDate = 2, created.Add(time.Second)
	email, culture := `a<b>&"c"@ex\ample.com`, "fr-CA é \u2028"
	next.Email, next.Culture = &email, &culture
	next.Fields = append([]customer.CustomField{{FieldID: 42, Label: "new <field>", Value: "ü"}}, next.Fields[min(1, len(next.Fields)):]...)
	next.BillingAddress = nil
	for _, f := range []TimeFormat{"", TimeRevio} {
		render := NotificationBody(f)
		e := encoder{layout: TimeRFC3339.layout()}
		if f != "" {
			e.layout = f.layout()
		}
		for _, v := range []*customer.Version{
			{EventID: 1, ClientID: 1, CustomerID: 7, Version: 1, EventType: "CUSTOMER_CREATED", ChangedDate: created, Customer: first},
			{EventID: 99, ClientID: 1, CustomerID: 7, Version: 2, EventType: "CUSTOMER_UPDATED", ChangedDate: created.Add(time.Second), Customer: &next, Previous: first},
			{EventID: 100, ClientID: 1, CustomerID: 7, Version: 3, EventType: "CUSTOMER_UPDATED", ChangedDate: created.Add(2 * time.Second), Customer: &next, Previous: &next},
		} {
			got, err := render(v)
			if err != nil {
				t.Fatal(err)
			}
			to := e.tree(v.Customer)
			want, err := json.Marshal(notificationJSON{v.EventID, string(v.EventType), *e.time(&v.ChangedDate), v.CustomerID,
				notificationData{Customer: to.raw, Changes: e.changesTo(v.Previous, v.Customer, to)}})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("format %q, event %d:\n got %s\nwant %s", f, v.EventID, got, want)
			}
		}
	}
	for _, s := range []string{"", "CUSTOMER_UPDATED", `a"b\c`, "<&>", "\x01\t\n", "é\u2028\u2029", "\xff"} {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}
