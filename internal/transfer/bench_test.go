package transfer_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
	"github.com/custd/custd/internal/sqlite"
	"github.com/custd/custd/internal/transfer"
)

// benchCustomers is the size of the import and export benchmarks:
// CUSTD_BENCH_CUSTOMERS, 100,000 by default.
func benchCustomers() int {
	if n, err := strconv.Atoi(os.Getenv("CUSTD_BENCH_CUSTOMERS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

var first = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"}
var last = []string{"Okafor", "Nakamura", "Kowalski", "Reyes", "Lindqvist", "Haddad", "Moreau", "Singh", "Novak", "Costa"}

// benchRecord is customer i as another system would export it: about 1.6 KB in the
// wire form, like the HTTP benchmarks' bodies.
func benchRecord(i int) *customer.Customer {
	day := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	limit := customer.Money(250_000_000)
	return &customer.Customer{ID: int32(i + 1), CreatedBy: 3, CreatedDate: day, UpdatedDate: day.Add(time.Hour), Writable: customer.Writable{
		BillingAddress: &customer.Address{ID: int32(2*i + 1), FirstName: first[i%10], LastName: last[i/10%10], CompanyName: fmt.Sprintf("%s %s Fiber %d", first[i/100%10], last[i%10], i),
			Line1: fmt.Sprintf("%d Main St", i%9000+1), City: "Springfield", StateOrProvince: "IL", PostalCode: "62701", CountryCode: 1},
		ServiceAddress: &customer.Address{ID: int32(2*i + 2), Line1: fmt.Sprintf("%d Service Rd", i%500+1), City: "Springfield", PostalCode: "62702"},
		AccountNumber:  ptr(fmt.Sprintf("ACC-%08d", i)), ActivatedDate: &day, AgentID: ptr(int32(i%50 + 1)),
		Email: ptr(fmt.Sprintf("billing%d@%s.example", i, last[i%10])), RegistrationCode: ptr(fmt.Sprintf("REG%09d", i)),
		SoldBy: ptr(int32(i%20 + 1)), Source: ptr("crm"), Status: customer.StatusOpen,
		Finance: customer.Finance{BalanceLimit: &limit, BillProfileID: ptr(int32(i%5 + 1)), BillingMethod: ptr(customer.BillingEmailOnly),
			PaymentTermsDays: ptr(int32(30)), CycleDate: &day},
		Profile: customer.Profile{Class: ptr(customer.ClassBusiness), Language: ptr("English")},
		Fields:  []customer.CustomField{{FieldID: 1, Label: "Region", Value: "Midwest"}, {FieldID: 2, Label: "Tier", Value: strconv.Itoa(i % 3)}},
	}}
}

// benchFiles writes the benchmark's customers once per size and format.
var benchFiles sync.Map

func benchFile(b *testing.B, n int, format transfer.Format) string {
	key := fmt.Sprint(n, format)
	if p, ok := benchFiles.Load(key); ok {
		return p.(string)
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("custd-bench-import-%d.%s", n, format))
	if _, err := os.Stat(path); err != nil {
		// The CSV file is the export of the JSON Lines file imported.
		if format == transfer.CSV {
			s := benchStore(b, n)
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			records, _ := httpapi.NewRecords("")
			if _, err := transfer.Export(context.Background(), s, s.user.ClientID, transfer.CSV, records, f, nil); err != nil {
				b.Fatal(err)
			}
			f.Close()
		} else {
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			w := bufio.NewWriter(f)
			records, _ := httpapi.NewRecords("")
			for i := range n {
				line, _ := records.JSON(benchRecord(i))
				w.Write(line)
				w.WriteByte('\n')
			}
			w.Flush()
			f.Close()
		}
	}
	benchFiles.Store(key, path)
	return path
}

// benchStore is a store that holds the benchmark's customers, made by importing them.
func benchStore(b *testing.B, n int) *store {
	s := newStore(&testing.T{}, mustOpen(b, filepath.Join(b.TempDir(), "custd.db")))
	path := benchFile(b, n, transfer.JSONL)
	im := s.importer()
	im.BatchSize = transfer.DefaultBatch
	src := fileSource(path, transfer.JSONL)
	plan, err := im.Validate(context.Background(), src)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := im.Write(context.Background(), src, plan, transfer.Resume{}); err != nil {
		b.Fatal(err)
	}
	return s
}

func mustOpen(b *testing.B, path string) customer.Store {
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func fileSource(path string, format transfer.Format) transfer.Source {
	st, _ := os.Stat(path)
	return transfer.Source{Name: path, Format: format, Size: st.Size(), Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// stepLog logs how long each step of an import took.
type stepLog struct {
	b     *testing.B
	step  string
	start time.Time
}

func (p *stepLog) Start(step string, total int64, bytes bool) { p.step, p.start = step, time.Now() }
func (p *stepLog) Add(int64)                                  {}
func (p *stepLog) Done()                                      { p.b.Logf("%s: %v", p.step, time.Since(p.start)) }

// cpuTime is the processor time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakHeap samples the heap in use while f runs and returns its largest value, in MiB.
func peakHeap(f func()) float64 {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	f()
	close(stop)
	<-done
	return float64(peak.Load()) / (1 << 20)
}

// BenchmarkImport imports the benchmark's customers into an empty SQLite store, both
// passes (validating, then writing in batches): records/s over the whole import, and the
// largest heap in use meanwhile.
func BenchmarkImport(b *testing.B) {
	for _, format := range []transfer.Format{transfer.JSONL, transfer.CSV} {
		b.Run(string(format), func(b *testing.B) {
			n := benchCustomers()
			path := benchFile(b, n, format)
			var elapsed, cpu time.Duration
			var heap float64
			for b.Loop() {
				b.StopTimer()
				s := newStore(&testing.T{}, mustOpen(b, filepath.Join(b.TempDir(), "custd.db")))
				im := s.importer()
				im.BatchSize = benchBatch()
				im.Progress = &stepLog{b: b}
				b.StartTimer()
				start, startCPU := time.Now(), cpuTime()
				heap = max(heap, peakHeap(func() {
					src := fileSource(path, format)
					plan, err := im.Validate(context.Background(), src)
					if err != nil {
						b.Fatal(err)
					}
					if w, err := im.Write(context.Background(), src, plan, transfer.Resume{}); err != nil || w != n {
						b.Fatal(w, err)
					}
				}))
				elapsed, cpu = elapsed+time.Since(start), cpu+cpuTime()-startCPU
			}
			b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/record")
			b.ReportMetric(heap, "peak-heap-MiB")
		})
	}
}

// BenchmarkExport exports the benchmark's customers from a SQLite store.
func BenchmarkExport(b *testing.B) {
	n := benchCustomers()
	s := benchStore(b, n)
	for _, format := range []transfer.Format{transfer.JSONL, transfer.CSV} {
		b.Run(string(format), func(b *testing.B) {
			records, _ := httpapi.NewRecords("")
			var elapsed, cpu time.Duration
			var heap float64
			for b.Loop() {
				start, startCPU := time.Now(), cpuTime()
				heap = max(heap, peakHeap(func() {
					if got, err := transfer.Export(context.Background(), s, s.user.ClientID, format, records, io.Discard, nil); err != nil || got != n {
						b.Fatal(got, err)
					}
				}))
				elapsed, cpu = elapsed+time.Since(start), cpu+cpuTime()-startCPU
			}
			b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/record")
			b.ReportMetric(heap, "peak-heap-MiB")
		})
	}
}

// benchBatch is the batch size of the import benchmark: CUSTD_BENCH_BATCH, or the
// default.
func benchBatch() int {
	if n, err := strconv.Atoi(os.Getenv("CUSTD_BENCH_BATCH")); err == nil && n > 0 {
		return n
	}
	return transfer.DefaultBatch
}
