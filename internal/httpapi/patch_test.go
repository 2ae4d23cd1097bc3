package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
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
			{"doubling bomb", patchBomb(), "", "1 MiB"},
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
