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

// Writer writes the request log off the request path. A request hands its Entry to a
// buffered channel without waiting (a full buffer drops the record and counts it); one
// goroutine turns the entries into records and writes them in batches, every interval or
// every requestLogBatch records, whichever comes first. What a crash can lose is what
// waits in the buffer: at most about one interval of requests (docs/decisions.md).
type Writer struct {
	store    customer.RequestLog
	warnings *repeats.Warnings // a store outage fails every batch alike
	metrics  *metrics.Metrics
	interval time.Duration
	queue    chan Entry
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	err      error // of the writes at close
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
		queue:    make(chan Entry, buffer),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	m.WatchRequestLogBuffer(func() int { return len(l.queue) }, buffer)
	go l.run()
	return l
}

// Add hands an answered request to the writer, or drops it when the buffer is full: a
// request never waits for the request log.
func (l *Writer) Add(e Entry) {
	select {
	case l.queue <- e:
	default:
		l.metrics.RequestLogDropped(metrics.DroppedBufferFull, 1)
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
	write := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := l.write(batch)
		clear(batch)
		batch = batch[:0]
		return err
	}
	for {
		select {
		case e := <-l.queue:
			if batch = append(batch, e.Record()); len(batch) == requestLogBatch {
				write()
			}
		case <-tick.C:
			write()
		case <-l.stop:
		drain:
			for {
				select {
				case e := <-l.queue:
					if batch = append(batch, e.Record()); len(batch) == requestLogBatch {
						l.err = errors.Join(l.err, write())
					}
				default:
					break drain
				}
			}
			l.err = errors.Join(l.err, write())
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
