package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/custd/custd/client"
)

func TestPatch(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		id := a.create(admin, fullBody())
		path := fmt.Sprintf("/v1/Customers/%d", id)
		before := a.get(admin, id)

		// All six operations, with and without the leading slash, applied in order, sent
		// through the generated client.
		pr, err := a.client(admin).PatchCustomerWithApplicationJSONPatchPlusJSONBodyWithResponse(context.Background(), int32(id), nil, client.JSONPatch{
			{Op: client.Test, Path: "account_number", Value: "ACC-0001"},
			{Op: client.Replace, Path: "fields/0/value", Value: "South"},
			{Op: client.Add, Path: "/fields/-", Value: obj{"field_id": 9, "label": "New", "value": "v"}},
			{Op: client.Remove, Path: "/security_pin"},
			{Op: client.Copy, From: ptr("/billing_address"), Path: "/listing_address"},
			{Op: client.Move, From: ptr("/source"), Path: "/tax_note_tmp"},
			{Op: client.Move, From: ptr("/tax_note_tmp"), Path: "/source"},
			{Op: client.Replace, Path: "/finance/balance_limit", Value: json.Number("0.0001")},
		})
		if err != nil || pr.JSON200 == nil {
			t.Fatalf("patch: %v %d %s", err, pr.StatusCode(), pr.Body)
		}
		p := pr.JSON200
		if p.Fields[0].Value != "South" || len(p.Fields) != 3 || p.SecurityPin != nil || p.ListingAddress.CompanyName != "Analytical Engines" ||
			*p.Source != "crm" || *p.Finance.BalanceLimit != "0.0001" || !bool(p.Ok) {
			t.Fatalf("after patch: %s", pr.Body)
		}
		if pr.HTTPResponse.Header.Get("ETag") == "" {
			t.Fatal("PATCH without ETag")
		}
		got := (&result{body: pr.Body}).json(t)
		if got["listing_address"].(map[string]any)["address_id"] == before["billing_address"].(map[string]any)["address_id"] {
			t.Fatal("a copied address must get its own address_id")
		}
		after := a.get(admin, id)

		// A failed test is 409 and, like every failed patch, changes nothing: the operations
		// before it are not kept either.
		failed, err := a.client(admin).PatchCustomerWithApplicationJSONPatchPlusJSONBodyWithResponse(context.Background(), int32(id), nil, client.JSONPatch{
			{Op: client.Replace, Path: "/email", Value: "changed@example.com"},
			{Op: client.Test, Path: "/status", Value: "CLOSED"},
		})
		if err != nil || failed.JSON409 == nil || failed.JSON409.Ok {
			t.Fatalf("failed test: %v %d %s", err, failed.StatusCode(), failed.Body)
		}
		for _, bad := range []struct {
			ops    any
			status int
			field  string
		}{
			{[]obj{{"op": "replace", "path": "/email", "value": "ok@example.com"}, {"op": "replace", "path": "/customer_id", "value": 5}}, 400, "customer_id"},
			{[]obj{{"op": "remove", "path": "/finance/balance"}}, 400, "finance.balance"},
			{[]obj{{"op": "replace", "path": "/billing_address/address_id", "value": 1}}, 400, "billing_address.address_id"},
			{[]obj{{"op": "move", "from": "/created_date", "path": "/source"}}, 400, "created_date"},
			{[]obj{{"op": "replace", "path": "/agent_id", "value": "seven"}}, 400, "agent_id"},
			{[]obj{{"op": "add", "path": "/nickname", "value": "x"}}, 400, "nickname"},
			{[]obj{{"op": "remove", "path": "/status"}}, 400, "status"},
			{[]obj{{"op": "replace", "path": "/no/such/path", "value": 1}}, 400, ""},
			{[]obj{{"op": "jump", "path": "/email"}}, 400, "[0].op"},
			{[]obj{{"op": "replace", "path": "/email"}}, 400, "[0].value"},
			{obj{"op": "replace"}, 400, ""},
		} {
			r := a.do(admin, "PATCH", path, bad.ops)
			if r.status != bad.status {
				t.Fatalf("patch %v: status %d, want %d: %s", bad.ops, r.status, bad.status, r.body)
			}
			if _, named := r.fieldErrors(t)[bad.field]; bad.field != "" && !named {
				t.Fatalf("patch %v: error does not name %s: %s", bad.ops, bad.field, r.body)
			}
		}
		// Reading a read-only member is fine.
		a.do(admin, "PATCH", path, []obj{{"op": "test", "path": "/customer_id", "value": id}}).want(t, http.StatusOK)
		a.do(admin, "PATCH", path, []obj{{"op": "replace", "path": "/email", "value": "x@example.com"}},
			header{"Content-Type", "application/json"}).want(t, http.StatusUnsupportedMediaType)
		now := a.get(admin, id)
		delete(now, "updated_date")
		delete(after, "updated_date")
		if fmt.Sprint(now) != fmt.Sprint(after) {
			t.Fatalf("failed patches changed the customer:\n%v\n%v", now, after)
		}
		a.do(admin, "PATCH", "/v1/Customers/999999", []obj{{"op": "remove", "path": "/email"}}).want(t, http.StatusNotFound)
	})
}

// TestDeleteCloses goes through the client generated from the OpenAPI document.
func TestDeleteCloses(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		ctx := context.Background()
		c := a.client(admin)
		id := a.create(admin, fullBody())
		r, err := c.CloseCustomerWithResponse(ctx, int32(id), nil)
		if err != nil || r.JSON200 == nil {
			t.Fatalf("DELETE: %v %d %s", err, r.StatusCode(), r.Body)
		}
		closed := r.JSON200
		if closed.Status != client.StatusCLOSED || closed.CloseDate == nil || *closed.AccountNumber != "ACC-0001" || !bool(closed.Ok) ||
			r.HTTPResponse.Header.Get("ETag") == "" {
			t.Fatalf("DELETE: %s", r.Body)
		}
		// The account is kept and found.
		g, err := c.GetCustomerWithResponse(ctx, int32(id), nil)
		if err != nil || g.JSON200 == nil || g.JSON200.Status != client.StatusCLOSED || !g.JSON200.CloseDate.Equal(*closed.CloseDate) {
			t.Fatalf("after DELETE: %v %s", err, g.Body)
		}
		found, err := c.SearchCustomersWithResponse(ctx, &client.SearchCustomersParams{Status: &client.SearchStatus{"CLOSED"}})
		if err != nil || found.JSON200 == nil || found.JSON200.RecordCount != 1 || found.JSON200.Records[0].CustomerId != int32(id) {
			t.Fatalf("closed customers found: %v %s", err, found.Body)
		}
		// Closing again keeps the first close date.
		again, err := c.CloseCustomerWithResponse(ctx, int32(id), nil)
		if err != nil || again.JSON200 == nil || !again.JSON200.CloseDate.Equal(*closed.CloseDate) {
			t.Fatalf("second close: %v %s (first close date %v)", err, again.Body, closed.CloseDate)
		}
		missing, err := c.CloseCustomerWithResponse(ctx, 999999, nil)
		if err != nil || missing.JSON404 == nil {
			t.Fatalf("DELETE of a missing customer: %v %d %s", err, missing.StatusCode(), missing.Body)
		}
	})
}

func TestConditionalRequests(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		id := a.create(admin, obj{})
		path := fmt.Sprintf("/v1/Customers/%d", id)
		etag := a.do(admin, "GET", path, nil).header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) {
			t.Fatalf("ETag %q is not a strong tag", etag)
		}
		r := a.do(admin, "GET", path, nil, header{"If-None-Match", etag}).want(t, http.StatusNotModified)
		if len(r.body) != 0 || r.header.Get("ETag") != etag {
			t.Fatalf("304: etag %q body %q", r.header.Get("ETag"), r.body)
		}
		a.do(admin, "GET", path, nil, header{"If-None-Match", `"other"`}).want(t, http.StatusOK)
		a.do(admin, "GET", path, nil, header{"If-None-Match", "*"}).want(t, http.StatusNotModified)

		// A write with the current tag succeeds and changes the tag; the old tag is then stale.
		r = a.do(admin, "PUT", path, obj{"status": "PENDING"}, header{"If-Match", etag}).want(t, http.StatusOK)
		fresh := r.header.Get("ETag")
		if fresh == etag {
			t.Fatal("ETag did not change with the write")
		}
		for _, m := range []string{"PUT", "PATCH", "DELETE"} {
			var body any = obj{"status": "CLOSED"}
			if m == "PATCH" {
				body = []obj{{"op": "replace", "path": "/status", "value": "CLOSED"}}
			} else if m == "DELETE" {
				body = nil
			}
			a.do(admin, m, path, body, header{"If-Match", etag}).want(t, http.StatusPreconditionFailed)
			a.do(admin, m, path, body, header{"If-Match", "W/" + fresh}).want(t, http.StatusPreconditionFailed)
		}
		stale, err := a.client(admin).ReplaceCustomerWithResponse(context.Background(), int32(id),
			&client.ReplaceCustomerParams{IfMatch: ptr(etag)}, client.CustomerReplace{Status: client.StatusCLOSED})
		if err != nil || stale.JSON412 == nil || !strings.Contains(stale.JSON412.Message, fresh) {
			t.Fatalf("stale If-Match through the client: %v %d %s", err, stale.StatusCode(), stale.Body)
		}
		if got := a.get(admin, id)["status"]; got != "PENDING" {
			t.Fatalf("failed preconditions changed status to %v", got)
		}
		a.do(admin, "PATCH", path, []obj{{"op": "replace", "path": "/status", "value": "PROSPECT"}},
			header{"If-Match", etag + ", " + fresh}).want(t, http.StatusOK)
		a.do(admin, "DELETE", path, nil, header{"If-Match", "*"}).want(t, http.StatusOK)
		a.do(admin, "PUT", "/v1/Customers/999999", obj{"status": "OPEN"}, header{"If-Match", "*"}).want(t, http.StatusNotFound)
	})
}

// TestConcurrentIfMatch runs 8 writers doing read-modify-write loops with If-Match on one
// customer: no increment is lost.
func TestConcurrentIfMatch(t *testing.T) {
	const writers, increments = 8, 10
	eachStore(t, func(t *testing.T, a *api) {
		id := a.create(admin, obj{"fields": []obj{{"field_id": 1, "label": "counter", "value": "0"}}})
		path := fmt.Sprintf("/v1/Customers/%d", id)
		var wg sync.WaitGroup
		conflicts := make(chan int, writers)
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lost := 0
				for done := 0; done < increments; {
					g := a.do(admin, "GET", path, nil)
					var c map[string]any
					json.Unmarshal(g.body, &c)
					field := c["fields"].([]any)[0].(map[string]any)
					n, _ := strconv.Atoi(field["value"].(string))
					field["value"] = strconv.Itoa(n + 1)
					switch r := a.do(admin, "PUT", path, c, header{"If-Match", g.header.Get("ETag")}); r.status {
					case http.StatusOK:
						done++
					case http.StatusPreconditionFailed:
						lost++
					default:
						t.Errorf("PUT: %d %s", r.status, r.body)
						return
					}
				}
				conflicts <- lost
			}()
		}
		wg.Wait()
		close(conflicts)
		total := 0
		for n := range conflicts {
			total += n
		}
		got := a.get(admin, id)["fields"].([]any)[0].(map[string]any)["value"]
		if got != strconv.Itoa(writers*increments) {
			t.Fatalf("counter is %v after %d increments (%d writes were refused as stale)", got, writers*increments, total)
		}
		t.Logf("%d increments, %d stale writes refused with 412", writers*increments, total)
	})
}

func TestIdempotencyKey(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		key := header{"Idempotency-Key", "order-2024-0001"}
		first := a.do(admin, "POST", "/v1/Customers", obj{"account_number": "IDEM-1"}, key).want(t, http.StatusCreated)
		if first.header.Get("Idempotent-Replayed") != "" {
			t.Fatal("first response marked as replayed")
		}
		again := a.do(admin, "POST", "/v1/Customers", obj{"account_number": "IDEM-1"}, key).want(t, http.StatusCreated)
		if again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) ||
			again.header.Get("Location") != first.header.Get("Location") || again.header.Get("ETag") != first.header.Get("ETag") {
			t.Fatalf("retry: %v %s, first %s", again.header, again.body, first.body)
		}
		if n := a.do(admin, "GET", "/v1/Customers?account_number=IDEM-1", nil).json(t)["record_count"]; n != 1.0 {
			t.Fatalf("%v customers after a retried create", n)
		}
		// Another body, or another path, with the same key is refused.
		a.do(admin, "POST", "/v1/Customers", obj{"account_number": "IDEM-2"}, key).want(t, http.StatusUnprocessableEntity)
		id := int(first.json(t)["id"].(float64))
		a.do(admin, "PUT", fmt.Sprintf("/v1/Customers/%d", id), obj{"status": "OPEN"}, key).want(t, http.StatusUnprocessableEntity)
		// Keys belong to their user: another user's same key is a new request.
		a.do(other, "POST", "/v1/Customers", obj{"account_number": "IDEM-1"}, key).want(t, http.StatusCreated)

		// An error response is kept and replayed too.
		k2 := header{"Idempotency-Key", "bad-1"}
		a.do(admin, "POST", "/v1/Customers", obj{"account_number": "IDEM-1"}, k2).want(t, http.StatusConflict)
		r := a.do(admin, "POST", "/v1/Customers", obj{"account_number": "IDEM-1"}, k2).want(t, http.StatusConflict)
		if r.header.Get("Idempotent-Replayed") != "true" {
			t.Fatal("error response not replayed")
		}
		// PUT, PATCH and DELETE replay as well.
		path := fmt.Sprintf("/v1/Customers/%d", id)
		for i, req := range []struct {
			method string
			body   any
		}{{"PUT", obj{"status": "PENDING"}}, {"PATCH", []obj{{"op": "replace", "path": "/status", "value": "PROSPECT"}}}, {"DELETE", nil}} {
			k := header{"Idempotency-Key", "write-" + strconv.Itoa(i)}
			r1 := a.do(admin, req.method, path, req.body, k).want(t, http.StatusOK)
			r2 := a.do(admin, req.method, path, req.body, k).want(t, http.StatusOK)
			if string(r1.body) != string(r2.body) || r2.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("%s retry differs: %s / %s", req.method, r1.body, r2.body)
			}
		}
		if v := a.get(admin, id)["status"]; v != "CLOSED" {
			t.Fatalf("status %v after PUT, PATCH, DELETE", v)
		}
		for _, bad := range []string{strings.Repeat("k", 256), "tab\there", "ключ"} {
			a.do(admin, "POST", "/v1/Customers", obj{}, header{"Idempotency-Key", bad}).want(t, http.StatusBadRequest)
		}
	})
}

// TestConcurrentIdempotentCreates sends identical POSTs with one key at the same moment:
// exactly one customer is created; every other answer is the replay or a 409.
func TestConcurrentIdempotentCreates(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		for round := range 5 {
			key := header{"Idempotency-Key", fmt.Sprintf("same-moment-%d", round)}
			// No unique field in the body: only the key can keep the second create out.
			email := fmt.Sprintf("race%d@example.com", round)
			var wg sync.WaitGroup
			start := make(chan struct{})
			statuses := make(chan int, 2)
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					statuses <- a.do(admin, "POST", "/v1/Customers", obj{"email": email}, key).status
				}()
			}
			close(start)
			wg.Wait()
			close(statuses)
			created := 0
			for s := range statuses {
				switch s {
				case http.StatusCreated:
					created++
				case http.StatusConflict:
				default:
					t.Fatalf("status %d", s)
				}
			}
			if n := a.do(admin, "GET", "/v1/Customers?email="+email, nil).json(t)["record_count"]; n != 1.0 || created < 1 {
				t.Fatalf("round %d: %v customers created, %d answers 201", round, n, created)
			}
		}
	})
}
