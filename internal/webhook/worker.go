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
//
// Three loops run at once, so that none waits for another's writes: the fan-out turns new
// events into deliveries, the claims lease due deliveries ahead of the attempts (a queue
// per receiver, so that a busy receiver's next notifications are at hand when an attempt
// ends), and record writes the attempts' outcomes.
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
	// all. The worker holds up to ahead times as many deliveries claimed.
	Slots, PerReceiver int
	// Observe, when set, is told each attempt's result (delivered, retry or failed) and,
	// for a first attempt that succeeds, the time since the write.
	Observe func(result string, lag time.Duration)

	finished chan *customer.Delivery // outcomes waiting to be recorded

	mu        sync.Mutex
	running   int                // attempts in progress
	runningTo map[int32]int      // attempts in progress per receiver
	waiting   map[int32][]*claim // claimed deliveries waiting for a slot, per receiver
	nWaiting  int
	attempts  sync.WaitGroup
	ended     chan struct{} // an attempt ended: its slot is free
}

// claim is a claimed delivery and when it was claimed.
type claim struct {
	*customer.Claim
	at time.Time
}

// lease is how long a claimed delivery is reserved: longer than an attempt can take.
const lease = 3 * Timeout

// ahead is how many times Slots (and PerReceiver) deliveries the worker holds claimed.
const ahead = 8

// stale is how long a claimed delivery may wait for a slot: its attempt must end, and its
// outcome be written, well within the lease.
const stale = lease - Timeout - 5*time.Second

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
	w.runningTo, w.waiting = map[int32]int{}, map[int32][]*claim{}
	w.ended = make(chan struct{}, 1)
	w.finished = make(chan *customer.Delivery, ahead*w.Slots)
	recorded := make(chan struct{})
	go func() { w.record(context.WithoutCancel(ctx)); close(recorded) }()
	fanned := make(chan struct{}, 1) // the fan-out claimed all it could
	fanDone := make(chan struct{})
	go func() { w.fanOut(ctx, fanned); close(fanDone) }()
	defer func() {
		<-fanDone
		w.attempts.Wait()
		// Those still waiting go back, unattempted, for this process's next start or
		// another process rather than at the end of their lease.
		for _, cs := range w.waiting {
			for _, c := range cs {
				w.finish(c.Delivery)
			}
		}
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
		case <-fanned:
		case <-w.ended:
			// Claim again as the claimed run low rather than at the next tick, so that a
			// busy receiver's queue drains at the speed it answers; at most every pace.
			time.Sleep(pace)
			if w.low() {
				break
			}
			continue
		}
		limit, full := w.room()
		if limit == 0 {
			continue
		}
		claims, err := w.Store.ClaimDeliveries(ctx, w.Owner, time.Now(), lease, limit, full)
		if err != nil {
			w.warn(ctx, "claiming webhook deliveries", err)
			continue
		}
		w.take(ctx, claims)
	}
}

// fanOut turns new events into deliveries until ctx ends, claiming those it can attempt
// at once as it makes them: every Poll/5 while it claims some, every Poll otherwise (a
// store without receivers is not asked more often than that). It tells fanned when it
// claimed all it could, as more may be due.
func (w *Worker) fanOut(ctx context.Context, fanned chan<- struct{}) {
	timer := time.NewTimer(w.Poll)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		wait := w.Poll
		for {
			limit, full := w.room()
			n, claims, err := w.Store.FanOut(ctx, 500, &customer.Lease{Owner: w.Owner, Until: time.Now().Add(lease), Max: limit, Skip: full})
			if err != nil {
				w.warn(ctx, "turning events into webhook deliveries", err)
			}
			w.take(ctx, claims)
			if len(claims) > 0 {
				wait = w.Poll / 5
			}
			if limit > 0 && len(claims) >= limit {
				select {
				case fanned <- struct{}{}:
				default:
				}
			}
			if err != nil || n < 500 {
				break
			}
		}
		timer.Reset(wait)
	}
}

// room returns how many deliveries to claim, and the receivers that hold as many as they
// may.
func (w *Worker) room() (int, []int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var full []int32
	for r, n := range w.runningTo {
		if n+len(w.waiting[r]) >= ahead*w.PerReceiver {
			full = append(full, r)
		}
	}
	return max(0, ahead*w.Slots-w.running-w.nWaiting), full
}

// low reports whether fewer deliveries wait for a slot than Slots.
func (w *Worker) low() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nWaiting < w.Slots
}

// take queues claimed deliveries for their receivers' slots and starts what it can.
func (w *Worker) take(ctx context.Context, claims []*customer.Claim) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range claims {
		r := c.Receiver.ID
		if w.runningTo[r]+len(w.waiting[r]) >= ahead*w.PerReceiver {
			// Hand it back untouched: the receiver has enough.
			w.finish(c.Delivery)
			continue
		}
		w.waiting[r] = append(w.waiting[r], &claim{c, now})
		w.nWaiting++
	}
	w.start(ctx)
}

// start starts the waiting deliveries that have slots, in the order each receiver's were
// claimed. w.mu is held.
func (w *Worker) start(ctx context.Context) {
	for r, cs := range w.waiting {
		for len(cs) > 0 && w.running < w.Slots && w.runningTo[r] < w.PerReceiver {
			c := cs[0]
			cs[0] = nil
			cs = cs[1:]
			w.nWaiting--
			if time.Since(c.at) > stale {
				w.finish(c.Delivery) // back, unattempted, before its lease ends
				continue
			}
			w.running++
			w.runningTo[r]++
			w.attempts.Add(1)
			go func() {
				defer w.attempts.Done()
				w.attempt(context.WithoutCancel(ctx), c.Claim)
				w.mu.Lock()
				w.running--
				w.runningTo[r]--
				if ctx.Err() == nil {
					w.start(ctx)
				}
				w.mu.Unlock()
				select {
				case w.ended <- struct{}{}:
				default:
				}
			}()
		}
		if len(cs) == 0 {
			delete(w.waiting, r)
			if w.runningTo[r] == 0 {
				delete(w.runningTo, r)
			}
		} else {
			w.waiting[r] = cs
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
		w.finish(d)
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
	w.finish(d)
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
func (w *Worker) finish(d *customer.Delivery) { w.finished <- d }

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
