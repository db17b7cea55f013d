package report_test

import (
	"slices"
	"testing"
	"time"

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

// BenchmarkStatementPDFWinAnsi compares, in one run, the Windows-1252
// fast path with the UTF-8 fonts on the same Latin statement: pairs of
// 20 renders each, interleaved (the machine is shared and noisy); it
// reports the fast path's time per PDF and the ratio of fast to UTF-8,
// minimum and median over the pairs, and both sizes.
func BenchmarkStatementPDFWinAnsi(b *testing.B) {
	d := invoiceFixture(b, taxedAcme(), "EUR", 45, "")
	chart, err := report.StatementChart(d)
	if err != nil {
		b.Fatal(err)
	}
	in := report.PDFInput{StatementInput: report.StatementInput{Data: d, Currency: "EUR", Issuer: northwind}, Chart: chart}
	const batch = 20
	var fastSize, refSize int
	run := func(render func(report.PDFInput) ([]byte, []string, error), size *int) time.Duration {
		start := time.Now()
		for range batch {
			pdf, _, err := render(in)
			if err != nil {
				b.Fatal(err)
			}
			*size = len(pdf)
		}
		return time.Since(start) / batch
	}
	var fast, ratios []float64
	for b.Loop() {
		for range 3 {
			r := run(report.StatementPDFUTF8, &refSize)
			f := run(report.StatementPDF, &fastSize)
			fast = append(fast, float64(f.Nanoseconds()))
			ratios = append(ratios, float64(f)/float64(r))
		}
	}
	slices.Sort(fast)
	slices.Sort(ratios)
	b.ReportMetric(fast[len(fast)/2], "fast-ns/pdf")
	b.ReportMetric(ratios[0], "ratio-min")
	b.ReportMetric(ratios[len(ratios)/2], "ratio-median")
	b.ReportMetric(float64(fastSize), "fast-bytes")
	b.ReportMetric(float64(refSize), "utf8-bytes")
}
