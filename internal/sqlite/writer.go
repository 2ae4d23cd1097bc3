package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custd/custd/internal/customer"
)

// maxBatch bounds how many writes share one transaction, so that a burst cannot make the
// first write of a batch wait for hundreds of others.
const maxBatch = 128

// writer owns the only connection that writes, and commits queued writes in groups.
type writer struct {
	db    *sql.DB
	conn  *sql.Conn
	ckpt  *checkpointer
	stmts map[string]*sql.Stmt // prepared on conn; used only by the loop goroutine
	ops   chan *op
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	// addresses is the block of address ids taken from the sequence: [next, end) are
	// free. A rollback restores it as it was, since it also undoes taking a block.
	addresses struct{ next, end int32 }

	// onCommit, when set, is told of every commit: how many writes shared it and how
	// long its COMMIT (the fsync) took.
	onCommit atomic.Pointer[func(writes int, commit time.Duration)]
}

// op is one queued write, run in a transaction shared with the others of its batch.
type op struct {
	ctx    context.Context
	fn     func(*tx) error
	result chan error
	// customer is the id of the customer the op changes: ops run in this order, so that
	// the text indexes receive their rows in ascending order (see 0001_init.sql). Ops on
	// no existing customer have 0; creates have math.MaxInt32, as their ids come last.
	customer int32
}

func newWriter(ctx context.Context, db *sql.DB, ckpt *checkpointer) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w := &writer{
		db:    db,
		conn:  conn,
		ckpt:  ckpt,
		stmts: map[string]*sql.Stmt{},
		ops:   make(chan *op, 4*maxBatch),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go w.loop()
	return w, nil
}

var errClosed = &customer.Error{Kind: customer.Unavailable, Message: "the store is shutting down"}

// do queues fn and waits until the transaction it ran in is durable (nil) or rolled back
// (fn's error, or the commit's). If ctx ends first do returns its error (Unavailable when
// its deadline passed), and fn may or may not have been applied, and may still be
// running: a caller reads what fn sets only when do returned nil.
func (w *writer) do(ctx context.Context, customer int32, fn func(*tx) error) error {
	o := &op{ctx: ctx, fn: fn, result: make(chan error, 1), customer: customer}
	select {
	case <-w.stop:
		return errClosed
	default:
	}
	select {
	case w.ops <- o:
	case <-w.stop:
		return errClosed
	case <-ctx.Done():
		return unavailable(ctx.Err())
	}
	select {
	case err := <-o.result:
		return err
	case <-ctx.Done():
		return unavailable(ctx.Err())
	}
}

// close stops taking writes, finishes those already queued, and closes the connection.
func (w *writer) close() error {
	w.once.Do(func() { close(w.stop) })
	<-w.done
	for _, st := range w.stmts {
		st.Close()
	}
	return errors.Join(w.conn.Close(), w.db.Close(), w.ckpt.close())
}

func (w *writer) loop() {
	defer close(w.done)
	batch := make([]*op, 0, maxBatch)
	for {
		var first *op
		select {
		case first = <-w.ops:
		case <-w.stop:
			// Drain what was queued before the stop, then end.
			for {
				select {
				case o := <-w.ops:
					w.commit(append(batch[:0], o))
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case o := <-w.ops:
				batch = append(batch, o)
			default:
				break fill
			}
		}
		w.commit(batch)
	}
}

// commit runs a batch in one transaction and tells each op its own outcome.
//
// Ops run one after another without savepoints: a savepoint costs every op a flush of
// the full-text index's pending changes, a new index segment and merges. That is safe
// because an op that fails almost always fails before it changes anything (validation,
// a missing customer, a stale If-Match, a taken account number are all found by reading
// first). When one fails after changing something, the whole transaction is rolled back
// and the batch runs again with each op in a savepoint of its own, so that one op's
// failure still never fails the others.
func (w *writer) commit(batch []*op) {
	// The ops of a batch were all waiting at once, so any order is a valid one.
	slices.SortStableFunc(batch, func(a, b *op) int { return cmp.Compare(a.customer, b.customer) })
	results, err := w.attempt(batch, false)
	if errors.Is(err, errPartialWrite) {
		results, err = w.attempt(batch, true)
	}
	if err != nil {
		for i := range results {
			if results[i] == nil {
				results[i] = err
			}
		}
	}
	for i, o := range batch {
		o.result <- results[i]
		batch[i] = nil
	}
	// Between two groups, after this one's writers have their answers. The restart
	// waits for readers to leave the WAL, but not long: a failure only leaves the WAL
	// longer, and a later group tries again.
	if w.ckpt.restartDue() {
		w.control("PRAGMA busy_timeout = 200")
		var busy, log, copied int64
		if w.conn.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &log, &copied) == nil && busy == 0 {
			w.ckpt.restarted()
		}
		w.control("PRAGMA busy_timeout = 10000")
	}
}

// errPartialWrite is an op failing after it changed the database, without a savepoint to
// undo only its changes.
var errPartialWrite = errors.New("a write failed after changing the database")

// attempt runs the batch in one transaction and commits it. It returns each op's own
// outcome, and an error when the transaction as a whole failed: then no op's changes are
// kept. Without savepoints it gives up with errPartialWrite at the first op that fails
// after changing the database.
func (w *writer) attempt(batch []*op, savepoints bool) ([]error, error) {
	results := make([]error, len(batch))
	if err := w.control("BEGIN IMMEDIATE"); err != nil {
		return results, unavailable(err)
	}
	addresses := w.addresses
	t := &tx{w: w}
	for i, o := range batch {
		if err := o.ctx.Err(); err != nil {
			results[i] = unavailable(err) // its caller is gone: do not write on its behalf
			continue
		}
		if savepoints {
			results[i] = w.runInSavepoint(t, o)
			continue
		}
		t.changed = false
		results[i] = w.run(t, o)
		if results[i] != nil && t.changed {
			w.control("ROLLBACK")
			w.addresses = addresses
			return results, errPartialWrite
		}
	}
	start := time.Now()
	if err := w.control("COMMIT"); err != nil {
		w.control("ROLLBACK")
		w.addresses = addresses
		return results, unavailable(err)
	}
	if f := w.onCommit.Load(); f != nil {
		(*f)(len(batch), time.Since(start))
	}
	w.ckpt.committed()
	return results, nil
}

// run applies one op, turning a panic into its error.
func (w *writer) run(t *tx, o *op) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write panicked: %v", p)
		}
	}()
	return unavailable(o.fn(t))
}

// runInSavepoint applies one op inside a savepoint, rolling back only its own changes on
// failure.
func (w *writer) runInSavepoint(t *tx, o *op) (err error) {
	if err := w.control("SAVEPOINT op"); err != nil {
		return unavailable(err)
	}
	addresses := w.addresses
	if err = w.run(t, o); err != nil {
		w.control("ROLLBACK TO op")
		w.addresses = addresses
	}
	if rerr := w.control("RELEASE op"); rerr != nil && err == nil {
		err = unavailable(rerr)
	}
	return err
}

// control runs a statement that manages the transaction, not the data.
func (w *writer) control(query string) error {
	_, err := w.conn.ExecContext(context.Background(), query)
	return err
}

// stmt returns a statement prepared once on the writer's connection.
func (w *writer) stmt(query string) (*sql.Stmt, error) {
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	st, err := w.conn.PrepareContext(context.Background(), query)
	if err != nil {
		return nil, err
	}
	w.stmts[query] = st
	return st, nil
}
