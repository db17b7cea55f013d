package notify

import (
	"testing"

	"retainer/billing"
	"retainer/store"
)

// TestDigestOverageFeePerCurrency: the digest's summary adds overage fees
// only within a currency (SPEC §14), the top-level currency's first; one
// currency reads as it always has.
func TestDigestOverageFeePerCurrency(t *testing.T) {
	p := billing.NewPeriod(2026, 3)
	row := func(id, currency string, fee billing.Money) store.Row {
		return store.Row{Contract: &billing.Contract{ID: id, Client: id, Unit: billing.UnitHours, Currency: currency},
			Currency: currency, Figures: billing.Figures{Period: p, OverageFee: fee}}
	}
	for _, tt := range []struct {
		name string
		rows []store.Row
		want string
	}{
		{"one currency", []store.Row{row("a", "USD", 35000), row("b", "USD", 100)}, "USD 351.00"},
		{"not the top-level one", []store.Row{row("a", "EUR", 35000)}, "EUR 350.00"},
		{"no contract", nil, "USD 0.00"},
		{"three currencies", []store.Row{row("a", "JPY", 30000), row("b", "EUR", 12000), row("c", "USD", 35000), row("d", "EUR", 50)},
			"USD 350.00, EUR 120.50, JPY 30,000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := &store.View{Period: p, Rows: tt.rows}
			figs := make([]billing.Figures, len(tt.rows))
			for i, r := range tt.rows {
				figs[i] = r.Figures
			}
			if got := overageFees(v, "USD", billing.Summarize(figs).OverageFee); got != tt.want {
				t.Errorf("%q, want %q", got, tt.want)
			}
		})
	}
}
