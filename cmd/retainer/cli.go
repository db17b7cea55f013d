package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/jobs"
	"retainer/report"
	"retainer/store"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// invocation is one command line: its streams, environment and clocks.
type invocation struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string
	// now is the clock of the figures and messages (--now, --as-of may
	// move it); wall the wall clock, for what other processes and the file
	// system read (claim leases, inbox file ages).
	now, wall func() time.Time
}

// Main runs one command line and returns its exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	a := &invocation{stdin: stdin, stdout: stdout, stderr: stderr, environ: environ, now: time.Now, wall: time.Now}
	return a.run(ctx, args)
}

type command struct {
	name, args, summary string
	run                 func(a *invocation, ctx context.Context, c *cmdline) error
	flags               func(fs *flag.FlagSet, c *cmdline)
}

var commands = []command{
	{"check", "", "validate the config and list the contracts", (*invocation).check, nil},
	{"log", "CONTRACT_ID AMOUNT [--date YYYY-MM-DD] [--note TEXT] [--user NAME]",
		"log time (2.5, 2:30, 2h30m; at most 744 h; sessions: a count)", (*invocation).log, logFlags},
	{"import", "[FILE...] [--format auto|harvest|toggl|clockify|generic] [--json]",
		"import tracker exports (no FILE: every finished file in import.inbox)", (*invocation).importCmd, importFlags},
	{"status", "[CONTRACT_ID] [--month YYYY-MM] [--as-of YYYY-MM-DD] [--json | --wide]",
		"the burn tracker for one month", (*invocation).status, statusFlags},
	{"close", "--month YYYY-MM [--send] [--json]", "close a month (and every earlier open one), queue its statements", (*invocation).close, closeFlags},
	{"statement", "CONTRACT_ID --month YYYY-MM [--format text|markdown|html|pdf]", "show one month's statement", (*invocation).statement, statementFlags},
	{"alerts", "[--as-of YYYY-MM-DD] [--send]", "evaluate the alert thresholds; --send queues and delivers each new alert once", (*invocation).alerts, alertsFlags},
	{"digest", "[--as-of YYYY-MM-DD] [--send]", "the mid-month burndown digest; --send posts it to the agency's Slack once a month", (*invocation).digest, digestFlags},
	{"checkins", "[--as-of YYYY-MM-DD] [--send]", "the mid-month check-in email to each client with checkin: true", (*invocation).checkins, alertsFlags},
	{"renewals", "[--as-of YYYY-MM-DD] [--send]", "remind the agency of contracts ending within 30 days, with a recommendation", (*invocation).renewals, alertsFlags},
	{"overdue", "[--as-of YYYY-MM-DD] [--send]", "tell the agency of sent invoices past their due date; remind their clients on reminders.client_overdue_days", (*invocation).overdue, alertsFlags},
	{"outbox", "[--json] | send | retry ID", "queued emails and Slack messages: list, deliver now, retry a failed one", (*invocation).outbox, outboxFlags},
	{"invoice", "paid INVOICE_NUMBER [--date YYYY-MM-DD] | unpaid INVOICE_NUMBER",
		"mark an invoice paid (not before its issue date), or undo a mistaken paid", (*invocation).invoice, invoiceFlags},
	{"entry", "edit ID [--amount A] [--date YYYY-MM-DD] [--note TEXT] | delete ID",
		"correct or delete a logged or API entry (log prints its id); in a closed month it becomes a late adjustment", (*invocation).entry, entryFlags},
	{"run", "[--once] [--now RFC3339]", "the daemon: scheduled jobs and the HTTP server; --once: the jobs due now, then exit", (*invocation).runCmd, runFlags},
	{"jobs", "[--json]", "each job's schedule, last run, next run and last failure", (*invocation).jobsCmd, outboxFlags},
	{"portal", "link CONTRACT_ID", "create or rotate a contract's client portal link and print its URL", (*invocation).portal, nil},
	{"export", "status|statements|entries [--month YYYY-MM] [--as-of YYYY-MM-DD] [--format csv|json] | invoices --month YYYY-MM --format xero|quickbooks",
		"export the burn tracker, the statements or a month's entries as CSV or JSON; a month's invoices as a Xero or QuickBooks import file", (*invocation).export, exportFlags},
	{"password-hash", "", "read a dashboard password on standard input and print its bcrypt hash for http.admin_password_hash", (*invocation).passwordHash, nil},
	{"note", "CONTRACT_ID --month YYYY-MM TEXT", "attach a note to a contract's month (empty text removes it)", (*invocation).note, noteFlags},
}

func usage() string {
	var b strings.Builder
	b.WriteString("usage: retainer [--config FILE] COMMAND [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-13s %s\n", c.name, c.summary)
	}
	b.WriteString("\nEvery command takes --config FILE (default retainer.yaml, env RETAINER_CONFIG) and --help.\n")
	b.WriteString("Exit codes: 0 success, 1 failed operation, 2 bad usage or invalid config.")
	return b.String()
}

// errSilent fails a command (exit 1) whose problems were already printed.
var errSilent = errors.New("failed")

// usageError is bad usage: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// cmdline holds the parsed flags of one command.
type cmdline struct {
	config string
	// sendAt is the instant the messages this command queues are dated
	// and delivered at (--as-of with --send); zero: the command's clock.
	sendAt   time.Time
	args     []string
	set      map[string]bool // the flags given on the command line
	amount   string
	month    string
	asOf     string
	date     string
	note     string
	user     string
	format   string
	json     bool
	send     bool
	once     bool
	nowFlag  string
	cfg      *config.Config
	db       *store.DB
	rules    *store.Rules
	env      *jobs.Env
	location *time.Location
}

func (a *invocation) run(ctx context.Context, args []string) int {
	// --config may also come before the command name: retainer --config
	// x.yaml status. The command's own --config, if any, wins.
	global, args, err := globalConfig(args)
	if err != nil {
		fmt.Fprintf(a.stderr, "retainer: %v\n\n%s\n", err, usage())
		return exitUsage
	}
	if len(args) == 0 {
		fmt.Fprintln(a.stderr, usage())
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(a.stdout, usage())
		return exitOK
	}
	var cmd *command
	for i := range commands {
		if commands[i].name == args[0] {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(a.stderr, "retainer: unknown command %q\n\n%s\n", args[0], usage())
		return exitUsage
	}
	c := &cmdline{config: global, set: map[string]bool{}}
	if c.config == "" {
		c.config = a.getenv("RETAINER_CONFIG")
	}
	if c.config == "" {
		c.config = "retainer.yaml"
	}
	fs := flag.NewFlagSet("retainer "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.config, "config", c.config, "config file")
	if cmd.flags != nil {
		cmd.flags(fs, c)
	}
	helpText := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "usage: retainer %s %s\n\n%s\n\nflags:\n", cmd.name, cmd.args, cmd.summary)
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		return b.String()
	}
	// Flags may come before or after the positional arguments.
	flags, positional := splitArgs(fs, args[1:])
	if err := fs.Parse(flags); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(a.stdout, helpText())
			return exitOK
		}
		fmt.Fprintf(a.stderr, "retainer %s: %v\n\n%s", cmd.name, err, helpText())
		return exitUsage
	}
	c.args = append(positional, fs.Args()...)
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	err = cmd.run(a, ctx, c)
	if c.db != nil {
		c.db.Close()
	}
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errSilent):
		return exitFailed
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "retainer %s: %v\n", cmd.name, err)
		return exitUsage
	case errors.Is(err, config.ErrInvalid):
		fmt.Fprintf(a.stderr, "retainer %s: invalid config %s:\n%v\n", cmd.name, c.config, indent(err.Error()))
		return exitUsage
	default:
		fmt.Fprintf(a.stderr, "retainer %s: %v\n", cmd.name, err)
		return exitFailed
	}
}

// globalConfig takes a --config FILE (or --config=FILE, -config) given
// before the command name off args.
func globalConfig(args []string) (config string, rest []string, err error) {
	for len(args) > 0 {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if !strings.HasPrefix(args[0], "-") || name != "config" || strings.HasPrefix(args[0], "---") {
			break
		}
		if !hasValue {
			if len(args) < 2 {
				return "", nil, errors.New("--config needs a file name")
			}
			value, args = args[1], args[1:]
		}
		if value == "" {
			return "", nil, errors.New("--config needs a file name")
		}
		config, args = value, args[1:]
	}
	return config, args, nil
}

// negativeNumber is an argument that looks like a flag but is a negative
// number or amount (-2, -1.5, -.5, -0:30, -2h): a positional argument, so
// that `log acme-001 -2` is refused as a negative amount rather than as an
// unknown flag.
var negativeNumber = regexp.MustCompile(`^-\.?[0-9]`)

// splitArgs separates a command's flags (with their values) from its
// positional arguments, which may come in any order. Everything after "--"
// is positional.
func splitArgs(fs *flag.FlagSet, args []string) (flags, positional []string) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			return flags, append(positional, args[i+1:]...)
		case len(arg) < 2 || arg[0] != '-' || negativeNumber.MatchString(arg):
			positional = append(positional, arg)
		default:
			flags = append(flags, arg)
			name, _, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
			if f := fs.Lookup(name); f != nil && !hasValue && !isBoolFlag(f) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	return flags, positional
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = "  " + lines[i]
	}
	return strings.Join(lines, "\n")
}

func (a *invocation) getenv(key string) string {
	for _, kv := range a.environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// loadConfig reads and validates the config, through the parse cache.
func (a *invocation) loadConfig(c *cmdline) error {
	cfg, err := config.LoadCached(c.config, a.environ, config.CacheDir(a.environ))
	if errors.Is(err, fs.ErrNotExist) {
		return usagef("%v (write one from examples/retainer.yaml, or pass --config FILE)", err)
	}
	if err != nil {
		return err
	}
	c.cfg, c.location = cfg, cfg.Location
	return nil
}

// openStore loads the config, opens the database and brings its matching up
// to date with the contracts.
func (a *invocation) openStore(ctx context.Context, c *cmdline) error {
	if err := a.loadConfig(c); err != nil {
		return err
	}
	if !strings.Contains(c.cfg.Database, "://") {
		if dir := filepath.Dir(c.cfg.Database); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("database directory: %w", err)
			}
		}
	}
	db, err := store.Open(ctx, c.cfg.Database)
	if err != nil {
		return err
	}
	c.db = db
	if c.env, err = jobs.NewEnv(ctx, c.cfg, db, a.now()); err != nil {
		return err
	}
	c.env.Wall = a.wall
	c.rules = c.env.Rules
	return nil
}

// today is the current date in the agency timezone.
func (a *invocation) today(c *cmdline) billing.Date { return billing.DateAt(a.now(), c.location) }

func (a *invocation) asOf(c *cmdline) (billing.Date, error) {
	if c.asOf == "" {
		return a.today(c), nil
	}
	d, err := billing.ParseDate(c.asOf)
	if err != nil {
		return 0, usagef("--as-of: %v", err)
	}
	return d, nil
}

// openMonth opens the store and reads --as-of (default today) and --month
// (default the as-of date's period, unless required).
func (a *invocation) openMonth(ctx context.Context, c *cmdline, required bool) (billing.Date, billing.Period, error) {
	if err := a.openStore(ctx, c); err != nil {
		return 0, 0, err
	}
	asOf, err := a.asOf(c)
	if err != nil {
		return 0, 0, err
	}
	p, err := a.month(c, asOf, required)
	return asOf, p, err
}

// textArg refuses text given on the command line that no database column
// stores (a NUL byte, bytes that are not UTF-8) or that must not reach a
// Subject or a page (a control character, a bidirectional override; a
// note may hold line breaks and tabs): bad usage, naming the flag.
func textArg(name, s string, multiline bool) error {
	if err := billing.CheckText(s, multiline); err != nil {
		return usagef("%s %v", name, err)
	}
	return nil
}

func (a *invocation) month(c *cmdline, asOf billing.Date, required bool) (billing.Period, error) {
	if c.month == "" {
		if required {
			return 0, usagef("--month YYYY-MM is required")
		}
		return asOf.Period(), nil
	}
	p, err := billing.ParsePeriod(c.month)
	if err != nil {
		return 0, usagef("--month: %v", err)
	}
	return p, nil
}

func (a *invocation) check(ctx context.Context, c *cmdline) error {
	if len(c.args) > 0 {
		return usagef("check takes no arguments")
	}
	if err := a.loadConfig(c); err != nil {
		return err
	}
	cfg := c.cfg
	// A broken override would otherwise surface only when a statement or
	// alert is rendered, perhaps at 02:00 on the 1st.
	broken, unused, err := report.CheckOverrides(cfg.TemplatesDir)
	if err != nil {
		return fmt.Errorf("templates_dir %s: %w", cfg.TemplatesDir, err)
	}
	if len(broken) > 0 {
		lines := make([]string, len(broken))
		for i, e := range broken {
			lines[i] = e.Error()
		}
		what := "an override template does not parse"
		if len(lines) > 1 {
			what = fmt.Sprintf("%d override templates do not parse", len(lines))
		}
		return usagef("invalid config %s: templates_dir: %s:\n%s", c.config, what, indent(strings.Join(lines, "\n")))
	}
	if _, err := report.LoadPDFFonts(cfg.Statements.PDFFonts); err != nil {
		return usagef("invalid config %s: %v", c.config, err)
	}
	fmt.Fprintf(a.stdout, "%s: ok — %s, timezone %s, currency %s, database %s\n\n",
		c.config, plural(len(cfg.Contracts), "contract", "contracts"), cfg.Timezone, cfg.Currency, displayDatabase(cfg.Database))
	tw := newTable(a.stdout)
	tw.row("CONTRACT", "CLIENT", "UNIT", "MONTHLY", "FEE", "OVERAGE RATE", "ROLLOVER", "PERIODS")
	for _, k := range cfg.Contracts {
		t, cur := k.Terms, k.Currency // each contract's money is in its own currency
		if cur == "" {
			cur = cfg.Currency
		}
		tw.row(k.ID, k.Client, string(k.Unit), billing.FormatQuantity(t.MonthlyHours, k.Unit),
			t.MonthlyFee.Format(cur), overageText(k, t.OverageRate, cur), rolloverPolicy(k), periodsText(k))
	}
	tw.flush()
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(a.stdout, "warning: %s\n", w)
	}
	for _, f := range unused {
		fmt.Fprintf(a.stdout, "warning: templates_dir: %s overrides no template (misspelt?)\n", f)
	}
	more, err := a.dayOneWarnings(ctx, c)
	if err != nil {
		return err
	}
	for _, w := range more {
		fmt.Fprintf(a.stdout, "warning: %s\n", w)
	}
	return nil
}

func displayDatabase(s string) string {
	if strings.Contains(s, "://") {
		return "(url)"
	}
	return s
}

func overageText(k *billing.Contract, rate billing.Money, cur string) string {
	s := rate.Format(cur) + "/" + unitSingular(k.Unit)
	if !k.OverageBillable {
		s += " (not billed)"
	}
	return s
}

func unitSingular(u billing.Unit) string {
	if u == billing.UnitSessions {
		return "session"
	}
	return "h"
}

func unitShort(u billing.Unit) string {
	if u == billing.UnitSessions {
		return "sessions"
	}
	return "h"
}

func rolloverPolicy(k *billing.Contract) string {
	if !k.Rollover {
		return "none"
	}
	s := "rollover"
	if k.MaxRollover != nil {
		s += ", cap " + billing.FormatQuantity(*k.MaxRollover, k.Unit) + " " + unitShort(k.Unit)
	} else {
		s += ", no cap"
	}
	if k.ExpiresAfter > 0 {
		s += fmt.Sprintf(", expires after %d mo", k.ExpiresAfter)
	} else {
		s += ", never expires"
	}
	return s
}

func periodsText(k *billing.Contract) string {
	from, to := "…", "…"
	if k.Start != nil {
		from = k.Start.String()
	}
	if k.End != nil {
		to = k.End.String()
	}
	s := from + " to " + to
	if len(k.Changes) > 0 {
		s += fmt.Sprintf(" (%d term changes)", len(k.Changes))
	}
	return s
}
