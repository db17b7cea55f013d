package billing

import "testing"

func h(hours int64) int64 { return hours * 3600 }
func ptr[T any](v T) *T   { return &v }
func per(s string) Period {
	p, err := ParsePeriod(s)
	if err != nil {
		panic(err)
	}
	return p
}

// acme is the seed contract of SPEC §4.
func acme() *Contract {
	return &Contract{
		ID: "acme-001", Client: "Acme Corp", Unit: UnitHours,
		Terms:           Terms{MonthlyHours: h(40), MonthlyFee: 500000, HourlyRate: 15000, OverageRate: 17500},
		OverageBillable: true, Rollover: true, MaxRollover: ptr(h(10)),
	}
}

func TestWorkedExample(t *testing.T) {
	c := acme()
	c.Start = ptr(per("2026-01"))
	used := map[string]int64{"2026-01": h(28), "2026-02": h(47), "2026-03": h(45)}
	l := Ledger{Used: func(p Period) int64 { return used[p.String()] }}
	var rows []Figures
	l.Run(c, per("2026-03"), DateOf(2026, 12, 1), func(f Figures) { rows = append(rows, f) })
	type want struct {
		banked, avail, used, remaining, overage, forfeited, out int64
		fee, total                                              Money
	}
	wants := []want{
		{0, h(40), h(28), h(12), 0, h(2), h(10), 0, 500000},
		{h(10), h(50), h(47), h(3), 0, 0, h(3), 0, 500000},
		{h(3), h(43), h(45), 0, h(2), 0, 0, 35000, 535000},
	}
	for i, w := range wants {
		f := rows[i]
		got := want{f.Banked, f.Available, f.Used, f.Remaining, f.Overage, f.Forfeited, f.RolloverOut, f.OverageFee, f.TotalInvoiced}
		if got != w {
			t.Errorf("%s: got %+v, want %+v", f.Period, got, w)
		}
	}
	if u := rows[2].Utilization; !u.Valid || u.Tenths != 1047 {
		t.Errorf("March utilization = %v, want 104.7", u)
	}
	if b := rows[2].BurnRate; b.Tenths != 1125 {
		t.Errorf("March burn rate = %v, want 112.5", b)
	}
	if len(rows[1].LotsOut) != 1 || rows[1].LotsOut[0].Earned != per("2026-02") {
		t.Errorf("February lots out = %+v, want only the February lot (January's used first)", rows[1].LotsOut)
	}
}

func TestRules(t *testing.T) {
	apr := per("2026-04")
	tests := []struct {
		name  string
		c     func() *Contract
		p     Period
		bank  []Lot
		usage Usage
		check func(t *testing.T, f Figures)
	}{
		{"exactly 100% is not overage", acme, apr, nil, Usage{Used: h(40)}, func(t *testing.T, f Figures) {
			if f.Overage != 0 || f.OverageFee != 0 || f.Remaining != 0 || f.Utilization.Tenths != 1000 {
				t.Errorf("got %+v", f)
			}
		}},
		{"zero contracted hours: percentages null", func() *Contract {
			c := acme()
			c.Terms.MonthlyHours = 0
			return c
		}, apr, nil, Usage{Used: h(2)}, func(t *testing.T, f Figures) {
			if f.Utilization.Valid || f.BurnRate.Valid || f.Utilization.String() != "—" {
				t.Errorf("percentages should be null: %+v %+v", f.Utilization, f.BurnRate)
			}
			if f.Overage != h(2) || f.OverageFee != 35000 {
				t.Errorf("overage = %d fee %d", f.Overage, f.OverageFee)
			}
		}},
		{"cap forfeits oldest hours first", acme, apr, []Lot{{per("2026-02"), h(6)}, {per("2026-03"), h(4)}}, Usage{Used: h(30)},
			func(t *testing.T, f Figures) {
				// 10 banked + 40 own, 30 used: both lots used, own 20 left -> lot 20, cap 10 forfeits 10.
				if f.Forfeited != h(10) || f.RolloverOut != h(10) || len(f.LotsOut) != 1 || f.LotsOut[0].Earned != apr {
					t.Errorf("got forfeited %d out %+v", f.Forfeited, f.LotsOut)
				}
			}},
		{"cap takes the oldest lot before a newer one", acme, apr, []Lot{{per("2026-03"), h(8)}}, Usage{Used: h(36)},
			func(t *testing.T, f Figures) {
				// 8 banked used first, own 28 used, 12 left: lots 0 + 12 -> cap 10, forfeit 2 of April's.
				if f.Forfeited != h(2) || f.RolloverOut != h(10) {
					t.Errorf("got forfeited %d out %d", f.Forfeited, f.RolloverOut)
				}
			}},
		{"a lot expires after its months", func() *Contract {
			c := acme()
			c.ExpiresAfter = 1
			c.MaxRollover = ptr(h(5))
			return c
		}, apr, []Lot{{per("2026-03"), h(5)}}, Usage{Used: h(38)}, func(t *testing.T, f Figures) {
			// March lot usable in April only: 5 banked used first, own 33 used, 7 left -> cap 5 (2 forfeited).
			if f.Banked != h(5) || f.Forfeited != h(2) || f.RolloverOut != h(5) || f.Expired != 0 {
				t.Errorf("got %+v", f)
			}
		}},
		{"an unused lot expires at the start of the next period", func() *Contract {
			c := acme()
			c.ExpiresAfter = 1
			c.MaxRollover = nil
			return c
		}, apr, []Lot{{per("2026-03"), h(5)}}, Usage{Used: 0}, func(t *testing.T, f Figures) {
			if f.Expired != h(5) || f.RolloverOut != h(40) || f.LotsOut[0].Earned != apr {
				t.Errorf("got expired %d out %+v", f.Expired, f.LotsOut)
			}
		}},
		{"no rollover never banks", func() *Contract {
			c := acme()
			c.Rollover = false
			return c
		}, apr, []Lot{{per("2026-03"), h(5)}}, Usage{Used: h(10)}, func(t *testing.T, f Figures) {
			if f.Banked != 0 || f.RolloverOut != 0 || f.Earned != 0 {
				t.Errorf("got %+v", f)
			}
		}},
		{"non-billable overage is recorded with no fee", func() *Contract {
			c := acme()
			c.OverageBillable = false
			return c
		}, apr, nil, Usage{Used: h(45)}, func(t *testing.T, f Figures) {
			if f.Overage != h(5) || f.OverageFee != 0 || f.TotalInvoiced != 500000 {
				t.Errorf("got %+v", f)
			}
		}},
		{"after end: no fee, no new lot, bank first then overage", func() *Contract {
			c := acme()
			c.End = ptr(per("2026-03"))
			return c
		}, apr, []Lot{{per("2026-03"), h(4)}}, Usage{Used: h(6)}, func(t *testing.T, f Figures) {
			if f.Contracted != 0 || f.RetainerFee != 0 || f.Banked != h(4) || f.Overage != h(2) ||
				f.OverageFee != 35000 || f.Earned != 0 || f.BurnRate.Valid {
				t.Errorf("got %+v", f)
			}
		}},
		{"before start: nothing contracted", func() *Contract {
			c := acme()
			c.Start = ptr(per("2026-05"))
			return c
		}, apr, nil, Usage{}, func(t *testing.T, f Figures) {
			if f.Contracted != 0 || f.RetainerFee != 0 || f.Listed(acme()) != true {
				t.Errorf("got %+v", f)
			}
		}},
		{"one-cent rounding: 1h07m at 162.50/h", func() *Contract {
			c := acme()
			c.Terms.OverageRate = 16250
			c.Rollover = false
			return c
		}, apr, nil, Usage{Used: h(40) + 67*60}, func(t *testing.T, f Figures) {
			if f.OverageFee != 18146 {
				t.Errorf("fee = %d, want 18146", f.OverageFee)
			}
		}},
		{"negative late adjustment never below zero", acme, apr, nil, Usage{Used: h(1), Adjustment: -h(3)}, func(t *testing.T, f Figures) {
			if f.Used != 0 || f.LateAdjustment != -h(3) {
				t.Errorf("got used %d adj %d", f.Used, f.LateAdjustment)
			}
		}},
		{"late adjustment counts in the period", acme, apr, nil, Usage{Used: h(39), Adjustment: h(2)}, func(t *testing.T, f Figures) {
			if f.Used != h(41) || f.Overage != h(1) {
				t.Errorf("got used %d overage %d", f.Used, f.Overage)
			}
		}},
		{"sessions: whole sessions, fee per session", func() *Contract {
			return &Contract{ID: "s", Unit: UnitSessions, OverageBillable: true,
				Terms: Terms{MonthlyHours: 4 * SessionSeconds, MonthlyFee: 100000, OverageRate: 25000}}
		}, apr, nil, Usage{Used: 6 * SessionSeconds}, func(t *testing.T, f Figures) {
			if FormatQuantity(f.Overage, UnitSessions) != "2" || f.OverageFee != 50000 || f.Utilization.Tenths != 1500 {
				t.Errorf("got %+v", f)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, Compute(tt.c(), tt.p, tt.bank, tt.usage, DateOf(2027, 1, 1)))
		})
	}
}

func TestTermsChangeMidYear(t *testing.T) {
	c := acme()
	c.Changes = []TermChange{
		{From: per("2026-10"), OverageRate: ptr(Money(20000))},
		{From: per("2026-07"), MonthlyHours: ptr(h(60)), MonthlyFee: ptr(Money(720000))},
	}
	tests := []struct {
		p           string
		hours       int64
		fee, over   Money
		hourlyStays Money
	}{
		{"2026-06", h(40), 500000, 17500, 15000},
		{"2026-07", h(60), 720000, 17500, 15000},
		{"2026-12", h(60), 720000, 20000, 15000},
	}
	for _, tt := range tests {
		got := c.TermsAt(per(tt.p))
		if got.MonthlyHours != tt.hours || got.MonthlyFee != tt.fee || got.OverageRate != tt.over || got.HourlyRate != tt.hourlyStays {
			t.Errorf("%s: got %+v", tt.p, got)
		}
	}
}

func TestCounted(t *testing.T) {
	tests := []struct {
		name     string
		unit     Unit
		rounding int
		nonBill  bool
		seconds  int64
		billable bool
		want     int64
	}{
		{"plain", UnitHours, 0, false, 61, true, 61},
		{"6-minute rounding up", UnitHours, 6, false, 61, true, 360},
		{"6-minute exact stays", UnitHours, 6, false, 720, true, 720},
		{"15-minute rounding up", UnitHours, 15, false, 16 * 60, true, 30 * 60},
		{"15-minute one second over", UnitHours, 15, false, 15*60 + 1, true, 30 * 60},
		{"non-billable not counted", UnitHours, 0, false, 3600, false, 0},
		{"non-billable counted when asked", UnitHours, 15, true, 60, false, 900},
		{"session whatever its length", UnitSessions, 15, false, 10, true, SessionSeconds},
		{"zero stays zero", UnitHours, 15, false, 0, true, 0},
	}
	for _, tt := range tests {
		c := &Contract{Unit: tt.unit, RoundingMinutes: tt.rounding, CountNonBillable: tt.nonBill}
		if got := c.Counted(tt.seconds, tt.billable); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestProjection(t *testing.T) {
	p := per("2026-03") // 22 business days; Mar 1 is a Sunday
	tests := []struct {
		asOf Date
		used int64
		want int64
	}{
		{DateOf(2026, 3, 1), h(5), h(5)},    // nothing elapsed
		{DateOf(2026, 3, 2), h(2), h(44)},   // 1 day elapsed
		{DateOf(2026, 3, 13), h(20), h(44)}, // 10 elapsed
		{DateOf(2026, 4, 2), h(30), h(30)},  // past the period
		{DateOf(2026, 2, 20), h(1), h(1)},   // before the period
		{DateOf(2026, 3, 4), 100, 733},      // 3 elapsed: 100×22/3 = 733.3
	}
	for _, tt := range tests {
		if got := Project(tt.used, p, tt.asOf); got != tt.want {
			t.Errorf("as of %s used %d: got %d, want %d", tt.asOf, tt.used, got, tt.want)
		}
	}
	if n := BusinessDays(p.FirstDay(), p.LastDay()); n != 22 {
		t.Errorf("business days in March 2026 = %d", n)
	}
}

func TestNumbers(t *testing.T) {
	pcts := []struct {
		num, den int64
		want     string
	}{{5125, 10000, "51.3"}, {2, 3, "66.7"}, {1, 0, "—"}, {0, 5, "0.0"}, {45, 43, "104.7"}}
	for _, tt := range pcts {
		if got := Percent(tt.num, tt.den).String(); got != tt.want {
			t.Errorf("Percent(%d,%d) = %s, want %s", tt.num, tt.den, got, tt.want)
		}
	}
	hours := []struct {
		in      string
		seconds int64
	}{{"2.5", 9000}, {"37.5", 135000}, {"0.01", 36}, {"40", 144000}, {"0.001", 4}}
	for _, tt := range hours {
		if got, err := ParseHours(tt.in); err != nil || got != tt.seconds {
			t.Errorf("ParseHours(%q) = %d, %v", tt.in, got, err)
		}
	}
	money := []struct {
		in   string
		want int64
		err  bool
	}{{"162.50", 16250, false}, {"5000", 500000, false}, {"0.1", 10, false}, {"1.005", 0, true}, {"abc", 0, true}, {"", 0, true}}
	for _, tt := range money {
		got, err := ParseDecimal(tt.in, 2)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseDecimal(%q) = %d, %v", tt.in, got, err)
		}
	}
	if s := Money(587500).Format("USD"); s != "USD 5,875.00" {
		t.Errorf("format = %s", s)
	}
	if s := Money(-123456789).Format("JPY"); s != "JPY -123,456,789" {
		t.Errorf("format = %s", s)
	}
	if s := FormatQuantity(h(1)+18, UnitHours); s != "1.01" { // 1.005 h rounds half away
		t.Errorf("quantity = %s", s)
	}
	if got := MulDivRound(-5, 1, 2); got != -3 {
		t.Errorf("half away from zero for negatives: %d", got)
	}
}

func TestMatcher(t *testing.T) {
	a := &Contract{ID: "a", Client: "Acme Corp", Match: []string{"ACME-WEB", "Acme Website"}}
	old := &Contract{ID: "b-old", Client: "Beta", End: ptr(per("2026-03"))}
	nw := &Contract{ID: "b-new", Client: "beta", Start: ptr(per("2026-04"))}
	late := &Contract{ID: "c", Client: "Cyan", Start: ptr(per("2026-06")), End: ptr(per("2026-08"))}
	m := NewMatcher([]*Contract{a, old, nw, late})
	tests := []struct {
		client, project, code string
		d                     Date
		want                  string
	}{
		{"  acme   corp ", "", "", DateOf(2026, 1, 2), "a"},
		{"", "Acme Website", "", DateOf(2026, 1, 2), "a"},
		{"Someone", "x", "acme-web", DateOf(2026, 1, 2), "a"},
		{"Beta", "", "", DateOf(2026, 2, 2), "b-old"},
		{"Beta", "", "", DateOf(2026, 5, 2), "b-new"},
		{"", "", "", DateOf(2026, 5, 2), ""},
		{"Gamma", "", "", DateOf(2026, 5, 2), ""},
		// SPEC §13: before start an entry counts nowhere; after end it still counts.
		{"Cyan", "", "", DateOf(2026, 5, 31), ""},
		{"Cyan", "", "", DateOf(2026, 6, 1), "c"},
		{"Cyan", "", "", DateOf(2026, 12, 1), "c"},
	}
	for _, tt := range tests {
		if got := m.Match(tt.client, tt.project, tt.code, tt.d); got != tt.want {
			t.Errorf("Match(%q,%q,%q) = %q, want %q", tt.client, tt.project, tt.code, got, tt.want)
		}
	}
}

func TestBurndown(t *testing.T) {
	p := per("2026-03") // Sunday 1st: first week is one day
	daily := map[Date]int64{DateOf(2026, 3, 1): h(1), DateOf(2026, 3, 4): h(10), DateOf(2026, 3, 31): h(2)}
	w := Burndown(p, daily, 0, h(12))
	if len(w) != 6 {
		t.Fatalf("weeks = %d, want 6", len(w))
	}
	if w[0].From != DateOf(2026, 3, 1) || w[0].To != DateOf(2026, 3, 1) || w[0].Hours != h(1) {
		t.Errorf("first week %+v", w[0])
	}
	if w[1].From != DateOf(2026, 3, 2) || w[1].To != DateOf(2026, 3, 8) || w[1].Cumulative != h(11) || w[1].Remaining != h(1) {
		t.Errorf("second week %+v", w[1])
	}
	last := w[len(w)-1]
	if last.From != DateOf(2026, 3, 30) || last.To != DateOf(2026, 3, 31) || last.Cumulative != h(13) || last.Remaining != 0 {
		t.Errorf("last week %+v", last)
	}
}
