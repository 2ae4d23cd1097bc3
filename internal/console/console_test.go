package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/custd/custd/internal/console"
	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/postgres"
	"github.com/custd/custd/internal/postgres/pgtest"
	"github.com/custd/custd/internal/reqlog"
	"github.com/custd/custd/internal/sqlite"
)

// TestMain hashes passwords at bcrypt's lowest cost: sign-ins still compare real bcrypt
// hashes, without every test spending seconds on them under -race.
func TestMain(m *testing.M) {
	customer.PasswordCost = bcrypt.MinCost
	os.Exit(m.Run())
}

// storeKinds are the stores the console's HTTP tests run against.
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

const password = "correct horse battery staple"

// site is a console over a real store, with users admin@acme (admin), clerk@acme
// (readwrite), viewer@acme (readonly) and admin@other (admin of another client), and a
// clock the test moves.
type site struct {
	t      *testing.T
	url    string
	store  customer.Store
	reqlog *reqlog.Writer
	users  map[string]*customer.User
	// answering is how many requests the site is answering now.
	answering atomic.Int32

	mu  sync.Mutex
	now time.Time
}

func eachStore(t *testing.T, fn func(t *testing.T, s *site)) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) { fn(t, newSite(t, kind.open(t))) })
	}
}

func newSite(t *testing.T, store customer.Store, options ...func(*console.Config)) *site {
	ctx := context.Background()
	s := &site{t: t, store: store, users: map[string]*customer.User{}, now: time.Now()}
	hash, err := customer.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"acme", "other"} {
		if _, err := store.CreateClient(ctx, code, strings.ToUpper(code)); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []customer.NewUser{
		{ClientCode: "acme", Username: "admin", Role: customer.RoleAdmin},
		{ClientCode: "acme", Username: "clerk", Role: customer.RoleReadWrite},
		{ClientCode: "acme", Username: "viewer", Role: customer.RoleReadOnly},
		{ClientCode: "other", Username: "admin", Role: customer.RoleAdmin},
	} {
		u.PasswordHash = hash
		created, err := store.CreateUser(ctx, &u)
		if err != nil {
			t.Fatal(err)
		}
		s.users[u.Username+"@"+u.ClientCode] = created
	}
	s.reqlog = reqlog.New(store, nil, nil, 20*time.Millisecond, 0)
	mux := http.NewServeMux()
	cfg := console.Config{Store: store, RequestLog: s.reqlog, Now: s.clock}
	for _, o := range options {
		o(&cfg)
	}
	mux.Handle(console.Prefix, console.New(cfg))
	// answering counts the requests being answered: the console hands a request to the
	// request log when its handler returns, which can be after its client has the answer.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.answering.Add(1)
		defer s.answering.Add(-1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		s.reqlog.Close()
		store.Close()
	})
	s.url = srv.URL
	return s
}

func (s *site) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// wait moves the site's clock on.
func (s *site) wait(d time.Duration) {
	s.mu.Lock()
	s.now = s.now.Add(d)
	s.mu.Unlock()
}

// browser is an HTTP client with its own cookies that does not follow redirects.
type browser struct {
	t    *testing.T
	site *site
	c    *http.Client
}

func (s *site) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: s.t, site: s, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// page is an answered request.
type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, header ...string) *page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.site.url+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return &page{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

func (b *browser) get(path string) *page { b.t.Helper(); return b.do("GET", path, nil) }

func (p *page) want(t *testing.T, status int) *page {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d; body:\n%.3000s", p.status, status, p.body)
	}
	return p
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)

// hidden returns the value of the first hidden input of a page with that name.
func (p *page) hidden(name string) string {
	for _, m := range hiddenInput.FindAllStringSubmatch(p.body, -1) {
		if m[1] == name {
			return unescape(m[2])
		}
	}
	return ""
}

func unescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#39;", "'").Replace(s)
}

// signIn signs the browser in as login (user@client) and returns the page it lands on.
func (b *browser) signIn(login, pw string) *page {
	b.t.Helper()
	form := b.get("/console/sign-in").want(b.t, http.StatusOK)
	return b.do("POST", "/console/sign-in", url.Values{"token": {form.hidden("token")}, "login": {login}, "password": {pw},
		"next": {form.hidden("next")}})
}

// signedIn is a browser signed in as login.
func (s *site) signedIn(login string) *browser {
	s.t.Helper()
	b := s.browser()
	p := b.signIn(login, password).want(s.t, http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != "/console/customers" {
		s.t.Fatalf("signed in, sent to %q", loc)
	}
	return b
}

// csrf returns the token of the browser's forms, from a page it opens.
func (b *browser) csrf() string {
	b.t.Helper()
	return b.get("/console/customers").want(b.t, http.StatusOK).hidden("csrf")
}

// create stores a customer of u's client through the store.
func (s *site) create(login string, w customer.Writable) *customer.Customer {
	s.t.Helper()
	u := s.users[login]
	c, err := s.store.WriteCustomer(context.Background(), &customer.Write{Client: u.ClientID, User: u.ID, Input: &w,
		Actor: customer.Actor{Username: login}})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

func (s *site) customer(login string, id int32) *customer.Customer {
	s.t.Helper()
	u := s.users[login]
	c, err := s.store.Customer(context.Background(), u.ClientID, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// requestLog returns the client's request log records, newest first, once the writer
// has stored them.
func (s *site) requestLog(login string) []*customer.LoggedRequest {
	s.t.Helper()
	// Every request made so far is handed to the request log once no handler runs; then
	// the writer stores what it holds.
	for s.answering.Load() > 0 {
		time.Sleep(time.Millisecond)
	}
	s.reqlog.Flush()
	u := s.users[login]
	p, err := s.store.RequestLog(context.Background(), u.ClientID, &customer.RequestLogQuery{Page: 1, PageSize: 100})
	if err != nil {
		s.t.Fatal(err)
	}
	return p.Requests
}

func ptr[T any](v T) *T { return &v }

// ada is a customer with something in every group of the form.
func ada() customer.Writable {
	day := time.Date(2024, 6, 10, 9, 31, 44, 903_000_000, time.UTC)
	later := day.AddDate(1, 0, 0)
	dob := time.Date(1980, 5, 31, 0, 0, 0, 0, time.UTC)
	limit := customer.Money(12_345_6789)
	return customer.Writable{
		BillingAddress: &customer.Address{FirstName: "Ada", LastName: "Lovelace", MiddleInitial: "K", CompanyName: "Analytical Engines",
			Line1: "1 Byron St", Line2: "Floor 2", City: "London", StateOrProvince: "LDN", PostalCode: "01234", PostalCodeExtension: "9", CountryCode: 44},
		ServiceAddress:   &customer.Address{Line1: "2 Service Rd", City: "Leeds"},
		ListingAddress:   &customer.Address{}, // an address with nothing in it is not no address
		AccountNumber:    ptr("ACC-0001"),
		ActivatedDate:    &day,
		AgentID:          ptr(int32(7)),
		SecondaryAgentID: ptr(int32(8)),
		Email:            ptr("ada@example.com, billing@example.com"),
		RegistrationCode: ptr("REGCODE1"),
		SecurityPIN:      ptr("4321"),
		SoldBy:           ptr(int32(3)),
		Source:           ptr(""), // empty, not null
		Status:           customer.StatusOpen,
		AutoDebit:        customer.AutoDebit{Enabled: true, Day: ptr(int32(15)), PaymentAccountID: ptr(int32(99))},
		Finance: customer.Finance{
			BalanceLimit: &limit, BalanceLimitEnabled: true, BillProfileID: ptr(int32(2)),
			BillingMethod: ptr(customer.BillingBoth), CollectionTemplateID: ptr(int32(4)),
			ContractStartDate: &day, ContractEndDate: &later, CycleDate: &day, LateFeesEnabled: true,
			PaymentTermsDays: ptr(int32(30)), PaymentFeesEnabled: true, TaxExemptEnabled: true,
			TaxExemptTypes: ptr("STATE,LOCAL"), UsageFileEnabled: true, UsageFileFormat: ptr("CSV"),
		},
		Profile:                 customer.Profile{Class: ptr(customer.ClassBusiness), DateOfBirth: &dob, Language: ptr("en"), TaxID: ptr("12-3456789")},
		Fields:                  []customer.CustomField{{FieldID: 3, Label: "Region", Value: "South"}, {FieldID: 1, Label: "Tier", Value: "Gold"}},
		Suspended:               true,
		SuspendedDate:           &day,
		Culture:                 ptr("en-GB"),
		CloseOnNoActiveServices: true,
	}
}
