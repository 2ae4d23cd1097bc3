package httpapi

import (
	"os"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

// BenchmarkNotificationBody renders the notification of a replace from the two stored
// documents, as the webhook worker does for each delivery.
func BenchmarkNotificationBody(b *testing.B) {
	body, err := os.ReadFile("testdata/customer-body.json")
	if err != nil {
		b.Fatal(err)
	}
	in, err := decodeCustomer(body, forReplace, 1)
	if err != nil {
		b.Fatal(err)
	}
	created := time.Date(2026, 11, 30, 9, 31, 44, 903_000_000, time.UTC)
	first := &customer.Customer{ID: 7, ClientID: 1, Version: 1, CreatedBy: 3, CreatedDate: created, UpdatedDate: created, Writable: *in}
	next := *first
	next.Version, next.UpdatedDate = 2, created.Add(time.Second)
	email := "ap@example.com"
	next.Email = &email
	next.BillingAddress = nil
	v := &customer.Version{EventID: 99, ClientID: 1, CustomerID: 7, Version: 2, EventType: "CUSTOMER_UPDATED", ChangedDate: next.UpdatedDate}
	if v.Document, err = next.Document(); err != nil {
		b.Fatal(err)
	}
	if v.PreviousDocument, err = first.Document(); err != nil {
		b.Fatal(err)
	}
	render := NotificationBody("")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := render(v); err != nil {
			b.Fatal(err)
		}
	}
}
