package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/queryparam"
)

// document is the parsed OpenAPI document, navigated by member names.
type document map[string]any

func loadDocument(t *testing.T, raw []byte) document {
	t.Helper()
	var d document
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return d
}

// at returns the value at a path of member names.
func (d document) at(path ...string) any {
	var v any = map[string]any(d)
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// object returns the object at a path, following a "$ref" into components.
func (d document) object(path ...string) map[string]any {
	m, _ := d.at(path...).(map[string]any)
	if ref, ok := m["$ref"].(string); ok && len(m) == 1 {
		return d.object(strings.Split(strings.TrimPrefix(ref, "#/"), "/")...)
	}
	return m
}

// schema returns a schema of components by name.
func (d document) schema(name string) map[string]any { return d.object("components", "schemas", name) }

func keys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestOpenAPIOperationsAreTheRoutes: every route the server has is an operation of the
// document, and every operation of the document is a route.
func TestOpenAPIOperationsAreTheRoutes(t *testing.T) {
	d := loadDocument(t, openapiDocument)
	var routes, operations []string
	for _, rt := range (&server{}).routes() {
		routes = append(routes, rt.method+" "+rt.pattern)
	}
	for path, item := range d.at("paths").(map[string]any) {
		for method := range item.(map[string]any) {
			if method != "parameters" {
				operations = append(operations, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(routes)
	slices.Sort(operations)
	if !slices.Equal(routes, operations) {
		t.Fatalf("the routes and the document's operations differ:\nroutes:     %v\noperations: %v", routes, operations)
	}
}

// TestOpenAPIMembersAreTheWireFormat: the document's schemas have exactly the members that
// the server writes, every one of them required in responses, and the request schemas
// accept the same members.
func TestOpenAPIMembersAreTheWireFormat(t *testing.T) {
	d := loadDocument(t, openapiDocument)
	for _, tc := range []struct {
		response, request string
		wire              any
	}{
		{"Customer", "CustomerInput", customerJSON{}},
		{"Address", "AddressInput", addressJSON{}},
		{"AutoDebit", "AutoDebitInput", autoDebitJSON{}},
		{"Finance", "FinanceInput", financeJSON{}},
		{"Profile", "ProfileInput", profileJSON{}},
		{"CustomField", "CustomFieldInput", customFieldJSON{}},
		{"Link", "", linkJSON{}},
		{"Error", "", errorJSON{}},
		{"RequestLog", "", loggedRequestJSON{}},
	} {
		var members, always []string
		typ := reflect.TypeOf(tc.wire)
		for i := range typ.NumField() {
			name, opts, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			members = append(members, name)
			if opts != "omitempty" {
				always = append(always, name)
			}
		}
		slices.Sort(members)
		slices.Sort(always)
		s := d.schema(tc.response)
		if got := keys(s["properties"].(map[string]any)); !slices.Equal(got, members) {
			t.Errorf("%s: the document has members %v, the server writes %v", tc.response, got, members)
		}
		if got := slices.Sorted(slices.Values(strs(s["required"]))); !slices.Equal(got, always) {
			t.Errorf("%s: the document requires %v, the server always writes %v", tc.response, got, always)
		}
		if s["additionalProperties"] != false {
			t.Errorf("%s: additionalProperties must be false", tc.response)
		}
		if tc.request != "" {
			in := d.schema(tc.request)
			if got := keys(in["properties"].(map[string]any)); !slices.Equal(got, members) {
				t.Errorf("%s: the document accepts %v, the server writes %v (a GET body must be accepted back)", tc.request, got, members)
			}
			if in["additionalProperties"] != false {
				t.Errorf("%s: additionalProperties must be false: unknown members are refused", tc.request)
			}
		}
	}
}

// TestOpenAPIReadOnlyMembers: the members marked read-only are the ones the decoder ignores.
func TestOpenAPIReadOnlyMembers(t *testing.T) {
	d := loadDocument(t, openapiDocument)
	for path, schemas := range map[string][]string{
		"":                {"Customer", "CustomerInput"},
		"billing_address": {"Address", "AddressInput"},
		"finance":         {"Finance", "FinanceInput"},
	} {
		want := slices.Sorted(slices.Values(readOnly[path]))
		for _, name := range schemas {
			var got []string
			for member, p := range d.schema(name)["properties"].(map[string]any) {
				if p.(map[string]any)["readOnly"] == true {
					got = append(got, member)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: read-only members %v, the server ignores %v", name, got, want)
			}
		}
	}
}

// TestOpenAPILimitsAndEnums: every length limit, range and enum of the document is the one
// the code enforces.
func TestOpenAPILimitsAndEnums(t *testing.T) {
	d := loadDocument(t, openapiDocument)
	check := func(schema, member, keyword string, want any) {
		t.Helper()
		p := d.schema(schema)["properties"].(map[string]any)[member].(map[string]any)
		if got := p[keyword]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s.%s: %s is %v, the code's is %v", schema, member, keyword, got, want)
		}
	}
	for _, s := range []string{"Customer", "CustomerInput"} {
		check(s, "account_number", "maxLength", customer.MaxAccountNumber)
		check(s, "email", "maxLength", customer.MaxEmail)
		check(s, "registration_code", "maxLength", customer.MaxRegistrationCode)
		check(s, "security_pin", "maxLength", customer.MaxSecurityPIN)
		check(s, "source", "maxLength", customer.MaxSource)
		check(s, "culture", "maxLength", customer.MaxCulture)
		check(s, "fields", "maxItems", customer.MaxCustomFields)
	}
	for _, s := range []string{"Address", "AddressInput"} {
		for _, l := range customer.AddressLimits {
			check(s, l.Name, "maxLength", l.Max)
		}
	}
	for _, s := range []string{"Finance", "FinanceInput"} {
		check(s, "tax_exempt_types", "maxLength", customer.MaxTaxExemptTypes)
		check(s, "usage_file_format", "maxLength", customer.MaxUsageFileFormat)
		check(s, "payment_terms_days", "maximum", customer.MaxPaymentTermsDays)
	}
	for _, s := range []string{"Profile", "ProfileInput"} {
		check(s, "language", "maxLength", customer.MaxProfileText)
		check(s, "tax_id", "maxLength", customer.MaxProfileText)
	}
	for _, s := range []string{"CustomField", "CustomFieldInput"} {
		check(s, "label", "maxLength", customer.MaxFieldLabel)
		check(s, "value", "maxLength", customer.MaxFieldValue)
	}
	check("CustomerPage", "record_count", "maximum", customer.MaxPageSize)
	check("RequestLogPage", "record_count", "maximum", customer.MaxPageSize)
	check("RequestLog", "request_id", "maxLength", customer.MaxLoggedRequestID)
	check("RequestLog", "method", "maxLength", customer.MaxLoggedMethod)
	check("RequestLog", "path", "maxLength", customer.MaxLoggedPath)
	check("RequestLog", "query", "maxLength", customer.MaxLoggedQuery)
	check("RequestLog", "username", "maxLength", customer.MaxUsername)
	check("RequestLog", "idempotency_key", "maxLength", customer.MaxLoggedKey)
	check("RequestLog", "error", "maxLength", customer.MaxLoggedError)

	enum := func(name string, want []string) {
		t.Helper()
		if got := strs(d.schema(name)["enum"]); !slices.Equal(got, want) {
			t.Errorf("%s: enum %v, the code's %v", name, got, want)
		}
	}
	asStrings := func(v any) []string {
		rv := reflect.ValueOf(v)
		out := make([]string, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).String()
		}
		return out
	}
	enum("Status", asStrings(customer.Statuses))
	enum("BillingMethod", asStrings(customer.BillingMethods))
	enum("Class", asStrings(customer.Classes))

	var sorts []string
	for _, k := range customer.SortKeys {
		sorts = append(sorts, string(k), "-"+string(k))
	}
	if got := strs(d.object("components", "parameters", "SearchSort", "schema")["enum"]); !slices.Equal(got, sorts) {
		t.Errorf("sort: enum %v, the code's %v", got, sorts)
	}
	if got := strs(d.object("components", "parameters", "SearchStatus", "schema", "items")["enum"]); !slices.Equal(got, append(asStrings(customer.Statuses), "ALL")) {
		t.Errorf("status filter: enum %v", got)
	}
	if got := d.object("components", "parameters", "SearchPageSize", "schema")["default"]; got != float64(customer.DefaultPageSize) {
		t.Errorf("page_size: default %v, the code's %d", got, customer.DefaultPageSize)
	}
}

// TestOpenAPISearchParameters: the search operation and the request log's take exactly
// the parameters the server knows, each with and without the search. prefix, an array
// exactly when it may be repeated.
func TestOpenAPISearchParameters(t *testing.T) {
	for path, params := range map[string]map[string]bool{
		"/v1/Customers":   queryparam.Names(queryparam.Customers(&customer.Query{})),
		"/v1/RequestLogs": queryparam.Names(queryparam.RequestLog(&customer.RequestLogQuery{})),
	} {
		t.Run(path, func(t *testing.T) { checkQueryParameters(t, path, params) })
	}
}

func checkQueryParameters(t *testing.T, path string, params map[string]bool) {
	d := loadDocument(t, openapiDocument)
	got := map[string]bool{}
	for _, p := range d.at("paths", path, "get", "parameters").([]any) {
		ref := p.(map[string]any)["$ref"].(string)
		param := d.object(strings.Split(strings.TrimPrefix(ref, "#/"), "/")...)
		if param["in"] != "query" {
			continue
		}
		got[param["name"].(string)] = d.object(append(strings.Split(strings.TrimPrefix(ref, "#/"), "/"), "schema")...)["type"] == "array"
	}
	want := map[string]bool{}
	for name, repeatable := range params {
		want[name] = repeatable
		want["search."+name] = repeatable
	}
	if !maps.Equal(got, want) {
		t.Fatalf("search parameters (name: repeatable):\ndocument: %v\nserver:   %v", got, want)
	}
}

// TestOpenAPIErrorStatuses: every status an error kind maps to is documented somewhere.
func TestOpenAPIErrorStatuses(t *testing.T) {
	d := loadDocument(t, openapiDocument)
	documented := map[string]bool{}
	for _, item := range d.at("paths").(map[string]any) {
		for _, op := range item.(map[string]any) {
			if op, ok := op.(map[string]any); ok {
				for status := range op["responses"].(map[string]any) {
					documented[status] = true
				}
			}
		}
	}
	for kind, status := range statusOf {
		// 405 answers a method that no operation has: the document's description says so.
		if status != 405 && !documented[fmt.Sprint(status)] {
			t.Errorf("error kind %v answers %d, which no operation documents", kind, status)
		}
	}
}

// TestOpenAPIDocumentIsValid validates the document, as served in both time formats, with
// kin-openapi and against the OpenAPI Initiative's JSON Schema for OpenAPI 3.1 documents
// (schema-base: the document and every Schema Object in it, with the 2020-12 dialect).
func TestOpenAPIDocumentIsValid(t *testing.T) {
	oas := jsonschema.NewCompiler()
	for _, f := range []string{"schema.json", "schema-base.json", "dialect/base.schema.json", "meta/base.schema.json"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "oas-3.1", f))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := oas.AddResource(doc.(map[string]any)["$id"].(string), doc); err != nil {
			t.Fatal(err)
		}
	}
	schemaBase, err := oas.Compile("https://spec.openapis.org/oas/3.1/schema-base/2021-04-15")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []TimeFormat{TimeRFC3339, TimeRevio} {
		t.Run(string(f), func(t *testing.T) {
			raw := OpenAPIDocument(f)
			doc, err := openapi3.NewLoader().LoadFromData(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !doc.IsOpenAPI31OrLater() {
				t.Fatalf("openapi %q: want 3.1", doc.OpenAPI)
			}
			if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
				t.Errorf("kin-openapi: %v", err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if err := schemaBase.Validate(inst); err != nil {
				t.Errorf("OpenAPI 3.1 schema: %v", err)
			}
		})
	}
}

// TestRevioDocument: a server writing revio times describes them, examples included.
func TestRevioDocument(t *testing.T) {
	d := loadDocument(t, OpenAPIDocument(TimeRevio))
	dt := d.schema("DateTime")
	if _, has := dt["format"]; has || !strings.HasSuffix(dt["pattern"].(string), `[0-9]{3}$`) {
		t.Fatalf("revio DateTime schema: %v", dt)
	}
	if ex := d.at("components", "examples", "Customer", "value", "created_date"); ex != "2026-11-27T04:46:44.900" {
		t.Fatalf("revio example created_date %v", ex)
	}
	if bytes.Contains(OpenAPIDocument(TimeRevio), []byte(`.900Z"`)) {
		t.Fatal("a written time with Z is left in the revio document")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                       false,
		"identity":               false,
		"gzip":                   true,
		"GZIP":                   true,
		"deflate, gzip;q=0.5":    true,
		"gzip;q=0":               false,
		"gzip;q=0.000":           false,
		"*":                      true,
		"*;q=0":                  false,
		"gzip;q=0, *":            false,
		"*, gzip;q=0":            false,
		"br, x-gzip":             true,
		"gzip;q=nonsense":        false,
		"deflate;q=1, *;q=0.001": true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("Accept-Encoding %q: %v, want %v", header, got, want)
		}
	}
}

// TestCORSCoversTheDocument: a page of an allowed origin may send every request header
// the document describes, and read every response header it describes (beyond those
// browsers always show).
func TestCORSCoversTheDocument(t *testing.T) {
	d := loadDocument(t, openapiDocument)
	resolve := func(v any, kind string) map[string]any {
		m := v.(map[string]any)
		if ref, ok := m["$ref"].(string); ok {
			return d.object("components", kind, ref[strings.LastIndex(ref, "/")+1:])
		}
		return m
	}
	listed := func(list string) map[string]bool {
		out := map[string]bool{}
		for _, h := range strings.Split(list, ",") {
			out[strings.ToLower(strings.TrimSpace(h))] = true
		}
		return out
	}
	allowed, exposed := listed(corsHeaders), listed(corsExposed)
	safelisted := listed("Cache-Control, Content-Language, Content-Length, Content-Type, Expires, Last-Modified, Pragma")
	for path, item := range d.at("paths").(map[string]any) {
		for method, op := range item.(map[string]any) {
			op, ok := op.(map[string]any)
			if !ok {
				continue
			}
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				p := resolve(p, "parameters")
				if p["in"] == "header" && !allowed[strings.ToLower(p["name"].(string))] {
					t.Errorf("%s %s: request header %s is not in corsHeaders", method, path, p["name"])
				}
			}
			for status, r := range op["responses"].(map[string]any) {
				headers, _ := resolve(r, "responses")["headers"].(map[string]any)
				for name := range headers {
					if !exposed[strings.ToLower(name)] && !safelisted[strings.ToLower(name)] {
						t.Errorf("%s %s %s: response header %s is not in corsExposed", method, path, status, name)
					}
				}
			}
		}
	}
	if !allowed["authorization"] || !allowed["content-type"] {
		t.Fatal("corsHeaders lacks Authorization or Content-Type")
	}
}
