package report

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"

	"retainer/billing"
	"retainer/store"
)

// Format is a statement's rendering.
type Format string

// The statement formats.
const (
	FormatText     Format = "text"
	FormatMarkdown Format = "markdown"
	FormatHTML     Format = "html"
)

// Valid reports whether f is a known format.
func (f Format) Valid() bool { return f == FormatText || f == FormatMarkdown || f == FormatHTML }

func (f Format) template() string {
	if f == FormatMarkdown {
		return "statement.md.tmpl"
	}
	return "statement.txt.tmpl"
}

// StatementInput is what a statement is rendered from.
type StatementInput struct {
	Data     *store.StatementData
	Currency string
	Agency   string
	AsOf     billing.Date // for an open period's preview
	ChartCID string       // the Content-ID of the inline burndown chart, if the email has one
}

type lotView struct{ Earned, Qty string }

type weekView struct{ From, To, Hours, Cumulative, Remaining string }

// statementView is the statement with every figure already formatted, so
// templates only place strings.
type statementView struct {
	Agency, InvoiceNumber, Client, Tier, ContractID, Period, PeriodName string
	Draft                                                               bool // an open period's preview
	NotInvoiced                                                         bool // a closed period before go-live: figures only
	UnderReview                                                         bool // a draft statement nothing has been sent for
	ShowStatus                                                          bool // the status says more than "being sent"
	AsOf, IssuedOn, DueOn, InvoiceStatus                                string
	PaymentTerms                                                        int
	UnitName                                                            string
	Contracted, Banked, Available, Used, Remaining, Overage, Projected  string
	Utilization, BurnRate, LateAdjustment, Zero                         string
	LotsIn                                                              []lotView
	Earned, ExpiredTotal, ExpiredDetail, RolloverOut                    string
	Weeks                                                               []weekView
	RetainerFee, OverageLine, OverageFee, TotalInvoiced                 string
	Note                                                                string
	ChartCID                                                            string // the inline chart's Content-ID, when there is one
}

func newStatementView(in StatementInput) statementView {
	d := in.Data
	f, c := d.Figures, d.Contract
	u := c.Unit
	q := func(s int64) string { return billing.FormatQuantity(s, u) }
	money := func(m billing.Money) string { return m.Format(in.Currency) }
	v := statementView{
		Agency: in.Agency, InvoiceNumber: store.InvoiceNumber(c.ID, f.Period), Client: c.Client, Tier: c.Tier,
		ContractID: c.ID, Period: f.Period.String(),
		PeriodName: f.Period.Name(),
		Draft:      !d.Closed, AsOf: in.AsOf.String(), PaymentTerms: c.PaymentTermsDays, UnitName: UnitName(u),
		Contracted: q(f.Contracted), Banked: q(f.Banked), Available: q(f.Available), Used: q(f.Used),
		Remaining: q(f.Remaining), Overage: q(f.Overage), Projected: q(f.Projected), Zero: q(0),
		Utilization: Percent(f.Utilization), BurnRate: Percent(f.BurnRate),
		Earned: q(f.Earned), ExpiredTotal: q(f.Expired + f.Forfeited), RolloverOut: q(f.RolloverOut),
		RetainerFee: money(f.RetainerFee), OverageFee: money(f.OverageFee), TotalInvoiced: money(f.TotalInvoiced),
		Note: d.Note, ChartCID: in.ChartCID,
	}
	if f.LateAdjustment != 0 {
		v.LateAdjustment = signed(f.LateAdjustment, u)
	}
	if d.Invoice != nil {
		v.IssuedOn, v.DueOn, v.InvoiceStatus = d.Invoice.IssuedOn.String(), d.Invoice.DueOn.String(), d.Invoice.StatusAt(in.AsOf)
		v.UnderReview = d.Invoice.Status == store.StatusDraft
		// The email that delivers a pending statement does not announce it
		// as pending; sent, paid and overdue are worth saying.
		v.ShowStatus = v.InvoiceStatus != store.StatusPending && !v.UnderReview
	} else if d.Closed {
		v.NotInvoiced = true
	}
	var detail []string
	if f.Forfeited > 0 {
		detail = append(detail, q(f.Forfeited)+" over the rollover cap")
	}
	if f.Expired > 0 {
		detail = append(detail, q(f.Expired)+" past expiry")
	}
	v.ExpiredDetail = strings.Join(detail, ", ")
	for _, l := range f.LotsIn {
		v.LotsIn = append(v.LotsIn, lotView{l.Earned.String(), q(l.Seconds)})
	}
	for _, w := range d.Weeks {
		v.Weeks = append(v.Weeks, weekView{w.From.String(), w.To.String(), q(w.Hours), q(w.Cumulative), q(w.Remaining)})
	}
	v.OverageLine = fmt.Sprintf("%s %s × %s/%s", q(f.Overage), UnitName(u), money(f.OverageRate), singular(u))
	if !c.OverageBillable {
		v.OverageLine += " (not billable)"
	}
	return v
}

// Percent is a percentage as people read it, with its "%" sign, or "—"
// when there is none (nothing available to use).
func Percent(p billing.Pct) string {
	if !p.Valid {
		return "—"
	}
	return p.String() + "%"
}

func singular(u billing.Unit) string {
	if u == billing.UnitSessions {
		return "session"
	}
	return "h"
}

var mdEscaper = strings.NewReplacer(`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`, "#", `\#`)

var funcs = template.FuncMap{
	"md": func(s string) string { return mdEscaper.Replace(OneLine(s)) },
}

// RenderStatement renders one statement as text, markdown or HTML, from
// the templates of the config.
func RenderStatement(in StatementInput, f Format, t *Templates) (string, error) {
	if f == FormatHTML {
		return RenderStatementHTML(in, t)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, f.template(), newStatementView(in)); err != nil {
		return "", err
	}
	return buf.String(), nil
}
