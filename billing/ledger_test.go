package billing

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomContract draws a contract over 2026: rollover on or off, a cap or
// none (0 included), an expiry or none, term changes, a start and an end or
// none, an opening bank, overage billable or not.
func randomContract(r *rand.Rand, i int) *Contract {
	c := &Contract{
		ID: fmt.Sprintf("k%03d", i), Unit: UnitHours,
		Terms:           Terms{MonthlyHours: h(r.Int64N(60)), MonthlyFee: Money(r.Int64N(1000000)), OverageRate: Money(r.Int64N(30000))},
		OverageBillable: r.IntN(2) == 0,
		Rollover:        r.IntN(4) != 0,
	}
	if r.IntN(3) != 0 {
		c.MaxRollover = ptr(h(r.Int64N(30)))
	}
	if r.IntN(2) == 0 {
		c.ExpiresAfter = 1 + r.IntN(3)
	}
	for n := r.IntN(3); n > 0; n-- {
		ch := TermChange{From: per("2026-01") + Period(r.IntN(12))}
		if r.IntN(2) == 0 {
			ch.MonthlyHours = ptr(h(r.Int64N(60)))
		}
		if r.IntN(2) == 0 {
			ch.OverageRate = ptr(Money(r.Int64N(30000)))
		}
		c.Changes = append(c.Changes, ch)
	}
	if r.IntN(3) != 0 {
		c.Start = ptr(per("2026-01") + Period(r.IntN(6)))
	}
	if r.IntN(3) == 0 {
		end := per("2026-04") + Period(r.IntN(8))
		if c.Start != nil && end < *c.Start {
			end = *c.Start
		}
		c.End = &end
	}
	if r.IntN(3) == 0 {
		c.OpeningBank = r.Int64N(h(20)) + 1
		// As config sets it: the start, or go_live when later.
		c.TakeOver = c.Start
		if c.TakeOver == nil || r.IntN(2) == 0 {
			g := per("2026-02") + Period(r.IntN(4))
			if c.TakeOver == nil || g > *c.TakeOver {
				c.TakeOver = &g
			}
		}
	}
	return c
}

// randomUsage draws counted seconds for each period of 2025-12..2027-03,
// often none, sometimes far over.
func randomUsage(r *rand.Rand) map[Period]int64 {
	used := map[Period]int64{}
	for p := per("2025-12"); p <= per("2027-03"); p++ {
		switch r.IntN(4) {
		case 0: // nothing logged
		case 1:
			used[p] = r.Int64N(h(20))
		default:
			used[p] = r.Int64N(h(90))
		}
	}
	return used
}

func ledgerOf(used map[Period]int64) *Ledger {
	l := &Ledger{Used: func(p Period) int64 { return used[p] }}
	for p := per("2025-12"); p <= per("2027-03"); p++ {
		if used[p] > 0 {
			l.FirstUsed = ptr(p)
			break
		}
	}
	return l
}

func sumLots(lots []Lot) int64 {
	s := int64(0)
	for _, l := range lots {
		s += l.Seconds
	}
	return s
}

// checkConservation checks what a period does with its hours: every banked
// or newly earned second is used, carried out, forfeited to the cap or
// expired, and nothing else; and the lots agree with the figures.
func checkConservation(t *testing.T, c *Contract, f Figures) {
	t.Helper()
	where := fmt.Sprintf("%s %s (rollover %t, cap %v, expiry %d)", c.ID, f.Period, c.Rollover, c.MaxRollover, c.ExpiresAfter)
	if in, out := f.Banked+f.Earned, f.UsedFromLots()+f.RolloverOut+f.Forfeited+f.Expired; in != out {
		t.Fatalf("%s: banked %d + earned %d = %d, but used from lots %d + carried out %d + forfeited %d + expired %d = %d",
			where, f.Banked, f.Earned, in, f.UsedFromLots(), f.RolloverOut, f.Forfeited, f.Expired, out)
	}
	if sumLots(f.LotsIn) != f.Banked || sumLots(f.LotsOut) != f.RolloverOut {
		t.Fatalf("%s: lots in %v (banked %d), lots out %v (carried %d)", where, f.LotsIn, f.Banked, f.LotsOut, f.RolloverOut)
	}
	// The period's own hours: what is not used (after the bank) is earned
	// as a lot when rollover is on, and lost otherwise.
	ownUsed := min(max(f.Used-f.Banked, 0), f.Contracted)
	if want := f.Contracted - ownUsed; c.Rollover && f.Earned != want || !c.Rollover && f.Earned != 0 {
		t.Fatalf("%s: earned %d of %d contracted, %d of them used", where, f.Earned, f.Contracted, ownUsed)
	}
	if f.Used < 0 || f.Available != f.Contracted+f.Banked || f.Remaining-f.Overage != f.Available-f.Used {
		t.Fatalf("%s: used %d, available %d = %d + %d, remaining %d, overage %d", where, f.Used, f.Available, f.Contracted, f.Banked, f.Remaining, f.Overage)
	}
	if c.MaxRollover != nil && f.RolloverOut > *c.MaxRollover {
		t.Fatalf("%s: carries %d over the cap %d", where, f.RolloverOut, *c.MaxRollover)
	}
	for _, l := range f.LotsOut {
		if l.Seconds <= 0 || c.ExpiresAfter > 0 && int(f.Period+1-l.Earned) > c.ExpiresAfter {
			t.Fatalf("%s: carries lot %+v", where, l)
		}
	}
}

// For every contract and period, over random contracts and usage: banked +
// earned = used from lots + carried out + forfeited + expired; each period
// banks exactly what the one before carried out (plus the opening bank at
// the take-over); and computing on from a close, with or without late
// adjustments, keeps the same rules.
func TestLedgerConservation(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 2026))
	last := per("2027-03")
	for i := range 2000 {
		c := randomContract(r, i)
		used := randomUsage(r)
		l := ledgerOf(used)

		var rows []Figures
		l.Run(c, last, DateOf(2027, 4, 1), func(f Figures) { rows = append(rows, f) })
		if len(rows) == 0 || rows[len(rows)-1].Period != last {
			t.Fatalf("%s: ran %d periods", c.ID, len(rows))
		}
		for j, f := range rows {
			checkConservation(t, c, f)
			if j == 0 || !c.Rollover {
				continue
			}
			carried := rows[j-1].RolloverOut
			if c.TakeOver != nil && f.Period == *c.TakeOver {
				carried += c.OpeningBank
			}
			if f.Banked != carried {
				t.Fatalf("%s %s: banked %d, but %d carried in", c.ID, f.Period, f.Banked, carried)
			}
		}

		// Close at a random period: the frozen lots carry on, and without
		// adjustments the open periods come out as before.
		closeAt := rows[0].Period + Period(r.IntN(len(rows)))
		var frozen Figures
		for _, f := range rows {
			if f.Period == closeAt {
				frozen = f
			}
		}
		after := &Ledger{LastClosed: &closeAt, Bank: frozen.LotsOut, Used: l.Used}
		k := 0
		for ; k < len(rows) && rows[k].Period <= closeAt; k++ {
		}
		after.Run(c, last, DateOf(2027, 4, 1), func(f Figures) {
			want := rows[k]
			k++
			if f.Banked != want.Banked || f.Used != want.Used || f.RolloverOut != want.RolloverOut || f.TotalInvoiced != want.TotalInvoiced {
				t.Fatalf("%s %s after closing %s: banked %d used %d out %d total %d, want %d %d %d %d", c.ID, f.Period, closeAt,
					f.Banked, f.Used, f.RolloverOut, f.TotalInvoiced, want.Banked, want.Used, want.RolloverOut, want.TotalInvoiced)
			}
		})

		// Late adjustments, negative ones included, count in the first open
		// period and never take its hours_used below 0.
		after.Adjustment = r.Int64N(h(40)) - h(20)
		after.Run(c, last, DateOf(2027, 4, 1), func(f Figures) {
			checkConservation(t, c, f)
			if f.Period == closeAt+1 && (f.LateAdjustment != after.Adjustment || f.Used != max(used[f.Period]+after.Adjustment, 0)) {
				t.Fatalf("%s %s: adjustment %d, used %d", c.ID, f.Period, f.LateAdjustment, f.Used)
			}
			if f.Period > closeAt+1 && f.LateAdjustment != 0 {
				t.Fatalf("%s %s: adjustment counted again", c.ID, f.Period)
			}
		})
	}
}

// SPEC §4: an open period is computed from the contract's first period — its
// start, or else the month of its earliest entry, or the take-over where an
// opening bank is banked — or from the period after the last close.
func TestLedgerFrom(t *testing.T) {
	mar, may := per("2026-03"), per("2026-05")
	tests := []struct {
		name string
		c    *Contract
		l    Ledger
		p    Period
		want Period
	}{
		{"the start", &Contract{Start: &mar}, Ledger{}, per("2026-06"), mar},
		{"the earliest entry when it comes first", &Contract{Start: &may}, Ledger{FirstUsed: &mar}, per("2026-06"), mar},
		{"the take-over of an opening bank", &Contract{Start: &may, OpeningBank: h(5), TakeOver: &mar}, Ledger{}, per("2026-06"), mar},
		{"nothing before p: p itself", &Contract{}, Ledger{}, per("2026-06"), per("2026-06")},
		{"a start after p: p itself", &Contract{Start: &may}, Ledger{}, mar, mar},
		{"after a close, the next period", &Contract{Start: &mar}, Ledger{LastClosed: &may}, per("2026-09"), per("2026-06")},
	}
	for _, tt := range tests {
		if got := tt.l.From(tt.c, tt.p); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// The opening bank is a lot earned the month before the take-over, usable
// from the take-over on.
func TestLedgerOpeningBank(t *testing.T) {
	c := acme()
	c.Start, c.TakeOver, c.OpeningBank = ptr(per("2026-01")), ptr(per("2026-03")), h(6)
	l := Ledger{Used: func(Period) int64 { return h(40) }}
	var rows []Figures
	l.Run(c, per("2026-03"), DateOf(2026, 4, 1), func(f Figures) { rows = append(rows, f) })
	if len(rows) != 3 || rows[1].Banked != 0 || rows[2].Banked != h(6) || rows[2].LotsIn[0].Earned != per("2026-02") {
		t.Fatalf("rows %+v", rows)
	}
}
