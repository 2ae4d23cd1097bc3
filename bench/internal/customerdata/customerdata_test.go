package customerdata

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"testing"
)

func TestNewIsDeterministic(t *testing.T) {
	if a, b := Body(New(1, 42)), Body(New(1, 42)); !bytes.Equal(a, b) {
		t.Fatalf("same seed and index gave different bodies:\n%s\n%s", a, b)
	}
	if a, b := Body(New(1, 42)), Body(New(1, 43)); bytes.Equal(a, b) {
		t.Fatal("different indexes gave the same body")
	}
}

// The put scenario promises a full body of about 1.5 KB.
func TestBodySize(t *testing.T) {
	total := 0
	const n = 1000
	for i := range n {
		b := Body(New(1, i))
		if !json.Valid(b) {
			t.Fatalf("invalid JSON: %s", b)
		}
		total += len(b)
	}
	avg := total / n
	t.Logf("average body: %d bytes", avg)
	if avg < 1200 || avg > 1900 {
		t.Errorf("average body is %d bytes, want about 1500", avg)
	}
}

// Page 2 of 20 must exist at the smallest seeded size, or the search scenario
// measures empty pages (which PocketBase also throttles on purpose).
func TestSearchTermsMatchEnough(t *testing.T) {
	const n = 2000
	for _, term := range SearchTerms {
		matches := 0
		for i := range n {
			if Matches(New(1, i), term) {
				matches++
			}
		}
		if matches < 40 {
			t.Errorf("%q matches %d of %d records, want at least 40", term, matches, n)
		}
		t.Logf("%q matches %.1f%%", term, 100*float64(matches)/n)
	}
}

// The search load script carries its own copy of the terms.
func TestSearchScriptUsesTheTerms(t *testing.T) {
	script, err := os.ReadFile("../../wrk/search.lua")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^local terms = \{(.*)\}$`).FindSubmatch(script)
	if line == nil {
		t.Fatal("search.lua has no line `local terms = { ... }`")
	}
	var got []string
	for _, m := range regexp.MustCompile(`"([^"]*)"`).FindAllSubmatch(line[1], -1) {
		got = append(got, string(m[1]))
	}
	if !slices.Equal(got, SearchTerms) {
		t.Errorf("search.lua terms = %q, SearchTerms = %q", got, SearchTerms)
	}
}
