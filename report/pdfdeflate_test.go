package report_test

import (
	"bytes"
	"runtime"
	"testing"

	"retainer/report"
	"retainer/store/storetest"
)

// The invoice's streams compressed after fpdf wrote them, with writers
// kept between documents, give the very bytes of fpdf's own compression
// (a new writer per stream), on either font path, with a chart (its
// palette is one of the streams) or without, one page or several; and
// renders in a row, which reuse the writers, stay the same.
func TestStatementPDFDeflateSameBytes(t *testing.T) {
	long := ""
	for i := 0; i < 120; i++ {
		long += "A note long enough to need a second page of the invoice. "
	}
	tests := []struct {
		name, billingName, note string
		hours                   int64
		utf8, noChart           bool
	}{
		{name: "Windows-1252", billingName: "Société Générale", hours: 45},
		{name: "UTF-8 fonts", billingName: "Ёлка Дизайн ООО", hours: 45, utf8: true},
		{name: "no hours", billingName: "Acme Corporation Ltd"},
		{name: "several pages", billingName: "Acme Corporation Ltd", hours: 45, note: long},
		{name: "the UTF-8 path on Latin text", billingName: "Acme Corporation Ltd", hours: 12, utf8: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := taxedAcme()
			c.BillingName = tt.billingName
			d := invoiceFixture(t, c, "EUR", tt.hours, tt.note)
			in := report.PDFInput{StatementInput: report.StatementInput{Data: d, Issuer: northwind, Currency: "EUR",
				AsOf: storetest.Date("2026-03-01")}}
			want, _, err := report.StatementPDFFpdfDeflate(in, tt.utf8)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(want, []byte("/Indexed")) {
				t.Error("the reference has no indexed image: the palette is not tested")
			}
			for range 3 {
				var got []byte
				if tt.utf8 {
					got, _, err = report.StatementPDFUTF8(in)
				} else {
					got, _, err = report.StatementPDF(in)
				}
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%d bytes, fpdf's own compression %d: they differ at byte %d", len(got), len(want), firstDiff(got, want))
				}
			}
			if pages := bytes.Count(want, []byte("/Contents ")); tt.note != "" && pages < 2 {
				t.Errorf("%d pages, want several", pages)
			}
			if n := bytes.Count(want, []byte("/FlateDecode")); n < 3 {
				t.Errorf("%d compressed streams, want the page, the palette and the image at least", n)
			}
		})
	}
}

// An invoice allocates under 2 MiB (about 0.6 MB; the race detector's
// sync.Pool drops a writer now and then): fpdf's compression, a new zlib
// writer of about 1.1 MB for the page and another for the palette, made
// it about 2.9 MB.
func TestStatementPDFAllocations(t *testing.T) {
	d := invoiceFixture(t, taxedAcme(), "EUR", 45, "")
	chart, err := report.StatementChart(d)
	if err != nil {
		t.Fatal(err)
	}
	in := report.PDFInput{StatementInput: report.StatementInput{Data: d, Currency: "EUR", Issuer: northwind}, Chart: chart}
	if _, _, err := report.StatementPDF(in); err != nil { // fonts and writers made
		t.Fatal(err)
	}
	const n = 10
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		if _, _, err := report.StatementPDF(in); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 2<<20 {
		t.Errorf("%d bytes allocated per invoice, want under 2 MiB", per)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
