package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custd/custd/internal/httpapi"
)

// patchBomb is a JSON Patch of 932 bytes that doubles a member with every operation: an
// add of an object with 64 leaves, then 19 copies of it into itself, each under a new
// name. Applied without limits it builds 64 × 2^19 = 33,554,432 leaves.
func patchBomb() string {
	ops := []string{`{"op":"add","path":"/x","value":{"a":[` + strings.Repeat("1,", 63) + `1]}}`}
	for i := range 19 {
		ops = append(ops, fmt.Sprintf(`{"op":"copy","from":"/x","path":"/x/%c"}`, 'b'+i))
	}
	return "[\n" + strings.Join(ops, ",") + "\n]"
}

// manyTests is a JSON Patch of 10,000 test operations that all pass.
func manyTests() string {
	return "[" + strings.Repeat(`{"op":"test","path":"/status","value":"OPEN"},`, 9999) + `{"op":"test","path":"/status","value":"OPEN"}]`
}

func TestPatchLimits(t *testing.T) {
	if len(patchBomb()) != 932 {
		t.Fatalf("the bomb has %d bytes", len(patchBomb()))
	}
	eachStore(t, func(t *testing.T, a *api) {
		id := a.create(admin, fullBody())
		path := fmt.Sprintf("/v1/Customers/%d", id)
		etag := a.do(admin, "GET", path, nil).header.Get("ETag")

		deep := `{"a":` + strings.Repeat("[", 11) + strings.Repeat("]", 11) + `}`
		wide := "[" + strings.Repeat("0,", 1000) + "0]"
		big := strings.Repeat("a", 1<<20-200)
		for _, c := range []struct {
			name, body string
			field      string // named in errors, or "" for the message alone
			message    string // part of the message or of the field's message
		}{
			{"doubling bomb", patchBomb(), "", "copy at most that much"},
			{"copy past 1 MiB", `[{"op":"add","path":"/x","value":"` + strings.Repeat("x", 1<<20-100<<10) + `"},{"op":"add","path":"/z","value":"` + strings.Repeat("z", 50<<10) + `"},{"op":"copy","from":"/z","path":"/w"}]`, "", "larger than 1048576 bytes (1 MiB)"},
			{"10,000 tests", manyTests(), "", "at most 1000 operations"},
			{"deep path", `[{"op":"add","path":"/a/b/c/d/e/f/g/h/i/j/k","value":1}]`, "[0].path", "at most 10 segments"},
			{"deep from", `[{"op":"copy","from":"/a/b/c/d/e/f/g/h/i/j/k","path":"/source"}]`, "[0].from", "at most 10 segments"},
			{"deep value", `[{"op":"add","path":"/x","value":` + deep + `}]`, "[0].value", "nested at most 10 deep"},
			{"deep test value", `[{"op":"test","path":"/x","value":` + deep + `}]`, "[0].value", "nested at most 10 deep"},
			{"wide value", `[{"op":"add","path":"/x","value":` + wide + `}]`, "[0].value", "at most 1000 members or items"},
			{"large document", `[{"op":"add","path":"/x","value":"` + big + `"},{"op":"remove","path":"/x"}]`, "", "1 MiB"},
		} {
			r := a.do(admin, "PATCH", path, c.body).want(t, http.StatusBadRequest)
			msg := string(r.body)
			if c.field != "" {
				m, ok := r.fieldErrors(t)[c.field]
				if !ok {
					t.Errorf("%s: the error does not name %s: %s", c.name, c.field, r.body)
				}
				msg = m
			}
			if !strings.Contains(msg, c.message) {
				t.Errorf("%s: the error does not say %q: %.500s", c.name, c.message, r.body)
			}
		}
		if got := a.do(admin, "GET", path, nil).header.Get("ETag"); got != etag {
			t.Fatalf("refused patches changed the customer: ETag %s, was %s", got, etag)
		}

		// The limits leave room for what a client does: 100 custom fields, then every
		// member and field set one by one, each operation checked first (about 400 in all).
		ops := []string{`{"op":"replace","path":"/fields","value":[]}`}
		for i := range 100 {
			ops = append(ops, fmt.Sprintf(`{"op":"add","path":"/fields/-","value":{"field_id":%d,"label":"L%d","value":"%s"}}`, i+1, i, strings.Repeat("v", 4000)))
		}
		a.do(admin, "PATCH", path, "["+strings.Join(ops, ",")+"]").want(t, http.StatusOK)
		ops = ops[:0]
		for i := range 100 {
			ops = append(ops, fmt.Sprintf(`{"op":"test","path":"/fields/%d/label","value":"L%d"}`, i, i),
				fmt.Sprintf(`{"op":"replace","path":"/fields/%d/value","value":"w%d"}`, i, i),
				fmt.Sprintf(`{"op":"replace","path":"/fields/%d/label","value":"M%d"}`, i, i))
		}
		for _, m := range []string{"billing_address", "service_address"} {
			for _, f := range []string{"first_name", "last_name", "company_name", "line_1", "line_2", "city", "state_or_province", "postal_code"} {
				ops = append(ops, fmt.Sprintf(`{"op":"replace","path":"/%s/%s","value":"x"}`, m, f))
			}
		}
		r := a.do(admin, "PATCH", path, "["+strings.Join(ops, ",")+"]").want(t, http.StatusOK)
		if !strings.Contains(string(r.body), `"label":"M99","value":"w99"`) {
			t.Fatalf("after a patch of %d operations: %.300s", len(ops), r.body)
		}
	})
}

// TestPatchAttacksDoNotHoldOthers: while one client sends patches built to take time and
// memory, another client's PUTs are not held up by them. (On SQLite every write waits for
// the one writer, so a patch applied while the writer waits holds every client.) The PUTs
// are sent at a steady pace, so that a share of them as large as the share of time the
// attack holds anything up lands in it, and the slowest tenth is compared. The machine is
// shared and busy, so the PUTs with and without the attack are measured in turns, a fifth
// of a second each, for the same bursts of others' work to slow both alike.
func TestPatchAttacksDoNotHoldOthers(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		target := fmt.Sprintf("/v1/Customers/%d", a.create(admin, obj{}))
		// The victim writes ten customers in turn, so that its own writes do not queue
		// for one customer's lock.
		var victims []string
		for range 10 {
			victims = append(victims, fmt.Sprintf("/v1/Customers/%d", a.create(other, obj{})))
		}
		var turn atomic.Int32
		put := func() time.Duration {
			start := time.Now()
			victim := victims[int(turn.Add(1))%len(victims)]
			req, _ := http.NewRequest("PUT", a.url+victim, strings.NewReader(`{"status":"OPEN","source":"sync"}`))
			req.SetBasicAuth(string(other), password)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return 0
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("victim's PUT: %d", resp.StatusCode)
			}
			return time.Since(start)
		}
		// puts sends a PUT every 10 ms, n of them, and adds their latencies to took.
		puts := func(n int, took *[]time.Duration) {
			var (
				mu sync.Mutex
				wg sync.WaitGroup
			)
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for range n {
				<-tick.C
				wg.Add(1)
				go func() {
					defer wg.Done()
					d := put()
					mu.Lock()
					*took = append(*took, d)
					mu.Unlock()
				}()
			}
			wg.Wait()
		}
		// attacking sends the attack, one at a time and at most 10 a second, until stop
		// is closed, and then waits for the one under way. (Each attack is to take time
		// and memory, before the fix a good part of a second or more; a flood of requests
		// of any kind is the rate limit's business.)
		attacking := func(attack string, stop chan struct{}) (sent int) {
			pace := time.NewTicker(100 * time.Millisecond)
			defer pace.Stop()
			for {
				req, _ := http.NewRequest("PATCH", a.url+target, strings.NewReader(attack))
				req.SetBasicAuth(string(admin), password)
				req.Header.Set("Content-Type", "application/json-patch+json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return sent
				}
				var b bytes.Buffer
				b.ReadFrom(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("attack: %d %.200s", resp.StatusCode, b.String())
				}
				sent++
				select {
				case <-stop:
					return sent
				case <-pace.C:
				}
			}
		}
		tenth := func(d []time.Duration) time.Duration {
			slices.Sort(d)
			return d[len(d)*9/10]
		}
		put() // the victim's login is verified once, outside the measurements
		for _, attack := range []struct{ name, body string }{{"doubling bomb", patchBomb()}, {"10,000 tests", manyTests()}} {
			// A burst of someone else's work can still fall on one side more than the
			// other: the measurement is taken again, up to three times, before the test
			// fails. An attack that holds the PUTs up does so every time.
			for try := 1; ; try++ {
				var quiet, attacked []time.Duration
				sent := 0
				for range 5 {
					puts(20, &quiet)
					stop, done := make(chan struct{}), make(chan int)
					go func() { done <- attacking(attack.body, stop) }()
					time.Sleep(10 * time.Millisecond) // the first attack is under way
					puts(20, &attacked)
					close(stop)
					sent += <-done
				}
				q, at := tenth(quiet), tenth(attacked)
				t.Logf("%s: a tenth of the victim's PUTs took more than %v alone, and more than %v during %d attacks", attack.name, q, at, sent)
				if at <= q+100*time.Millisecond {
					break
				}
				if try == 3 {
					t.Errorf("%s: a tenth of the victim's PUTs took more than %v during the attacks, %v without", attack.name, at, q)
					break
				}
			}
		}
	})
}

// TestPatchCheckedBeforeTheWrite: a patch is applied to the customer as it is before the
// write begins, so one that cannot apply is refused without waiting for the write it
// would need (on SQLite the one writer of every client), and costs that write nothing.
func TestPatchCheckedBeforeTheWrite(t *testing.T) {
	for _, kind := range heldStores {
		t.Run(kind.name, func(t *testing.T) {
			s, hold := kind.open(t)
			a := newAPI(t, s, httpapi.Config{})
			id := a.create(admin, fullBody())
			path := fmt.Sprintf("/v1/Customers/%d", id)
			etag := a.do(admin, "GET", path, nil).header.Get("ETag")
			release := hold(t, id)
			answered := make(chan struct{})
			go func() {
				defer close(answered)
				for _, c := range []struct {
					body    string
					ifMatch string
					status  int
				}{
					{patchBomb(), "", http.StatusBadRequest},
					{`[{"op":"test","path":"/status","value":"CLOSED"}]`, "", http.StatusConflict},
					{`[{"op":"replace","path":"/no/such/path","value":1}]`, "", http.StatusBadRequest},
					{`[{"op":"replace","path":"/agent_id","value":"seven"}]`, "", http.StatusBadRequest},
					{`[{"op":"replace","path":"/email","value":"x@example.com"}]`, `"1-999"`, http.StatusPreconditionFailed},
				} {
					if r := a.do(admin, "PATCH", path, c.body, header{"If-Match", c.ifMatch}); r.status != c.status {
						t.Errorf("%.60s: status %d, want %d: %s", c.body, r.status, c.status, r.body)
					}
				}
			}()
			select {
			case <-answered:
			case <-time.After(5 * time.Second): // a guard against hanging, not a measurement
				t.Error("patches that cannot apply waited for the write they would need")
			}
			release()
			<-answered
			if got := a.do(admin, "GET", path, nil).header.Get("ETag"); got != etag {
				t.Fatalf("refused patches changed the customer: ETag %s, was %s", got, etag)
			}
			a.do(admin, "PATCH", path, `[{"op":"replace","path":"/email","value":"x@example.com"}]`).want(t, http.StatusOK)
		})
	}
}

// TestPatchAppliesToTheCustomerAsWritten: a patch is checked on the customer as it is when
// the request comes, but applies to the customer as its write finds it: when another
// write came in between, the patch applies again to that one's result, and its test
// operations check that one's values. (The writes are held until both wait, the PUT
// first; whichever order they run in, the result must be that of running them one after
// the other in that order.)
func TestPatchAppliesToTheCustomerAsWritten(t *testing.T) {
	for _, kind := range heldStores {
		t.Run(kind.name, func(t *testing.T) {
			s, hold := kind.open(t)
			a := newAPI(t, s, httpapi.Config{})
			for _, c := range []struct {
				name  string
				patch string
				// after is what the customer must hold when the patch ran after the PUT.
				status int
				after  string
			}{
				{"patch applies to the PUT's result", `[{"op":"test","path":"/status","value":"OPEN"},{"op":"replace","path":"/source","value":"patched"}]`,
					http.StatusOK, `"email":"put@example.com"`},
				{"test checks the PUT's result", `[{"op":"test","path":"/email","value":"ada@example.com"},{"op":"replace","path":"/source","value":"patched"}]`,
					http.StatusConflict, `operation 0 (test /email) failed`},
			} {
				body := fullBody()
				body["account_number"], body["registration_code"], body["email"] = nil, nil, "ada@example.com"
				id := a.create(admin, body)
				path := fmt.Sprintf("/v1/Customers/%d", id)
				body["email"] = "put@example.com"
				release := hold(t, id)
				var put, patch *result
				var wg sync.WaitGroup
				wg.Add(2)
				go func() { defer wg.Done(); put = a.do(admin, "PUT", path, body) }()
				time.Sleep(200 * time.Millisecond) // the PUT waits first
				go func() { defer wg.Done(); patch = a.do(admin, "PATCH", path, c.patch) }()
				time.Sleep(200 * time.Millisecond)
				release()
				wg.Wait()
				put.want(t, http.StatusOK)
				final := a.get(admin, id)
				if patch.status == http.StatusOK && patch.header.Get("ETag") == fmt.Sprintf(`"%d-2"`, id) {
					// The patch ran first, and the PUT replaced its change.
					t.Logf("%s: the patch ran before the PUT", c.name)
					if final["source"] != "crm" {
						t.Errorf("%s: patch then PUT left source %v", c.name, final["source"])
					}
					continue
				}
				patch.want(t, c.status)
				if !strings.Contains(string(patch.body), c.after) {
					t.Errorf("%s: after the PUT the patch answered %s, want it to say %s", c.name, patch.body, c.after)
				}
				wantSource := map[int]string{http.StatusOK: "patched", http.StatusConflict: "crm"}[c.status]
				if final["email"] != "put@example.com" || final["source"] != wantSource {
					t.Errorf("%s: PUT then patch left email %v and source %v", c.name, final["email"], final["source"])
				}
			}
		})
	}
}

// TestEmptyPatch: RFC 6902 allows a patch without operations, and a client sends one when
// it has nothing to change. It changes nothing, not even the version, and answers with
// the customer as it is; its preconditions still hold.
func TestEmptyPatch(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		id := a.create(admin, fullBody())
		path := fmt.Sprintf("/v1/Customers/%d", id)
		before := a.do(admin, "GET", path, nil).want(t, http.StatusOK)
		etag := before.header.Get("ETag")
		for _, body := range []string{"[]", " [ ]\n"} {
			r := a.do(admin, "PATCH", path, body).want(t, http.StatusOK)
			if r.header.Get("ETag") != etag || !bytes.Equal(r.body, before.body) {
				t.Fatalf("PATCH %q: ETag %s (was %s), body\n%s\nGET body\n%s", body, r.header.Get("ETag"), etag, r.body, before.body)
			}
		}
		a.do(admin, "PATCH", path, "[]", header{"If-Match", etag}).want(t, http.StatusOK)
		a.do(admin, "PATCH", path, "[]", header{"If-Match", "*"}).want(t, http.StatusOK)
		a.do(admin, "PATCH", path, "[]", header{"If-Match", fmt.Sprintf(`"%d-7"`, id)}).want(t, http.StatusPreconditionFailed)
		a.do(admin, "PATCH", "/v1/Customers/999999", "[]").want(t, http.StatusNotFound)
		a.do(other, "PATCH", path, "[]").want(t, http.StatusNotFound)
		a.do(clerk, "PATCH", path, "[]").want(t, http.StatusForbidden)
		// With an Idempotency-Key the answer is kept for a retry like any other.
		first := a.do(admin, "PATCH", path, "[]", header{"Idempotency-Key", "empty-1"}).want(t, http.StatusOK)
		again := a.do(admin, "PATCH", path, "[]", header{"Idempotency-Key", "empty-1"}).want(t, http.StatusOK)
		if again.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.body, first.body) {
			t.Fatalf("retry of an empty patch: replayed %q, body %s", again.header.Get("Idempotent-Replayed"), again.body)
		}
		after := a.do(admin, "GET", path, nil).want(t, http.StatusOK)
		if after.header.Get("ETag") != etag || !bytes.Equal(after.body, before.body) {
			t.Fatalf("empty patches changed the customer: ETag %s, was %s\n%s", after.header.Get("ETag"), etag, after.body)
		}
	})
}
