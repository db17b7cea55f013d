package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"

	"retainer/billing"
	"retainer/store"
)

// The accounting exports (SPEC §14): a closed month's invoices as the
// sales-invoice import file that Xero or QuickBooks Online documents, one
// row per invoice line, so that the bookkeeper imports the month without
// retyping a line.
//
// Quantity and unit price. Both importers compute a line's amount as
// quantity × unit price, and our overage fee is rounded once from the exact
// seconds (SPEC §1): 2 h 20 min at 175.00 is 408.33, while 2.33 h × 175.00
// is 407.75. A line therefore carries its hours as quantity and the rate as
// unit price only when that product is exactly the line's amount (2.5 h at
// 175.00: 437.50); otherwise it carries quantity 1 and the amount itself
// as unit price, with the exact duration and the rate in its description.
// The retainer fee is always 1 × the fee.
//
// Tax. The invoice's tax is the one frozen at its close (round(subtotal ×
// rate), SPEC §14), never recomputed from the current config. Both files
// take a tax amount per line; the invoice's tax is split over its lines in
// proportion to their amounts by the largest remainder method (lineTaxes),
// so that the lines' taxes sum to it exactly and each invoice's rows, with
// their tax, sum to its total with tax to the minor unit.

// AccountingFormat is an accounting system's sales-invoice import file.
type AccountingFormat string

// The accounting import files `retainer export invoices` writes.
const (
	AccountingXero       AccountingFormat = "xero"
	AccountingQuickBooks AccountingFormat = "quickbooks"
)

// Valid reports whether f is a known accounting format.
func (f AccountingFormat) Valid() bool { return f == AccountingXero || f == AccountingQuickBooks }

// AccountingCodes are what the lines are filed under in each system (the
// exports.* config), spelled exactly as that system shows them. A line of
// an invoice with a tax rate takes the tax type or code; one without, the
// exempt one.
type AccountingCodes struct {
	XeroAccountCode, XeroTaxType, XeroExemptTaxType            string
	QuickBooksItem, QuickBooksTaxCode, QuickBooksExemptTaxCode string
}

// ExportedInvoices picks the rows of a closed period whose statement is an
// invoice to book: issued (a draft under review is not an invoice yet),
// invoiced (a period before go_live has no statement) and with at least one
// line (a statement of 0 has nothing to book).
func ExportedInvoices(rows []store.Row) []store.Row {
	var out []store.Row
	for _, r := range rows {
		if r.Closed && r.Invoice != nil && r.Invoice.Status != store.StatusDraft && len(r.Bill.Lines) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// WriteInvoicesCSV writes the import file of format f for the exported
// invoices among rows (ExportedInvoices), one row per invoice line in the
// order of rows, then of each invoice's lines: a header of the system's own
// column names, then RFC 4180 records (a name holding a comma, a quote or a
// line break is quoted). A text cell that a spreadsheet would read as a
// formula gets a leading apostrophe, as every export's CSV does.
func WriteInvoicesCSV(w io.Writer, f AccountingFormat, rows []store.Row, codes AccountingCodes) error {
	var cols []accountingColumn
	switch f {
	case AccountingXero:
		cols = xeroColumns
	case AccountingQuickBooks:
		cols = quickBooksColumns
	default:
		return fmt.Errorf("accounting format %q: want xero or quickbooks", f)
	}
	cw := csv.NewWriter(w)
	rec := make([]string, len(cols))
	for i, c := range cols {
		rec[i] = c.name
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	for _, r := range ExportedInvoices(rows) {
		for _, l := range accountingLines(r, codes) {
			for i, c := range cols {
				rec[i] = c.value(&l)
				if c.text {
					rec[i] = FormulaSafe(rec[i])
				}
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// accountingColumn is one column of an import file: its name as the
// system spells it, and its cell for one line. Text cells are kept from
// being read as formulas; numbers and dates never need it.
type accountingColumn struct {
	name  string
	text  bool
	value func(l *accountingLine) string
}

func textCol(name string, v func(l *accountingLine) string) accountingColumn {
	return accountingColumn{name, true, v}
}

func numCol(name string, v func(l *accountingLine) string) accountingColumn {
	return accountingColumn{name, false, v}
}

func empty(name string) accountingColumn {
	return accountingColumn{name, false, func(*accountingLine) string { return "" }}
}

// xeroColumns are the columns of Xero's sales invoice import template, in
// its order, with TaxAmount after *TaxType. Sources (the search tool's
// corpora do not hold Xero Central; its article was read in a stored copy
// kept in a public repository):
//   - Xero Central, "Import customer invoices",
//     https://central.xero.com/s/article/Import-customer-invoices (the
//     global page; the US page, …-US, writes dates MM/DD/YYYY): each row
//     is one invoice line, rows of one invoice share its InvoiceNumber;
//     InvoiceDate and DueDate are DD/MM/YYYY; AccountCode, TaxType and
//     Currency must be entered exactly as they appear in Xero; "If you need
//     to enter specific tax amounts, add a new column to the file with the
//     heading TaxAmount … the invoices will include a tax adjustment for
//     the difference … enter prices as tax exclusive".
//   - The template's header row (Sales › Invoices › Import › Download
//     template file), not quoted on that page: as public repositories
//     quote it (27 columns, *ContactName … BrandingTheme; the older
//     template had Total and TaxAmount too, TaxAmount after *TaxType).
//
// An asterisk marks what the template marks required; the page itself
// requires only ContactName and InvoiceNumber. Dates are DD/MM/YYYY, as the
// global page and SPEC §14 say; an organisation on Xero's US edition, whose
// page asks for MM/DD/YYYY, is not offered the other order.
var xeroColumns = []accountingColumn{
	textCol("*ContactName", func(l *accountingLine) string { return l.row.Contract.InvoiceName() }),
	textCol("EmailAddress", func(l *accountingLine) string { return l.email }),
	textCol("POAddressLine1", func(l *accountingLine) string { return l.address[0] }),
	textCol("POAddressLine2", func(l *accountingLine) string { return l.address[1] }),
	textCol("POAddressLine3", func(l *accountingLine) string { return l.address[2] }),
	textCol("POAddressLine4", func(l *accountingLine) string { return l.address[3] }),
	empty("POCity"), // billing_address is free text: it stays in the lines above
	empty("PORegion"),
	empty("POPostalCode"),
	empty("POCountry"),
	textCol("*InvoiceNumber", func(l *accountingLine) string { return l.row.Invoice.InvoiceNumber }),
	textCol("Reference", func(l *accountingLine) string { return l.reference }),
	numCol("*InvoiceDate", func(l *accountingLine) string { return dayFirst(l.row.Invoice.IssuedOn) }),
	numCol("*DueDate", func(l *accountingLine) string { return dayFirst(l.row.Invoice.DueOn) }),
	empty("InventoryItemCode"), // a code Xero does not know would create an inventory item
	textCol("*Description", func(l *accountingLine) string { return l.description }),
	numCol("*Quantity", func(l *accountingLine) string { return l.quantity }),
	numCol("*UnitAmount", func(l *accountingLine) string { return l.money(l.unitAmount) }),
	empty("Discount"),
	textCol("*AccountCode", func(l *accountingLine) string { return l.codes.XeroAccountCode }),
	textCol("*TaxType", func(l *accountingLine) string { return pick(l.taxed, l.codes.XeroTaxType, l.codes.XeroExemptTaxType) }),
	numCol("TaxAmount", func(l *accountingLine) string { return l.money(l.tax) }),
	empty("TrackingName1"),
	empty("TrackingOption1"),
	empty("TrackingName2"),
	empty("TrackingOption2"),
	textCol("Currency", func(l *accountingLine) string { return l.currency }),
	empty("BrandingTheme"),
}

// quickBooksColumns are the columns QuickBooks Online's invoice import
// recognises by name (each still shown on its mapping screen), in the order
// of its sample file. Sources:
//   - QuickBooks Online help, "Import invoices" (https://quickbooks.intuit.com/learn-support/en-us/help-article/import-export-data/import-invoices-quickbooks-online/L7uMJ0F8R_US_en_US
//     as public repositories cite it, with differing article ids), which
//     the search tool could not reach. The column names are taken from an
//     Intuit answer on the QuickBooks Community (https://quickbooks.intuit.com/learn-support/en-ca/sales-and-invoicing/do-we-need-to-map-field-everytime-when-import-invoices/01/394876:
//     Invoice number, Customer, Invoice date, Due date and Item Amount
//     required; Item tax code, Terms, Service Date, Item (Product/Service),
//     Item Description, Item Quantity, Item Rate, Memo mapped
//     automatically) and from public repositories that quote the sample
//     file's header (InvoiceNo, Customer, InvoiceDate, DueDate, Terms,
//     Location, Memo, Item(Product/Service), ItemDescription, ItemQuantity,
//     ItemRate, ItemAmount, ItemTaxCode, ItemTaxAmount, Currency).
//
// Dates are MM/DD/YYYY (SPEC §14; the importer asks for the file's date
// format). Rows of one invoice share its InvoiceNo.
var quickBooksColumns = []accountingColumn{
	textCol("InvoiceNo", func(l *accountingLine) string { return l.row.Invoice.InvoiceNumber }),
	textCol("Customer", func(l *accountingLine) string { return l.row.Contract.InvoiceName() }),
	numCol("InvoiceDate", func(l *accountingLine) string { return monthFirst(l.row.Invoice.IssuedOn) }),
	numCol("DueDate", func(l *accountingLine) string { return monthFirst(l.row.Invoice.DueOn) }),
	empty("Terms"), // a term's name must exist in QuickBooks; the due date says it
	empty("Location"),
	textCol("Memo", func(l *accountingLine) string { return l.reference }),
	textCol("Item(Product/Service)", func(l *accountingLine) string { return l.codes.QuickBooksItem }),
	textCol("ItemDescription", func(l *accountingLine) string { return l.description }),
	numCol("ItemQuantity", func(l *accountingLine) string { return l.quantity }),
	numCol("ItemRate", func(l *accountingLine) string { return l.money(l.unitAmount) }),
	numCol("ItemAmount", func(l *accountingLine) string { return l.money(l.line.Amount) }),
	textCol("ItemTaxCode", func(l *accountingLine) string {
		return pick(l.taxed, l.codes.QuickBooksTaxCode, l.codes.QuickBooksExemptTaxCode)
	}),
	numCol("ItemTaxAmount", func(l *accountingLine) string { return l.money(l.tax) }),
	textCol("Currency", func(l *accountingLine) string { return l.currency }),
}

// accountingLine is one invoice line with what its row in a file needs.
type accountingLine struct {
	row         *store.Row
	codes       AccountingCodes
	currency    string
	digits      int
	email       string
	address     [4]string
	reference   string
	taxed       bool
	line        billing.Line
	tax         billing.Money
	quantity    string
	unitAmount  billing.Money
	description string
}

func (l *accountingLine) money(m billing.Money) string { return m.Decimal(l.digits) }

// accountingLines lays out the lines of one invoice, each with its share of
// the invoice's frozen tax.
func accountingLines(r store.Row, codes AccountingCodes) []accountingLine {
	currency := r.Currency
	if currency == "" {
		currency = r.Invoice.Currency
	}
	currency = strings.ToUpper(currency)
	c := r.Contract
	base := accountingLine{
		row: &r, codes: codes, currency: currency, digits: billing.CurrencyDigits(currency),
		address: addressLines(c.BillingAddress), reference: r.Invoice.Period.Name(),
		taxed: r.Bill.TaxRate != 0 || r.Bill.Tax != 0,
	}
	if len(c.Contacts) > 0 {
		base.email = c.Contacts[0]
	}
	taxes := lineTaxes(r.Bill.Lines, r.Bill.Tax)
	out := make([]accountingLine, len(r.Bill.Lines))
	for i, ln := range r.Bill.Lines {
		l := base
		l.line, l.tax = ln, taxes[i]
		var exact bool
		l.quantity, l.unitAmount, exact = lineQuantity(ln)
		l.description = lineDescription(&l, r.Invoice.Period, exact)
		out[i] = l
	}
	return out
}

// lineQuantity returns the quantity and unit price an importer multiplies
// back into the line's amount exactly: the retainer fee is 1 × the fee; the
// overage is its hours (or sessions, to two decimals) × the rate when that
// product is exactly its amount, otherwise 1 × the amount (exact false).
func lineQuantity(l billing.Line) (quantity string, unit billing.Money, exact bool) {
	if l.Kind != billing.LineOverage || l.Seconds <= 0 {
		return "1", l.Amount, true
	}
	const hundredth = billing.SessionSeconds / 100 // seconds in 0.01 h
	if l.Seconds%hundredth == 0 {
		product := new(big.Int).Mul(big.NewInt(l.Seconds), big.NewInt(int64(l.UnitAmount)))
		amount, rest := new(big.Int).QuoRem(product, big.NewInt(billing.SessionSeconds), new(big.Int))
		if rest.Sign() == 0 && amount.IsInt64() && amount.Int64() == int64(l.Amount) {
			return trimmedHundredths(l.Seconds / hundredth), l.UnitAmount, true
		}
	}
	return "1", l.Amount, false
}

// lineDescription says what a line charges: the retainer fee of the month,
// or the overage with its exact quantity and rate (a duration such as
// 2h20m when the quantity column holds 1), and any late adjustments in it.
func lineDescription(l *accountingLine, p billing.Period, exact bool) string {
	c := l.row.Contract
	if l.line.Kind == billing.LineRetainer {
		s := "Retainer fee, " + p.Name()
		if c.Tier != "" {
			s += " (" + OneLine(c.Tier) + ")"
		}
		return s
	}
	u := l.line.Unit
	qty := billing.FormatQuantity(l.line.Seconds, u) + " " + UnitName(u)
	if !exact && u != billing.UnitSessions {
		qty = duration(l.line.Seconds)
	}
	s := fmt.Sprintf("Overage, %s: %s at %s/%s", p.Name(), qty, l.line.UnitAmount.Format(l.currency), singular(u))
	if l.line.LateAdjustment != 0 {
		s += fmt.Sprintf("; includes late adjustments from closed months: %s %s", signed(l.line.LateAdjustment, u), UnitName(u))
	}
	return s
}

// lineTaxes splits an invoice's tax over its lines in proportion to their
// amounts, so that the line taxes sum to it exactly (the largest remainder
// method): each line gets the whole minor units of its exact share, tax ×
// amount / subtotal, and the units left over go one each to the lines with
// the largest fractional remainders, the earlier line on a tie. Rounding
// each share on its own could miss the invoice's tax by a unit; the tax was
// rounded once, on the subtotal (SPEC §14). With no positive subtotal to
// share by (no line has an amount), the first line carries it all.
func lineTaxes(lines []billing.Line, tax billing.Money) []billing.Money {
	out := make([]billing.Money, len(lines))
	if len(lines) == 0 {
		return out
	}
	subtotal := new(big.Int)
	for _, l := range lines {
		if l.Amount < 0 {
			out[0] = tax
			return out
		}
		subtotal.Add(subtotal, big.NewInt(int64(l.Amount)))
	}
	if subtotal.Sign() == 0 {
		out[0] = tax
		return out
	}
	sign, t := int64(1), int64(tax)
	if t < 0 {
		sign, t = -1, -t
	}
	rests := make([]*big.Int, len(lines))
	left := t
	for i, l := range lines {
		share := new(big.Int).Mul(big.NewInt(t), big.NewInt(int64(l.Amount)))
		q, r := new(big.Int).QuoRem(share, subtotal, new(big.Int))
		out[i], rests[i] = billing.Money(q.Int64()), r
		left -= q.Int64()
	}
	// left < len(lines): each floor lost less than one unit.
	given := make([]bool, len(lines))
	for ; left > 0; left-- {
		best := -1
		for i := range lines {
			if !given[i] && (best < 0 || rests[i].Cmp(rests[best]) > 0) {
				best = i
			}
		}
		given[best] = true
		out[best]++
	}
	for i := range out {
		out[i] *= billing.Money(sign)
	}
	return out
}

// addressLines spreads a billing address over the four address lines of an
// import file; lines beyond the fourth join the fourth, comma-separated.
func addressLines(addr string) [4]string {
	var lines []string
	for _, s := range strings.Split(addr, "\n") {
		if s = OneLine(s); s != "" {
			lines = append(lines, s)
		}
	}
	var out [4]string
	for i, s := range lines {
		if i < 3 {
			out[i] = s
			continue
		}
		out[3] = strings.Join(lines[3:], ", ")
		break
	}
	return out
}

// dayFirst is a date as Xero reads it: DD/MM/YYYY.
func dayFirst(d billing.Date) string { return d.Time().Format("02/01/2006") }

// monthFirst is a date as QuickBooks Online reads it: MM/DD/YYYY.
func monthFirst(d billing.Date) string { return d.Time().Format("01/02/2006") }

// trimmedHundredths prints n/100 without trailing zeros: 250 → 2.5, 300 → 3.
func trimmedHundredths(n int64) string {
	s := strconv.FormatInt(n/100, 10)
	if frac := n % 100; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", frac), "0")
	}
	return s
}

// duration prints seconds as hours, minutes and seconds, as `retainer log`
// reads them: 2h20m, 1h07m, 45m, 1h00m05s.
func duration(secs int64) string {
	h, m, s := secs/3600, secs%3600/60, secs%60
	switch {
	case s != 0 && h != 0:
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	case s != 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	case h != 0 && m != 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	case h != 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dm", m)
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}

// FormulaSafe keeps a text cell from being read as a formula by a
// spreadsheet that opens the file before it is imported: one that starts
// with "=", "+", "-" or "@" (or a tab or carriage return) gets a leading
// apostrophe, which spreadsheets hide — the rule of every export's CSV.
func FormulaSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
