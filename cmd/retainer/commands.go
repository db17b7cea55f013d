package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"retainer/billing"
	"retainer/notify"
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
}

func closeFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.month, "month", "", "period YYYY-MM to close (required)")
	fs.BoolVar(&c.send, "send", false, "deliver the statements now (otherwise they wait in the outbox)")
	fs.BoolVar(&c.json, "json", false, "print JSON")
}

func statementFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.month, "month", "", "period YYYY-MM (required)")
	fs.StringVar(&c.asOf, "as-of", "", "as-of date YYYY-MM-DD for an open period's projection (default today)")
	fs.StringVar(&c.format, "format", "text", "text, markdown or html")
}

func invoiceFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.date, "date", "", "payment date YYYY-MM-DD (default today)")
}

func noteFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.month, "month", "", "period YYYY-MM (required)")
}

func (a *app) log(ctx context.Context, c *cmdline) error {
	if len(c.args) != 2 {
		return usagef("want CONTRACT_ID AMOUNT")
	}
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	k := c.cfg.Contract(c.args[0])
	if k == nil {
		return usagef("no contract %q in %s", c.args[0], c.config)
	}
	date := a.today(c)
	if c.date != "" {
		d, err := billing.ParseDate(c.date)
		if err != nil {
			return usagef("--date: %v", err)
		}
		date = d
	}
	base := store.Entry{Source: "log", Date: date, Billable: true, Client: k.Client, Notes: c.note, User: c.user, Pinned: k.ID}
	var entries []store.Entry
	if k.Unit == billing.UnitSessions {
		n, err := strconv.Atoi(c.args[1])
		if err != nil || n <= 0 || n > 1000 {
			return usagef("amount %q: a sessions contract logs a whole number of sessions (1, 2, …)", c.args[1])
		}
		for i := 0; i < n; i++ {
			entries = append(entries, base)
		}
	} else {
		secs, err := billing.ParseAmount(c.args[1])
		if err != nil {
			return usagef("%v", err)
		}
		if secs <= 0 {
			return usagef("amount %q: must be more than zero", c.args[1])
		}
		base.Seconds = secs
		entries = append(entries, base)
	}
	if err := c.db.AddEntries(ctx, c.rules, entries, a.now()); err != nil {
		return err
	}
	v, err := c.db.Status(ctx, c.rules, date.Period(), a.today(c))
	if err != nil {
		return err
	}
	amount := billing.FormatQuantity(entries[0].Counted*int64(len(entries)), k.Unit)
	fmt.Fprintf(a.stdout, "logged %s %s to %s on %s\n", amount, unitShort(k.Unit), k.ID, date)
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

func (a *app) status(ctx context.Context, c *cmdline) error {
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
		return notify.StatusJSON(v, c.cfg.Currency, asOf).WriteJSON(a.stdout)
	}
	notify.WriteStatusText(a.stdout, v, c.cfg.Currency, asOf)
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
	Total         string `json:"total_invoiced"`
	IssuedOn      string `json:"issued_on"`
	DueOn         string `json:"due_on"`
	Status        string `json:"status"`
}

func (a *app) close(ctx context.Context, c *cmdline) error {
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
	res, err := c.db.ClosePeriod(ctx, c.rules, p, c.cfg.Currency, c.location, a.now())
	if err != nil {
		return err
	}
	digits := billing.CurrencyDigits(c.cfg.Currency)
	out := closeJSON{Closed: []string{}, Already: len(res.Closed) == 0, Statements: []statementJSON{}}
	for _, q := range res.Closed {
		out.Closed = append(out.Closed, q.String())
	}
	for _, st := range res.Statements {
		out.Statements = append(out.Statements, statementJSON{st.InvoiceNumber, st.ContractID, st.Period.String(),
			st.Total.Decimal(digits), st.IssuedOn.String(), st.DueOn.String(), st.Status})
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
	fmt.Fprintf(a.stdout, "closed %s; %d statements\n", strings.Join(out.Closed, ", "), len(out.Statements))
	tw := newTable(a.stdout)
	tw.row("INVOICE", "CONTRACT", "PERIOD", "TOTAL", "DUE")
	for _, st := range res.Statements {
		tw.row(st.InvoiceNumber, st.ContractID, st.Period.String(), st.Total.Format(c.cfg.Currency), st.DueOn.String())
	}
	tw.flush()
	if c.send {
		return a.deliver(ctx, c)
	}
	fmt.Fprintln(a.stdout, "statement emails are queued: `retainer outbox send` delivers them")
	return nil
}

func (a *app) statement(ctx context.Context, c *cmdline) error {
	if len(c.args) != 1 {
		return usagef("want CONTRACT_ID")
	}
	format := notify.Format(c.format)
	if !format.Valid() {
		return usagef("--format %q: want text, markdown or html", c.format)
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
	body, err := notify.RenderStatement(notify.StatementInput{
		Data: d, Currency: c.cfg.Currency, Agency: c.cfg.Agency.Name, AsOf: asOf,
	}, format, c.cfg.TemplatesDir)
	if err != nil {
		return err
	}
	_, err = io.WriteString(a.stdout, body)
	return err
}

func (a *app) invoice(ctx context.Context, c *cmdline) error {
	if len(c.args) != 2 || c.args[0] != "paid" {
		return usagef("want: invoice paid INVOICE_NUMBER [--date YYYY-MM-DD]")
	}
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	d := a.today(c)
	if c.date != "" {
		var err error
		if d, err = billing.ParseDate(c.date); err != nil {
			return usagef("--date: %v", err)
		}
	}
	st, err := c.db.MarkPaid(ctx, c.args[1], d)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s: paid on %s (%s)\n", st.InvoiceNumber, st.PaidOn, st.Total.Format(st.Currency))
	return nil
}

func (a *app) note(ctx context.Context, c *cmdline) error {
	if len(c.args) != 2 {
		return usagef("want CONTRACT_ID TEXT")
	}
	p, err := a.month(c, 0, true)
	if err != nil {
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
