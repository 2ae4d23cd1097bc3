package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
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

// Sender makes the HTTP requests to receivers.
type Sender struct {
	client    *http.Client
	userAgent string
}

// NewSender returns a sender whose connections the guard checks.
func NewSender(g *Guard) *Sender {
	return &Sender{client: g.Client(Timeout), userAgent: "custd-webhooks/1"}
}

// Confirm sends r its confirmation request: X-Hook-Secret with r's code, and a body naming
// the receiver. It reports whether the receiver answered 2xx echoing the code, which
// activates it at once.
func (s *Sender) Confirm(ctx context.Context, r *customer.Receiver) (bool, error) {
	body, _ := json.Marshal(map[string]any{"event_type": "WEBHOOK_CONFIRMATION", "webhook_receiver_id": r.ID})
	resp, err := s.post(ctx, r.URL, body, map[string]string{"X-Hook-Secret": r.Secret})
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	ok := resp.StatusCode/100 == 2 && customer.EqualSecret(resp.Header.Get("X-Hook-Secret"), r.Secret)
	return ok, nil
}

// Notify posts one event's body to r, signed. It returns the receiver's status (0 when
// none came) and, unless that is 2xx, what went wrong.
func (s *Sender) Notify(ctx context.Context, r *customer.Receiver, eventID int64, body []byte) (int, string) {
	ts := time.Now().Unix()
	resp, err := s.post(ctx, r.URL, body, map[string]string{
		"X-Hook-Event-Id":  strconv.FormatInt(eventID, 10),
		"X-Hook-Timestamp": strconv.FormatInt(ts, 10),
		"X-Hook-Signature": Sign(r.Secret, ts, body),
	})
	if err != nil {
		return 0, describe(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, ""
	}
	problem := fmt.Sprintf("the receiver answered %d", resp.StatusCode)
	if len(answer) > 0 {
		problem += ": " + string(bytes.ToValidUTF8(answer[:min(len(answer), 200)], nil))
	}
	return resp.StatusCode, problem
}

func (s *Sender) post(ctx context.Context, url string, body []byte, headers map[string]string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.userAgent)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// describe says why a request got no answer, without the noise of Go's wrapping.
func describe(err error) string {
	switch {
	case errors.Is(err, errInternal):
		return errInternal.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", Timeout)
	}
	return err.Error()
}
