package httpapi

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

// notificationJSON is the body of a webhook notification as json.Marshal writes it: what
// NotificationBody must write, byte for byte.
type notificationJSON struct {
	EventID     int64            `json:"event_id"`
	EventType   string           `json:"event_type"`
	CreatedDate string           `json:"created_date"`
	ObjectID    int32            `json:"object_id"`
	Data        notificationData `json:"data"`
}

type notificationData struct {
	Customer json.RawMessage `json:"customer"`
	Changes  []changeJSON    `json:"changes"`
}

// sampleCustomer is version 1 of customer 7 with the values of testdata/customer-body.json,
// created (and updated) at created.
func sampleCustomer(tb testing.TB) (first *customer.Customer, created time.Time) {
	tb.Helper()
	body, err := os.ReadFile("testdata/customer-body.json")
	if err != nil {
		tb.Fatal(err)
	}
	in, err := decodeCustomer(body, forReplace, 1)
	if err != nil {
		tb.Fatal(err)
	}
	created = time.Date(2026, 11, 30, 9, 31, 44, 903_000_000, time.UTC)
	return &customer.Customer{ID: 7, ClientID: 1, Version: 1, CreatedBy: 3, CreatedDate: created, UpdatedDate: created, Writable: *in}, created
}

func TestNotificationBodyIsWhatJSONMarshalWrites(t *testing.T) {
	first, created := sampleCustomer(t)
	next := *first
	next.Version, next.UpdatedDate = 2, created.Add(time.Second)
	email, culture := `a<b>&"c"@ex\ample.com`, "fr-CA é \u2028"
	next.Email, next.Culture = &email, &culture
	next.Fields = append([]customer.CustomField{{FieldID: 42, Label: "new <field>", Value: "ü"}}, next.Fields[min(1, len(next.Fields)):]...)
	next.BillingAddress = nil
	for _, f := range []TimeFormat{"", TimeRevio} {
		render := NotificationBody(f)
		e := encoder{layout: TimeRFC3339.layout()}
		if f != "" {
			e.layout = f.layout()
		}
		for _, v := range []*customer.Version{
			{EventID: 1, ClientID: 1, CustomerID: 7, Version: 1, EventType: "CUSTOMER_CREATED", ChangedDate: created, Customer: first},
			{EventID: 99, ClientID: 1, CustomerID: 7, Version: 2, EventType: "CUSTOMER_UPDATED", ChangedDate: created.Add(time.Second), Customer: &next, Previous: first},
			{EventID: 100, ClientID: 1, CustomerID: 7, Version: 3, EventType: "CUSTOMER_UPDATED", ChangedDate: created.Add(2 * time.Second), Customer: &next, Previous: &next},
		} {
			got, err := render(v)
			if err != nil {
				t.Fatal(err)
			}
			to := e.tree(v.Customer)
			want, err := json.Marshal(notificationJSON{v.EventID, string(v.EventType), *e.time(&v.ChangedDate), v.CustomerID,
				notificationData{Customer: to, Changes: e.changesTo(v.Previous, v.Customer, to)}})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("format %q, event %d:\n got %s\nwant %s", f, v.EventID, got, want)
			}
			// As a claim reads it: the documents as stored, not decoded.
			u := *v
			u.Customer, u.Previous = nil, nil
			if u.Document, err = v.Customer.Document(); err != nil {
				t.Fatal(err)
			}
			if v.Previous != nil {
				if u.PreviousDocument, err = v.Previous.Document(); err != nil {
					t.Fatal(err)
				}
			}
			if got, err = render(&u); err != nil || !bytes.Equal(got, want) {
				t.Errorf("format %q, event %d, from the documents: %v\n got %s\nwant %s", f, v.EventID, err, got, want)
			}
		}
	}
	for _, s := range []string{"", "CUSTOMER_UPDATED", `a"b\c`, "<&>", "\x01\t\n", "é\u2028\u2029", "\xff"} {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

// TestWireFromDocumentIsTheDecodedCustomers: the wire form read straight from a stored
// document is the one the API writes for the customer decoded from it, byte for byte.
func TestWireFromDocumentIsTheDecodedCustomers(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	texts := []string{"", "a", "Zoë", "<b>&amp;", `q"uo\te`, "line\nbreak\t", "\u2028x", "日本", "\x7f", "J. O'Neil"}
	str := func() *string {
		if rnd.IntN(3) == 0 {
			return nil
		}
		s := texts[rnd.IntN(len(texts))]
		return &s
	}
	num := func() *int32 {
		if rnd.IntN(3) == 0 {
			return nil
		}
		n := rnd.Int32N(2000) - 1000
		return &n
	}
	when := func() *time.Time {
		if rnd.IntN(3) == 0 {
			return nil
		}
		t := time.UnixMilli(rnd.Int64N(4e12)).In(time.FixedZone("", 3600*(rnd.IntN(5)-2)))
		if rnd.IntN(2) == 0 {
			t = t.Add(time.Duration(rnd.IntN(1000)) * time.Microsecond)
		}
		return &t
	}
	addr := func() *customer.Address {
		if rnd.IntN(3) == 0 {
			return nil
		}
		return &customer.Address{ID: rnd.Int32N(100), FirstName: *deref2(str()), City: *deref2(str()), Line2: *deref2(str()),
			PostalCode: *deref2(str()), CountryCode: rnd.Int32N(1000)}
	}
	for _, layout := range []TimeFormat{TimeRFC3339, TimeRevio} {
		e := encoder{layout: layout.layout()}
		for i := range 2000 {
			c := &customer.Customer{ID: rnd.Int32N(1e6), CreatedBy: rnd.Int32N(10), CreatedDate: *when2(when()), UpdatedDate: *when2(when())}
			w := &c.Writable
			w.BillingAddress, w.ServiceAddress, w.ListingAddress = addr(), addr(), addr()
			w.ParentCustomerID, w.AccountNumber, w.ActivatedDate, w.AgentID = num(), str(), when(), num()
			w.SecondaryAgentID, w.CloseDate, w.Email, w.IsParent = num(), when(), str(), rnd.IntN(2) == 0
			w.RegistrationCode, w.SecurityPIN, w.SoldBy, w.Source = str(), str(), num(), str()
			w.Status = customer.Statuses[rnd.IntN(len(customer.Statuses))]
			w.AutoDebit = customer.AutoDebit{Enabled: rnd.IntN(2) == 0, Day: num(), PaymentAccountID: num()}
			if rnd.IntN(2) == 0 {
				m := customer.Money(rnd.Int64N(1e9) - 5e8)
				w.Finance.BalanceLimit = &m
			}
			if rnd.IntN(2) == 0 {
				b := customer.BillingMethods[rnd.IntN(len(customer.BillingMethods))]
				w.Finance.BillingMethod = &b
			}
			w.Finance.BillProfileID, w.Finance.ContractStartDate, w.Finance.CycleDate = num(), when(), when()
			w.Finance.LateFeesEnabled, w.Finance.TaxExemptTypes, w.Finance.UsageFileFormat = rnd.IntN(2) == 0, str(), str()
			if d := when(); d != nil {
				dob := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
				w.Profile.DateOfBirth = &dob
			}
			w.Profile.Language, w.Profile.TaxID = str(), str()
			if s := str(); s != nil {
				cl := customer.Class(*s)
				w.Profile.Class = &cl
			}
			for range rnd.IntN(4) {
				w.Fields = append(w.Fields, customer.CustomField{FieldID: rnd.Int32N(50), Label: *deref2(str()), Value: *deref2(str())})
			}
			w.Suspended, w.SuspendedDate, w.Culture, w.CloseOnNoActiveServices = rnd.IntN(2) == 0, when(), str(), rnd.IntN(2) == 0
			doc, err := c.Document()
			if err != nil {
				t.Fatal(err)
			}
			id := rnd.Int32N(1e6)
			back, err := customer.FromDocument(id, 1, 1, doc)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(e.customer(back))
			got, ok := e.wireFromDocument(id, doc)
			if !ok || !bytes.Equal(got, want) {
				t.Fatalf("customer %d (%s): from the document %v\n%s\nwant\n%s\nfrom\n%s", i, layout, ok, got, want, doc)
			}
		}
	}
	// Documents written otherwise than by json.Marshal read the same, or are refused.
	for _, doc := range []string{`{}`, `{ "email" : "a\u0040b", "fields": [null], "finance": null, "is_parent": true }`,
		`{"agent_id": 0, "created_date": "2026-01-02T03:04:05.123456+02:00", "profile": {"date_of_birth": null}}`} {
		back, err := customer.FromDocument(5, 1, 1, []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		e := encoder{layout: TimeRFC3339.layout()}
		want, _ := json.Marshal(e.customer(back))
		if got, ok := e.wireFromDocument(5, []byte(doc)); !ok || !bytes.Equal(got, want) {
			t.Errorf("%s: got %v %s, want %s", doc, ok, got, want)
		}
	}
	for _, doc := range []string{`[]`, `{"agent_id": "1"}`, `{"is_parent": 1}`, `{"fields": {}}`, `{"finance": 3}`, `{"created_date": "yesterday"}`, `{"email": 5}`, `{"agent_id": 1.5}`, `{`} {
		if _, ok := (encoder{layout: TimeRFC3339.layout()}).wireFromDocument(5, []byte(doc)); ok {
			t.Errorf("%s: read, want refused", doc)
		}
	}
}

func deref2(s *string) *string {
	if s == nil {
		return new(string)
	}
	return s
}

func when2(t *time.Time) *time.Time {
	if t == nil {
		return new(time.Time)
	}
	return t
}

func TestWireFromDocumentRefusesWhatIsNotJSON(t *testing.T) {
	for _, doc := range []string{`{"fields": [}`, `{"fields": [1,}`, `{"a":}`, `{"finance": {"x": ]}}`, `{"email": "a`, ``, `  `} {
		if _, ok := (encoder{layout: TimeRFC3339.layout()}).wireFromDocument(5, []byte(doc)); ok {
			t.Errorf("%s: read, want refused", doc)
		}
	}
}

func TestCanonicalMoneyIsWhatMoneyWrites(t *testing.T) {
	for _, s := range []string{`"0"`, `"-0"`, `"1"`, `"-1"`, `"12.5"`, `"12.50"`, `"0.0001"`, `"-0.5"`, `"00"`, `"01"`, `"1."`,
		`".5"`, `"1.23456"`, `"999999999999.9999"`, `"1000000000000"`, `"1e3"`, `"--1"`, `"-"`, `"1.2a"`, `12`, `"+1"`} {
		var m customer.Money
		err := m.UnmarshalJSON([]byte(s))
		want := err == nil && `"`+m.String()+`"` == s
		if got := canonicalMoney([]byte(s)); got != want {
			t.Errorf("canonicalMoney(%s) = %v, want %v", s, got, want)
		}
	}
}
