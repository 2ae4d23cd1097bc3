package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
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
	revio                              func() []byte
	rfc3339Static, revioStatic         func() *static
	rfc3339PageStatic, revioPageStatic func() *static
}{
	revio: sync.OnceValue(func() []byte { return revioDocument(openapiDocument) }),
	rfc3339Static: sync.OnceValue(func() *static {
		return newStatic("application/json; charset=utf-8", openapiDocument)
	}),
	revioStatic: sync.OnceValue(func() *static {
		return newStatic("application/json; charset=utf-8", revioDocument(openapiDocument))
	}),
	rfc3339PageStatic: sync.OnceValue(func() *static {
		return newStatic("text/html; charset=utf-8", renderReference(openapiDocument))
	}),
	revioPageStatic: sync.OnceValue(func() *static {
		return newStatic("text/html; charset=utf-8", renderReference(revioDocument(openapiDocument)))
	}),
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
	doc := documents.rfc3339Static
	if s.enc.layout == TimeRevio.layout() {
		doc = documents.revioStatic
	}
	return serveStatic(doc, s.started)
}

// serveReference serves the reference page rendered from the OpenAPI document. No
// credentials needed.
func (s *server) serveReference() http.Handler {
	page := documents.rfc3339PageStatic
	if s.enc.layout == TimeRevio.layout() {
		page = documents.revioPageStatic
	}
	return serveStatic(page, s.started)
}

// static is a fixed body, served with validators, and compressed to clients that take
// gzip (the reference page is over a megabyte, a tenth of that compressed).
type static struct {
	contentType       string
	plain, gzipped    []byte
	plainTag, gzipTag string // strong entity tags, one per representation
}

func newStatic(contentType string, body []byte) *static {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:12])
	return &static{contentType: contentType, plain: body, gzipped: b.Bytes(), plainTag: `"` + tag + `"`, gzipTag: `"` + tag + `-gzip"`}
}

// serveStatic serves the body that get returns (built on first use), last modified when
// the server started. Clients revalidate every time (Cache-Control: no-cache) and get a
// 304 while their copy is current.
func serveStatic(get func() *static, modified time.Time) http.Handler {
	modified = modified.Truncate(time.Second)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := get()
		body, tag := st.plain, st.plainTag
		h := w.Header()
		h.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, tag = st.gzipped, st.gzipTag
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("ETag", tag)
		h.Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
		h.Set("Cache-Control", "no-cache")
		if notModified(r, tag, modified) {
			h.Del("Content-Encoding")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", st.contentType)
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(body)
		}
	})
}

// notModified reports whether a conditional GET may be answered 304: If-None-Match
// matches tag, or, without If-None-Match, nothing changed since If-Modified-Since.
func notModified(r *http.Request, tag string, modified time.Time) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		return noneMatch(inm, tag)
	}
	since, err := http.ParseTime(r.Header.Get("If-Modified-Since"))
	return err == nil && !modified.After(since)
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip: named with a
// quality above 0, or else through "*".
func acceptsGzip(header string) bool {
	gzipQ, anyQ := -1.0, -1.0
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			} else {
				q = 0
			}
		}
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "gzip", "x-gzip":
			gzipQ = q
		case "*":
			anyQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return anyQ > 0
}
