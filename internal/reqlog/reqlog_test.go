package reqlog_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/reqlog"
	"github.com/custd/custd/internal/sqlite"
)

// discard is a request log that stores nothing.
type discard struct{}

func (discard) RecordRequests(context.Context, []*customer.LoggedRequest) error { return nil }

func (discard) RequestLog(context.Context, int64, *customer.RequestLogQuery) (*customer.RequestLogPage, error) {
	return &customer.RequestLogPage{}, nil
}

func (discard) PurgeRequestLog(context.Context, time.Time) (int64, error) { return 0, nil }

type entry struct{}

func (entry) Record() *customer.LoggedRequest { return &customer.LoggedRequest{ClientID: 1} }

// BenchmarkAdd hands entries to the writer from as many goroutines as there are
// processors, as concurrent requests do: what handing over costs the request path and
// the writer's goroutine together. The buffer holds every entry of a run of up to a
// million (-benchtime=1000000x), so that none is dropped.
func BenchmarkAdd(b *testing.B) {
	w := reqlog.New(discard{}, nil, nil, time.Millisecond, 1<<20)
	defer w.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Add(entry{})
		}
	})
}

// logged is an entry whose record is already made.
type logged struct{ r *customer.LoggedRequest }

func (l logged) Record() *customer.LoggedRequest { return l.r }

// TestFlush: with an interval far longer than the test, what was added is in the store
// once Flush returns, and Flush after Close returns at once.
func TestFlush(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "custd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.CreateClient(ctx, "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	w := reqlog.New(s, nil, nil, time.Hour, 0)
	for i := range 3 {
		w.Add(logged{&customer.LoggedRequest{ClientID: c.ID, RequestID: fmt.Sprintf("req-%d", i), Created: time.Now(),
			Method: "GET", Path: "/v1/Customers", Status: 200}})
	}
	w.Flush()
	p, err := s.RequestLog(ctx, c.ID, &customer.RequestLogQuery{Page: 1, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Requests) != 3 {
		t.Fatalf("%d requests stored after Flush, want 3", len(p.Requests))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Flush()
}
