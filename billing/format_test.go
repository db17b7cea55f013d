package billing

import (
	"fmt"
	"math"
	"strconv"
	"testing"
)

// formatScaledSprintf is how figures were formatted before appendScaled:
// the reference every faster formatter must equal byte for byte.
func formatScaledSprintf(v int64, scale int) string {
	neg := v < 0
	u := abs64(v)
	pow := uint64(1)
	for i := 0; i < scale; i++ {
		pow *= 10
	}
	s := strconv.FormatUint(u/pow, 10)
	if scale > 0 {
		s += "." + fmt.Sprintf("%0*d", scale, u%pow)
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Money, quantities and percentages format as they always did, at every
// scale a currency has, at the int64 limits and around every power of ten.
func TestAppendScaledMatchesSprintf(t *testing.T) {
	values := []int64{0, 1, -1, 5, -5, 9, 10, 11, 99, 100, 101, 999, 1000, 1001, 5350_00, -5350_00, 12_345_678_901,
		math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, int64(MaxAmount), -int64(MaxAmount)}
	for p := int64(1); p < math.MaxInt64/10; p *= 10 {
		values = append(values, p-1, p, p+1, -p+1, -p, -p-1)
	}
	for _, v := range values {
		for scale := 0; scale <= 4; scale++ {
			want := formatScaledSprintf(v, scale)
			if got := formatScaled(v, scale); got != want {
				t.Errorf("formatScaled(%d, %d) = %q, want %q", v, scale, got, want)
			}
			if got := string(Money(v).AppendDecimal([]byte("x"), scale)); got != "x"+want {
				t.Errorf("AppendDecimal(%d, %d) = %q, want %q", v, scale, got, "x"+want)
			}
		}
		for _, u := range []Unit{UnitHours, UnitSessions} {
			if got, want := string(AppendQuantity(nil, v, u)), FormatQuantity(v, u); got != want {
				t.Errorf("AppendQuantity(%d, %s) = %q, want %q", v, u, got, want)
			}
		}
		p := Pct{Tenths: v, Valid: true}
		if got, want := string(p.AppendString(nil)), formatScaledSprintf(v, 1); got != want || p.String() != want {
			t.Errorf("Pct %d: %q, %q, want %q", v, got, p.String(), want)
		}
	}
	if got := string(Pct{}.AppendString(nil)); got != "—" {
		t.Errorf("invalid Pct = %q", got)
	}
	for _, tt := range []struct {
		m      Money
		digits int
		want   string
	}{{535000, 2, "5350.00"}, {-7, 2, "-0.07"}, {1234, 0, "1234"}, {-1, 3, "-0.001"}, {100000, 4, "10.0000"}} {
		if got := tt.m.Decimal(tt.digits); got != tt.want {
			t.Errorf("Money(%d).Decimal(%d) = %q, want %q", tt.m, tt.digits, got, tt.want)
		}
	}
}
