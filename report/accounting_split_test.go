package report

import (
	"reflect"
	"testing"

	"retainer/billing"
)

// TestLineTaxes: the invoice's tax is split over its lines so that the line
// taxes sum to it exactly, by the largest remainder method.
func TestLineTaxes(t *testing.T) {
	lines := func(amounts ...billing.Money) []billing.Line {
		out := make([]billing.Line, len(amounts))
		for i, a := range amounts {
			out[i] = billing.Line{Kind: billing.LineOverage, Amount: a}
		}
		return out
	}
	tests := []struct {
		name    string
		amounts []billing.Money
		tax     billing.Money
		want    []billing.Money
	}{
		{"one line takes it all", []billing.Money{500000}, 100000, []billing.Money{100000}},
		{"exact shares", []billing.Money{280000, 41250}, 64250, []billing.Money{56000, 8250}},
		// 10% of 518146 is 51814.6 → 51815; the shares are 50000.09… and
		// 1814.90…: the unit left over goes to the larger remainder.
		{"JPY", []billing.Money{500000, 18146}, 51815, []billing.Money{50000, 1815}},
		// Three lines of 0.05 at 10%: the tax on the subtotal is round(1.5)
		// = 2 cents; rounding each line (round(0.5) = 1 each) would say 3.
		{"rounding each line would overshoot", []billing.Money{5, 5, 5}, 2, []billing.Money{1, 1, 0}},
		// Two lines of 0.25 at 10%: round(5.0) = 5, while each line alone
		// rounds 2.5 up to 3: 6. The tie goes to the earlier line.
		{"tie to the earlier line", []billing.Money{25, 25}, 5, []billing.Money{3, 2}},
		// Shares 0.75 and 2.25: the smaller line has the larger remainder.
		{"the larger remainder, not the larger line", []billing.Money{10, 30}, 3, []billing.Money{1, 2}},
		{"no tax", []billing.Money{500000, 40833}, 0, []billing.Money{0, 0}},
		{"a credit's negative tax", []billing.Money{25, 25}, -5, []billing.Money{-3, -2}},
		{"nothing to share by", []billing.Money{0, 0}, 7, []billing.Money{7, 0}},
		{"no lines", nil, 0, []billing.Money{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lineTaxes(lines(tt.amounts...), tt.tax)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("lineTaxes(%v, %d) = %v, want %v", tt.amounts, tt.tax, got, tt.want)
			}
			var sum billing.Money
			for _, m := range got {
				sum += m
			}
			if sum != tt.tax {
				t.Errorf("line taxes sum to %d, not the invoice's %d", sum, tt.tax)
			}
		})
	}
}

// TestLineTaxesSumProperty: whatever the amounts, the shares sum to the tax
// and none is more than one unit from its exact share.
func TestLineTaxesSumProperty(t *testing.T) {
	for a := billing.Money(1); a < 400; a += 7 {
		for b := billing.Money(0); b < 300; b += 11 {
			for _, rate := range []billing.TaxRate{0, 50000, 88750, 200000, 1000000} {
				ls := []billing.Line{{Amount: a}, {Amount: b}, {Amount: a + b}}
				tax := rate.Tax(2 * (a + b))
				got := lineTaxes(ls, tax)
				var sum billing.Money
				for i, m := range got {
					sum += m
					exact := float64(tax) * float64(ls[i].Amount) / float64(2*(a+b))
					if d := float64(m) - exact; d <= -1 || d >= 1 {
						t.Fatalf("amounts %d %d rate %s: line %d gets %d, exact share %.3f", a, b, rate, i, m, exact)
					}
				}
				if sum != tax {
					t.Fatalf("amounts %d %d rate %s: %v sums to %d, not %d", a, b, rate, got, sum, tax)
				}
			}
		}
	}
}

// TestLineQuantity: the quantity and unit price multiply back into the
// line's exact amount; the hours are the quantity only when they do.
func TestLineQuantity(t *testing.T) {
	over := func(secs int64, rate billing.Money, u billing.Unit) billing.Line {
		return billing.Line{Kind: billing.LineOverage, Seconds: secs, Unit: u, UnitAmount: rate, Amount: billing.OverageFee(secs, rate)}
	}
	tests := []struct {
		name     string
		line     billing.Line
		quantity string
		unit     billing.Money
		exact    bool
	}{
		{"retainer fee", billing.Line{Kind: billing.LineRetainer, Unit: billing.UnitHours, UnitAmount: 500000, Amount: 500000}, "1", 500000, true},
		// 2.33 h × 175.00 would be 407.75; the fee is 408.33.
		{"2 h 20 min at 175.00", over(8400, 17500, billing.UnitHours), "1", 40833, false},
		{"2 h 30 min at 175.00", over(9000, 17500, billing.UnitHours), "2.5", 17500, true},
		{"2 h 15 min at 175.00", over(8100, 17500, billing.UnitHours), "2.25", 17500, true},
		{"10 h at 175.00", over(36000, 17500, billing.UnitHours), "10", 17500, true},
		// SPEC §1: 1h07m at 162.50 is 181.46, not 1.12 h × 162.50 = 182.00.
		{"1 h 07 min at 162.50", over(4020, 16250, billing.UnitHours), "1", 18146, false},
		// 0.01 h at 0.50 is 0.005: rounded, so not a product of the two.
		{"36 s at 0.50", over(36, 50, billing.UnitHours), "1", 1, false},
		{"JPY 1 h 30 min at ¥16,250", over(5400, 16250, billing.UnitHours), "1.5", 16250, true},
		{"3 sessions at 250.00", over(3*billing.SessionSeconds, 25000, billing.UnitSessions), "3", 25000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, u, exact := lineQuantity(tt.line)
			if q != tt.quantity || u != tt.unit || exact != tt.exact {
				t.Fatalf("lineQuantity = %s × %d (exact %v), want %s × %d (exact %v)", q, u, exact, tt.quantity, tt.unit, tt.exact)
			}
		})
	}
}

func TestAddressLines(t *testing.T) {
	tests := []struct {
		in   string
		want [4]string
	}{
		{"", [4]string{}},
		{"1 Main St", [4]string{"1 Main St"}},
		{"1 Main St\n\n  Suite   5 \nSpringfield", [4]string{"1 Main St", "Suite 5", "Springfield"}},
		{"a\nb\nc\nd\ne\nf", [4]string{"a", "b", "c", "d, e, f"}},
	}
	for _, tt := range tests {
		if got := addressLines(tt.in); got != tt.want {
			t.Errorf("addressLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDuration(t *testing.T) {
	for secs, want := range map[int64]string{8400: "2h20m", 2700: "45m", 3605: "1h00m05s", 7200: "2h", 65: "1m05s", 4020: "1h07m"} {
		if got := duration(secs); got != want {
			t.Errorf("duration(%d) = %q, want %q", secs, got, want)
		}
	}
}
