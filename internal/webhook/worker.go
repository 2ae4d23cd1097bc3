package webhook

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/custd/custd/internal/customer"
)

// Worker turns the change feed into deliveries and attempts them: at least once, in
// order per receiver and customer, retried with backoff for DeliveryPatience. Every serve
// process runs one; the store keeps two of them from attempting one delivery at once.
type Worker struct {
	Store  customer.Webhooks
	Sender *Sender
	// Body renders an event as the body of its notification.
	Body func(*customer.Version) ([]byte, error)
	Log  *slog.Logger
	// Owner names this process in delivery leases.
	Owner string
	// Poll is how often the worker looks for events and due deliveries (default 100 ms).
	Poll time.Duration
	// Backoff is the wait after the n-th failed attempt (default customer.Backoff).
	Backoff func(n int32) time.Duration
	// Slots is how many attempts run at once (default 64), and PerReceiver how many of
	// them may go to one receiver (default half), so that a slow receiver cannot take them
	// all.
	Slots, PerReceiver int
	// Observe, when set, is told each attempt's result (delivered, retry or failed) and,
	// for a first attempt that succeeds, the time since the write.
	Observe func(result string, lag time.Duration)

	finished chan *customer.Delivery // outcomes waiting to be recorded
}

// lease is how long a claimed delivery is reserved: longer than an attempt can take.
const lease = 3 * Timeout

// Run works until ctx ends, then waits for the attempts in progress.
func (w *Worker) Run(ctx context.Context) {
	if w.Poll == 0 {
		w.Poll = 100 * time.Millisecond
	}
	if w.Backoff == nil {
		w.Backoff = customer.Backoff
	}
	if w.Slots == 0 {
		w.Slots = 64
	}
	if w.PerReceiver == 0 {
		w.PerReceiver = w.Slots / 2
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		inFlight = map[int32]int{}
		free     = make(chan struct{}, w.Slots)
		wake     = make(chan struct{}, 1) // an attempt ended: its slot is free
		fanned   time.Time
	)
	for range w.Slots {
		free <- struct{}{}
	}
	w.finished = make(chan *customer.Delivery, 4*w.Slots)
	recorded := make(chan struct{})
	go func() { w.record(context.WithoutCancel(ctx)); close(recorded) }()
	defer func() {
		wg.Wait()
		close(w.finished)
		<-recorded // the outcomes of the last attempts are in the store
	}()
	tick := time.NewTicker(w.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-wake:
			// Claim again as slots free up rather than at the next tick, so that a busy
			// receiver's queue drains at the speed it answers; at most every pace.
			time.Sleep(pace)
		}
		if time.Since(fanned) >= w.Poll/5 {
			fanned = time.Now()
			for {
				n, err := w.Store.FanOut(ctx, 500)
				if err != nil {
					w.warn(ctx, "turning events into webhook deliveries", err)
				}
				if err != nil || n < 500 {
					break
				}
			}
		}
		slots := len(free)
		if slots == 0 {
			continue
		}
		claims, err := w.Store.ClaimDeliveries(ctx, w.Owner, time.Now(), lease, slots)
		if err != nil {
			w.warn(ctx, "claiming webhook deliveries", err)
			continue
		}
		for _, c := range claims {
			mu.Lock()
			busy := inFlight[c.Receiver.ID] >= w.PerReceiver
			if !busy {
				inFlight[c.Receiver.ID]++
			}
			mu.Unlock()
			if busy {
				// Hand it back untouched: the receiver has enough attempts running.
				w.finish(ctx, c.Delivery)
				continue
			}
			<-free
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.attempt(context.WithoutCancel(ctx), c)
				mu.Lock()
				inFlight[c.Receiver.ID]--
				mu.Unlock()
				free <- struct{}{}
				select {
				case wake <- struct{}{}:
				default:
				}
			}()
		}
	}
}

// pace is the shortest time between two claims woken by ended attempts: claims gather
// the slots freed meanwhile instead of taking one at a time.
const pace = 5 * time.Millisecond

// attempt sends one claimed delivery and records the outcome.
func (w *Worker) attempt(ctx context.Context, c *customer.Claim) {
	d := c.Delivery
	if c.Receiver.Status != customer.ReceiverActive {
		// Deleted since the delivery was made (deleting fails its pending deliveries;
		// this one was claimed just before).
		d.Status, d.NextAttemptDate, d.LastError = customer.DeliveryFailed, nil, "the receiver is not active"
		w.finish(ctx, d)
		return
	}
	body, err := w.Body(c.Event)
	if err != nil {
		w.warn(ctx, "rendering a webhook notification", err)
		return // the lease runs out and it is tried again
	}
	status, problem := w.Sender.Notify(ctx, c.Receiver, d.EventID, body)
	now := time.Now()
	d.Outcome(now, status, problem, w.Backoff(d.Attempts+1))
	w.finish(ctx, d)
	if w.Observe != nil {
		var lag time.Duration
		if d.Status == customer.DeliveryDelivered && d.Attempts == 1 {
			lag = now.Sub(c.Event.ChangedDate)
		}
		w.Observe(map[customer.DeliveryStatus]string{customer.DeliveryDelivered: "delivered",
			customer.DeliveryPending: "retry", customer.DeliveryFailed: "failed"}[d.Status], lag)
	}
}

// finish hands an attempt's outcome to record.
func (w *Worker) finish(_ context.Context, d *customer.Delivery) { w.finished <- d }

// record writes the outcomes of attempts as they end, those that end within pace of each
// other in one write: one write per attempt would compete with the customers' writes for
// the store (on SQLite, its one writer). Until an outcome is written its delivery stays
// leased, so it is not attempted again meanwhile, nor a later event of its customer.
func (w *Worker) record(ctx context.Context) {
	batch := make([]*customer.Delivery, 0, 4*w.Slots)
	for d := range w.finished {
		batch = append(batch[:0], d)
		deadline := time.After(pace)
	gather:
		for len(batch) < cap(batch) {
			select {
			case d, ok := <-w.finished:
				if !ok {
					break gather
				}
				batch = append(batch, d)
			case <-deadline:
				break gather
			}
		}
		if err := w.Store.FinishDelivery(ctx, w.Owner, batch...); err != nil {
			w.warn(ctx, "recording webhook deliveries", err) // their leases run out and they are tried again
		}
	}
}

func (w *Worker) warn(ctx context.Context, what string, err error) {
	if ctx.Err() == nil && w.Log != nil {
		w.Log.Warn(what, "err", err)
	}
}
