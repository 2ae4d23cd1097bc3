package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// SourcePageSize is how many customers each request to a source asks for: the most the
// Customers API gives in one page.
const SourcePageSize = 500

// maxPage is the largest response of a source read, in bytes: 500 customers of at most
// 1 MiB each would be more, but real ones are a few KiB.
const maxPage = 256 << 20

// Download reads every customer of a Rev.io-compatible Customers API (Rev.io itself, or
// another custd), page by page, into a spool file of JSON Lines, which an import then
// reads as any file. A download that stopped (the source died, Ctrl-C) resumes at the page
// after the last one it kept.
type Download struct {
	// URL is the API's base URL, such as https://api.example.com (the path /v1/Customers
	// is added), or that of /v1/Customers itself.
	URL      string
	Login    string // username@clientcode
	Password string
	Client   *http.Client // http.DefaultClient when nil
	Progress Progress
	// Backoff is the first pause before retrying a request the source refused for now
	// (429, 502, 503, 504) or could not answer; each retry doubles it, up to MaxBackoff,
	// each drawn between half and all of it. Retry-After, when the source sends it, is
	// honoured instead. 500 ms and 30 s when zero.
	Backoff, MaxBackoff time.Duration
	// Attempts is how many times one page is asked for before the download gives up;
	// 10 when zero. A source that cannot be reached at all is given up on after 4.
	Attempts int
}

// DownloadState is how far a download has got: pages 1 to Pages are in the spool, which
// is Bytes long and holds Records customers.
type DownloadState struct {
	Pages    int   `json:"pages"`
	Bytes    int64 `json:"bytes"`
	Records  int   `json:"records"`
	Complete bool  `json:"complete"`
}

// page is the envelope of a search.
type page struct {
	OK      bool              `json:"ok"`
	HasMore bool              `json:"has_more"`
	Records []json.RawMessage `json:"records"`
	Message string            `json:"message"`
}

// Run downloads into spool from the point st says, and calls save with the new state after
// each page is in the spool and synced to disk, so that a later Run resumes there. Errors:
// the source's (a refusal, an answer that is not a page of customers, or no answer after
// every attempt), ctx's, the spool's, save's.
func (d *Download) Run(ctx context.Context, spool *os.File, st DownloadState, save func(DownloadState) error) error {
	if st.Complete {
		return nil
	}
	base, err := d.endpoint()
	if err != nil {
		return err
	}
	// Whatever was written after the last page kept is dropped.
	if err := spool.Truncate(st.Bytes); err != nil {
		return err
	}
	if _, err := spool.Seek(st.Bytes, io.SeekStart); err != nil {
		return err
	}
	p := d.Progress
	if p == nil {
		p = NoProgress{}
	}
	p.Start("reading "+redactURL(base), -1, false)
	defer p.Done()
	p.Add(int64(st.Records))
	var buf bytes.Buffer
	for {
		pg, err := d.fetch(ctx, base, st.Pages+1)
		if err != nil {
			return fmt.Errorf("reading page %d of %s: %w (run the same command again to go on from there)", st.Pages+1, redactURL(base), err)
		}
		buf.Reset()
		for i, rec := range pg.Records {
			if err := json.Compact(&buf, rec); err != nil {
				return fmt.Errorf("page %d of %s: record %d is not JSON: %w", st.Pages+1, redactURL(base), i+1, err)
			}
			buf.WriteByte('\n')
		}
		if _, err := spool.Write(buf.Bytes()); err != nil {
			return err
		}
		if err := spool.Sync(); err != nil {
			return err
		}
		st.Pages++
		st.Bytes += int64(buf.Len())
		st.Records += len(pg.Records)
		st.Complete = !pg.HasMore || len(pg.Records) == 0
		if err := save(st); err != nil {
			return err
		}
		p.Add(int64(len(pg.Records)))
		if st.Complete {
			return nil
		}
	}
}

// endpoint is the URL of the customers' search.
func (d *Download) endpoint() (string, error) {
	u, err := url.Parse(d.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--from %q is not an http:// or https:// URL", redactURL(d.URL))
	}
	u.User = nil
	u.RawQuery, u.Fragment = "", ""
	if !strings.HasSuffix(strings.ToLower(u.Path), "/v1/customers") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/Customers"
	}
	return u.String(), nil
}

// redactURL drops credentials from a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}

// errUnreachable marks a request that got no HTTP answer.
var errUnreachable = errors.New("no answer")

// fetch asks for one page, retrying what may pass later.
func (d *Download) fetch(ctx context.Context, base string, n int) (*page, error) {
	attempts, backoff, maxBackoff := d.Attempts, d.Backoff, d.MaxBackoff
	if attempts <= 0 {
		attempts = 10
	}
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	if maxBackoff <= 0 {
		maxBackoff = 30 * time.Second
	}
	unreachable := 0
	for attempt := 1; ; attempt++ {
		pg, wait, err := d.get(ctx, base, n)
		if err == nil {
			return pg, nil
		}
		if wait < 0 {
			return nil, err // not worth asking again
		}
		if errors.Is(err, errUnreachable) {
			unreachable++
		}
		if attempt >= attempts || unreachable >= 4 {
			return nil, fmt.Errorf("%w, %d attempts", err, attempt)
		}
		if wait == 0 {
			wait = backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, maxBackoff)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// get asks for one page once. wait says whether to try again: negative for never, 0 after
// the usual backoff, else after that long (the source's Retry-After).
func (d *Download) get(ctx context.Context, base string, n int) (_ *page, wait time.Duration, _ error) {
	q := url.Values{}
	q.Set("search.page_size", strconv.Itoa(SourcePageSize))
	q.Set("search.page", strconv.Itoa(n))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"?"+q.Encode(), nil)
	if err != nil {
		return nil, -1, err
	}
	req.SetBasicAuth(d.Login, d.Password)
	req.Header.Set("Accept", "application/json")
	client := d.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, -1, ctx.Err()
		}
		return nil, 0, fmt.Errorf("%w: %v", errUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPage+1))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: reading the answer: %v", errUnreachable, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return nil, retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("the source answered %s", resp.Status)
	case http.StatusUnauthorized, http.StatusForbidden:
		return nil, -1, fmt.Errorf("the source refused the credentials of %s (%s): %s", d.Login, resp.Status, message(body))
	default:
		return nil, -1, fmt.Errorf("the source answered %s: %s", resp.Status, message(body))
	}
	if len(body) > maxPage {
		return nil, -1, fmt.Errorf("the page is larger than %d MiB", maxPage>>20)
	}
	var pg page
	if err := json.Unmarshal(body, &pg); err != nil || !pg.OK {
		return nil, -1, fmt.Errorf("the answer is not a page of customers (a JSON object with ok true, has_more and records): %.200s", body)
	}
	return &pg, 0, nil
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), at most two minutes;
// 0 when there is none.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	var wait time.Duration
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		wait = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		wait = time.Until(t)
	}
	// At least a moment, so that an answer of 0 is still a pause, and at most two minutes.
	return min(max(wait, 10*time.Millisecond), 2*time.Minute)
}

// message is the message of an error body of the Customers API, or its start.
func message(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("%.200s", body)
}
