package report_test

import (
	"strings"
	"testing"

	"retainer/report"
	"retainer/store"
	"retainer/store/storetest"
)

// An unpaid invoice's statement carries its Stripe "Pay now" link in every
// format; a paid one, and a statement without a link, do not.
func TestStatementPayLink(t *testing.T) {
	const url = "https://invoice.stripe.com/i/acct_1/test_abc"
	d := invoiceFixture(t, taxedAcme(), "USD", 42, "")
	in := report.StatementInput{Data: d, Issuer: northwind, Currency: "USD", AsOf: storetest.Date("2026-03-01"), PayURL: url}
	for _, tc := range []struct {
		format report.Format
		want   string
	}{
		{report.FormatText, "  Pay online: " + url},
		{report.FormatMarkdown, "Pay online: <" + url + ">"},
	} {
		got, err := report.RenderStatement(in, tc.format, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: no %q in\n%s", tc.format, tc.want, got)
		}
	}
	html, err := report.RenderStatementHTML(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html, `href="`+url+`"`) || !strings.Contains(html, ">Pay now</a>") {
		t.Errorf("html has no Pay now link:\n%s", html)
	}

	paid := *d
	inv := *d.Invoice
	inv.Status = store.StatusPaid
	paid.Invoice = &inv
	for _, in := range []report.StatementInput{
		{Data: &paid, Issuer: northwind, Currency: "USD", AsOf: storetest.Date("2026-03-01"), PayURL: url},
		{Data: d, Issuer: northwind, Currency: "USD", AsOf: storetest.Date("2026-03-01")},
	} {
		got, err := report.RenderStatement(in, report.FormatText, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(got, "Pay online") {
			t.Errorf("paid or linkless statement shows a pay link:\n%s", got)
		}
	}
}
