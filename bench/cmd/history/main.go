// Command history measures a customer's history in a running custd over HTTP: it
// creates a customer, replaces it many times (each time with another benchmark
// customer's values, so that every version changes most members), and times pages of
// GET /v1/Customers/{id}/History.
//
//	history -url http://127.0.0.1:8080 -password PW -create          # prints the new id
//	history -url ... -password PW -id 1 -changes 10000                # replaces it 10,000 times
//	history -url ... -password PW -id 1 -reads 200                    # times history pages
//
// The pages timed, each read -reads times one after the other: the first page as a
// client asks for it (newest first, the default page size), the first page oldest
// first (sort=version), and page 500 newest first (offset paging deep into it).
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custd/custd/bench/internal/customerdata"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "history:", err)
		os.Exit(1)
	}
}

type client struct {
	http *http.Client
	base string
	auth string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "custd's base URL on a loopback address")
	user := fs.String("user", "admin@demo", "custd login (user@client)")
	password := fs.String("password", "", "password of that user")
	create := fs.Bool("create", false, "create the customer and print its id")
	id := fs.Int("id", 0, "the customer to change or read")
	changes := fs.Int("changes", 0, "replace the customer this many times")
	workers := fs.Int("workers", 16, "concurrent replaces")
	reads := fs.Int("reads", 0, "read each timed history page this many times")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("-url %q is not a URL", *base)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-url %q: only loopback addresses are allowed", *base)
	}
	c := &client{
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *workers, Proxy: nil}},
		base: *base,
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(*user+":"+*password)),
	}
	// The customer's account number stays the same in every version: it is unique.
	const account = "AC-HISTORY"
	if *create {
		cust := customerdata.New(1, 0)
		cust.AccountNumber = account
		status, body, err := c.do(ctx, http.MethodPost, "/v1/Customers", customerdata.Body(cust))
		if err != nil {
			return err
		}
		var out struct {
			ID int `json:"id"`
		}
		if status != http.StatusCreated || json.Unmarshal(body, &out) != nil || out.ID == 0 {
			return fmt.Errorf("create: %d %s", status, body)
		}
		fmt.Fprintln(stdout, out.ID)
		return nil
	}
	if *id == 0 {
		return errors.New("-create or -id is required")
	}
	if *changes > 0 {
		if err := replace(ctx, c, *id, account, *changes, *workers, stdout); err != nil {
			return err
		}
	}
	if *reads > 0 {
		for _, page := range []struct{ what, query string }{
			{"first page, newest first (the default)", ""},
			{"first page, oldest first", "?sort=version"},
			{"page 500, newest first", "?page=500"},
		} {
			if err := timePage(ctx, c, *id, page.what, page.query, *reads, stdout); err != nil {
				return err
			}
		}
	}
	return nil
}

// replace PUTs customer id n times, with workers at once, each time with the values of
// another benchmark customer.
func replace(ctx context.Context, c *client, id int, account string, n, workers int, stdout io.Writer) error {
	bodies := make([][]byte, 100)
	for i := range bodies {
		cust := customerdata.New(2, i)
		cust.AccountNumber = account
		bodies[i] = customerdata.Body(cust)
	}
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	start := time.Now()
	path := "/v1/Customers/" + strconv.Itoa(id)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				status, body, err := c.do(ctx, http.MethodPut, path, bodies[i%len(bodies)])
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("PUT %s: %d %s", path, status, body)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "replaced customer %d %d times in %s (%.0f/s, %d at once)\n", id, n, elapsed.Round(time.Millisecond),
		float64(n)/elapsed.Seconds(), workers)
	return nil
}

// timePage reads one page of the customer's history n times and prints the times.
func timePage(ctx context.Context, c *client, id int, what, query string, n int, stdout io.Writer) error {
	path := "/v1/Customers/" + strconv.Itoa(id) + "/History" + query
	times := make([]time.Duration, 0, n)
	var size, records int
	for range n {
		t0 := time.Now()
		status, body, err := c.do(ctx, http.MethodGet, path, nil)
		d := time.Since(t0)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("GET %s: %d %s", path, status, body)
		}
		var page struct {
			Records []json.RawMessage `json:"records"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("GET %s: %v", path, err)
		}
		times = append(times, d)
		size, records = len(body), len(page.Records)
	}
	slices.Sort(times)
	var sum time.Duration
	for _, d := range times {
		sum += d
	}
	fmt.Fprintf(stdout, "GET %s (%s): %d changes, %.1f KB; p50 %.2f ms, p99 %.2f ms, mean %.2f ms over %d reads\n",
		path, what, records, float64(size)/1024, ms(times[len(times)/2]), ms(times[(len(times)*99+99)/100-1]),
		ms(sum/time.Duration(len(times))), len(times))
	return nil
}

func (c *client) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", c.auth)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
