package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a test environment for run.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// cli runs one command to completion.
func cli(t *testing.T, e env, stdin string, args ...string) (stdout string, err error) {
	t.Helper()
	stdout, _, err = cliAll(t, e, stdin, args...)
	return stdout, err
}

// cliAll runs one command to completion and returns both its outputs.
func cliAll(t *testing.T, e env, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"custd"}, args...), e.get, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// server is custd serve running in the background.
type server struct {
	url    string
	client *http.Client
	stderr *syncBuffer
	stop   func() error
}

// startServe runs serve on a free port and waits until /healthz answers.
func startServe(t *testing.T, e env, args ...string) *server {
	t.Helper()
	return startServeWith(t, e, http.DefaultClient, "http", args...)
}

// startServeWith runs serve with args on a free port and waits until /healthz answers
// client at scheme://ADDR.
func startServeWith(t *testing.T, e env, client *http.Client, scheme string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"custd", "serve", "--addr", "127.0.0.1:0"}, args...), e.get, nil, io.Discard, stderr)
	}()
	listening := regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			s := &server{url: scheme + "://" + m[1], client: client, stderr: stderr}
			var once sync.Once
			var err error
			s.stop = func() error {
				once.Do(func() { cancel(); err = <-done })
				return err
			}
			t.Cleanup(func() { s.stop() })
			for time.Now().Before(deadline) {
				if resp, err := client.Get(s.url + "/healthz"); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						return s
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Fatal("healthz never answered")
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve ended before listening: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start:\n%s", stderr.String())
		}
	}
}

func (s *server) request(t *testing.T, login, password, method, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.SetBasicAuth(login, password)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func newEnv(t *testing.T) env {
	return env{"CUSTD_DB": "sqlite:" + filepath.Join(t.TempDir(), "custd.db")}
}

func TestServe(t *testing.T) {
	e := newEnv(t)
	e["CUSTD_ADMIN_PASSWORD"] = "first admin password"
	s := startServe(t, e)

	status, body := s.request(t, "admin@demo", "first admin password", "POST", "/v1/Customers", `{"email":"a@example.com"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	// A user added from the command line while the server runs can log in at once.
	e2 := env{"CUSTD_DB": e["CUSTD_DB"], "CUSTD_PASSWORD": "clerk password 123"}
	if out, err := cli(t, e2, "", "user", "add", "clerk@demo", "--role", "readonly"); err != nil || !strings.Contains(out, "created user clerk@demo with role readonly") {
		t.Fatalf("user add: %v %q", err, out)
	}
	if status, body := s.request(t, "clerk@demo", "clerk password 123", "GET", "/v1/Customers/1", ""); status != http.StatusOK {
		t.Fatalf("new user GET: %d %s", status, body)
	}
	if status, _ := s.request(t, "clerk@demo", "clerk password 123", "POST", "/v1/Customers", `{}`); status != http.StatusForbidden {
		t.Fatalf("readonly POST: %d", status)
	}
	if status, _ := s.request(t, "clerk@demo", "wrong password", "GET", "/v1/Customers/1", ""); status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", status)
	}

	// Requests in flight when the server is told to stop still get their answers.
	var wg sync.WaitGroup
	results := make(chan int, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("PUT", s.url+"/v1/Customers/1", strings.NewReader(fmt.Sprintf(`{"status":"OPEN","source":"w%d"}`, i)))
			req.SetBasicAuth("admin@demo", "first admin password")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return // not yet accepted when the listener closed
			}
			resp.Body.Close()
			results <- resp.StatusCode
		}()
	}
	time.Sleep(5 * time.Millisecond)
	if err := s.stop(); err != nil {
		t.Fatalf("serve returned %v", err)
	}
	wg.Wait()
	close(results)
	acknowledged := 0
	for code := range results {
		if code != http.StatusOK {
			t.Fatalf("a request in flight during shutdown got %d", code)
		}
		acknowledged++
	}

	// The log has a line per request, with no credentials in it.
	logs := s.stderr.String()
	if strings.Contains(logs, "first admin password") || strings.Contains(logs, "clerk password") || strings.Contains(strings.ToLower(logs), "authorization") {
		t.Fatal("the log contains credentials")
	}
	sc := bufio.NewScanner(strings.NewReader(logs))
	requests := 0
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil || line["msg"] != "request" {
			continue
		}
		requests++
		for _, k := range []string{"method", "path", "status", "duration_ms", "request_id"} {
			if _, ok := line[k]; !ok {
				t.Fatalf("request log line without %s: %s", k, sc.Text())
			}
		}
	}
	if requests < 5 {
		t.Fatalf("%d request lines logged", requests)
	}
	// What was acknowledged is there after a restart (on a slow machine the listener may
	// have closed before any of the PUTs was accepted).
	s2 := startServe(t, e)
	if status, body := s2.request(t, "admin@demo", "first admin password", "GET", "/v1/Customers/1", ""); status != http.StatusOK ||
		strings.Contains(string(body), `"source":"w`) != (acknowledged > 0) {
		t.Fatalf("after restart, with %d PUTs acknowledged: %d %s", acknowledged, status, body)
	}
}

func TestBootstrapPrintsGeneratedPasswordOnce(t *testing.T) {
	e := newEnv(t)
	s := startServe(t, e)
	m := regexp.MustCompile(`user admin@demo with password (\S+)`).FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no generated password printed:\n%s", s.stderr.String())
	}
	if status, _ := s.request(t, "admin@demo", m[1], "GET", "/v1/Customers", ""); status != http.StatusOK {
		t.Fatalf("login with the printed password: %d", status)
	}
	s.stop()
	s2 := startServe(t, e)
	if strings.Contains(s2.stderr.String(), "password") {
		t.Fatalf("second start printed a password again:\n%s", s2.stderr.String())
	}
}

func TestCommands(t *testing.T) {
	e := newEnv(t)
	if _, err := cli(t, e, "", "migrate"); err != nil {
		t.Fatal(err)
	}
	if out, err := cli(t, e, "", "client", "add", "acme", "--name", "Acme Telecom"); err != nil || out != "created client acme (Acme Telecom)\n" {
		t.Fatalf("client add: %v %q", err, out)
	}
	out, err := cli(t, e, "", "user", "add", "--role", "admin", "ops@example.com@ACME")
	if err != nil || !strings.Contains(out, "created user ops@example.com@acme with role admin") {
		t.Fatalf("user add with generated password: %v %q", err, out)
	}
	if !regexp.MustCompile(`(?m)^password: \S{24}$`).MatchString(out) {
		t.Fatalf("generated password not printed: %q", out)
	}
	if _, err := cli(t, e, "a long enough password\n", "user", "add", "reader@acme", "--password-stdin", "--role", "READONLY"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"client", "add", "ACME"}, "", `client "ACME" already exists`},
		{[]string{"client", "add", "bad code"}, "", "code must be"},
		{[]string{"client", "add"}, "", "client add takes CODE; see custd help client add"},
		{[]string{"user", "add", "x@nowhere"}, "", `client "nowhere" does not exist`},
		{[]string{"user", "add", "reader@acme"}, "", "already exists"},
		{[]string{"user", "add", "nobody"}, "", "not USERNAME@CODE"},
		{[]string{"user", "add", "y@acme", "--role", "root"}, "", "the role must be one of admin, readwrite or readonly"},
		{[]string{"user", "add", "z@acme", "--password-stdin"}, "short\n", "at least 12 characters"},
		{[]string{"frobnicate"}, "", `unknown command "frobnicate"`},
		{[]string{"serve", "--time-format", "iso"}, "", "--time-format"},
		{[]string{"serve", "--nope"}, "", "serve: no such flag: --nope; see custd help serve"},
		{[]string{"user", "add", "z@acme", "--role"}, "", "flag needs an argument: --role"},
		{[]string{"serve", "--rate-limit", "fast"}, "", `invalid value "fast" for flag --rate-limit`},
		{[]string{"user", "frobnicate"}, "", `unknown command "user frobnicate"; custd user takes list, add, set-role, disable, enable, reset-password`},
		{[]string{"migrate", "extra"}, "", `migrate takes no arguments, not "extra"`},
		{[]string{"user", "set-role", "reader@acme"}, "", "user set-role takes USERNAME@CODE ROLE"},
		{[]string{"help", "nothing"}, "", `no command "nothing"`},
		{[]string{"serve", "--request-log-days", "-1"}, "", "--request-log-days must be"},
		{[]string{"serve", "--request-log-days", "a month"}, "", "request-log-days"},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "nowhere"}, "", "--metrics-addr"},
		{[]string{"serve", "--store-timeout", "5"}, "", "store-timeout"},
		{[]string{"serve", "--store-timeout", "-1s"}, "", "--store-timeout must be a positive duration"},
		{[]string{"migrate", "--db", "mysql://x"}, "", "unknown store"},
	} {
		_, err := cli(t, e, tc.stdin, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("custd %s: error %v, want one line mentioning %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}
