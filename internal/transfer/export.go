package transfer

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"slices"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
)

// Export writes every customer of the client to out in format, in customer_id order, each
// exactly as GET returns it (without ok and links), all from one snapshot of the store:
// writes that commit while it runs are not in it, every write acknowledged before it
// started is. A CSV export walks the snapshot twice, first to learn which custom fields
// occur, so that every row has the same columns. It returns how many customers it wrote.
// Errors: the store's (Unavailable), out's.
func Export(ctx context.Context, store customer.Customers, client int64, format Format, records *httpapi.Records,
	out io.Writer, progress Progress) (int, error) {
	if progress == nil {
		progress = NoProgress{}
	}
	n := 0
	err := store.Snapshot(ctx, client, func(snap *customer.Snapshot) error {
		w := bufio.NewWriterSize(out, 256<<10)
		var (
			write func(*customer.Customer) error
			cw    *csv.Writer
		)
		switch format {
		case CSV:
			fieldIDs, err := customFields(ctx, snap)
			if err != nil {
				return err
			}
			cw = csv.NewWriter(w)
			if err := cw.Write(httpapi.CSVHeader(fieldIDs)); err != nil {
				return err
			}
			var row []string
			write = func(c *customer.Customer) error {
				row = records.CSV(row, c, fieldIDs)
				return cw.Write(row)
			}
		default:
			write = func(c *customer.Customer) error {
				b, err := records.JSON(c)
				if err != nil {
					return err
				}
				w.Write(b)
				return w.WriteByte('\n')
			}
		}
		progress.Start("exporting", int64(snap.Count), false)
		defer progress.Done()
		err := snap.Walk(func(c *customer.Customer) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := write(c); err != nil {
				return err
			}
			n++
			progress.Add(1)
			return nil
		})
		if err != nil {
			return err
		}
		if cw != nil { // it buffers into w
			if cw.Flush(); cw.Error() != nil {
				return cw.Error()
			}
		}
		return w.Flush()
	})
	return n, err
}

// customFields returns the field_id of every custom field the snapshot's customers have,
// in ascending order.
func customFields(ctx context.Context, snap *customer.Snapshot) ([]int32, error) {
	seen := map[int32]bool{}
	err := snap.Walk(func(c *customer.Customer) error {
		for _, f := range c.Fields {
			seen[f.FieldID] = true
		}
		return ctx.Err()
	})
	ids := make([]int32, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, err
}
