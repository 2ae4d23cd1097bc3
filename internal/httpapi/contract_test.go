package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/custd/custd/internal/httpapi"
)

// contract is a loaded OpenAPI document and a router over its operations.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

func init() {
	// kin-openapi decodes the registered JSON media types only; custd also answers in
	// text/json when the request prefers it.
	openapi3filter.RegisterBodyDecoder("text/json", openapi3filter.JSONBodyDecoder)
}

// contracts holds the document of each time format, loaded once.
var contracts sync.Map // httpapi.TimeFormat -> func() (*contract, error)

// contractOf returns the document that a server writing date-times in format f serves,
// loaded and validated.
func contractOf(f httpapi.TimeFormat) (*contract, error) {
	if f == "" {
		f = httpapi.TimeRFC3339
	}
	load, _ := contracts.LoadOrStore(f, sync.OnceValues(func() (*contract, error) {
		doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPIDocument(f))
		if err != nil {
			return nil, err
		}
		if err := doc.Validate(context.Background()); err != nil {
			return nil, err
		}
		// The document's server is "/" (wherever it is served from); route on paths alone.
		doc.Servers = nil
		router, err := legacy.NewRouter(doc)
		if err != nil {
			return nil, err
		}
		return &contract{doc: doc, router: router}, nil
	}))
	return load.(func() (*contract, error))()
}

// checkContract fails the test unless the response r to req is one that the OpenAPI
// document describes: a documented status of the operation, its required headers, and a
// body of its media type that validates against its schema. A request to a path or
// method the document does not have must get the documented error body (404, or 405
// with Allow, or under /v1/ a 401 for credentials that are not valid).
func checkContract(t *testing.T, f httpapi.TimeFormat, req *http.Request, r *result) {
	t.Helper()
	c, err := contractOf(f)
	if err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	what := req.Method + " " + req.URL.RequestURI()

	// Route the request as the server does: resource segments ignore letter case, and
	// HEAD is answered wherever GET is (with GET's statuses and headers, no body).
	route := req.Clone(context.Background())
	if p := route.URL.Path; len(p) > 3 && strings.EqualFold(p[:4], "/v1/") {
		segs := strings.Split(p[1:], "/")
		for i, seg := range segs {
			if lit, ok := c.literals()[strings.ToLower(seg)]; ok {
				segs[i] = lit
			}
		}
		route.URL.Path = "/" + strings.Join(segs, "/")
		route.URL.RawPath = ""
	}
	head := req.Method == http.MethodHead
	if head {
		route.Method = http.MethodGet
	}
	found, pathParams, err := c.find(route)
	var routeErr *routers.RouteError
	if errors.As(err, &routeErr) {
		v1 := len(route.URL.Path) >= 3 && strings.EqualFold(route.URL.Path[:3], "/v1") && (len(route.URL.Path) == 3 || route.URL.Path[3] == '/')
		if v1 && r.status == http.StatusUnauthorized {
			// The description's rule: under /v1/ the credentials are checked before the
			// path and method.
			if r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", what)
			}
		} else if c.hasPath(route) {
			if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") == "" {
				t.Errorf("%s: the document has no such operation, yet the status is %d with Allow %q", what, r.status, r.header.Get("Allow"))
			}
		} else if r.status != http.StatusNotFound {
			t.Errorf("%s: the document has no such path, yet the status is %d", what, r.status)
		}
		checkErrorBody(t, c, what, r)
		return
	}
	if err != nil {
		t.Fatalf("%s: routing against the OpenAPI document: %v", what, err)
	}

	resp := found.Operation.Responses.Status(r.status)
	if resp == nil || resp.Value == nil {
		t.Errorf("%s: status %d is not in the OpenAPI document for %s %s", what, r.status, found.Method, found.Path)
		return
	}
	// kin-openapi skips a 304 and any HEAD: check what they must carry here.
	if r.status == http.StatusNotModified || head {
		for name, h := range resp.Value.Headers {
			if h.Value.Required && r.header.Get(name) == "" {
				t.Errorf("%s: %d without the required header %s", what, r.status, name)
			}
		}
		if len(r.body) != 0 {
			t.Errorf("%s: %d with a body", what, r.status)
		}
		return
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    route,
			PathParams: pathParams,
			Route:      found,
		},
		Status: r.status,
		Header: r.header,
		Body:   io.NopCloser(bytes.NewReader(r.body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			// An HTML page is not validated beyond its media type.
			ExcludeResponseBody: strings.HasPrefix(r.header.Get("Content-Type"), "text/html"),
		},
	})
	if err != nil {
		t.Errorf("%s: the %d response does not match the OpenAPI document: %v\nbody: %.2000s", what, r.status, err, r.body)
	}
}

// find returns the operation of req, as the router of the document finds it.
// literals are the literal segments of the document's paths, by their lower case.
func (c *contract) literals() map[string]string {
	out := map[string]string{}
	for path := range c.doc.Paths.Map() {
		for _, seg := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
			if !strings.HasPrefix(seg, "{") {
				out[strings.ToLower(seg)] = seg
			}
		}
	}
	return out
}

func (c *contract) find(req *http.Request) (*routers.Route, map[string]string, error) {
	route, pathParams, err := c.router.FindRoute(req)
	if err == nil && slices.Contains(slices.Collect(maps.Values(pathParams)), "") {
		// The router lets a template's last parameter match nothing (/v1/Customers as
		// /v1/Customers/{id}); the server does not.
		return nil, nil, &routers.RouteError{Reason: routers.ErrPathNotFound.Error()}
	}
	return route, pathParams, err
}

// hasPath reports whether the document has req's path with any method.
func (c *contract) hasPath(req *http.Request) bool {
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		other := req.Clone(context.Background())
		other.Method = m
		if _, _, err := c.find(other); err == nil {
			return true
		}
	}
	return false
}

// checkErrorBody checks a body against the document's Error schema.
func checkErrorBody(t *testing.T, c *contract, what string, r *result) {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Errorf("%s: error body is not JSON: %v", what, err)
		return
	}
	if err := c.doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		t.Errorf("%s: error body does not match the Error schema: %v\nbody: %s", what, err, r.body)
	}
}
