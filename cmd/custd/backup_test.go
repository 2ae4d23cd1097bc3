package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custd/custd/internal/sqlite"
)

// TestBackupDuringLoad takes a backup while 64 connections replace customers as fast as
// they can; the backup restores to a store that passes the integrity check and holds
// every write acknowledged before the backup began.
func TestBackupDuringLoad(t *testing.T) {
	e := newStoreEnv(t, false)
	const customers = 200
	if _, err := cli(t, e, "", "import", customersFile(t, customers)); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, e["CUSTD_DB"], adminPW)
	// acked[i] is the last email value acknowledged for customer i, as a counter. Each
	// customer is written by one connection, one write after the other.
	var (
		mu    sync.Mutex
		acked = make([]int, customers)
		seq   atomic.Int64
		done  atomic.Int64 // writes acknowledged
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				i := w + 64*(j%((customers-w+63)/64))
				n := int(seq.Add(1))
				body := fmt.Sprintf(`{"status":"OPEN","email":"w%d@example.com","account_number":"A-%d"}`, n, i)
				req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/v1/Customers/%d", p.url, 10+3*i), strings.NewReader(body))
				req.SetBasicAuth("admin@demo", adminPW)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("PUT: %d", resp.StatusCode)
					return
				}
				mu.Lock()
				acked[i] = n
				mu.Unlock()
				done.Add(1)
			}
		}()
	}
	// The backup starts once the load is well under way, and the load goes on until many
	// more writes are acknowledged after it: counted, not timed, so that a slow machine
	// makes the test slower, not wrong.
	waitWrites := func(n int64) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); done.Load() < n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) || t.Failed() {
				close(stop)
				wg.Wait()
				t.Fatalf("only %d writes acknowledged under load, waiting for %d", done.Load(), n)
			}
		}
	}
	waitWrites(256)
	mu.Lock()
	before := append([]int(nil), acked...) // acknowledged before the backup began
	mu.Unlock()
	backup := filepath.Join(t.TempDir(), "backup.db")
	out, err := cli(t, e, "", "backup", backup)
	waitWrites(done.Load() + 128) // the load goes on after the backup too
	close(stop)
	wg.Wait()
	if err != nil || !strings.Contains(out, "integrity check ok") {
		t.Fatalf("backup: %v %q", err, out)
	}
	if st, _ := os.Stat(backup); st.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode %v", st.Mode())
	}

	// Restore refuses while the server has the store open, and into a new store works.
	if _, err := cli(t, e, "", "restore", backup); err == nil || !strings.Contains(err.Error(), "is open in another process") {
		t.Fatalf("restore over a store in use: %v", err)
	}
	restored := env{"CUSTD_DB": "sqlite:" + filepath.Join(t.TempDir(), "restored.db")}
	if _, err := cli(t, restored, "", "restore", backup); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Check(context.Background(), strings.TrimPrefix(restored["CUSTD_DB"], "sqlite:")); err != nil {
		t.Fatal(err)
	}
	got := exportOf(t, restored)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != customers {
		t.Fatalf("%d customers restored", len(lines))
	}
	for i, line := range lines {
		at := strings.Index(line, `"email":"w`)
		if before[i] == 0 {
			continue
		}
		n := 0
		if at >= 0 {
			fmt.Sscanf(line[at+len(`"email":"w`):], "%d@", &n)
		}
		if n < before[i] {
			t.Fatalf("customer %d: restored write %d, but write %d was acknowledged before the backup began", i, n, before[i])
		}
	}
	p.stop(t)
}
