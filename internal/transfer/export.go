package transfer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
)

// Export writes every customer of the client to out in format, in customer_id order, each
// exactly as GET returns it (without ok and links), all from one snapshot of the store:
// writes that commit while it runs are not in it, every write acknowledged before it
// started is. A CSV export walks the snapshot twice, first to learn which custom fields
// occur, so that every row has the same columns: that walk reads only the field ids of
// the stored documents, not the whole of them. It returns how many customers it wrote.
// Errors: the store's (Unavailable), out's.
func Export(ctx context.Context, store customer.Customers, client int64, format Format, records *httpapi.Records,
	out io.Writer, progress Progress) (int, error) {
	if progress == nil {
		progress = NoProgress{}
	}
	n := 0
	err := store.Snapshot(ctx, client, func(snap *customer.Snapshot) error {
		w := bufio.NewWriterSize(out, 256<<10)
		// encode appends a chunk's records to a buffer; each worker has its own.
		var newEncoder func() func(*bytes.Buffer, []*customer.Customer) error
		switch format {
		case CSV:
			fieldIDs, err := customFields(ctx, snap)
			if err != nil {
				return err
			}
			cw := csv.NewWriter(w)
			if err := cw.Write(httpapi.CSVHeader(fieldIDs)); err != nil {
				return err
			}
			if cw.Flush(); cw.Error() != nil {
				return cw.Error()
			}
			newEncoder = func() func(*bytes.Buffer, []*customer.Customer) error {
				var row []string
				return func(b *bytes.Buffer, cs []*customer.Customer) error {
					cw := csv.NewWriter(b)
					for _, c := range cs {
						for _, f := range c.Fields {
							if _, ok := slices.BinarySearch(fieldIDs, f.FieldID); !ok {
								return fmt.Errorf("customer %d: custom field %d is not in the header", c.ID, f.FieldID)
							}
						}
						row = records.CSV(row, c, fieldIDs)
						if err := cw.Write(row); err != nil {
							return err
						}
					}
					cw.Flush()
					return cw.Error()
				}
			}
		default:
			newEncoder = func() func(*bytes.Buffer, []*customer.Customer) error {
				return func(b *bytes.Buffer, cs []*customer.Customer) error {
					for _, c := range cs {
						line, err := records.JSON(c)
						if err != nil {
							return err
						}
						b.Write(line)
						b.WriteByte('\n')
					}
					return nil
				}
			}
		}
		progress.Start("exporting", int64(snap.Count), false)
		defer progress.Done()
		err := encodeAll(ctx, snap.Stored, newEncoder, func(b []byte, records int) error {
			n += records
			progress.Add(int64(records))
			_, err := w.Write(b)
			return err
		})
		if err != nil {
			return err
		}
		return w.Flush()
	})
	return n, err
}

// encodeChunk is a chunk of customers on their way to the file.
type encodeChunk struct {
	stored []*customer.Stored
	out    bytes.Buffer
	err    error
	done   chan struct{}
}

// encodeAll walks the snapshot and decodes and encodes its customers on every core at
// once, a chunk at a time, and hands the encoded chunks to write in the walk's order. The
// walk itself (reading the stored customers) runs on the calling goroutine, the decoding
// and encoding beside it.
func encodeAll(ctx context.Context, walk func(func(*customer.Stored) error) error,
	newEncoder func() func(*bytes.Buffer, []*customer.Customer) error, write func(b []byte, records int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan *encodeChunk, workers)
	ordered := make(chan *encodeChunk, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			encode := newEncoder()
			var cs []*customer.Customer
			for c := range jobs {
				cs = cs[:0]
				for _, st := range c.stored {
					cu, err := st.Customer()
					if err != nil {
						c.err = err
						break
					}
					cs = append(cs, cu)
				}
				if c.err == nil {
					c.err = encode(&c.out, cs)
				}
				clear(cs)
				close(c.done)
			}
		})
	}
	written := make(chan error, 1)
	go func() {
		var err error
		for c := range ordered {
			<-c.done
			if err == nil {
				err = c.err
			}
			if err == nil {
				err = write(c.out.Bytes(), len(c.stored))
			}
			if err != nil {
				cancel()
			}
		}
		written <- err
	}()
	send := func(c *encodeChunk) error {
		select {
		case jobs <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case ordered <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	next := &encodeChunk{done: make(chan struct{})}
	err := walk(func(st *customer.Stored) error {
		next.stored = append(next.stored, st)
		if len(next.stored) < chunkSize {
			return nil
		}
		c2 := next
		next = &encodeChunk{done: make(chan struct{})}
		return send(c2)
	})
	if err == nil && len(next.stored) > 0 {
		err = send(next)
	}
	close(jobs)
	close(ordered)
	wg.Wait()
	werr := <-written
	if werr != nil && (err == nil || errors.Is(err, context.Canceled)) {
		err = werr
	}
	return err
}

// customFields returns the field_id of every custom field the snapshot's customers have,
// in ascending order. It reads them from the stored documents without decoding the rest.
func customFields(ctx context.Context, snap *customer.Snapshot) ([]int32, error) {
	seen := map[int32]bool{}
	var ids []int32
	err := snap.Stored(func(st *customer.Stored) error {
		var err error
		ids, err = customer.DocumentFieldIDs(ids[:0], st.Document)
		if err != nil {
			return fmt.Errorf("customer %d: stored document: %w", st.ID, err)
		}
		for _, id := range ids {
			seen[id] = true
		}
		return ctx.Err()
	})
	ids = make([]int32, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, err
}
