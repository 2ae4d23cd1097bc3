package webhook

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/custd/custd/internal/customer"
)

// Timeout is how long a receiver has to answer.
const Timeout = 10 * time.Second

// maxAnswer is how much of a receiver's answer is read.
const maxAnswer = 64 << 10

// Sign returns the X-Hook-Signature of a notification: "sha256=" and the hex of
// HMAC-SHA256 keyed with the receiver's secret over the timestamp, ".", and the body.
// A receiver recomputes it and compares in constant time; the timestamp lets it refuse
// old messages replayed to it.
func Sign(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Sender makes the HTTP/1.1 requests to receivers. Each exchange runs on the caller's
// goroutine, over a connection it holds for the exchange and then keeps for the next one
// to the same receiver: the request written by http.Request.Write, the answer read by
// http.ReadResponse. (net/http's Transport hands every exchange between three goroutines,
// the caller and the connection's writer and reader; under load that cost a notification
// more processor time than signing and sending it.) No proxy, since a proxy would dial for
// us past the guard; no redirect followed, a 3xx is an answer like any other not 2xx;
// Timeout for the whole exchange.
type Sender struct {
	guard     *Guard
	tls       *tls.Config
	userAgent string
	timeout   time.Duration

	mu      sync.Mutex
	idle    map[string][]*conn // kept connections by scheme and host:port, the latest used last
	nIdle   int                // how many connections idle holds
	sweeper *time.Timer        // closes the connections kept longer than idleTimeout
}

// conn is a connection to a receiver and its buffers.
type conn struct {
	net.Conn
	key   string
	limit io.LimitedReader // what br may still read of the current answer
	br    *bufio.Reader
	bw    *bufio.Writer
	used  time.Time // when its last exchange ended
}

// idleTimeout is how long a connection is kept unused, and maxIdle how many are kept per
// receiver: as many as attempts may run at once to it, so that a busy receiver's
// notifications reuse connections rather than each dialling (and the guard checking) one;
// maxIdleAll how many are kept in all.
const (
	idleTimeout = 30 * time.Second
	maxIdle     = 64
	maxIdleAll  = 256
)

// maxHead is how much of an answer is read before its body: the status line and headers.
const maxHead = 64 << 10

// NewSender returns a sender whose connections the guard checks.
func NewSender(g *Guard) *Sender {
	return &Sender{guard: g, userAgent: "custd-webhooks/1", timeout: Timeout, idle: map[string][]*conn{},
		tls: &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}}
}

// Confirm sends r its confirmation request: X-Hook-Secret with r's code, and a body naming
// the receiver. It reports whether the receiver answered 2xx echoing the code, which
// activates it at once.
func (s *Sender) Confirm(ctx context.Context, r *customer.Receiver) (bool, error) {
	body, _ := json.Marshal(map[string]any{"event_type": "WEBHOOK_CONFIRMATION", "webhook_receiver_id": r.ID})
	resp, _, err := s.post(ctx, r.URL, body, "X-Hook-Secret", r.Secret)
	if err != nil {
		return false, err
	}
	return resp.StatusCode/100 == 2 && customer.EqualSecret(resp.Header.Get("X-Hook-Secret"), r.Secret), nil
}

// Notify posts one event's body to r, signed. It returns the receiver's status (0 when
// none came) and, unless that is 2xx, what went wrong.
func (s *Sender) Notify(ctx context.Context, r *customer.Receiver, eventID int64, body []byte) (int, string) {
	ts := time.Now().Unix()
	resp, answer, err := s.post(ctx, r.URL, body,
		"X-Hook-Event-Id", strconv.FormatInt(eventID, 10),
		"X-Hook-Timestamp", strconv.FormatInt(ts, 10),
		"X-Hook-Signature", Sign(r.Secret, ts, body))
	if err != nil {
		return 0, s.describe(err)
	}
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, ""
	}
	problem := fmt.Sprintf("the receiver answered %d", resp.StatusCode)
	if len(answer) > 0 {
		problem += ": " + string(bytes.ToValidUTF8(answer[:min(len(answer), 200)], nil))
	}
	return resp.StatusCode, problem
}

// post sends body to rawURL as JSON with the headers given as name, value pairs, and
// returns the answer and up to maxAnswer of its body. A kept connection that fails before
// any of the answer arrives, other than by the timeout (the receiver closed it while it
// was unused), is replaced by a new one once: delivery is at least once, and the request
// may have been lost unread.
func (s *Sender) post(ctx context.Context, rawURL string, body []byte, headers ...string) (*http.Response, []byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, err
	}
	port := u.Port()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, nil, fmt.Errorf("unsupported scheme %q", u.Scheme)
	case port == "" && u.Scheme == "https":
		port = "443"
	case port == "":
		port = "80"
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	header := make(http.Header, 3+len(headers)/2)
	header.Set("Content-Type", "application/json")
	header.Set("User-Agent", s.userAgent)
	for i := 0; i+1 < len(headers); i += 2 {
		header.Set(headers[i], headers[i+1])
	}
	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for retried := false; ; retried = true {
		c, kept, err := s.conn(ctx, u, addr, deadline)
		if err != nil {
			return nil, nil, err
		}
		req := &http.Request{Method: http.MethodPost, URL: u, Host: u.Host, Header: header,
			Body: http.NoBody, ContentLength: int64(len(body))}
		if len(body) > 0 {
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, answer, unanswered, err := s.exchange(ctx, c, req, deadline)
		if err != nil && ctx.Err() != nil {
			return nil, nil, ctx.Err() // not the receiver's doing
		}
		if err == nil || !kept || !unanswered || retried || errors.Is(err, os.ErrDeadlineExceeded) {
			return resp, answer, err
		}
	}
}

// exchange writes req on c and reads the answer. It keeps c for the next exchange when
// the answer was read whole and the receiver did not ask to close, and closes it
// otherwise. unanswered reports an error before any byte of the answer.
func (s *Sender) exchange(ctx context.Context, c *conn, req *http.Request, deadline time.Time) (resp *http.Response, answer []byte, unanswered bool, err error) {
	keep := false
	defer func() {
		if keep {
			s.keep(c)
		} else {
			c.Close()
		}
	}()
	c.SetDeadline(deadline)
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
		defer func() {
			if !stop() {
				keep = false // ctx ended: its deadline may yet cut the connection short
			}
		}()
	}
	c.limit.N = maxHead
	if err := req.Write(c.bw); err != nil {
		return nil, nil, true, err
	}
	if err := c.bw.Flush(); err != nil {
		return nil, nil, true, err
	}
	if _, err := c.br.Peek(1); err != nil {
		return nil, nil, true, err
	}
	for {
		if resp, err = http.ReadResponse(c.br, req); err != nil {
			return nil, nil, false, err
		}
		// Informational answers (100 Continue, 103 Early Hints) precede the real one.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	c.limit.N += maxAnswer + 1
	answer, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	whole := err == nil && len(answer) <= maxAnswer
	keep = whole && !resp.Close && c.br.Buffered() == 0 && resp.StatusCode != http.StatusSwitchingProtocols
	resp.Body.Close()
	return resp, answer[:min(len(answer), maxAnswer)], false, nil
}

// conn returns a kept connection to addr for u's scheme, the one used last, or a new one.
func (s *Sender) conn(ctx context.Context, u *url.URL, addr string, deadline time.Time) (*conn, bool, error) {
	key := u.Scheme + "://" + addr
	s.mu.Lock()
	if cs := s.idle[key]; len(cs) > 0 {
		c := cs[len(cs)-1]
		cs[len(cs)-1] = nil
		s.nIdle--
		if len(cs) == 1 {
			delete(s.idle, key)
		} else {
			s.idle[key] = cs[:len(cs)-1]
		}
		s.mu.Unlock()
		if time.Since(c.used) < idleTimeout {
			return c, true, nil
		}
		c.Close() // the sweeper's next pass closes the older ones
	} else {
		s.mu.Unlock()
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	nc, err := s.guard.dial(ctx, addr)
	if err != nil {
		return nil, false, err
	}
	if u.Scheme == "https" {
		cfg := s.tls.Clone()
		cfg.ServerName = u.Hostname()
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, false, err
		}
		nc = tc
	}
	c := &conn{Conn: nc, key: key}
	c.limit.R = nc
	c.br = bufio.NewReader(&c.limit)
	// A notification's headers and body go out in one write when they fit (a customer's
	// body is often larger than the default 4 KiB).
	c.bw = bufio.NewWriterSize(nc, 32<<10)
	return c, false, nil
}

// keep puts c with the connections kept for its receiver, unless there are enough.
func (s *Sender) keep(c *conn) {
	c.used = time.Now()
	c.SetDeadline(time.Time{})
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.idle[c.key]) >= maxIdle || s.nIdle >= maxIdleAll {
		c.Close()
		return
	}
	s.idle[c.key] = append(s.idle[c.key], c)
	s.nIdle++
	if s.sweeper == nil {
		s.sweeper = time.AfterFunc(idleTimeout, s.sweep)
	}
}

// sweep closes the connections kept unused for idleTimeout, and comes again while some
// are kept.
func (s *Sender) sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, cs := range s.idle {
		fresh := cs[:0]
		for _, c := range cs {
			if time.Since(c.used) < idleTimeout {
				fresh = append(fresh, c)
			} else {
				c.Close()
				s.nIdle--
			}
		}
		clear(cs[len(fresh):])
		if len(fresh) == 0 {
			delete(s.idle, key)
		} else {
			s.idle[key] = fresh
		}
	}
	if len(s.idle) == 0 {
		s.sweeper = nil
		return
	}
	s.sweeper.Reset(idleTimeout)
}

// describe says why a request got no answer, without the noise of Go's wrapping.
func (s *Sender) describe(err error) string {
	switch {
	case errors.Is(err, errInternal):
		return errInternal.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("no answer within %s", s.timeout)
	}
	return err.Error()
}
