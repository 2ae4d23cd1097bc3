// Package repeats logs warnings that an outage repeats for every request once, with a
// count of the others, so that the log stays readable while a store is away.
package repeats

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"
)

// Window is how long identical warnings are counted instead of logged, unless told
// otherwise.
const Window = 10 * time.Second

// maxRepeating bounds how many different warnings are counted at once; more are counted
// together.
const maxRepeating = 100

// Warnings logs the first of identical warnings, counts the ones that follow for
// a window, and then logs how many there were, so that a store outage, which fails every
// request the same way, writes a few lines and not one per request. Warnings are
// identical when their message and error are, apart from numbers (ports, durations).
type Warnings struct {
	log    *slog.Logger
	window time.Duration

	mu       sync.Mutex
	counting map[string]*repeats
}

// repeats counts the warnings that followed a logged one within its window.
type repeats struct {
	count   int
	summary string // the message that reports them
}

// New logs warnings to log, counting identical ones for window (Window when 0).
func New(log *slog.Logger, window time.Duration) *Warnings {
	if window <= 0 {
		window = Window
	}
	return &Warnings{log: log, window: window, counting: map[string]*repeats{}}
}

var digits = regexp.MustCompile(`[0-9]+`)

// Warn logs msg with err and attrs, unless an identical warning was logged within the
// window: then it only counts it.
func (w *Warnings) Warn(ctx context.Context, msg string, err error, attrs ...any) {
	key := msg + "\x00" + digits.ReplaceAllString(err.Error(), "#")
	summary := msg + ": %d more like this in the last %v"
	w.mu.Lock()
	if _, ok := w.counting[key]; !ok && len(w.counting) >= maxRepeating {
		key, summary = "\x00others", "%d more warnings of other kinds in the last %v"
	}
	if r, ok := w.counting[key]; ok {
		r.count++
		w.mu.Unlock()
		return
	}
	r := &repeats{summary: summary}
	w.counting[key] = r
	w.mu.Unlock()

	w.log.WarnContext(ctx, msg, append(attrs, "err", err)...)
	time.AfterFunc(w.window, func() {
		w.mu.Lock()
		delete(w.counting, key)
		n := r.count
		w.mu.Unlock()
		if n > 0 {
			w.log.Warn(fmt.Sprintf(r.summary, n, w.window), "count", n)
		}
	})
}
