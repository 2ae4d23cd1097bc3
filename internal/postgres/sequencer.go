package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// The change feed on PostgreSQL.
//
// A version's event_id cannot be taken inside the write's transaction: transactions commit
// in another order than they take sequence values, so a reader paging with after= could be
// given 7 and only later find 6, and skip it for good. Versions are written with event_id
// NULL instead, and the sequencer numbers the committed ones afterwards. The number is kept
// in a narrow row of its own (customer_events), written in the version's statement, so
// that numbering updates that small row and never the stored version with its document
// (customer_version_data); customer_versions is a view joining the two.
//
//   - one sequencer at a time, across every process on the database, holds the
//     transaction-scoped advisory lock lockSequencer;
//   - its numbering statement starts after it holds the lock, so under READ COMMITTED its
//     snapshot holds everything the previous holder committed: it never numbers a version
//     twice, and takes its numbers from event_sequence, past all numbers given before;
//   - its numbers become visible together, when it commits, and the next holder can only
//     commit later. So a reader whose snapshot holds any number holds every smaller one:
//     paging with event_id > after skips nothing and never meets a smaller id later;
//   - versions of one customer are numbered in version order: a version is written only
//     after the one before it committed, and pending versions are numbered in
//     (changed_date, customer_id, version) order, in which a customer's changed_date
//     grows with every version.
//
// Every serve process runs the loop: a commit of this process wakes it at once (but no
// sooner than sequencerPace after a run that numbered versions), and it also looks every
// sequencerIdle for versions that other processes (or a command such as an import) left
// unnumbered. Events also numbers what is pending for its client before it reads, so a
// reader sees its own acknowledged writes.

// lockSequencer is the advisory lock of the one sequencer at a time.
const lockSequencer int64 = 0x637573746400_03

// sequencerBatch is the most versions one numbering transaction takes.
const sequencerBatch = 5000

// sequencerIdle is how often the loop looks for versions without a wake-up.
const sequencerIdle = 500 * time.Millisecond

// sequencerPace is the pause after a run that numbered versions, before the next: the
// versions committed meanwhile are numbered together, in one transaction, instead of one
// numbering transaction (four round trips and a commit) for every few writes.
const sequencerPace = 5 * time.Millisecond

// number gives event ids to committed versions that have none, oldest first, if it gets
// the sequencer lock (wait: block for it; else give up when another process holds it).
// It reports how many it numbered and whether it held the lock.
func (s *Store) number(ctx context.Context, wait bool) (n int64, locked bool, err error) {
	err = s.inTx(ctx, func(t pgx.Tx) error {
		n, locked = 0, true
		if wait {
			if _, err := t.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockSequencer); err != nil {
				return err
			}
		} else if err := t.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, lockSequencer).Scan(&locked); err != nil || !locked {
			return err
		}
		tag, err := t.Exec(ctx, `WITH pending AS (
				SELECT customer_id, version, row_number() OVER (ORDER BY changed_date, customer_id, version) AS n
				FROM customer_events WHERE event_id IS NULL
				ORDER BY changed_date, customer_id, version LIMIT $1
			), counter AS (
				UPDATE event_sequence SET last = last + (SELECT count(*) FROM pending)
				RETURNING last - (SELECT count(*) FROM pending) AS base
			)
			UPDATE customer_events e SET event_id = counter.base + pending.n FROM pending, counter
			WHERE e.customer_id = pending.customer_id AND e.version = pending.version`, sequencerBatch)
		n = tag.RowsAffected()
		return err
	})
	return n, locked, err
}

// wake asks the sequencer loop to run soon; it never blocks.
func (s *Store) wake() {
	select {
	case s.wakeup <- struct{}{}:
	default:
	}
}

// sequence is the sequencer loop of a process, until ctx ends.
// A failed run (the database unreachable) is tried again at the next wake-up or idle
// look; the requests that meet the outage report it.
func (s *Store) sequence(ctx context.Context) {
	defer close(s.sequenced)
	idle := time.NewTimer(sequencerIdle)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wakeup:
		case <-idle.C:
		}
		var numbered int64
		for ctx.Err() == nil {
			n, locked, err := s.number(ctx, false)
			numbered += n
			if err != nil {
				break
			}
			if n == sequencerBatch {
				continue // more are waiting
			}
			if locked {
				break
			}
			// Another process is numbering, with a snapshot that may predate this
			// process's last commit: try again shortly rather than leave it waiting.
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
		if numbered > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(sequencerPace):
			}
		}
		idle.Reset(sequencerIdle)
	}
}
