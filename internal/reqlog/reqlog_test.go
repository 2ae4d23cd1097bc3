package reqlog_test

import (
	"context"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/reqlog"
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
