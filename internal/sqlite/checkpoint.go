package sqlite

import (
	"database/sql"
	"sync/atomic"
	"time"
)

// checkpointInterval is how often committed WAL frames are copied into the database file.
const checkpointInterval = 100 * time.Millisecond

// checkpointer copies committed transactions from the WAL into the database file on a
// connection of its own, so that the writer never stops to do it: SQLite's automatic
// checkpoint would run inside the commit that crosses its threshold, and every write in
// that commit's group would wait for it. PASSIVE checkpoints never block readers or the
// writer; the WAL starts over from its beginning once a checkpoint has caught up.
type checkpointer struct {
	db      *sql.DB
	commits atomic.Int64
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
			c.db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
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
