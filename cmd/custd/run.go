package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/migrate"
	"github.com/custd/custd/internal/postgres"
	"github.com/custd/custd/internal/sqlite"
)

// command is one command of custd: its name, what it takes, its help and what it does.
type command struct {
	name    string // "serve", "user add"
	args    string // its positional arguments in the synopsis, such as "USERNAME@CODE"
	nargs   int    // how many positional arguments it takes
	summary string // one line for the list of commands
	about   string // what custd help NAME says before the flags
	store   bool   // whether it works on a store (and so takes --db)
	flags   func(*flags)
	run     func(*invocation) error

	// optional says that the positional arguments may also be left out.
	optional bool
}

// commands is every command, in the order custd help lists them.
var commands = []*command{
	serveCommand,
	migrateCommand,
	clientListCommand,
	clientAddCommand,
	userListCommand,
	userAddCommand,
	userSetRoleCommand,
	userDisableCommand,
	userEnableCommand,
	userResetPasswordCommand,
	exportCommand,
	importCommand,
	backupCommand,
	restoreCommand,
	versionCommand,
	healthcheckCommand,
}

// groups are the words that start several commands.
var groups = []string{"client", "user"}

const overview = `custd keeps the customer accounts of billing companies and serves them over the
Customers API.

Usage:
  custd COMMAND [ARGUMENTS] [FLAGS]

Commands:
{{COMMANDS}}
Every command that works on data uses the store that --db or CUSTD_DB names:
sqlite:PATH (default sqlite:custd.db, in the working folder) or a postgres:// URL.
Only serve and migrate create a SQLite store; the others open an existing one.

Run "custd help COMMAND" or "custd COMMAND --help" for a command's flags, their defaults
and their environment variables.
`

// run is the whole program: main only adds the process's arguments, environment, standard
// streams and signals.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, overviewText())
		return errors.New("no command given; see custd help")
	}
	words := args[1:]
	switch words[0] {
	case "help", "-h", "-help", "--help":
		return help(words[1:], stdout)
	}
	cmd, rest := findCommand(words)
	if cmd == nil {
		if g := group(words[0]); g != "" {
			if len(words) == 1 || isHelpFlag(words[1]) {
				fmt.Fprint(stdout, groupHelp(g))
				return nil
			}
			return fmt.Errorf("unknown command %q; custd %s takes %s", strings.Join(words[:2], " "), g, strings.Join(groupCommands(g), ", "))
		}
		return fmt.Errorf("unknown command %q; see custd help", words[0])
	}
	inv := &invocation{ctx: ctx, cmd: cmd, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	inv.flags = newFlags(cmd, getenv)
	pos, err := inv.flags.parse(rest)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, commandHelp(cmd))
		return nil
	}
	if err != nil {
		return err
	}
	if len(pos) != cmd.nargs && !(cmd.optional && len(pos) == 0) {
		if cmd.nargs == 0 {
			return fmt.Errorf("%s takes no arguments, not %q; see custd help %s", cmd.name, strings.Join(pos, " "), cmd.name)
		}
		return fmt.Errorf("%s takes %s; see custd help %s", cmd.name, cmd.args, cmd.name)
	}
	inv.args = pos
	return cmd.run(inv)
}

// findCommand returns the command that words start with, and the words after its name.
func findCommand(words []string) (*command, []string) {
	for _, c := range commands {
		name := strings.Fields(c.name)
		if len(words) >= len(name) && strings.Join(words[:len(name)], " ") == c.name {
			return c, words[len(name):]
		}
	}
	return nil, nil
}

func group(word string) string {
	for _, g := range groups {
		if g == word {
			return g
		}
	}
	return ""
}

func groupCommands(g string) []string {
	var out []string
	for _, c := range commands {
		if strings.HasPrefix(c.name, g+" ") {
			out = append(out, strings.TrimPrefix(c.name, g+" "))
		}
	}
	return out
}

func isHelpFlag(s string) bool {
	return s == "-h" || s == "-help" || s == "--help" || s == "help"
}

// help prints the overview, or the help of the command that words name.
func help(words []string, stdout io.Writer) error {
	if len(words) == 0 {
		fmt.Fprint(stdout, overviewText())
		return nil
	}
	if cmd, rest := findCommand(words); cmd != nil && len(rest) == 0 {
		fmt.Fprint(stdout, commandHelp(cmd))
		return nil
	}
	if g := group(words[0]); g != "" && len(words) == 1 {
		fmt.Fprint(stdout, groupHelp(g))
		return nil
	}
	return fmt.Errorf("no command %q; see custd help", strings.Join(words, " "))
}

func overviewText() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	fmt.Fprintf(tw, "  help [COMMAND]\tshow this text, or a command's\n")
	tw.Flush()
	return strings.Replace(overview, "{{COMMANDS}}", b.String(), 1)
}

func groupHelp(g string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage:\n  custd %s COMMAND [ARGUMENTS] [FLAGS]\n\nCommands:\n", g)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		if strings.HasPrefix(c.name, g+" ") {
			fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
		}
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nRun \"custd help %s COMMAND\" for a command's flags.\n", g)
	return b.String()
}

// commandHelp is what custd help NAME and custd NAME --help print.
func commandHelp(c *command) string {
	var b strings.Builder
	synopsis := "custd " + c.name
	if c.args != "" {
		synopsis += " " + c.args
	}
	f := newFlags(c, func(string) string { return "" })
	if len(f.defs) > 0 {
		synopsis += " [FLAGS]"
	}
	fmt.Fprintf(&b, "Usage:\n  %s\n\n%s\n", synopsis, strings.TrimSpace(c.about))
	if len(f.defs) > 0 {
		b.WriteString("\nFlags:\n")
		for _, d := range f.defs {
			head := "  --" + d.name
			if d.meta != "" {
				head += " " + d.meta
			}
			b.WriteString(head + "\n")
			for _, line := range strings.Split(d.usage, "\n") {
				b.WriteString("      " + line + "\n")
			}
			var notes []string
			if d.def != "" {
				notes = append(notes, "default "+d.def)
			}
			if d.env != "" {
				notes = append(notes, "environment "+d.env)
			}
			if len(notes) > 0 {
				b.WriteString("      (" + strings.Join(notes, "; ") + ")\n")
			}
		}
	}
	return b.String()
}

// invocation is one run of a command.
type invocation struct {
	ctx    context.Context
	cmd    *command
	flags  *flags
	args   []string
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// flags is a command's flag set, where each flag may also come from an environment
// variable: a flag given on the command line wins over its variable, which wins over the
// default. The help lists the flags in the order they are defined.
type flags struct {
	cmd    *command
	fs     *flag.FlagSet
	getenv func(string) string
	defs   []*flagDef
	source map[string]string // flag name -> where its value came from, for messages
}

type flagDef struct {
	name, meta, env, def, usage string
}

func newFlags(c *command, getenv func(string) string) *flags {
	f := &flags{cmd: c, fs: flag.NewFlagSet(c.name, flag.ContinueOnError), getenv: getenv, source: map[string]string{}}
	f.fs.SetOutput(io.Discard)
	if c.flags != nil {
		c.flags(f)
	}
	if c.store {
		f.String("db", "URL", "CUSTD_DB", "sqlite:custd.db", "the store: sqlite:PATH (a file, relative to the working folder or absolute)\nor postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=...")
	}
	return f
}

func (f *flags) define(name, meta, env, def, usage string) {
	f.defs = append(f.defs, &flagDef{name: name, meta: meta, env: env, def: def, usage: usage})
}

// String defines a flag with a value.
func (f *flags) String(name, meta, env, def, usage string) *string {
	f.define(name, meta, env, def, usage)
	return f.fs.String(name, def, usage)
}

// Bool defines a flag without a value.
func (f *flags) Bool(name, env, usage string) *bool {
	f.define(name, "", env, "", usage)
	return f.fs.Bool(name, false, usage)
}

// Float defines a flag with a number.
func (f *flags) Float(name, meta, env string, def float64, usage string) *float64 {
	f.define(name, meta, env, fmt.Sprint(def), usage)
	return f.fs.Float64(name, def, usage)
}

// Int defines a flag with a whole number.
func (f *flags) Int(name, meta, env string, def int, usage string) *int {
	f.define(name, meta, env, fmt.Sprint(def), usage)
	return f.fs.Int(name, def, usage)
}

// Duration defines a flag with a duration, such as 5s or 1500ms.
func (f *flags) Duration(name, meta, env string, def time.Duration, usage string) *time.Duration {
	f.define(name, meta, env, def.String(), usage)
	return f.fs.Duration(name, def, usage)
}

// parse reads flags anywhere among args, then takes the environment variables of the
// flags not given, and returns the positional arguments. Errors: flag.ErrHelp for
// --help, else one line naming the flag as the help writes it.
func (f *flags) parse(args []string) ([]string, error) {
	var positional []string
	for {
		if err := f.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%s: %s; see custd help %s", f.cmd.name, doubleDash(err.Error()), f.cmd.name)
		}
		if f.fs.NArg() == 0 {
			break
		}
		positional = append(positional, f.fs.Arg(0))
		args = f.fs.Args()[1:]
	}
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	for _, d := range f.defs {
		switch v := f.getenv(d.env); {
		case given[d.name]:
			f.source[d.name] = "--" + d.name
		case d.env != "" && v != "":
			if err := f.fs.Set(d.name, v); err != nil {
				return nil, fmt.Errorf("%s: %s=%q: %v", f.cmd.name, d.env, v, err)
			}
			f.source[d.name] = d.env
		default:
			f.source[d.name] = "the default"
		}
	}
	return positional, nil
}

// flagName matches a flag's name in the flag package's messages, which write it with one
// dash where custd's help writes two.
var flagName = regexp.MustCompile(`(flag |for |: )-([A-Za-z0-9][-A-Za-z0-9]*)`)

func doubleDash(msg string) string {
	msg = flagName.ReplaceAllString(msg, "$1--$2")
	return strings.Replace(msg, "flag provided but not defined", "no such flag", 1)
}

// store is what the commands need of a store.
type store interface {
	customer.Store
	Schema() migrate.Report
}

// storeName says which store a URL names, for messages: a SQLite file by its absolute
// path, a PostgreSQL URL without its password.
func storeName(url string) string {
	if p, ok := strings.CutPrefix(url, "sqlite:"); ok {
		p = strings.TrimPrefix(p, "//")
		if abs, err := filepath.Abs(p); err == nil {
			return "sqlite:" + abs
		}
		return url
	}
	return redact(url)
}

// openStore opens the store that --db names. Only serve and migrate may create a SQLite
// store; for the other commands a missing file is an error that says which store was
// looked for and where its name came from.
func (inv *invocation) openStore(create bool) (store, error) {
	url := inv.flags.lookup("db")
	// Each case returns its store only when err is nil: a nil *Store in a non-nil
	// interface would pass a nil check.
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
		open := sqlite.OpenExisting
		if create {
			open = sqlite.Open
		}
		s, err := open(inv.ctx, path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no store at %s (%s): custd serve or custd migrate creates one there; to use another, set --db or CUSTD_DB",
				storeName(url), inv.flags.origin("db"))
		}
		if err != nil {
			return nil, err
		}
		return s, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		s, err := postgres.Open(inv.ctx, url)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("unknown store %q (%s): use sqlite:PATH or postgres://...", redact(url), inv.flags.origin("db"))
}

// origin says where a flag's value came from, for messages: "--db sqlite:x.db",
// "CUSTD_DB=sqlite:x.db" or "sqlite:custd.db, the default".
func (f *flags) origin(name string) string {
	v := redact(f.lookup(name))
	switch src := f.source[name]; src {
	case "--" + name:
		return src + " " + v
	case "the default":
		return v + ", the default"
	default:
		return src + "=" + v
	}
}

// lookup returns the value of a flag by name.
func (f *flags) lookup(name string) string { return f.fs.Lookup(name).Value.String() }

// redact hides a password in a store URL.
func redact(url string) string {
	if i := strings.Index(url, "://"); i >= 0 {
		if at := strings.LastIndex(url, "@"); at > i {
			if colon := strings.Index(url[i+3:at], ":"); colon >= 0 {
				return url[:i+3+colon+1] + "****" + url[at:]
			}
		}
	}
	return url
}

var migrateCommand = &command{
	name:    "migrate",
	summary: "create the store if needed and bring its schema up to date",
	about: `Creates the store if it does not exist (a SQLite file; a PostgreSQL database must
exist already), applies the schema migrations it lacks, and says which it applied and the
schema's version. serve does the same when it starts, so migrate is needed only to
prepare a store before the first start, or to upgrade it at a chosen moment.`,
	store: true,
	run: func(inv *invocation) error {
		s, err := inv.openStore(true)
		if err != nil {
			return err
		}
		defer s.Close()
		r := s.Schema()
		for _, m := range r.Applied {
			fmt.Fprintf(inv.stdout, "applied %s\n", m)
		}
		name := storeName(inv.flags.lookup("db"))
		if len(r.Applied) == 0 {
			fmt.Fprintf(inv.stdout, "schema of %s is at version %d: up to date, nothing to apply\n", name, r.Version)
		} else {
			fmt.Fprintf(inv.stdout, "schema of %s is at version %d\n", name, r.Version)
		}
		return s.Close()
	},
}

// oneLine states a domain error, with its field problems, on one line.
func oneLine(err error) error {
	var e *customer.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + " " + f.Message
	}
	return errors.New(strings.Join(parts, "; "))
}
