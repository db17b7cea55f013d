package billing

import (
	"reflect"
	"testing"
)

func TestParseTaxRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want TaxRate
		ok   bool
		back string
	}{
		{"0", 0, true, "0"},
		{"20", 200000, true, "20"},
		{"7.7", 77000, true, "7.7"},
		{"8.875", 88750, true, "8.875"},
		{"0.0001", 1, true, "0.0001"},
		{"100", 1000000, true, "100"},
		{"100.0001", 0, false, ""},
		{"101", 0, false, ""},
		{"-5", 0, false, ""},
		{"+5", 0, false, ""},
		{"5.12345", 0, false, ""},
		{"", 0, false, ""},
		{"abc", 0, false, ""},
		{"5.", 50000, true, "5"},
	} {
		got, err := ParseTaxRate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseTaxRate(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
			continue
		}
		if tc.ok && got.String() != tc.back {
			t.Errorf("%q: String() = %q, want %q", tc.in, got.String(), tc.back)
		}
	}
}

// The tax line is round(subtotal × rate / 100) to the minor unit, half away
// from zero (SPEC §14), for any currency's minor unit (JPY has none: the
// amounts are yen).
func TestTaxRounding(t *testing.T) {
	for _, tc := range []struct {
		name     string
		subtotal Money
		rate     string
		want     Money
	}{
		{"no tax", 500000, "0", 0},
		{"20% of 5,000.00", 500000, "20", 100000},
		{"half a cent rounds up", 2500, "10.1", 253},       // 25.00 × 10.1% = 2.525
		{"just under half rounds down", 2499, "10.1", 252}, // 2.5240
		{"negative (a credit) rounds away from zero", -2500, "10.1", -253},
		{"8.875% of 437.50", 43750, "8.875", 3883},    // 38.828125
		{"7.7% of CHF 1,234.55", 123455, "7.7", 9506}, // 95.06035
		{"JPY 10% of ¥12,345", 12345, "10", 1235},     // 1234.5 → 1235
		{"JPY 8% of ¥999", 999, "8", 80},              // 79.92
		{"0.0001% of 1,000,000,000.00", 1_000_000_000_00, "0.0001", 100000},
	} {
		r, err := ParseTaxRate(tc.rate)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Tax(tc.subtotal); got != tc.want {
			t.Errorf("%s: Tax(%d) at %s%% = %d, want %d", tc.name, tc.subtotal, tc.rate, got, tc.want)
		}
	}
}

func TestInvoiceOf(t *testing.T) {
	c := &Contract{ID: "acme", Unit: UnitHours, OverageBillable: true}
	for _, tc := range []struct {
		name string
		f    Figures
		rate TaxRate
		want Invoice
	}{
		{"fee only", Figures{Unit: UnitHours, RetainerFee: 500000, TotalInvoiced: 500000}, 200000,
			Invoice{Lines: []Line{{Kind: LineRetainer, Unit: UnitHours, UnitAmount: 500000, Amount: 500000}},
				Subtotal: 500000, TaxRate: 200000, Tax: 100000, Total: 600000}},
		{"fee and overage with a late adjustment", Figures{Unit: UnitHours, RetainerFee: 500000, Overage: 9000, OverageRate: 17500,
			OverageFee: 43750, LateAdjustment: 1800, TotalInvoiced: 543750}, 88750,
			Invoice{Lines: []Line{{Kind: LineRetainer, Unit: UnitHours, UnitAmount: 500000, Amount: 500000},
				{Kind: LineOverage, Seconds: 9000, Unit: UnitHours, UnitAmount: 17500, Amount: 43750, LateAdjustment: 1800}},
				Subtotal: 543750, TaxRate: 88750, Tax: 48258, Total: 592008}}, // 5,437.50 × 8.875% = 482.578125
		{"after the end: overage only", Figures{Unit: UnitHours, Overage: 3600, OverageRate: 17500, OverageFee: 17500, TotalInvoiced: 17500}, 0,
			Invoice{Lines: []Line{{Kind: LineOverage, Seconds: 3600, Unit: UnitHours, UnitAmount: 17500, Amount: 17500}},
				Subtotal: 17500, Total: 17500}},
		{"nothing to charge", Figures{Unit: UnitHours}, 200000, Invoice{TaxRate: 200000}},
	} {
		got := InvoiceOf(c, tc.f, tc.rate)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
		var sum Money
		for _, l := range got.Lines {
			sum += l.Amount
		}
		if sum != got.Subtotal || got.Subtotal+got.Tax != got.Total {
			t.Errorf("%s: lines sum to %d, subtotal %d, tax %d, total %d", tc.name, sum, got.Subtotal, got.Tax, got.Total)
		}
	}
}
