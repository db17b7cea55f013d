package report_test

import (
	"testing"

	"retainer/report"
)

// BenchmarkStatementPDF renders one statement's PDF invoice, its chart
// drawn beforehand as the email path does.
func BenchmarkStatementPDF(b *testing.B) {
	d := invoiceFixture(b, taxedAcme(), "EUR", 45, "")
	chart, err := report.StatementChart(d)
	if err != nil {
		b.Fatal(err)
	}
	in := report.PDFInput{StatementInput: report.StatementInput{Data: d, Currency: "EUR", Issuer: northwind}, Chart: chart}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		pdf, _, err := report.StatementPDF(in)
		if err != nil {
			b.Fatal(err)
		}
		size = len(pdf)
	}
	b.ReportMetric(float64(size), "bytes")
}
