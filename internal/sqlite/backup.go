package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/custd/custd/internal/migrate"
)

// BackupInfo describes a backup file.
type BackupInfo struct {
	Bytes         int64
	SchemaVersion int
}

// Backup writes a copy of the database at path to dest, a file that must not exist, with
// VACUUM INTO: one read transaction of its own, so the copy holds exactly the writes
// committed (every write acknowledged) before it began, while servers go on reading and
// writing. The copy is created readable by its owner only (it holds customers' tax ids and
// PINs), synced to disk, and checked with PRAGMA integrity_check. Errors: dest exists, no
// database at path, the copy fails its check.
func Backup(ctx context.Context, path, dest string) (BackupInfo, error) {
	var info BackupInfo
	if _, err := os.Stat(path); err != nil {
		return info, fmt.Errorf("sqlite %s: %w", path, err)
	}
	// VACUUM INTO writes into an empty file as it finds it, so the mode is set first.
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return info, fmt.Errorf("%s exists already: a backup never overwrites a file", dest)
	}
	if err != nil {
		return info, err
	}
	f.Close()
	ok := false
	defer func() {
		if !ok {
			os.Remove(dest)
		}
	}()
	db, err := sql.Open("sqlite", dsn(path, "&mode=rw"))
	if err != nil {
		return info, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return info, explain(path, err)
	}
	db.Close()
	if info, err = Check(ctx, dest); err != nil {
		return info, fmt.Errorf("the copy %s: %w", dest, err)
	}
	if err := syncFile(dest); err != nil {
		return info, err
	}
	ok = true
	return info, nil
}

// Check opens a backup (or any custd SQLite database) read-only and checks it: PRAGMA
// integrity_check must answer ok, and its schema must be one this binary knows. Errors: a
// file that is not a SQLite database, a broken one, one of a newer custd.
func Check(ctx context.Context, path string) (BackupInfo, error) {
	var info BackupInfo
	st, err := os.Stat(path)
	if err != nil {
		return info, err
	}
	info.Bytes = st.Size()
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	// immutable: nothing else writes it, and no -wal or -shm file is made beside it.
	db, err := sql.Open("sqlite", "file:"+esc+"?mode=ro&immutable=1")
	if err != nil {
		return info, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return info, explain(path, err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return info, err
		}
		problems = append(problems, line)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return info, explain(path, err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		if len(problems) > 5 {
			problems = append(problems[:5], "…")
		}
		return info, fmt.Errorf("integrity check failed: %s", strings.Join(problems, "; "))
	}
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&info.SchemaVersion); err != nil {
		return info, fmt.Errorf("not a custd store (it has no schema_migrations table): %w", err)
	}
	ms, err := migrate.Load(migrations, "migrations")
	if err != nil {
		return info, err
	}
	if _, err := migrate.Pending(ms, info.SchemaVersion); err != nil {
		return info, err
	}
	return info, nil
}

// InUse reports whether a process has the SQLite database at path open. Every connection
// to a database in WAL mode holds a shared lock on one byte of its -shm file (SQLite's
// "DMS" lock, byte 128) for as long as it is open, even while idle; another process's
// lock shows through fcntl's F_GETLK. A database with no -shm file is open nowhere.
func InUse(path string) (bool, error) {
	f, err := os.OpenFile(path+"-shm", os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart, Start: shmDMS, Len: 1}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return false, err
	}
	return lk.Type != syscall.F_UNLCK, nil
}

// shmDMS is the offset of the "dead man switch" lock byte in a -shm file: 120 (the
// base of the lock bytes) plus SQLITE_SHM_NLOCK (8), in SQLite's os_unix.c.
const shmDMS = 128

// Restore puts the backup at backup in place of the database at path: it checks the
// backup, refuses if a process has the database open, copies the backup beside it and
// renames the copy over it, then opens it once, which brings its schema up to date. A
// database that was there is kept, renamed to the name it returns, and its request log
// beside it (that name with RequestLogSuffix added). Errors: Check's, a database in use.
func Restore(ctx context.Context, backup, path string) (replaced string, err error) {
	if _, err := Check(ctx, backup); err != nil {
		return "", fmt.Errorf("the backup %s: %w", backup, err)
	}
	if err := folderProblem(path); err != nil {
		return "", err
	}
	busy, err := InUse(path)
	if err != nil {
		return "", err
	}
	if busy {
		return "", fmt.Errorf("the store %s is open in another process (a custd serve?): stop it, then restore", path)
	}
	tmp, err := copyBeside(backup, path)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp)
	if _, err := os.Stat(path); err == nil {
		// Fold the old database's WAL into it, so that the kept file is whole and no WAL
		// is left to be read as the restored database's.
		if err := checkpoint(ctx, path); err != nil {
			return "", err
		}
		replaced = path + ".replaced-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(path, replaced); err != nil {
			return "", err
		}
	}
	for _, side := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + side); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return replaced, err
		}
	}
	// The request log belongs to the store it was recorded against (its client ids are
	// that store's), so it goes aside with it, and the restored store starts a new one.
	for _, side := range []string{"", "-wal", "-shm"} {
		from := path + RequestLogSuffix + side
		var err error
		if replaced != "" {
			err = os.Rename(from, replaced+RequestLogSuffix+side)
		} else {
			err = os.Remove(from)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return replaced, err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return replaced, err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return replaced, err
	}
	s, err := OpenExisting(ctx, path)
	if err != nil {
		return replaced, err
	}
	return replaced, s.Close()
}

// copyBeside copies src to a new file in dst's folder, readable by its owner only, and
// syncs it.
func copyBeside(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".restore-*")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// checkpoint copies the WAL of the database at path into it and empties the WAL.
func checkpoint(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", dsn(path, "&mode=rw"))
	if err != nil {
		return err
	}
	defer db.Close()
	var busy, log, copied int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &log, &copied); err != nil {
		return explain(path, err)
	}
	if busy != 0 {
		return fmt.Errorf("the store %s is in use: its WAL could not be checkpointed", path)
	}
	return db.Close()
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
