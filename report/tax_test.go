package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/report"
	"retainer/store"
	"retainer/store/storetest"
)

// northwindIssuer is the agency's invoice details of the taxed fixture.
var northwindIssuer = report.Issuer{
	Name: "Northwind Studio", Address: "1 Market Street\nSan Francisco, CA 94105", TaxID: "US-12-3456789",
	PaymentInstructions: "Bank transfer to Northwind Studio LLC\nIBAN: US00 1234 5678 9012\nReference: the invoice number",
}

// taxedContracts are a USD contract taxed at usdRate with billing details,
// an untaxed EUR one and a JPY one taxed at 10%.
func taxedContracts(usdRate billing.TaxRate) []*billing.Contract {
	start := storetest.Per("2026-01")
	acme := storetest.Acme()
	acme.Currency, acme.TaxRate = "USD", usdRate
	acme.BillingName, acme.BillingAddress, acme.TaxID = "Acme Corporation Ltd.", "10 Harbour Road\nSpringfield, IL 62701", "US-98-7654321"
	globex := storetest.Globex()
	globex.Currency = "EUR"
	kaisha := &billing.Contract{
		ID: "kaisha-003", Client: "Kaisha KK", Unit: billing.UnitHours, PaymentTermsDays: 30, Currency: "JPY", TaxRate: 100000,
		BillingName: "株式会社カイシャ", BillingAddress: "東京都千代田区1-1",
		Terms:           billing.Terms{MonthlyHours: storetest.H(10), MonthlyFee: 123457, OverageRate: 15000},
		OverageBillable: true, Start: &start,
	}
	return []*billing.Contract{acme, globex, kaisha}
}

// taxedFixture closes January to March with the USD contract at 8.875%:
// Acme works 2 h over in February, and an entry of 1:30 dated in February
// arrives after its close, so March's overage includes a late adjustment.
// It returns the store and the rules of a later config, with Acme's rate
// changed to laterRate.
func taxedFixture(t *testing.T, laterRate billing.TaxRate) (*store.DB, *store.Rules) {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	rules := store.NewRules(taxedContracts(88750))
	e := func(client, d string, secs int64) store.Entry {
		return store.Entry{Source: "log", Client: client, Date: storetest.Date(d), Seconds: secs, Billable: true}
	}
	if err := db.AddEntries(ctx, rules, []store.Entry{
		e("Acme Corp", "2026-01-12", storetest.H(30)), e("Acme Corp", "2026-02-03", storetest.H(52)),
		e("Acme Corp", "2026-03-09", storetest.H(43)),
		e("Globex", "2026-03-10", storetest.H(12)),
		e("Kaisha KK", "2026-03-11", storetest.H(12)),
	}, time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClosePeriod(ctx, rules, storetest.Per("2026-02"), "USD", time.UTC, time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if err := db.AddEntries(ctx, rules, []store.Entry{e("Acme Corp", "2026-02-20", 90*60)}, time.Date(2026, 3, 5, 8, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClosePeriod(ctx, rules, storetest.Per("2026-03"), "USD", time.UTC, time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	return db, store.NewRules(taxedContracts(laterRate))
}

// TestTaxedStatementGolden: a statement with tax, the agency's and the
// client's addresses and tax ids, and payment instructions, in each
// format; and one in JPY, which has no minor unit. Rendered under a later
// config whose tax rate is 20%: the closed month still says 8.875%.
func TestTaxedStatementGolden(t *testing.T) {
	db, later := taxedFixture(t, 200000)
	asOf := storetest.Date("2026-04-02")
	for _, tt := range []struct {
		name, contract string
		format         report.Format
	}{
		{"statement-taxed-mar.txt", "acme-001", report.FormatText},
		{"statement-taxed-mar.md", "acme-001", report.FormatMarkdown},
		{"statement-taxed-mar.html", "acme-001", report.FormatHTML},
		{"statement-jpy-mar.txt", "kaisha-003", report.FormatText},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := db.StatementFor(context.Background(), later, tt.contract, storetest.Per("2026-03"), asOf)
			if err != nil {
				t.Fatal(err)
			}
			// The top-level currency passed is not the statement's: the
			// statement's own currency wins.
			out, err := report.RenderStatement(report.StatementInput{Data: d, Currency: "GBP", Agency: "Northwind Studio",
				Issuer: northwindIssuer, AsOf: asOf}, tt.format, nil)
			if err != nil {
				t.Fatal(err)
			}
			storetest.Golden(t, tt.name, out)
		})
	}
}

// TestStatementTax: what each statement says of its tax, as a table: the
// frozen rate and amounts of a closed month whatever the config says now,
// the current rate on an open month's preview, no tax line without a rate,
// and payment instructions only on an invoice.
func TestStatementTax(t *testing.T) {
	db, later := taxedFixture(t, 100000) // closed at 8.875%, now 10%
	tests := []struct {
		name, contract, period string
		want, not              []string
	}{
		{"closed month keeps its frozen rate", "acme-001", "2026-03",
			// 40 h + 1.5 h late + 3 h = 4.5 h over: 787.50; 5,787.50 × 8.875% = 513.640625.
			[]string{"Overage 4.50 h × USD 175.00/h", "USD 787.50", "incl. +1.50 h of late adjustments from closed periods",
				"Total invoiced (before tax)                          USD 5,787.50", "Tax (8.875%)", "USD 513.64", "Total with tax", "USD 6,301.14",
				"Bill to:    Acme Corporation Ltd.", "Tax ID:     US-98-7654321", "PAYMENT", "IBAN: US00 1234 5678 9012"},
			[]string{"Tax (10%)"}},
		{"open month previews the current rate", "acme-001", "2026-04",
			[]string{"Tax (10%)", "USD 500.00", "USD 5,500.00"},
			[]string{"Tax (8.875%)", "PAYMENT"}},
		{"untaxed contract has no tax line", "globex-002", "2026-03",
			[]string{"Total invoiced                                       EUR 2,800.00", "PAYMENT"},
			[]string{"Tax (", "before tax", "Bill to"}},
		{"JPY shows no decimals", "kaisha-003", "2026-03",
			// ¥123,457 + 2 h × ¥15,000 = ¥153,457; 10% = ¥15,345.7 → ¥15,346.
			[]string{"JPY 153,457", "Tax (10%)", "JPY 15,346", "JPY 168,803", "Bill to:    株式会社カイシャ"},
			[]string{"JPY 153,457.", "JPY 15,346.", "JPY 30,000."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := db.StatementFor(context.Background(), later, tt.contract, storetest.Per(tt.period), storetest.Date("2026-04-02"))
			if err != nil {
				t.Fatal(err)
			}
			out, err := report.RenderStatement(report.StatementInput{Data: d, Currency: "USD", Issuer: northwindIssuer,
				AsOf: storetest.Date("2026-04-02")}, report.FormatText, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q", w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("has %q", n)
				}
			}
			if t.Failed() {
				t.Log(out)
			}
		})
	}
}

// TestStatusCurrencies: contracts in USD, EUR and JPY are each shown in
// their own currency with their tax; `summary` stays the top-level
// currency's and `summaries` has one per currency, the top-level's first.
func TestStatusCurrencies(t *testing.T) {
	db, later := taxedFixture(t, 200000)
	asOf := storetest.Date("2026-04-02")
	v, err := db.Status(context.Background(), later, storetest.Per("2026-03"), asOf)
	if err != nil {
		t.Fatal(err)
	}
	obj := report.StatusJSON(v, "USD", asOf)
	type money struct{ currency, total, tax string }
	got := map[string]money{}
	for _, c := range obj.Contracts {
		got[c.ContractID] = money{c.Currency, c.TotalInvoiced, c.Tax}
	}
	want := map[string]money{
		"acme-001":   {"USD", "5787.50", "513.64"}, // frozen at 8.875%, not the config's 20% now
		"globex-002": {"EUR", "2800.00", "0.00"},
		"kaisha-003": {"JPY", "153457", "15346"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("contracts %v, want %v", got, want)
	}
	if obj.Currency != "USD" || obj.Summary.TotalInvoiced != "5787.50" || obj.Summary.Contracted != "40.00" {
		t.Errorf("summary %s %+v: want the USD contract's only", obj.Currency, obj.Summary)
	}
	var sums []string
	for _, s := range obj.Summaries {
		sums = append(sums, s.Currency+" "+s.TotalInvoiced+" + "+s.Tax)
	}
	if want := []string{"USD 5787.50 + 513.64", "EUR 2800.00 + 0.00", "JPY 153457 + 15346"}; !reflect.DeepEqual(sums, want) {
		t.Errorf("summaries %q, want %q", sums, want)
	}

	var text, js bytes.Buffer
	report.WriteStatusTable(&text, v, "USD", asOf, report.StatusLayout{Wide: true})
	storetest.Golden(t, "status-currencies-2026-03.txt", text.String())
	if err := obj.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var a, b any
	plain, _ := json.Marshal(obj)
	if err := json.Unmarshal(js.Bytes(), &a); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, js.String())
	}
	json.Unmarshal(plain, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("WriteJSON differs from json.Marshal:\n%s\n%s", js.String(), plain)
	}
	storetest.Golden(t, "status-currencies-2026-03.json", js.String())

	// One currency, not the top-level one: it is the object's currency,
	// and there is no summaries array.
	eur := store.NewRules([]*billing.Contract{later.Contract("globex-002")})
	v, err = db.Status(context.Background(), eur, storetest.Per("2026-03"), asOf)
	if err != nil {
		t.Fatal(err)
	}
	one := report.StatusJSON(v, "USD", asOf)
	if one.Currency != "EUR" || one.Summaries != nil || one.Summary.TotalInvoiced != "2800.00" {
		t.Errorf("EUR only: %s %+v %+v", one.Currency, one.Summary, one.Summaries)
	}
	_, totals := report.StatusLines(v, "USD", asOf)
	if len(totals) != 1 || totals[0].Currency != "EUR" {
		t.Errorf("EUR only: totals %+v", totals)
	}
}

// TestStatementRecordsTax: `export statements` and the API say what the
// client owes: total is the subtotal plus the frozen tax.
func TestStatementRecordsTax(t *testing.T) {
	db, _ := taxedFixture(t, 200000)
	sts, err := db.Statements(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]report.StatementRecord{}
	for _, r := range report.StatementRecords(sts, storetest.Date("2026-04-02")) {
		got[r.InvoiceNumber] = r
	}
	for inv, want := range map[string][4]string{ // currency, subtotal, rate, tax, total
		"acme-001-2026-03":   {"USD 5787.50", "8.875", "513.64", "6301.14"},
		"acme-001-2026-02":   {"USD 5350.00", "8.875", "474.81", "5824.81"}, // 474.8125
		"kaisha-003-2026-03": {"JPY 153457", "10", "15346", "168803"},
		"globex-002-2026-03": {"EUR 2800.00", "0", "0.00", "2800.00"},
	} {
		r := got[inv]
		if g := [4]string{r.Currency + " " + r.Subtotal, r.TaxRate, r.Tax, r.Total}; g != want {
			t.Errorf("%s: %q, want %q", inv, g, want)
		}
	}
}
