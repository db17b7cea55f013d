package store_test

import (
	"context"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
	"retainer/store/storetest"
)

// taxContracts are three contracts in three currencies, each taxed at its
// own rate: what a close freezes.
func taxContracts(usdRate, eurRate, jpyRate billing.TaxRate) []*billing.Contract {
	usd := acme()
	usd.Currency, usd.TaxRate = "USD", usdRate
	eur := globex()
	eur.Currency, eur.TaxRate = "EUR", eurRate
	jpy := &billing.Contract{
		ID: "kaisha-003", Client: "Kaisha KK", Unit: billing.UnitHours, PaymentTermsDays: 30, Currency: "JPY", TaxRate: jpyRate,
		// JPY has no minor unit: the fee is ¥123,457, the overage ¥15,000/h.
		Terms:           billing.Terms{MonthlyHours: h(10), MonthlyFee: 123457, OverageRate: 15000},
		OverageBillable: true, Start: ptr(per("2026-01")),
	}
	return []*billing.Contract{usd, eur, jpy}
}

// TestTaxFrozenAtClose: a close stores each statement's currency, tax rate
// and tax; a later change of tax_rate changes neither the closed statement
// nor the closed period's status row, only the open period's.
func TestTaxFrozenAtClose(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	closing := store.NewRules(taxContracts(200000, 88750, 100000)) // 20%, 8.875%, 10%
	// Kaisha works 12 h of its 10 in February: 2 h over at ¥15,000.
	add(t, db, closing, entry("Kaisha KK", "2026-02-10", h(12)))
	closedAt := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	res, err := db.CloseWith(ctx, closing, per("2026-02"), store.CloseOptions{Currency: "GBP", Location: time.UTC}, closedAt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Statements) != 6 { // January and February of three contracts
		t.Fatalf("%d statements", len(res.Statements))
	}
	// The config then changes every rate: 10%, none, 8%.
	later := store.NewRules(taxContracts(100000, 0, 80000))

	tests := []struct {
		id, currency          string
		rate                  string // the frozen rate
		subtotal, tax         billing.Money
		openRate              string // March, open: the current rate
		openSubtotal, openTax billing.Money
	}{
		// USD 5,000.00 at 20% is 1,000.00; at 10%, 500.00.
		{"acme-001", "USD", "20", 500000, 100000, "10", 500000, 50000},
		// EUR 2,800.00 at 8.875% is 248.50; with no rate, nothing.
		{"globex-002", "EUR", "8.875", 280000, 24850, "0", 280000, 0},
		// ¥123,457 + 2 h × ¥15,000 = ¥153,457; 10% is ¥15,345.7, rounded
		// half away from zero to ¥15,346; March at 8%: ¥9,876.56 → ¥9,877.
		{"kaisha-003", "JPY", "10", 153457, 15346, "8", 123457, 9877},
	}
	sts, err := db.Statements(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	byInvoice := map[string]store.Statement{}
	for _, st := range sts {
		byInvoice[st.InvoiceNumber] = st
	}
	feb := per("2026-02")
	v, err := db.Status(ctx, later, feb, billing.DateOf(2026, 3, 20))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]store.Row{}
	for _, r := range v.Rows {
		rows[r.Contract.ID] = r
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			st, ok := byInvoice[store.InvoiceNumber(tt.id, feb)]
			if !ok {
				t.Fatalf("no statement for %s", tt.id)
			}
			if st.Currency != tt.currency || st.TaxRate.String() != tt.rate || st.Total != tt.subtotal || st.Tax != tt.tax ||
				st.TotalWithTax() != tt.subtotal+tt.tax {
				t.Errorf("statement %s %s rate %s: %d + %d = %d; want %s rate %s: %d + %d",
					st.InvoiceNumber, st.Currency, st.TaxRate, st.Total, st.Tax, st.TotalWithTax(), tt.currency, tt.rate, tt.subtotal, tt.tax)
			}
			// The closed month's status row and statement data: frozen.
			r := rows[tt.id]
			if r.Currency != tt.currency || r.Bill.TaxRate.String() != tt.rate || r.Bill.Subtotal != tt.subtotal ||
				r.Bill.Tax != tt.tax || r.Bill.Total != tt.subtotal+tt.tax {
				t.Errorf("status row %s rate %s: %+v", r.Currency, r.Bill.TaxRate, r.Bill)
			}
			d, err := db.StatementFor(ctx, later, tt.id, feb, billing.DateOf(2026, 3, 20))
			if err != nil {
				t.Fatal(err)
			}
			if d.Currency != tt.currency || d.Bill.TaxRate.String() != tt.rate || d.Bill.Tax != tt.tax || d.Invoice == nil || d.Invoice.Tax != tt.tax {
				t.Errorf("statement data %s rate %s: %+v", d.Currency, d.Bill.TaxRate, d.Bill)
			}
			var sum billing.Money
			for _, l := range d.Bill.Lines {
				sum += l.Amount
			}
			if sum != d.Bill.Subtotal {
				t.Errorf("lines %+v add up to %d, not the subtotal %d", d.Bill.Lines, sum, d.Bill.Subtotal)
			}
			// The open month: the contract's current rate.
			m, err := db.StatementFor(ctx, later, tt.id, per("2026-03"), billing.DateOf(2026, 3, 20))
			if err != nil {
				t.Fatal(err)
			}
			if m.Closed || m.Currency != tt.currency || m.Bill.TaxRate.String() != tt.openRate || m.Bill.Subtotal != tt.openSubtotal || m.Bill.Tax != tt.openTax {
				t.Errorf("open March %s rate %s: %+v", m.Currency, m.Bill.TaxRate, m.Bill)
			}
		})
	}

	// The overage line is hours × rate from the exact seconds.
	d, err := db.StatementFor(ctx, later, "kaisha-003", feb, billing.DateOf(2026, 3, 20))
	if err != nil {
		t.Fatal(err)
	}
	want := []billing.Line{
		{Kind: billing.LineRetainer, Unit: billing.UnitHours, UnitAmount: 123457, Amount: 123457},
		{Kind: billing.LineOverage, Seconds: h(2), Unit: billing.UnitHours, UnitAmount: 15000, Amount: 30000},
	}
	if len(d.Bill.Lines) != len(want) || d.Bill.Lines[0] != want[0] || d.Bill.Lines[1] != want[1] {
		t.Errorf("lines %+v, want %+v", d.Bill.Lines, want)
	}
}

// TestCloseCurrencyFallback: a contract that names no currency (built
// without config) is closed in the close's currency.
func TestCloseCurrencyFallback(t *testing.T) {
	db := open(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	if _, err := db.ClosePeriod(context.Background(), rules, per("2026-01"), "CHF", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	sts, err := db.Statements(context.Background(), "acme-001")
	if err != nil || len(sts) != 1 {
		t.Fatalf("%v %v", sts, err)
	}
	if sts[0].Currency != "CHF" || sts[0].TaxRate != 0 || sts[0].Tax != 0 {
		t.Errorf("statement %+v", sts[0])
	}
	d, err := db.StatementFor(context.Background(), rules, "acme-001", per("2026-01"), storetest.Date("2026-02-01"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Currency != "CHF" {
		t.Errorf("statement data currency %q", d.Currency)
	}
}
