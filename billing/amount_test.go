package billing

import "testing"

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"2.5", 9000, false},
		{" 1.25 ", 4500, false},
		{".5", 1800, false},
		{"2:30", 9000, false},
		{"0:05", 300, false},
		{"2h30m", 9000, false},
		{"30h", 108000, false},
		{"45m", 2700, false},
		{"90s", 90, false},
		{"1h1m1s", 3661, false},
		{"-1", -3600, false}, // negative: refused by the caller, as in the CLI
		{"2:3", 0, true},
		{"2:60", 0, true},
		{"2h30", 0, true},
		{"h", 0, true},
		{"", 0, true},
		{"1,5", 0, true},
		{"10000001:00", 0, true},
		{"9999999999h", 0, true},
		{"0:07", 420, false},
		{"1h7m", 4020, false},
		{"120", 432000, false},
		{"abc", 0, true},
		// A sign in every form: the CLI says "negative amount" rather than
		// "want decimal hours" when someone types -0:30.
		{"-0:30", -1800, false},
		{"-1.5", -5400, false},
		{"-2h", -7200, false},
		{"+2:30", 9000, false},
		{"--2", 0, true},
		{"-+2", 0, true},
		{"-", 0, true},
	} {
		got, err := ParseAmount(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestCheckHours(t *testing.T) {
	for _, tc := range []struct {
		seconds int64
		ok      bool
	}{
		{1, true},
		{744 * 3600, true},
		{744*3600 + 1, false},
		{10_000 * 3600, false},
	} {
		err := CheckHours(tc.seconds)
		if (err == nil) != tc.ok {
			t.Errorf("CheckHours(%d) = %v, want ok %t", tc.seconds, err, tc.ok)
		}
		if err != nil && err.Error() != "more than a month of hours (744 at most)" {
			t.Errorf("CheckHours(%d) = %q", tc.seconds, err)
		}
	}
}
