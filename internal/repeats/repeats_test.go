package repeats

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer for a logger and a test at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// messages returns the message of each line so far.
func (l *lockedBuffer) messages(t *testing.T) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m struct{ Msg string }
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m.Msg)
	}
	return out
}

func TestWarnings(t *testing.T) {
	var logs lockedBuffer
	// Long enough that the warnings of each step fall in one window even on a slow,
	// loaded machine with the race detector.
	const window = 2 * time.Second
	w := New(slog.New(slog.NewJSONHandler(&logs, nil)), window)
	ctx := context.Background()
	// Identical apart from the port: one line, then the count.
	for port := range 5 {
		w.Warn(ctx, "store unavailable", fmt.Errorf("read tcp 127.0.0.1:%d->127.0.0.1:5432: i/o timeout", 40000+port))
	}
	w.Warn(ctx, "store unavailable", errors.New("connection refused"))
	w.Warn(ctx, "releasing idempotency key", errors.New("connection refused"))
	if got := logs.messages(t); len(got) != 3 {
		t.Fatalf("logged %q at first, want the three different warnings", got)
	}
	time.Sleep(window + 200*time.Millisecond)
	want := []string{"store unavailable", "store unavailable", "releasing idempotency key", "store unavailable: 4 more like this in the last 2s"}
	if got := logs.messages(t); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("logged %q, want %q", got, want)
	}
	// After the window, the warning is logged again in full.
	w.Warn(ctx, "store unavailable", errors.New("read tcp 127.0.0.1:1->127.0.0.1:5432: i/o timeout"))
	if got := logs.messages(t); len(got) != 5 || got[4] != "store unavailable" {
		t.Fatalf("after the window: %q", got)
	}

	// Too many different warnings at once are counted together.
	logs = lockedBuffer{}
	w = New(slog.New(slog.NewJSONHandler(&logs, nil)), window)
	for i := range maxRepeating + 50 {
		w.Warn(ctx, fmt.Sprintf("warning %c%c", 'a'+i/26, 'a'+i%26), errors.New("e"))
	}
	time.Sleep(window + 200*time.Millisecond)
	got := logs.messages(t)
	if len(got) != maxRepeating+2 || got[len(got)-1] != "49 more warnings of other kinds in the last 2s" {
		t.Fatalf("%d different warnings: %d lines, the last %q", maxRepeating+50, len(got), got[len(got)-1])
	}
}
