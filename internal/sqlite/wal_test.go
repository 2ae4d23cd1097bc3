package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

// TestWALStaysBounded writes without pause while readers read, and checks that the WAL
// file does not grow with everything ever written: it starts over once it is long.
func TestWALStaysBounded(t *testing.T) {
	defer func(n int64) { restartFrames = n }(restartFrames)
	restartFrames = 100
	path := filepath.Join(t.TempDir(), "custd.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.CreateClient(ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var writes atomic.Int64
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				_, err := s.WriteCustomer(ctx, &customer.Write{Client: 1, User: 1, Input: &customer.Writable{
					Status: customer.StatusOpen, Fields: []customer.CustomField{{FieldID: 1, Value: strings.Repeat("x", 1000)}},
					BillingAddress: &customer.Address{CompanyName: "Company of some length", FirstName: "Ann"}}})
				if err != nil {
					t.Error(err)
					return
				}
				writes.Add(1)
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				s.SearchCustomers(ctx, 1, &customer.Query{Name: "company", Page: 1, PageSize: 20})
			}
		}()
	}
	const enough = 800
	var largest int64
	deadline := time.Now().Add(time.Minute)
	for writes.Load() < enough && time.Now().Before(deadline) {
		if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > largest {
			largest = fi.Size()
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	// Each write adds a few pages to the WAL (the row, its index entries, the text
	// index): without restarts the WAL would hold them all, some 15 MB here.
	if n := writes.Load(); n < enough || largest > 8<<20 {
		t.Fatalf("the WAL grew to %d bytes over %d writes", largest, n)
	}
	t.Logf("%d writes; the WAL peaked at %d bytes", writes.Load(), largest)
}
