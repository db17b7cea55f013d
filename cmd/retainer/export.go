package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"

	"retainer/billing"
	"retainer/report"
	"retainer/store"
)

func exportFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.month, "month", "", "period YYYY-MM (status and entries; default: this month; invoices: a closed month, required)")
	fs.StringVar(&c.asOf, "as-of", "", "status as of YYYY-MM-DD (default today)")
	fs.StringVar(&c.format, "format", "csv", "csv or json; invoices: xero or quickbooks")
}

// entryRecord is one time entry as `retainer export entries` writes it.
type entryRecord struct {
	ID          int64       `json:"id"` // what `retainer entry edit|delete` takes
	Date        string      `json:"date"`
	ContractID  string      `json:"contract_id"` // "" when it matches no contract
	Client      string      `json:"client"`
	Project     string      `json:"project"`
	ProjectCode string      `json:"project_code"`
	Task        string      `json:"task"`
	Notes       string      `json:"notes"`
	User        string      `json:"user"`
	Hours       json.Number `json:"hours"`           // as logged, rounded to 2 decimals
	Seconds     int64       `json:"seconds"`         // as logged, exact
	Counted     json.Number `json:"counted_hours"`   // after rounding and the billable rule
	CountedSecs int64       `json:"counted_seconds"` // exact
	Billable    bool        `json:"billable"`
	Source      string      `json:"source"`
	ExternalID  string      `json:"external_id"`
}

// export writes the burn tracker, the statements or the entries of a month
// as CSV (one header row, RFC 4180) or JSON, for a spreadsheet or an
// accounting system; or a closed month's invoices as the sales-invoice
// import file of Xero or QuickBooks Online.
func (a *invocation) export(ctx context.Context, c *cmdline) error {
	if len(c.args) != 1 {
		return usagef("want what to export: status, statements, entries or invoices")
	}
	what := c.args[0]
	switch {
	case what == "invoices":
		return a.exportInvoices(ctx, c)
	case what != "status" && what != "statements" && what != "entries":
		return usagef("export %q: want status, statements, entries or invoices", what)
	case c.format != "csv" && c.format != "json":
		return usagef("--format %q: want csv or json", c.format)
	}
	asOf, p, err := a.openMonth(ctx, c, false)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(a.stdout)
	if err := a.exportTo(ctx, c, out, what, asOf, p); err != nil {
		return err
	}
	return out.Flush()
}

func (a *invocation) exportTo(ctx context.Context, c *cmdline, out io.Writer, what string, asOf billing.Date, p billing.Period) error {
	switch what {
	case "status":
		v, err := c.db.Status(ctx, c.rules, p, asOf)
		if err != nil {
			return err
		}
		obj := report.StatusJSON(v, c.cfg.Currency, asOf)
		if c.format == "json" {
			return obj.WriteJSON(out)
		}
		return writeCSV(out, obj.Contracts)
	case "statements":
		sts, err := c.db.Statements(ctx, "")
		if err != nil {
			return err
		}
		recs := report.StatementRecords(sts, a.today(c))
		if c.format == "json" {
			return writeJSON(out, map[string]any{"statements": recs})
		}
		return writeCSV(out, recs)
	default:
		return a.exportEntries(ctx, c, out, p)
	}
}

// exportInvoices writes the invoices of a closed month (--month, required)
// as the sales-invoice import CSV of Xero or QuickBooks Online (--format
// xero|quickbooks, required; SPEC §14): one row per invoice line, each with
// its share of the tax frozen at the close. Drafts under review are not
// invoices yet and are left out. A month that is not closed has no invoices:
// exit 1, naming it.
func (a *invocation) exportInvoices(ctx context.Context, c *cmdline) error {
	f := report.AccountingFormat(c.format)
	switch {
	case !c.set["format"]:
		return usagef("invoices: --format xero|quickbooks is required")
	case !f.Valid():
		return usagef("invoices: --format %q: want xero or quickbooks", c.format)
	}
	asOf, p, err := a.openMonth(ctx, c, true)
	if err != nil {
		return err
	}
	v, err := c.db.Status(ctx, c.rules, p, asOf)
	if err != nil {
		return err
	}
	if !v.Closed {
		return fmt.Errorf("invoices: %s is not closed: its invoices are the statements its close makes (retainer close --month %s)", p, p)
	}
	e := c.cfg.Exports
	codes := report.AccountingCodes{
		XeroAccountCode: e.Xero.AccountCode, XeroTaxType: e.Xero.TaxType, XeroExemptTaxType: e.Xero.ExemptTaxType,
		QuickBooksItem: e.QuickBooks.Item, QuickBooksTaxCode: e.QuickBooks.TaxCode, QuickBooksExemptTaxCode: e.QuickBooks.ExemptTaxCode,
	}
	out := bufio.NewWriter(a.stdout)
	if err := report.WriteInvoicesCSV(out, f, v.Rows, codes); err != nil {
		return err
	}
	return out.Flush()
}

// exportEntries streams the month's entries: JSON Lines with --format json
// (one entry a line), CSV otherwise.
func (a *invocation) exportEntries(ctx context.Context, c *cmdline, out io.Writer, p billing.Period) error {
	var cw *csv.Writer
	enc := json.NewEncoder(out)
	if c.format == "csv" {
		cw = csv.NewWriter(out)
		if err := cw.Write(csvHeader(reflect.TypeOf(entryRecord{}))); err != nil {
			return err
		}
	}
	err := c.db.EachEntry(ctx, p.FirstDay(), p.LastDay(), func(e store.Entry) error {
		unit := billing.UnitHours
		if k := c.rules.Contract(e.ContractID); k != nil {
			unit = k.Unit
		}
		r := entryRecord{ID: e.ID, Date: e.Date.String(), ContractID: e.ContractID, Client: e.Client, Project: e.Project,
			ProjectCode: e.ProjectCode, Task: e.Task, Notes: e.Notes, User: e.User,
			Hours: json.Number(billing.FormatQuantity(e.Seconds, unit)), Seconds: e.Seconds,
			Counted: json.Number(billing.FormatQuantity(e.Counted, unit)), CountedSecs: e.Counted,
			Billable: e.Billable, Source: e.Source, ExternalID: e.ExternalID}
		if cw == nil {
			return enc.Encode(r)
		}
		return cw.Write(csvRow(reflect.ValueOf(r)))
	})
	if err != nil {
		return err
	}
	if cw != nil {
		cw.Flush()
		return cw.Error()
	}
	return nil
}

// writeCSV writes a slice of structs as CSV: a header of their json names,
// then one row each, with each value as its JSON has it (strings unquoted,
// null empty).
func writeCSV[T any](w io.Writer, rows []T) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader(reflect.TypeOf((*T)(nil)).Elem())); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write(csvRow(reflect.ValueOf(r))); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvHeader(t reflect.Type) []string {
	out := make([]string, t.NumField())
	for i := range out {
		out[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	return out
}

func csvRow(v reflect.Value) []string {
	out := make([]string, v.NumField())
	for i := range out {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				continue
			}
			f = f.Elem()
		}
		switch x := f.Interface().(type) {
		case string:
			out[i] = report.FormulaSafe(x)
		case json.Number:
			out[i] = string(x)
		default:
			out[i] = fmt.Sprint(x)
		}
	}
	return out
}
