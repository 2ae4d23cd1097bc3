package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// TestBatchFailuresStayAlone checks group commit's promise: writes that share a
// transaction each get their own outcome, and one write's failure neither fails the
// others nor leaves any of its own changes behind, whether it fails before changing
// anything or after.
func TestBatchFailuresStayAlone(t *testing.T) {
	for _, tc := range []struct {
		name string
		// failAfterWrite: the failing write changes its row before it fails, which
		// forces the batch to run again with a savepoint per write.
		failAfterWrite bool
		// wantRuns is how often the writes to rows 1 and 3 run: ops run in the order of
		// their ids, so after a failure after writing the batch runs again from write 1,
		// while write 3 had not run yet.
		wantRuns map[int]int32
	}{
		{"fails before writing", false, map[int]int32{1: 1, 3: 1}},
		{"fails after writing", true, map[int]int32{1: 2, 3: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, filepath.Join(t.TempDir(), "custd.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			w := s.writer
			if err := w.do(ctx, 0, func(t *tx) error {
				if _, err := t.exec(`CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`); err != nil {
					return err
				}
				_, err := t.exec(`INSERT INTO counters (id, n) VALUES (1, 0), (2, 0), (3, 0)`)
				return err
			}); err != nil {
				t.Fatal(err)
			}

			// Hold the writer inside a first batch while three writes queue behind it, so
			// that the three make the next batch together.
			started, release := make(chan struct{}), make(chan struct{})
			held := make(chan error, 1)
			go func() {
				held <- w.do(ctx, 0, func(*tx) error { close(started); <-release; return nil })
			}()
			<-started
			var runs [4]atomic.Int32
			increment := func(id int) func(*tx) error {
				return func(t *tx) error {
					runs[id].Add(1)
					_, err := t.exec(`UPDATE counters SET n = n + 1 WHERE id = ?`, id)
					return err
				}
			}
			failure := errors.New("this write is refused")
			fail := func(t *tx) error {
				runs[2].Add(1)
				if tc.failAfterWrite {
					if _, err := t.exec(`UPDATE counters SET n = n + 100 WHERE id = 2`); err != nil {
						return err
					}
				}
				return failure
			}
			results := make([]chan error, 4)
			for id, fn := range map[int]func(*tx) error{1: increment(1), 2: fail, 3: increment(3)} {
				results[id] = make(chan error, 1)
				go func() { results[id] <- w.do(ctx, int32(id), fn) }()
			}
			for len(w.ops) != 3 {
				time.Sleep(time.Millisecond) // until all three wait in the queue
			}
			close(release)
			if err := <-held; err != nil {
				t.Fatalf("holding write: %v", err)
			}

			for id, want := range map[int]error{1: nil, 2: failure, 3: nil} {
				if err := <-results[id]; !errors.Is(err, want) {
					t.Errorf("write %d: got %v, want %v", id, err, want)
				}
			}
			var got []int
			rows, err := s.read.QueryContext(ctx, `SELECT n FROM counters ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var n int
				if err := rows.Scan(&n); err != nil {
					t.Fatal(err)
				}
				got = append(got, n)
			}
			if want := []int{1, 0, 1}; !slices.Equal(got, want) {
				t.Errorf("counters after the batch: %v, want %v (the failed write left nothing, the others kept theirs)", got, want)
			}
			for id, want := range tc.wantRuns {
				if n := runs[id].Load(); n != want {
					t.Errorf("write %d ran %d times, want %d", id, n, want)
				}
			}
		})
	}
}

// TestObserveCommits checks what the group commit reports: one call per transaction,
// with the number of writes that shared it.
func TestObserveCommits(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "custd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	commits := make(chan int, 10)
	s.ObserveCommits(func(writes int, commit time.Duration) {
		if commit <= 0 {
			t.Errorf("a commit of %v", commit)
		}
		commits <- writes
	})
	w := s.writer
	started, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- w.do(ctx, 0, func(*tx) error { close(started); <-release; return nil })
	}()
	<-started
	done := make(chan error, 3)
	for range 3 {
		go func() { done <- w.do(ctx, 0, func(*tx) error { return nil }) }()
	}
	for len(w.ops) < 3 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if got := []int{<-commits, <-commits}; !slices.Equal(got, []int{1, 3}) {
		t.Fatalf("commits of %v writes, want [1 3]", got)
	}
}
