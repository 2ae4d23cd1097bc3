// Package reqlog writes the request log: each client's record of the requests made to
// custd (the API's, and the console's writes and failures), handed over by the request
// path without waiting and stored in batches by one goroutine per process.
package reqlog

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/metrics"
	"github.com/custd/custd/internal/repeats"
)

// Entry is an answered request, handed to the Writer.
type Entry interface {
	// Record returns the request's record. It runs on the writer's goroutine, so that
	// the request path only hands the entry over.
	Record() *customer.LoggedRequest
}

// Defaults of the request log's writer.
const (
	// DefaultInterval is the longest a record waits in memory.
	DefaultInterval = 250 * time.Millisecond
	// DefaultBuffer is the most records that wait in memory.
	DefaultBuffer = 10_000
	// requestLogBatch is the most records written at once: a batch is written when it is
	// this full, or when the interval has passed.
	requestLogBatch = 1000
)

// Writer writes the request log off the request path. A request appends its Entry to a
// buffer under a mutex held for the append alone, without waiting for anything else (a
// full buffer drops the record and counts it); one goroutine takes the buffer's entries,
// turns them into records and writes them in batches, every interval or as soon as
// requestLogBatch records wait, whichever comes first. The goroutine is woken only then,
// never once per request. What a crash can lose is what waits in the buffer: at most
// about one interval of requests (docs/decisions.md).
type Writer struct {
	store    customer.RequestLog
	warnings *repeats.Warnings // a store outage fails every batch alike
	metrics  *metrics.Metrics
	interval time.Duration
	capacity int
	wakeAt   int // how many waiting entries wake the goroutine before the interval ends

	mu      sync.Mutex
	pending []Entry // waiting to be written, oldest first; at most capacity
	spare   []Entry // the slice the goroutine last emptied, reused for pending
	closed  bool    // Close was called: Add records nothing more

	full  chan struct{} // told when requestLogBatch entries wait
	flush chan chan struct{}
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	err   error // of the writes at close
}

// New starts the writer of the request log into store, writing every interval
// (DefaultInterval when 0) and holding at most buffer records (DefaultBuffer when 0); a
// nil logger logs nothing, and nil metrics count nothing. Close stops it.
func New(store customer.RequestLog, log *slog.Logger, m *metrics.Metrics, interval time.Duration, buffer int) *Writer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	l := &Writer{
		store:    store,
		warnings: repeats.New(log, 0),
		metrics:  m,
		interval: interval,
		capacity: buffer,
		wakeAt:   min(buffer, requestLogBatch),
		full:     make(chan struct{}, 1),
		flush:    make(chan chan struct{}),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	m.WatchRequestLogBuffer(l.waiting, buffer)
	go l.run()
	return l
}

// Add hands an answered request to the writer, or drops it when the buffer is full: a
// request never waits for the request log.
func (l *Writer) Add(e Entry) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	if len(l.pending) >= l.capacity {
		l.mu.Unlock()
		l.metrics.RequestLogDropped(metrics.DroppedBufferFull, 1)
		return
	}
	l.pending = append(l.pending, e)
	n := len(l.pending)
	l.mu.Unlock()
	if n == l.wakeAt {
		select {
		case l.full <- struct{}{}:
		default: // already told
		}
	}
}

// waiting reports how many records wait in the buffer.
func (l *Writer) waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// take empties the buffer and returns what it held.
func (l *Writer) take() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.pending
	l.pending = l.spare[:0]
	l.spare = nil
	return out
}

// Flush writes what the buffer holds now and returns once it is stored (or its write
// failed): for a caller that must read back the requests it made, such as a test.
func (l *Writer) Flush() {
	done := make(chan struct{})
	select {
	case l.flush <- done:
		<-done
	case <-l.done:
	}
}

// Close writes what the buffer holds and stops the writer. Requests answered after Close
// are not recorded. Errors: the store's, of writing the last records.
func (l *Writer) Close() error {
	l.once.Do(func() { close(l.stop) })
	<-l.done
	return l.err
}

func (l *Writer) run() {
	defer close(l.done)
	tick := time.NewTicker(l.interval)
	defer tick.Stop()
	batch := make([]*customer.LoggedRequest, 0, requestLogBatch)
	// writeAll writes what the buffer holds, requestLogBatch records at a time.
	writeAll := func() (err error) {
		entries := l.take()
		for i, e := range entries {
			batch = append(batch, e.Record())
			entries[i] = nil
			if len(batch) == requestLogBatch || i == len(entries)-1 {
				err = errors.Join(err, l.write(batch))
				clear(batch)
				batch = batch[:0]
			}
		}
		l.mu.Lock()
		if l.spare == nil && cap(entries) <= 2*l.capacity {
			l.spare = entries[:0]
		}
		l.mu.Unlock()
		return err
	}
	for {
		select {
		case <-tick.C:
			writeAll()
		case done := <-l.flush:
			writeAll()
			close(done)
		case <-l.full:
			writeAll()
			// The buffer was emptied now: the next write is due an interval from now,
			// not at the next tick, which would write a handful of records and cost a
			// commit of its own.
			tick.Reset(l.interval)
		case <-l.stop:
			l.mu.Lock()
			l.closed = true
			l.mu.Unlock()
			l.err = writeAll()
			return
		}
	}
}

// write stores one batch. A batch the store fails to write is lost: the request log must
// never hold up the API or the console, and a store that fails now would most likely fail a retry too.
func (l *Writer) write(batch []*customer.LoggedRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.store.RecordRequests(ctx, batch); err != nil {
		l.warnings.Warn(ctx, "writing the request log", err, "records", len(batch))
		l.metrics.RequestLogDropped(metrics.DroppedWriteFailed, len(batch))
		return err
	}
	l.metrics.RequestLogWritten(len(batch))
	return nil
}
