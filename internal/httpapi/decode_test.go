package httpapi

import (
	"encoding/json"
	"os"
	"reflect"
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
