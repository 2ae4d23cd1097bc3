package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/httpapi"
	"github.com/custd/custd/internal/transfer"
)

// progressEvery is how often a long command writes a line of progress when standard error
// is not a terminal.
const progressEvery = 5 * time.Second

var exportCommand = &command{
	name:    "export",
	summary: "write a client's customers to a JSON Lines or CSV file",
	about: `Writes every customer of a client, in customer_id order, each exactly as GET returns
it (without ok and links): one JSON object per line, or CSV with a header row, nested
members as dotted column names (billing_address.city) and custom fields as
fields[<field_id>].label and fields[<field_id>].value. All of it comes from one
consistent snapshot of the store, also while servers write: writes that finish during
the export are not in it, every write acknowledged before it began is.

The file holds security PINs and tax ids: it is created readable by its owner only.
Progress goes to standard error.`,
	store: true,
	flags: func(f *flags) {
		f.String("client", "CODE", "", "", "the client whose customers to export (by default the store's only client)")
		f.String("format", "FORMAT", "", "", "jsonl or csv (by default csv when --out ends in .csv, else jsonl)")
		f.String("out", "FILE", "", "", "the file to write (by default standard output); written whole or not at all")
		f.String("time-format", "FORMAT", "CUSTD_TIME_FORMAT", "rfc3339", "how date-times are written: rfc3339 (2024-06-10T09:31:44.903Z)\nor revio (2024-06-10T09:31:44.903, UTC without designator)")
	},
	run: runExport,
}

func runExport(inv *invocation) error {
	out := inv.flags.lookup("out")
	format, err := transfer.ParseFormat(inv.flags.lookup("format"), out)
	if err != nil {
		return err
	}
	records, err := httpapi.NewRecords(httpapi.TimeFormat(strings.ToLower(inv.flags.lookup("time-format"))))
	if err != nil {
		return fmt.Errorf("--time-format: %w", err)
	}
	s, err := inv.existingStore()
	if err != nil {
		return err
	}
	defer s.Close()
	client, err := inv.client(s)
	if err != nil {
		return err
	}
	var w io.Writer = inv.stdout
	var file *os.File
	if out != "" {
		// Written beside the target and renamed over it at the end, so that a failed or
		// interrupted export leaves no half file under the name.
		if file, err = os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".partial-*"); err != nil {
			return err
		}
		defer os.Remove(file.Name())
		defer file.Close()
		w = file
	}
	start := time.Now()
	n, err := transfer.Export(inv.ctx, s, client.ID, format, records, w, newProgress(inv.stderr, "export", progressEvery))
	if err != nil {
		if inv.ctx.Err() != nil {
			return errors.New("export interrupted: nothing was written")
		}
		return err
	}
	where := "standard output"
	if file != nil {
		if err := file.Sync(); err != nil {
			return err
		}
		if err := file.Close(); err != nil {
			return err
		}
		if err := os.Rename(file.Name(), out); err != nil {
			return err
		}
		where = out
	}
	fmt.Fprintf(inv.stderr, "exported %s customers of client %s to %s%s\n", thousands(int64(n)), client.Code, where, took(n, start))
	return s.Close()
}

// took says how long n records took since start, and how many per second when that
// means something (a second or more).
func took(n int, start time.Time) string {
	d := time.Since(start)
	if d < time.Second {
		return ""
	}
	return fmt.Sprintf(" in %s (%s per second)", d.Round(100*time.Millisecond), thousands(int64(float64(n)/d.Seconds())))
}

var importCommand = &command{
	name:     "import",
	args:     "[FILE]",
	nargs:    1,
	optional: true,
	summary:  "load customers from a JSON Lines or CSV file, or from another Customers API",
	about: `Loads customers into a client from FILE, in the formats custd export writes, or with
--from from any API that speaks Rev.io's Customers API (Rev.io itself, another custd),
read page by page: the way off Rev.io in one command.

Each record is checked exactly as the API checks a request body. All or nothing: when
any record is invalid, nothing is written, and every invalid one is named with its line
and its field errors (the first 100, then a count). Then the records are written in
batches, each batch one transaction, through the same rules as every write; a rule that
needs stored data (an account number another customer has) stops the import at its
batch, which is not written.

A record with a customer_id the client has replaces that customer; one with a
customer_id no customer has is created with that id; one without is created with a new
id. A record keeps every member the server sets that it carries (customer_id,
created_date, updated_date, activated_date, close_date, suspended_date,
registration_code, created_by, address ids), so an export imported into an empty store
exports the same bytes again. A record identical to its stored customer changes nothing
and makes no version; every other makes one, recorded in history as IMPORT.

Ctrl-C stops after the batch being written; running the same command again goes on from
there (the point is kept in a small file beside the SQLite store, or in the user's cache
folder for PostgreSQL). With --from, the source is first read into such a file, one page
at a time; a source that answers 429 or 503 is asked again after its Retry-After (or a
growing pause), and one that stops answering is read on from its last page by the next
run. The password of --user comes from CUSTD_SOURCE_PASSWORD or, with --password-stdin,
from the first line of standard input.`,
	store: true,
	flags: func(f *flags) {
		f.String("client", "CODE", "", "", "the client to import into (by default the store's only client)")
		f.String("format", "FORMAT", "", "", "jsonl or csv (by default csv when FILE ends in .csv, else jsonl)")
		f.Bool("dry-run", "", "check every record and report, write nothing")
		f.String("as", "USERNAME", "", "", "the user of the client the import is recorded as, in history and as\ncreated_by of records without one (by default the client's first admin)")
		f.String("from", "URL", "", "", "read the customers from this Customers API (its base URL, such as\nhttps://api.example.com) instead of a file")
		f.String("user", "USERNAME@CODE", "", "", "the login of --from")
		f.Bool("password-stdin", "", "read the password of --user from the first line of standard input")
		f.Int("batch", "N", "", transfer.DefaultBatch, "records written per transaction")
	},
	run: runImport,
}

func runImport(inv *invocation) error {
	from := inv.flags.lookup("from")
	var file string
	if len(inv.args) == 1 {
		file = inv.args[0]
	}
	switch {
	case (file == "") == (from == ""):
		return errors.New("import takes a FILE or --from URL (one of them); see custd help import")
	case from != "" && inv.flags.lookup("user") == "":
		return errors.New("import --from needs --user USERNAME@CODE, the login of the source")
	case from != "" && inv.flags.lookup("format") != "":
		return errors.New("import --from reads the API's JSON: --format does not apply")
	}
	batch, err := positiveFlag(inv, "batch")
	if err != nil {
		return err
	}
	format, err := transfer.ParseFormat(inv.flags.lookup("format"), file)
	if err != nil {
		return err
	}
	var password string
	if from != "" {
		if password, err = inv.sourcePassword(); err != nil {
			return err
		}
	}
	s, err := inv.existingStore()
	if err != nil {
		return err
	}
	defer s.Close()
	client, err := inv.client(s)
	if err != nil {
		return err
	}
	user, err := inv.importUser(s, client)
	if err != nil {
		return err
	}
	progress := newProgress(inv.stderr, "import", progressEvery)
	im := &transfer.Importer{Store: s, Client: client.ID, User: user.ID, Username: user.Login(), BatchSize: batch, Progress: progress}

	// The resume point of this source and client.
	source := from + " as " + inv.flags.lookup("user")
	if file != "" {
		if source, err = filepath.Abs(file); err != nil {
			return err
		}
	}
	statePath, err := inv.statePath(source, client.Code)
	if err != nil {
		return err
	}
	st, err := transfer.LoadState(statePath)
	if err != nil {
		return err
	}
	if st.Source != source || st.Client != client.Code {
		st = transfer.State{Source: source, Client: client.Code}
	}

	var src transfer.Source
	spool := strings.TrimSuffix(statePath, ".json") + ".jsonl"
	if from != "" {
		if err := inv.download(from, password, spool, statePath, &st, progress); err != nil {
			return err
		}
		src = transfer.Source{Name: "the records read from " + from, Format: transfer.JSONL, Size: st.Download.Bytes,
			Open: func() (io.ReadCloser, error) { return os.Open(spool) }}
	} else {
		info, err := os.Stat(file)
		if err != nil {
			return err
		}
		src = transfer.Source{Name: file, Format: format, Size: info.Size(), Open: func() (io.ReadCloser, error) { return os.Open(file) }}
	}

	plan, err := im.Validate(inv.ctx, src)
	if err != nil {
		if inv.ctx.Err() != nil {
			return errors.New("import interrupted while checking the records: nothing was written")
		}
		return err
	}
	if inv.flags.lookup("dry-run") == "true" {
		fmt.Fprintf(inv.stdout, "%s records are valid; nothing was written (--dry-run)\n", thousands(int64(plan.Records)))
		return nil
	}
	var resume transfer.Resume
	if st.Digest == plan.Digest && st.Resume.Written > 0 {
		resume = st.Resume
		fmt.Fprintf(inv.stderr, "going on after the %s records an earlier run of this import wrote\n", thousands(int64(resume.Written)))
	}
	st.Digest, st.Resume = plan.Digest, resume
	var saveErr error
	im.Committed = func(r transfer.Resume) {
		st.Resume = r
		if err := st.Save(statePath); err != nil && saveErr == nil {
			saveErr = err
			fmt.Fprintf(inv.stderr, "custd import: cannot keep the resume point in %s: %v\n", statePath, err)
		}
	}
	start := time.Now()
	n, err := im.Write(inv.ctx, src, plan, resume)
	written := resume.Written + n
	if err != nil {
		if inv.ctx.Err() != nil {
			return fmt.Errorf("import interrupted: %s of %s records are written, each batch whole; run the same command again to go on from there",
				thousands(int64(written)), thousands(int64(plan.Records)))
		}
		return err
	}
	os.Remove(statePath)
	os.Remove(spool)
	fmt.Fprintf(inv.stdout, "imported %s records into client %s%s\n", thousands(int64(plan.Records)), client.Code, took(n, start))
	if plan.WithoutID > 0 {
		fmt.Fprintf(inv.stdout, "%s records had no customer_id and were created with new ids: importing the file again would create them again\n",
			thousands(int64(plan.WithoutID)))
	}
	return s.Close()
}

// download reads the source into the spool file, from where the state says it stopped.
func (inv *invocation) download(from, password, spool, statePath string, st *transfer.State, progress transfer.Progress) error {
	if st.Download == nil {
		st.Download = &transfer.DownloadState{}
	}
	if st.Download.Pages > 0 && !st.Download.Complete {
		fmt.Fprintf(inv.stderr, "going on after page %d (%s records) that an earlier run read\n", st.Download.Pages, thousands(int64(st.Download.Records)))
	}
	f, err := os.OpenFile(spool, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	d := &transfer.Download{URL: from, Login: inv.flags.lookup("user"), Password: password, Progress: progress}
	err = d.Run(inv.ctx, f, *st.Download, func(ds transfer.DownloadState) error {
		*st.Download = ds
		return st.Save(statePath)
	})
	if err != nil && inv.ctx.Err() != nil {
		return fmt.Errorf("import interrupted while reading the source, after %s records: nothing was written; run the same command again to go on from there",
			thousands(int64(st.Download.Records)))
	}
	if err != nil {
		return fmt.Errorf("%w; nothing was written", err)
	}
	return f.Close()
}

// sourcePassword is the password of --user.
func (inv *invocation) sourcePassword() (string, error) {
	if inv.flags.lookup("password-stdin") == "true" {
		line, err := bufio.NewReader(inv.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if pw := inv.getenv("CUSTD_SOURCE_PASSWORD"); pw != "" {
		return pw, nil
	}
	return "", errors.New("import --from needs the password of --user: set CUSTD_SOURCE_PASSWORD or use --password-stdin")
}

// client is the client that --client names, or the store's only one.
func (inv *invocation) client(s store) (*customer.Client, error) {
	clients, err := s.Clients(inv.ctx)
	if err != nil {
		return nil, err
	}
	code := inv.flags.lookup("client")
	if code == "" {
		switch len(clients) {
		case 0:
			return nil, errors.New("the store has no client: custd client add CODE adds one")
		case 1:
			return clients[0], nil
		}
		codes := make([]string, len(clients))
		for i, c := range clients {
			codes[i] = c.Code
		}
		return nil, fmt.Errorf("the store has %d clients (%s): say which with --client", len(clients), strings.Join(codes, ", "))
	}
	for _, c := range clients {
		if strings.EqualFold(c.Code, code) {
			return c, nil
		}
	}
	return nil, fmt.Errorf("the store has no client %q: custd client add %s adds it", code, code)
}

// importUser is the user --as names, or the client's first admin.
func (inv *invocation) importUser(s store, c *customer.Client) (*customer.User, error) {
	users, err := s.Users(inv.ctx, c.Code)
	if err != nil {
		return nil, err
	}
	if name := inv.flags.lookup("as"); name != "" {
		for _, u := range users {
			if strings.EqualFold(u.Username, name) {
				return u, nil
			}
		}
		return nil, fmt.Errorf("client %s has no user %q (--as)", c.Code, name)
	}
	admins := slices.DeleteFunc(slices.Clone(users), func(u *customer.User) bool { return u.Role != customer.RoleAdmin })
	if len(admins) == 0 {
		return nil, fmt.Errorf("client %s has no admin user to record the import as: name a user with --as, or add one with custd user add USERNAME@%s --role admin", c.Code, c.Code)
	}
	slices.SortFunc(admins, func(a, b *customer.User) int { return int(a.ID - b.ID) })
	return admins[0], nil
}

// statePath is the file that keeps the resume point of an import of source into a
// client: beside a SQLite store, else in the user's cache folder.
func (inv *invocation) statePath(source, client string) (string, error) {
	sum := sha256.Sum256([]byte(source + "\n" + strings.ToLower(client)))
	name := "import-" + hex.EncodeToString(sum[:6]) + ".json"
	if path, ok := sqlitePath(inv.flags.lookup("db")); ok {
		return path + "." + name, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = "."
	} else {
		dir = filepath.Join(dir, "custd")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, name), nil
}

// sqlitePath is the file of a sqlite: store URL.
func sqlitePath(url string) (string, bool) {
	p, ok := strings.CutPrefix(url, "sqlite:")
	return strings.TrimPrefix(p, "//"), ok
}

// positiveFlag reads a flag that must be a whole number of at least 1.
func positiveFlag(inv *invocation, name string) (int, error) {
	var n int
	if _, err := fmt.Sscan(inv.flags.lookup(name), &n); err != nil || n < 1 {
		return 0, fmt.Errorf("--%s must be a whole number of at least 1, not %q", name, inv.flags.lookup(name))
	}
	return n, nil
}
