package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlite"
)

// BenchmarkRecordRequests stores request log records in batches of the request log
// writer's sizes, as reads and writes of customers by id leave them (the customers
// scattered over 10,000): the writer's cost per record, which it spends beside the
// customer writes.
func BenchmarkRecordRequests(b *testing.B) {
	for _, size := range []int{100, 1000, 2500} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			ctx := context.Background()
			s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "custd.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			c, err := s.CreateClient(ctx, "acme", "Acme")
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			batch := make([]*customer.LoggedRequest, size)
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for b.Loop() {
				for i := range batch {
					n++
					r := &customer.LoggedRequest{
						ClientID:   c.ID,
						RequestID:  fmt.Sprintf("%024x", n),
						Created:    start.Add(time.Duration(n) * 100 * time.Microsecond),
						Method:     "GET",
						Path:       fmt.Sprintf("/v1/Customers/%d", n*7919%10000+1),
						Status:     200,
						Duration:   1500 * time.Microsecond,
						Username:   "admin",
						CustomerID: int32(n*7919%10000 + 1),
					}
					if n%2 == 0 {
						r.Method = "PUT"
					}
					r.Clean()
					batch[i] = r
				}
				if err := s.RecordRequests(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
		})
	}
}
