package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/custd/custd/internal/customer"
)

// usersPage is what the users page shows.
type usersPage struct {
	Users  []*customer.User
	Roles  []string
	Self   int32 // the signed-in admin, whose own role the page does not offer to change
	Notice string
	// Password is a password just set, shown this once, with whose it is.
	Password, PasswordOf string
	// The form that adds a user, as sent, with its problems.
	Add     map[string]string
	Errors  map[string][]string
	Summary []summaryItem
}

// users lists the client's users with their roles, to its admins, with the forms that add
// one, change a role and give a new password. Users are the API's: the same names and
// passwords sign in to both.
func (c *console) users(w http.ResponseWriter, r *http.Request, v *visit) error {
	return c.showUsers(w, r, v, http.StatusOK, usersPage{Notice: notices[r.URL.Query().Get("done")]})
}

func (c *console) showUsers(w http.ResponseWriter, r *http.Request, v *visit, status int, p usersPage) error {
	us, err := c.store.Users(r.Context(), v.user.ClientCode)
	if err != nil {
		return err
	}
	p.Users, p.Roles, p.Self = us, names(customer.Roles), v.user.ID
	if p.Add == nil {
		p.Add = map[string]string{"role": string(customer.RoleReadWrite)}
	}
	c.render(w, r, v, status, "users", "Users", p)
	return nil
}

// addUser adds a user to the admin's client, with the password given or, when none is,
// a new one shown once.
func (c *console) addUser(w http.ResponseWriter, r *http.Request, v *visit) error {
	username, role, password := strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("role"), r.PostForm.Get("password")
	generated := password == ""
	if generated {
		password = customer.NewPassword()
	}
	var problems customer.Problems
	hash, err := customer.HashPassword(password)
	var e *customer.Error
	if errors.As(err, &e) {
		problems = append(problems, e.Fields...)
		hash = "-" // to check the rest of the user
	} else if err != nil {
		return err
	}
	nu := &customer.NewUser{ClientCode: v.user.ClientCode, Username: username, Role: customer.Role(role), PasswordHash: hash}
	if errors.As(nu.Validate(), &e) {
		problems = append(problems, e.Fields...)
	}
	if len(problems) == 0 {
		var u *customer.User
		if u, err = c.store.CreateUser(r.Context(), nu); err == nil {
			p := usersPage{Notice: "User " + u.Login() + " added, with the role " + string(u.Role) + "."}
			if generated {
				p.Password, p.PasswordOf = password, u.Login()
			}
			return c.showUsers(w, r, v, http.StatusOK, p)
		}
	} else {
		err = problems.Err()
	}
	if k := customer.KindOf(err); k != customer.Invalid && k != customer.Conflict {
		return err
	}
	p := usersPage{Add: map[string]string{"username": username, "role": role}, Errors: map[string][]string{}}
	errors.As(err, &e)
	for _, f := range e.Fields {
		p.Errors[f.Field] = append(p.Errors[f.Field], f.Message)
		p.Summary = append(p.Summary, summaryItem{Label: map[string]string{"username": "Username", "role": "Role", "password": "Password"}[f.Field],
			Message: f.Message, Anchor: "u-" + f.Field})
	}
	if len(e.Fields) == 0 {
		p.Summary = append(p.Summary, summaryItem{Label: "Username", Message: e.Message, Anchor: "u-username"})
	}
	stateOf(r).failure = e.Message
	return c.showUsers(w, r, v, statusOf[customer.KindOf(err)], p)
}

// setRole changes the role of one of the client's users; an admin's own role is not
// changed here, so that a client is not left without an admin by a slip.
func (c *console) setRole(w http.ResponseWriter, r *http.Request, v *visit) error {
	username := r.PostForm.Get("username")
	if customer.Fold(username) == customer.Fold(v.user.Username) {
		return customer.Errorf(customer.Conflict, "you cannot change your own role; another admin of your client can")
	}
	role, ok := customer.ParseEnum(r.PostForm.Get("role"), customer.Roles)
	if !ok {
		return customer.Problems{{Field: "role", Message: "must be one of " + customer.EnumList(customer.Roles)}}.Err()
	}
	u, err := c.store.UpdateUser(r.Context(), v.user.ClientCode, username, &customer.UserChange{Role: &role})
	if err != nil {
		return err
	}
	return c.showUsers(w, r, v, http.StatusOK, usersPage{Notice: "User " + u.Login() + " now has the role " + string(u.Role) + "."})
}

// resetPassword gives one of the client's users a new password, shown this once; the
// user's console sessions end with the old one.
func (c *console) resetPassword(w http.ResponseWriter, r *http.Request, v *visit) error {
	password := customer.NewPassword()
	hash, err := customer.HashPassword(password)
	if err != nil {
		return err
	}
	u, err := c.store.UpdateUser(r.Context(), v.user.ClientCode, r.PostForm.Get("username"), &customer.UserChange{PasswordHash: &hash})
	if err != nil {
		return err
	}
	p := usersPage{Notice: "User " + u.Login() + " has a new password.", Password: password, PasswordOf: u.Login()}
	if u.ID == v.user.ID { // this very session began with the old password
		p.Notice += " Your session has ended with the old one: sign in again with it."
	}
	return c.showUsers(w, r, v, http.StatusOK, p)
}
