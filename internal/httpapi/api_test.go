package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custd/custd/client"
	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
	"github.com/custd/custd/internal/postgres"
	"github.com/custd/custd/internal/postgres/pgtest"
	"github.com/custd/custd/internal/sqlite"
)

// storeKinds are the stores the HTTP tests run against.
var storeKinds = []struct {
	name string
	open func(t *testing.T) customer.Store
}{
	{"sqlite", func(t *testing.T) customer.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "custd.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
	{"postgres", func(t *testing.T) customer.Store {
		s, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
}

// api is a running custd API over a real store, with users:
// admin@acme (admin), clerk@acme (readonly), admin@other (admin, another client).
type api struct {
	t     *testing.T
	url   string
	store customer.Store
	cfg   httpapi.Config
}

const password = "correct horse battery staple"

// eachStore runs fn against a fresh API over each kind of store.
func eachStore(t *testing.T, fn func(t *testing.T, a *api)) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			fn(t, newAPI(t, kind.open(t), httpapi.Config{}))
		})
	}
}

func newAPI(t *testing.T, store customer.Store, cfg httpapi.Config) *api {
	ctx := context.Background()
	hash, err := customer.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"acme", "other"} {
		if _, err := store.CreateClient(ctx, code, code); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []customer.NewUser{
		{ClientCode: "acme", Username: "admin", Role: customer.RoleAdmin},
		{ClientCode: "acme", Username: "clerk", Role: customer.RoleReadOnly},
		{ClientCode: "other", Username: "admin", Role: customer.RoleAdmin},
	} {
		u.PasswordHash = hash
		if _, err := store.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Store = store
	if cfg.RequestLogInterval == 0 {
		cfg.RequestLogInterval = 10 * time.Millisecond // the tests wait for records
	}
	h := httpapi.New(cfg)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		h.Close() // fails when a test closed the store first
		store.Close()
	})
	return &api{t: t, url: srv.URL, store: store, cfg: cfg}
}

// result is a response, its body read.
type result struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value, failing the test if it is not JSON.
func (r *result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// as is the login a request is sent with.
type as string

const (
	admin  = as("admin@acme")
	clerk  = as("clerk@acme")
	other  = as("admin@other")
	nobody = as("")
	// wrong sends admin@acme with a wrong password ("x:" before the right one).
	wrong = as("admin@acme:x")
)

// header is one request header.
type header struct{ name, value string }

// do sends a request. body is sent as is when it is a string or []byte, else as JSON.
// POST, PUT and PATCH bodies get a JSON content type unless a header sets one.
func (a *api) do(who as, method, path string, body any, headers ...header) *result {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.url+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if who != nobody {
		req.SetBasicAuth(string(who), password)
	}
	if body != nil {
		ct := "application/json"
		if method == http.MethodPatch {
			ct = "application/json-patch+json"
		}
		req.Header.Set("Content-Type", ct)
	}
	for _, h := range headers {
		if h.value == "" {
			req.Header.Del(h.name)
		} else {
			req.Header.Set(h.name, h.value)
		}
	}
	return a.send(req)
}

// send sends a request made by the caller and checks its response as do does.
func (a *api) send(req *http.Request) *result {
	a.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	r := &result{status: resp.StatusCode, header: resp.Header, body: b}
	checkCommon(a.t, req, r)
	checkContract(a.t, a.cfg.TimeFormat, req, r)
	return r
}

// checkCommon checks what every response must have.
func checkCommon(t *testing.T, req *http.Request, r *result) {
	t.Helper()
	if r.header.Get("X-Request-Id") == "" {
		t.Errorf("%s %s: no X-Request-Id", req.Method, req.URL.Path)
	}
	if r.status == http.StatusNotModified || req.Method == http.MethodHead || req.URL.Path == "/docs" ||
		req.URL.Path == "/metrics" && r.status == http.StatusOK {
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" && ct != "text/json; charset=utf-8" {
		t.Errorf("%s %s: Content-Type %q", req.Method, req.URL.Path, ct)
	}
	if !json.Valid(r.body) {
		t.Errorf("%s %s: body is not JSON: %s", req.Method, req.URL.Path, r.body)
	}
	if r.status >= 400 {
		var e struct {
			OK      *bool  `json:"ok"`
			Message string `json:"message"`
		}
		if json.Unmarshal(r.body, &e) != nil || e.OK == nil || *e.OK || e.Message == "" {
			t.Errorf("%s %s: %d error body lacks ok:false and a message: %s", req.Method, req.URL.Path, r.status, r.body)
		}
	}
}

// want fails the test unless r has the given status.
func (r *result) want(t *testing.T, status int) *result {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

// fieldErrors returns the field errors of an error body by field.
func (r *result) fieldErrors(t *testing.T) map[string]string {
	t.Helper()
	var e struct {
		Errors []struct{ Field, Message string }
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range e.Errors {
		out[f.Field] = f.Message
	}
	return out
}

// client returns the client generated from the OpenAPI document (package client), logged
// in as who. Every response it gets is checked like those of do.
func (a *api) client(who as) *client.ClientWithResponses {
	a.t.Helper()
	opts := []client.ClientOption{client.WithHTTPClient(&http.Client{Transport: checkedTransport{a}})}
	if who != nobody {
		opts = append(opts, client.BasicAuth(string(who), password))
	}
	c, err := client.NewClientWithResponses(a.url, opts...)
	if err != nil {
		a.t.Fatal(err)
	}
	return c
}

// checkedTransport sends a request and checks its response as do does.
type checkedTransport struct{ a *api }

func (c checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	r := &result{status: resp.StatusCode, header: resp.Header, body: b}
	checkCommon(c.a.t, req, r)
	checkContract(c.a.t, c.a.cfg.TimeFormat, req, r)
	return resp, nil
}

// create posts a customer through the generated client and returns its id. body is sent
// as JSON.
func (a *api) create(who as, body any) int {
	a.t.Helper()
	j, err := json.Marshal(body)
	if err != nil {
		a.t.Fatal(err)
	}
	r, err := a.client(who).CreateCustomerWithBodyWithResponse(context.Background(), nil, "application/json", bytes.NewReader(j))
	if err != nil {
		a.t.Fatal(err)
	}
	if r.JSON201 == nil || !r.JSON201.Ok || r.JSON201.Id < 1 {
		a.t.Fatalf("create: %d %s", r.StatusCode(), r.Body)
	}
	return int(r.JSON201.Id)
}

// get returns a customer's body as a generic object, read through the generated client.
func (a *api) get(who as, id int) map[string]any {
	a.t.Helper()
	c := a.client(who)
	var body []byte
	if a.cfg.TimeFormat == httpapi.TimeRevio {
		// The generated types read date-times as RFC 3339 (time.Time), which the revio form
		// is not: take the body as it comes.
		resp, err := c.GetCustomer(context.Background(), int32(id), nil)
		if err != nil {
			a.t.Fatal(err)
		}
		defer resp.Body.Close()
		if body, err = io.ReadAll(resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			a.t.Fatalf("get: %d %s %v", resp.StatusCode, body, err)
		}
	} else {
		r, err := c.GetCustomerWithResponse(context.Background(), int32(id), nil)
		if err != nil {
			a.t.Fatal(err)
		}
		if r.JSON200 == nil {
			a.t.Fatalf("get: %d %s", r.StatusCode(), r.Body)
		}
		body = r.Body
	}
	return (&result{body: body}).json(a.t)
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// obj is a JSON object literal.
type obj = map[string]any
