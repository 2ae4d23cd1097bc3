package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/custd/custd/internal/httpapi"
)

// TestGeneratedCodeIsCurrent fails while the committed client.gen.go differs from what the
// generator makes of the current OpenAPI document.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	want, err := source(httpapi.OpenAPIDocument(httpapi.TimeRFC3339))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; ; i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("client/client.gen.go is not what oapi-codegen makes of the OpenAPI document: run go generate ./client\nfirst difference, line %d:\n  committed: %s\n  generated: %s", i+1, g, w)
		}
	}
}
