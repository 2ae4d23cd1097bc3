package console

import (
	"net/http"

	"github.com/custd/custd/internal/customer"
)

// route is one method and path of the console.
type route struct {
	pattern string
	handler http.Handler
}

// routes is the whole console: every page, who may open it, and the forms it takes. A
// form (POST) is taken only with its session's token; pages that change customers only
// from users whose role may.
func (c *console) routes() []route {
	return []route{
		{"GET /console/{$}", c.public(c.home)},
		{"GET /console/sign-in", c.public(c.signInForm)},
		{"POST /console/sign-in", c.public(c.signIn)},
		{"POST /console/sign-out", c.signedIn(c.signOut)},

		{"GET /console/customers", c.signedIn(c.customerList)},
		{"GET /console/customers/new", c.writer(c.newCustomer)},
		{"POST /console/customers/new", c.writer(c.createCustomer)},
		{"GET /console/customers/{id}", c.signedIn(c.customerPage)},
		{"POST /console/customers/{id}", c.writer(c.saveCustomer)},
		{"GET /console/customers/{id}/close", c.writer(c.confirmClose)},
		{"POST /console/customers/{id}/close", c.writer(c.closeCustomer)},
		{"GET /console/customers/{id}/history", c.signedIn(c.history)},
		{"GET /console/customers/{id}/history/{version}", c.signedIn(c.version)},

		{"GET /console/requests", c.admin(c.requests)},
		{"GET /console/users", c.admin(c.users)},
		{"POST /console/users", c.admin(c.addUser)},
		{"POST /console/users/role", c.admin(c.setRole)},
		{"POST /console/users/password", c.admin(c.resetPassword)},
		{"GET /console/webhooks", c.signedIn(c.webhooks)},
		{"POST /console/webhooks/deliveries/{id}/retry", c.admin(c.retryDelivery)},

		{"GET /console/static/{file}", routed(c.static())},
		{"/console/", c.public(func(w http.ResponseWriter, r *http.Request, v *visit) error {
			return customer.Errorf(customer.NotFound, "there is no page %s in the console", clip(r.URL.Path))
		})},
	}
}
