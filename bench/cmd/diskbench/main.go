// Command diskbench measures what the disk under a data directory allows for
// durable writes, the ceiling that any store's write throughput meets:
// fdatasync calls per second, and SQLite single-row updates per second in WAL
// mode with synchronous=FULL at one and at 64 updates per transaction. It
// prints a Markdown table.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "diskbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("diskbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory on the disk to measure (files are created and removed there)")
	duration := fs.Duration("duration", 5*time.Second, "how long each measurement runs")
	rows := fs.Int("rows", 10000, "rows in the SQLite table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	work, err := os.MkdirTemp(*dir, "diskbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	syncs, err := fdatasyncRate(ctx, filepath.Join(work, "sync"), *duration)
	if err != nil {
		return fmt.Errorf("fdatasync: %w", err)
	}
	type row struct {
		what string
		rate float64
	}
	results := []row{{"fdatasync of a 4 KiB write", syncs}}
	for _, m := range []struct {
		sync  string
		perTx int
	}{{"FULL", 1}, {"FULL", 64}, {"NORMAL", 1}} {
		rate, err := sqliteUpdateRate(ctx, filepath.Join(work, fmt.Sprintf("%s-%d.db", m.sync, m.perTx)), m.sync, m.perTx, *rows, *duration)
		if err != nil {
			return fmt.Errorf("sqlite synchronous=%s: %w", m.sync, err)
		}
		what := fmt.Sprintf("SQLite WAL synchronous=%s, %d update(s) per transaction", m.sync, m.perTx)
		if m.sync == "NORMAL" {
			what += " (PocketBase's setting: commits not fsynced)"
		}
		results = append(results, row{what, rate})
	}

	fmt.Fprintf(stdout, "| disk measure (%s each) | per second |\n|---|---:|\n", *duration)
	for _, r := range results {
		fmt.Fprintf(stdout, "| %s | %.0f |\n", r.what, r.rate)
	}
	return nil
}

// fdatasyncRate rewrites one block of a preallocated file and fdatasyncs it in
// a loop. Rewriting in place keeps file-size metadata out of the measurement,
// as a database's write-ahead log mostly does.
func fdatasyncRate(ctx context.Context, path string, d time.Duration) (float64, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	block := make([]byte, 4096)
	if _, err := f.Write(make([]byte, 256*len(block))); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	n := 0
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		block[0] = byte(n)
		if _, err := f.WriteAt(block, int64(n%256)*int64(len(block))); err != nil {
			return 0, err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), ctx.Err()
}

// sqliteUpdateRate updates random rows of a table of customer-sized rows,
// perTx updates per committed transaction, and returns updates per second.
func sqliteUpdateRate(ctx context.Context, path, synchronous string, perTx, rows int, d time.Duration) (float64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous("+synchronous+")")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	// About the size of a stored customer document.
	doc := strings.Repeat("x", 1500)
	if _, err := db.ExecContext(ctx, `CREATE TABLE customer (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, doc TEXT NOT NULL)`); err != nil {
		return 0, err
	}
	if _, err := db.ExecContext(ctx, `
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO customer (id, version, doc) SELECT i, 1, ? FROM n`, rows, doc); err != nil {
		return 0, err
	}

	updates := 0
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		for range perTx {
			if _, err := tx.ExecContext(ctx, `UPDATE customer SET version = version + 1, doc = ? WHERE id = ?`, doc, 1+rand.IntN(rows)); err != nil {
				tx.Rollback()
				return 0, err
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
		updates += perTx
	}
	return float64(updates) / time.Since(start).Seconds(), ctx.Err()
}
