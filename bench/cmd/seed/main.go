// Command seed writes the benchmark's customers into a running custd or
// PocketBase over HTTP, the way a client would, and leaves behind what the load
// scripts need: the created ids (line k is the customer with index k-1), the
// Authorization header value, and optionally a pool of request body templates.
//
//	seed -target custd -url http://127.0.0.1:8080 -user admin@demo -password PW -n 10000 -ids custd.ids -auth custd.auth
//	seed -target pocketbase -url http://127.0.0.1:8090 -user bench@example.com -password PW ...
//	seed -templates templates.jsonl
//
// With -jsonl FILE and -target custd it creates nothing itself: it writes the same
// customers, with customer ids 1 to n, as a file for custd import (which is how
// scripts/bench.sh seeds custd), and the ids and Authorization files as usual.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custd/custd/bench/internal/customerdata"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

// target is what differs between the two servers: where a customer is created,
// how a request is authenticated, and how the new id is read.
type target struct {
	createPath string
	auth       string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("target", "", "custd or pocketbase")
	base := fs.String("url", "", "server base URL on a loopback address")
	user := fs.String("user", "", "custd login (user@client) or PocketBase user email")
	password := fs.String("password", "", "password of that user")
	n := fs.Int("n", 10000, "number of customers to create")
	seed := fs.Uint64("seed", 1, "data set: the same seed gives the same customers")
	workers := fs.Int("workers", 16, "concurrent requests")
	idsFile := fs.String("ids", "", "write the created ids here, one a line, in index order")
	authFile := fs.String("auth", "", "write the Authorization header value here")
	templatesFile := fs.String("templates", "", "also write body templates for the load scripts here; alone, only that")
	templatesN := fs.Int("templates-n", 1000, "number of body templates")
	jsonlFile := fs.String("jsonl", "", "custd only: write the customers here for custd import instead of creating them")
	timeout := fs.Duration("timeout", 3*time.Hour, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *templatesFile != "" {
		if err := writeTemplates(*templatesFile, *seed, *templatesN); err != nil {
			return err
		}
		if *kind == "" {
			return nil // only the templates were asked for
		}
	}
	if err := checkLoopback(*base); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: *workers, Proxy: nil},
	}
	var (
		t   target
		err error
	)
	switch *kind {
	case "custd":
		t = target{
			createPath: "/v1/Customers",
			auth:       "Basic " + base64.StdEncoding.EncodeToString([]byte(*user+":"+*password)),
		}
	case "pocketbase":
		token, err := pocketBaseToken(ctx, client, *base, *user, *password)
		if err != nil {
			return err
		}
		t = target{createPath: "/api/collections/customers/records", auth: token}
	default:
		return fmt.Errorf("-target must be custd or pocketbase, not %q", *kind)
	}
	if *authFile != "" {
		if err := os.WriteFile(*authFile, []byte(t.auth+"\n"), 0o600); err != nil {
			return err
		}
	}

	var ids []string
	if *jsonlFile != "" {
		if *kind != "custd" {
			return fmt.Errorf("-jsonl is for -target custd only")
		}
		ids, err = writeImport(*jsonlFile, *seed, *n)
	} else {
		ids, err = create(ctx, client, *base, t, *n, *seed, *workers, stderr)
	}
	if err != nil {
		return err
	}
	if *idsFile != "" {
		return os.WriteFile(*idsFile, []byte(strings.Join(ids, "\n")+"\n"), 0o644)
	}
	return nil
}

// checkLoopback refuses any server that is not on this machine: the benchmark
// never sends load elsewhere.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("-url %q is not a URL", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-url %q: only loopback addresses are allowed", raw)
	}
	return nil
}

// pocketBaseToken signs in once, as a client of PocketBase would, and returns
// the token that goes into the Authorization header of every later request.
func pocketBaseToken(ctx context.Context, client *http.Client, base, email, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"identity": email, "password": password})
	var out struct {
		Token string `json:"token"`
	}
	status, resp, err := post(ctx, client, base+"/api/collections/users/auth-with-password", "", body)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK || json.Unmarshal(resp, &out) != nil || out.Token == "" {
		return "", fmt.Errorf("pocketbase sign-in: %d %s", status, resp)
	}
	return out.Token, nil
}

// writeImport writes customers 0..n-1 as records for custd import, customer i with id
// i+1, as a store that creates them in an empty client numbers them, and returns the ids.
func writeImport(path string, seed uint64, n int) ([]string, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	ids := make([]string, n)
	for i := range n {
		ids[i] = strconv.Itoa(i + 1)
		body := customerdata.Body(customerdata.New(seed, i))
		fmt.Fprintf(w, `{"customer_id":%d,`, i+1)
		w.Write(body[1:])
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return ids, f.Close()
}

// writeTemplates writes body templates for the put and post scenarios, from
// the data set after the seeded one so that a replacement differs from what it
// replaces.
func writeTemplates(path string, seed uint64, n int) error {
	var buf bytes.Buffer
	for i := range n {
		buf.Write(customerdata.Template(customerdata.New(seed+1, i)))
		buf.WriteByte('\n')
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// create posts customers 0..n-1 with the given number of workers and returns
// their ids in index order. The first request that fails for good stops the run.
func create(ctx context.Context, client *http.Client, base string, t target, n int, seed uint64, workers int, stderr io.Writer) ([]string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	ids := make([]string, n)
	var next, done atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				id, err := createOne(ctx, client, base, t, customerdata.Body(customerdata.New(seed, i)))
				if err != nil {
					cancel(fmt.Errorf("customer %d: %w", i, err))
					return
				}
				ids[i] = id
				done.Add(1)
			}
		})
	}

	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case <-finished:
			waiting = false
		case <-tick.C:
			d := done.Load()
			fmt.Fprintf(stderr, "seed: %d/%d (%.0f/s)\n", d, n, float64(d)/time.Since(start).Seconds())
		}
	}
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stderr, "seed: created %d customers in %s (%.0f/s)\n", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	return ids, nil
}

// createOne creates one customer and returns its id. Overload answers and
// dropped connections are retried a few times, since a seeding run of a million
// records should not die of one; anything else is a bug worth stopping for.
func createOne(ctx context.Context, client *http.Client, base string, t target, body []byte) (string, error) {
	var lastErr error
	for attempt := range 5 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "", context.Cause(ctx)
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		status, resp, err := post(ctx, client, base+t.createPath, t.auth, body)
		switch {
		case err != nil:
			lastErr = err
			if ctx.Err() != nil {
				return "", lastErr
			}
			continue
		case status == http.StatusTooManyRequests || status >= 500:
			lastErr = fmt.Errorf("status %d: %s", status, resp)
			continue
		case status != http.StatusOK && status != http.StatusCreated:
			return "", fmt.Errorf("status %d: %s", status, resp)
		}
		var out struct {
			ID json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal(resp, &out); err != nil || len(out.ID) == 0 {
			return "", fmt.Errorf("no id in response: %s", resp)
		}
		// custd's ids are numbers, PocketBase's are strings.
		if s, err := strconv.Unquote(string(out.ID)); err == nil {
			return s, nil
		}
		return string(out.ID), nil
	}
	return "", fmt.Errorf("gave up after 5 attempts: %w", lastErr)
}

func post(ctx context.Context, client *http.Client, url, auth string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode >= 400 && len(b) > 500 {
		b = b[:500]
	}
	return resp.StatusCode, b, nil
}
