package httpapi

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// BenchmarkDecodeCustomer decodes a full PUT body of ~1.7 KB, as integrations send it
// (the body of the benchmark's PUT scenario).
func BenchmarkDecodeCustomer(b *testing.B) {
	body, err := os.ReadFile("testdata/customer-body.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeCustomer(body, forReplace, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// TestObjectMembersAgreesWithEncodingJSON checks the one-pass member splitter against
// encoding/json on objects with nesting, escapes, odd spacing and repeated names.
func TestObjectMembersAgreesWithEncodingJSON(t *testing.T) {
	body, err := os.ReadFile("testdata/customer-body.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{
		string(body),
		`{}`,
		` { "a" : 1 , "b":[1, {"c":"]}"}, "x\"y"] ,"c" :{"d":{"e":null}}}  `,
		`{"a":"\u0041\\\"","a":true}`,
		`{"we\u0069rd":"k","":""}`,
		"{\"t\":\t\"tab\"\n,\r\n\"n\":-1.5e3}",
		`{"a":"\\","b":[[],[[1]],{}],"c":"{[","d":1e5}`,
		`{"a":"\\\\","b":"q\"\\","c":"\\\"}","d":["\\",{"e":"\""}],"f":""}`,
	} {
		checkMembers(t, []byte(in))
	}
}

// FuzzObjectMembers compares the splitter with encoding/json on any object that
// encoding/json accepts.
func FuzzObjectMembers(f *testing.F) {
	f.Add([]byte(`{"a":{"b":[1,"]"]},"c":"\"}"}`))
	f.Add([]byte(`{ "x" : null }`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var want map[string]json.RawMessage
		if json.Unmarshal(in, &want) != nil || want == nil {
			return
		}
		checkMembers(t, in)
	})
}

func checkMembers(t *testing.T, in []byte) {
	t.Helper()
	var want map[string]json.RawMessage
	if err := json.Unmarshal(in, &want); err != nil {
		t.Fatalf("%s: %v", in, err)
	}
	got, err := objectMembers(in)
	if err != nil {
		t.Fatalf("%s: %v", in, err)
	}
	if len(got) != len(want) {
		t.Errorf("%s: got %d members, want %d", in, len(got), len(want))
	}
	for k, v := range want {
		if !reflect.DeepEqual(compact(t, got[k]), compact(t, v)) {
			t.Errorf("%s: member %q is %s, want %s", in, k, got[k], v)
		}
	}
}

func compact(t *testing.T, raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// TestDecodeKnowsTheWireMembers: the members a body may set plus the read-only ones are
// exactly the members of each wire struct, so a member added to the wire form cannot be
// forgotten by the decoder (it would refuse it as unknown) or the other way round.
func TestDecodeKnowsTheWireMembers(t *testing.T) {
	for object, wire := range map[string]any{
		"": customerJSON{}, "billing_address": addressJSON{}, "service_address": addressJSON{},
		"listing_address": addressJSON{}, "auto_debit": autoDebitJSON{}, "finance": financeJSON{},
		"profile": profileJSON{}, "fields": customFieldJSON{},
	} {
		var members []string
		typ := reflect.TypeOf(wire)
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			members = append(members, name)
		}
		slices.Sort(members)
		known := slices.Sorted(slices.Values(append(slices.Clone(writable[object]), readOnly[object]...)))
		if !slices.Equal(known, members) {
			t.Errorf("object %q: the decoder knows %v, the wire struct has %v", object, known, members)
		}
	}
}
