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

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
)

// MaxRecord is the longest record of a file, in bytes: the API's limit on a body.
const MaxRecord = 1 << 20

// rawRecord is one record of a file as read, before it is decoded.
type rawRecord struct {
	line    int
	json    []byte   // a line of JSON Lines
	row     []string // a row of CSV
	problem error    // why reading it found it invalid already, or nil
}

// recordReader reads the records of a file in order; decode makes each an import
// record, and may run on several records at once.
type recordReader interface {
	// next returns the next record; io.EOF after the last one; another error when the
	// file cannot be read at all.
	next() (rawRecord, error)
	// decode reads a record as the API reads a body. Errors: Invalid.
	decode(rawRecord) (*customer.ImportRecord, error)
}

func newReader(format Format, r io.Reader) (recordReader, error) {
	if format == CSV {
		return newCSVReader(r)
	}
	return &jsonlReader{r: bufio.NewReaderSize(r, 64<<10)}, nil
}

// jsonlReader reads JSON Lines: one record per line; blank lines are skipped.
type jsonlReader struct {
	r    *bufio.Reader
	line int
}

func (j *jsonlReader) next() (rawRecord, error) {
	for {
		long := false
		var buf []byte
		for {
			chunk, err := j.r.ReadSlice('\n')
			if len(buf)+len(chunk) > MaxRecord+1 { // +1: the line feed
				long, buf = true, nil
			} else if !long {
				buf = append(buf, chunk...)
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return rawRecord{}, err
			}
			if err != nil && len(buf) == 0 && !long {
				return rawRecord{}, io.EOF
			}
			break
		}
		j.line++
		if long {
			return rawRecord{line: j.line, problem: customer.Errorf(customer.Invalid,
				"the record is longer than %d bytes (1 MiB, the API's limit on a body)", MaxRecord)}, nil
		}
		if len(bytes.TrimSpace(buf)) == 0 {
			continue
		}
		return rawRecord{line: j.line, json: buf}, nil
	}
}

func (j *jsonlReader) decode(r rawRecord) (*customer.ImportRecord, error) {
	return httpapi.DecodeRecord(r.json)
}

// csvReader reads CSV with a header row; a record's line is the line it starts on.
type csvReader struct {
	r       *csv.Reader
	records *httpapi.CSVRecords
}

func newCSVReader(r io.Reader) (*csvReader, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 64<<10))
	cr.FieldsPerRecord = -1 // CSVRecords says which row has the wrong number of cells
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the file is empty: a CSV file of customers starts with a header row")
	}
	if err != nil {
		return nil, fmt.Errorf("the header row: %w", err)
	}
	records, err := httpapi.NewCSVRecords(header)
	if err != nil {
		return nil, err
	}
	return &csvReader{r: cr, records: records}, nil
}

func (c *csvReader) next() (rawRecord, error) {
	row, err := c.r.Read()
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return rawRecord{line: pe.StartLine, problem: customer.Errorf(customer.Invalid, "not valid CSV: %v", pe.Err)}, nil
	}
	if err != nil {
		return rawRecord{}, err
	}
	line, _ := c.r.FieldPos(0)
	return rawRecord{line: line, row: row}, nil
}

func (c *csvReader) decode(r rawRecord) (*customer.ImportRecord, error) {
	return c.records.Decode(r.row)
}

// decoded is a record as decodeAll hands it on: rec, or why it is invalid.
type decoded struct {
	line    int
	rec     *customer.ImportRecord
	problem error
}

// chunkSize is how many records a worker of decodeAll decodes at a time.
const chunkSize = 128

type chunk struct {
	raw  []rawRecord
	out  []decoded
	done chan struct{}
}

// decodeAll reads every record of r and calls each with it, decoded, in the order of the
// file. The records are decoded on every core at once (decoding, not the store, is what
// an import spends most of its time on), a chunk at a time, so that memory holds a few
// chunks whatever the file's size. It stops at each's first error, and returns it, or
// the file's.
func decodeAll(ctx context.Context, r recordReader, each func(decoded) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan *chunk, workers)
	ordered := make(chan *chunk, 2*workers)
	readErr := make(chan error, 1)
	go func() { // the reader: one chunk after another, to the workers and, in order, to each
		defer close(jobs)
		defer close(ordered)
		for {
			c := &chunk{raw: make([]rawRecord, 0, chunkSize), done: make(chan struct{})}
			var err error
			for len(c.raw) < chunkSize {
				var raw rawRecord
				if raw, err = r.next(); err != nil {
					break
				}
				c.raw = append(c.raw, raw)
			}
			if len(c.raw) > 0 {
				select {
				case jobs <- c:
				case <-ctx.Done():
					readErr <- ctx.Err()
					return
				}
				select {
				case ordered <- c:
				case <-ctx.Done():
					readErr <- ctx.Err()
					return
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				readErr <- err
				return
			}
		}
	}()
	for range workers {
		go func() {
			for c := range jobs {
				c.out = make([]decoded, len(c.raw))
				for i, raw := range c.raw {
					c.out[i] = decoded{line: raw.line, problem: raw.problem}
					if raw.problem == nil {
						c.out[i].rec, c.out[i].problem = r.decode(raw)
					}
				}
				close(c.done)
			}
		}()
	}
	for c := range ordered {
		<-c.done
		for _, d := range c.out {
			if err := each(d); err != nil {
				cancel()
				for range ordered { // let the reader end
				}
				return err
			}
		}
	}
	return <-readErr
}
