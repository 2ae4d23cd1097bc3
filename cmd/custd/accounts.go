package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/custd/custd/internal/customer"
)

// The commands that manage clients and users. They work on a store that exists, also
// while servers run on it: a change reaches every server within 5 seconds.

// existingStore opens the store of an account command and says on standard error which
// it is, so that a command run from the wrong folder is noticed.
func (inv *invocation) existingStore() (store, error) {
	s, err := inv.openStore(false)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(inv.stderr, "store: %s\n", storeName(inv.flags.lookup("db")))
	return s, nil
}

// login splits the USERNAME@CODE argument.
func (inv *invocation) login() (username, code string, err error) {
	username, code, ok := customer.SplitLogin(inv.args[0])
	if !ok {
		return "", "", fmt.Errorf("%s: %q is not USERNAME@CODE", inv.cmd.name, inv.args[0])
	}
	return username, code, nil
}

const passwordHelp = `The password comes from CUSTD_PASSWORD, or from the first line of standard input with
--password-stdin, or else is generated (24 characters) and printed once. It must have 12
to 72 bytes.`

var clientListCommand = &command{
	name:    "client list",
	summary: "list the clients (billing companies) and how many users each has",
	about:   "Lists every client: its code, name, number of users and when it was added.",
	store:   true,
	run: func(inv *invocation) error {
		s, err := inv.existingStore()
		if err != nil {
			return err
		}
		defer s.Close()
		clients, err := s.Clients(inv.ctx)
		if err != nil {
			return err
		}
		users, err := s.Users(inv.ctx, "")
		if err != nil {
			return err
		}
		count := map[int64]int{}
		for _, u := range users {
			count[u.ClientID]++
		}
		tw := tabwriter.NewWriter(inv.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CODE\tNAME\tUSERS\tCREATED")
		for _, c := range clients {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", c.Code, c.Name, count[c.ID], c.CreatedAt.Format("2006-01-02 15:04 MST"))
		}
		return tw.Flush()
	},
}

var clientAddCommand = &command{
	name:    "client add",
	args:    "CODE",
	nargs:   1,
	summary: "add a client (a billing company, a tenant)",
	about: `Adds a client. Its code (1 to 32 letters, digits, '-', '_' or '.') is the part of every
login after the last '@', matched ignoring letter case. Each client sees only its own
customers.`,
	store: true,
	flags: func(f *flags) {
		f.String("name", "NAME", "", "", "the client's display name (by default its code)")
	},
	run: func(inv *invocation) error {
		name := inv.flags.lookup("name")
		if name == "" {
			name = inv.args[0]
		}
		s, err := inv.existingStore()
		if err != nil {
			return err
		}
		defer s.Close()
		c, err := s.CreateClient(inv.ctx, inv.args[0], name)
		if err != nil {
			return oneLine(err)
		}
		fmt.Fprintf(inv.stdout, "created client %s (%s)\n", c.Code, c.Name)
		return s.Close()
	},
}

var userListCommand = &command{
	name:    "user list",
	summary: "list the users, of every client or of one",
	about:   "Lists the users: login, role, whether they may sign in, and when they were added.",
	store:   true,
	flags: func(f *flags) {
		f.String("client", "CODE", "", "", "list only the users of this client")
	},
	run: func(inv *invocation) error {
		s, err := inv.existingStore()
		if err != nil {
			return err
		}
		defer s.Close()
		users, err := s.Users(inv.ctx, inv.flags.lookup("client"))
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(inv.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "LOGIN\tROLE\tSTATUS\tCREATED")
		for _, u := range users {
			status := "enabled"
			if u.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Login(), u.Role, status, u.CreatedAt.Format("2006-01-02 15:04 MST"))
		}
		return tw.Flush()
	},
}

var userAddCommand = &command{
	name:    "user add",
	args:    "USERNAME@CODE",
	nargs:   1,
	summary: "add an API user to a client",
	about: `Adds a user to an existing client. The login splits at its last '@', so a username may
be an email address (ann@example.com@acme). Roles: admin and readwrite may write,
readonly only reads.

` + passwordHelp,
	store: true,
	flags: func(f *flags) {
		f.String("role", "ROLE", "", string(customer.RoleReadWrite), "admin, readwrite or readonly")
		f.Bool("password-stdin", "", "read the password from the first line of standard input")
	},
	run: func(inv *invocation) error {
		role, err := inv.role(inv.flags.lookup("role"))
		if err != nil {
			return err
		}
		username, code, err := inv.login()
		if err != nil {
			return err
		}
		password, generated, hash, err := inv.newPassword()
		if err != nil {
			return err
		}
		s, err := inv.existingStore()
		if err != nil {
			return err
		}
		defer s.Close()
		u, err := s.CreateUser(inv.ctx, &customer.NewUser{ClientCode: code, Username: username, Role: role, PasswordHash: hash})
		if err != nil {
			return oneLine(err)
		}
		fmt.Fprintf(inv.stdout, "created user %s with role %s\n", u.Login(), u.Role)
		if generated {
			fmt.Fprintf(inv.stdout, "password: %s\n", password)
		}
		return s.Close()
	},
}

var userSetRoleCommand = &command{
	name:    "user set-role",
	args:    "USERNAME@CODE ROLE",
	nargs:   2,
	summary: "change what a user may do",
	about: `Gives a user another role: admin or readwrite (may write), or readonly. Servers apply
it within 5 seconds.`,
	store: true,
	run: func(inv *invocation) error {
		role, err := inv.role(inv.args[1])
		if err != nil {
			return err
		}
		return inv.changeUser(&customer.UserChange{Role: &role}, func(u *customer.User) string {
			return fmt.Sprintf("user %s now has role %s", u.Login(), u.Role)
		})
	},
}

var userDisableCommand = &command{
	name:    "user disable",
	args:    "USERNAME@CODE",
	nargs:   1,
	summary: "stop a user from signing in",
	about: `Disables a user: its requests get 401 from every server within 5 seconds. The user
stays (customers name who created them); custd user enable lets it sign in again.`,
	store: true,
	run: func(inv *invocation) error {
		yes := true
		return inv.changeUser(&customer.UserChange{Disabled: &yes}, func(u *customer.User) string {
			return fmt.Sprintf("disabled user %s: servers refuse it within 5 seconds", u.Login())
		})
	},
}

var userEnableCommand = &command{
	name:    "user enable",
	args:    "USERNAME@CODE",
	nargs:   1,
	summary: "let a disabled user sign in again",
	about:   "Enables a disabled user, with the password and role it had.",
	store:   true,
	run: func(inv *invocation) error {
		no := false
		return inv.changeUser(&customer.UserChange{Disabled: &no}, func(u *customer.User) string {
			return fmt.Sprintf("enabled user %s", u.Login())
		})
	},
}

var userResetPasswordCommand = &command{
	name:    "user reset-password",
	args:    "USERNAME@CODE",
	nargs:   1,
	summary: "give a user a new password (also how a lost admin password is recovered)",
	about: `Gives a user a new password; the old one stops working on every server within 5
seconds. This is also how a lost password of admin@demo is recovered, by whoever can
reach the store.

` + passwordHelp,
	store: true,
	flags: func(f *flags) {
		f.Bool("password-stdin", "", "read the password from the first line of standard input")
	},
	run: func(inv *invocation) error {
		if _, _, err := inv.login(); err != nil {
			return err
		}
		password, generated, hash, err := inv.newPassword()
		if err != nil {
			return err
		}
		return inv.changeUser(&customer.UserChange{PasswordHash: &hash}, func(u *customer.User) string {
			if generated {
				return fmt.Sprintf("changed the password of %s\npassword: %s", u.Login(), password)
			}
			return fmt.Sprintf("changed the password of %s", u.Login())
		})
	},
}

// changeUser applies ch to the user USERNAME@CODE and prints what done says.
func (inv *invocation) changeUser(ch *customer.UserChange, done func(*customer.User) string) error {
	username, code, err := inv.login()
	if err != nil {
		return err
	}
	s, err := inv.existingStore()
	if err != nil {
		return err
	}
	defer s.Close()
	u, err := s.UpdateUser(inv.ctx, code, username, ch)
	if err != nil {
		return oneLine(err)
	}
	fmt.Fprintln(inv.stdout, done(u))
	return s.Close()
}

// role reads a role name, ignoring letter case.
func (inv *invocation) role(name string) (customer.Role, error) {
	r, ok := customer.ParseEnum(name, customer.Roles)
	if !ok {
		return "", fmt.Errorf("%s: the role must be one of %s, not %q", inv.cmd.name, customer.EnumList(customer.Roles), name)
	}
	return r, nil
}

// newPassword returns the password of user add and user reset-password, whether it was
// generated (and so must be shown), and its hash.
func (inv *invocation) newPassword() (password string, generated bool, hash string, err error) {
	password = inv.getenv("CUSTD_PASSWORD")
	switch {
	case inv.flags.lookup("password-stdin") == "true":
		line, err := bufio.NewReader(inv.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, "", fmt.Errorf("reading the password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	case password == "":
		password, generated = customer.NewPassword(), true
	}
	hash, err = customer.HashPassword(password)
	if err != nil {
		return "", false, "", oneLine(err)
	}
	return password, generated, hash, nil
}
