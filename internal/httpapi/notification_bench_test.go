package httpapi

import (
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

// BenchmarkNotificationBody renders the notification of a replace from the two stored
// documents, as the webhook worker does for each delivery.
func BenchmarkNotificationBody(b *testing.B) {
	first, created := sampleCustomer(b)
	next := *first
	next.Version, next.UpdatedDate = 2, created.Add(time.Second)
	email := "ap@example.com"
	next.Email = &email
	next.BillingAddress = nil
	var err error
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
