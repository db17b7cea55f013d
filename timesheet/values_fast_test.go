package timesheet

import (
	"fmt"
	"testing"
)

// TestPlainDecimalFastPath: hours written as plain digits and a dot convert
// without normalising, to what the normalising path makes of them.
func TestPlainDecimalFastPath(t *testing.T) {
	var in []string
	for _, s := range []string{"", ".", "0", "1", "1.", ".5", "1.25", "0.5", "12.000000001", "1234567", "12345678",
		"1234567.5", "12345678.5", "1.1234567890", "1.123456789", "1..2", "1.2.3", "+1.5", "-1.5", "1e3", "1,5", "1 5", "٣.٥"} {
		in = append(in, s)
	}
	for i := range 2000 {
		in = append(in, fmt.Sprintf("%d.%02d", i%40, i%100), fmt.Sprint(i))
	}
	fast := 0
	for _, s := range in {
		gotSecs, gotOK := decimalHours(s)
		wantSecs, wantOK := normalisedHours(s)
		if gotSecs != wantSecs || gotOK != wantOK {
			t.Errorf("%q: %d %v, normalised %d %v", s, gotSecs, gotOK, wantSecs, wantOK)
		}
		if plainDecimal(s) {
			fast++
		}
	}
	if fast < 4000 {
		t.Errorf("%d of the plain inputs took the fast path", fast)
	}
}
