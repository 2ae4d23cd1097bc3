package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/custd/custd/internal/customer"
)

// chromium returns the path of a Chromium to drive. Without one the browser tests skip,
// unless CUSTD_REQUIRE_BROWSER=1 (as in CI).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CUSTD_REQUIRE_BROWSER") == "1" {
		t.Fatal("CUSTD_REQUIRE_BROWSER=1 but no chromium is installed (apt-get install chromium)")
	}
	t.Skip("no chromium installed (apt-get install chromium); CUSTD_REQUIRE_BROWSER=1 makes this a failure")
	return ""
}

// axeSource returns axe-core's script (npm's axe-core, axe.min.js), from CUSTD_AXE_JS or
// a node_modules folder in the module or above it; "" when there is none, which fails
// the test under CUSTD_REQUIRE_BROWSER=1.
func axeSource(t *testing.T) string {
	paths := []string{os.Getenv("CUSTD_AXE_JS")}
	if dir, err := os.Getwd(); err == nil {
		for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
			paths = append(paths, filepath.Join(dir, "node_modules", "axe-core", "axe.min.js"))
		}
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			return string(b)
		}
	}
	if os.Getenv("CUSTD_REQUIRE_BROWSER") == "1" {
		t.Fatal("CUSTD_REQUIRE_BROWSER=1 but axe-core is not installed: npm install axe-core and set CUSTD_AXE_JS to its axe.min.js")
	}
	t.Log("axe-core not found (set CUSTD_AXE_JS to axe.min.js of npm's axe-core): no accessibility check")
	return ""
}

// tab is one browser with cookies of its own, showing the console.
type tab struct {
	t    *testing.T
	ctx  context.Context
	site *site
	axe  string
	name string

	mu       sync.Mutex
	problems []string // console errors, exceptions, requests elsewhere
}

// chrome starts headless Chromium that can resolve no host but the test server's, and
// returns a function that opens a new tab with its own cookies.
func chrome(t *testing.T, s *site, axe string) func(name string) *tab {
	origin, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE "+origin.Hostname()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(ctx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return func(name string) *tab {
		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		tb := &tab{t: t, ctx: ctx, site: s, axe: axe, name: name}
		err := chromedp.Listen(ctx, func(ev any) {
			tb.mu.Lock()
			defer tb.mu.Unlock()
			switch ev := ev.(type) {
			case *runtime.EventConsoleAPICalled:
				if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
					var args []string
					for _, a := range ev.Args {
						args = append(args, string(a.Value)+a.Description)
					}
					tb.problems = append(tb.problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
				}
			case *runtime.EventExceptionThrown:
				d := ev.ExceptionDetails
				msg := d.Text
				if d.Exception != nil {
					msg += " " + d.Exception.Description
				}
				tb.problems = append(tb.problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
			case *log.EventEntryAdded:
				// A page answered with an error status is the test's doing; anything else
				// that fails to load (a style sheet, a script) is a problem.
				page := strings.Contains(ev.Entry.URL, "/console/") && !strings.Contains(ev.Entry.URL, "/console/static/")
				if ev.Entry.Level == log.EntryLevelError && !(page && strings.HasPrefix(ev.Entry.Text, "Failed to load resource: the server responded")) {
					tb.problems = append(tb.problems, fmt.Sprintf("log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
				}
			case *network.EventRequestWillBeSent:
				u, err := url.Parse(ev.Request.URL)
				if err != nil || (u.Scheme != "data" && u.Host != origin.Host) {
					tb.problems = append(tb.problems, "a request to another origin: "+ev.Request.URL)
				}
			}
		})
		if err != nil {
			t.Fatalf("listening to chromium: %v", err)
		}
		for _, enable := range []func() error{
			func() error { _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); return err },
			func() error { _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); return err },
			func() error { _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); return err },
		} {
			if err := enable(); err != nil {
				t.Fatalf("driving chromium: %v", err)
			}
		}
		t.Cleanup(func() {
			tb.mu.Lock()
			defer tb.mu.Unlock()
			if len(tb.problems) > 0 {
				t.Errorf("%s's browser saw problems:\n%s", name, strings.Join(tb.problems, "\n"))
			}
		})
		return tb
	}
}

// step is the context of one action: a tab's, ended if the action takes too long, so a
// page that lacks what the test looks for fails the test quickly.
func (tb *tab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(tb.ctx, 20*time.Second)
}

// open loads a page and returns its status.
func (tb *tab) open(path string) int64 {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(tb.site.url+path))
	if err != nil {
		tb.t.Fatalf("%s opening %s: %v", tb.name, path, err)
	}
	return resp.Status
}

// submit clicks what sel selects, waits for the page it loads, and returns its status.
func (tb *tab) submit(sel string) int64 {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("%s clicking %s: %v", tb.name, sel, err)
	}
	return resp.Status
}

// keys types on the keyboard into whatever has the focus, and waits for the page when
// the keys load one.
func (tb *tab) keys(keys string, loads bool) int64 {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	if loads {
		resp, err := chromedp.RunResponse(ctx, chromedp.KeyEvent(keys))
		if err != nil {
			tb.t.Fatalf("%s typing %q: %v", tb.name, keys, err)
		}
		return resp.Status
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(keys)); err != nil {
		tb.t.Fatalf("%s typing %q: %v", tb.name, keys, err)
	}
	return 0
}

// set replaces the value of the input with the given id, typing it.
func (tb *tab) set(id, value string) {
	tb.t.Helper()
	if !eval[bool](tb, `(el => { if (!el) return false; el.value = ""; el.focus(); return true })(document.getElementById("`+id+`"))`) {
		tb.t.Fatalf("%s: the page has no input %s", tb.name, id)
	}
	if value == "" {
		return
	}
	ctx, cancel := tb.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID(id), value)); err != nil {
		tb.t.Fatalf("%s filling %s: %v", tb.name, id, err)
	}
}

func eval[T any](tb *tab, js string) T {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, func(p *runtime.EvaluateParams) { p.AwaitPromise = ptr(true) }))
	if err != nil {
		tb.t.Fatalf("%s evaluating %.80s: %v", tb.name, js, err)
	}
	return v
}

// text is what the page says, as a reader sees it.
func (tb *tab) text() string { tb.t.Helper(); return eval[string](tb, `document.body.innerText`) }

// shows fails the test unless the page says each of wants.
func (tb *tab) shows(what string, wants ...string) {
	tb.t.Helper()
	text := tb.text()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			tb.t.Errorf("%s: %s does not say %q; it says:\n%.3000s", tb.name, what, want, text)
		}
	}
}

// check runs axe-core on the page at its width and at 360 px, and fails the test on any
// serious or critical violation, or when the page needs scrolling sideways at 360 px.
func (tb *tab) check(page string) {
	tb.t.Helper()
	for _, width := range []int64{1280, 360} {
		if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(width, 800)); err != nil {
			tb.t.Fatal(err)
		}
		if over := eval[int](tb, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); over > 0 {
			tb.t.Errorf("%s at %d px: the page is %d px wider than the window", page, width, over)
		}
		if tb.axe == "" {
			continue
		}
		if !eval[bool](tb, `typeof axe !== "undefined"`) {
			if _, err := chromedp.Run(tb.ctx, chromedp.Evaluate[chromedp.Void](tb.axe)); err != nil {
				tb.t.Fatalf("loading axe-core: %v", err)
			}
		}
		found := eval[[]byte](tb, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
			.filter(v => v.impact === "serious" || v.impact === "critical")
			.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " " + n.failureSummary)})))`)
		var violations []struct {
			ID, Impact, Help string
			Nodes            []string
		}
		if err := json.Unmarshal(found, &violations); err != nil {
			tb.t.Fatalf("axe-core's answer %s: %v", found, err)
		}
		for _, v := range violations {
			tb.t.Errorf("%s at %d px: axe-core finds %s (%s): %s\n  %s", page, width, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
		}
	}
	if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		tb.t.Fatal(err)
	}
}

// screenshot saves the window, 1100 by 720 px, as file in CUSTD_SCREENSHOTS, when that
// names a folder.
func (tb *tab) screenshot(file string) {
	dir := os.Getenv("CUSTD_SCREENSHOTS")
	if dir == "" {
		return
	}
	// A window of a laptop's size keeps the picture small enough for the README.
	if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(1100, 720)); err != nil {
		tb.t.Fatal(err)
	}
	png, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatal(err)
	}
	if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// signIn signs the tab in with the keyboard alone: the username has the focus, Tab
// goes to the password, Enter sends the form.
func (tb *tab) signIn(login string) {
	tb.t.Helper()
	// The window in front, as the one a person types into: only that one's page gets
	// the focus of autofocus.
	if _, err := chromedp.Call(tb.ctx, cdppage.BringToFront, cdp.Empty{}); err != nil {
		tb.t.Fatal(err)
	}
	tb.open("/console/customers")
	// Autofocus applies once the page is rendered, which may be just after its load.
	ctx, cancel := tb.step()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.activeElement.id === "login"`, chromedp.WithPollingTimeout(5*time.Second)))
	cancel()
	if err != nil {
		tb.t.Fatalf("%s: the sign-in page does not give the focus to the username (it is on %q): %v", tb.name,
			eval[string](tb, `document.activeElement.id`), err)
	}
	tb.keys(login+"\t"+password, false)
	if status := tb.keys("\r", true); status != 200 {
		tb.t.Fatalf("%s signing in: status %d", tb.name, status)
	}
	tb.shows("after signing in", "Customers", login)
}

// TestConsoleInBrowser walks the console's flows in headless Chromium: sign in, search,
// open, an edit with field errors then fixed, a conflicting edit from a second browser,
// close, the history, the request log, the users, the webhooks, a readonly user, a user of
// another client, sign out. Every page passes axe-core and fits 360 px. CUSTD_SCREENSHOTS=dir
// saves screenshots of the customer page and the history timeline there.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test is long")
	}
	s := newSite(t, storeKinds[0].open(t))
	open := chrome(t, s, axeSource(t))
	ctx := context.Background()
	acme := s.users["admin@acme"]

	a := s.create("admin@acme", ada())
	s.create("admin@acme", customer.Writable{Status: customer.StatusPending, AccountNumber: ptr("ACC-0002"), Email: ptr("grace@example.com"),
		BillingAddress: &customer.Address{FirstName: "Grace", LastName: "Hopper", City: "Arlington"}})
	s.create("admin@other", customer.Writable{Status: customer.StatusOpen, BillingAddress: &customer.Address{CompanyName: "Zeta Corp"}})
	// A receiver of customer updates, as an integration registers it.
	rc, err := customer.NewReceiver(acme.ClientID, "https://hooks.example.com/custd", "CRM sync")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.CreateReceiver(ctx, rc, customer.Receipt[*customer.Receiver]{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.SetReceiverStatus(ctx, acme.ClientID, rc.ID, customer.ReceiverActive); err != nil {
		t.Fatal(err)
	}
	sub, err := customer.NewSubscription(acme.ClientID, rc.ID, string(customer.EventUpdated))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.CreateSubscription(ctx, sub, customer.Receipt[*customer.Subscription]{}); err != nil {
		t.Fatal(err)
	}
	path := "/console/customers/" + fmt.Sprint(a.ID)

	// Sign in, with the keyboard.
	admin := open("admin")
	admin.open("/console/")
	admin.shows("the sign-in page", "Sign in to the console", "Username", "Password")
	admin.check("sign-in")
	admin.signIn("admin@acme")
	admin.check("customers")

	// Search: "/" jumps to the search box; Enter searches.
	admin.keys("/", false)
	if focused := eval[string](admin, `document.activeElement.id`); focused != "q-name" {
		t.Errorf(`"/" focuses %q, not the name search`, focused)
	}
	// (The browser drops the "/" a script took, unless, as here, the key's character comes
	// as an event of its own: empty the box.)
	admin.set("q-name", "")
	admin.keys("lovelace", false)
	admin.keys("\r", true)
	admin.shows("the search", "Analytical Engines", "ACC-0001")
	if strings.Contains(admin.text(), "Grace Hopper") {
		t.Error("searching for lovelace shows Grace Hopper")
	}

	// Open, then an edit with two field errors, then fixed.
	admin.submit(`td[data-label=Name] a`)
	admin.shows("the customer page", "Analytical Engines", "Billing address", "Auto debit", "Finance", "Profile", "Custom fields")
	if got := eval[string](admin, `document.getElementById("f-billing_address-city").value + "|" + document.getElementById("f-fields-0-label").value`); got != "London|Region" {
		t.Errorf("the form shows city|second custom field %q", got)
	}
	admin.check("customer")
	admin.screenshot("console-customer.png")
	admin.set("f-email", "not an email")
	admin.set("f-auto_debit-day", "40")
	if status := admin.submit(`form.customer button[type=submit]`); status != 400 {
		t.Fatalf("a save with two errors: status %d", status)
	}
	admin.shows("the refused save", "2 fields need a change", "Email: must be a valid email address", "Day of the month: must be from 1 to 31")
	if focused := eval[string](admin, `document.activeElement.id`); focused != "problems" {
		t.Errorf("after a refused save the focus is on %q, not the list of problems", focused)
	}
	for id, want := range map[string]string{"f-email-error": "must be a valid email address", "f-auto_debit-day-error": "must be from 1 to 31"} {
		got := eval[string](admin, `(document.getElementById("`+id+`") || {}).textContent || ""`)
		if !strings.Contains(got, want) {
			t.Errorf("the error next to %s says %q", id, got)
		}
	}
	admin.check("customer with errors")
	admin.set("f-email", "ada@lovelace.example")
	admin.set("f-auto_debit-day", "28")
	if status := admin.submit(`form.customer button[type=submit]`); status != 200 {
		t.Fatalf("the fixed save: status %d", status)
	}
	admin.shows("the saved customer", "Saved.")

	// A conflicting edit from a second browser: the clerk opened the customer before
	// the admin's next save, and saves after it.
	clerk := open("clerk")
	clerk.signIn("clerk@acme")
	clerk.open(path)
	admin.open(path)
	admin.set("f-billing_address-city", "Paris")
	admin.submit(`form.customer button[type=submit]`)
	admin.shows("the saved customer", "Saved.")
	clerk.set("f-source", "phone")
	if status := clerk.submit(`form.customer button[type=submit]`); status != 409 {
		t.Fatalf("the conflicting save: status %d", status)
	}
	clerk.shows("the conflicting save", "Someone else saved this customer after you opened it", "admin@acme", "Billing address: City", "London", "Paris")
	if got := eval[string](clerk, `document.getElementById("f-billing_address-city").value + "|" + document.getElementById("f-source").value`); got != "Paris|phone" {
		t.Errorf("the form after the conflict holds city|source %q, want their city and my source", got)
	}
	if got := s.customer("admin@acme", a.ID); deref(got.Source) == "phone" {
		t.Fatal("the conflicting save overwrote")
	}
	clerk.check("conflict")
	if status := clerk.submit(`form.customer button[type=submit]`); status != 200 {
		t.Fatalf("saving again after the conflict: status %d", status)
	}
	if got := s.customer("admin@acme", a.ID); deref(got.Source) != "phone" || got.BillingAddress.City != "Paris" || deref(got.Email) != "ada@lovelace.example" {
		t.Fatalf("after both saves: source %q, city %q, email %q", deref(got.Source), got.BillingAddress.City, deref(got.Email))
	}

	// The history timeline shows each edit, field by field, from → to.
	admin.open(path)
	admin.submit(`a[href$="/history"]`)
	admin.shows("the history", "History of Analytical Engines", "Version 4", "clerk@acme", "Source", "phone", "Version 3",
		"Billing address: City", "London", "Paris", "Version 2", "Email", "ada@lovelace.example", "Day of the month", "15", "28", "Version 1", "CREATE")
	admin.check("history")
	admin.screenshot("console-history.png")
	admin.submit(`a[href$="/history/1"]`)
	admin.shows("version 1", "This is version 1", "London", "ada@example.com, billing@example.com")
	admin.check("version")

	// Close, with a confirmation.
	admin.open(path)
	admin.submit(`a[href$="/close"]`)
	admin.shows("the confirmation", "Close the account of Analytical Engines?")
	admin.check("close")
	admin.submit(`button.danger`)
	admin.shows("the closed customer", "The account is closed.", "CLOSED")

	// The request log shows the refused save, with its error.
	admin.open("/console/requests")
	admin.set("q-status", "4xx")
	admin.submit(`form.filters button[type=submit]`)
	admin.shows("the request log", "POST "+path, "400", "2 fields are invalid", "admin")
	// The status column only: a 303 may appear in a request id, a time or a duration.
	statuses := eval[[]string](admin, `[...document.querySelectorAll('td[data-label="Status"]')].map(td => td.innerText.trim())`)
	if len(statuses) == 0 {
		t.Error("the request log filtered to 4xx lists no status")
	}
	for _, st := range statuses {
		if !strings.HasPrefix(st, "4") {
			t.Errorf("the request log filtered to 4xx shows status %q", st)
		}
	}
	admin.check("request log")

	// The users of the client, to its admin.
	admin.open("/console/users")
	admin.shows("the users", "admin@acme", "clerk@acme", "viewer@acme", "Add a user")
	admin.check("users")

	// The webhooks page shows the receiver, its subscription and a delivery of the
	// edits, with the receiver's last answer; the admin sends it again.
	if _, _, err := s.store.FanOut(ctx, 100, nil); err != nil {
		t.Fatal(err)
	}
	claims, err := s.store.ClaimDeliveries(ctx, "test", time.Now(), 30*time.Second, 1, nil)
	if err != nil || len(claims) != 1 {
		t.Fatalf("claiming a delivery: %v, %v", claims, err)
	}
	d := claims[0].Delivery
	d.Outcome(time.Now(), 503, "the receiver answered 503 Service Unavailable", time.Hour)
	if err := s.store.FinishDelivery(ctx, "test", d); err != nil {
		t.Fatal(err)
	}
	admin.open("/console/webhooks")
	admin.shows("the webhooks", "https://hooks.example.com/custd", "CRM sync", "ACTIVE", "CUSTOMER_UPDATED", "PENDING", "HTTP 503",
		"the receiver answered 503 Service Unavailable")
	admin.check("webhooks")
	admin.submit(`form[action="/console/webhooks/deliveries/` + fmt.Sprint(d.ID) + `/retry"] button`)
	admin.shows("the retried delivery", "The delivery will be sent again now.")

	// A readonly user sees no write controls, and a form forged in its browser is
	// refused.
	viewer := open("viewer")
	viewer.signIn("viewer@acme")
	viewer.open(path)
	viewer.shows("the readonly customer page", "Analytical Engines", "Paris", "phone")
	if n := eval[int](viewer, `document.querySelectorAll("main input, main select, main textarea, main button").length`); n != 0 {
		t.Errorf("the readonly user's customer page has %d controls", n)
	}
	if strings.Contains(viewer.text(), "Close account") || strings.Contains(viewer.text(), "New customer") {
		t.Error("the readonly user is offered a write")
	}
	viewer.check("readonly customer")
	viewer.open("/console/webhooks")
	if strings.Contains(viewer.text(), "Send again") {
		t.Error("the readonly user is offered to send a delivery again")
	}
	before := s.customer("admin@acme", a.ID)
	// The forged form: the customer's fields, with the token of the viewer's own
	// session, posted from the console's own page.
	forge := `(() => {
		const f = document.createElement("form");
		f.method = "post";
		f.action = "` + path + `";
		const fields = {csrf: document.querySelector("input[name=csrf]").value, etag: ` + "`" + before.ETag() + "`" + `, status: "OPEN", email: "forged@example.com"};
		for (const [name, value] of Object.entries(fields)) {
			const input = document.createElement("input");
			input.type = "hidden";
			input.name = name;
			input.value = value;
			f.appendChild(input);
		}
		document.body.appendChild(f);
		f.submit();
	})()`
	ctx2, cancel2 := viewer.step()
	resp, err := chromedp.RunResponse(ctx2, chromedp.Evaluate[chromedp.Void](forge))
	cancel2()
	if err != nil {
		t.Fatal(err)
	}
	forged := resp.Status
	if forged != 403 {
		t.Errorf("a form forged by the readonly user: status %d", forged)
	}
	if after := s.customer("admin@acme", a.ID); after.Version != before.Version {
		t.Errorf("a forged form changed the customer to version %d", after.Version)
	}

	// A user of another client sees none of these customers.
	other := open("other")
	other.signIn("admin@other")
	other.shows("the other client's list", "Zeta Corp")
	if strings.Contains(other.text(), "Analytical") || strings.Contains(other.text(), "Grace") {
		t.Error("another client's user sees acme's customers")
	}
	if status := other.open(path); status != 404 {
		t.Errorf("another client's customer: status %d", status)
	}
	other.shows("the other client's 404", "Not Found")
	other.check("not found")

	// The new customer page, and signing out.
	clerk.open("/console/customers/new")
	clerk.check("new customer")
	admin.submit(`form.account button`)
	admin.shows("the signed-out page", "You signed out.")
	admin.open("/console/customers")
	admin.shows("the list after signing out", "Sign in to the console")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
