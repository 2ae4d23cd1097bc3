package httpapi

import "testing"

func TestCleanQuery(t *testing.T) {
	for _, tc := range []struct {
		method, route, raw, want string
	}{
		{"GET", "/v1/Customers", "", ""},
		{"GET", "/v1/Customers", "search.status=OPEN&page_size=5&name=Acme%20Fiber", "search.status=OPEN&page_size=5&name=Acme%20Fiber"},
		{"HEAD", "/v1/RequestLogs", "status=5xx&search.username=crm&page=2", "status=5xx&search.username=crm&page=2"},
		{"GET", "/v1/Events", "after=1200&page_size=500&event_type=customer.updated", "after=1200&page_size=500&event_type=customer.updated"},
		{"GET", "/v1/Customers/{id}/History", "sort=-version&page=3", "sort=-version&page=3"},
		{"GET", "/v1/WebhookDeliveries", "status=FAILED&event_id=9&page=2", "status=FAILED&event_id=9&page=2"},
		{"GET", "/v1/WebhookReceivers", "page_size=20&secret=abc", "page_size=20&secret=***"},
		// Whatever the resource does not know keeps at most a plain lower-case name.
		{"GET", "/v1/Customers", "api_key=abc&password=hunter2&tax_id=12-3456789&security_pin=1234",
			"api_key=***&password=***&tax_id=***&security_pin=***"},
		{"GET", "/v1/Customers", "debug=&x=1", "debug=***&x=***"},
		{"GET", "/v1/RequestLogs", "sort=status", "sort=***"},
		// Writes take no parameters: none keeps its value.
		{"PUT", "/v1/Customers/{id}", "page=1", "page=***"},
		{"GET", "/v1/Customers", "page=1", "page=1"},
		{"GET", "unmatched", "page=1", "page=***"},
		// A bare word (a token?), or a name with capitals, digits or other characters (a
		// tax id, a password) is only a ***.
		{"GET", "/v1/Customers", "ghp_token123&123-45-6789=x&PIN-7391=1&my%20secret=1&%zz=1&page=2&page_size",
			"***&***&***&***&***&page=2&***"},
		{"GET", "/v1/Customers", "&&page=2&", "page=2"},
	} {
		if got := cleanQuery(knownParams(tc.method, tc.route), tc.raw); got != tc.want {
			t.Errorf("%s %s ?%s: got %q, want %q", tc.method, tc.route, tc.raw, got, tc.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"ok":false,"message":"customer 9 not found"}`:                            "customer 9 not found",
		`{"ok":false,"message":"2 fields are invalid","errors":[{"field":"a","mes`: "2 fields are invalid",
		`{"ok":false,"mess`: "",
		``:                  "",
		`[1]`:               "",
	} {
		if got := errorMessage([]byte(body)); got != want {
			t.Errorf("%s: got %q, want %q", body, got, want)
		}
	}
}
