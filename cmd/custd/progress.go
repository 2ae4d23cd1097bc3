package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/custd/custd/internal/transfer"
)

// newProgress reports the progress of a long command on w (standard error): a live bar
// when w is a terminal, otherwise a line every interval (and one at the end of each step),
// which a log keeps readably.
func newProgress(w io.Writer, command string, interval time.Duration) transfer.Progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{w: w}
	}
	return &lineProgress{w: w, command: command, interval: interval}
}

// barProgress draws a progress bar: how many, how many per second, and the time left
// when the total is known.
type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (p *barProgress) Start(step string, total int64, bytes bool) {
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(step),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
		progressbar.OptionFullWidth(),
	}
	if bytes {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("records"))
	}
	if total >= 0 {
		opts = append(opts, progressbar.OptionSetPredictTime(true))
	} else {
		opts = append(opts, progressbar.OptionSpinnerType(14))
	}
	p.bar = progressbar.NewOptions64(total, opts...)
}

func (p *barProgress) Add(n int64) { p.bar.Add64(n) }

func (p *barProgress) Done() {
	p.bar.Finish()
}

// lineProgress writes a plain line every interval while a step runs, and one when it ends.
type lineProgress struct {
	w        io.Writer
	command  string
	interval time.Duration

	mu      sync.Mutex
	step    string
	total   int64
	bytes   bool
	done    int64
	started time.Time
	last    time.Time
	printed bool // whether the step has had a line yet
}

func (p *lineProgress) Start(step string, total int64, bytes bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.step, p.total, p.bytes, p.done, p.printed = step, total, bytes, 0, false
	p.started = time.Now()
	p.last = p.started
}

func (p *lineProgress) Add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if now := time.Now(); now.Sub(p.last) >= p.interval {
		p.last = now
		p.print(now, false)
	}
}

// Done writes the step's last line, when it was long enough to have had others.
func (p *lineProgress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.printed {
		p.print(time.Now(), true)
	}
}

// print writes "custd import: writing: 120,000 of 1,000,000 records (24,000/s, 37s left)".
func (p *lineProgress) print(now time.Time, end bool) {
	unit := "records"
	count := func(n int64) string { return thousands(n) }
	if p.bytes {
		unit = "MB"
		count = func(n int64) string { return fmt.Sprintf("%.1f", float64(n)/1e6) }
	}
	elapsed := now.Sub(p.started)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.done) / elapsed.Seconds()
	}
	line := fmt.Sprintf("custd %s: %s: %s", p.command, p.step, count(p.done))
	if p.total >= 0 {
		line += " of " + count(p.total)
	}
	line += " " + unit
	perSecond := thousands(int64(rate))
	if p.bytes {
		perSecond = fmt.Sprintf("%.1f MB", rate/1e6)
	}
	switch {
	case end:
		line += fmt.Sprintf(", done in %s (%s/s)", elapsed.Round(100*time.Millisecond), perSecond)
	case p.total >= 0 && rate > 0:
		left := time.Duration(float64(p.total-p.done) / rate * float64(time.Second))
		line += fmt.Sprintf(" (%s/s, %s left)", perSecond, left.Round(time.Second))
	default:
		line += fmt.Sprintf(" (%s/s)", perSecond)
	}
	fmt.Fprintln(p.w, line)
	p.printed = true
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
