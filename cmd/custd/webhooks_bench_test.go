package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
	"github.com/custd/custd/internal/sqlite"
	"github.com/custd/custd/internal/webhook"
)

// BenchmarkDeliveries measures the webhook worker of custd serve on SQLite: b.N updates
// of 1,000 customers are written first, then the worker turns them into deliveries and
// sends each, signed, to a receiver on loopback that answers 200 at once. ns/op is the
// time per delivery until the last was acknowledged; cpu-µs/op is this process's
// processor time per delivery, the receiver's included (about 20 µs of it).
func BenchmarkDeliveries(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "custd.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var got atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if secret := r.Header.Get("X-Hook-Secret"); secret != "" {
			w.Header().Set("X-Hook-Secret", secret)
			return
		}
		got.Add(1)
	}))
	defer receiver.Close()

	if _, err := s.CreateClient(ctx, "demo", "Demo"); err != nil {
		b.Fatal(err)
	}
	u, err := s.CreateUser(ctx, &customer.NewUser{ClientCode: "demo", Username: "admin", Role: customer.RoleAdmin, PasswordHash: "x"})
	if err != nil {
		b.Fatal(err)
	}
	const customers = 1000
	ws := make([]*customer.Write, customers)
	for i := range ws {
		ws[i] = &customer.Write{Client: u.ClientID, User: u.ID, Input: sampleWritable(i, 0)}
	}
	created, err := s.WriteCustomers(ctx, ws)
	if err != nil {
		b.Fatal(err)
	}
	r, err := customer.NewReceiver(u.ClientID, receiver.URL+"/hook", "")
	if err != nil {
		b.Fatal(err)
	}
	if err := s.CreateReceiver(ctx, r, customer.Receipt[*customer.Receiver]{}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.SetReceiverStatus(ctx, u.ClientID, r.ID, customer.ReceiverActive); err != nil {
		b.Fatal(err)
	}
	sub, err := customer.NewSubscription(u.ClientID, r.ID, string(customer.EventUpdated))
	if err != nil {
		b.Fatal(err)
	}
	if err := s.CreateSubscription(ctx, sub, customer.Receipt[*customer.Subscription]{}); err != nil {
		b.Fatal(err)
	}

	// The updates, in batches as concurrent PUTs would commit them.
	for from := 0; from < b.N; from += 100 {
		batch := make([]*customer.Write, 0, 100)
		for i := from; i < min(from+100, b.N); i++ {
			c := created[i%customers]
			batch = append(batch, &customer.Write{Client: u.ClientID, User: u.ID, ID: c.ID, Input: sampleWritable(i%customers, 1+i/customers)})
		}
		if _, err := s.WriteCustomers(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}

	worker := &webhook.Worker{Store: s, Sender: webhook.NewSender(&webhook.Guard{AllowPrivate: true}),
		Body: httpapi.NotificationBody(httpapi.TimeRFC3339), Owner: "bench", Poll: 10 * time.Millisecond}
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	cpu0 := processCPU()
	b.ResetTimer()
	go func() { worker.Run(run); close(done) }()
	for got.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	stop()
	<-done
}

// sampleWritable is customer i as its n-th write: its name and email change each time.
func sampleWritable(i, n int) *customer.Writable {
	email := fmt.Sprintf("c%d.v%d@example.com", i, n)
	acct := fmt.Sprintf("AC-%06d", i)
	agent := int32(1 + i%50)
	return &customer.Writable{
		Status:        customer.Statuses[i%len(customer.Statuses)],
		AccountNumber: &acct,
		Email:         &email,
		AgentID:       &agent,
		BillingAddress: &customer.Address{FirstName: "Ann", LastName: fmt.Sprintf("Smith%d", n), Line1: fmt.Sprintf("%d Main St", 1+i),
			City: "Springfield", PostalCode: "12345"},
		ServiceAddress: &customer.Address{FirstName: "Ann", LastName: "Smith", Line1: "2 Side St", City: "Springfield", PostalCode: "12345"},
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
