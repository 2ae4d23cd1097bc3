package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

// receiver is a webhook receiver on loopback that checks each notification's signature and
// counts the notifications and the connections they came on.
type receiver struct {
	*httptest.Server
	secret       string
	got, bad     atomic.Int32
	conns        atomic.Int32
	answer       atomic.Pointer[func(w http.ResponseWriter)] // when set, answers instead of 200
	lastEvent    atomic.Value
	lastUA, body atomic.Value
}

func newTestReceiver(t *testing.T, tlsToo bool) *receiver {
	r := &receiver{secret: "a-secret"}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		ts, _ := strconv.ParseInt(req.Header.Get("X-Hook-Timestamp"), 10, 64)
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" ||
			!hmac.Equal([]byte(req.Header.Get("X-Hook-Signature")), []byte(Sign(r.secret, ts, body))) {
			r.bad.Add(1)
		}
		r.got.Add(1)
		r.lastEvent.Store(req.Header.Get("X-Hook-Event-Id"))
		r.lastUA.Store(req.Header.Get("User-Agent"))
		r.body.Store(string(body))
		if answer := r.answer.Load(); answer != nil {
			(*answer)(w)
		}
	}))
	r.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.conns.Add(1)
		}
	}
	if tlsToo {
		r.StartTLS()
	} else {
		r.Start()
	}
	t.Cleanup(r.Close)
	return r
}

// answers makes the receiver answer with f.
func (r *receiver) answers(f func(w http.ResponseWriter)) { r.answer.Store(&f) }

func (r *receiver) notify(t *testing.T, s *Sender, event int64) (int, string) {
	t.Helper()
	return s.Notify(context.Background(), &customer.Receiver{URL: r.URL + "/hook?from=custd", Secret: r.secret}, event, []byte(`{"event_id":`+strconv.FormatInt(event, 10)+`}`))
}

// TestSenderKeepsConnections: notifications to one receiver arrive signed, one after the
// other over one connection.
func TestSenderKeepsConnections(t *testing.T) {
	r := newTestReceiver(t, false)
	s := NewSender(&Guard{AllowPrivate: true})
	for i := int64(1); i <= 20; i++ {
		if status, problem := r.notify(t, s, i); status != 200 || problem != "" {
			t.Fatalf("notification %d: %d %q", i, status, problem)
		}
	}
	if r.got.Load() != 20 || r.bad.Load() != 0 {
		t.Fatalf("the receiver got %d notifications, %d of them badly signed or typed", r.got.Load(), r.bad.Load())
	}
	if r.lastEvent.Load() != "20" || r.body.Load() != `{"event_id":20}` || r.lastUA.Load() != "custd-webhooks/1" {
		t.Fatalf("last notification: event %v, body %v, user agent %v", r.lastEvent.Load(), r.body.Load(), r.lastUA.Load())
	}
	if n := r.conns.Load(); n != 1 {
		t.Fatalf("20 notifications in turn took %d connections, want 1", n)
	}
}

// TestSenderReplacesClosedConnection: a kept connection that the receiver closed while it
// was unused is replaced, and the notification arrives once.
func TestSenderReplacesClosedConnection(t *testing.T) {
	r := newTestReceiver(t, false)
	s := NewSender(&Guard{AllowPrivate: true})
	r.notify(t, s, 1)
	r.CloseClientConnections()
	if status, problem := r.notify(t, s, 2); status != 200 {
		t.Fatalf("after the receiver closed the connection: %d %q", status, problem)
	}
	if r.got.Load() != 2 || r.conns.Load() != 2 {
		t.Fatalf("the receiver got %d notifications on %d connections, want 2 on 2", r.got.Load(), r.conns.Load())
	}
}

// TestSenderTLS: https receivers are called over TLS and their certificate checked.
func TestSenderTLS(t *testing.T) {
	r := newTestReceiver(t, true)
	s := NewSender(&Guard{AllowPrivate: true})
	if status, problem := r.notify(t, s, 1); status != 0 || !strings.Contains(problem, "certificate") || r.got.Load() != 0 {
		t.Fatalf("a receiver whose certificate no known authority signed: %d %q", status, problem)
	}
	roots := x509.NewCertPool()
	roots.AddCert(r.Certificate())
	s.tls.RootCAs = roots
	for i := int64(1); i <= 3; i++ {
		if status, problem := r.notify(t, s, i); status != 200 {
			t.Fatalf("notification %d over TLS: %d %q", i, status, problem)
		}
	}
	if r.got.Load() != 3 || r.bad.Load() != 0 || r.conns.Load() != 2 {
		// The refused handshake was a connection of its own.
		t.Fatalf("the receiver got %d notifications (%d bad) on %d connections", r.got.Load(), r.bad.Load(), r.conns.Load())
	}
}

// TestSenderAnswers: what a receiver answers other than 2xx is reported, its body cut
// short, and the connection of an answer not read whole is not used again.
func TestSenderAnswers(t *testing.T) {
	r := newTestReceiver(t, false)
	s := NewSender(&Guard{AllowPrivate: true})
	r.answers(func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "down for maintenance "+strings.Repeat("x", 2*maxAnswer))
	})
	status, problem := r.notify(t, s, 1)
	if status != 503 || !strings.HasPrefix(problem, "the receiver answered 503: down for maintenance xxx") || len(problem) > 250 {
		t.Fatalf("got %d %q", status, problem)
	}
	r.answers(func(w http.ResponseWriter) { w.Header().Set("X-Large", strings.Repeat("y", 2*maxHead)) })
	if status, problem := r.notify(t, s, 2); status != 0 || problem == "" {
		t.Fatalf("an answer with headers over the limit: %d %q", status, problem)
	}
	r.answer.Store(nil)
	if status, _ := r.notify(t, s, 3); status != 200 || r.conns.Load() != 3 {
		t.Fatalf("after two answers not read whole: %d, %d connections, want 3", status, r.conns.Load())
	}
}

// TestSenderTimeout: a receiver that does not answer in time fails the attempt, which says
// so.
func TestSenderTimeout(t *testing.T) {
	release := make(chan struct{})
	r := newTestReceiver(t, false)
	r.answers(func(http.ResponseWriter) { <-release })
	defer close(release)
	s := NewSender(&Guard{AllowPrivate: true})
	s.timeout = 100 * time.Millisecond
	if status, problem := r.notify(t, s, 1); status != 0 || problem != "no answer within 100ms" {
		t.Fatalf("got %d %q", status, problem)
	}
}

// TestSenderCanceled: a request whose context ends is abandoned at once, and its
// connection is not used again.
func TestSenderCanceled(t *testing.T) {
	release := make(chan struct{})
	r := newTestReceiver(t, false)
	s := NewSender(&Guard{AllowPrivate: true})
	r.notify(t, s, 1)
	r.answers(func(http.ResponseWriter) { <-release })
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	status, problem := s.Notify(ctx, &customer.Receiver{URL: r.URL, Secret: r.secret}, 2, []byte("{}"))
	if status != 0 || problem != "context canceled" {
		t.Fatalf("got %d %q", status, problem)
	}
	r.answer.Store(nil)
	if status, _ := r.notify(t, s, 3); status != 200 || r.conns.Load() != 2 {
		t.Fatalf("after the abandoned request: %d, %d connections, want 2", status, r.conns.Load())
	}
}
