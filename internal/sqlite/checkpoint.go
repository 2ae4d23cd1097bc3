package sqlite

import (
	"database/sql"
	"sync/atomic"
	"time"
)

// checkpointInterval is how often committed WAL frames are copied into the database file.
const checkpointInterval = 100 * time.Millisecond

// restartFrames is the WAL length, in pages, past which the writer makes the WAL start
// over (128 MiB of 2 KiB pages). A restart stops the writer for a moment; the longer the
// WAL may grow, the rarer the stops.
var restartFrames int64 = 65536

// checkpointer copies committed transactions from the WAL into the database file on a
// connection of its own, so that the writer seldom stops to do it: SQLite's automatic
// checkpoint would run inside the commit that crosses its threshold, and every write in
// that commit's group would wait for it. PASSIVE checkpoints never block readers or the
// writer.
//
// They cannot make the WAL start over, though: SQLite rewinds the WAL only when a writer
// begins after every frame was copied, and under a steady stream of writes the copy
// always lags a little, so the file would grow without end. So the writer, between two
// groups, when the WAL is longer than restartFrames, runs a RESTART checkpoint itself:
// it copies the few frames the checkpointer has not and waits for readers to leave the
// WAL, and the next write starts the WAL from its beginning.
type checkpointer struct {
	db      *sql.DB
	commits atomic.Int64
	frames  atomic.Int64 // the WAL's length at the last checkpoint, in pages
	stop    chan struct{}
	done    chan struct{}
}

func newCheckpointer(db *sql.DB) *checkpointer {
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

// committed tells the checkpointer that the writer committed a transaction.
func (c *checkpointer) committed() { c.commits.Add(1) }

// restartDue reports whether the WAL has grown long enough for the writer to restart it.
func (c *checkpointer) restartDue() bool { return c.frames.Load() > restartFrames }

// restarted records that the writer restarted the WAL.
func (c *checkpointer) restarted() { c.frames.Store(0) }

func (c *checkpointer) loop() {
	defer close(c.done)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	var seen int64
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if n := c.commits.Load(); n != seen {
			seen = n
			// A failed checkpoint loses nothing: the frames stay in the WAL, durable, and
			// the next checkpoint copies them.
			var busy, log, copied int64
			if c.db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &copied) == nil {
				c.frames.Store(log)
			}
		}
	}
}

// close stops the checkpointer after a last checkpoint that also empties the WAL file.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	c.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return c.db.Close()
}
