package payments_test

import (
	"errors"
	"testing"

	"retainer/billing"
	"retainer/payments"
)

// Stripe's unit is not always ISO's: the amounts retainer sends are what
// Stripe's currency page says, and one Stripe cannot take exactly is
// refused rather than rounded.
func TestAmount(t *testing.T) {
	for _, tc := range []struct {
		currency string
		in       billing.Money
		want     int64
		inexact  bool
	}{
		{"USD", 535000, 535000, false},   // USD 5,350.00: cents both ways
		{"usd", 1, 1, false},             // any case
		{"JPY", 500000, 500000, false},   // ¥500,000: zero-decimal in both
		{"KRW", 1234567, 1234567, false}, // zero-decimal in both
		{"ISK", 1234, 123400, false},     // ISO whole krónur; Stripe two decimals
		{"MGA", 150000, 1500, false},     // ISO two decimals; Stripe zero
		{"MGA", 150050, 0, true},         // 1,500.50 ariary: no such Stripe amount
		{"KWD", 1230, 1230, false},       // three decimals, last digit 0
		{"KWD", 1234, 0, true},           // Stripe charges tens of fils only
		{"BHD", -5670, -5670, false},     // a credit line
		{"EUR", -100, -100, false},
		{"ISK", 1 << 62, 0, true}, // overflow: not silently wrapped
	} {
		got, err := payments.Amount(tc.in, tc.currency)
		switch {
		case tc.inexact && err == nil:
			t.Errorf("%s %d: %d, want an error", tc.currency, tc.in, got)
		case tc.inexact && tc.currency != "ISK" && !errors.Is(err, payments.ErrInexact):
			t.Errorf("%s %d: %v, want ErrInexact", tc.currency, tc.in, err)
		case !tc.inexact && (err != nil || got != tc.want):
			t.Errorf("%s %d = %d, %v; want %d", tc.currency, tc.in, got, err, tc.want)
		}
	}
}

// The items are the invoice's lines at their exact amounts, then the tax:
// they add up to the total with tax to the minor unit, in every currency.
func TestItemsAddUpToTheTotalWithTax(t *testing.T) {
	p := billing.NewPeriod(2026, 2)
	c := &billing.Contract{ID: "acme", Unit: billing.UnitHours}
	for _, tc := range []struct {
		name     string
		currency string
		f        billing.Figures
		rate     string
		want     []payments.Item
	}{
		{"fee, overage and 20% tax", "USD",
			billing.Figures{RetainerFee: 500000, OverageFee: 35000, Overage: 2 * 3600, OverageRate: 17500, TotalInvoiced: 535000}, "20",
			[]payments.Item{
				{Description: "Retainer 2026-02", Amount: 500000},
				{Description: "Overage 2026-02: 2.00 hours at USD 175.00", Amount: 35000},
				{Description: "Tax 20%", Amount: 107000},
			}},
		{"overage from exact seconds, 8.875% rounded half away from zero", "USD",
			billing.Figures{RetainerFee: 100000, OverageFee: 2917, Overage: 1000, OverageRate: 10500, TotalInvoiced: 102917}, "8.875",
			[]payments.Item{
				{Description: "Retainer 2026-02", Amount: 100000},
				{Description: "Overage 2026-02: 0.28 hours at USD 105.00", Amount: 2917},
				{Description: "Tax 8.875%", Amount: 9134}, // 102917 × 0.08875 = 9133.88…
			}},
		{"JPY: zero-decimal, 10% tax", "JPY",
			billing.Figures{RetainerFee: 300000, TotalInvoiced: 300000}, "10",
			[]payments.Item{{Description: "Retainer 2026-02", Amount: 300000}, {Description: "Tax 10%", Amount: 30000}}},
		{"no tax: no tax item", "EUR",
			billing.Figures{RetainerFee: 250000, TotalInvoiced: 250000}, "0",
			[]payments.Item{{Description: "Retainer 2026-02", Amount: 250000}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rate, err := billing.ParseTaxRate(tc.rate)
			if err != nil {
				t.Fatal(err)
			}
			bill := billing.InvoiceOf(c, tc.f, rate)
			got := payments.Items(bill, p, tc.currency)
			if len(got) != len(tc.want) {
				t.Fatalf("items %+v, want %+v", got, tc.want)
			}
			var sum billing.Money
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("item %d = %+v, want %+v", i, got[i], tc.want[i])
				}
				sum += got[i].Amount
			}
			if sum != bill.Total {
				t.Errorf("items add up to %d, the total with tax is %d", sum, bill.Total)
			}
		})
	}
}
