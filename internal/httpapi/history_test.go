package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/custd/custd/client"
	"github.com/custd/custd/internal/httpapi"
)

// changesOf returns a record's changes by field.
func changesOf(t *testing.T, rec map[string]any) map[string][2]any {
	t.Helper()
	out := map[string][2]any{}
	for _, c := range rec["changes"].([]any) {
		c := c.(map[string]any)
		field := c["field"].(string)
		if _, dup := out[field]; dup {
			t.Errorf("field %s listed twice", field)
		}
		out[field] = [2]any{c["from"], c["to"]}
	}
	return out
}

// wantChanges checks that a record lists exactly the given fields, with from and to
// where given (nil: not checked).
func wantChanges(t *testing.T, what string, rec map[string]any, want map[string]*[2]any) {
	t.Helper()
	got := changesOf(t, rec)
	for field, fromTo := range want {
		g, ok := got[field]
		if !ok {
			t.Errorf("%s: %s not listed; changes %v", what, field, got)
			continue
		}
		if fromTo != nil && !reflect.DeepEqual(g, *fromTo) {
			t.Errorf("%s: %s from %#v to %#v, want from %#v to %#v", what, field, g[0], g[1], fromTo[0], fromTo[1])
		}
	}
	for field := range got {
		if _, ok := want[field]; !ok {
			t.Errorf("%s: %s listed but not expected: %v", what, field, got[field])
		}
	}
}

func fromTo(from, to any) *[2]any { return &[2]any{from, to} }

func TestHistory(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		body := obj{"account_number": "H-1", "email": "a@example.com",
			"billing_address": obj{"city": "Springfield", "last_name": "Reyes"},
			"fields":          []any{obj{"field_id": 3, "label": "Tier", "value": "Gold"}}}
		created := a.do(admin, "POST", "/v1/Customers", body,
			header{"Idempotency-Key", "hist-create"}, header{"X-Request-Id", "req-create"}).want(t, http.StatusCreated)
		id := int(created.json(t)["id"].(float64))
		v1 := a.get(admin, id)
		// A replay of the create records nothing.
		a.do(admin, "POST", "/v1/Customers", body, header{"Idempotency-Key", "hist-create"}).want(t, http.StatusCreated)
		path := fmt.Sprintf("/v1/Customers/%d", id)

		// PUT: a new email, no address, no custom fields.
		a.do(admin, "PUT", path, obj{"status": "OPEN", "account_number": "H-1", "email": "b@example.com",
			"activated_date": v1["activated_date"]}, header{"X-Request-Id", "req-put"}).want(t, http.StatusOK)
		// A refused write records nothing.
		a.do(admin, "PUT", path, obj{"status": "NOPE"}).want(t, http.StatusBadRequest)
		a.do(admin, "PATCH", path, []obj{{"op": "replace", "path": "/finance/balance_limit", "value": 100.5},
			{"op": "add", "path": "/fields/-", "value": obj{"field_id": 5, "label": "Region", "value": "West"}}}).want(t, http.StatusOK)
		v3 := a.get(admin, id)
		a.do(admin, "DELETE", path, nil).want(t, http.StatusOK)
		v4 := a.get(admin, id)
		a.do(admin, "DELETE", path, nil).want(t, http.StatusOK) // changes nothing but the version

		h := a.do(clerk, "GET", path+"/History", nil).want(t, http.StatusOK).json(t)
		records := h["records"].([]any)
		if h["record_count"] != 5.0 || h["has_more"] != false || len(records) != 5 {
			t.Fatalf("history: %d records, record_count %v, has_more %v", len(records), h["record_count"], h["has_more"])
		}
		rec := func(version int) map[string]any { return records[5-version].(map[string]any) }
		for v, op := range map[int]string{1: "CREATE", 2: "REPLACE", 3: "PATCH", 4: "CLOSE", 5: "CLOSE"} {
			r := rec(v)
			if r["version"] != float64(v) || r["operation"] != op || r["customer_id"] != float64(id) {
				t.Errorf("record of version %d: %v", v, r)
			}
			by := r["changed_by"].(map[string]any)
			if by["username"] != "admin@acme" || by["user_id"].(float64) < 1 {
				t.Errorf("version %d changed_by %v", v, by)
			}
		}
		if r := rec(1); r["request_id"] != "req-create" || r["idempotency_key"] != "hist-create" || r["changed_date"] != v1["updated_date"] {
			t.Errorf("version 1: request %v, key %v, changed %v (updated_date %v)", r["request_id"], r["idempotency_key"], r["changed_date"], v1["updated_date"])
		}
		if r := rec(2); r["request_id"] != "req-put" || r["idempotency_key"] != nil {
			t.Errorf("version 2: request %v, key %v", r["request_id"], r["idempotency_key"])
		}
		if rec(4)["changed_date"] != v4["updated_date"] {
			t.Errorf("version 4 changed %v, updated_date %v", rec(4)["changed_date"], v4["updated_date"])
		}

		wantChanges(t, "create", rec(1), map[string]*[2]any{
			"account_number": fromTo(nil, "H-1"), "email": fromTo(nil, "a@example.com"),
			"billing_address": fromTo(nil, v1["billing_address"]), "registration_code": fromTo("", v1["registration_code"]),
			"activated_date": fromTo(nil, v1["activated_date"]), "fields[3]": fromTo(nil, obj{"field_id": 3.0, "label": "Tier", "value": "Gold"}),
		})
		wantChanges(t, "replace", rec(2), map[string]*[2]any{
			"email": fromTo("a@example.com", "b@example.com"), "billing_address": fromTo(v1["billing_address"], nil),
			"fields[3]": fromTo(obj{"field_id": 3.0, "label": "Tier", "value": "Gold"}, nil),
		})
		wantChanges(t, "patch", rec(3), map[string]*[2]any{
			"finance.balance_limit": fromTo(nil, 100.5), "fields[5]": fromTo(nil, obj{"field_id": 5.0, "label": "Region", "value": "West"}),
		})
		wantChanges(t, "close", rec(4), map[string]*[2]any{"status": fromTo("OPEN", "CLOSED"), "close_date": fromTo(nil, v4["close_date"])})
		wantChanges(t, "second close", rec(5), map[string]*[2]any{})

		// Oldest first, paged; the search. prefix as everywhere.
		p := a.do(admin, "GET", path+"/History?sort=version&search.page_size=2&page=2", nil).want(t, http.StatusOK).json(t)
		if rs := p["records"].([]any); len(rs) != 2 || rs[0].(map[string]any)["version"] != 3.0 || p["has_more"] != true {
			t.Errorf("oldest first, page 2 of 2: %v", p)
		}
		a.do(admin, "GET", path+"/History?sort=newest", nil).want(t, http.StatusBadRequest)
		a.do(admin, "GET", path+"/History?page_size=0", nil).want(t, http.StatusBadRequest)

		// Time travel: a version reads exactly as the GET after it did.
		for v, want := range map[int]map[string]any{1: v1, 3: v3} {
			r := a.do(clerk, "GET", fmt.Sprintf("%s/History/%d", path, v), nil).want(t, http.StatusOK)
			got := r.json(t)
			if tag := r.header.Get("ETag"); tag != fmt.Sprintf(`"%d-%d"`, id, v) {
				t.Errorf("version %d: ETag %s", v, tag)
			}
			delete(got, "links")
			delete(want, "links")
			if !reflect.DeepEqual(got, want) {
				t.Errorf("version %d:\n got %v\nwant %v", v, got, want)
			}
		}
		a.do(admin, "GET", path+"/History/6", nil).want(t, http.StatusNotFound)
		a.do(admin, "GET", path+"/History/0", nil).want(t, http.StatusBadRequest)
		a.do(admin, "GET", path+"/history/x", nil).want(t, http.StatusBadRequest)

		// Tenancy: another client's customer has no history for this one.
		a.do(other, "GET", path+"/History", nil).want(t, http.StatusNotFound)
		a.do(other, "GET", path+"/History/1", nil).want(t, http.StatusNotFound)
		a.do(admin, "GET", "/v1/Customers/999999/History", nil).want(t, http.StatusNotFound)
		a.do(nobody, "GET", path+"/History", nil).want(t, http.StatusUnauthorized)

		// The generated client reads it too.
		hr, err := a.client(admin).GetCustomerHistoryWithResponse(context.Background(), int32(id),
			&client.GetCustomerHistoryParams{Sort: ptr(client.GetCustomerHistoryParamsSort("version"))})
		if err != nil || hr.JSON200 == nil || len(hr.JSON200.Records) != 5 || hr.JSON200.Records[0].Operation != client.CREATE {
			t.Fatalf("client: %v %s", err, hr.Body)
		}
	})
}

func TestEvents(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		id1 := a.create(admin, obj{"account_number": "E-1"})
		after1 := a.get(admin, id1)
		id2 := a.create(admin, obj{"account_number": "E-2"})
		a.do(admin, "PATCH", fmt.Sprintf("/v1/Customers/%d", id1), []obj{{"op": "replace", "path": "/email", "value": "e@example.com"}}).want(t, http.StatusOK)
		a.do(admin, "DELETE", fmt.Sprintf("/v1/Customers/%d", id2), nil).want(t, http.StatusOK)
		a.create(other, obj{"account_number": "NOT-YOURS"})

		feed := a.do(clerk, "GET", "/v1/Events", nil).want(t, http.StatusOK).json(t)
		records := feed["records"].([]any)
		if len(records) != 4 || feed["record_count"] != 4.0 || feed["has_more"] != false {
			t.Fatalf("feed: %v", feed)
		}
		var ids []float64
		for i, want := range []struct {
			typ     string
			object  int
			version float64
		}{{"CUSTOMER_CREATED", id1, 1}, {"CUSTOMER_CREATED", id2, 1}, {"CUSTOMER_UPDATED", id1, 2}, {"CUSTOMER_CLOSED", id2, 2}} {
			e := records[i].(map[string]any)
			if e["event_type"] != want.typ || e["object_id"] != float64(want.object) || e["version"] != want.version || e["object_type"] != "customer" {
				t.Errorf("event %d: %v", i, e)
			}
			ids = append(ids, e["event_id"].(float64))
			if i > 0 && ids[i] <= ids[i-1] {
				t.Errorf("event ids not increasing: %v", ids)
			}
		}
		if feed["next_after"] != ids[3] {
			t.Errorf("next_after %v, want the last event_id %v", feed["next_after"], ids[3])
		}
		// data: the customer as GET returned it after the write, and what changed.
		first := records[0].(map[string]any)
		data := first["data"].(map[string]any)
		delete(after1, "links")
		delete(after1, "ok")
		if !reflect.DeepEqual(data["customer"], any(after1)) {
			t.Errorf("event data.customer\n got %v\nwant %v", data["customer"], after1)
		}
		if first["created_date"] != after1["updated_date"] {
			t.Errorf("created_date %v, the write's updated_date %v", first["created_date"], after1["updated_date"])
		}
		wantChanges(t, "patch event", records[2].(map[string]any)["data"].(map[string]any), map[string]*[2]any{"email": fromTo(nil, "e@example.com")})

		// Paging with after: each page continues where the last one ended.
		page := a.do(admin, "GET", fmt.Sprintf("/v1/Events?after=%d&page_size=2", int(ids[0])), nil).want(t, http.StatusOK).json(t)
		if rs := page["records"].([]any); len(rs) != 2 || rs[0].(map[string]any)["event_id"] != ids[1] || page["has_more"] != true || page["next_after"] != ids[2] {
			t.Errorf("page after the first: %v", page)
		}
		end := a.do(admin, "GET", fmt.Sprintf("/v1/Events?after=%d", int(ids[3])), nil).want(t, http.StatusOK).json(t)
		if len(end["records"].([]any)) != 0 || end["next_after"] != ids[3] || end["has_more"] != false {
			t.Errorf("after the last: %v", end)
		}
		// Filters, with and without the search. prefix.
		for q, want := range map[string]int{
			fmt.Sprintf("search.object_id=%d", id2):                  2,
			fmt.Sprintf("object_id=%d&object_id=%d", id1, id2):       4,
			"search.event_type=customer_closed":                      1,
			"event_type=CUSTOMER_CREATED&event_type=CUSTOMER_CLOSED": 3,
			"created_date_end=2000-01-01":                            0,
			"created_date_start=2000-01-01":                          4,
		} {
			got := a.do(admin, "GET", "/v1/Events?"+q, nil).want(t, http.StatusOK).json(t)
			if n := len(got["records"].([]any)); n != want {
				t.Errorf("%s: %d events, want %d", q, n, want)
			}
		}
		for _, q := range []string{"after=-1", "after=x", "page_size=0", "event_type=CUSTOMER_DELETED", "object_id=0", "bogus=1", "after=1&search.after=2", "created_date_end=2999"} {
			a.do(admin, "GET", "/v1/Events?"+q, nil).want(t, http.StatusBadRequest)
		}
		// Another client sees only its own.
		o := a.do(other, "GET", "/v1/Events", nil).want(t, http.StatusOK).json(t)
		if rs := o["records"].([]any); len(rs) != 1 || rs[0].(map[string]any)["data"].(map[string]any)["customer"].(map[string]any)["account_number"] != "NOT-YOURS" {
			t.Errorf("the other client's feed: %v", o)
		}
		a.do(nobody, "GET", "/v1/Events", nil).want(t, http.StatusUnauthorized)

		// The generated client.
		er, err := a.client(admin).ListEventsWithResponse(context.Background(), &client.ListEventsParams{After: ptr(client.EventsAfter(int64(ids[1])))})
		if err != nil || er.JSON200 == nil || len(er.JSON200.Records) != 2 || er.JSON200.Records[1].EventType != client.CUSTOMERCLOSED {
			t.Fatalf("client: %v %s", err, er.Body)
		}
	})
}

// TestHistoryRevioTimes: history and events write date-times in the server's form.
func TestHistoryRevioTimes(t *testing.T) {
	a := newAPI(t, storeKinds[0].open(t), httpapi.Config{TimeFormat: httpapi.TimeRevio})
	id := a.create(admin, obj{})
	h := a.do(admin, "GET", fmt.Sprintf("/v1/Customers/%d/History", id), nil).want(t, http.StatusOK).json(t)
	rec := h["records"].([]any)[0].(map[string]any)
	var c map[string]any
	b := a.do(admin, "GET", fmt.Sprintf("/v1/Customers/%d", id), nil).want(t, http.StatusOK).body
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if rec["changed_date"] != c["updated_date"] || changesOf(t, rec)["activated_date"][1] != c["activated_date"] {
		t.Fatalf("history times %v / %v, customer's %v / %v", rec["changed_date"], changesOf(t, rec)["activated_date"], c["updated_date"], c["activated_date"])
	}
	a.do(admin, "GET", "/v1/Events", nil).want(t, http.StatusOK)
}

// TestEventBody: EventBody renders an event byte for byte as GET /v1/Events gives it, in
// either form of date-times.
func TestEventBody(t *testing.T) {
	for _, tf := range []httpapi.TimeFormat{httpapi.TimeRFC3339, httpapi.TimeRevio} {
		t.Run(string(tf), func(t *testing.T) {
			a := newAPI(t, storeKinds[0].open(t), httpapi.Config{TimeFormat: tf})
			id := a.create(admin, obj{"account_number": "B-1"})
			a.do(admin, "PATCH", fmt.Sprintf("/v1/Customers/%d", id), []obj{{"op": "replace", "path": "/email", "value": "b@example.com"}}).want(t, http.StatusOK)
			var feed struct{ Records []json.RawMessage }
			if err := json.Unmarshal(a.do(admin, "GET", "/v1/Events", nil).want(t, http.StatusOK).body, &feed); err != nil {
				t.Fatal(err)
			}
			evs, err := a.store.FeedAfter(context.Background(), 0, 10)
			if err != nil || len(evs) != 2 || len(feed.Records) != 2 {
				t.Fatalf("%d events, %d records, %v", len(evs), len(feed.Records), err)
			}
			render := httpapi.EventBody(tf)
			for i, e := range evs {
				b, err := render(e.Event)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != string(feed.Records[i]) {
					t.Errorf("event %d rendered\n%s\nGET /v1/Events gave\n%s", e.Event.EventID, b, feed.Records[i])
				}
			}
		})
	}
}
