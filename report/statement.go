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
	Data *store.StatementData
	// Currency is the config's top-level currency: the statement's money
	// is in Data's currency (frozen with a closed period, the contract's
	// while open), and in this one only when Data names none.
	Currency string
	Agency   string
	Issuer   Issuer       // the agency's invoice details (config agency.*): its address, tax id and payment instructions, each shown when set
	AsOf     billing.Date // for an open period's preview
	ChartCID string       // the Content-ID of the inline burndown chart, if the email has one
	// PayURL is the invoice's hosted payment page (Stripe, SPEC §14); ""
	// when there is none. A preview, a draft and a paid invoice do not show
	// it.
	PayURL string
}

// statementCurrency is the currency a statement's money is shown in.
func (in StatementInput) statementCurrency() string {
	if in.Data != nil && in.Data.Currency != "" {
		return in.Data.Currency
	}
	if in.Data != nil && in.Data.Contract != nil && in.Data.Contract.Currency != "" {
		return in.Data.Contract.Currency
	}
	return in.Currency
}

type lotView struct{ Earned, Qty string }

type weekView struct{ From, To, Hours, Cumulative, Remaining string }

// lineView is one invoice line, formatted: "Retainer fee", "1",
// "USD 5,000.00", "USD 5,000.00"; an overage line's quantity is in hours
// (or sessions) and its amount is exact, from the seconds (SPEC §1).
type lineView struct {
	Description, Quantity, UnitAmount, Amount string
	Note                                      string // the late adjustments the line includes; "" when none
}

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
	// OverageLate notes the late adjustments billed in the overage line;
	// "" when it has none.
	OverageLate string
	// Lines are the invoice lines of the frozen invoice (an open period's:
	// at the contract's current rate), for templates that lay them out.
	Lines []lineView
	// Taxed: the statement has a tax rate or a tax; then TaxLabel ("Tax
	// (8.875%)"), Tax and TotalWithTax follow TotalInvoiced, the total
	// before tax.
	Taxed               bool
	TaxRate, TaxLabel   string
	Tax, TotalWithTax   string
	AgencyAddress       []string // lines; nil when none
	AgencyAddressLine   string   // the same on one line, comma separated
	AgencyTaxID         string
	BillTo              bool     // the contract has billing details: show the addressee
	BillToName          string   // billing_name, else the client
	BillToAddress       []string // lines; nil when none
	BillToAddressLine   string
	ClientTaxID         string
	PaymentInstructions []string // lines; shown on an invoice, not on a preview
	PayURL              string   // the "Pay now" link of an unpaid invoice; "" when none
	Note                string
	ChartCID            string // the inline chart's Content-ID, when there is one
	// Decisions are the client's decisions of the month (SPEC §12), in the
	// order they were taken.
	Decisions []DecisionView
}

// DecisionView is one client decision as pages and messages show it: Text
// says what was decided and when ("Overage up to 10.00 h approved on
// 2026-11-18"), Message is the client's words on one line ("" when none).
type DecisionView struct{ Text, Message string }

// Decision formats a client decision of contract c (nil: a contract no
// longer configured, shown in hours).
func Decision(d store.Decision, c *billing.Contract) DecisionView {
	u := billing.UnitHours
	if c != nil {
		u = c.Unit
	}
	q := billing.FormatQuantity(d.Seconds, u) + " " + UnitName(u)
	v := DecisionView{Message: OneLine(d.Message)}
	switch d.Kind {
	case store.DecisionOverage:
		v.Text = fmt.Sprintf("Overage up to %s approved on %s", q, d.On)
	case store.DecisionChange:
		v.Text = fmt.Sprintf("Retainer change requested on %s: %s a month", d.On, q)
		if c != nil {
			v.Text += " instead of " + billing.FormatQuantity(c.TermsAt(d.Period).MonthlyHours, u) + " " + UnitName(u)
		}
	case store.DecisionPause:
		v.Text = fmt.Sprintf("Pause of non-urgent work requested on %s", d.On)
	default:
		v.Text = fmt.Sprintf("%s on %s", d.Kind, d.On)
	}
	return v
}

// Decisions formats decisions of contract c, in order.
func Decisions(ds []store.Decision, c *billing.Contract) []DecisionView {
	var out []DecisionView
	for _, d := range ds {
		out = append(out, Decision(d, c))
	}
	return out
}

func newStatementView(in StatementInput) statementView {
	d := in.Data
	f, c := d.Figures, d.Contract
	u := c.Unit
	q := func(s int64) string { return billing.FormatQuantity(s, u) }
	currency := in.statementCurrency()
	money := func(m billing.Money) string { return m.Format(currency) }
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
	v.invoiceDetails(in, money, q)
	v.Decisions = Decisions(d.Decisions, c)
	return v
}

// invoiceDetails adds the invoice's lines, tax and addresses to v: what a
// statement says as the client's invoice (SPEC §14). Every amount comes
// from the frozen invoice, never from the config's current tax rate.
func (v *statementView) invoiceDetails(in StatementInput, money func(billing.Money) string, q func(int64) string) {
	d, c := in.Data, in.Data.Contract
	bill := d.Bill
	for _, l := range bill.Lines {
		lv := lineView{UnitAmount: money(l.UnitAmount), Amount: money(l.Amount)}
		switch l.Kind {
		case billing.LineRetainer:
			lv.Description, lv.Quantity = "Retainer fee", "1"
		case billing.LineOverage:
			lv.Description, lv.Quantity = "Overage ("+UnitName(l.Unit)+")", billing.FormatQuantity(l.Seconds, l.Unit)
			if l.LateAdjustment != 0 {
				lv.Note = fmt.Sprintf("incl. %s %s of late adjustments from closed periods", signed(l.LateAdjustment, l.Unit), UnitName(l.Unit))
				v.OverageLate = lv.Note
			}
		default:
			lv.Description, lv.Quantity = string(l.Kind), "1"
		}
		v.Lines = append(v.Lines, lv)
	}
	if bill.TaxRate != 0 || bill.Tax != 0 {
		v.Taxed = true
		v.TaxRate = bill.TaxRate.String()
		v.TaxLabel = "Tax (" + v.TaxRate + "%)"
		v.Tax, v.TotalWithTax = money(bill.Tax), money(bill.Subtotal+bill.Tax)
	}
	v.AgencyAddress = lines(in.Issuer.Address)
	v.AgencyAddressLine = strings.Join(v.AgencyAddress, ", ")
	v.AgencyTaxID = strings.TrimSpace(in.Issuer.TaxID)
	if c.BillingName != "" || strings.TrimSpace(c.BillingAddress) != "" || c.TaxID != "" {
		v.BillTo = true
		v.BillToName = c.InvoiceName()
		v.BillToAddress = lines(c.BillingAddress)
		v.BillToAddressLine = strings.Join(v.BillToAddress, ", ")
		v.ClientTaxID = c.TaxID
	}
	// Payment instructions belong on an invoice: not on an open period's
	// preview, nor on a month closed before go-live.
	if !v.Draft && !v.NotInvoiced {
		v.PaymentInstructions = lines(in.Issuer.PaymentInstructions)
		if inv := d.Invoice; inv == nil || inv.Status != store.StatusPaid && inv.Status != store.StatusDraft {
			v.PayURL = in.PayURL
		}
	}
}

// lines splits free text into its non-blank lines, each trimmed.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
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

// RenderStatementEmail renders a statement email's text and HTML parts:
// RenderStatement's text and RenderStatementHTML's HTML, from one view of
// the figures (formatted once, not once a part).
func RenderStatementEmail(in StatementInput, t *Templates) (text, html string, err error) {
	v := newStatementView(in)
	var b strings.Builder
	if err := t.Execute(&b, FormatText.template(), v); err != nil {
		return "", "", err
	}
	text = b.String()
	b = strings.Builder{}
	if err := t.Execute(&b, "statement.html.tmpl", v); err != nil {
		return "", "", err
	}
	return text, b.String(), nil
}
