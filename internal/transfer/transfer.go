// Package transfer moves customers in and out of a store: export to JSON Lines or CSV
// from one consistent snapshot, import from such files (validated exactly as the API
// validates a body, all or nothing, written in large batches through the one write
// path), and import from any API that speaks Rev.io's Customers API, the way off Rev.io.
// Records are in the wire form of internal/httpapi, the form GET returns.
package transfer

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Format is the format of a file of customers.
type Format string

// The formats.
const (
	// JSONL is JSON Lines: one customer per line, as GET returns it without ok and links.
	JSONL Format = "jsonl"
	// CSV is comma-separated values with a header row (RFC 4180, as encoding/csv writes it).
	CSV Format = "csv"
)

// ParseFormat reads a format's name; an empty name is the format a file name's extension
// says (.csv is CSV, anything else JSON Lines). Errors: an unknown name.
func ParseFormat(name, file string) (Format, error) {
	switch strings.ToLower(name) {
	case "":
		if strings.EqualFold(filepath.Ext(file), ".csv") {
			return CSV, nil
		}
		return JSONL, nil
	case "jsonl", "json", "ndjson":
		return JSONL, nil
	case "csv":
		return CSV, nil
	}
	return "", fmt.Errorf("unknown format %q: jsonl or csv", name)
}

// Progress is told how far a long run has got, for a person watching it.
type Progress interface {
	// Start begins a step (such as "validating") of total units, records or, with bytes,
	// bytes of a file; total is -1 when it is not known.
	Start(step string, total int64, bytes bool)
	// Add counts n more units done.
	Add(n int64)
	// Done ends the step.
	Done()
}

// NoProgress reports nothing.
type NoProgress struct{}

func (NoProgress) Start(string, int64, bool) {}
func (NoProgress) Add(int64)                 {}
func (NoProgress) Done()                     {}
