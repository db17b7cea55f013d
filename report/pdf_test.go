package report_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/report"
	"retainer/store"
	"retainer/store/storetest"
)

// pdfText extracts the text of a PDF as a reader's text tool does:
// pdftotext (Debian's poppler-utils, which .ci/run installs), with its
// layout kept so that a line of the invoice is a line of the text.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext is needed to read the PDF's text: apt-get install poppler-utils (.ci/run does)")
	}
	path := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	// Trailing spaces and the form feed at each page's end say nothing.
	text := regexp.MustCompile(`(?m)[ \t]+$`).ReplaceAllString(string(out), "")
	return strings.ReplaceAll(text, "\f", "")
}

var northwind = report.Issuer{
	Name: "Northwind Studio", Email: "billing@northwind.example",
	Address: "12 Harbour Lane\nBristol BS1 4DJ\nUnited Kingdom", TaxID: "GB 123 4567 89",
	PaymentInstructions: "Bank transfer to Northwind Studio Ltd\nIBAN GB33 BUKB 2020 1555 5555 55, BIC BUKBGB22",
}

// invoiceFixture closes February 2026 for one contract c that used the
// given hours in it, and returns its statement data.
func invoiceFixture(t testing.TB, c *billing.Contract, currency string, hours int64, note string) *store.StatementData {
	t.Helper()
	ctx := context.Background()
	rules := store.NewRules([]*billing.Contract{c})
	db := storetest.Open(t)
	now := time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)
	if err := db.AddEntries(ctx, rules, []store.Entry{
		{Source: "log", Client: c.Client, Date: storetest.Date("2026-02-03"), Seconds: storetest.H(hours) - 1800, Billable: true},
		{Source: "log", Client: c.Client, Date: storetest.Date("2026-02-24"), Seconds: 1800, Billable: true},
	}, now); err != nil {
		t.Fatal(err)
	}
	if note != "" {
		if err := db.SetNote(ctx, c.ID, storetest.Per("2026-02"), note, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ClosePeriod(ctx, rules, storetest.Per("2026-02"), currency, time.UTC, now); err != nil {
		t.Fatal(err)
	}
	d, err := db.StatementFor(ctx, rules, c.ID, storetest.Per("2026-02"), storetest.Date("2026-03-01"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// taxedAcme is SPEC §4's Acme with invoice details and 20% tax.
func taxedAcme() *billing.Contract {
	c := storetest.Acme()
	c.Tier = "Growth Retainer"
	c.BillingName = "Acme Corporation Ltd"
	c.BillingAddress = "1 Acme Way\nSpringfield 12345\nUSA"
	c.TaxID = "US-99-1234567"
	c.TaxRate = 20 * billing.TaxRateScale
	c.Start = storetest.Ptr(storetest.Per("2026-02")) // nothing banked: 40 h available
	return c
}

func renderPDF(t *testing.T, in report.PDFInput) ([]byte, []string) {
	t.Helper()
	pdf, warnings, err := report.StatementPDF(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", pdf[:min(len(pdf), 16)])
	}
	return pdf, warnings
}

// The invoice's text as a PDF reader extracts it: agency and client with
// addresses and tax ids, number and dates, each line with its exact
// amount, subtotal, tax with its rate, the total, the Pay-now link,
// payment instructions, the hours and the note.
func TestStatementPDFGolden(t *testing.T) {
	d := invoiceFixture(t, taxedAcme(), "USD", 42, "Launch month: extra QA requested.\nThanks for the quick approvals.")
	pdf, warnings := renderPDF(t, report.PDFInput{StatementInput: report.StatementInput{Data: d, Issuer: northwind, Currency: "USD", AsOf: storetest.Date("2026-03-01"), PayURL: "https://pay.example/i/acme-001-2026-02"}})
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	text := pdfText(t, pdf)
	storetest.Golden(t, "invoice-closed-feb.pdf.txt", text)
	// What SPEC §14 says a text extractor reads, independently of layout:
	// 2 h over 40 h at USD 175.00/h is USD 350.00; 20% of USD 5,350.00.
	for _, want := range []string{
		"acme-001-2026-02", "Retainer fee, February 2026", "USD 5,000.00", "2.00 h", "USD 175.00/h", "USD 350.00",
		"Subtotal", "USD 5,350.00", "Tax (20%)", "USD 1,070.00", "Total due", "USD 6,420.00",
		"Acme Corporation Ltd", "US-99-1234567", "GB 123 4567 89", "Pay now", "https://pay.example/i/acme-001-2026-02",
		"IBAN GB33", "Launch month", "2026-03-16",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	// The link is an annotation a reader clicks, not only text.
	if !bytes.Contains(pdf, []byte("/URI (https://pay.example/i/acme-001-2026-02)")) {
		t.Error("no link annotation for Pay now")
	}
	// The same statement gives the same bytes: nothing reads the clock.
	again, _ := renderPDF(t, report.PDFInput{StatementInput: report.StatementInput{Data: d, Issuer: northwind, Currency: "USD", AsOf: storetest.Date("2026-03-01"), PayURL: "https://pay.example/i/acme-001-2026-02"}})
	if !bytes.Equal(pdf, again) {
		t.Error("two renders of one statement differ")
	}
	if !bytes.Contains(pdf, []byte("/CreationDate (D:20260301000000)")) {
		t.Error("the creation date is not the issue date")
	}
	if dir := os.Getenv("PDF_OUT"); dir != "" { // to look at it: PDF_OUT=/tmp go test -run PDFGolden
		if err := os.WriteFile(filepath.Join(dir, "invoice.pdf"), pdf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// JPY has no minor unit: amounts without decimals, tax rounded to the yen.
func TestStatementPDFYen(t *testing.T) {
	c := taxedAcme()
	c.Currency = "JPY"
	c.Terms.MonthlyFee, c.Terms.OverageRate = 500000, 17500 // ¥500,000 and ¥17,500/h
	c.TaxRate = 10 * billing.TaxRateScale
	d := invoiceFixture(t, c, "USD", 41, "")
	pdf, _ := renderPDF(t, report.PDFInput{StatementInput: report.StatementInput{Data: d, Issuer: northwind, Currency: "USD", AsOf: storetest.Date("2026-03-01")}})
	text := pdfText(t, pdf)
	for _, want := range []string{"JPY 500,000", "JPY 17,500/h", "JPY 517,500", "Tax (10%)", "JPY 51,750", "JPY 569,250"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "USD") || regexp.MustCompile(`JPY [\d,]+\.\d`).MatchString(text) {
		t.Errorf("yen shown with decimals or in the config's currency:\n%s", text)
	}
}

// Accented Latin, Greek and Cyrillic names are drawn as written in DejaVu
// Sans; Chinese, Japanese and Korean in the bundled fallback font, also
// mixed with Latin in one line; a character no font has (an emoji) is
// drawn as □ with a warning that names the field.
func TestStatementPDFUnicodeNames(t *testing.T) {
	tests := []struct {
		name, billingName, address string
		want                       []string
		warn                       string // "" = none
	}{
		{"accented and Cyrillic", "Société Générale — Ёлка Дизайн ООО", "Straße 5, Zürich\nул. Льва Толстого, 16, Москва",
			[]string{"Société Générale — Ёлка Дизайн ООО", "Straße 5, Zürich", "ул. Льва Толстого, 16, Москва"}, ""},
		{"Greek", "Αθηνά Σύμβουλοι Α.Ε.", "", []string{"Αθηνά Σύμβουλοι Α.Ε."}, ""},
		{"decomposed accents are composed", "Cafe\u0301 Mu\u0308ller", "", []string{"Café Müller"}, ""},
		{"full-width Latin is folded", "ＡＣＭＥ Japan", "", []string{"ACME Japan"}, `written as "ACME Japan"`},
		{"Japanese", "株式会社アクメ", "東京都千代田区1-2-3", []string{"株式会社アクメ", "東京都千代田区1-2-3"}, ""},
		{"Chinese and Korean", "北京设计有限公司", "서울특별시 강남구 테헤란로 152", []string{"北京设计有限公司", "서울특별시 강남구 테헤란로 152"}, ""},
		{"CJK mixed with Latin and Cyrillic", "Акме 株式会社 (Tokyo)", "Straße 5\n大阪市北区 2-4", []string{"Акме 株式会社 (Tokyo)", "Straße 5", "大阪市北区 2-4"}, ""},
		{"no font has it", "Acme 😀 Studio", "", []string{"Acme □ Studio"},
			`client billing name "Acme 😀 Studio": no font of the PDF can show 1 of its characters (😀 U+1F600)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := taxedAcme()
			c.BillingName, c.BillingAddress = tt.billingName, tt.address
			d := invoiceFixture(t, c, "USD", 40, "")
			pdf, warnings := renderPDF(t, report.PDFInput{StatementInput: report.StatementInput{Data: d, Issuer: northwind, Currency: "USD", AsOf: storetest.Date("2026-03-01")}})
			text := pdfText(t, pdf)
			for _, want := range tt.want {
				if !strings.Contains(text, want) {
					t.Errorf("PDF text lacks %q:\n%s", want, text)
				}
			}
			switch {
			case tt.warn == "" && len(warnings) > 0:
				t.Errorf("unexpected warnings: %q", warnings)
			case tt.warn != "" && !strings.Contains(strings.Join(warnings, "\n"), tt.warn):
				t.Errorf("warnings %q lack %q", warnings, tt.warn)
			}
		})
	}
}

// A preview of an open period and a draft under review say they are not
// invoices to pay, and carry no Pay-now link.
func TestStatementPDFNotPayable(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
	ctx := context.Background()
	open, err := db.StatementFor(ctx, rules, "acme-001", storetest.Per("2026-03"), storetest.Date("2026-03-18"))
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := renderPDF(t, report.PDFInput{StatementInput: report.StatementInput{Data: open, Issuer: northwind, Currency: "USD", AsOf: storetest.Date("2026-03-18"), PayURL: "https://pay.example/x"}})
	text := pdfText(t, pdf)
	for _, want := range []string{"STATEMENT PREVIEW", "March 2026 is still open", "This is not an invoice", "Projected by the end of the month"} {
		if !strings.Contains(text, want) {
			t.Errorf("open period's PDF lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Pay now") || strings.Contains(text, "Total due") {
		t.Errorf("an open period's preview asks for payment:\n%s", text)
	}

	draft := invoiceFixture(t, taxedAcme(), "USD", 40, "")
	draft.Invoice.Status = store.StatusDraft
	pdf, _ = renderPDF(t, report.PDFInput{StatementInput: report.StatementInput{Data: draft, Issuer: northwind, Currency: "USD", AsOf: storetest.Date("2026-03-01"), PayURL: "https://pay.example/x"}})
	text = pdfText(t, pdf)
	if !strings.Contains(text, "DRAFT under review") || strings.Contains(text, "Pay now") || strings.Contains(text, "Please pay") {
		t.Errorf("a draft's PDF:\n%s", text)
	}
}

// statements.paper: letter draws the invoice on US Letter, a4 (the
// default) on A4; pdfinfo (poppler-utils) reads the page size.
func TestStatementPDFPaper(t *testing.T) {
	d := invoiceFixture(t, taxedAcme(), "USD", 42, "")
	for _, tc := range []struct{ paper, want string }{
		{"", "595.28 x 841.89 pts (A4)"},
		{report.PaperA4, "595.28 x 841.89 pts (A4)"},
		{report.PaperLetter, "612 x 792 pts (letter)"},
	} {
		pdf, _ := renderPDF(t, report.PDFInput{StatementInput: report.StatementInput{Data: d, Issuer: northwind, Currency: "USD",
			AsOf: storetest.Date("2026-03-01")}, Paper: tc.paper})
		path := filepath.Join(t.TempDir(), "invoice.pdf")
		if err := os.WriteFile(path, pdf, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("pdfinfo", path).CombinedOutput()
		if err != nil {
			t.Fatalf("pdfinfo (poppler-utils, which .ci/run installs): %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "Page size:       "+tc.want) {
			t.Errorf("paper %q:\n%s", tc.paper, out)
		}
		if text := pdfText(t, pdf); !strings.Contains(text, "6,420.00") {
			t.Errorf("paper %q: the total is missing:\n%s", tc.paper, text)
		}
	}
}
