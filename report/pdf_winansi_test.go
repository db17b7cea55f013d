package report_test

import (
	"bytes"
	"strings"
	"testing"

	"retainer/report"
	"retainer/store/storetest"
)

// An invoice whose every character is in Windows-1252 is drawn with
// DejaVu Sans as simple fonts in that encoding (pdffonts names them by
// their PostScript names); any other (Cyrillic, Greek, CJK, a character
// no font has) with the UTF-8 fonts. Both read the same through
// pdftotext as the UTF-8 rendering of the same statement, with the same
// warnings, and render to the same bytes twice.
func TestStatementPDFWinAnsiPath(t *testing.T) {
	winAnsi := []string{"DejaVuSans", "DejaVuSans-Bold"}
	utf8 := []string{"utf8dejavu", "utf8dejavuB"}
	tests := []struct {
		name, billingName, address, note string
		want                             []string
	}{
		{"Latin", "Acme Corporation Ltd", "1 Acme Way\nSpringfield 12345\nUSA", "", winAnsi},
		{"Western European accents and punctuation",
			"Société Générale — Œuvre & Fils “Müller”", "Straße 5, Zürich\nÅsgatan 3, Göteborg",
			"Coût : 1 200 € ‰ • … ½ × ÷ ƒ ˆ ˜ Š š Ž ž Ÿ ‹›\nNBSP\u00a0kept, soft\u00adhyphen", winAnsi},
		{"decomposed accents compose into Windows-1252", "Cafe\u0301 Mu\u0308ller", "", "", winAnsi},
		{"full-width Latin folds into Windows-1252", "ＡＣＭＥ Japan", "", "", winAnsi},
		{"Cyrillic", "Ёлка Дизайн ООО", "ул. Льва Толстого, 16, Москва", "", utf8},
		{"Greek in a note only", "Acme Corporation Ltd", "", "Ευχαριστούμε", utf8},
		{"Latin Extended-A, not in Windows-1252", "Łódź Studio Sp. z o.o.", "", "", utf8},
		{"a sign outside Windows-1252", "Acme Corporation Ltd", "", "Paid ₹ 100 → done", utf8},
		{"Japanese", "株式会社アクメ", "", "", []string{"utf8dejavu", "utf8dejavuB", "utf8fallback0B"}},
		{"no font has it: the placeholder", "Acme 😀 Studio", "", "", utf8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := taxedAcme()
			c.BillingName, c.BillingAddress = tt.billingName, tt.address
			d := invoiceFixture(t, c, "EUR", 45, tt.note)
			in := report.PDFInput{StatementInput: report.StatementInput{Data: d, Issuer: northwind, Currency: "EUR",
				AsOf: storetest.Date("2026-03-01"), PayURL: "https://pay.example/i/acme-001-2026-02"}}
			pdf, warnings := renderPDF(t, in)
			if got := pdfFonts(t, pdf); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("fonts %q, want %q", got, tt.want)
			}
			ref, refWarnings, err := report.StatementPDFUTF8(in)
			if err != nil {
				t.Fatal(err)
			}
			if got := pdfFonts(t, ref); tt.want[0] == winAnsi[0] && strings.Join(got, " ") != strings.Join(utf8, " ") {
				t.Errorf("the reference's fonts %q, want %q", got, utf8)
			}
			text, refText := pdfText(t, pdf), pdfText(t, ref)
			if text != refText {
				t.Errorf("text differs from the UTF-8 rendering's:\n%s\nwant:\n%s", text, refText)
			}
			if strings.Join(warnings, "\n") != strings.Join(refWarnings, "\n") {
				t.Errorf("warnings %q, the UTF-8 rendering's %q", warnings, refWarnings)
			}
			for _, s := range []string{"Invoice number", "EUR 7,050.00", "Pay now", "Total due"} {
				if !strings.Contains(text, s) {
					t.Errorf("text lacks %q:\n%s", s, text)
				}
			}
			if again, _ := renderPDF(t, in); !bytes.Equal(pdf, again) {
				t.Error("two renders of one statement differ")
			}
		})
	}
}
