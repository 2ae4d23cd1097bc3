package transfer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
)

// MaxRecord is the longest record of a file, in bytes: the API's limit on a body.
const MaxRecord = 1 << 20

// recordReader yields the records of a file in order.
type recordReader interface {
	// next returns the next record and the line it starts on. invalid is why the record
	// cannot be imported (an Invalid error naming its problems), and rec is then nil; err
	// is a failure to read the file at all, or io.EOF after the last record.
	next() (line int, rec *customer.ImportRecord, invalid, err error)
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
	buf  []byte
}

func (j *jsonlReader) next() (int, *customer.ImportRecord, error, error) {
	for {
		long := false
		j.buf = j.buf[:0]
		for {
			chunk, err := j.r.ReadSlice('\n')
			if len(j.buf)+len(chunk) > MaxRecord+1 { // +1: the line feed
				long = true
			} else {
				j.buf = append(j.buf, chunk...)
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return 0, nil, nil, err
			}
			if err != nil && len(j.buf) == 0 && !long {
				return 0, nil, nil, io.EOF
			}
			break
		}
		j.line++
		if long {
			return j.line, nil, customer.Errorf(customer.Invalid, "the record is longer than %d bytes (1 MiB, the API's limit on a body)", MaxRecord), nil
		}
		if len(bytes.TrimSpace(j.buf)) == 0 {
			continue
		}
		rec, err := httpapi.DecodeRecord(j.buf)
		if err != nil {
			return j.line, nil, err, nil
		}
		return j.line, rec, nil, nil
	}
}

// csvReader reads CSV with a header row; a record's line is the line it starts on.
type csvReader struct {
	r       *csv.Reader
	records *httpapi.CSVRecords
}

func newCSVReader(r io.Reader) (*csvReader, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 64<<10))
	cr.FieldsPerRecord = -1 // CSVRecords says which row has the wrong number of cells
	cr.ReuseRecord = true
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

func (c *csvReader) next() (int, *customer.ImportRecord, error, error) {
	row, err := c.r.Read()
	var pe *csv.ParseError
	if errors.As(err, &pe) && !errors.Is(pe.Err, csv.ErrFieldCount) {
		return pe.StartLine, nil, customer.Errorf(customer.Invalid, "not valid CSV: %v", pe.Err), nil
	}
	if err != nil {
		return 0, nil, nil, err
	}
	line, _ := c.r.FieldPos(0)
	rec, err := c.records.Decode(row)
	if err != nil {
		return line, nil, err, nil
	}
	return line, rec, nil, nil
}
