package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"retainer/billing"
	"retainer/jobs"
	"retainer/report"
	"retainer/store"
)

func logFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.date, "date", "", "date of the work, YYYY-MM-DD (default today in the agency timezone)")
	fs.StringVar(&c.note, "note", "", "what the time was for")
	fs.StringVar(&c.user, "user", "", "who did the work")
}

func statusFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.month, "month", "", "period YYYY-MM (default: the one containing --as-of)")
	fs.StringVar(&c.asOf, "as-of", "", "as-of date YYYY-MM-DD for projections (default today)")
	fs.BoolVar(&c.json, "json", false, "print JSON")
	// status has no --format: its table layout is held there, "wide" or "".
	fs.BoolFunc("wide", "print every column (tier, contracted, banked, rate, fees, tax) however wide; default: 120 columns", func(v string) error {
		wide, err := strconv.ParseBool(v)
		c.format = ""
		if wide {
			c.format = statusWide
		}
		return err
	})
}

// statusWide is status's --wide, held in cmdline.format.
const statusWide = "wide"

func closeFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.month, "month", "", "period YYYY-MM to close (required)")
	fs.BoolVar(&c.send, "send", false, "deliver the statements now (otherwise they wait in the outbox)")
	fs.BoolVar(&c.json, "json", false, "print JSON")
}

func statementFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.month, "month", "", "period YYYY-MM (required)")
	fs.StringVar(&c.asOf, "as-of", "", "as-of date YYYY-MM-DD for an open period's projection (default today)")
	fs.StringVar(&c.format, "format", "text", "text, markdown, html or pdf (a PDF invoice: redirect it to a file)")
	fs.BoolVar(&c.send, "send", false, "approve: deliver the approved statements' emails now")
}

func invoiceFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.date, "date", "", "payment date YYYY-MM-DD (default today)")
}

func noteFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.month, "month", "", "period YYYY-MM (required)")
}

func (a *invocation) log(ctx context.Context, c *cmdline) error {
	if len(c.args) != 2 {
		return usagef("want CONTRACT_ID AMOUNT")
	}
	// Flags are checked before the database is opened: a refused log
	// writes nothing.
	var date billing.Date
	if c.date != "" {
		d, err := billing.ParseDate(c.date)
		if err != nil {
			return usagef("--date: %v", err)
		}
		date = d
	}
	if err := textArg("--note", c.note, true); err != nil {
		return err
	}
	if err := textArg("--user", c.user, false); err != nil {
		return err
	}
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	k := c.cfg.Contract(c.args[0])
	if k == nil {
		return usagef("no contract %q in %s", c.args[0], c.config)
	}
	if c.date == "" {
		date = a.today(c)
	}
	base := store.Entry{Source: "log", Date: date, Billable: true, Client: k.Client, Notes: c.note, User: c.user, Pinned: k.ID}
	var entries []store.Entry
	if k.Unit == billing.UnitSessions {
		n, err := parseSessions(c.args[1])
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			entries = append(entries, base)
		}
	} else {
		secs, err := parseHours(c.args[1])
		if err != nil {
			return err
		}
		base.Seconds = secs
		entries = append(entries, base)
	}
	if err := c.db.AddEntries(ctx, c.rules, entries, a.now()); err != nil {
		return err
	}
	// The line below is this contract's status: computed for it alone, not
	// for every contract (141–300 ms at 10,000 contracts, under 1 ms alone).
	v, err := c.db.Status(ctx, store.NewRules([]*billing.Contract{k}), date.Period(), a.today(c))
	if err != nil {
		return err
	}
	amount := billing.FormatQuantity(entries[0].Counted*int64(len(entries)), k.Unit)
	ids := fmt.Sprintf("entry %d", entries[0].ID)
	if n := len(entries); n > 1 && entries[n-1].ID-entries[0].ID == int64(n-1) {
		ids = fmt.Sprintf("entries %d–%d", entries[0].ID, entries[n-1].ID)
	} else if n > 1 {
		list := make([]string, n)
		for i, e := range entries {
			list[i] = fmt.Sprint(e.ID)
		}
		ids = "entries " + strings.Join(list, ", ")
	}
	// The id is what `retainer entry edit|delete` takes.
	fmt.Fprintf(a.stdout, "logged %s %s to %s on %s (%s)\n", amount, unitShort(k.Unit), k.ID, date, ids)
	if k.BeforeStart(date.Period()) {
		fmt.Fprintf(a.stdout, "warning: %s starts %s: hours dated before it count nowhere and are never billed (status lists them with the unmatched hours)\n", k.ID, k.Start)
	}
	for _, r := range v.Rows {
		if r.Contract.ID != k.ID {
			continue
		}
		f := r.Figures
		if r.Closed {
			fmt.Fprintf(a.stdout, "%s is closed: the entry counts as a late adjustment in the first open period\n", date.Period())
		} else {
			fmt.Fprintf(a.stdout, "%s: %s of %s %s used (%s%%), %s remaining\n", f.Period,
				billing.FormatQuantity(f.Used, k.Unit), billing.FormatQuantity(f.Available, k.Unit), unitShort(k.Unit),
				f.Utilization, billing.FormatQuantity(f.Remaining, k.Unit))
		}
	}
	return nil
}

func (a *invocation) status(ctx context.Context, c *cmdline) error {
	if len(c.args) > 1 {
		return usagef("want at most one CONTRACT_ID")
	}
	asOf, p, err := a.openMonth(ctx, c, false)
	if err != nil {
		return err
	}
	rules := c.rules
	if len(c.args) == 1 {
		k := c.cfg.Contract(c.args[0])
		if k == nil {
			return usagef("no contract %q in %s", c.args[0], c.config)
		}
		rules = store.NewRules([]*billing.Contract{k})
	}
	v, err := c.db.Status(ctx, rules, p, asOf)
	if err != nil {
		return err
	}
	if c.json {
		return report.WriteStatusJSON(a.stdout, v, c.cfg.Currency, asOf)
	}
	report.WriteStatusTable(a.stdout, v, c.cfg.Currency, asOf, report.StatusLayout{Wide: c.format == statusWide})
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type closeJSON struct {
	Closed     []string        `json:"closed"`
	Already    bool            `json:"already_closed"`
	Statements []statementJSON `json:"statements"`
}

type statementJSON struct {
	InvoiceNumber string `json:"invoice_number"`
	ContractID    string `json:"contract_id"`
	Period        string `json:"period"`
	Currency      string `json:"currency"`
	Total         string `json:"total_invoiced"` // before tax
	Tax           string `json:"tax"`
	IssuedOn      string `json:"issued_on"`
	DueOn         string `json:"due_on"`
	Status        string `json:"status"`
}

func (a *invocation) close(ctx context.Context, c *cmdline) error {
	if len(c.args) > 0 {
		return usagef("close takes no arguments")
	}
	p, err := a.month(c, 0, true)
	if err != nil {
		return err
	}
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	res, err := c.db.CloseWith(ctx, c.rules, p, jobs.CloseOptions(c.cfg), a.now())
	if err != nil {
		return err
	}
	out := closeJSON{Closed: []string{}, Already: len(res.Closed) == 0, Statements: []statementJSON{}}
	for _, q := range res.Closed {
		out.Closed = append(out.Closed, q.String())
	}
	for _, st := range res.Statements {
		digits := billing.CurrencyDigits(st.Currency)
		out.Statements = append(out.Statements, statementJSON{st.InvoiceNumber, st.ContractID, st.Period.String(), st.Currency,
			st.Total.Decimal(digits), st.Tax.Decimal(digits), st.IssuedOn.String(), st.DueOn.String(), st.Status})
	}
	if c.json {
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
		if c.send {
			return a.deliver(ctx, c)
		}
		return nil
	}
	if out.Already {
		fmt.Fprintf(a.stdout, "%s is already closed; nothing changed\n", p)
		if c.send {
			return a.deliver(ctx, c)
		}
		return nil
	}
	fmt.Fprintf(a.stdout, "closed %s; %s\n", strings.Join(out.Closed, ", "), plural(len(out.Statements), "statement", "statements"))
	tw := newTable(a.stdout)
	tw.row("INVOICE", "CONTRACT", "PERIOD", "TOTAL", "DUE")
	for _, st := range res.Statements {
		tw.row(st.InvoiceNumber, st.ContractID, st.Period.String(), st.TotalWithTax().Format(st.Currency), st.DueOn.String())
	}
	tw.flush()
	drafts := 0
	for _, st := range res.Statements {
		if st.Status == store.StatusDraft {
			drafts++
		}
	}
	if drafts > 0 {
		fmt.Fprintf(a.stdout, "%s under review (statements.review): nothing is sent until `retainer statement approve --month %s` or the dashboard approves them\n",
			plural(drafts, "draft", "drafts"), p)
	}
	if c.send {
		return a.deliver(ctx, c)
	}
	if drafts < len(res.Statements) {
		fmt.Fprintln(a.stdout, "statement emails are queued: `retainer outbox send` delivers them")
	}
	return nil
}

// plural is "1 statement", "2 statements".
func plural(n int, one, many string) string { return report.Count(n, one, many) }

func (a *invocation) statement(ctx context.Context, c *cmdline) error {
	if len(c.args) > 0 && c.args[0] == "approve" {
		return a.approve(ctx, c)
	}
	if len(c.args) != 1 {
		return usagef("want CONTRACT_ID, or approve")
	}
	format := report.Format(c.format)
	pdf := c.format == "pdf"
	if !format.Valid() && !pdf {
		return usagef("--format %q: want text, markdown, html or pdf", c.format)
	}
	if pdf && isTerminal(a.stdout) {
		return usagef("--format pdf writes a binary file, not for a terminal: redirect it, e.g. > %s-%s.pdf", c.args[0], cmp.Or(c.month, "YYYY-MM"))
	}
	asOf, p, err := a.openMonth(ctx, c, true)
	if err != nil {
		return err
	}
	if c.cfg.Contract(c.args[0]) == nil {
		return usagef("no contract %q in %s", c.args[0], c.config)
	}
	d, err := c.db.StatementFor(ctx, c.rules, c.args[0], p, asOf)
	if err != nil {
		return err
	}
	in := report.StatementInput{
		Data: d, Currency: c.cfg.Currency, Agency: c.cfg.Agency.Name, Issuer: jobs.Issuer(c.cfg), AsOf: asOf,
	}
	if pdf {
		out, warnings, err := report.StatementPDF(report.PDFInput{StatementInput: in, Paper: c.cfg.Statements.Paper, Fonts: c.env.PDFFonts})
		if err != nil {
			return err
		}
		for _, w := range warnings {
			fmt.Fprintln(a.stderr, "warning:", w)
		}
		_, err = a.stdout.Write(out)
		return err
	}
	var body string
	if format == report.FormatHTML {
		// A page of its own, the burndown drawn inline.
		body, err = report.StatementDocument(in, c.env.Templates)
	} else {
		body, err = report.RenderStatement(in, format, c.env.Templates)
	}
	if err != nil {
		return err
	}
	_, err = io.WriteString(a.stdout, body)
	return err
}

// isTerminal reports whether w is a terminal, where a PDF's bytes would
// only garble the screen.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *invocation) invoice(ctx context.Context, c *cmdline) error {
	const want = "want: invoice paid INVOICE_NUMBER [--date YYYY-MM-DD] | invoice unpaid INVOICE_NUMBER"
	if len(c.args) != 2 {
		return usagef(want)
	}
	switch c.args[0] {
	case "paid":
	case "unpaid":
		if c.set["date"] {
			return usagef("invoice unpaid takes no --date")
		}
	default:
		return usagef(want)
	}
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	if c.args[0] == "unpaid" {
		st, err := c.db.MarkUnpaid(ctx, c.args[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s: no longer paid; %s again (%s, due %s)\n", st.InvoiceNumber,
			st.StatusAt(a.today(c)), st.TotalWithTax().Format(st.Currency), st.DueOn)
		return nil
	}
	d := a.today(c)
	if c.date != "" {
		var err error
		if d, err = billing.ParseDate(c.date); err != nil {
			return usagef("--date: %v", err)
		}
	}
	st, err := c.db.MarkPaid(ctx, c.args[1], d)
	switch {
	case errors.Is(err, store.ErrPaidBeforeIssue):
		return usagef("%v", err)
	case errors.Is(err, store.ErrNotApproved):
		return fmt.Errorf("%w: `retainer statement approve %s` first", err, c.args[1])
	case err != nil:
		return err
	}
	fmt.Fprintf(a.stdout, "%s: paid on %s (%s)\n", st.InvoiceNumber, st.PaidOn, st.TotalWithTax().Format(st.Currency))
	return nil
}

func (a *invocation) note(ctx context.Context, c *cmdline) error {
	if len(c.args) != 2 {
		return usagef("want CONTRACT_ID TEXT")
	}
	p, err := a.month(c, 0, true)
	if err != nil {
		return err
	}
	if err := textArg("TEXT", c.args[1], true); err != nil {
		return err
	}
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	if c.cfg.Contract(c.args[0]) == nil {
		return usagef("no contract %q in %s", c.args[0], c.config)
	}
	if err := c.db.SetNote(ctx, c.args[0], p, c.args[1], a.now()); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "note for %s %s saved\n", c.args[0], p)
	return nil
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer) *table { return &table{tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)} }

func (t *table) row(cells ...string) { fmt.Fprintln(t.tw, strings.Join(cells, "\t")) }

func (t *table) flush() { t.tw.Flush() }
