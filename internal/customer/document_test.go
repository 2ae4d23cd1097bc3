package customer

import (
	"slices"
	"testing"
)

func TestDocumentFieldIDs(t *testing.T) {
	tricky := []string{`"fields":[`, `]`, `"]`, `\`, `\"]`, `\\`, `"field_id":9`, `{"fields":[{"field_id":8}]}`, ""}
	for _, c := range []*Customer{
		{},
		{Writable: Writable{Email: &tricky[0], Fields: nil}},
		{Writable: Writable{Fields: []CustomField{{FieldID: 3}}}},
		{Writable: Writable{Email: &tricky[7], Source: &tricky[1], Fields: []CustomField{
			{FieldID: 1, Label: tricky[0], Value: tricky[1]}, {FieldID: 7, Label: tricky[2], Value: tricky[3]},
			{FieldID: 2, Label: tricky[4], Value: tricky[5]}, {FieldID: 5, Label: tricky[6], Value: tricky[7]},
		}, Profile: Profile{Language: &tricky[6]}}},
	} {
		doc, err := c.Document()
		if err != nil {
			t.Fatal(err)
		}
		var want []int32
		for _, f := range c.Fields {
			want = append(want, f.FieldID)
		}
		got, err := DocumentFieldIDs([]int32{}, doc)
		if err != nil || !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("DocumentFieldIDs(%s) = %v, %v; want %v", doc, got, err, want)
		}
	}
	if _, err := DocumentFieldIDs(nil, []byte(`{"fields":[{"field_id":1,"label":"]`)); err == nil {
		t.Error("a cut document read without an error")
	}
}
