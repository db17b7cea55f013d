package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/unicode/norm"

	"retainer/billing"
	"retainer/store"
)

// The invoice's font: DejaVu Sans and DejaVu Sans Bold 2.37, cut down by
// fonts/subset.sh from Debian's fonts-dejavu-core to Latin, Greek,
// Cyrillic and a few symbols. Their licence (Bitstream Vera's and Arev's,
// fonts/LICENSE, also inside each font's name table) allows them to be
// redistributed with software and subset. A PDF drawn with them as UTF-8
// fonts embeds only the glyphs it uses; one drawn in Windows-1252 (see
// StatementPDF) the whole of their Windows-1252 cuts. What they lack (CJK, for one) is drawn
// with the fallback fonts (pdffonts.go); a character no font has is drawn
// as pdfPlaceholder and the render returns a warning (see pdfText).
var (
	//go:embed fonts/DejaVuSans.ttf
	dejaVuSans []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	dejaVuSansBold []byte
	// The same two faces cut down further to Windows-1252 (fonts/subset.sh):
	// the fonts a Windows-1252 PDF embeds whole, about 20 KB compressed each.
	//go:embed fonts/DejaVuSans-cp1252.ttf
	dejaVuSansCP1252 []byte
	//go:embed fonts/DejaVuSans-Bold-cp1252.ttf
	dejaVuSansBoldCP1252 []byte
)

const (
	pdfFamily = "DejaVu"
	// pdfPlaceholder stands for a character the font cannot show: the
	// white square readers know as "missing glyph".
	pdfPlaceholder = '□'
)

// Issuer is the agency as its invoices name it (config agency.*, SPEC §14).
type Issuer struct {
	Name    string
	Email   string
	Address string // lines separated by "\n"
	TaxID   string
	// PaymentInstructions is free text (bank details), lines separated by "\n".
	PaymentInstructions string
}

// PDFInput is what a statement's PDF invoice is rendered from: the
// statement's input (Data, Currency as the fallback when the statement
// names none, Issuer, with Agency as the issuer's name when Issuer has
// none, AsOf for an open period's preview and a draft's date) and the
// payment link.
type PDFInput struct {
	StatementInput // its PayURL is the "Pay now" link
	// Chart is the statement's burndown PNG (StatementChart) when the
	// caller has drawn it already; nil: it is drawn here.
	Chart []byte
	// Paper is "a4" (the default) or "letter" (config statements.paper).
	Paper string
	// Fonts are the fonts of config statements.pdf_fonts (LoadPDFFonts),
	// tried before the bundled fallback for what DejaVu Sans lacks.
	Fonts []*PDFFont
}

// Page geometry, in millimetres: the text is A4's width on both papers
// (Letter is 5.9 mm wider, 17.6 mm shorter).
const (
	pdfMargin = 18.0
	pdfWidth  = 210.0 - 2*pdfMargin // the text width
)

// pageHeight is the paper's height in millimetres, and fpdf's name for it.
func pageHeight(paper string) (float64, string) {
	if paper == PaperLetter {
		return 279.4, "Letter"
	}
	return 297, "A4"
}

// The papers a PDF invoice is drawn on.
const (
	PaperA4     = "a4"
	PaperLetter = "letter"
)

// StatementPDF renders a statement as an A4 PDF invoice: the agency and
// the client with their addresses and tax ids, the invoice number, dates
// and period, the invoice lines with subtotal, tax and total in the
// statement's currency, the Pay-now link, payment instructions, the
// period's hours and burndown chart, and the notes. Its text is real text
// (selectable, extractable) in the embedded DejaVu Sans. The same input
// gives the same bytes: the document's dates are the statement's, not the
// clock's.
//
// Characters DejaVu Sans has no glyph for (CJK, for one) are drawn with
// in.Fonts, then the bundled Droid Sans Fallback. warnings says what the
// PDF could not show as written: a character no font has, drawn as "□",
// or right-to-left text, which the PDF cannot lay out.
//
// An invoice whose text is all in Windows-1252 (Western European) is
// drawn with DejaVu Sans as simple fonts in that encoding, made once per
// process: about a quarter of the time of the UTF-8 fonts, for a larger
// file (the whole font is embedded, not the glyphs used).
func StatementPDF(in PDFInput) (pdf []byte, warnings []string, err error) {
	return statementPDF(in, true, false)
}

// statementPDF is StatementPDF; tryWinAnsi false draws with the UTF-8
// fonts whatever the text; fpdfDeflate has fpdf compress the streams
// itself (the same bytes: see deflatePDF).
func statementPDF(in PDFInput, tryWinAnsi, fpdfDeflate bool) (pdf []byte, warnings []string, err error) {
	if in.Data == nil || in.Data.Contract == nil {
		return nil, nil, fmt.Errorf("pdf: no statement")
	}
	// fpdf reports its failures through Error(); a panic inside it must
	// not take the daemon's render path down with it.
	defer func() {
		if r := recover(); r != nil {
			pdf, warnings, err = nil, nil, fmt.Errorf("pdf %s: %v", invoiceNumberOf(in.Data), r)
		}
	}()
	cov, err := pdfCoverage()
	if err != nil {
		return nil, nil, err
	}
	more, err := fallbacks(in.Fonts)
	if err != nil {
		return nil, nil, err
	}
	winAnsi, err := winAnsiFonts()
	if err != nil {
		return nil, nil, err
	}
	chart := in.Chart
	if chart == nil {
		if chart, err = StatementChartAt(in.Data, in.AsOf); err != nil {
			return nil, nil, err
		}
	}
	// Drawn with the Windows-1252 fonts first; a document with a
	// character they lack is drawn again with the UTF-8 fonts.
	var w *pdfWriter
	if tryWinAnsi {
		w = newPDFWriter(in, &pdfText{cov: cov, more: more}, &winAnsi)
		w.f.SetCompression(fpdfDeflate)
		w.render(chart)
		w.f.Close() // the last page's footer
	}
	if w == nil || w.other {
		w = newPDFWriter(in, &pdfText{cov: cov, more: more}, nil)
		w.f.SetCompression(fpdfDeflate)
		w.render(chart)
	}
	var buf bytes.Buffer
	if err := w.f.Output(&buf); err != nil {
		return nil, nil, fmt.Errorf("pdf %s: %w", invoiceNumberOf(in.Data), err)
	}
	if fpdfDeflate {
		return buf.Bytes(), w.text.warnings, nil
	}
	if pdf, err = deflatePDF(buf.Bytes()); err != nil {
		return nil, nil, fmt.Errorf("pdf %s: %w", invoiceNumberOf(in.Data), err)
	}
	return pdf, w.text.warnings, nil
}

func invoiceNumberOf(d *store.StatementData) string {
	return store.InvoiceNumber(d.Contract.ID, d.Figures.Period)
}

// pdfWriter lays out one invoice.
type pdfWriter struct {
	pageH    float64 // the paper's height, mm
	in       PDFInput
	f        *fpdf.Fpdf
	text     *pdfText
	style    string          // the current font's style and size (w.font)
	size     float64         //
	added    map[string]bool // fallback fonts added to this document, by family+style
	winAnsi  bool            // drawn with the Windows-1252 fonts (the fast path)
	other    bool            // winAnsi, and some text has a character they lack
	currency string
	bill     billing.Invoice
	number   string
	paid     bool
}

// newPDFWriter starts a document drawn with winAnsi, DejaVu Sans as
// Windows-1252 fonts, or with nil, the UTF-8 fonts.
func newPDFWriter(in PDFInput, text *pdfText, winAnsi *[2]winAnsiFont) *pdfWriter {
	d := in.Data
	if in.Issuer.Name == "" {
		in.Issuer.Name = in.Agency
	}
	// The invoice as the store froze it (an open period's: at the
	// contract's current rate); never recomputed from today's config.
	w := &pdfWriter{in: in, text: text, number: invoiceNumberOf(d), currency: in.statementCurrency(), bill: d.Bill}
	w.paid = d.Invoice != nil && d.Invoice.Status == store.StatusPaid

	var size string
	w.pageH, size = pageHeight(in.Paper)
	f := fpdf.New("P", "mm", size, "")
	f.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	f.SetAutoPageBreak(true, pdfMargin)
	f.SetCatalogSort(true) // resources in a fixed order: the same bytes every time
	created := w.documentDate().Time()
	f.SetCreationDate(created)
	f.SetModificationDate(created)
	if winAnsi != nil {
		w.winAnsi = true
		f.AddFontFromBytes(pdfFamily, "", winAnsi[0].def, winAnsi[0].z)
		f.AddFontFromBytes(pdfFamily, "B", winAnsi[1].def, winAnsi[1].z)
	} else {
		f.AddUTF8FontFromBytes(pdfFamily, "", dejaVuSans)
		f.AddUTF8FontFromBytes(pdfFamily, "B", dejaVuSansBold)
	}
	f.SetTitle("Invoice "+w.number, true)
	if in.Issuer.Name != "" {
		f.SetAuthor(in.Issuer.Name, true)
	}
	f.SetCreator("retainer", true)
	f.SetProducer("retainer", true)
	f.SetLang("en")
	f.SetFooterFunc(w.footer)
	w.f = f
	return w
}

// documentDate is the date the PDF says it was made: the issue date of an
// issued invoice; the as-of date of a draft or an open period's preview.
func (w *pdfWriter) documentDate() billing.Date {
	d := w.in.Data
	if d.Invoice != nil && d.Invoice.Status != store.StatusDraft {
		return d.Invoice.IssuedOn
	}
	if w.in.AsOf != 0 {
		return w.in.AsOf
	}
	return d.Figures.Period.LastDay()
}

func (w *pdfWriter) money(m billing.Money) string { return m.Format(w.currency) }

func (w *pdfWriter) qty(seconds int64) string {
	return billing.FormatQuantity(seconds, w.in.Data.Contract.Unit) + " " + UnitName(w.in.Data.Contract.Unit)
}

// Text styles.
func (w *pdfWriter) font(style string, size float64) {
	w.style, w.size = style, size
	w.f.SetFont(pdfFamily, style, size)
}

// useFont switches to font i of w.text's fallbacks (-1: DejaVu Sans) in
// the current style and size, adding it to the document the first time.
// A fallback font has one weight: its bold is the same drawing.
func (w *pdfWriter) useFont(i int) {
	if i < 0 {
		w.f.SetFont(pdfFamily, w.style, w.size)
		return
	}
	family := fmt.Sprintf("fallback%d", i)
	if key := family + w.style; !w.added[key] {
		if w.added == nil {
			w.added = map[string]bool{}
		}
		w.added[key] = true
		w.f.AddUTF8FontFromBytes(family, w.style, w.text.more[i].data)
	}
	w.f.SetFont(family, w.style, w.size)
}

// para draws s left-aligned in a box width wide from the current
// position, wrapping as MultiCell does; a text with characters of the
// fallback fonts is written run by run in its fonts.
func (w *pdfWriter) para(width, lh float64, s string) {
	f := w.f
	if w.winAnsi {
		f.MultiCell(width, lh, w.enc(s), "", "L", false)
		return
	}
	runs := w.text.runs(s)
	if len(runs) <= 1 && (len(runs) == 0 || runs[0].font < 0) {
		f.MultiCell(width, lh, s, "", "L", false)
		return
	}
	left, _, right, _ := f.GetMargins()
	x := f.GetX()
	pageW, _ := f.GetPageSize()
	f.SetLeftMargin(x)
	f.SetRightMargin(pageW - x - width)
	for _, r := range runs {
		w.useFont(r.font)
		f.Write(lh, r.text)
	}
	f.Ln(lh)
	f.SetLeftMargin(left)
	f.SetRightMargin(right)
	f.SetX(left)
	w.useFont(-1)
}

// cell draws one line of s, left-aligned, in a cell width wide, run by run
// in its fonts, and moves right past the cell.
func (w *pdfWriter) cell(width, h float64, s string) {
	f := w.f
	x := f.GetX()
	if w.winAnsi {
		s = w.enc(s)
		f.CellFormat(f.GetStringWidth(s), h, s, "", 0, "L", false, 0, "")
		f.SetX(x + width)
		return
	}
	for _, r := range w.text.runs(s) {
		w.useFont(r.font)
		f.CellFormat(f.GetStringWidth(r.text), h, r.text, "", 0, "L", false, 0, "")
	}
	w.useFont(-1)
	f.SetX(x + width)
}

// enc is s as the document's fonts encode it: unchanged for the UTF-8
// fonts; in Windows-1252 for the fast path, where a character it or
// DejaVu Sans lacks is written "?" and marks the document to be drawn
// again with the UTF-8 fonts.
func (w *pdfWriter) enc(s string) string {
	if !w.winAnsi {
		return s
	}
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s // ASCII: the same bytes
	}
	b := make([]byte, i, len(s))
	copy(b, s)
	for _, r := range s[i:] {
		c, ok := winAnsiByte(r)
		switch {
		case r == '\n':
			c = '\n'
		case !ok || !w.text.cov.has(r):
			c, w.other = '?', true
		}
		b = append(b, c)
	}
	return string(b)
}

// split breaks s into the lines MultiCell would draw it in width, as
// fpdf's SplitText does; on the fast path it measures each character by
// its Windows-1252 code, which SplitText cannot.
func (w *pdfWriter) split(s string, width float64) []string {
	f := w.f
	if !w.winAnsi {
		return f.SplitText(s, width)
	}
	_, size := f.GetFontSize()
	wmax := int(math.Ceil((width - 2*f.GetCellMargin()) * 1000 / size))
	rs := []rune(strings.TrimRight(s, "\n"))
	var lines []string
	sep, i, j, l := -1, 0, 0, 0
	for i < len(rs) {
		c := rs[i]
		l += f.GetStringSymbolWidth(w.enc(string(c)))
		if unicode.IsSpace(c) {
			sep = i
		}
		if c == '\n' || l > wmax {
			if sep == -1 {
				if i == j {
					i++
				}
				sep = i
			} else {
				i = sep + 1
			}
			lines = append(lines, string(rs[j:sep]))
			sep, j, l = -1, i, 0
		} else {
			i++
		}
	}
	if i != j {
		lines = append(lines, string(rs[j:i]))
	}
	return lines
}

func (w *pdfWriter) grey()  { w.f.SetTextColor(0x55, 0x5b, 0x66) }
func (w *pdfWriter) black() { w.f.SetTextColor(0x1a, 0x1d, 0x21) }

func (w *pdfWriter) render(chart []byte) {
	f := w.f
	f.AddPage()
	w.black()
	w.header()
	w.parties()
	w.banner()
	w.lines()
	w.payment()
	w.decisions()
	w.notes()
	w.hours()
	w.chart(chart)
}

// header: the agency on the left; "INVOICE" and its number and dates on
// the right.
func (w *pdfWriter) header() {
	f, is, d := w.f, w.in.Issuer, w.in.Data
	top := f.GetY()

	// The right column first: the title and the invoice's facts.
	const rx, rw = pdfMargin + 100, pdfWidth - 100
	title := "INVOICE"
	switch {
	case !d.Closed:
		title = "STATEMENT PREVIEW"
	case d.Invoice == nil:
		title = "STATEMENT"
	}
	f.SetXY(rx, top)
	w.font("B", 18)
	f.CellFormat(rw, 9, w.enc(title), "", 2, "R", false, 0, "")
	f.Ln(1)
	var facts [][2]string
	if d.Invoice != nil || d.Closed {
		facts = append(facts, [2]string{"Invoice number", w.number})
	}
	switch {
	case !d.Closed:
		facts = append(facts, [2]string{"As of", w.in.AsOf.String()})
	case d.Invoice == nil:
		facts = append(facts, [2]string{"Invoice", "none (before go-live)"})
	case d.Invoice.Status == store.StatusDraft:
		facts = append(facts, [2]string{"Issue date", "on approval"},
			[2]string{"Due", fmt.Sprintf("%d days after issue", d.Contract.PaymentTermsDays)})
	default:
		facts = append(facts, [2]string{"Issue date", d.Invoice.IssuedOn.String()},
			[2]string{"Due date", d.Invoice.DueOn.String()})
	}
	facts = append(facts, [2]string{"Period", d.Figures.Period.Name()})
	if w.paid && d.Invoice.PaidOn != nil {
		facts = append(facts, [2]string{"Paid", d.Invoice.PaidOn.String()})
	}
	for _, kv := range facts {
		f.SetX(rx)
		w.font("", 9)
		w.grey()
		f.CellFormat(rw-44, 5, w.enc(kv[0]), "", 0, "R", false, 0, "")
		w.font("B", 9)
		w.black()
		f.CellFormat(44, 5, w.enc(kv[1]), "", 1, "R", false, 0, "")
	}
	right := f.GetY()

	// The left column: who issues the invoice.
	f.SetXY(pdfMargin, top)
	const lw = 96
	if is.Name != "" {
		w.font("B", 14)
		w.para(lw, 7, w.text.line("agency name", is.Name))
	}
	w.font("", 9)
	if is.Address != "" {
		w.para(lw, 4.6, w.text.lines("agency address", is.Address))
	}
	if is.TaxID != "" {
		w.para(lw, 4.6, "Tax ID: "+w.text.line("agency tax id", is.TaxID))
	}
	if is.Email != "" {
		w.para(lw, 4.6, w.text.line("agency email", is.Email))
	}
	f.SetY(max(right, f.GetY()) + 7)
}

// parties: who the invoice is addressed to, and the contract.
func (w *pdfWriter) parties() {
	f, c := w.f, w.in.Data.Contract
	w.font("B", 8)
	w.grey()
	f.CellFormat(pdfWidth, 5, w.enc("BILL TO"), "", 1, "L", false, 0, "")
	w.black()
	w.font("B", 11)
	w.para(pdfWidth, 5.5, w.text.line("client billing name", c.InvoiceName()))
	w.font("", 9)
	if c.BillingAddress != "" {
		w.para(pdfWidth, 4.6, w.text.lines("client billing address", c.BillingAddress))
	}
	if c.TaxID != "" {
		w.para(pdfWidth, 4.6, "Tax ID: "+w.text.line("client tax id", c.TaxID))
	}
	f.Ln(2)
	w.grey()
	contract := "Contract " + w.text.line("contract id", c.ID)
	if c.Tier != "" {
		contract += " — " + w.text.line("contract tier", c.Tier)
	}
	if c.BillingName != "" && c.BillingName != c.Client {
		contract += " (" + w.text.line("client name", c.Client) + ")"
	}
	w.para(pdfWidth, 4.6, contract)
	w.black()
	f.Ln(4)
}

// banner says plainly when the document is not an invoice to pay: an
// open period's preview, a draft under review, a month before go-live.
func (w *pdfWriter) banner() {
	d := w.in.Data
	var msg string
	switch {
	case !d.Closed:
		msg = fmt.Sprintf("Preview: %s is still open; figures as of %s. This is not an invoice.", d.Figures.Period.Name(), w.in.AsOf)
	case d.Invoice == nil:
		msg = "This month was closed before go-live: figures only, not invoiced."
	case d.Invoice.Status == store.StatusDraft:
		msg = "DRAFT under review: not issued, not to be paid yet."
	default:
		return
	}
	f := w.f
	f.SetFillColor(0xfd, 0xf3, 0xd8)
	w.font("B", 9.5)
	f.MultiCell(pdfWidth, 6, w.enc(msg), "", "L", true)
	f.Ln(4)
}

// Invoice table columns: description, quantity, unit price, amount.
var pdfCols = [4]float64{84, 24, 33, 33}

// lines is the invoice table: one row per line, then subtotal, tax and
// total.
func (w *pdfWriter) lines() {
	f, d := w.f, w.in.Data
	c, fig := d.Contract, d.Figures
	f.SetFillColor(0xee, 0xf1, 0xf5)
	f.SetDrawColor(0xc9, 0xcf, 0xd8)
	w.font("B", 8.5)
	for i, h := range []string{"Description", "Quantity", "Unit price", "Amount"} {
		align := "R"
		if i == 0 {
			align = "L"
		}
		f.CellFormat(pdfCols[i], 7, w.enc(h), "B", 0, align, true, 0, "")
	}
	f.Ln(-1)
	w.font("", 9.5)
	for _, l := range w.bill.Lines {
		switch l.Kind {
		case billing.LineRetainer:
			w.row("Retainer fee, "+fig.Period.Name(), "", "1", w.money(l.UnitAmount), w.money(l.Amount))
		case billing.LineOverage:
			desc := "Overage beyond the " + w.qty(fig.Available) + " available"
			sub := ""
			if l.LateAdjustment != 0 {
				sub = "incl. late adjustments " + signed(l.LateAdjustment, l.Unit) + " " + UnitName(l.Unit)
			}
			w.row(desc, sub, w.qty(l.Seconds), w.money(l.UnitAmount)+"/"+singular(l.Unit), w.money(l.Amount))
		default:
			w.row(string(l.Kind), "", "", w.money(l.UnitAmount), w.money(l.Amount))
		}
	}
	if len(w.bill.Lines) == 0 {
		w.row("Nothing to invoice this month", "", "", "", w.money(0))
	}
	if fig.Overage > 0 && !c.OverageBillable {
		w.grey()
		w.font("", 8.5)
		f.MultiCell(pdfWidth, 5, w.enc(fmt.Sprintf("Overage of %s is not billable under this contract.", w.qty(fig.Overage))), "", "L", false)
		w.black()
	}
	f.Ln(2)
	lx := pdfMargin + pdfCols[0] + pdfCols[1]
	total := func(label, amount string, bold bool, border string) {
		f.SetX(lx)
		style := ""
		if bold {
			style = "B"
		}
		w.font(style, 9.5)
		f.CellFormat(pdfCols[2], 6.5, w.enc(label), border, 0, "R", false, 0, "")
		f.CellFormat(pdfCols[3], 6.5, w.enc(amount), border, 1, "R", false, 0, "")
	}
	total("Subtotal", w.money(w.bill.Subtotal), false, "")
	total("Tax ("+w.bill.TaxRate.String()+"%)", w.money(w.bill.Tax), false, "")
	label := "Total due"
	if !d.Closed || d.Invoice == nil {
		label = "Total"
	}
	total(label, w.money(w.bill.Total), true, "T")
	f.Ln(4)
}

// row draws one invoice line; desc may wrap, sub is a smaller second line
// under it.
func (w *pdfWriter) row(desc, sub, qty, unit, amount string) {
	f := w.f
	const lh = 5.2
	w.font("", 9.5)
	descLines := w.split(desc, pdfCols[0]-2)
	h := float64(len(descLines)) * lh
	if sub != "" {
		h += 4.2
	}
	for _, s := range []string{unit, amount} {
		if n := len(w.split(s, pdfCols[2]-2)); float64(n)*lh > h {
			h = float64(n) * lh
		}
	}
	h += 2
	if f.GetY()+h > w.pageH-pdfMargin {
		f.AddPage()
	}
	x, y := f.GetX(), f.GetY()+1
	f.SetXY(x, y)
	f.MultiCell(pdfCols[0], lh, w.enc(strings.Join(descLines, "\n")), "", "L", false)
	if sub != "" {
		w.grey()
		w.font("", 8)
		f.SetX(x)
		f.MultiCell(pdfCols[0], 4.2, w.enc(sub), "", "L", false)
		w.black()
		w.font("", 9.5)
	}
	cx := x + pdfCols[0]
	for i, s := range []string{qty, unit, amount} {
		f.SetXY(cx, y)
		f.MultiCell(pdfCols[i+1], lh, w.enc(s), "", "R", false)
		cx += pdfCols[i+1]
	}
	f.SetXY(x, y-1+h)
	f.Line(x, f.GetY(), x+pdfWidth, f.GetY())
}

// payment: the Pay-now link, the agency's payment instructions, what to
// pay by when.
func (w *pdfWriter) payment() {
	f, d, is := w.f, w.in.Data, w.in.Issuer
	issued := d.Invoice != nil && d.Invoice.Status != store.StatusDraft
	if w.in.PayURL != "" && issued && !w.paid {
		url := w.text.line("payment link", w.in.PayURL)
		f.SetFillColor(0x1f, 0x4e, 0x8c)
		f.SetTextColor(0xff, 0xff, 0xff)
		w.font("B", 11)
		f.CellFormat(40, 9, w.enc("Pay now"), "", 0, "C", true, 0, url)
		w.black()
		w.font("", 8)
		y := f.GetY()
		f.SetXY(pdfMargin+44, y+2.5)
		f.SetTextColor(0x1f, 0x4e, 0x8c)
		f.MultiCell(pdfWidth-44, 4, w.enc(url), "", "L", false)
		f.LinkString(pdfMargin+44, y, pdfWidth-44, max(f.GetY()-y, 4), url)
		w.black()
		f.SetY(max(f.GetY(), y+9) + 4)
	}
	if is.PaymentInstructions == "" && !issued {
		return
	}
	w.heading("Payment")
	w.font("", 9.5)
	if issued && !w.paid {
		f.MultiCell(pdfWidth, 5, w.enc(fmt.Sprintf("Please pay %s by %s, quoting invoice %s.",
			w.money(w.bill.Total), d.Invoice.DueOn, w.number)), "", "L", false)
	}
	if w.paid {
		f.MultiCell(pdfWidth, 5, w.enc(fmt.Sprintf("Paid on %s. Thank you.", d.Invoice.PaidOn)), "", "L", false)
	}
	if is.PaymentInstructions != "" && !w.paid {
		f.Ln(1)
		w.para(pdfWidth, 5, w.text.lines("payment instructions", is.PaymentInstructions))
	}
	f.Ln(3)
}

func (w *pdfWriter) heading(s string) {
	f := w.f
	if f.GetY()+16 > w.pageH-pdfMargin {
		f.AddPage()
	}
	w.font("B", 10.5)
	w.black()
	f.CellFormat(pdfWidth, 7, w.enc(s), "", 1, "L", false, 0, "")
}

// hours is the period's burn tracker row, and its rollover.
func (w *pdfWriter) hours() {
	f, d := w.f, w.in.Data
	fig, u := d.Figures, d.Contract.Unit
	q := func(s int64) string { return billing.FormatQuantity(s, u) }
	title := "Hours this month"
	if u == billing.UnitSessions {
		title = "Sessions this month"
	}
	w.heading(title)
	cells := [][2]string{
		{"Contracted", q(fig.Contracted)}, {"Rollover in", q(fig.Banked)}, {"Available", q(fig.Available)},
		{"Used", q(fig.Used)}, {"Remaining", q(fig.Remaining)}, {"Overage", q(fig.Overage)},
	}
	cw := pdfWidth / float64(len(cells))
	f.SetFillColor(0xf5, 0xf7, 0xfa)
	w.font("", 8)
	w.grey()
	for _, c := range cells {
		f.CellFormat(cw, 5.5, w.enc(c[0]), "", 0, "C", true, 0, "")
	}
	f.Ln(-1)
	w.font("B", 10.5)
	w.black()
	for _, c := range cells {
		f.CellFormat(cw, 7, w.enc(c[1]), "", 0, "C", true, 0, "")
	}
	f.Ln(-1)
	w.font("", 8.5)
	w.grey()
	var more []string
	if fig.LateAdjustment != 0 {
		more = append(more, "Used includes late adjustments of "+signed(fig.LateAdjustment, u)+" (entries changed in closed months).")
	}
	if d.Closed {
		more = append(more, "Carried forward to next month: "+w.qty(fig.RolloverOut)+".")
		if fig.Forfeited > 0 {
			more = append(more, "Over the rollover cap: "+w.qty(fig.Forfeited)+".")
		}
		if fig.Expired > 0 {
			more = append(more, "Expired: "+w.qty(fig.Expired)+".")
		}
	} else {
		more = append(more, "Projected by the end of the month: "+w.qty(fig.Projected)+".")
	}
	f.Ln(1)
	f.MultiCell(pdfWidth, 4.4, w.enc(strings.Join(more, " ")), "", "L", false)
	w.black()
	f.Ln(2)
}

// chart places the burndown PNG across the text width, or smaller and
// centred to finish the page (down to 11/20 of its size: its labels stay
// legible), or on a new page.
func (w *pdfWriter) chart(png []byte) {
	f := w.f
	h := pdfWidth * chartHeight / chartWidth
	room := w.pageH - pdfMargin - f.GetY() - 2
	switch {
	case room < h*11/20:
		f.AddPage()
	case room < h:
		h = room
	}
	cw := h * chartWidth / chartHeight
	opt := fpdf.ImageOptions{ImageType: "PNG"}
	f.RegisterImageOptionsReader("burndown", opt, bytes.NewReader(png))
	f.ImageOptions("burndown", pdfMargin+(pdfWidth-cw)/2, f.GetY(), cw, h, true, opt, 0, "")
}

// decisions lists the client's decisions of the month (SPEC §12):
// "Overage up to 10.00 hours approved on 2026-11-18".
func (w *pdfWriter) decisions() {
	ds := Decisions(w.in.Data.Decisions, w.in.Data.Contract)
	if len(ds) == 0 {
		return
	}
	w.heading("Client decisions")
	w.font("", 9.5)
	for _, d := range ds {
		text := d.Text
		if d.Message != "" {
			text += ": “" + w.text.line("decision message", d.Message) + "”"
		}
		w.para(pdfWidth, 5, text)
	}
	w.f.Ln(3)
}

func (w *pdfWriter) notes() {
	note := w.in.Data.Note
	if strings.TrimSpace(note) == "" {
		return
	}
	w.heading("Notes")
	w.font("", 9.5)
	w.para(pdfWidth, 5, w.text.lines("note", note))
	w.f.Ln(3)
}

func (w *pdfWriter) footer() {
	f := w.f
	f.SetY(-12)
	w.font("", 7.5)
	w.grey()
	left := w.number
	if w.in.Issuer.Name != "" {
		left = w.text.line("agency name", w.in.Issuer.Name) + " · " + left
	}
	w.cell(pdfWidth/2, 4, left)
	f.CellFormat(pdfWidth/2, 4, w.enc(fmt.Sprintf("Page %d", f.PageNo())), "", 0, "R", false, 0, "")
	w.black()
}

// ---- text the font can show ----

// coverage is the set of BMP characters both embedded fonts have a glyph
// for.
type coverage [0x10000 / 64]uint64

func (c *coverage) has(r rune) bool { return r >= 0 && r < 0x10000 && c[r/64]&(1<<(r%64)) != 0 }

// pdfCoverage reads the embedded fonts' character maps once.
var pdfCoverage = sync.OnceValues(func() (*coverage, error) {
	var cov coverage
	for i := range cov {
		cov[i] = ^uint64(0)
	}
	for name, data := range map[string][]byte{"DejaVuSans.ttf": dejaVuSans, "DejaVuSans-Bold.ttf": dejaVuSansBold} {
		font, err := sfnt.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("pdf font %s: %w", name, err)
		}
		var buf sfnt.Buffer
		for r := rune(0); r < 0x10000; r++ {
			if gi, err := font.GlyphIndex(&buf, r); err != nil || gi == 0 {
				cov[r/64] &^= 1 << (r % 64)
			}
		}
	}
	return &cov, nil
})

// pdfText turns the config's and the store's text into what the PDF can
// draw, and notes what it had to change.
type pdfText struct {
	cov      *coverage  // DejaVu Sans
	more     []*PDFFont // the fallback fonts, in order
	warnings []string
	warned   map[string]bool
}

// line is s on one line.
func (t *pdfText) line(what, s string) string { return t.show(what, s, false) }

// lines is s with its line breaks.
func (t *pdfText) lines(what, s string) string { return t.show(what, s, true) }

// rtl reports whether r is written right to left: fpdf lays text out left
// to right, without Arabic shaping.
func rtl(r rune) bool {
	return unicode.In(r, unicode.Hebrew, unicode.Arabic, unicode.Syriac, unicode.Thaana, unicode.Nko)
}

// drawable reports whether DejaVu Sans can draw r as it is.
func (t *pdfText) drawable(r rune) bool { return t.cov.has(r) && !rtl(r) }

// fontOf is the font r is drawn in: -1 for DejaVu Sans (also for line
// breaks and spaces, and for what no font has: the placeholder), else the
// index of the first fallback font that has it.
func (t *pdfText) fontOf(r rune) int {
	if r == '\n' || r == ' ' || t.drawable(r) {
		return -1
	}
	for i, f := range t.more {
		if f.cov.has(r) {
			return i
		}
	}
	return -1
}

// show composes s (NFC), drops invisible format characters, turns control
// characters into spaces (keeping line breaks when multiline), writes a
// character DejaVu Sans lacks as its compatibility form when that one can
// be drawn (full-width Ａ as A), else keeps it when a fallback font has it,
// and writes any other as pdfPlaceholder, with a warning naming the field.
func (t *pdfText) show(what, s string, multiline bool) string {
	s = norm.NFC.String(s)
	if multiline {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	}
	var b strings.Builder
	var missing, folded []rune
	for _, r := range s {
		switch {
		case r == '\n' && multiline:
			b.WriteRune(r)
		case r == utf8.RuneError, unicode.Is(unicode.Cf, r):
			// invisible: zero-width joiners, direction marks, BOMs
		case unicode.IsControl(r), unicode.IsSpace(r):
			b.WriteByte(' ')
		case t.drawable(r):
			b.WriteRune(r)
		default:
			if alt := t.fold(r); alt != "" {
				b.WriteString(alt)
				folded = append(folded, r)
				continue
			}
			if !rtl(r) && t.fontOf(r) >= 0 {
				b.WriteRune(r)
				continue
			}
			b.WriteRune(pdfPlaceholder)
			missing = append(missing, r)
		}
	}
	out := b.String()
	if len(missing) > 0 {
		t.warn(fmt.Sprintf("%s %q: no font of the PDF can show %d of its characters (%s); they are drawn as %c — add a TrueType font that has them to statements.pdf_fonts, or write it in other letters",
			what, s, len(missing), sample(missing), pdfPlaceholder))
	} else if len(folded) > 0 {
		t.warn(fmt.Sprintf("%s %q: written as %q in the PDF (its font has no glyph for %s)", what, s, out, sample(folded)))
	}
	return out
}

// pdfRun is a stretch of text drawn in one font.
type pdfRun struct {
	font int // as fontOf
	text string
}

// runs splits s into stretches of one font each.
func (t *pdfText) runs(s string) []pdfRun {
	var out []pdfRun
	for _, r := range s {
		f := t.fontOf(r)
		if (r == ' ' || r == '\n') && len(out) > 0 {
			f = out[len(out)-1].font // a space stays in the run it is in
		}
		if len(out) == 0 || out[len(out)-1].font != f {
			out = append(out, pdfRun{font: f})
		}
		out[len(out)-1].text += string(r)
	}
	return out
}

// fold is r's compatibility decomposition without its marks when every
// character of it can be drawn in DejaVu Sans; "" otherwise.
func (t *pdfText) fold(r rune) string {
	var b strings.Builder
	for _, d := range norm.NFKD.String(string(r)) {
		if unicode.Is(unicode.Mn, d) {
			continue
		}
		if !t.drawable(d) {
			return ""
		}
		b.WriteRune(d)
	}
	if b.Len() == 0 {
		return ""
	}
	return norm.NFC.String(b.String())
}

func (t *pdfText) warn(msg string) {
	if t.warned == nil {
		t.warned = map[string]bool{}
	}
	if !t.warned[msg] {
		t.warned[msg] = true
		t.warnings = append(t.warnings, msg)
	}
}

// sample lists the first few distinct runes of rs: "株, 式, 会, …".
func sample(rs []rune) string {
	var out []string
	seen := map[rune]bool{}
	for _, r := range rs {
		if seen[r] {
			continue
		}
		seen[r] = true
		if len(out) == 3 {
			out = append(out, "…")
			break
		}
		out = append(out, fmt.Sprintf("%c U+%04X", r, r))
	}
	return strings.Join(out, ", ")
}
