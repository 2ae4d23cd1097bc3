package httpapi_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
)

// countingStore is a real store that counts the search records being read at once.
type countingStore struct {
	customer.Store
	reading, most atomic.Int64
}

func (c *countingStore) SearchStored(ctx context.Context, client int64, q *customer.Query) (*customer.StoredPage, error) {
	n := c.reading.Add(int64(q.PageSize))
	defer c.reading.Add(-int64(q.PageSize))
	for {
		m := c.most.Load()
		if n <= m || c.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond) // a page takes a while to read
	return c.Store.SearchStored(ctx, client, q)
}

// TestLargePagesShareABoundedBudget: 32 concurrent pages of 500 are all answered, but at
// most four pages' worth of records is read at once, so memory stays bounded. (Before,
// all 32 were read at once: 16,000 records, past half a gigabyte on SQLite.)
func TestLargePagesShareABoundedBudget(t *testing.T) {
	store := &countingStore{Store: storeKinds[0].open(t)}
	a := newAPI(t, store, httpapi.Config{})
	a.create(admin, obj{})
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.do(admin, "GET", "/v1/Customers?page_size=500", nil).want(t, http.StatusOK)
		}()
	}
	wg.Wait()
	if most := store.most.Load(); most > 4*customer.MaxPageSize || most < customer.MaxPageSize {
		t.Fatalf("at most %d records were being read at once, want from 500 to %d", most, 4*customer.MaxPageSize)
	}
}
