package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/report"
	"retainer/store"
	"retainer/store/storetest"
)

// The column lists as the documentation spells them, written out here by
// hand so that a mistake in the code's own list cannot hide itself.
var (
	// Xero Central, "Import customer invoices", and the sales invoice
	// template it links (see report/accounting.go), with the TaxAmount
	// column that page says to add for specific tax amounts.
	xeroDocumented = []string{"*ContactName", "EmailAddress", "POAddressLine1", "POAddressLine2", "POAddressLine3",
		"POAddressLine4", "POCity", "PORegion", "POPostalCode", "POCountry", "*InvoiceNumber", "Reference",
		"*InvoiceDate", "*DueDate", "InventoryItemCode", "*Description", "*Quantity", "*UnitAmount", "Discount",
		"*AccountCode", "*TaxType", "TaxAmount", "TrackingName1", "TrackingOption1", "TrackingName2",
		"TrackingOption2", "Currency", "BrandingTheme"}
	// QuickBooks Online, "Import invoices" (see report/accounting.go).
	quickBooksDocumented = []string{"InvoiceNo", "Customer", "InvoiceDate", "DueDate", "Terms", "Location", "Memo",
		"Item(Product/Service)", "ItemDescription", "ItemQuantity", "ItemRate", "ItemAmount", "ItemTaxCode",
		"ItemTaxAmount", "Currency"}
)

var codes = report.AccountingCodes{
	XeroAccountCode: "200", XeroTaxType: "Tax on Sales", XeroExemptTaxType: "Tax Exempt",
	QuickBooksItem: "Services", QuickBooksTaxCode: "TAX", QuickBooksExemptTaxCode: "NON",
}

// invoiceRow is one closed period's row as store reads it: the invoice laid
// out from the frozen figures with the frozen tax rate and tax, which need
// not be the contract's current rate.
func invoiceRow(c *billing.Contract, currency string, f billing.Figures, frozen billing.TaxRate, status string, issued, due string) store.Row {
	f.ContractID, f.Period = c.ID, storetest.Per("2026-03")
	if f.Unit == "" {
		f.Unit = c.Unit
	}
	f.TotalInvoiced = f.RetainerFee + f.OverageFee
	r := store.Row{Contract: c, Figures: f, Currency: currency, Bill: billing.InvoiceOf(c, f, frozen), Closed: true}
	if status != "" {
		r.Invoice = &store.Statement{InvoiceNumber: store.InvoiceNumber(c.ID, f.Period), ContractID: c.ID, Period: f.Period,
			Currency: currency, Total: f.TotalInvoiced, TaxRate: frozen, Tax: r.Bill.Tax,
			IssuedOn: storetest.Date(issued), DueOn: storetest.Date(due), Status: status}
	}
	return r
}

func hoursContract(id, client string) *billing.Contract {
	return &billing.Contract{ID: id, Client: client, Unit: billing.UnitHours, OverageBillable: true, PaymentTermsDays: 15}
}

// accountingRows: a USD, a EUR and a JPY invoice, a sessions invoice whose
// name is a formula, and three rows that are not invoices to book.
func accountingRows() []store.Row {
	acme := hoursContract("acme-001", "Acme Corp")
	acme.BillingName = `Smith, "Jones" & Co`
	acme.BillingAddress = "1 Main St\nSuite 5, Floor 2\nSpringfield, IL 62701\nUSA\nAttn: Payables"
	acme.Contacts = []string{"ap@acme.example", "cfo@acme.example"}
	acme.Tier = "Growth Retainer"
	acme.TaxRate = 50000 // today's rate: 5%; March was closed at 8.875%
	globex := hoursContract("globex-002", "Globex GmbH")
	kyoto := hoursContract("kyoto-003", "京都デザイン株式会社")
	formula := &billing.Contract{ID: "formula-006", Client: `=HYPERLINK("http://evil")`, Unit: billing.UnitSessions, OverageBillable: true}
	return []store.Row{
		// 2 h 20 min at 175.00: 408.33; 30 min of it late entries.
		invoiceRow(acme, "USD", billing.Figures{RetainerFee: 500000, Overage: 8400, OverageRate: 17500, OverageFee: 40833, LateAdjustment: 1800},
			88750, store.StatusSent, "2026-04-01", "2026-04-16"),
		// 2 h 30 min at 165.00: 412.50, a whole product.
		invoiceRow(globex, "EUR", billing.Figures{RetainerFee: 280000, Overage: 9000, OverageRate: 16500, OverageFee: 41250},
			200000, store.StatusPending, "2026-04-01", "2026-05-01"),
		// 1 h 07 min at ¥16,250: ¥18,146.
		invoiceRow(kyoto, "JPY", billing.Figures{RetainerFee: 500000, Overage: 4020, OverageRate: 16250, OverageFee: 18146},
			100000, store.StatusPaid, "2026-04-01", "2026-04-15"),
		invoiceRow(hoursContract("draft-004", "Draft Co"), "USD", billing.Figures{RetainerFee: 100000}, 0, store.StatusDraft, "2026-04-01", "2026-04-16"),
		invoiceRow(hoursContract("golive-005", "Before Go-Live"), "USD", billing.Figures{RetainerFee: 100000}, 0, "", "", ""),
		invoiceRow(formula, "USD", billing.Figures{RetainerFee: 120000, Overage: 3 * billing.SessionSeconds, OverageRate: 25000, OverageFee: 75000},
			0, store.StatusSent, "2026-04-01", "2026-04-01"),
		invoiceRow(hoursContract("zero-007", "Nothing Due"), "USD", billing.Figures{}, 0, store.StatusSent, "2026-04-01", "2026-04-16"),
	}
}

func write(t *testing.T, f report.AccountingFormat, rows []store.Row) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteInvoicesCSV(&b, f, rows, codes); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// records reads a file as the importer would: a header and records, each
// as a map by column name.
func records(t *testing.T, s string) ([]string, []map[string]string) {
	t.Helper()
	all, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil || len(all) == 0 {
		t.Fatalf("csv: %v\n%s", err, s)
	}
	var out []map[string]string
	for _, r := range all[1:] {
		m := map[string]string{}
		for i, k := range all[0] {
			m[k] = r[i]
		}
		out = append(out, m)
	}
	return all[0], out
}

// decimal reads an amount as written, checking it has exactly the
// currency's digits (none for JPY).
func decimal(t *testing.T, s, currency string) *big.Rat {
	t.Helper()
	digits := billing.CurrencyDigits(currency)
	_, frac, dot := strings.Cut(s, ".")
	if (digits == 0 && dot) || (digits > 0 && len(frac) != digits) {
		t.Errorf("%s amount %q: want %d decimals", currency, s, digits)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("amount %q is not a number", s)
	}
	return r
}

func minor(m billing.Money, currency string) *big.Rat {
	return new(big.Rat).SetFrac(big.NewInt(int64(m)), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(billing.CurrencyDigits(currency))), nil))
}

// TestAccountingFiles checks each file column by column against the
// documented list, its dates in the documented format, and that each
// invoice's rows with their tax sum to its total with tax, to the minor
// unit, in its currency's digits — for USD, EUR and JPY invoices — with the
// draft, the period before go-live and the invoice of nothing left out.
func TestAccountingFiles(t *testing.T) {
	rows := accountingRows()
	formats := []struct {
		format                             report.AccountingFormat
		columns                            []string
		dateLayout                         string
		invoice, date, due, qty, unit, tax string
		amount                             string // "" = quantity × unit price
		name, currency, description        string
	}{
		{report.AccountingXero, xeroDocumented, "02/01/2006",
			"*InvoiceNumber", "*InvoiceDate", "*DueDate", "*Quantity", "*UnitAmount", "TaxAmount", "",
			"*ContactName", "Currency", "*Description"},
		{report.AccountingQuickBooks, quickBooksDocumented, "01/02/2006",
			"InvoiceNo", "InvoiceDate", "DueDate", "ItemQuantity", "ItemRate", "ItemTaxAmount", "ItemAmount",
			"Customer", "Currency", "ItemDescription"},
	}
	for _, ft := range formats {
		t.Run(string(ft.format), func(t *testing.T) {
			header, recs := records(t, write(t, ft.format, rows))
			if !reflect.DeepEqual(header, ft.columns) {
				t.Fatalf("columns\n got %q\nwant %q", header, ft.columns)
			}
			want := map[string]store.Row{}
			for _, r := range rows {
				if r.Invoice != nil {
					want[r.Invoice.InvoiceNumber] = r
				}
			}
			type sums struct {
				lines int
				total *big.Rat
			}
			got := map[string]*sums{}
			for i, rec := range recs {
				inv := rec[ft.invoice]
				r, ok := want[inv]
				if !ok {
					t.Fatalf("row %d: invoice %q is not a statement", i+1, inv)
				}
				cur := r.Currency
				if rec[ft.currency] != cur {
					t.Errorf("%s: currency %q, want %q", inv, rec[ft.currency], cur)
				}
				for col, d := range map[string]billing.Date{ft.date: r.Invoice.IssuedOn, ft.due: r.Invoice.DueOn} {
					parsed, err := time.Parse(ft.dateLayout, rec[col])
					if err != nil || parsed.Format("2006-01-02") != d.String() {
						t.Errorf("%s %s: %q is not %s written %s", inv, col, rec[col], d, ft.dateLayout)
					}
				}
				qty, ok := new(big.Rat).SetString(rec[ft.qty])
				if !ok {
					t.Fatalf("%s: quantity %q", inv, rec[ft.qty])
				}
				// The importer's line amount: quantity × unit price, exact.
				amount := new(big.Rat).Mul(qty, decimal(t, rec[ft.unit], cur))
				if ft.amount != "" && decimal(t, rec[ft.amount], cur).Cmp(amount) != 0 {
					t.Errorf("%s: %s × %s is not the amount %s", inv, rec[ft.qty], rec[ft.unit], rec[ft.amount])
				}
				s := got[inv]
				if s == nil {
					s = &sums{total: new(big.Rat)}
					got[inv] = s
				}
				s.lines++
				s.total.Add(s.total, amount)
				s.total.Add(s.total, decimal(t, rec[ft.tax], cur))
				if rec[ft.name] != r.Contract.InvoiceName() && rec[ft.name] != "'"+r.Contract.InvoiceName() {
					t.Errorf("%s: name %q, want %q", inv, rec[ft.name], r.Contract.InvoiceName())
				}
				if rec[ft.description] == "" {
					t.Errorf("%s: no description", inv)
				}
			}
			wantInvoices := []string{"acme-001-2026-03", "globex-002-2026-03", "kyoto-003-2026-03", "formula-006-2026-03"}
			if len(got) != len(wantInvoices) {
				t.Errorf("invoices %v, want %v (no draft, nothing before go-live, no invoice of nothing)", keys(got), wantInvoices)
			}
			for _, inv := range wantInvoices {
				s, r := got[inv], want[inv]
				if s == nil {
					t.Errorf("%s missing", inv)
					continue
				}
				if s.lines != len(r.Bill.Lines) {
					t.Errorf("%s: %d rows for %d lines", inv, s.lines, len(r.Bill.Lines))
				}
				if w := minor(r.Bill.Total, r.Currency); s.total.Cmp(w) != 0 {
					t.Errorf("%s: rows with tax sum to %s, the invoice's total with tax is %s", inv, s.total.FloatString(2), w.FloatString(2))
				}
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestAccountingCells pins the cells that carry a decision: the frozen tax
// (not today's rate) split by largest remainder, quantity 1 when the hours
// do not multiply back into the fee, the codes of a taxed and an untaxed
// invoice, the address lines, and a formula defused.
func TestAccountingCells(t *testing.T) {
	rows := accountingRows()
	_, xero := records(t, write(t, report.AccountingXero, rows))
	byLine := map[string]map[string]string{}
	for _, r := range xero {
		byLine[r["*InvoiceNumber"]+"/"+strings.SplitN(r["*Description"], ",", 2)[0]] = r
	}
	check := func(key string, want map[string]string) {
		t.Helper()
		r := byLine[key]
		if r == nil {
			t.Fatalf("no row %s in %v", key, keys(byLine))
		}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s %s = %q, want %q", key, k, r[k], v)
			}
		}
	}
	// 8.875% of 5408.33 is 479.99 (frozen; today's 5% would be 270.42),
	// split 443.75 + 36.24 → 443.75 and 36.24.
	check("acme-001-2026-03/Retainer fee", map[string]string{
		"*ContactName": `Smith, "Jones" & Co`, "EmailAddress": "ap@acme.example",
		"POAddressLine1": "1 Main St", "POAddressLine2": "Suite 5, Floor 2", "POAddressLine3": "Springfield, IL 62701",
		"POAddressLine4": "USA, Attn: Payables", "Reference": "March 2026",
		"*InvoiceDate": "01/04/2026", "*DueDate": "16/04/2026",
		"*Description": "Retainer fee, March 2026 (Growth Retainer)", "*Quantity": "1", "*UnitAmount": "5000.00",
		"*AccountCode": "200", "*TaxType": "Tax on Sales", "TaxAmount": "443.75", "Currency": "USD",
	})
	check("acme-001-2026-03/Overage", map[string]string{
		"*Description": "Overage, March 2026: 2h20m at USD 175.00/h; includes late adjustments from closed months: +0.50 h",
		"*Quantity":    "1", "*UnitAmount": "408.33", "TaxAmount": "36.24",
	})
	check("globex-002-2026-03/Overage", map[string]string{
		"*Description": "Overage, March 2026: 2.50 h at EUR 165.00/h", "*Quantity": "2.5", "*UnitAmount": "165.00",
		"TaxAmount": "82.50", "*DueDate": "01/05/2026",
	})
	// ¥51,815 of tax: ¥50,000.09… and ¥1,814.90… → 50000 and 1815.
	check("kyoto-003-2026-03/Retainer fee", map[string]string{"*UnitAmount": "500000", "TaxAmount": "50000", "Currency": "JPY",
		"*ContactName": "京都デザイン株式会社"})
	check("kyoto-003-2026-03/Overage", map[string]string{"*Quantity": "1", "*UnitAmount": "18146", "TaxAmount": "1815",
		"*Description": "Overage, March 2026: 1h07m at JPY 16,250/h"})
	check("formula-006-2026-03/Overage", map[string]string{
		"*ContactName": `'=HYPERLINK("http://evil")`, "*Quantity": "3", "*UnitAmount": "250.00", "*TaxType": "Tax Exempt", "TaxAmount": "0.00",
		"*Description": "Overage, March 2026: 3 sessions at USD 250.00/session",
	})

	_, qbo := records(t, write(t, report.AccountingQuickBooks, rows))
	if r := qbo[0]; r["InvoiceNo"] != "acme-001-2026-03" || r["Customer"] != `Smith, "Jones" & Co` || r["InvoiceDate"] != "04/01/2026" ||
		r["DueDate"] != "04/16/2026" || r["Item(Product/Service)"] != "Services" || r["ItemTaxCode"] != "TAX" ||
		r["ItemAmount"] != "5000.00" || r["ItemTaxAmount"] != "443.75" || r["Memo"] != "March 2026" || r["Terms"] != "" {
		t.Errorf("QuickBooks acme row %v", r)
	}
	for _, r := range qbo {
		if r["InvoiceNo"] == "formula-006-2026-03" && r["ItemTaxCode"] != "NON" {
			t.Errorf("untaxed invoice: tax code %q, want NON", r["ItemTaxCode"])
		}
	}
}

// TestAccountingQuoting: a name with a comma and quotes is one quoted cell
// ("Smith, ""Jones"" & Co"), a line break stays inside its cell, and the
// same export twice is byte-identical.
func TestAccountingQuoting(t *testing.T) {
	rows := accountingRows()
	rows[0].Contract.BillingName = "Smith, \"Jones\"\n& Co"
	for _, f := range []report.AccountingFormat{report.AccountingXero, report.AccountingQuickBooks} {
		out := write(t, f, rows)
		if !strings.Contains(out, "\"Smith, \"\"Jones\"\"\n& Co\"") {
			t.Errorf("%s: the name is not one quoted cell:\n%s", f, out)
		}
		_, recs := records(t, out)
		name := recs[0]["*ContactName"] + recs[0]["Customer"]
		if name != "Smith, \"Jones\"\n& Co" {
			t.Errorf("%s: name reads back as %q", f, name)
		}
		if again := write(t, f, rows); again != out {
			t.Errorf("%s: the same export twice differs", f)
		}
	}
}

// TestAccountingGolden: the two files as a bookkeeper receives them.
func TestAccountingGolden(t *testing.T) {
	rows := accountingRows()
	storetest.Golden(t, "invoices-xero.csv", write(t, report.AccountingXero, rows))
	storetest.Golden(t, "invoices-quickbooks.csv", write(t, report.AccountingQuickBooks, rows))
}

// TestAccountingFrozenTax: a month closed at 20% exports 20% after the
// contract's tax_rate changed to 5%, through the store as the CLI reads it.
func TestAccountingFrozenTax(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	c := storetest.Acme()
	c.Currency, c.TaxRate = "EUR", 200000
	rules := store.NewRules([]*billing.Contract{c})
	now := time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC)
	// 55 h of 40 + the 10 h banked from January and February: 5 h over
	// at 175.00.
	err := db.AddEntries(ctx, rules, []store.Entry{{Source: "log", Client: "Acme Corp", Date: storetest.Date("2026-03-10"), Seconds: storetest.H(55), Billable: true}}, now)
	if err != nil {
		t.Fatal(err)
	}
	p := storetest.Per("2026-03")
	if _, err := db.ClosePeriod(ctx, rules, p, "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	later := *c
	later.TaxRate = 50000
	v, err := db.Status(ctx, store.NewRules([]*billing.Contract{&later}), p, storetest.Date("2026-04-20"))
	if err != nil {
		t.Fatal(err)
	}
	_, recs := records(t, write(t, report.AccountingXero, v.Rows))
	var tax []string
	for _, r := range recs {
		tax = append(tax, r["TaxAmount"])
		if r["Currency"] != "EUR" {
			t.Errorf("currency %q, want the frozen EUR", r["Currency"])
		}
	}
	// 5875.00 at 20%: 1175.00 = 1000.00 + 175.00.
	if want := []string{"1000.00", "175.00"}; !reflect.DeepEqual(tax, want) {
		t.Errorf("line taxes %v, want %v (20%% as frozen, not today's 5%%)", tax, want)
	}
}
