package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
)

// BenchCustomers is how many customers the benchmarks run over: CUSTD_BENCH_CUSTOMERS,
// or 100,000.
func BenchCustomers() int {
	if n, err := strconv.Atoi(os.Getenv("CUSTD_BENCH_CUSTOMERS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

var (
	benchFirst   = []string{"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Maria", "Wei", "Aisha", "Hiroshi", "Olga", "Mateo", "Priya"}
	benchLast    = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Nakamura", "Kowalski", "Okafor", "Schneider"}
	benchCompany = []string{"", "", "", "Fiber", "Networks", "Telecom", "Holdings", "Logistics", "Dental", "Bakery", "Consulting", "Farms", "Hardware", "Clinic", "Motors"}
)

// benchCustomer is the i-th benchmark customer: realistic names, a unique account
// number, statuses and dates spread over the population.
func benchCustomer(i int) *customer.Writable {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	first, last := benchFirst[r.IntN(len(benchFirst))], benchLast[r.IntN(len(benchLast))]
	company := ""
	if kind := benchCompany[r.IntN(len(benchCompany))]; kind != "" {
		company = benchLast[r.IntN(len(benchLast))] + " " + kind
	}
	activated := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(10*365*24)) * time.Hour)
	email := fmt.Sprintf("%c.%s%d@example.com", first[0], last, i)
	return &customer.Writable{
		Status:         customer.Statuses[r.IntN(len(customer.Statuses))],
		AccountNumber:  ptr(fmt.Sprintf("AC-%08d", i)),
		Email:          &email,
		AgentID:        ptr(int32(1 + r.IntN(50))),
		ActivatedDate:  &activated,
		BillingAddress: &customer.Address{FirstName: first, LastName: last, CompanyName: company, Line1: strconv.Itoa(1+r.IntN(9999)) + " Main St", City: "Springfield", PostalCode: fmt.Sprintf("%05d", r.IntN(99999))},
		Finance:        customer.Finance{BillProfileID: ptr(int32(1 + r.IntN(5))), PaymentTermsDays: ptr(int32(30))},
	}
}

// SeedForBenchmark makes sure s holds client "bench" with BenchCustomers() customers and
// returns the client and the user that created them. A store seeded before is reused.
func SeedForBenchmark(b *testing.B, s customer.Store) *customer.User {
	ctx := context.Background()
	n := BenchCustomers()
	u, err := s.UserByLogin(ctx, "bench", "seeder")
	if customer.IsKind(err, customer.NotFound) {
		if _, err := s.CreateClient(ctx, "bench", "Bench"); err != nil {
			b.Fatal(err)
		}
		if u, err = s.CreateUser(ctx, &customer.NewUser{ClientCode: "bench", Username: "seeder", Role: customer.RoleAdmin, PasswordHash: hash()}); err != nil {
			b.Fatal(err)
		}
	} else if err != nil {
		b.Fatal(err)
	}
	have, err := s.SearchCustomers(ctx, u.ClientID, &customer.Query{Page: n, PageSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	if len(have.Customers) == 1 {
		return u // already seeded
	}
	// The customers are written as an import writes them: batches of seedBatch, each one
	// transaction through the same rules as every write, a few batches at once (SQLite
	// takes them one after the other; PostgreSQL side by side).
	start := time.Now()
	const seedBatch, seedWriters = 1000, 4
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range seedWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				from := next
				next += seedBatch
				mu.Unlock()
				if from >= n {
					return
				}
				ws := make([]*customer.Write, 0, seedBatch)
				for i := from; i < min(from+seedBatch, n); i++ {
					ws = append(ws, &customer.Write{Client: u.ClientID, User: u.ID, Input: benchCustomer(i)})
				}
				if _, err := s.WriteCustomers(ctx, ws); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	b.Logf("seeded %d customers in %v", n, time.Since(start).Round(time.Second))
	return u
}

// Benchmark measures the reads an integration makes most, over a store of
// BenchCustomers() customers: one customer by id, and search pages for each kind of
// filter and order. Each must stay fast as the store grows, which only indexes allow.
func Benchmark(b *testing.B, s customer.Store) {
	u := SeedForBenchmark(b, s)
	ctx := context.Background()
	n := BenchCustomers()
	b.Run("GetByID", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 1))
		for b.Loop() {
			if _, err := s.Customer(ctx, u.ClientID, int32(1+r.IntN(n))); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Concurrent replaces of random customers by the values of other random customers (so
	// that names, statuses, dates and the other searched values change), 64 writers at
	// once: the rate at which the store makes such writes durable.
	b.Run("ReplaceParallel", func(b *testing.B) {
		b.SetParallelism(32) // 32 × GOMAXPROCS writers
		var seq sync.Mutex
		seed := uint64(0)
		b.RunParallel(func(pb *testing.PB) {
			seq.Lock()
			seed++
			r := rand.New(rand.NewPCG(seed, 3))
			seq.Unlock()
			for pb.Next() {
				i := r.IntN(n)
				w := benchCustomer(r.IntN(n))
				w.Source = ptr("bench " + strconv.Itoa(r.IntN(1000)))
				w.AccountNumber = nil // another customer holds that number
				if _, err := s.WriteCustomer(ctx, &customer.Write{Client: u.ClientID, User: u.ID, ID: int32(i + 1), Input: w}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	day := time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC)
	week := day.AddDate(0, 0, 7)
	for _, tc := range []struct {
		name string
		q    customer.Query
	}{
		{"NameCommon", customer.Query{Name: "son", Page: 2, PageSize: 20}},
		{"NameRare", customer.Query{Name: "nakamura okafor", Page: 1, PageSize: 20}},
		{"NameTwoLetters", customer.Query{Name: "ez", Page: 2, PageSize: 20}},
		{"NameDescending", customer.Query{Name: "kowalski", Page: 3, PageSize: 20, Descending: true}},
		{"NameByUpdated", customer.Query{Name: "okafor", Sort: customer.SortUpdatedDate, Descending: true, Page: 1, PageSize: 20}},
		{"Email", customer.Query{Email: "nakamura12", Page: 1, PageSize: 20}},
		{"AccountNumber", customer.Query{AccountNumbers: []string{fmt.Sprintf("AC-%08d", n/2)}, Page: 1, PageSize: 20}},
		{"StatusPage50", customer.Query{Statuses: []customer.Status{customer.StatusClosed}, Page: 50, PageSize: 20}},
		{"AgentByActivated", customer.Query{AgentIDs: []int32{7}, Sort: customer.SortActivatedDate, Page: 1, PageSize: 50}},
		{"ActivatedWeek", customer.Query{Activated: customer.TimeRange{From: &day, To: &week}, Sort: customer.SortActivatedDate, Page: 1, PageSize: 20}},
		{"UpdatedDescending", customer.Query{Sort: customer.SortUpdatedDate, Descending: true, Page: 1, PageSize: 100}},
		{"LastPageOf500", customer.Query{Page: max(1, n/500), PageSize: 500}},
	} {
		b.Run("Search"+tc.name, func(b *testing.B) {
			for b.Loop() {
				q := tc.q
				if _, err := s.SearchCustomers(ctx, u.ClientID, &q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
