package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/custd/custd/internal/customer"
)

// DefaultBatch is how many records an import writes per transaction: enough that the
// commit's fsync is paid once per many records, few enough that a transaction takes a
// fraction of a second, so that a server writing to the same store meanwhile waits
// little.
const DefaultBatch = 1000

// MaxReported is how many invalid records an import names; the rest are counted.
const MaxReported = 100

// Source is a file of records. An import reads it more than once (validating, then
// writing), so it is opened once per pass.
type Source struct {
	Name   string
	Format Format
	Size   int64 // in bytes, for progress; 0 when not known
	Open   func() (io.ReadCloser, error)
}

// Importer imports files of customers into one client of a store.
type Importer struct {
	Store  customer.Customers
	Client int64
	// User is who the import is recorded as: the user of history's versions, and the
	// created_by of a record that carries none. Username is its login (name@clientcode).
	User     int32
	Username string
	// BatchSize is how many records each transaction writes; DefaultBatch when 0.
	BatchSize int
	Progress  Progress
	// Committed, when set, is called after each batch is committed with the point an
	// import of the same file can resume from (see Resume).
	Committed func(Resume)
}

// Plan is what validating a file learned: how many records it holds, its digest, and the
// order in which its parents must be written.
type Plan struct {
	Records int
	// WithoutID is how many records carry no customer_id: each is created anew, on every
	// import of the file.
	WithoutID int
	// Digest is the SHA-256 of the file's bytes, in hexadecimal: a resume point belongs to
	// one content.
	Digest string
	// parents are the records of the file that are parents (is_parent true, with an id),
	// by id: a record naming one as its parent is written after it.
	parents map[int32]*fileParent
}

type fileParent struct {
	line   int
	parent int32 // its own parent, or 0
	pass   int   // the pass that handed it to a batch, 0 before
}

// Resume is how far an import has written a file: every record up to Line in Pass (the
// first pass writes the records whose parents are written before them, each later pass
// the records deferred by the one before), Written records in all.
type Resume struct {
	Pass    int `json:"pass"`
	Line    int `json:"line"`
	Written int `json:"written"`
}

// InvalidRecords is the error of a file with invalid records: nothing was written.
type InvalidRecords struct {
	Records []RecordError // the first MaxReported, in the order of the file
	Count   int           // how many records are invalid
}

// RecordError is why the record at Line cannot be imported.
type RecordError struct {
	Line int
	Err  error
}

func (e *InvalidRecords) Error() string {
	var b strings.Builder
	if e.Count == 1 {
		b.WriteString("1 record is invalid")
	} else {
		fmt.Fprintf(&b, "%d records are invalid", e.Count)
	}
	b.WriteString("; nothing was written:")
	for _, r := range e.Records {
		fmt.Fprintf(&b, "\nline %d: %s", r.Line, Describe(r.Err))
	}
	if more := e.Count - len(e.Records); more > 0 {
		fmt.Fprintf(&b, "\n… and %d more invalid records", more)
	}
	return b.String()
}

// Describe states an error with every field problem it has on one line.
func Describe(err error) string {
	var e *customer.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err.Error()
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + " " + f.Message
	}
	return strings.Join(parts, "; ")
}

// WriteError is the error of an import that stopped while writing: the record at Line
// was refused by a rule that needs stored data (a taken account number, say), or the
// store failed. Its batch was not written; the batches before it were.
type WriteError struct {
	Line    int // 0 when no one record is to blame
	Written int // records written before the failed batch
	Err     error
}

func (e *WriteError) Error() string {
	what := ""
	if e.Line > 0 {
		what = fmt.Sprintf("line %d: ", e.Line)
	}
	return fmt.Sprintf("%s%s (its batch was not written; the %d records before it were)", what, Describe(e.Err), e.Written)
}

func (e *WriteError) Unwrap() error { return e.Err }

func (im *Importer) progress() Progress {
	if im.Progress == nil {
		return NoProgress{}
	}
	return im.Progress
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	p Progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.Add(int64(n))
	return n, err
}

// Validate reads the whole file once and checks every record as the API checks a body,
// and every parent a record names (in the file or in the store). Errors:
// *InvalidRecords listing the invalid ones; the file's or the store's.
func (im *Importer) Validate(ctx context.Context, src Source) (*Plan, error) {
	f, err := src.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := im.progress()
	p.Start("validating", src.Size, true)
	defer p.Done()
	digest := sha256.New()
	r, err := newReader(src.Format, io.TeeReader(&countingReader{f, p}, digest))
	if err != nil {
		return nil, err
	}
	plan := &Plan{parents: map[int32]*fileParent{}}
	bad := &InvalidRecords{}
	invalid := func(line int, err error) {
		bad.Count++
		if len(bad.Records) < MaxReported {
			bad.Records = append(bad.Records, RecordError{line, err})
		}
	}
	// refs are the parents the records name, with the lines that name each.
	refs := map[int32]*parentRefs{}
	err = decodeAll(ctx, r, func(d decoded) error {
		if d.problem != nil {
			invalid(d.line, d.problem)
			return nil
		}
		plan.Records++
		w, id := d.rec.Writable, d.rec.Keep.CustomerID
		if id == 0 {
			plan.WithoutID++
		}
		var parent int32
		if w.ParentCustomerID != nil {
			parent = *w.ParentCustomerID
			ref := refs[parent]
			if ref == nil {
				ref = &parentRefs{}
				refs[parent] = ref
			}
			ref.add(d.line)
		}
		if w.IsParent && id != 0 {
			if _, dup := plan.parents[id]; !dup {
				plan.parents[id] = &fileParent{line: d.line, parent: parent}
			}
		}
		return nil
	})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Name, err)
	}
	plan.Digest = hex.EncodeToString(digest.Sum(nil))
	if err := im.checkParents(ctx, plan, refs, invalid); err != nil {
		return nil, err
	}
	if bad.Count > 0 {
		slices.SortFunc(bad.Records, func(a, b RecordError) int { return a.Line - b.Line })
		bad.Records = bad.Records[:min(len(bad.Records), MaxReported)]
		return nil, bad
	}
	return plan, nil
}

// parentRefs are the lines that name one parent: the first MaxReported of them, and how
// many there are.
type parentRefs struct {
	lines []int
	count int
}

func (r *parentRefs) add(line int) {
	r.count++
	if len(r.lines) < MaxReported {
		r.lines = append(r.lines, line)
	}
}

// checkParents checks that every parent a record names is a parent of the file or of the
// store, and that the file's parents make no cycle, as a write of each record would.
func (im *Importer) checkParents(ctx context.Context, plan *Plan, refs map[int32]*parentRefs, invalid func(int, error)) error {
	report := func(ref *parentRefs, err error) {
		for _, line := range ref.lines {
			invalid(line, err)
		}
		for range ref.count - len(ref.lines) {
			invalid(0, err) // counted, never shown: only the first MaxReported are
		}
	}
	ids := make([]int32, 0, len(refs))
	for id := range refs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if _, ok := plan.parents[id]; ok {
			continue
		}
		c, err := im.Store.Customer(ctx, im.Client, id)
		switch {
		case customer.IsKind(err, customer.NotFound):
			report(refs[id], customer.Problems{{Field: "parent_customer_id",
				Message: fmt.Sprintf("must name an existing customer (there is no customer %d, neither in the file nor in the store)", id)}}.Err())
		case err != nil:
			return err
		case !c.IsParent:
			report(refs[id], customer.Problems{{Field: "parent_customer_id",
				Message: fmt.Sprintf("must name a customer whose is_parent is true (customer %d's is false)", id)}}.Err())
		}
	}
	for id, p := range plan.parents {
		for up, n := p.parent, 0; up != 0 && n <= len(plan.parents); n++ {
			if up == id {
				invalid(p.line, customer.Problems{{Field: "parent_customer_id",
					Message: fmt.Sprintf("would make a cycle: customer %d is below customer %d", p.parent, id)}}.Err())
				break
			}
			next, ok := plan.parents[up]
			if !ok {
				break
			}
			up = next.parent
		}
	}
	return nil
}

// batch is records on their way to one transaction.
type batch struct {
	writes []*customer.Write
	lines  []int
	resume Resume // where the import stands once the batch is committed
}

// Write writes the records of a file that Validate accepted, a batch per transaction,
// starting after from (the zero Resume: from the start). A record whose parent comes
// later in the file is written in a later pass over the file, after its parent. When ctx
// ends, the batch being written is finished and the import stops. It returns how many
// records it wrote. Errors: *WriteError (the batch with a refused record, or the store's
// failure), ctx's, the file's.
func (im *Importer) Write(ctx context.Context, src Source, plan *Plan, from Resume) (int, error) {
	size := im.BatchSize
	if size <= 0 {
		size = DefaultBatch
	}
	p := im.progress()
	p.Start("writing", int64(plan.Records), false)
	defer p.Done()
	p.Add(int64(from.Written))
	batches := make(chan *batch, 2)
	readErr := make(chan error, 1)
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		readErr <- im.plan(stop, src, plan, from, size, batches)
	}()
	written := from.Written
	var werr error
	for b := range batches {
		if werr != nil || ctx.Err() != nil {
			continue // drain: the reader stops at its next batch
		}
		// A batch is one transaction: once started it finishes, even on Ctrl-C, so that
		// what was written is known.
		_, err := im.Store.WriteCustomers(context.WithoutCancel(ctx), b.writes)
		if err != nil {
			werr = &WriteError{Written: written, Err: err}
			var be *customer.BatchError
			if errors.As(err, &be) {
				werr = &WriteError{Line: b.lines[be.Index], Written: written, Err: be.Err}
			}
			cancel()
			continue
		}
		written += len(b.writes)
		p.Add(int64(len(b.writes)))
		if im.Committed != nil {
			im.Committed(b.resume)
		}
	}
	rerr := <-readErr
	switch {
	case werr != nil:
		return written - from.Written, werr
	case ctx.Err() != nil:
		return written - from.Written, ctx.Err()
	case rerr != nil:
		return written - from.Written, rerr
	}
	return written - from.Written, nil
}

// plan reads the file pass after pass and hands its records to batches: each pass the
// records whose parents are written (or not in the file), the others deferred to the next
// pass. Records up to from are skipped, their decisions made again so that the passes
// are the same as before.
func (im *Importer) plan(ctx context.Context, src Source, plan *Plan, from Resume, size int, out chan<- *batch) error {
	for _, fp := range plan.parents {
		fp.pass = 0
	}
	var (
		todo    []int // the lines of this pass; nil in the first: all
		written = 0
		b       = &batch{}
	)
	send := func(pass, line int) error {
		b.resume = Resume{Pass: pass, Line: line, Written: written}
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		b = &batch{}
		return nil
	}
	for pass := 1; ; pass++ {
		var deferred []int
		wanted := len(todo)
		f, err := src.Open()
		if err != nil {
			return err
		}
		r, err := newReader(src.Format, f)
		if err != nil {
			f.Close()
			return err
		}
		last := 0
		err = decodeAll(ctx, r, func(d decoded) error {
			line, rec := d.line, d.rec
			if d.problem != nil {
				return fmt.Errorf("%s: line %d changed since it was validated: %s", src.Name, line, Describe(d.problem))
			}
			if todo != nil {
				for len(todo) > 0 && todo[0] < line {
					todo = todo[1:]
				}
				if len(todo) == 0 || todo[0] != line {
					return nil
				}
			}
			if pid := rec.Writable.ParentCustomerID; pid != nil {
				if fp, ok := plan.parents[*pid]; ok && fp.pass == 0 {
					deferred = append(deferred, line)
					return nil
				}
			}
			if fp, ok := plan.parents[rec.Keep.CustomerID]; ok && rec.Writable.IsParent && fp.line == line {
				fp.pass = pass
			}
			written++
			last = line
			if pass < from.Pass || (pass == from.Pass && line <= from.Line) {
				return nil // committed before
			}
			b.writes = append(b.writes, &customer.Write{Client: im.Client, User: im.User, Input: rec.Writable, Keep: &rec.Keep,
				Operation: customer.OpImport, Actor: customer.Actor{Username: im.Username}})
			b.lines = append(b.lines, line)
			if len(b.writes) == size {
				return send(pass, line)
			}
			return nil
		})
		if err != nil {
			f.Close()
			return err
		}
		f.Close()
		if len(b.writes) > 0 {
			if err := send(pass, last); err != nil {
				return err
			}
		}
		if len(deferred) == 0 {
			return nil
		}
		if pass > 1 && len(deferred) == wanted {
			return errors.New("records whose parents are never written (a cycle of parents)")
		}
		todo = deferred
	}
}
