package httpapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sync"
)

// openapiDocument is the OpenAPI 3.1 description of the whole API. It is written by hand;
// the tests hold the server to it (every response they see is validated against it, and
// its operations, limits, enums and search parameters are compared with the code).
//
//go:embed openapi.json
var openapiDocument []byte

// referencePage is the HTML shell of GET /docs; redocScript renders the document in it.
// Redoc's standalone bundle is embedded, so the page works without internet access.
var (
	//go:embed docs/index.html
	referencePage []byte
	//go:embed docs/redoc.standalone.js
	redocScript []byte
)

// revioDateTime is the DateTime schema of a server that writes times in the revio form.
const revioDateTime = `{
        "type": "string",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}$",
        "description": "A date-time as this server writes it (started with --time-format revio): UTC with milliseconds and no designator, so not RFC 3339. Read it as UTC.",
        "examples": ["2024-06-10T09:31:44.903"]
      }`

// writtenTime matches a date-time in the form the server writes by default, as a whole
// JSON string (an example value).
var writtenTime = regexp.MustCompile(`"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3})Z"`)

// OpenAPIDocument returns the OpenAPI document that a server writing date-times in format
// f serves at /openapi.json: openapi.json itself for TimeRFC3339; for TimeRevio, the same
// with the DateTime schema and the example date-times in the revio form.
func OpenAPIDocument(f TimeFormat) []byte {
	if f == TimeRevio {
		return documents.revio()
	}
	return openapiDocument
}

// documents holds what the two reference routes serve, built once per time format.
var documents = struct {
	revio                  func() []byte
	rfc3339Page, revioPage func() []byte
}{
	revio:       sync.OnceValue(func() []byte { return revioDocument(openapiDocument) }),
	rfc3339Page: sync.OnceValue(func() []byte { return renderReference(openapiDocument) }),
	revioPage:   sync.OnceValue(func() []byte { return renderReference(revioDocument(openapiDocument)) }),
}

// revioDocument rewrites doc for a server that writes date-times in the revio form.
func revioDocument(doc []byte) []byte {
	key := []byte(`"DateTime": `)
	start := bytes.Index(doc, key)
	if start < 0 {
		panic("openapi.json has no DateTime schema")
	}
	start += len(key)
	dec := json.NewDecoder(bytes.NewReader(doc[start:]))
	var schema json.RawMessage
	if err := dec.Decode(&schema); err != nil {
		panic(fmt.Sprintf("openapi.json: DateTime schema: %v", err))
	}
	end := start + int(dec.InputOffset())
	out := make([]byte, 0, len(doc))
	out = append(out, doc[:start]...)
	out = append(out, revioDateTime...)
	out = append(out, doc[end:]...)
	return writtenTime.ReplaceAll(out, []byte(`"$1"`))
}

// Redoc's sidebar credit shows a logo from Redocly's CDN. The page must ask nothing of
// the internet, so the logo becomes an empty inline image; the credit's text and link stay.
const (
	redocLogo  = "https://cdn.redoc.ly/redoc/logo-mini.svg"
	emptyImage = "data:image/svg+xml,%3Csvg%20xmlns=%22http://www.w3.org/2000/svg%22%20width=%221%22%20height=%221%22/%3E"
)

// renderReference returns the reference page of doc: the HTML shell with the document and
// the renderer inlined, so that the page needs nothing but itself.
func renderReference(doc []byte) []byte {
	// In a script element the document must not contain "</script" (or "<!--"); in JSON a
	// '<' can only be inside a string, where \u003c means the same.
	inline := bytes.ReplaceAll(bytes.TrimSpace(doc), []byte("<"), []byte(`\u003c`))
	page := bytes.Replace(referencePage, []byte("{{DOCUMENT}}"), inline, 1)
	script := bytes.ReplaceAll(redocScript, []byte(redocLogo), []byte(emptyImage))
	return bytes.Replace(page, []byte("{{REDOC}}"), script, 1)
}

// serveOpenAPI serves the OpenAPI document of this server. No credentials needed.
func (s *server) serveOpenAPI() http.Handler {
	doc := openapiDocument
	if s.enc.layout == TimeRevio.layout() {
		doc = documents.revio()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(doc)
	})
}

// serveReference serves the reference page rendered from the OpenAPI document. No
// credentials needed.
func (s *server) serveReference() http.Handler {
	page := documents.rfc3339Page
	if s.enc.layout == TimeRevio.layout() {
		page = documents.revioPage
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page())
	})
}
