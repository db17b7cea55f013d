package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/width"

	"retainer/billing"
	"retainer/store"
)

// StatusObject is the `status --json` object of SPEC §11. Each contract's
// money is in its own currency (its `currency`). Summaries are per
// currency (SPEC §14): Summary is the summary of Currency's contracts —
// the config's top-level currency, or, when no contract is in it, the
// first currency present — and, when the contracts are in several
// currencies, Summaries has one summary per currency, Currency's first,
// the others by code.
type StatusObject struct {
	Period    string            `json:"period"`
	Currency  string            `json:"currency"`
	Contracts []ContractStatus  `json:"contracts"`
	Summary   SummaryStatus     `json:"summary"`
	Summaries []CurrencySummary `json:"summaries,omitempty"`
}

// ContractStatus is one burn tracker row.
type ContractStatus struct {
	ContractID    string       `json:"contract_id"`
	Client        string       `json:"client"`
	Tier          string       `json:"tier"`
	Period        string       `json:"period"`
	Closed        bool         `json:"closed"`
	Unit          string       `json:"unit"`
	Currency      string       `json:"currency"` // the contract's money's, frozen with a closed period
	Contracted    json.Number  `json:"hours_contracted"`
	Banked        json.Number  `json:"hours_banked"`
	Available     json.Number  `json:"total_available"`
	Used          json.Number  `json:"hours_used"`
	Remaining     json.Number  `json:"hours_remaining"`
	Overage       json.Number  `json:"overage_hours"`
	OverageRate   string       `json:"overage_rate"`
	OverageFee    string       `json:"overage_fee"`
	RetainerFee   string       `json:"retainer_fee"`
	TotalInvoiced string       `json:"total_invoiced"` // before tax (SPEC §3)
	Tax           string       `json:"tax"`            // on total_invoiced: frozen at the close, the contract's current tax_rate while open
	Utilization   *json.Number `json:"utilization_pct"`
	BurnRate      *json.Number `json:"burn_rate_pct"`
	Projected     json.Number  `json:"projected_hours"`
	InvoiceStatus *string      `json:"invoice_status"`
	Notes         string       `json:"notes"`
}

// SummaryStatus is the monthly summary row.
type SummaryStatus struct {
	Contracted    json.Number  `json:"hours_contracted"`
	Used          json.Number  `json:"hours_used"`
	Overage       json.Number  `json:"overage_hours"`
	OverageFee    string       `json:"overage_fee"`
	RetainerFee   string       `json:"retainer_fee"`
	TotalInvoiced string       `json:"total_invoiced"`
	AvgBurnRate   *json.Number `json:"average_burn_rate_pct"`
}

// CurrencySummary is the summary of the contracts in one currency, with
// their tax.
type CurrencySummary struct {
	Currency string `json:"currency"`
	SummaryStatus
	Tax string `json:"tax"`
}

// rowCurrency is the currency of a row's money: the row's own (frozen with
// a closed period), else its contract's, else the config's.
func rowCurrency(r *store.Row, fallback string) string {
	switch {
	case r.Currency != "":
		return r.Currency
	case r.Contract != nil && r.Contract.Currency != "":
		return r.Contract.Currency
	}
	return fallback
}

// currencyGroup is the rows of a view in one currency.
type currencyGroup struct {
	currency string
	rows     []int // indexes in View.Rows
}

// byCurrency groups the rows of v by the currency of their money: the
// primary currency first — the config's (currency) when a row is in it or
// when there is no row, else the first present by code — then the others
// by code.
func byCurrency(v *store.View, currency string) []currencyGroup {
	idx := map[string]int{}
	var groups []currencyGroup
	for i := range v.Rows {
		cur := rowCurrency(&v.Rows[i], currency)
		g, ok := idx[cur]
		if !ok {
			g = len(groups)
			idx[cur] = g
			groups = append(groups, currencyGroup{currency: cur})
		}
		groups[g].rows = append(groups[g].rows, i)
	}
	if len(groups) == 0 {
		return []currencyGroup{{currency: currency}}
	}
	sort.Slice(groups, func(i, j int) bool {
		if pi, pj := groups[i].currency == currency, groups[j].currency == currency; pi != pj {
			return pi
		}
		return groups[i].currency < groups[j].currency
	})
	return groups
}

// summarize adds up the figures and the tax of the rows of one group.
func summarize(v *store.View, g currencyGroup) (billing.Summary, billing.Money) {
	figs := make([]billing.Figures, 0, len(g.rows))
	var tax billing.Money
	for _, i := range g.rows {
		figs = append(figs, v.Rows[i].Figures)
		tax = addMoney(tax, v.Rows[i].Bill.Tax)
	}
	return billing.Summarize(figs), tax
}

// addMoney is a + b held at the int64 limits, as billing's sums are.
func addMoney(a, b billing.Money) billing.Money {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}

func qty(seconds int64, u billing.Unit) json.Number {
	return json.Number(billing.FormatQuantity(seconds, u))
}

func pct(p billing.Pct) *json.Number {
	if !p.Valid {
		return nil
	}
	n := json.Number(p.String())
	return &n
}

// StatusJSON builds the status object of one period; currency is the
// config's top-level currency.
func StatusJSON(v *store.View, currency string, asOf billing.Date) StatusObject {
	groups := byCurrency(v, currency)
	out := StatusObject{Period: v.Period.String(), Currency: groups[0].currency, Contracts: make([]ContractStatus, 0, len(v.Rows))}
	// The rows share their period and mostly their currency: each is
	// formatted once.
	period, periodText := v.Period, out.Period
	lastCur, lastDigits := "", 0
	for i := range v.Rows {
		r := &v.Rows[i]
		f, u := r.Figures, r.Contract.Unit
		cur := rowCurrency(r, currency)
		if cur != lastCur || i == 0 {
			lastCur, lastDigits = cur, billing.CurrencyDigits(cur)
		}
		digits := lastDigits
		if f.Period != period {
			period, periodText = f.Period, f.Period.String()
		}
		cs := ContractStatus{
			ContractID: r.Contract.ID, Client: r.Contract.Client, Tier: r.Contract.Tier, Period: periodText,
			Closed: r.Closed, Unit: string(u), Currency: cur, Tax: r.Bill.Tax.Decimal(digits),
			Contracted: qty(f.Contracted, u), Banked: qty(f.Banked, u), Available: qty(f.Available, u),
			Used: qty(f.Used, u), Remaining: qty(f.Remaining, u), Overage: qty(f.Overage, u),
			OverageRate: f.OverageRate.Decimal(digits), OverageFee: f.OverageFee.Decimal(digits),
			RetainerFee: f.RetainerFee.Decimal(digits), TotalInvoiced: f.TotalInvoiced.Decimal(digits),
			Utilization: pct(f.Utilization), BurnRate: pct(f.BurnRate), Projected: qty(f.Projected, u),
			Notes: r.Note,
		}
		if r.Closed && r.Invoice != nil {
			s := r.Invoice.StatusAt(asOf)
			cs.InvoiceStatus = &s
		}
		out.Contracts = append(out.Contracts, cs)
	}
	out.Summary, out.Summaries = statusSummaries(v, groups)
	return out
}

// statusSummaries are the summary of the first group and, when there are
// several, one summary per group.
func statusSummaries(v *store.View, groups []currencyGroup) (first SummaryStatus, all []CurrencySummary) {
	for i, g := range groups {
		s, tax := summarize(v, g)
		digits := billing.CurrencyDigits(g.currency)
		sum := SummaryStatus{
			Contracted: qty(s.Contracted, billing.UnitHours), Used: qty(s.Used, billing.UnitHours), Overage: qty(s.Overage, billing.UnitHours),
			OverageFee: s.OverageFee.Decimal(digits), RetainerFee: s.RetainerFee.Decimal(digits),
			TotalInvoiced: s.TotalInvoiced.Decimal(digits), AvgBurnRate: pct(s.AvgBurnRate),
		}
		if i == 0 {
			first = sum
		}
		if len(groups) > 1 {
			all = append(all, CurrencySummary{Currency: g.currency, SummaryStatus: sum, Tax: tax.Decimal(digits)})
		}
	}
	return first, all
}

// WriteStatusJSON writes the status object of one period as
// StatusJSON(v, currency, asOf).WriteJSON(w) does, byte for byte, but
// formats each contract's figures straight into one buffer: no string is
// made for the 14 figures of each of 10,000 contracts.
func WriteStatusJSON(w io.Writer, v *store.View, currency string, asOf billing.Date) error {
	groups := byCurrency(v, currency)
	bw := bufio.NewWriterSize(w, 64<<10)
	head, err := json.Marshal(struct {
		Period   string `json:"period"`
		Currency string `json:"currency"`
	}{v.Period.String(), groups[0].currency})
	if err != nil {
		return err
	}
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"contracts":[`)
	var (
		b          []byte
		period     = billing.Period(-1 << 31)
		periodText string
		lastCur    string
		digits     int
	)
	for i := range v.Rows {
		r := &v.Rows[i]
		f, u := &r.Figures, r.Contract.Unit
		cur := rowCurrency(r, currency)
		if cur != lastCur || i == 0 {
			lastCur, digits = cur, billing.CurrencyDigits(cur)
		}
		if f.Period != period {
			period, periodText = f.Period, f.Period.String()
		}
		b = b[:0]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n  "...)
		b = appendJSONString(append(b, `{"contract_id":`...), r.Contract.ID)
		b = appendJSONString(append(b, `,"client":`...), r.Contract.Client)
		b = appendJSONString(append(b, `,"tier":`...), r.Contract.Tier)
		b = appendJSONString(append(b, `,"period":`...), periodText)
		b = strconv.AppendBool(append(b, `,"closed":`...), r.Closed)
		b = appendJSONString(append(b, `,"unit":`...), string(u))
		b = appendJSONString(append(b, `,"currency":`...), cur)
		b = billing.AppendQuantity(append(b, `,"hours_contracted":`...), f.Contracted, u)
		b = billing.AppendQuantity(append(b, `,"hours_banked":`...), f.Banked, u)
		b = billing.AppendQuantity(append(b, `,"total_available":`...), f.Available, u)
		b = billing.AppendQuantity(append(b, `,"hours_used":`...), f.Used, u)
		b = billing.AppendQuantity(append(b, `,"hours_remaining":`...), f.Remaining, u)
		b = billing.AppendQuantity(append(b, `,"overage_hours":`...), f.Overage, u)
		b = append(f.OverageRate.AppendDecimal(append(b, `,"overage_rate":"`...), digits), '"')
		b = append(f.OverageFee.AppendDecimal(append(b, `,"overage_fee":"`...), digits), '"')
		b = append(f.RetainerFee.AppendDecimal(append(b, `,"retainer_fee":"`...), digits), '"')
		b = append(f.TotalInvoiced.AppendDecimal(append(b, `,"total_invoiced":"`...), digits), '"')
		b = append(r.Bill.Tax.AppendDecimal(append(b, `,"tax":"`...), digits), '"')
		b = appendJSONPct(append(b, `,"utilization_pct":`...), f.Utilization)
		b = appendJSONPct(append(b, `,"burn_rate_pct":`...), f.BurnRate)
		b = billing.AppendQuantity(append(b, `,"projected_hours":`...), f.Projected, u)
		b = append(b, `,"invoice_status":`...)
		if r.Closed && r.Invoice != nil {
			b = appendJSONString(b, r.Invoice.StatusAt(asOf))
		} else {
			b = append(b, "null"...)
		}
		b = append(appendJSONString(append(b, `,"notes":`...), r.Note), '}')
		bw.Write(b)
	}
	if len(v.Rows) > 0 {
		bw.WriteByte('\n')
	}
	first, all := statusSummaries(v, groups)
	sum, err := json.Marshal(first)
	if err != nil {
		return err
	}
	bw.WriteString(`],"summary":`)
	bw.Write(sum)
	if len(all) > 0 {
		bw.WriteString(`,"summaries":[`)
		if err := writeJSONLines(bw, all); err != nil {
			return err
		}
		bw.WriteString("\n]")
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// appendJSONString appends s as encoding/json writes a string: as it is
// when it needs no escape, else through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	if plainJSON(s) {
		return append(append(append(b, '"'), s...), '"')
	}
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// appendJSONPct appends a percentage as pct's json.Number (null when
// invalid).
func appendJSONPct(b []byte, p billing.Pct) []byte {
	if !p.Valid {
		return append(b, "null"...)
	}
	return p.AppendString(b)
}

// StatusWidth is the width, in terminal columns, the status table fits by
// default.
const StatusWidth = 120

// StatusLayout says which status table to write.
type StatusLayout struct {
	// Wide writes every column (tier, contracted, banked, rate, fees, tax),
	// however wide the table becomes.
	Wide bool
	// Width is the columns the default table and the lines after it fit
	// in; 0 is StatusWidth.
	Width int
}

// WriteStatusTable writes the burn tracker of one period as a text table
// with the monthly summary row, then its notes, late adjustments and
// unmatched hours. The default layout fits layout.Width columns: the
// figures a day's work is steered by (used, available, remaining, overage,
// utilization, burn, projection, total, invoice), client names cut with
// "…" at their display width, and the lines after the table wrapped; the
// wide one has every column.
func WriteStatusTable(w io.Writer, v *store.View, currency string, asOf billing.Date, layout StatusLayout) {
	width := layout.Width
	if width <= 0 {
		width = StatusWidth
	}
	state := "open"
	if v.Closed {
		state = "closed"
	}
	lines, totals := StatusLines(v, currency, asOf)
	// Columns that say nothing in most agencies are shown only when they
	// do: the currency when contracts are in several, the tax when one is
	// taxed.
	mixed, taxed := len(totals) > 1, false
	for _, l := range lines {
		taxed = taxed || l.Row.Bill.TaxRate != 0 || l.Row.Bill.Tax != 0
	}
	if mixed {
		codes := make([]string, len(totals))
		for i, t := range totals {
			codes[i] = t.Currency
		}
		fmt.Fprintf(w, "%s (%s) — as of %s, money in each contract's currency (%s)\n\n", v.Period, state, asOf, strings.Join(codes, ", "))
	} else {
		fmt.Fprintf(w, "%s (%s) — as of %s, money in %s\n\n", v.Period, state, asOf, totals[0].Currency)
	}
	if len(v.Rows) == 0 {
		fmt.Fprintln(w, "no contracts in this period")
	}
	if layout.Wide {
		writeWideTable(w, lines, totals, mixed, taxed)
	} else {
		writeFitTable(w, lines, totals, mixed, width)
	}
	var notes, late, after []string
	for _, l := range lines {
		if l.Note != "" {
			notes = append(notes, fmt.Sprintf("%s: %s", l.Row.Contract.ID, l.Note))
		}
		if l.Late != "" {
			late = append(late, fmt.Sprintf("%s: %s", l.Row.Contract.ID, l.Late))
		}
		if l.AfterEnd != "" {
			after = append(after, fmt.Sprintf("%s: %s", l.Row.Contract.ID, l.AfterEnd))
		}
	}
	// Each line after the table is indented by two; in the default layout
	// a longer one wraps, its continuation indented by four.
	list := func(items []string) {
		for _, it := range items {
			if layout.Wide {
				fmt.Fprintln(w, "  "+it)
				continue
			}
			for _, l := range wrapWidth(it, width-2, 2) {
				fmt.Fprintln(w, "  "+l)
			}
		}
	}
	if len(late) > 0 {
		fmt.Fprintln(w, "\nlate adjustments:")
		list(late)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		list(notes)
	}
	if len(after) > 0 {
		fmt.Fprintln(w, "\nafter the contract's end:")
		list(after)
	}
	if nb := NonBillableLines(v.NonBillable, v.Period); len(nb) > 0 {
		fmt.Fprintln(w, "\nonly non-billable hours (none counts):")
		list(nb)
	}
	if v.UnmatchedEntries > 0 {
		head := fmt.Sprintf("unmatched hours: %s h in %s count toward no contract:",
			billing.FormatQuantity(v.UnmatchedSeconds, billing.UnitHours), Count(v.UnmatchedEntries, "entry", "entries"))
		if layout.Wide {
			fmt.Fprintln(w, "\n"+head)
		} else {
			fmt.Fprintln(w, "")
			for _, l := range wrapWidth(head, width, 2) {
				fmt.Fprintln(w, l)
			}
		}
		list(append(UnmatchedLines(v.Unmatched, 10),
			"(add the client or project to a contract's match list; hours before a contract's start are never billed)"))
	}
}

// writeWideTable writes every column: the first three (contract, client,
// tier) flush left, the figures flush right.
func writeWideTable(w io.Writer, lines []StatusLine, totals []StatusTotals, mixed, taxed bool) {
	if len(lines) == 0 {
		return
	}
	var t textTable
	t.left = 3
	// The client column is as wide as "N contracts" of every row.
	t.min = []int{0, len(Count(len(lines), "contract", "contracts"))}
	// row adds one line; cur and tax are the optional columns' cells.
	row := func(cur, tax string, cells ...string) {
		if taxed { // after TOTAL
			cells = append(cells[:13], append([]string{tax}, cells[13:]...)...)
		}
		if mixed { // before RATE
			cells = append(cells[:9], append([]string{cur}, cells[9:]...)...)
		}
		t.add(cells...)
	}
	row("CUR", "TAX", "CONTRACT", "CLIENT", "TIER", "CONTRACTED", "BANKED", "AVAILABLE", "USED", "REMAINING", "OVERAGE",
		"RATE", "OVERAGE FEE", "RETAINER FEE", "TOTAL", "UTIL %", "BURN %", "PROJECTED", "INVOICE")
	for _, l := range lines {
		rate := l.Rate
		if l.NotBillable {
			rate += " n/b"
		}
		row(l.Currency, l.Tax, l.Row.Contract.ID, l.Row.Contract.Client, dash(l.Row.Contract.Tier), l.Contracted, l.Banked, l.Available,
			l.Used, l.Remaining, l.Overage, rate, l.OverageFee, l.RetainerFee, l.Total, l.Utilization, l.BurnRate, l.Projected, dash(l.InvoiceStatus))
	}
	for _, s := range totals { // one summary line per currency
		row(s.Currency, s.Tax, "TOTAL", Count(s.Contracts, "contract", "contracts"), "", s.Contracted, "", "", s.Used, "", s.Overage, "",
			s.OverageFee, s.RetainerFee, s.Total, "", "avg "+s.AvgBurnRate, "", "")
	}
	t.write(w, false)
}

// fitMinClient is the narrowest the client column of the default table
// gets while the contract column can give way: "200 contracts" and a
// recognisable name.
const fitMinClient = 14

// fitMaxContract is the widest the contract column of the default table
// gets: a longer id is cut, so that the client keeps its column.
const fitMaxContract = 24

// writeFitTable writes the default table, in width columns: the contract,
// the client cut to what the figures leave, and the figures a day's work is
// steered by, under short headers that the line after the table spells
// out. The rest is in the wide table.
func writeFitTable(w io.Writer, lines []StatusLine, totals []StatusTotals, mixed bool, width int) {
	if len(lines) == 0 {
		return
	}
	var t textTable
	t.left = 2
	row := func(cur string, cells ...string) {
		if mixed { // before TOTAL
			cells = append(cells[:9], append([]string{cur}, cells[9:]...)...)
		}
		t.add(cells...)
	}
	row("CUR", "CONTRACT", "CLIENT", "USED", "AVAIL", "LEFT", "OVER", "UTIL %", "BURN %", "PROJ", "TOTAL", "INVOICE")
	for _, l := range lines {
		row(l.Currency, l.Row.Contract.ID, l.Row.Contract.Client, l.Used, l.Available, l.Remaining, l.Overage,
			l.Utilization, l.BurnRate, l.Projected, l.Total, dash(l.InvoiceStatus))
	}
	for _, s := range totals { // the summary's burn is the average (Σused / Σcontracted)
		row(s.Currency, "TOTAL", Count(s.Contracts, "contract", "contracts"), s.Used, "", "", s.Overage, "", s.AvgBurnRate, "", s.Total, "")
	}
	// The figures keep their width; the contract and the client share what
	// is left: the client at least fitMinClient while the contract column
	// can narrow to its header.
	widths := t.widths()
	figures := 0
	for _, cw := range widths[2:] {
		figures += cw + textTableGap
	}
	room := width - figures - 2*textTableGap
	contract := min(widths[0], fitMaxContract)
	if room-contract < fitMinClient {
		contract = max(room-fitMinClient, len("CONTRACT"))
	}
	client := max(room-contract, len("CLIENT"))
	t.limit = []int{contract, client}
	t.write(w, true)
	for _, l := range wrapWidth("AVAIL available, LEFT remaining, OVER overage, PROJ projected; --wide adds tier, contracted, banked, rate, fees, tax", width-2, 2) {
		fmt.Fprintln(w, "  "+l)
	}
}

// textTableGap is the spaces before every cell of a text table.
const textTableGap = 2

// textTable lays out a text table by display width (tabwriter counts
// runes, which misaligns East Asian text): the first left columns flush
// left, the others flush right, each cell after two spaces.
type textTable struct {
	rows  [][]string
	left  int
	min   []int // the narrowest each of the first columns is
	limit []int // the widest each of the first columns may be; a longer cell is cut with "…"
}

func (t *textTable) add(cells ...string) { t.rows = append(t.rows, cells) }

// widths is the widest cell of each column, within the limits.
func (t *textTable) widths() []int {
	out := slices.Clone(t.min)
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(out) {
				out = append(out, 0)
			}
			cw := displayWidth(c)
			if i < len(t.limit) {
				cw = min(cw, t.limit[i])
			}
			out[i] = max(out[i], cw)
		}
	}
	return out
}

// write writes the table; trim drops the spaces that end a line.
func (t *textTable) write(w io.Writer, trim bool) {
	widths := t.widths()
	var b strings.Builder
	for _, r := range t.rows {
		b.Reset()
		for i, c := range r {
			if i < len(t.limit) {
				c = cutWidth(c, t.limit[i])
			}
			pad := strings.Repeat(" ", widths[i]-displayWidth(c))
			b.WriteString(strings.Repeat(" ", textTableGap))
			if i < t.left {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		line := b.String()
		if trim {
			line = strings.TrimRight(line, " ")
		}
		fmt.Fprintln(w, line)
	}
}

// runeWidth is the terminal columns r takes: two for East Asian wide and
// fullwidth characters (most emoji among them), none for combining marks,
// format characters (zero-width joiner, variation selectors' kin) and
// other non-spacing runes, one otherwise.
func runeWidth(r rune) int {
	if r == 0 || unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Cc) || (r >= 0x1160 && r <= 0x11FF) {
		return 0 // Hangul medial vowels and finals join the syllable before them
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// displayWidth is the terminal columns s takes.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// cutWidth is s cut to at most w columns, ending in "…" when cut: never in
// the middle of a wide character, and never leaving a combining mark
// without the character it marks.
func cutWidth(s string, w int) string {
	if displayWidth(s) <= w {
		return s
	}
	if w <= 0 {
		return ""
	}
	n := 0
	for i, r := range s {
		rw := runeWidth(r)
		if n+rw > w-1 { // room for the ellipsis
			return s[:i] + "…"
		}
		n += rw
	}
	return s
}

// wrapWidth breaks s into lines of at most w columns at spaces, the lines
// after the first indented by indent; a word longer than a line is cut.
func wrapWidth(s string, w, indent int) []string {
	if displayWidth(s) <= w {
		return []string{s}
	}
	var out []string
	pad := strings.Repeat(" ", indent)
	line, lw, empty := "", 0, true
	for _, word := range strings.Fields(s) {
		ww := displayWidth(word)
		if !empty && lw+1+ww > w {
			out = append(out, line)
			line, lw, empty = pad, indent, true
		}
		if !empty {
			line, lw = line+" ", lw+1
		}
		if ww > w-lw {
			word = cutWidth(word, w-lw)
			ww = displayWidth(word)
		}
		line, lw, empty = line+word, lw+ww, false
	}
	return append(out, line)
}

// NonBillableLines says, for each contract whose hours in p were all
// non-billable, how many and from where, and the key that would count
// them: a tracker plan without billable rates marks every entry
// non-billable, and the client would show 0% used with no reason given.
func NonBillableLines(nbs []store.NonBillable, p billing.Period) []string {
	out := make([]string, 0, len(nbs))
	h := func(s int64) string { return billing.FormatQuantity(s, billing.UnitHours) + " h" }
	for _, nb := range nbs {
		from := make([]string, len(nb.BySource))
		for i, src := range nb.BySource {
			from[i] = src.Source + " " + h(src.Seconds)
		}
		out = append(out, fmt.Sprintf("%s: %s in %s, every entry non-billable (%s); set contracts.%s.count_non_billable: true to count them",
			nb.ContractID, h(nb.Seconds), p, strings.Join(from, ", "), nb.ContractID))
	}
	return out
}

// UnmatchedLines describes the unmatched entries by client, at most limit
// lines and an "and N more" line.
func UnmatchedLines(groups []store.UnmatchedGroup, limit int) []string {
	var out []string
	for i, g := range groups {
		if i == limit {
			out = append(out, fmt.Sprintf("and %d more", len(groups)-limit))
			break
		}
		name := g.Client
		if name == "" {
			name = "(no client)"
		}
		line := fmt.Sprintf("%s: %s h in %s", name, billing.FormatQuantity(g.Seconds, billing.UnitHours), Count(g.Entries, "entry", "entries"))
		if g.BeforeStart != nil {
			line += fmt.Sprintf(" — before the contract starts (%s starts %s): not billed", g.BeforeStart.ID, g.BeforeStart.Start)
		}
		out = append(out, line)
	}
	return out
}

// Count is "1 entry", "3 entries".
func Count[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// StatusLine is one contract's row of the burn tracker as the CLI table
// and the dashboard show it: quantities with two decimals (" s" after a
// sessions contract's), money in the currency's units.
type StatusLine struct {
	Row                                                                store.Row
	Contracted, Banked, Available, Used, Remaining, Overage, Projected string
	Currency                                                           string // the code of the row's money
	Rate                                                               string
	NotBillable                                                        bool   // the overage is recorded, not charged
	OverageFee, RetainerFee, Total                                     string // Total: total_invoiced, before tax
	Tax                                                                string
	Utilization, BurnRate                                              string
	InvoiceStatus                                                      string // as of the view's date; "" while open
	Note                                                               string // on one line; "" when none
	Late                                                               string // "+2.00 h of late adjustments …"; "" when none
	AfterEnd                                                           string // "3.00 h logged after the contract ended …"; "" when none
}

// StatusTotals is the monthly summary row of the contracts in one
// currency, formatted.
type StatusTotals struct {
	Currency                                    string
	Contracts                                   int
	Contracted, Used, Overage                   string
	OverageFee, RetainerFee, Total, AvgBurnRate string // Total: before tax
	Tax                                         string
	Sum                                         billing.Summary // the sums, unformatted
	TaxSum                                      billing.Money
}

// StatusLines formats the rows and the summaries of a period's view: one
// summary per currency (SPEC §14), the config's (currency) first, so a
// view whose contracts share one currency has one. Each row's money is in
// its own currency.
func StatusLines(v *store.View, currency string, asOf billing.Date) ([]StatusLine, []StatusTotals) {
	lines := make([]StatusLine, 0, len(v.Rows))
	for i := range v.Rows {
		r := v.Rows[i]
		f, u := r.Figures, r.Contract.Unit
		cur := rowCurrency(&r, currency)
		digits := billing.CurrencyDigits(cur)
		suffix := ""
		if u == billing.UnitSessions {
			suffix = " s"
		}
		q := func(s int64) string { return billing.FormatQuantity(s, u) + suffix }
		l := StatusLine{Row: r,
			Contracted: q(f.Contracted), Banked: q(f.Banked), Available: q(f.Available), Used: q(f.Used),
			Remaining: q(f.Remaining), Overage: q(f.Overage), Projected: q(f.Projected),
			Currency: cur, Rate: f.OverageRate.Decimal(digits), NotBillable: !r.Contract.OverageBillable,
			OverageFee: f.OverageFee.Decimal(digits), RetainerFee: f.RetainerFee.Decimal(digits), Total: f.TotalInvoiced.Decimal(digits),
			Tax:         r.Bill.Tax.Decimal(digits),
			Utilization: f.Utilization.String(), BurnRate: f.BurnRate.String(), Note: OneLine(r.Note)}
		if r.Invoice != nil {
			l.InvoiceStatus = r.Invoice.StatusAt(asOf)
		}
		if f.LateAdjustment != 0 {
			l.Late = fmt.Sprintf("%s %s of late adjustments from closed periods counted here", signed(f.LateAdjustment, u), UnitName(u))
		}
		if r.Contract.AfterEnd(f.Period) && f.Used > 0 {
			l.AfterEnd = fmt.Sprintf("%s %s logged after the contract ended (%s): the bank first, the rest billed at the overage rate",
				billing.FormatQuantity(f.Used, u), UnitName(u), r.Contract.End)
		}
		lines = append(lines, l)
	}
	h := func(x int64) string { return billing.FormatQuantity(x, billing.UnitHours) }
	groups := byCurrency(v, currency)
	totals := make([]StatusTotals, 0, len(groups))
	for _, g := range groups {
		s, tax := summarize(v, g)
		digits := billing.CurrencyDigits(g.currency)
		totals = append(totals, StatusTotals{Currency: g.currency, Contracts: len(g.rows),
			Contracted: h(s.Contracted), Used: h(s.Used), Overage: h(s.Overage),
			OverageFee: s.OverageFee.Decimal(digits), RetainerFee: s.RetainerFee.Decimal(digits),
			Total: s.TotalInvoiced.Decimal(digits), AvgBurnRate: s.AvgBurnRate.String(), Tax: tax.Decimal(digits),
			Sum: s, TaxSum: tax})
	}
	return lines, totals
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// OneLine is s with its runs of white space, newlines included, as one space.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func signed(seconds int64, u billing.Unit) string {
	s := billing.FormatQuantity(seconds, u)
	if seconds > 0 {
		s = "+" + s
	}
	return s
}

// UnitName is a unit as quantities are labelled: "h" or "sessions".
func UnitName(u billing.Unit) string {
	if u == billing.UnitSessions {
		return "sessions"
	}
	return "h"
}

// WriteJSON writes the status object with one contract per line: valid JSON
// that reads and greps well, and cheap to produce for 10,000 contracts.
func (o StatusObject) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	head, err := json.Marshal(struct {
		Period   string `json:"period"`
		Currency string `json:"currency"`
	}{o.Period, o.Currency})
	if err != nil {
		return err
	}
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"contracts":[`)
	var line []byte
	for i := range o.Contracts {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n  ")
		var ok bool
		if line, ok = o.Contracts[i].appendJSON(line[:0]); !ok {
			// A value the fast path does not write as encoding/json
			// would: encoding/json writes it (or refuses it).
			if line, err = json.Marshal(&o.Contracts[i]); err != nil {
				return err
			}
		}
		bw.Write(line)
	}
	if len(o.Contracts) > 0 {
		bw.WriteByte('\n')
	}
	sum, err := json.Marshal(o.Summary)
	if err != nil {
		return err
	}
	bw.WriteString(`],"summary":`)
	bw.Write(sum)
	if len(o.Summaries) > 0 {
		bw.WriteString(`,"summaries":[`)
		if err := writeJSONLines(bw, o.Summaries); err != nil {
			return err
		}
		bw.WriteString("\n]")
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// appendJSON appends cs as json.Marshal writes it, without reflection:
// ok is false, and b to be thrown away, when a value is one the fast path
// leaves to encoding/json (a string to escape, a number that is not one).
func (cs *ContractStatus) appendJSON(b []byte) ([]byte, bool) {
	ok := true
	str := func(key, v string) {
		b = append(b, key...)
		if ok = ok && plainJSON(v); ok {
			b = append(append(append(b, '"'), v...), '"')
		}
	}
	num := func(key string, n json.Number) {
		b = append(b, key...)
		if ok = ok && plainNumber(string(n)); ok {
			b = append(b, n...)
		}
	}
	str(`{"contract_id":`, cs.ContractID)
	str(`,"client":`, cs.Client)
	str(`,"tier":`, cs.Tier)
	str(`,"period":`, cs.Period)
	if cs.Closed {
		b = append(b, `,"closed":true`...)
	} else {
		b = append(b, `,"closed":false`...)
	}
	str(`,"unit":`, cs.Unit)
	str(`,"currency":`, cs.Currency)
	num(`,"hours_contracted":`, cs.Contracted)
	num(`,"hours_banked":`, cs.Banked)
	num(`,"total_available":`, cs.Available)
	num(`,"hours_used":`, cs.Used)
	num(`,"hours_remaining":`, cs.Remaining)
	num(`,"overage_hours":`, cs.Overage)
	str(`,"overage_rate":`, cs.OverageRate)
	str(`,"overage_fee":`, cs.OverageFee)
	str(`,"retainer_fee":`, cs.RetainerFee)
	str(`,"total_invoiced":`, cs.TotalInvoiced)
	str(`,"tax":`, cs.Tax)
	for _, p := range []struct {
		key string
		n   *json.Number
	}{{`,"utilization_pct":`, cs.Utilization}, {`,"burn_rate_pct":`, cs.BurnRate}} {
		if p.n == nil {
			b = append(append(b, p.key...), "null"...)
		} else {
			num(p.key, *p.n)
		}
	}
	num(`,"projected_hours":`, cs.Projected)
	if cs.InvoiceStatus == nil {
		b = append(b, `,"invoice_status":null`...)
	} else {
		str(`,"invoice_status":`, *cs.InvoiceStatus)
	}
	str(`,"notes":`, cs.Notes)
	return append(b, '}'), ok
}

// plainJSON reports whether encoding/json writes s as it is between its
// quotes: printable ASCII, none of " \\ and the < > & it escapes for HTML.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// plainNumber reports whether n is what the quantities and percentages
// are: an optional minus, digits, and an optional fraction of digits, as
// encoding/json writes a json.Number unchanged (it writes "" as 0).
func plainNumber(n string) bool {
	n = strings.TrimPrefix(n, "-")
	intPart, frac, dot := strings.Cut(n, ".")
	if intPart == "" || len(intPart) > 1 && intPart[0] == '0' || dot && frac == "" {
		return false
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return false
			}
		}
	}
	return true
}

// StatementRecord is one statement as the API and `retainer export
// statements` write it. Total is what the client owes: the subtotal
// (total_invoiced, before tax) plus the tax, frozen at the close.
type StatementRecord struct {
	InvoiceNumber string `json:"invoice_number"`
	ContractID    string `json:"contract_id"`
	Period        string `json:"period"`
	Currency      string `json:"currency"`
	Subtotal      string `json:"subtotal"` // before tax
	TaxRate       string `json:"tax_rate"` // percent: "20", "8.875", "0"
	Tax           string `json:"tax"`
	Total         string `json:"total"` // subtotal + tax
	IssuedOn      string `json:"issued_on"`
	DueOn         string `json:"due_on"`
	Status        string `json:"status"` // draft, pending, sent, paid or overdue, on the day given
}

// StatementRecords lays out statements with their status on today.
func StatementRecords(sts []store.Statement, today billing.Date) []StatementRecord {
	out := make([]StatementRecord, 0, len(sts))
	for i := range sts {
		st := &sts[i]
		digits := billing.CurrencyDigits(st.Currency)
		out = append(out, StatementRecord{
			InvoiceNumber: st.InvoiceNumber, ContractID: st.ContractID, Period: st.Period.String(), Currency: st.Currency,
			Subtotal: st.Total.Decimal(digits), TaxRate: st.TaxRate.String(), Tax: st.Tax.Decimal(digits),
			Total:    st.TotalWithTax().Decimal(digits),
			IssuedOn: st.IssuedOn.String(), DueOn: st.DueOn.String(), Status: st.StatusAt(today),
		})
	}
	return out
}

// writeJSONLines writes items as JSON array elements, one per line.
func writeJSONLines[T any](bw *bufio.Writer, items []T) error {
	for i := range items {
		line, err := json.Marshal(&items[i])
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n  ")
		bw.Write(line)
	}
	return nil
}
