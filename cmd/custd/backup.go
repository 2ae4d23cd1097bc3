package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/custd/custd/internal/sqlite"
)

// postgresBackups is what backup and restore say about a PostgreSQL store: its own tools
// do it better than custd could.
const postgresBackups = `with PostgreSQL, back up and restore with PostgreSQL's own tools:
  pg_dump --format=custom --file=custd.dump DATABASE_URL    (a consistent logical copy, taken while custd runs)
  pg_restore --clean --if-exists --dbname=DATABASE_URL custd.dump
or, for a whole server with point-in-time recovery, base backups (pg_basebackup) with WAL
archiving; see https://www.postgresql.org/docs/current/backup.html`

var backupCommand = &command{
	name:    "backup",
	args:    "FILE",
	nargs:   1,
	summary: "copy the SQLite store to FILE, also while servers run and write",
	about: `Writes a consistent copy of the SQLite store to FILE, which must not exist: it holds
every write acknowledged before the backup began, and the servers go on reading and
writing meanwhile. The copy is checked with PRAGMA integrity_check before the command
succeeds, and is readable by its owner only (it holds tax ids and PINs). custd restore
puts it back.

With PostgreSQL it says which of PostgreSQL's own tools to use (pg_dump, base backups).`,
	store: true,
	run: func(inv *invocation) error {
		path, ok := sqlitePath(inv.flags.lookup("db"))
		if !ok {
			return errors.New("backup: " + postgresBackups)
		}
		start := time.Now()
		info, err := sqlite.Backup(inv.ctx, path, inv.args[0])
		if err != nil {
			return err
		}
		abs, _ := filepath.Abs(inv.args[0])
		fmt.Fprintf(inv.stdout, "backed up %s to %s: %.1f MB, schema version %d, integrity check ok, in %s\n",
			storeName(inv.flags.lookup("db")), abs, float64(info.Bytes)/1e6, info.SchemaVersion, time.Since(start).Round(time.Millisecond))
		return nil
	},
}

var restoreCommand = &command{
	name:    "restore",
	args:    "FILE",
	nargs:   1,
	summary: "put a backup made by custd backup in place of the SQLite store",
	about: `Puts the backup FILE in place of the SQLite store that --db names. Stop the servers
first: restore refuses while any process has the store open. FILE is checked (PRAGMA
integrity_check, and a schema this custd knows) before anything changes. A store that was
there is kept beside it, renamed to custd.db.replaced-<time>: delete it once the
restored store is known good.

With PostgreSQL it says which of PostgreSQL's own tools to use (pg_restore, base backups).`,
	store: true,
	run: func(inv *invocation) error {
		path, ok := sqlitePath(inv.flags.lookup("db"))
		if !ok {
			return errors.New("restore: " + postgresBackups)
		}
		replaced, err := sqlite.Restore(inv.ctx, inv.args[0], path)
		if err != nil {
			return err
		}
		msg := fmt.Sprintf("restored %s from %s", storeName(inv.flags.lookup("db")), inv.args[0])
		if replaced != "" {
			msg += "; the store it replaced is kept as " + replaced
		}
		fmt.Fprintln(inv.stdout, strings.TrimSpace(msg))
		return nil
	},
}
