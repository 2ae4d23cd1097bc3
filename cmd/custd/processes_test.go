package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/custd/custd/internal/postgres/pgtest"
)

// process is custd serve running as a process of its own: the test binary started again
// with beMain set, so that TestMain hands it to main.
type process struct {
	url  string
	cmd  *exec.Cmd
	logs *syncBuffer
}

const beMain = "CUSTD_TEST_BE_MAIN"

func startProcess(t *testing.T, db, adminPassword string, env ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(append(os.Environ(), beMain+"=1", "CUSTD_DB="+db, "CUSTD_ADMIN_PASSWORD="+adminPassword), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, logs: &syncBuffer{}}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		listening := regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(p.logs, sc.Text())
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatalf("custd did not start:\n%s", p.logs.String())
	}
	return p
}

// stop sends SIGTERM and checks that the process ends cleanly.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("custd ended with %v:\n%s", err, p.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("custd did not stop after SIGTERM")
	}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func call(t *testing.T, base, login, password, method, path, body string, headers ...string) reply {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.SetBasicAuth(login, password)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return reply{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}
}

// TestTwoProcessesOnPostgres drives two custd processes over one PostgreSQL database at
// once: the first user is created once, a user added from the command line is seen by
// both, If-Match loses no update across them, and one Idempotency-Key makes one customer
// whichever process each retry reaches.
func TestTwoProcessesOnPostgres(t *testing.T) {
	db := pgtest.NewDatabase(t)
	const pw = "shared admin password"
	var a, b *process
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a = startProcess(t, db, pw) }()
	go func() { defer wg.Done(); b = startProcess(t, db, pw) }()
	wg.Wait()
	if a == nil || b == nil {
		t.FailNow()
	}
	both := []*process{a, b}

	// The first user was created exactly once, though both started at once.
	if created := strings.Count(a.logs.String()+b.logs.String(), "created client demo"); created > 1 {
		t.Fatalf("bootstrap ran %d times", created)
	}
	// A user added from the command line can log in to either process at once.
	e := env{"CUSTD_DB": db, "CUSTD_PASSWORD": "writer password 1"}
	if _, err := cli(t, e, "", "user", "add", "writer@demo"); err != nil {
		t.Fatal(err)
	}
	for _, p := range both {
		if r := call(t, p.url, "writer@demo", "writer password 1", "GET", "/v1/Customers", ""); r.status != http.StatusOK {
			t.Fatalf("new user on %s: %d", p.url, r.status)
		}
	}

	// Read-modify-write loops with If-Match through both processes lose no increment.
	r := call(t, a.url, "admin@demo", pw, "POST", "/v1/Customers", `{"fields":[{"field_id":1,"label":"counter","value":"0"}]}`)
	var created struct{ ID int }
	json.Unmarshal(r.body, &created)
	path := fmt.Sprintf("/v1/Customers/%d", created.ID)
	const writers, increments = 8, 8
	var refused sync.Map
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done, n := 0, 0; done < increments; n++ {
				p := both[(w+n)%2]
				g := call(t, p.url, "admin@demo", pw, "GET", path, "")
				var c map[string]any
				if json.Unmarshal(g.body, &c) != nil {
					t.Errorf("GET: %d %s", g.status, g.body)
					return
				}
				field := c["fields"].([]any)[0].(map[string]any)
				v, _ := strconv.Atoi(field["value"].(string))
				field["value"] = strconv.Itoa(v + 1)
				body, _ := json.Marshal(c)
				q := both[(w+n+1)%2] // write through the other process than the read
				switch put := call(t, q.url, "admin@demo", pw, "PUT", path, string(body), "If-Match", g.header.Get("ETag")); put.status {
				case http.StatusOK:
					done++
				case http.StatusPreconditionFailed:
					refused.Store(fmt.Sprint(w, n), true)
				default:
					t.Errorf("PUT: %d %s", put.status, put.body)
					return
				}
			}
		}()
	}
	wg.Wait()
	var c map[string]any
	json.Unmarshal(call(t, b.url, "admin@demo", pw, "GET", path, "").body, &c)
	if got := c["fields"].([]any)[0].(map[string]any)["value"]; got != strconv.Itoa(writers*increments) {
		t.Fatalf("counter %v after %d increments through two processes", got, writers*increments)
	}

	// The same create sent to both processes at the same moment makes one customer.
	for round := range 5 {
		email := fmt.Sprintf("twice%d@example.com", round)
		key := fmt.Sprintf("key-%d", round)
		replies := make([]reply, 2)
		start := make(chan struct{})
		for i, p := range both {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				replies[i] = call(t, p.url, "admin@demo", pw, "POST", "/v1/Customers", `{"email":"`+email+`"}`, "Idempotency-Key", key)
			}()
		}
		close(start)
		wg.Wait()
		for _, r := range replies {
			if r.status != http.StatusCreated && r.status != http.StatusConflict {
				t.Fatalf("round %d: %d %s", round, r.status, r.body)
			}
		}
		var page struct {
			RecordCount int `json:"record_count"`
		}
		json.Unmarshal(call(t, a.url, "admin@demo", pw, "GET", "/v1/Customers?email="+email, "").body, &page)
		if page.RecordCount != 1 {
			t.Fatalf("round %d: %d customers from one idempotency key", round, page.RecordCount)
		}
		// A later retry through either process replays the first answer.
		first := call(t, a.url, "admin@demo", pw, "POST", "/v1/Customers", `{"email":"`+email+`"}`, "Idempotency-Key", key)
		second := call(t, b.url, "admin@demo", pw, "POST", "/v1/Customers", `{"email":"`+email+`"}`, "Idempotency-Key", key)
		if first.status != http.StatusCreated || string(first.body) != string(second.body) || second.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("round %d: replays differ: %d %s / %d %s", round, first.status, first.body, second.status, second.body)
		}
	}

	for _, p := range both {
		p.stop(t)
	}
}

// TestFeedAcrossProcessesOnPostgres: while writers write through two custd processes on
// one PostgreSQL database, a reader paging the change feed with after=, alternately
// through each process, sees every event exactly once, in event_id order, never an id
// below one it was already given, and each customer's versions in order.
func TestFeedAcrossProcessesOnPostgres(t *testing.T) {
	db := pgtest.NewDatabase(t)
	const pw = "shared admin password"
	a := startProcess(t, db, pw)
	b := startProcess(t, db, pw)
	both := []*process{a, b}

	const writers, writes = 8, 30
	ids := make([]int, writers)
	for w := range ids {
		r := call(t, both[w%2].url, "admin@demo", pw, "POST", "/v1/Customers", `{}`)
		var created struct{ ID int }
		if json.Unmarshal(r.body, &created) != nil || created.ID == 0 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		ids[w] = created.ID
	}
	var acknowledged sync.Map // event count per customer, by id
	for _, id := range ids {
		acknowledged.Store(id, 1)
	}
	count := func() (n int) {
		acknowledged.Range(func(_, v any) bool { n += v.(int); return true })
		return n
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range writes {
				p := both[(w+n)%2]
				if n%5 == 0 { // a new customer now and then
					r := call(t, p.url, "admin@demo", pw, "POST", "/v1/Customers", `{"source":"feed"}`)
					var created struct{ ID int }
					if r.status != http.StatusCreated || json.Unmarshal(r.body, &created) != nil {
						t.Errorf("create: %d %s", r.status, r.body)
						return
					}
					acknowledged.Store(created.ID, 1)
					continue
				}
				r := call(t, p.url, "admin@demo", pw, "PUT", fmt.Sprintf("/v1/Customers/%d", ids[w]), fmt.Sprintf(`{"status":"OPEN","source":"w%d"}`, n))
				if r.status != http.StatusOK {
					t.Errorf("PUT: %d %s", r.status, r.body)
					return
				}
				mu.Lock()
				v, _ := acknowledged.Load(ids[w])
				acknowledged.Store(ids[w], v.(int)+1)
				mu.Unlock()
			}
		}()
	}
	writing := make(chan struct{})
	go func() { wg.Wait(); close(writing) }()

	type event struct {
		EventID  int64 `json:"event_id"`
		ObjectID int   `json:"object_id"`
		Version  int   `json:"version"`
	}
	var seen []event
	after := int64(0)
	read := func(p *process) {
		r := call(t, p.url, "admin@demo", pw, "GET", fmt.Sprintf("/v1/Events?after=%d&page_size=17", after), "")
		var page struct {
			Records   []event `json:"records"`
			NextAfter int64   `json:"next_after"`
		}
		if r.status != http.StatusOK || json.Unmarshal(r.body, &page) != nil {
			t.Fatalf("feed: %d %s", r.status, r.body)
		}
		for _, e := range page.Records {
			if e.EventID <= after {
				t.Fatalf("event %d given after event %d", e.EventID, after)
			}
			after = e.EventID
			seen = append(seen, e)
		}
		if page.NextAfter != after {
			t.Fatalf("next_after %d, last event %d", page.NextAfter, after)
		}
	}
	for n := 0; ; n++ {
		select {
		case <-writing:
		default:
			read(both[n%2])
			time.Sleep(2 * time.Millisecond)
			continue
		}
		break
	}
	if t.Failed() {
		t.FailNow()
	}
	// Every acknowledged write is in the feed within seconds.
	for deadline, n := time.Now().Add(10*time.Second), 0; len(seen) < count() && time.Now().Before(deadline); n++ {
		read(both[n%2])
	}
	if len(seen) != count() {
		t.Fatalf("the reader saw %d events for %d acknowledged writes", len(seen), count())
	}
	// A fresh reader from 0 is given exactly what this one saw, in the same order.
	all := seen
	seen, after = nil, 0
	for len(seen) < len(all) {
		before := len(seen)
		read(a)
		if len(seen) == before {
			break
		}
	}
	if !slices.Equal(seen, all) {
		t.Fatalf("a second reader saw %d events, the first %d, or in another order", len(seen), len(all))
	}
	// Each customer's versions come in order, one event each.
	last := map[int]int{}
	for _, e := range all {
		if e.Version != last[e.ObjectID]+1 {
			t.Fatalf("customer %d: version %d after version %d", e.ObjectID, e.Version, last[e.ObjectID])
		}
		last[e.ObjectID] = e.Version
	}
	for _, p := range both {
		p.stop(t)
	}
}
