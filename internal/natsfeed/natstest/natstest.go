// Package natstest runs a NATS server with JetStream of a test's own: the real
// nats-server binary, on a free loopback port, with its store in a temporary folder, so
// that the test can stop it and start it again without touching any other server.
//
// Without nats-server on the PATH (or in /usr/sbin, where Debian's package puts it) the
// tests that need it skip, unless CUSTD_REQUIRE_NATS=1 (as in CI), where they fail.
package natstest

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is a nats-server process of one test.
type Server struct {
	URL string

	t    testing.TB
	bin  string
	port int
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	logs logBuffer
}

// logBuffer keeps what the server writes, for the test's failure messages.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Start starts a server for t, stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := binary()
	if bin == "" {
		if os.Getenv("CUSTD_REQUIRE_NATS") == "1" {
			t.Fatal("CUSTD_REQUIRE_NATS=1 but nats-server is not installed (apt-get install nats-server)")
		}
		t.Skip("nats-server is not installed; skipping the NATS tests")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{URL: "nats://127.0.0.1:" + strconv.Itoa(port), t: t, bin: bin, port: port, dir: t.TempDir()}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.cmd != nil {
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	s.Restart()
	return s
}

func binary() string {
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/nats-server", "/usr/local/bin/nats-server"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Restart starts the server (again) on the same port and store, and waits until
// JetStream answers.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		s.t.Fatal("natstest: Restart of a running server")
	}
	cmd := exec.Command(s.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-js", "-sd", s.dir)
	cmd.Stdout, cmd.Stderr = &s.logs, &s.logs
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	deadline := time.Now().Add(20 * time.Second)
	for {
		nc, err := nats.Connect(s.URL, nats.Timeout(time.Second))
		if err == nil {
			js, _ := jetstream.New(nc)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err = js.AccountInfo(ctx)
			cancel()
			nc.Close()
			if err == nil {
				return
			}
		}
		select {
		case <-done:
			s.t.Fatalf("nats-server ended: %s", s.Logs())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nats-server did not answer within 20 s: %v\n%s", err, s.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server as an operator would (SIGTERM) and waits until it has ended.
func (s *Server) Stop() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Logs returns what the server wrote so far.
func (s *Server) Logs() string { return s.logs.String() }
