package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

var (
	textInput  = regexp.MustCompile(`<input type="(?:text|hidden)"(?: id="[^"]*")? name="([^"]+)" value="([^"]*)"`)
	checkInput = regexp.MustCompile(`<input type="checkbox" id="[^"]*" name="([^"]+)"( checked)?`)
	selectTag  = regexp.MustCompile(`(?s)<select id="[^"]*" name="([^"]+)"[^>]*>(.*?)</select>`)
	option     = regexp.MustCompile(`<option(?: value="([^"]*)")?( selected)?>([^<]*)</option>`)
)

// formOf returns what the browser would send for the form of a page that posts to
// action, as the page shows it.
func formOf(t *testing.T, p *page, action string) url.Values {
	t.Helper()
	start := strings.Index(p.body, `<form method="post" action="`+action+`"`)
	if start < 0 {
		t.Fatalf("no form posting to %s in:\n%.2000s", action, p.body)
	}
	body := p.body[start:]
	body = body[:strings.Index(body, "</form>")]
	v := url.Values{}
	for _, m := range textInput.FindAllStringSubmatch(body, -1) {
		v.Add(unescape(m[1]), unescape(m[2]))
	}
	for _, m := range checkInput.FindAllStringSubmatch(body, -1) {
		if m[2] != "" {
			v.Add(unescape(m[1]), "on")
		}
	}
	for _, m := range selectTag.FindAllStringSubmatch(body, -1) {
		for _, o := range option.FindAllStringSubmatch(m[2], -1) {
			if o[2] != "" {
				value := o[3]
				if strings.Contains(o[0], `value="`) {
					value = o[1]
				}
				v.Set(unescape(m[1]), unescape(value))
			}
		}
	}
	return v
}

func TestSignInAndOut(t *testing.T) {
	eachStore(t, func(t *testing.T, s *site) {
		b := s.browser()
		// Not signed in: sent to sign in, and back afterwards.
		p := b.get("/console/customers?name=ada").want(t, http.StatusSeeOther)
		if loc := p.header.Get("Location"); loc != "/console/sign-in?next=%2Fconsole%2Fcustomers%3Fname%3Dada" {
			t.Fatalf("sent to %q", loc)
		}
		form := b.get(p.header.Get("Location")).want(t, http.StatusOK)
		if form.hidden("next") != "/console/customers?name=ada" || form.hidden("token") == "" {
			t.Fatalf("sign-in form: next %q, token %q", form.hidden("next"), form.hidden("token"))
		}
		// A wrong password: refused, told without saying which part is wrong, recorded.
		p = b.do("POST", "/console/sign-in", url.Values{"token": {form.hidden("token")}, "login": {"admin@acme"}, "password": {"not it at all"}})
		p.want(t, http.StatusUnauthorized)
		if !strings.Contains(p.body, "The username or the password is not right.") || strings.Contains(p.body, password) {
			t.Fatalf("failed sign-in page:\n%.2000s", p.body)
		}
		if p.header.Get("Set-Cookie") == "" || strings.Contains(p.header.Get("Set-Cookie"), "custd_console=") {
			t.Fatalf("a failed sign-in set %q", p.header.Values("Set-Cookie"))
		}
		logged := s.requestLog("admin@acme")
		if len(logged) != 1 || logged[0].Method != "POST" || logged[0].Path != "/console/sign-in" || logged[0].Status != 401 ||
			logged[0].Username != "admin" || logged[0].Error != "wrong username or password" {
			t.Fatalf("request log after a failed sign-in: %+v", logged)
		}
		// The right one: a session cookie for the console's pages only, then the page
		// asked for.
		form = b.get("/console/sign-in?next=" + url.QueryEscape("/console/customers?name=ada"))
		p = b.do("POST", "/console/sign-in", url.Values{"token": {form.hidden("token")}, "login": {"Admin@ACME"}, "password": {password},
			"next": {form.hidden("next")}}).want(t, http.StatusSeeOther)
		if loc := p.header.Get("Location"); loc != "/console/customers?name=ada" {
			t.Fatalf("signed in, sent to %q", loc)
		}
		var session *http.Cookie
		for _, ck := range (&http.Response{Header: p.header}).Cookies() {
			if ck.Name == "custd_console" {
				session = ck
			}
		}
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/console/" ||
			session.Secure || len(session.Value) != 43 {
			t.Fatalf("session cookie %+v", session)
		}
		list := b.get("/console/customers").want(t, http.StatusOK)
		if !strings.Contains(list.body, "admin@acme") || list.header.Get("Cache-Control") != "no-store" ||
			!strings.Contains(list.header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Fatalf("customer list: %v\n%.500s", list.header, list.body)
		}
		// Signing out ends the session: its cookie opens nothing any more.
		p = b.do("POST", "/console/sign-out", url.Values{"csrf": {list.hidden("csrf")}}).want(t, http.StatusSeeOther)
		if p.header.Get("Location") != "/console/sign-in?signed_out=1" {
			t.Fatalf("signed out, sent to %q", p.header.Get("Location"))
		}
		replay := s.browser()
		replay.c.Jar.SetCookies(mustURL(t, s.url+"/console/"), []*http.Cookie{{Name: "custd_console", Value: session.Value}})
		replay.get("/console/customers").want(t, http.StatusSeeOther)
		if _, err := s.store.Session(context.Background(), customer.SessionHash(session.Value)); !customer.IsKind(err, customer.NotFound) {
			t.Fatalf("the session after sign-out: %v", err)
		}
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSessionCookieSecureBehindTLS(t *testing.T) {
	s := newSite(t, storeKinds[0].open(t))
	b := s.browser()
	form := b.do("GET", "/console/sign-in", nil, "X-Forwarded-Proto", "https").want(t, http.StatusOK)
	p := b.do("POST", "/console/sign-in", url.Values{"token": {form.hidden("token")}, "login": {"admin@acme"}, "password": {password}},
		"X-Forwarded-Proto", "https").want(t, http.StatusSeeOther)
	for _, ck := range (&http.Response{Header: p.header}).Cookies() {
		if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
			t.Errorf("cookie behind TLS: %+v", ck)
		}
	}
}

func TestIdleSessionsEnd(t *testing.T) {
	s := newSite(t, storeKinds[0].open(t))
	b := s.signedIn("admin@acme")
	// Used every 20 minutes, a session lasts.
	for range 3 {
		s.wait(20 * time.Minute)
		b.get("/console/customers").want(t, http.StatusOK)
	}
	// Left for 30 minutes, it ends, and its row goes.
	s.wait(30 * time.Minute)
	p := b.get("/console/webhooks").want(t, http.StatusSeeOther)
	if !strings.HasPrefix(p.header.Get("Location"), "/console/sign-in?next=") {
		t.Fatalf("an idle session sent to %q", p.header.Get("Location"))
	}
	n, err := s.store.PurgeSessions(context.Background(), s.clock().Add(time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("sessions left after the idle one was refused: %d, %v", n, err)
	}
	// A form posted by an idle session is not taken either.
	b = s.signedIn("admin@acme")
	token := b.csrf()
	s.wait(31 * time.Minute)
	p = b.do("POST", "/console/sign-out", url.Values{"csrf": {token}}).want(t, http.StatusSeeOther)
	if p.header.Get("Location") != "/console/sign-in?expired=1" {
		t.Fatalf("a form of an idle session sent to %q", p.header.Get("Location"))
	}
}

func TestSignInThrottled(t *testing.T) {
	s := newSite(t, storeKinds[0].open(t))
	b := s.browser()
	// Five failures are free; the sixth locks the login out from this address.
	for i := range 6 {
		b.signIn("clerk@acme", "wrong password "+strconv.Itoa(i)).want(t, http.StatusUnauthorized)
	}
	// Locked out now, even with the right password, and told when to try again.
	p := b.signIn("clerk@acme", password).want(t, http.StatusTooManyRequests)
	if p.header.Get("Retry-After") == "" || !strings.Contains(p.body, "Too many failed sign-ins") {
		t.Fatalf("locked out: %v\n%.1000s", p.header, p.body)
	}
	// Other logins are not held back.
	s.signedIn("admin@acme")
	logged := s.requestLog("admin@acme")
	if len(logged) != 8 || logged[1].Status != 429 || logged[1].Username != "clerk" || logged[2].Status != 401 {
		t.Fatalf("request log after the lockout: %d records, %+v", len(logged), logged[:min(3, len(logged))])
	}
}

// TestDisabledUser: a disabled user's sessions end, and signing in says why only to whoever
// knows the password; enabled again, it signs in.
func TestDisabledUser(t *testing.T) {
	s := newSite(t, storeKinds[0].open(t))
	b := s.signedIn("clerk@acme")
	off, on := true, false
	if _, err := s.store.UpdateUser(context.Background(), "acme", "clerk", &customer.UserChange{Disabled: &off}); err != nil {
		t.Fatal(err)
	}
	b.get("/console/customers").want(t, http.StatusSeeOther)
	if p := b.signIn("clerk@acme", password).want(t, http.StatusUnauthorized); !strings.Contains(p.body, "User clerk@acme is disabled") {
		t.Fatalf("a disabled user signing in:\n%.2000s", p.body)
	}
	if p := b.signIn("clerk@acme", "not the password").want(t, http.StatusUnauthorized); strings.Contains(p.body, "disabled") {
		t.Fatal("a wrong password learns that the user is disabled")
	}
	if _, err := s.store.UpdateUser(context.Background(), "acme", "clerk", &customer.UserChange{Disabled: &on}); err != nil {
		t.Fatal(err)
	}
	s.signedIn("clerk@acme")
}

func TestFormsNeedTheirToken(t *testing.T) {
	s := newSite(t, storeKinds[0].open(t))
	c := s.create("admin@acme", ada())
	a, b := s.signedIn("admin@acme"), s.signedIn("clerk@acme")
	edit := formOf(t, a.get("/console/customers/"+strconv.Itoa(int(c.ID))).want(t, http.StatusOK), "/console/customers/"+strconv.Itoa(int(c.ID)))
	edit.Set("email", "changed@example.com")
	for name, form := range map[string]url.Values{
		"no token":                    without(edit, "csrf"),
		"another session's token":     with(edit, "csrf", b.csrf()),
		"a token of no session":       with(edit, "csrf", "x"),
		"an empty token":              with(edit, "csrf", ""),
		"the token of a sign-in form": with(without(edit, "csrf"), "token", a.get("/console/sign-in").hidden("token")),
	} {
		p := a.do("POST", "/console/customers/"+strconv.Itoa(int(c.ID)), form).want(t, http.StatusForbidden)
		if !strings.Contains(p.body, "reload the page") {
			t.Errorf("%s: %.500s", name, p.body)
		}
	}
	// A form posted from another site is refused even with the token.
	a.do("POST", "/console/customers/"+strconv.Itoa(int(c.ID)), edit, "Sec-Fetch-Site", "cross-site").want(t, http.StatusForbidden)
	a.do("POST", "/console/customers/"+strconv.Itoa(int(c.ID)), edit, "Origin", "https://evil.example").want(t, http.StatusForbidden)
	// Sign-in forms too need their own token, from the cookie of the page that showed it.
	fresh := s.browser()
	fresh.do("POST", "/console/sign-in", url.Values{"login": {"admin@acme"}, "password": {password}}).want(t, http.StatusForbidden)
	if got := s.customer("admin@acme", c.ID); got.Version != c.Version {
		t.Fatalf("a refused form changed the customer: version %d", got.Version)
	}
	// With it, the save goes through.
	a.do("POST", "/console/customers/"+strconv.Itoa(int(c.ID)), edit).want(t, http.StatusSeeOther)
}

func without(v url.Values, key string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		if k != key {
			out[k] = vs
		}
	}
	return out
}

func with(v url.Values, key, value string) url.Values {
	out := without(v, key)
	out.Set(key, value)
	return out
}

func TestReadonlyUserCannotWrite(t *testing.T) {
	eachStore(t, func(t *testing.T, s *site) {
		c := s.create("admin@acme", ada())
		path := "/console/customers/" + strconv.Itoa(int(c.ID))
		// The admin's page is the form that changes the customer.
		admin := s.signedIn("admin@acme").get(path).want(t, http.StatusOK)
		edit := formOf(t, admin, path)
		viewer := s.signedIn("viewer@acme")
		for _, p := range []string{path, "/console/customers", path + "/history", "/console/webhooks"} {
			page := viewer.get(p).want(t, http.StatusOK)
			posts := strings.Count(page.body, `method="post"`)
			if posts != 1 || strings.Contains(page.body, "<input type=\"text\" id=\"f-") || strings.Contains(page.body, "New customer") ||
				strings.Contains(page.body, "Close account") || strings.Contains(page.body, "Send again") {
				t.Errorf("%s shows the readonly user write controls (%d forms):\n%.3000s", p, posts, page.body)
			}
		}
		if page := viewer.get(path).body; !strings.Contains(page, "Analytical Engines") || !strings.Contains(page, "London") {
			t.Errorf("the readonly user does not see the customer:\n%.2000s", page)
		}
		// Forged forms, with the viewer's own valid token, are refused.
		token := viewer.csrf()
		edit.Set("csrf", token)
		edit.Set("email", "forged@example.com")
		viewer.do("POST", path, edit).want(t, http.StatusForbidden)
		viewer.do("POST", path+"/close", url.Values{"csrf": {token}, "etag": {c.ETag()}}).want(t, http.StatusForbidden)
		viewer.do("POST", "/console/customers/new", with(edit, "account_number", "NEW-1")).want(t, http.StatusForbidden)
		viewer.get(path+"/close").want(t, http.StatusForbidden)
		viewer.get("/console/customers/new").want(t, http.StatusForbidden)
		viewer.get("/console/requests").want(t, http.StatusForbidden)
		if got := s.customer("admin@acme", c.ID); got.Version != c.Version || *got.Email != *c.Email {
			t.Fatalf("forged forms changed the customer: version %d, email %q", got.Version, *got.Email)
		}
	})
}

func TestOtherClientSeesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, s *site) {
		c := s.create("admin@acme", ada())
		path := "/console/customers/" + strconv.Itoa(int(c.ID))
		acme := s.signedIn("admin@acme")
		acme.get(path).want(t, http.StatusOK)
		acme.get("/console/customers/999999").want(t, http.StatusNotFound) // in acme's request log
		other := s.signedIn("admin@other")
		for _, p := range []string{path, path + "/history", path + "/history/1", path + "/close"} {
			page := other.get(p).want(t, http.StatusNotFound)
			if strings.Contains(page.body, "Lovelace") || strings.Contains(page.body, "Analytical") {
				t.Errorf("%s shows acme's customer to another client", p)
			}
		}
		for _, q := range []string{"", "?name=lovelace", "?account_number=ACC-0001", "?customer_id=" + strconv.Itoa(int(c.ID))} {
			if page := other.get("/console/customers"+q).want(t, http.StatusOK); strings.Contains(page.body, "Lovelace") ||
				strings.Contains(page.body, "Analytical") || !strings.Contains(page.body, "No customer matches.") {
				t.Errorf("the other client's list%s:\n%.3000s", q, page.body)
			}
		}
		form := formOf(t, acme.get(path), path)
		form.Set("csrf", other.csrf())
		other.do("POST", path, form).want(t, http.StatusNotFound)
		other.do("POST", path+"/close", url.Values{"csrf": {form.Get("csrf")}, "etag": {c.ETag()}}).want(t, http.StatusNotFound)
		if page := other.get("/console/requests").want(t, http.StatusOK); strings.Contains(page.body, "/console/customers/999999") ||
			!strings.Contains(page.body, path+"/history") {
			t.Errorf("the other client's request log shows acme's requests")
		}
		if got := s.customer("admin@acme", c.ID); got.Version != c.Version {
			t.Fatalf("another client's forms changed the customer: version %d", got.Version)
		}
	})
}

func TestEditWritesThroughTheDomain(t *testing.T) {
	eachStore(t, func(t *testing.T, s *site) {
		c := s.create("admin@acme", ada())
		path := "/console/customers/" + strconv.Itoa(int(c.ID))
		b := s.signedIn("clerk@acme")
		form := formOf(t, b.get(path).want(t, http.StatusOK), path)
		if form.Get("etag") != c.ETag() {
			t.Fatalf("the form carries version %q, want %q", form.Get("etag"), c.ETag())
		}
		// Two broken rules, and a number that is no number: all three next to their
		// fields, nothing written.
		form.Set("email", "not an email")
		form.Set("auto_debit.day", "40")
		form.Set("finance.payment_terms_days", "thirty")
		form.Set("fields[1].field_id", "3") // the same field_id as row 0
		p := b.do("POST", path, form).want(t, http.StatusBadRequest)
		for field, msg := range map[string]string{
			"email":                      "must be a valid email address",
			"auto_debit-day":             "must be from 1 to 31",
			"finance-payment_terms_days": "must be a whole number",
			"fields-1-field_id":          "must be unique within fields",
		} {
			id := "f-" + field
			if !strings.Contains(p.body, `id="`+id+`-error">`+msg) || !regexp.MustCompile(`id="`+id+`"[^>]*aria-invalid="true"`).MatchString(p.body) ||
				!regexp.MustCompile(`id="`+id+`"[^>]*aria-describedby="`+id+`-error`).MatchString(p.body) ||
				!strings.Contains(p.body, `<a href="#`+id+`">`) {
				t.Errorf("the error of %s is not next to its input and in the summary", field)
			}
		}
		if !strings.Contains(p.body, "4 fields need a change") || !strings.Contains(p.body, `value="not an email"`) {
			t.Errorf("the refused form:\n%.4000s", p.body)
		}
		if got := s.customer("admin@acme", c.ID); got.Version != c.Version {
			t.Fatalf("a refused form was written: version %d", got.Version)
		}
		form = formOf(t, p, path)
		form.Set("email", "ada@example.org")
		form.Set("auto_debit.day", "28")
		form.Set("finance.payment_terms_days", "45")
		form.Set("fields[1].field_id", "1")
		p = b.do("POST", path, form).want(t, http.StatusSeeOther)
		if loc := p.header.Get("Location"); loc != path+"?done=saved" {
			t.Fatalf("saved, sent to %q", loc)
		}
		got := s.customer("admin@acme", c.ID)
		if got.Version != c.Version+1 || *got.Email != "ada@example.org" || *got.AutoDebit.Day != 28 || *got.Finance.PaymentTermsDays != 45 {
			t.Fatalf("saved: %+v", got)
		}
		// History names the console's user and request, as for any API write.
		h, err := s.store.CustomerHistory(context.Background(), got.ClientID, got.ID, &customer.HistoryQuery{Page: 1, PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		v := h.Versions[0]
		if v.Operation != customer.OpReplace || v.Username != "clerk@acme" || v.UserID != s.users["clerk@acme"].ID ||
			v.RequestID != p.header.Get("X-Request-Id") || v.RequestID == "" {
			t.Fatalf("the version: %+v; the save's request id %q", v, p.header.Get("X-Request-Id"))
		}
		page := b.get(path+"?done=saved").want(t, http.StatusOK)
		if !strings.Contains(page.body, "Saved.") || !strings.Contains(page.body, `value="ada@example.org"`) {
			t.Errorf("after saving:\n%.2000s", page.body)
		}
		// The refused save and the saves are in the request log.
		var statuses []int
		for _, r := range s.requestLog("admin@acme") {
			if r.Path == path && r.Method == "POST" {
				statuses = append(statuses, r.Status)
				if r.Status == 400 && (r.Error != "4 fields are invalid" || r.CustomerID != c.ID || r.Username != "clerk") {
					t.Errorf("the refused save's record: %+v", r)
				}
			}
		}
		if len(statuses) != 2 || statuses[0] != 303 || statuses[1] != 400 {
			t.Errorf("request log of the saves: %v", statuses)
		}
	})
}

// TestUntouchedFormChangesNothing: a customer's form saved as shown makes a version
// equal to the one before, so the form holds every field, and reads each as it shows it.
func TestUntouchedFormChangesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, s *site) {
		b := s.signedIn("admin@acme")
		for _, w := range []customer.Writable{ada(), {Status: customer.StatusProspect}, {Status: customer.StatusClosed, Email: ptr("")}} {
			c := s.create("admin@acme", w)
			path := "/console/customers/" + strconv.Itoa(int(c.ID))
			b.do("POST", path, formOf(t, b.get(path).want(t, http.StatusOK), path)).want(t, http.StatusSeeOther)
			got := s.customer("admin@acme", c.ID)
			before, _ := json.Marshal(c.Writable)
			after, _ := json.Marshal(got.Writable)
			if got.Version != c.Version+1 || string(before) != string(after) {
				t.Errorf("saved untouched:\nbefore %s\nafter  %s", before, after)
			}
			if page := b.get(path+"/history").want(t, http.StatusOK); !strings.Contains(page.body, "Nothing changed.") {
				t.Errorf("the history of an untouched save:\n%.3000s", page.body)
			}
		}
	})
}

func TestConflictingSaveShowsTheOtherChanges(t *testing.T) {
	eachStore(t, func(t *testing.T, s *site) {
		c := s.create("admin@acme", ada())
		path := "/console/customers/" + strconv.Itoa(int(c.ID))
		mine, theirs := s.signedIn("admin@acme"), s.signedIn("clerk@acme")
		myForm := formOf(t, mine.get(path), path)
		theirForm := formOf(t, theirs.get(path), path)
		theirForm.Set("billing_address.city", "Paris")
		theirForm.Set("email", "theirs@example.com")
		theirs.do("POST", path, theirForm).want(t, http.StatusSeeOther)

		myForm.Set("email", "mine@example.com")
		myForm.Set("account_number", "ACC-0002")
		p := mine.do("POST", path, myForm).want(t, http.StatusConflict)
		got := s.customer("admin@acme", c.ID)
		if *got.Email != "theirs@example.com" || got.Version != c.Version+1 {
			t.Fatalf("the losing save overwrote: %q, version %d", *got.Email, got.Version)
		}
		for _, want := range []string{
			"Someone else saved this customer after you opened it",
			"by <strong>clerk@acme</strong>",
			`<span class="what">Billing address: City</span>: <span class="from">London</span>`,
			`<span class="to">Paris</span>`,
			// The form: theirs, with mine on top, and a note where both changed.
			`name="billing_address.city" value="Paris"`,
			`name="email" value="mine@example.com"`,
			`name="account_number" value="ACC-0002"`,
			"Saved meanwhile as “theirs@example.com”; the value you entered is kept.",
			`name="etag" value="&#34;` + strconv.Itoa(int(c.ID)) + `-` + strconv.FormatInt(got.Version, 10) + `&#34;"`,
		} {
			if !strings.Contains(p.body, want) {
				t.Errorf("the conflict page does not show %s", want)
			}
		}
		mine.do("POST", path, formOf(t, p, path)).want(t, http.StatusSeeOther)
		got = s.customer("admin@acme", c.ID)
		if *got.Email != "mine@example.com" || got.BillingAddress.City != "Paris" || *got.AccountNumber != "ACC-0002" {
			t.Fatalf("after saving again: email %q, city %q, account %q", *got.Email, got.BillingAddress.City, *got.AccountNumber)
		}
	})
}

func TestCreateAndClose(t *testing.T) {
	eachStore(t, func(t *testing.T, s *site) {
		b := s.signedIn("clerk@acme")
		form := formOf(t, b.get("/console/customers/new").want(t, http.StatusOK), "/console/customers/new")
		form.Set("account_number", "NEW-1")
		form.Set("billing_address.company_name", "Babbage Works")
		form.Set("fields[0].field_id", "9")
		form.Set("fields[0].value", "x")
		p := b.do("POST", "/console/customers/new", form).want(t, http.StatusSeeOther)
		loc := p.header.Get("Location")
		id, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(loc, "/console/customers/"), "?done=created"))
		if err != nil {
			t.Fatalf("created, sent to %q", loc)
		}
		c := s.customer("admin@acme", int32(id))
		if *c.AccountNumber != "NEW-1" || c.Status != customer.StatusOpen || c.BillingAddress.CompanyName != "Babbage Works" ||
			c.ServiceAddress != nil || len(c.Fields) != 1 || c.Fields[0] != (customer.CustomField{FieldID: 9, Value: "x"}) {
			t.Fatalf("created %+v", c)
		}
		// The same account number again is refused, with the form kept.
		p = b.do("POST", "/console/customers/new", form).want(t, http.StatusConflict)
		if !strings.Contains(p.body, "account_number &#34;NEW-1&#34; is already used by customer") {
			t.Fatalf("a taken account number:\n%.3000s", p.body)
		}

		path := "/console/customers/" + strconv.Itoa(id)
		confirm := b.get(path+"/close").want(t, http.StatusOK)
		b.do("POST", path+"/close", formOf(t, confirm, path+"/close")).want(t, http.StatusSeeOther)
		closed := s.customer("admin@acme", c.ID)
		if closed.Status != customer.StatusClosed || closed.CloseDate == nil {
			t.Fatalf("closed: %+v", closed)
		}
		h, err := s.store.CustomerHistory(context.Background(), c.ClientID, c.ID, &customer.HistoryQuery{Page: 1, PageSize: 5})
		if err != nil || len(h.Versions) != 2 || h.Versions[0].Operation != customer.OpClose || h.Versions[1].Operation != customer.OpCreate ||
			h.Versions[0].Username != "clerk@acme" {
			t.Fatalf("history: %+v, %v", h, err)
		}
		// A confirmation of an older version asks again, saying what changed.
		b.do("POST", path+"/close", formOf(t, confirm, path+"/close")).want(t, http.StatusConflict)
	})
}

func TestCustomerList(t *testing.T) {
	s := newSite(t, storeKinds[0].open(t))
	ada := s.create("admin@acme", ada())
	s.create("admin@acme", customer.Writable{Status: customer.StatusPending, BillingAddress: &customer.Address{FirstName: "Grace", LastName: "Hopper"}})
	b := s.signedIn("viewer@acme")
	page := b.get("/console/customers?name=lovel").want(t, http.StatusOK)
	if !strings.Contains(page.body, "Analytical Engines") || strings.Contains(page.body, "Grace Hopper") {
		t.Fatalf("searching by name:\n%.3000s", page.body)
	}
	page = b.get("/console/customers?status=PENDING&sort=account_number").want(t, http.StatusOK)
	if strings.Contains(page.body, "Analytical Engines") || !strings.Contains(page.body, "Grace Hopper") ||
		!strings.Contains(page.body, `aria-sort="ascending"><a href="/console/customers?sort=-account_number&amp;status=PENDING"`) {
		t.Fatalf("searching by status, sorted:\n%.4000s", page.body)
	}
	page = b.get("/console/customers?created_date_start=yesterday&page=0").want(t, http.StatusBadRequest)
	if !strings.Contains(page.body, `id="q-created_date_start-error">must be a date-time`) || !strings.Contains(page.body, "<details open>") ||
		!strings.Contains(page.body, "page") {
		t.Fatalf("a bad filter:\n%.4000s", page.body)
	}
	// Paging.
	for i := range 3 {
		s.create("admin@acme", customer.Writable{Status: customer.StatusOpen, AccountNumber: ptr("P-" + strconv.Itoa(i))})
	}
	page = b.get("/console/customers?page_size=2&sort=customer_id").want(t, http.StatusOK)
	if !strings.Contains(page.body, `href="/console/customers?page=2&amp;page_size=2&amp;sort=customer_id" rel="next"`) ||
		!strings.Contains(page.body, ">"+strconv.Itoa(int(ada.ID))+"</a>") {
		t.Fatalf("the first page of 2:\n%.4000s", page.body)
	}
}

var secret = regexp.MustCompile(`<code class="secret">([^<]+)</code>`)

// TestUsersPage: an admin adds a user of its client with a generated password shown once,
// changes its role, gives it a new password; the user signs in with each; other roles
// cannot open the page, and another client's admin sees none of these users.
func TestUsersPage(t *testing.T) {
	eachStore(t, func(t *testing.T, s *site) {
		admin := s.signedIn("admin@acme")
		page := admin.get("/console/users").want(t, http.StatusOK)
		for _, want := range []string{"admin@acme", "clerk@acme", "viewer@acme"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("the users page does not list %s", want)
			}
		}
		if strings.Contains(page.body, "@other") {
			t.Error("the users page lists another client's users")
		}
		token := page.hidden("csrf")
		// Refused, with every problem at once.
		p := admin.do("POST", "/console/users", url.Values{"csrf": {token}, "username": {"has space"}, "role": {"boss"}, "password": {"short"}}).
			want(t, http.StatusBadRequest)
		for _, id := range []string{"u-username-error", "u-role-error", "u-password-error"} {
			if !strings.Contains(p.body, `id="`+id+`"`) {
				t.Errorf("the refused user has no %s", id)
			}
		}
		// Added, with a password made and shown once.
		p = admin.do("POST", "/console/users", url.Values{"csrf": {token}, "username": {"agent"}, "role": {"readonly"}}).want(t, http.StatusOK)
		m := secret.FindStringSubmatch(p.body)
		if m == nil || !strings.Contains(p.body, "User agent@acme added, with the role readonly.") {
			t.Fatalf("adding a user:\n%.3000s", p.body)
		}
		agent := s.browser()
		agent.signIn("agent@acme", m[1]).want(t, http.StatusSeeOther)
		admin.do("POST", "/console/users", url.Values{"csrf": {token}, "username": {"Agent"}, "role": {"readonly"}}).want(t, http.StatusConflict)
		// A new role applies to the user's session at once.
		agent.get("/console/customers/new").want(t, http.StatusForbidden)
		admin.do("POST", "/console/users/role", url.Values{"csrf": {token}, "username": {"agent"}, "role": {"readwrite"}}).want(t, http.StatusOK)
		agent.get("/console/customers/new").want(t, http.StatusOK)
		admin.do("POST", "/console/users/role", url.Values{"csrf": {token}, "username": {"admin"}, "role": {"readonly"}}).want(t, http.StatusConflict)
		// A new password ends the user's sessions; the old password no longer signs in.
		p = admin.do("POST", "/console/users/password", url.Values{"csrf": {token}, "username": {"agent"}}).want(t, http.StatusOK)
		n := secret.FindStringSubmatch(p.body)
		if n == nil || n[1] == m[1] {
			t.Fatalf("a new password:\n%.3000s", p.body)
		}
		agent.get("/console/customers").want(t, http.StatusSeeOther)
		s.browser().signIn("agent@acme", m[1]).want(t, http.StatusUnauthorized)
		s.browser().signIn("agent@acme", n[1]).want(t, http.StatusSeeOther)
		// Only admins, and only of their client.
		s.signedIn("clerk@acme").get("/console/users").want(t, http.StatusForbidden)
		other := s.signedIn("admin@other")
		if page := other.get("/console/users").want(t, http.StatusOK); strings.Contains(page.body, "agent@acme") {
			t.Error("another client's admin sees acme's users")
		}
		other.do("POST", "/console/users/password", url.Values{"csrf": {other.csrf()}, "username": {"agent"}}).want(t, http.StatusNotFound)
		// The passwords are in no request log record.
		for _, r := range s.requestLog("admin@acme") {
			if strings.Contains(r.Path+r.Query+r.Error, m[1]) || strings.Contains(r.Path+r.Query+r.Error, n[1]) {
				t.Errorf("a password in the request log: %+v", r)
			}
		}
	})
}
