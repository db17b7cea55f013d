package main

import (
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// invoicesConfig: a USD, a EUR and a JPY contract, each taxed, under review
// so that a close makes drafts; the USD client's invoice name holds a comma
// and quotes.
const invoicesConfig = `timezone: UTC
currency: USD
statements:
  review: true
agency:
  name: Northwind Studio
contracts:
  acme-001:
    client: Acme Corp
    billing_name: 'Smith, "Jones" & Co'
    billing_address: "1 Main St\nSpringfield, IL 62701"
    contacts: [ap@acme.example]
    monthly_hours: 40
    monthly_fee: 5000
    overage_rate: 175
    tax_rate: 8.875
    start: 2026-10
  globex-002:
    client: Globex GmbH
    contacts: [finance@globex.example]
    currency: EUR
    monthly_hours: 20
    monthly_fee: 2800
    overage_rate: 165
    tax_rate: 20
    start: 2026-10
  kyoto-003:
    client: Kyoto Design
    contacts: [keiri@kyoto.example]
    currency: JPY
    monthly_hours: 10
    monthly_fee: 500000
    overage_rate: 16250
    tax_rate: 10
    start: 2026-10
`

func newInvoicesEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	if err := os.WriteFile(filepath.Join(e.dir, "retainer.yaml"), []byte(invoicesConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	e.must("log", "acme-001", "42:20", "--date", "2026-10-14")  // 2 h 20 min over: 408.33
	e.must("log", "globex-002", "22.5", "--date", "2026-10-15") // 2 h 30 min over: 412.50
	e.must("log", "kyoto-003", "11:07", "--date", "2026-10-16") // 1 h 07 min over: ¥18,146
	e.must("close", "--month", "2026-10")
	return e
}

// invoiceTotals sums each invoice's rows as the importer computes them
// (quantity × unit price, plus the line's tax), as decimal strings with the
// currency's digits.
func invoiceTotals(t *testing.T, out, number, qty, unit, tax string) map[string]string {
	t.Helper()
	sums := map[string]*big.Rat{}
	digits := map[string]int{}
	for _, r := range readCSV(t, out) {
		q, ok1 := new(big.Rat).SetString(r[qty])
		u, ok2 := new(big.Rat).SetString(r[unit])
		x, ok3 := new(big.Rat).SetString(r[tax])
		if !ok1 || !ok2 || !ok3 {
			t.Fatalf("row %v: not numbers", r)
		}
		s := sums[r[number]]
		if s == nil {
			s = new(big.Rat)
			sums[r[number]] = s
		}
		s.Add(s, new(big.Rat).Mul(q, u)).Add(s, x)
		_, frac, _ := strings.Cut(r[unit], ".")
		digits[r[number]] = len(frac)
	}
	out2 := map[string]string{}
	for k, s := range sums {
		out2[k] = s.FloatString(digits[k])
	}
	return out2
}

// TestExportInvoices: the Xero and QuickBooks files of a closed month hold
// its issued invoices only (a draft under review is left out until it is
// approved), sum to each statement's total with tax to the cent in USD, EUR
// and JPY, keep the tax frozen at the close when the config's rate changes,
// and come out byte-identical twice.
func TestExportInvoices(t *testing.T) {
	e := newInvoicesEnv(t)
	e.must("statement", "approve", "acme-001-2026-10", "globex-002-2026-10")

	xero := e.must("export", "invoices", "--month", "2026-10", "--format", "xero")
	qbo := e.must("export", "invoices", "--format", "quickbooks", "--month", "2026-10")
	// 5408.33 + 8.875% (479.99); 3212.50 + 20% (642.50); kyoto is a draft.
	want := map[string]string{"acme-001-2026-10": "5888.32", "globex-002-2026-10": "3855.00"}
	if got := invoiceTotals(t, xero, "*InvoiceNumber", "*Quantity", "*UnitAmount", "TaxAmount"); !reflect.DeepEqual(got, want) {
		t.Errorf("xero totals with tax %v, want %v", got, want)
	}
	if got := invoiceTotals(t, qbo, "InvoiceNo", "ItemQuantity", "ItemRate", "ItemTaxAmount"); !reflect.DeepEqual(got, want) {
		t.Errorf("quickbooks totals with tax %v, want %v", got, want)
	}
	// Approved on the env's day, 2026-11-25, due 15 days later.
	rows := readCSV(t, xero)
	if r := rows[0]; r["*ContactName"] != `Smith, "Jones" & Co` || r["*InvoiceDate"] != "25/11/2026" || r["*DueDate"] != "10/12/2026" ||
		r["POAddressLine2"] != "Springfield, IL 62701" || r["*AccountCode"] != "200" || r["*TaxType"] != "Tax on Sales" {
		t.Errorf("xero first row %v", r)
	}
	if !strings.Contains(xero, `"Smith, ""Jones"" & Co"`) {
		t.Errorf("the name is not quoted as one cell:\n%s", xero)
	}
	if r := readCSV(t, qbo)[0]; r["InvoiceDate"] != "11/25/2026" || r["DueDate"] != "12/10/2026" || r["Item(Product/Service)"] != "Services" {
		t.Errorf("quickbooks first row %v", r)
	}
	if again := e.must("export", "invoices", "--month", "2026-10", "--format", "xero"); again != xero {
		t.Error("the same export twice differs")
	}

	// Approved, the JPY invoice joins, in yen without decimals.
	e.must("statement", "approve", "kyoto-003-2026-10")
	xero = e.must("export", "invoices", "--month", "2026-10", "--format", "xero")
	want["kyoto-003-2026-10"] = "569961" // ¥518,146 + 10% (¥51,815)
	if got := invoiceTotals(t, xero, "*InvoiceNumber", "*Quantity", "*UnitAmount", "TaxAmount"); !reflect.DeepEqual(got, want) {
		t.Errorf("xero totals with tax %v, want %v", got, want)
	}

	// Today's rates and codes change; the closed month's tax does not.
	e.extra = []string{"RETAINER_CONTRACTS__ACME-001__TAX_RATE=5", "RETAINER_CONTRACTS__KYOTO-003__TAX_RATE=0"}
	if after := e.must("export", "invoices", "--month", "2026-10", "--format", "xero"); after != xero {
		t.Errorf("a closed month's export changed with the config's tax rate:\n%s\nwas\n%s", after, xero)
	}
	e.extra = []string{"RETAINER_EXPORTS__XERO__ACCOUNT_CODE=4000", "RETAINER_EXPORTS__XERO__TAX_TYPE=20% (VAT on Income)"}
	if r := readCSV(t, e.must("export", "invoices", "--month", "2026-10", "--format", "xero"))[0]; r["*AccountCode"] != "4000" || r["*TaxType"] != "20% (VAT on Income)" {
		t.Errorf("exports.xero codes not used: %v", r)
	}
}

// TestExportInvoicesRefusals: an open month is an error naming it (exit 1);
// a missing or wrong --format or --month is bad usage (exit 2).
func TestExportInvoicesRefusals(t *testing.T) {
	e := newInvoicesEnv(t)
	code, out, errs := e.run("export", "invoices", "--month", "2026-11", "--format", "xero")
	if code != exitFailed || out != "" || !strings.Contains(errs, "2026-11 is not closed") {
		t.Errorf("open month: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	for _, args := range [][]string{
		{"export", "invoices", "--month", "2026-10"},
		{"export", "invoices", "--month", "2026-10", "--format", "csv"},
		{"export", "invoices", "--month", "2026-10", "--format", "sage"},
		{"export", "invoices", "--format", "xero"},
		{"export", "invoices", "--month", "October", "--format", "xero"},
	} {
		if code, _, errs := e.run(args...); code != exitUsage {
			t.Errorf("%s: exit %d (%s), want %d", strings.Join(args, " "), code, errs, exitUsage)
		}
	}
	// Every statement still a draft: a header and nothing else.
	if out := e.must("export", "invoices", "--month", "2026-10", "--format", "quickbooks"); strings.Count(out, "\n") != 1 {
		t.Errorf("drafts exported:\n%s", out)
	}
}
