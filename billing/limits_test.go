package billing

import (
	"errors"
	"math"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestRangeConstants(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want int64
	}{
		{"MinPeriod", int64(MinPeriod), int64(NewPeriod(MinYear, 1))},
		{"MaxPeriod", int64(MaxPeriod), int64(NewPeriod(MaxYear, 12))},
		{"MinDate", int64(MinDate), int64(DateOf(MinYear, 1, 1))},
		{"MaxDate", int64(MaxDate), int64(DateOf(MaxYear, 12, 31))},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

// TestDatesOutOfRange: a year outside 2000–2100 is refused where it is
// read, never moved to another date (9000-01-01 was logged as 2262-04-11,
// 0001-01-01 imported as 1677-09-21).
func TestDatesOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  string // "" = refused as out of range
		notOK bool   // refused as not a date at all
	}{
		{in: "2000-01-01", want: "2000-01-01"},
		{in: "2026-03-15", want: "2026-03-15"},
		{in: "2100-12-31", want: "2100-12-31"},
		{in: "1999-12-31"},
		{in: "2101-01-01"},
		{in: "9000-01-01"},
		{in: "0001-01-01"},
		{in: "0000-01-01"},
		{in: "2026-02-30", notOK: true},
	} {
		d, err := ParseDate(tc.in)
		switch {
		case tc.notOK:
			if err == nil || errors.Is(err, ErrOutOfRange) {
				t.Errorf("ParseDate(%q) = %s, %v; want not a date", tc.in, d, err)
			}
		case tc.want == "":
			if !errors.Is(err, ErrOutOfRange) || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("ParseDate(%q) = %s, %v; want %v naming it", tc.in, d, err, ErrOutOfRange)
			}
		default:
			if err != nil || d.String() != tc.want || CheckDate(d) != nil {
				t.Errorf("ParseDate(%q) = %s, %v; want %s", tc.in, d, err, tc.want)
			}
		}
	}
}

func TestPeriodsOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		in, want   string // want "" = refused
		outOfRange bool
	}{
		{in: "2000-01", want: "2000-01"},
		{in: "2100-12", want: "2100-12"},
		{in: "1999-12", outOfRange: true},
		{in: "2101-01", outOfRange: true},
		{in: "9999-12", outOfRange: true},
		{in: "0001-01", outOfRange: true},
		{in: "0000-01", outOfRange: true},
		{in: "2026-+1"},
		{in: "+202-01"},
		{in: "2026-13"},
		{in: "2026-3"},
	} {
		p, err := ParsePeriod(tc.in)
		switch {
		case tc.want != "":
			if err != nil || p.String() != tc.want || !p.Valid() {
				t.Errorf("ParsePeriod(%q) = %s, %v; want %s", tc.in, p, err, tc.want)
			}
		case tc.outOfRange:
			if !errors.Is(err, ErrOutOfRange) {
				t.Errorf("ParsePeriod(%q) = %s, %v; want %v", tc.in, p, err, ErrOutOfRange)
			}
		default:
			if err == nil || errors.Is(err, ErrOutOfRange) {
				t.Errorf("ParsePeriod(%q) = %s, %v; want not a period", tc.in, p, err)
			}
		}
	}
}

// TestDateOfIsExact: DateOf no longer saturates a time.Duration 292 years
// from 1970; a date out of range is still itself, for the entrances to
// refuse by name.
func TestDateOfIsExact(t *testing.T) {
	for _, tc := range []struct {
		y, m, d int
		want    string
	}{
		{9000, 1, 1, "9000-01-01"},
		{1, 1, 1, "0001-01-01"},
		{1969, 12, 31, "1969-12-31"},
		{1970, 1, 1, "1970-01-01"},
		{2026, 2, 29, "2026-03-01"}, // normalised like time.Date
	} {
		d := DateOf(tc.y, timeMonth(tc.m), tc.d)
		if d.String() != tc.want {
			t.Errorf("DateOf(%d, %d, %d) = %s, want %s", tc.y, tc.m, tc.d, d, tc.want)
		}
	}
	if DateOf(1969, 12, 31) != -1 {
		t.Errorf("DateOf(1969-12-31) = %d, want -1", DateOf(1969, 12, 31))
	}
	if DateOf(9000, 1, 1).Valid() || DateOf(1, 1, 1).Valid() {
		t.Error("years 9000 and 1 are valid")
	}
}

// TestMulDivRoundNeverPanics: a result beyond int64 is held at its limit
// (MulDivRound) or refused (MulDivRoundChecked); it panicked before.
func TestMulDivRoundNeverPanics(t *testing.T) {
	for _, tc := range []struct {
		a, b, c int64
		want    int64
		ok      bool
	}{
		{4020, 16250, 3600, 18146, true}, // 1h07m at 162.50/h is 181.46
		{-7, 1, 2, -4, true},             // half away from zero
		{7, 1, 2, 4, true},
		{math.MaxInt64, 1, 1, math.MaxInt64, true},
		{math.MaxInt64, math.MaxInt64, 1, math.MaxInt64, false},
		{math.MaxInt64, 2, 1, math.MaxInt64, false},
		{math.MaxInt64, -2, 1, math.MinInt64, false},
		{math.MinInt64, math.MinInt64, 3600, math.MaxInt64, false},
		{1 << 62, 1000, 1, math.MaxInt64, false},
		{5, 5, 0, 0, false},
		{5, 5, -1, 0, false},
	} {
		got := MulDivRound(tc.a, tc.b, tc.c)
		checked, err := MulDivRoundChecked(tc.a, tc.b, tc.c)
		if got != tc.want || (err == nil) != tc.ok || (tc.ok && checked != tc.want) {
			t.Errorf("MulDivRound(%d, %d, %d) = %d (checked %d, %v), want %d ok=%v", tc.a, tc.b, tc.c, got, checked, err, tc.want, tc.ok)
		}
		if !tc.ok && !errors.Is(err, ErrOverflow) {
			t.Errorf("MulDivRoundChecked(%d, %d, %d): %v, want ErrOverflow", tc.a, tc.b, tc.c, err)
		}
	}
}

// TestComputeOverflowIsHeldAndFlagged: a month whose usage is already
// stored and too large for its fee to fit int64 computes (it panicked, and
// every later status with it), with each figure at its limit — never a
// wrapped negative total — and Overflow set.
func TestComputeOverflowIsHeldAndFlagged(t *testing.T) {
	p := NewPeriod(2026, 3)
	for _, tc := range []struct {
		name     string
		used     int64
		rate     Money
		fee      Money
		overflow bool
		total    Money
	}{
		{"ordinary", 45 * 3600, 17500, 500000, false, 587500}, // 5000 + 5 h × 175
		{"fee beyond int64", math.MaxInt64 / 2, MaxAmount, 500000, true, math.MaxInt64},
		{"fee plus retainer beyond int64", math.MaxInt64 - 1000, 3600, MaxAmount, true, math.MaxInt64},
		{"usage beyond int64 with adjustment", math.MaxInt64, 3600, 0, true, math.MaxInt64 - 40*3600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Contract{ID: "k", Unit: UnitHours, OverageBillable: true,
				Terms: Terms{MonthlyHours: 40 * 3600, MonthlyFee: tc.fee, OverageRate: tc.rate}}
			u := Usage{Used: tc.used}
			if tc.name == "usage beyond int64 with adjustment" {
				u.Adjustment = 10
			}
			var f Figures
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("Compute panicked: %v", r)
					}
				}()
				f = Compute(c, p, nil, u, DateOf(2026, 3, 15))
			}()
			if f.Overflow != tc.overflow || f.TotalInvoiced != tc.total || f.TotalInvoiced < 0 || f.OverageFee < 0 {
				t.Errorf("overflow %v total %d fee %d; want overflow %v total %d", f.Overflow, f.TotalInvoiced, f.OverageFee, tc.overflow, tc.total)
			}
			s := Summarize([]Figures{f})
			if s.Overflow != tc.overflow || s.TotalInvoiced != tc.total {
				t.Errorf("summary: overflow %v total %d", s.Overflow, s.TotalInvoiced)
			}
		})
	}
}

// TestSummarizeOverflow: rows that fit but whose sum does not show the sum
// at its limit, flagged; it wrapped to -92,233,720,368,547,758.07.
func TestSummarizeOverflow(t *testing.T) {
	big := Figures{Contracted: 3600, Used: 3600, TotalInvoiced: math.MaxInt64/2 + 1, RetainerFee: math.MaxInt64/2 + 1}
	s := Summarize([]Figures{big, big})
	if !s.Overflow || s.TotalInvoiced != math.MaxInt64 || s.RetainerFee != math.MaxInt64 {
		t.Errorf("summary of two halves: overflow %v total %d", s.Overflow, s.TotalInvoiced)
	}
	s = Summarize([]Figures{{TotalInvoiced: 100}, {TotalInvoiced: 250}})
	if s.Overflow || s.TotalInvoiced != 350 {
		t.Errorf("ordinary summary: overflow %v total %d", s.Overflow, s.TotalInvoiced)
	}
}

func TestKnownCurrency(t *testing.T) {
	if !sort.StringsAreSorted(currencies[:]) {
		t.Fatal("the currency list is not sorted: KnownCurrency searches it")
	}
	for code, want := range map[string]bool{
		"USD": true, "eur": true, "JPY": true, "CLF": true, "XCG": true, "ZWG": true, "VES": true,
		"ZZZ": false, "XXX": false, "XTS": false, "XAU": false, "HRK": false, "": false, "US": false, "USDD": false,
	} {
		if got := KnownCurrency(code); got != want {
			t.Errorf("KnownCurrency(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		in        string
		multiline bool
		want      string // "" = accepted; else part of the error
	}{
		{"Acme Corp", false, ""},
		{"Müller & Söhne — ＡＢＣ 株式会社", false, ""},
		{"عربي", false, ""},
		{"Acme\nCorp", false, "U+000A"},
		{"Acme\rCorp", false, "U+000D"},
		{"Acme\tCorp", false, "U+0009"},
		{"Acme\u202eproC", false, "U+202E"},
		{"Acme\u2066Corp", false, "U+2066"},
		{"Acme\u200bCorp", false, "U+200B"},
		{"Acme\u2028Corp", false, "U+2028"},
		{"Acme\x1bCorp", false, "U+001B"},
		{"Acme\u0085Corp", false, "U+0085"},
		{"Acme\x00Corp", false, "NUL"},
		{"Acme\xffCorp", false, "UTF-8"},
		{"line one\nline two\tx", true, ""},
		{"note\x00", true, "NUL"},
		{"note \u202e", true, "U+202E"},
		{"note \x07", true, "U+0007"},
	} {
		err := CheckText(tc.in, tc.multiline)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckText(%q) = %v, want nil", tc.in, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckText(%q) = %v, want an error naming %s", tc.in, err, tc.want)
		}
	}
}

func TestCleanNameAndNotes(t *testing.T) {
	for _, tc := range []struct{ in, name, notes string }{
		{"Acme Corp", "Acme Corp", "Acme Corp"},
		{"  Acme Corp ", "Acme Corp", "  Acme Corp "},
		{"Acme\nCorp", "Acme Corp", "Acme\nCorp"},
		{"Acme\r\nCorp", "Acme Corp", "Acme\nCorp"},
		{"Acme\rCorp", "Acme Corp", "Acme\nCorp"},
		{"Acme\t\tCorp", "Acme Corp", "Acme\t\tCorp"},
		{"\u202eAcme Corp", "Acme Corp", "Acme Corp"},
		{"Ac\u200bme\u2069", "Acme", "Acme"},
		{"Acme\x1b[31mCorp", "Acme [31mCorp", "Acme [31mCorp"},
		{"Acme\xffCorp", "Acme\ufffdCorp", "Acme\ufffdCorp"},
		{"Müller", "Müller", "Müller"},
	} {
		if got := CleanName(tc.in); got != tc.name {
			t.Errorf("CleanName(%q) = %q, want %q", tc.in, got, tc.name)
		}
		if got := CleanNotes(tc.in); got != tc.notes {
			t.Errorf("CleanNotes(%q) = %q, want %q", tc.in, got, tc.notes)
		}
		if err := CheckText(CleanName(tc.in), false); err != nil {
			t.Errorf("CleanName(%q) is not clean: %v", tc.in, err)
		}
		if NormalizeName(tc.in) != NormalizeName(CleanName(tc.in)) {
			t.Errorf("NormalizeName(%q) = %q, but of its clean form %q", tc.in, NormalizeName(tc.in), NormalizeName(CleanName(tc.in)))
		}
	}
}

func timeMonth(m int) time.Month { return time.Month(m) }
