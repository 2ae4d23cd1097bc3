package httpapi

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/custd/custd/internal/customer"
)

// FuzzJSONPatch: whatever the PATCH body, the patch path refuses it with a client error
// (400 or 409), never an internal one (a 500), or makes a customer no larger than a body
// may be, which the decoder then reads or refuses without failing otherwise.
func FuzzJSONPatch(f *testing.F) {
	body, err := os.ReadFile("testdata/customer-body.json")
	if err != nil {
		f.Fatal(err)
	}
	in, err := decodeCustomer(body, forReplace, 1)
	if err != nil {
		f.Fatal(err)
	}
	c := &customer.Customer{ID: 1, Version: 3, Writable: *in}
	doc, err := json.Marshal(encoder{layout: TimeRFC3339.layout()}.customer(c))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`[]`, `[{"op":"replace","path":"/email","value":"a@b.com"}]`,
		`[{"op":"test","path":"status","value":"OPEN"},{"op":"add","path":"fields/-","value":{"field_id":9,"label":"x","value":"y"}}]`,
		`[{"op":"add","path":"/x","value":{"a":[1,2,3]}},{"op":"copy","from":"/x","path":"/x/b"},{"op":"copy","from":"/x","path":"/x/c"}]`,
		`[{"op":"move","from":"/billing_address","path":"/service_address"}]`,
		`[{"op":"remove","path":"/fields/0"},{"op":"replace","path":"/customer_id","value":2}]`,
		`[{"op":"copy","from":"/fields","path":"/fields/-"}]`, `[{"op":"bogus"}]`, `{}`, `[1]`, `[{"op":"add","path":"/a~1b","value":null}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > maxBody {
			return
		}
		p, err := parsePatch(body)
		if err != nil {
			if k := customer.KindOf(err); k != customer.Invalid {
				t.Fatalf("%s: parsing gave %v (%v), want Invalid", body, k, err)
			}
			return
		}
		out, err := p.apply(doc)
		if err != nil {
			if k := customer.KindOf(err); k != customer.Invalid && k != customer.Conflict {
				t.Fatalf("%s: applying gave %v (%v), want Invalid or Conflict", body, k, err)
			}
			return
		}
		if len(out) > maxBody {
			t.Fatalf("%s: the patched customer has %d bytes, more than a body may", body, len(out))
		}
		if _, err := decodeCustomer(out, forReplace, 1); err != nil && customer.KindOf(err) != customer.Invalid {
			t.Fatalf("%s: decoding the patched customer gave %v", body, err)
		}
	})
}
