package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custd/custd/client"
	"github.com/custd/custd/internal/httpapi"
)

// fullBody is a POST body with every writable field set.
func fullBody() obj {
	return obj{
		"billing_address": obj{"first_name": "Ada", "last_name": "Lovelace", "middle_initial": "K", "company_name": "Analytical Engines",
			"line_1": "1 Byron St", "line_2": "Floor 2", "city": "London", "state_or_province": "LDN", "postal_code": "01234",
			"postal_code_extension": "9", "country_code": 44},
		"service_address":    obj{"line_1": "2 Service Rd", "city": "Leeds"},
		"listing_address":    nil,
		"account_number":     "ACC-0001",
		"activated_date":     "2024-06-10T09:31:44.903Z",
		"agent_id":           7,
		"secondary_agent_id": 8,
		"email":              "ada@example.com, billing@example.com",
		"is_parent":          true,
		"registration_code":  "REG-1",
		"security_pin":       "4321",
		"sold_by":            3,
		"source":             "crm",
		"status":             "open",
		"auto_debit":         obj{"enabled": true, "day": 15, "payment_account_id": 99},
		"finance": obj{"balance_limit": json.Number("123456789012.3456"), "balance_limit_enabled": true, "bill_profile_id": 2,
			"billing_method": "BOTH", "collection_template_id": 4, "contract_start_date": "2024-01-01T00:00:00Z",
			"contract_end_date": "2025-01-01", "cycle_date": "2024-06-01 00:00:00+00:00", "late_fees_enabled": true,
			"payment_terms_days": 30, "payment_fees_enabled": true, "tax_exempt_enabled": true, "tax_exempt_types": "STATE",
			"usage_file_enabled": true, "usage_file_format": "CSV"},
		"profile":                     obj{"class": "business", "date_of_birth": "1980-05-31", "language": "English", "tax_id": "12-3456789"},
		"fields":                      []obj{{"field_id": 5, "label": "Region", "value": "North"}, {"field_id": 2, "label": "Tier", "value": "Gold"}},
		"suspended":                   true,
		"suspended_date":              nil,
		"culture":                     "en-GB",
		"close_on_no_active_services": true,
	}
}

var wireTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestCreateAndGet(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		r := a.do(admin, "POST", "/v1/Customers", fullBody()).want(t, http.StatusCreated)
		id := int(r.json(t)["id"].(float64))
		if loc := r.header.Get("Location"); loc != fmt.Sprintf("/v1/Customers/%d", id) {
			t.Fatalf("Location %q", loc)
		}
		g := a.do(admin, "GET", fmt.Sprintf("/v1/Customers/%d", id), nil).want(t, http.StatusOK)
		if g.header.Get("ETag") == "" || g.header.Get("ETag") != r.header.Get("ETag") {
			t.Fatalf("ETag of GET %q, of POST %q", g.header.Get("ETag"), r.header.Get("ETag"))
		}
		// The exact body, compared member by member with what was sent; numbers as text so
		// that money is compared exactly.
		var c map[string]any
		dec := json.NewDecoder(strings.NewReader(string(g.body)))
		dec.UseNumber()
		if err := dec.Decode(&c); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"created_date", "updated_date", "suspended_date"} {
			if !wireTime.MatchString(c[k].(string)) {
				t.Errorf("%s = %v, want RFC 3339 UTC with milliseconds", k, c[k])
			}
		}
		links := c["links"].([]any)[0].(map[string]any)
		if links["rel"] != "self" || links["href"] != fmt.Sprintf("%s/v1/Customers/%d", a.url, id) || c["ok"] != true {
			t.Errorf("ok %v links %v", c["ok"], links)
		}
		want := map[string]any{
			"customer_id": json.Number(fmt.Sprint(id)), "account_number": "ACC-0001", "activated_date": "2024-06-10T09:31:44.903Z",
			"agent_id": json.Number("7"), "secondary_agent_id": json.Number("8"), "email": "ada@example.com, billing@example.com",
			"is_parent": true, "registration_code": "REG-1", "security_pin": "4321", "sold_by": json.Number("3"), "source": "crm",
			"status": "OPEN", "suspended": true, "culture": "en-GB", "close_on_no_active_services": true, "close_date": nil,
			"parent_customer_id": nil, "listing_address": nil,
			"auto_debit": map[string]any{"enabled": true, "day": json.Number("15"), "payment_account_id": json.Number("99")},
			"profile":    map[string]any{"class": "BUSINESS", "date_of_birth": "1980-05-31", "language": "English", "tax_id": "12-3456789"},
			"fields": []any{map[string]any{"field_id": json.Number("5"), "label": "Region", "value": "North"},
				map[string]any{"field_id": json.Number("2"), "label": "Tier", "value": "Gold"}},
		}
		for k, v := range want {
			if !reflect.DeepEqual(c[k], v) {
				t.Errorf("%s = %#v, want %#v", k, c[k], v)
			}
		}
		fin := c["finance"].(map[string]any)
		for k, v := range map[string]any{"balance_limit": json.Number("123456789012.3456"), "amount_due": json.Number("0"),
			"balance": json.Number("0"), "due_date": nil, "billing_method": "BOTH", "contract_end_date": "2025-01-01T00:00:00.000Z",
			"cycle_date": "2024-06-01T00:00:00.000Z", "payment_terms_days": json.Number("30"), "late_fees_enabled": true} {
			if !reflect.DeepEqual(fin[k], v) {
				t.Errorf("finance.%s = %#v, want %#v", k, fin[k], v)
			}
		}
		billing := c["billing_address"].(map[string]any)
		if billing["customer_id"] != json.Number(fmt.Sprint(id)) || billing["postal_code"] != "01234" || billing["address_id"] == json.Number("0") {
			t.Errorf("billing_address %v", billing)
		}
		service := c["service_address"].(map[string]any)
		if service["first_name"] != "" || service["country_code"] != json.Number("0") {
			t.Errorf("absent address members must be \"\" and 0: %v", service)
		}

		// A minimal POST gets the defaults.
		id2 := a.create(admin, obj{})
		d := a.get(admin, id2)
		if d["status"] != "OPEN" || d["activated_date"] == nil || len(d["registration_code"].(string)) != 12 || d["is_parent"] != false ||
			d["billing_address"] != nil || len(d["fields"].([]any)) != 0 || d["finance"].(map[string]any)["late_fees_enabled"] != false {
			t.Errorf("defaults: %v", d)
		}
	})
}

func TestValidationListsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		body string
		want map[string]string // field -> part of the message
	}{
		{"types", `{"agent_id":"7","sold_by":1.5,"parent_customer_id":3000000000,"is_parent":"yes","email":5,
			"billing_address":{"postal_code":12345},"activated_date":"yesterday","fields":{"a":1}}`, map[string]string{
			"agent_id": "whole number", "sold_by": "whole number", "parent_customer_id": "whole number", "is_parent": "true or false",
			"email": "string", "billing_address.postal_code": "string", "activated_date": "date-time", "fields": "array"}},
		{"limits", `{"account_number":"` + strings.Repeat("x", 26) + `","security_pin":"` + strings.Repeat("p", 51) + `",
			"source":"` + strings.Repeat("s", 51) + `","registration_code":"` + strings.Repeat("r", 21) + `",
			"billing_address":{"middle_initial":"ABCDEF","postal_code":"` + strings.Repeat("9", 21) + `","country_code":-1},
			"culture":"not a tag!","email":"a@b.com, nope"}`, map[string]string{
			"account_number": "at most 25 characters (got 26)", "security_pin": "at most 50", "source": "at most 50",
			"registration_code": "at most 20", "billing_address.middle_initial": "at most 5", "billing_address.postal_code": "at most 20",
			"billing_address.country_code": "at least 0", "culture": "BCP 47", "email": `"nope"`}},
		{"rules", `{"secondary_agent_id":3,"status":"ALL","auto_debit":{"enabled":true},
			"finance":{"billing_method":"EMAIL_ONLY","balance_limit":-1,"payment_terms_days":366,
			"contract_start_date":"2024-02-01","contract_end_date":"2024-01-01"},
			"profile":{"class":"alien","date_of_birth":"2999-01-01"},
			"fields":[{"field_id":1,"value":"a"},{"field_id":1,"label":"` + strings.Repeat("l", 101) + `"},{"label":"no id"}]}`, map[string]string{
			"secondary_agent_id": "agent_id", "status": "ALL is only a search value", "auto_debit.day": "required",
			"auto_debit.payment_account_id": "required", "finance.billing_method": "email", "finance.balance_limit": "at least 0",
			"finance.payment_terms_days": "0 to 365", "finance.contract_end_date": "before", "profile.class": "BUSINESS",
			"profile.date_of_birth": "future", "fields[1].field_id": "unique", "fields[1].label": "at most 100",
			"fields[2].field_id": "required"}},
		{"money", `{"finance":{"balance_limit":1.23456}}`, map[string]string{"finance.balance_limit": "4 decimal places"}},
		{"money range", `{"finance":{"balance_limit":1e12}}`, map[string]string{"finance.balance_limit": "below 1000000000000"}},
		{"money type", `{"finance":{"balance_limit":"10"}}`, map[string]string{"finance.balance_limit": "number"}},
		{"unknown members", `{"stauts":"OPEN","billing_address":{"zip":"1"},"finance":{"limit":1}}`, map[string]string{
			"stauts": "not a member", "billing_address.zip": "not a member", "finance.limit": "not a member"}},
		{"status", `{"status":"ACTIVE"}`, map[string]string{"status": "OPEN, PENDING, PROSPECT or CLOSED"}},
		{"encoding", "{\"source\":\"caf\xe9\",\"email\":\"a\\u0000@b.com\"}", map[string]string{"source": "UTF-8", "email": "NUL"}},
		{"nested types", `{"auto_debit":[],"profile":"x","finance":{"cycle_date":20240101}}`, map[string]string{
			"auto_debit": "object", "profile": "object", "finance.cycle_date": "date-time"}},
	}
	eachStore(t, func(t *testing.T, a *api) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := a.do(admin, "POST", "/v1/Customers", tc.body).want(t, http.StatusBadRequest)
				got := r.fieldErrors(t)
				for field, part := range tc.want {
					if !strings.Contains(got[field], part) {
						t.Errorf("field %s: got %q, want it to mention %q", field, got[field], part)
					}
				}
				if len(got) != len(tc.want) {
					t.Errorf("got %d field errors, want %d: %v", len(got), len(tc.want), got)
				}
			})
		}
		// Nothing was created by any of them.
		page := a.do(admin, "GET", "/v1/Customers", nil).want(t, http.StatusOK).json(t)
		if page["record_count"] != 0.0 {
			t.Fatalf("rejected writes created %v customers", page["record_count"])
		}
	})
}

func TestBodyProblems(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		for _, tc := range []struct {
			body, ct string
			status   int
		}{
			{`{"status":`, "application/json", 400},
			{`[1,2]`, "application/json", 400},
			{`null`, "application/json", 400},
			{``, "application/json", 400},
			{`{}`, "text/plain", 415},
			{`{}`, "", 415},
			{`{}`, "application/json-patch+json", 415},
			{`{}`, "text/json; charset=utf-8", 201},
			{`{}`, "Application/JSON; charset=UTF-8", 201},
			{`{"source":"` + strings.Repeat("x", 1<<20) + `"}`, "application/json", 413},
		} {
			r := a.do(admin, "POST", "/v1/Customers", tc.body, header{"Content-Type", tc.ct})
			if r.status != tc.status {
				t.Errorf("body %.30q content type %q: status %d, want %d (%s)", tc.body, tc.ct, r.status, tc.status, r.body)
			}
		}
	})
}

// TestReplace goes through the client generated from the OpenAPI document: a GET body is
// sent back as a typed PUT body.
func TestReplace(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		ctx := context.Background()
		c := a.client(admin)
		id := a.create(admin, fullBody())
		got, err := c.GetCustomerWithResponse(ctx, int32(id), nil)
		if err != nil || got.JSON200 == nil {
			t.Fatalf("GET: %v %s", err, got.Body)
		}
		before := got.JSON200

		// A GET body sent back with changes replaces the customer; read-only members,
		// ok and links are ignored.
		var body client.CustomerReplace
		if err := json.Unmarshal(got.Body, &body); err != nil {
			t.Fatal(err)
		}
		body.Email = ptr("new@example.com")
		body.CreatedBy = 999
		body.UpdatedDate = "2000-01-01T00:00:00Z"
		body.BillingAddress.City = ptr("Paris")
		body.Finance.Balance = 5
		time.Sleep(2 * time.Millisecond)
		r, err := c.ReplaceCustomerWithResponse(ctx, int32(id), nil, body)
		if err != nil || r.JSON200 == nil {
			t.Fatalf("PUT: %v %d %s", err, r.StatusCode(), r.Body)
		}
		after := r.JSON200
		if *after.Email != "new@example.com" || after.CreatedBy != before.CreatedBy || after.Finance.Balance != "0" ||
			after.BillingAddress.City != "Paris" || after.BillingAddress.AddressId != before.BillingAddress.AddressId ||
			!after.UpdatedDate.After(before.UpdatedDate) || !bool(after.Ok) {
			t.Fatalf("after PUT: %s", r.Body)
		}
		etag := r.HTTPResponse.Header.Get("ETag")
		if etag == "" || etag == got.HTTPResponse.Header.Get("ETag") || etag != a.do(admin, "GET", fmt.Sprintf("/v1/Customers/%d", id), nil).header.Get("ETag") {
			t.Fatalf("ETag of PUT %q, of the GET before it %q", etag, got.HTTPResponse.Header.Get("ETag"))
		}
		if !reflect.DeepEqual(a.get(admin, id), (&result{body: r.Body}).json(t)) {
			t.Fatal("GET after PUT differs from the PUT response")
		}

		// Omitted members take their defaults, except the registration code, which is kept.
		r, err = c.ReplaceCustomerWithResponse(ctx, int32(id), nil, client.CustomerReplace{Status: client.StatusPENDING})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("PUT: %v %s", err, r.Body)
		}
		if d := r.JSON200; d.RegistrationCode != "REG-1" || d.Email != nil || d.BillingAddress != nil || d.IsParent ||
			d.Finance.BalanceLimit != nil || len(d.Fields) != 0 || d.SuspendedDate != nil || d.Status != client.StatusPENDING {
			t.Fatalf("PUT with defaults: %s", r.Body)
		}

		// status is required; customer_id must match the path.
		r, err = c.ReplaceCustomerWithBodyWithResponse(ctx, int32(id), nil, "application/json", strings.NewReader(`{"email":"x@y.com"}`))
		if err != nil || r.JSON400 == nil || r.JSON400.Errors == nil || !strings.Contains(fieldError(*r.JSON400.Errors, "status"), "required") {
			t.Fatalf("missing status: %v %s", err, r.Body)
		}
		for _, cid := range []any{id, nil} {
			r, err = c.ReplaceCustomerWithResponse(ctx, int32(id), nil, client.CustomerReplace{Status: client.StatusOPEN, CustomerId: cid})
			if err != nil || r.JSON200 == nil {
				t.Fatalf("customer_id %v: %v %s", cid, err, r.Body)
			}
		}
		r, err = c.ReplaceCustomerWithResponse(ctx, int32(id), nil, client.CustomerReplace{Status: client.StatusOPEN, CustomerId: id + 1})
		if err != nil || r.JSON400 == nil || r.JSON400.Errors == nil || fieldError(*r.JSON400.Errors, "customer_id") == "" {
			t.Fatalf("mismatched customer_id: %v %s", err, r.Body)
		}
		// PUT never creates.
		r, err = c.ReplaceCustomerWithResponse(ctx, 999999, nil, client.CustomerReplace{Status: client.StatusOPEN})
		if err != nil || r.JSON404 == nil || r.JSON404.Ok {
			t.Fatalf("PUT of a missing customer: %v %d %s", err, r.StatusCode(), r.Body)
		}
		a.do(admin, "PUT", "/v1/Customers/abc", obj{"status": "OPEN"}).want(t, http.StatusBadRequest)
	})
}

// fieldError returns the message of the error naming field, or "".
func fieldError(errs []client.FieldError, field string) string {
	for _, e := range errs {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

func TestTenantsAndRoles(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		id := a.create(admin, obj{"account_number": "A-1"})
		path := fmt.Sprintf("/v1/Customers/%d", id)
		// Another client's customer does not exist for the caller, in any operation.
		for _, m := range []string{"GET", "PUT", "PATCH", "DELETE"} {
			var body any
			switch m {
			case "PUT":
				body = obj{"status": "OPEN"}
			case "PATCH":
				body = []obj{{"op": "replace", "path": "/email", "value": "x@y.com"}}
			}
			a.do(other, m, path, body).want(t, http.StatusNotFound)
		}
		if n := a.do(other, "GET", "/v1/Customers?account_number=A-1", nil).json(t)["record_count"]; n != 0.0 {
			t.Fatalf("other client found %v customers", n)
		}
		// The other client may use the same account number.
		a.create(other, obj{"account_number": "A-1"})

		// A readonly user reads but does not write.
		a.do(clerk, "GET", path, nil).want(t, http.StatusOK)
		a.do(clerk, "GET", "/v1/Customers", nil).want(t, http.StatusOK)
		a.do(clerk, "POST", "/v1/Customers", obj{}).want(t, http.StatusForbidden)
		a.do(clerk, "PUT", path, obj{"status": "OPEN"}).want(t, http.StatusForbidden)
		a.do(clerk, "PATCH", path, []obj{{"op": "remove", "path": "/email"}}).want(t, http.StatusForbidden)
		a.do(clerk, "DELETE", path, nil).want(t, http.StatusForbidden)
		if a.get(admin, id)["status"] != "OPEN" {
			t.Fatal("a forbidden write changed the customer")
		}
	})
}

func TestConflictsAndParents(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		parent := a.create(admin, obj{"is_parent": true})
		plain := a.create(admin, obj{"account_number": "TAKEN", "registration_code": "CODE"})
		a.do(admin, "POST", "/v1/Customers", obj{"account_number": "TAKEN"}).want(t, http.StatusConflict)
		a.do(admin, "POST", "/v1/Customers", obj{"registration_code": "CODE"}).want(t, http.StatusConflict)
		r := a.do(admin, "POST", "/v1/Customers", obj{"parent_customer_id": plain}).want(t, http.StatusBadRequest)
		if !strings.Contains(r.fieldErrors(t)["parent_customer_id"], "is_parent") {
			t.Fatalf("non-parent parent: %s", r.body)
		}
		a.do(admin, "POST", "/v1/Customers", obj{"parent_customer_id": 999999}).want(t, http.StatusBadRequest)
		child := a.create(admin, obj{"parent_customer_id": parent})
		a.do(admin, "PUT", fmt.Sprintf("/v1/Customers/%d", parent), obj{"status": "OPEN", "is_parent": false}).want(t, http.StatusConflict)
		a.do(admin, "PUT", fmt.Sprintf("/v1/Customers/%d", child), obj{"status": "OPEN", "parent_customer_id": child}).want(t, http.StatusBadRequest)
	})
}

func TestDateForms(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		for in, want := range map[string]string{
			"2024-06-10T09:31:44.903Z":          "2024-06-10T09:31:44.903Z",
			"2024-06-10T11:31:44.903+02:00":     "2024-06-10T09:31:44.903Z",
			"2010-01-01 00:00:00+00:00":         "2010-01-01T00:00:00.000Z",
			"2024-06-10T09:31:44":               "2024-06-10T09:31:44.000Z",
			"2024-06-10T09:31:44.9031234":       "2024-06-10T09:31:44.903Z",
			"2024-06-10":                        "2024-06-10T00:00:00.000Z",
			"2024-06-10T09:31:44.1234567-05:00": "2024-06-10T14:31:44.123Z",
		} {
			id := a.create(admin, obj{"activated_date": in})
			if got := a.get(admin, id)["activated_date"]; got != want {
				t.Errorf("activated_date %q came back as %v, want %s", in, got, want)
			}
		}
		for _, bad := range []string{"2024-06-10T09:31:44.12345678Z", "10/06/2024", "2024-13-01", "2024-06-10T25:00:00Z", ""} {
			a.do(admin, "POST", "/v1/Customers", obj{"activated_date": bad}).want(t, http.StatusBadRequest)
		}
	})
}

func TestRevioTimeFormat(t *testing.T) {
	a := newAPI(t, storeKinds[0].open(t), httpapi.Config{TimeFormat: httpapi.TimeRevio})
	id := a.create(admin, obj{"activated_date": "2024-06-10T09:31:44.903Z"})
	c := a.get(admin, id)
	if c["activated_date"] != "2024-06-10T09:31:44.903" || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$`).MatchString(c["created_date"].(string)) {
		t.Fatalf("revio format: activated %v created %v", c["activated_date"], c["created_date"])
	}
	// The revio form is read back as UTC.
	c["activated_date"] = "2024-06-10T09:31:44.903"
	a.do(admin, "PUT", fmt.Sprintf("/v1/Customers/%d", id), c).want(t, http.StatusOK)
	if got := a.get(admin, id)["activated_date"]; got != "2024-06-10T09:31:44.903" {
		t.Fatalf("round trip: %v", got)
	}
}
