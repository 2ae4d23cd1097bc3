package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/custd/custd/internal/customer"
)

// route is one method and path of the API.
type route struct {
	method  string
	pattern string
	handler http.Handler
}

// routes is the whole API surface.
func (s *server) routes() []route {
	return []route{
		{"GET", "/healthz", s.handle(s.healthz)},
		{"GET", "/readyz", s.handle(s.readyz)},
		{"GET", "/openapi.json", s.serveOpenAPI()},
		{"GET", "/docs", s.serveReference()},

		{"POST", "/v1/Customers", s.handle(s.requireAuth(true, s.writing(jsonBodies, s.createCustomer)))},
		{"GET", "/v1/Customers", s.handle(s.requireAuth(false, s.searchCustomers))},
		{"GET", "/v1/Customers/{id}", s.handle(s.requireAuth(false, s.getCustomer))},
		{"PUT", "/v1/Customers/{id}", s.handle(s.requireAuth(true, s.writing(jsonBodies, s.replaceCustomer)))},
		{"PATCH", "/v1/Customers/{id}", s.handle(s.requireAuth(true, s.writing(patchBodies, s.patchCustomer)))},
		{"DELETE", "/v1/Customers/{id}", s.handle(s.requireAuth(true, s.writing(nil, s.closeCustomer)))},
		{"GET", "/v1/Customers/{id}/History", s.handle(s.requireAuth(false, s.customerHistory))},
		{"GET", "/v1/Customers/{id}/History/{version}", s.handle(s.requireAuth(false, s.customerVersion))},

		{"GET", "/v1/Events", s.handle(s.requireAuth(false, s.events))},

		{"POST", "/v1/WebhookReceivers", s.handle(s.requireAdmin(s.writing(jsonBodies, s.createReceiver)))},
		{"GET", "/v1/WebhookReceivers", s.handle(s.requireAuth(false, s.listReceivers))},
		{"GET", "/v1/WebhookReceivers/{id}", s.handle(s.requireAuth(false, s.getReceiver))},
		{"POST", "/v1/WebhookReceivers/{id}/activate", s.handle(s.requireAdmin(s.writing(optionalJSON, s.activateReceiver)))},
		{"DELETE", "/v1/WebhookReceivers/{id}", s.handle(s.requireAdmin(s.writing(nil, s.deleteReceiver)))},
		{"POST", "/v1/WebhookSubscriptions", s.handle(s.requireAdmin(s.writing(jsonBodies, s.createSubscription)))},
		{"GET", "/v1/WebhookSubscriptions", s.handle(s.requireAuth(false, s.listSubscriptions))},
		{"GET", "/v1/WebhookSubscriptions/{id}", s.handle(s.requireAuth(false, s.getSubscription))},
		{"DELETE", "/v1/WebhookSubscriptions/{id}", s.handle(s.requireAdmin(s.writing(nil, s.deleteSubscription)))},
		{"GET", "/v1/WebhookDeliveries", s.handle(s.requireAuth(false, s.listDeliveries))},
		{"POST", "/v1/WebhookDeliveries/{id}/retry", s.handle(s.requireAdmin(s.writing(nil, s.retryDelivery)))},

		{"GET", "/v1/RequestLogs", s.handle(s.requireAuth(false, s.requestLogs))},
		{"GET", "/metrics", s.serveMetrics()},
	}
}

// addRoutes registers the routes, a 405 naming the allowed methods for every other
// method on their paths, and a JSON 404 for every other path. Under /v1/ both come only
// after the credentials are checked: a caller without valid ones learns nothing about
// which paths and methods exist there.
func (s *server) addRoutes(mux *http.ServeMux, routes []route) {
	allowed := map[string][]string{}
	var patterns []string
	for _, rt := range routes {
		mux.Handle(rt.method+" "+rt.pattern, routed(rt.handler))
		if allowed[rt.pattern] == nil {
			patterns = append(patterns, rt.pattern)
		}
		allowed[rt.pattern] = append(allowed[rt.pattern], rt.method)
		if rt.method == http.MethodGet {
			allowed[rt.pattern] = append(allowed[rt.pattern], http.MethodHead)
		}
	}
	for _, p := range patterns {
		allow := strings.Join(allowed[p], ", ")
		mux.Handle(p, routed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if apiPath(r.URL.Path) {
				if _, err := s.authorize(r, false); err != nil {
					s.writeError(w, r, err)
					return
				}
			}
			w.Header().Set("Allow", allow)
			s.writeError(w, r, customer.Errorf(customer.MethodNotAllowed, "%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, allow))
		})))
	}
	mux.Handle("/", s.handle(func(r *http.Request) (*response, error) {
		if apiPath(r.URL.Path) {
			if _, err := s.authorize(r, false); err != nil {
				return nil, err
			}
		}
		return nil, customer.Errorf(customer.NotFound, "no such resource: %s", r.URL.Path)
	}))
}

// routed tells the request's state which route matched, by its pattern without the
// method (the metrics' and the log's route), and the customer its path names.
func routed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := stateOf(r); st != nil {
			_, st.route, _ = strings.Cut(r.Pattern, " ")
			if st.route == "" {
				st.route = r.Pattern
			}
			if id, ok := parseID(r.PathValue("id")); ok {
				st.customerID = id
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) healthz(*http.Request) (*response, error) {
	return jsonResponse(http.StatusOK, map[string]any{"ok": true, "status": "alive"})
}

func (s *server) readyz(r *http.Request) (*response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), min(readyTimeout, s.storeTimeout))
	defer cancel()
	if err := s.ping(ctx); err != nil {
		return nil, err
	}
	return jsonResponse(http.StatusOK, map[string]any{"ok": true, "status": "ready"})
}
