// Command hookreceiver is the webhook receiver of the benchmark: it confirms a
// registration by echoing X-Hook-Secret, answers every notification 200 at once
// without verifying anything expensive (no signature check, and only the head of the
// body decoded: event_id and created_date, which custd writes first), and records for each
// notification its delivery lag: the time it arrived minus the event's
// created_date (when the write committed, to the millisecond, on the same clock).
//
//	hookreceiver -addr 127.0.0.1:18200
//
// GET /stats?from=MS&to=MS answers the lag of the notifications whose event was
// written in that window (Unix milliseconds, both optional) as one line:
//
//	count=N events=N p50_ms=F p99_ms=F max_ms=F
//
// (events counts distinct event ids, less than count when one was delivered
// twice). On SIGTERM or SIGINT it prints the same line for the whole run to
// standard output and exits.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hookreceiver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hookreceiver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %v", *addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q: only loopback addresses are allowed", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	r := &receiver{}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(stderr, "hookreceiver: listening on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(stdout, r.stats(math.MinInt64, math.MaxInt64))
	return nil
}

// arrival is one notification: its event, when the event was written and the lag.
type arrival struct {
	eventID int64
	written int64 // Unix milliseconds
	lag     time.Duration
}

type receiver struct {
	mu       sync.Mutex
	arrivals []arrival
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/stats":
		from, to, err := window(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, rc.stats(from, to))
		return
	case r.Method != http.MethodPost:
		http.Error(w, "POST notifications here", http.StatusMethodNotAllowed)
		return
	}
	if secret := r.Header.Get("X-Hook-Secret"); secret != "" {
		// The confirmation request: echoing the code activates the receiver at once.
		io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Hook-Secret", secret)
		w.WriteHeader(http.StatusOK)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	w.WriteHeader(http.StatusOK)
	if err != nil {
		return
	}
	// Only the two top-level members the lag needs; "data" is skipped unread.
	eventID, created, ok := head(body)
	if !ok {
		return
	}
	written, err := parseDate(created)
	if err != nil {
		return
	}
	rc.mu.Lock()
	rc.arrivals = append(rc.arrivals, arrival{eventID, written.UnixMilli(), received.Sub(written)})
	rc.mu.Unlock()
}

// head reads a notification's event_id and created_date, which custd writes first, and
// stops there: the customer and its changes that follow are not decoded, so that the
// receiver, which shares the machine with custd in the benchmark, costs it little CPU.
func head(body []byte) (eventID int64, created string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, "", false
	}
	var haveID, haveDate bool
	for dec.More() && !(haveID && haveDate) {
		t, err := dec.Token()
		if err != nil {
			return 0, "", false
		}
		switch t {
		case "event_id":
			err, haveID = dec.Decode(&eventID), true
		case "created_date":
			err, haveDate = dec.Decode(&created), true
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return 0, "", false
		}
	}
	return eventID, created, haveID && haveDate
}

// parseDate reads a date-time as custd writes it: RFC 3339, or Rev.io's form (UTC
// without a designator).
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05.999999999", s)
}

// window reads the from and to query parameters (Unix milliseconds, inclusive).
func window(r *http.Request) (from, to int64, err error) {
	from, to = math.MinInt64, math.MaxInt64
	for name, v := range map[string]*int64{"from": &from, "to": &to} {
		if s := r.URL.Query().Get(name); s != "" {
			if *v, err = strconv.ParseInt(s, 10, 64); err != nil {
				return 0, 0, fmt.Errorf("%s: not Unix milliseconds", name)
			}
		}
	}
	return from, to, nil
}

// stats summarizes the lag of the notifications of events written from..to.
func (rc *receiver) stats(from, to int64) string {
	rc.mu.Lock()
	var lags []time.Duration
	events := map[int64]bool{}
	for _, a := range rc.arrivals {
		if a.written >= from && a.written <= to {
			lags = append(lags, a.lag)
			events[a.eventID] = true
		}
	}
	rc.mu.Unlock()
	if len(lags) == 0 {
		return "count=0 events=0 p50_ms=0 p99_ms=0 max_ms=0"
	}
	slices.Sort(lags)
	return fmt.Sprintf("count=%d events=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f", len(lags), len(events),
		ms(percentile(lags, 50)), ms(percentile(lags, 99)), ms(lags[len(lags)-1]))
}

// percentile returns the p-th percentile of sorted (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
