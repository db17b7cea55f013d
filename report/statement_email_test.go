package report_test

import (
	"context"
	"testing"

	"retainer/billing"
	"retainer/report"
	"retainer/store/storetest"
)

// TestRenderStatementEmail: the email's two parts rendered from one view
// are RenderStatement's text and RenderStatementHTML's HTML, for a closed
// month, an open one, an escaped name, with the agency's details and a
// payment link.
func TestRenderStatementEmail(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
	for _, tc := range []struct{ contract, period, payURL string }{
		{"acme-001", "2026-02", "https://pay.example/inv_1"},
		{"acme-001", "2026-03", ""},
		{"pipe-005", "2026-03", ""},
	} {
		t.Run(tc.contract+" "+tc.period, func(t *testing.T) {
			p, _ := billing.ParsePeriod(tc.period)
			d, err := db.StatementFor(context.Background(), rules, tc.contract, p, storetest.Date("2026-03-18"))
			if err != nil {
				t.Fatal(err)
			}
			in := report.StatementInput{Data: d, Currency: "USD", Agency: "Northwind Studio", Issuer: northwind,
				AsOf: storetest.Date("2026-03-18"), ChartCID: report.ChartCID, PayURL: tc.payURL}
			text, html, err := report.RenderStatementEmail(in, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantText, err := report.RenderStatement(in, report.FormatText, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantHTML, err := report.RenderStatementHTML(in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if text != wantText {
				t.Errorf("text part differs from RenderStatement's:\n%s\nwant:\n%s", text, wantText)
			}
			if html != wantHTML {
				t.Errorf("HTML part differs from RenderStatementHTML's:\n%s\nwant:\n%s", html, wantHTML)
			}
		})
	}
}
