package billing

import "sort"

// Lot is rollover: unused contracted hours earned in one period and carried
// forward.
type Lot struct {
	Earned  Period
	Seconds int64
}

// Usage is what was logged for a contract in one period.
type Usage struct {
	Used       int64 // counted seconds of the entries dated in the period
	Adjustment int64 // late adjustments from closed periods counted here (may be negative)
}

// Figures is the burn tracker row of one contract in one period, plus what
// the close of that period carries forward.
type Figures struct {
	ContractID string
	Period     Period
	Unit       Unit

	Contracted     int64
	Banked         int64
	Available      int64
	Used           int64 // including LateAdjustment, never below 0
	LateAdjustment int64
	Remaining      int64
	Overage        int64
	Projected      int64

	OverageRate   Money
	OverageFee    Money
	RetainerFee   Money
	TotalInvoiced Money

	Utilization Pct
	BurnRate    Pct

	// Overflow is set when a figure did not fit int64 and is held at its
	// limit: within the config's bounds only a contract-month of more than
	// twelve thousand month-long entries gets there (see MaxAmount). Every
	// figure is still computed; none wraps round to a wrong sign, and
	// nothing panics.
	Overflow bool

	LotsIn      []Lot // banked lots carried into the period, oldest first
	LotsOut     []Lot // lots carried into the next period, after cap and expiry
	Earned      int64 // the period's own unused hours that became a lot
	Forfeited   int64 // removed by the cap at close
	Expired     int64 // lots past their expiry at the start of the next period
	RolloverOut int64 // sum of LotsOut
}

// Compute returns contract c's figures for period p, given the lots banked
// into p (already past expiry), its usage and the as-of date for projection.
//
// The arithmetic is checked: a figure too large for int64 is held at its
// limit and sets Overflow (see MaxAmount for what that takes).
func Compute(c *Contract, p Period, bank []Lot, u Usage, asOf Date) Figures {
	f := Figures{ContractID: c.ID, Period: p, Unit: c.Unit}
	var k checked
	var terms Terms
	if c.Active(p) {
		terms = c.TermsAt(p)
		f.Contracted = terms.MonthlyHours
		f.RetainerFee = terms.MonthlyFee
	} else {
		terms = c.TermsAt(p) // the overage rate still applies after end
	}
	f.OverageRate = terms.OverageRate

	lots := make([]Lot, 0, len(bank)+1)
	if c.Rollover {
		for _, l := range bank {
			if l.Seconds > 0 {
				lots = append(lots, l)
			}
		}
	}
	sort.SliceStable(lots, func(i, j int) bool { return lots[i].Earned < lots[j].Earned })
	f.LotsIn = append([]Lot(nil), lots...)
	for _, l := range lots {
		f.Banked = k.add(f.Banked, l.Seconds)
	}
	f.Available = k.add(f.Contracted, f.Banked)

	f.LateAdjustment = u.Adjustment
	f.Used = k.add(u.Used, u.Adjustment)
	if f.Used < 0 {
		f.Used = 0
	}
	f.Remaining = max(k.sub(f.Available, f.Used), 0)
	f.Overage = max(k.sub(f.Used, f.Available), 0)
	if c.OverageBillable {
		f.OverageFee = Money(k.mulDiv(f.Overage, int64(f.OverageRate), 3600))
	}
	f.TotalInvoiced = Money(k.add(int64(f.RetainerFee), int64(f.OverageFee)))
	f.Utilization = k.percent(f.Used, f.Available)
	f.BurnRate = k.percent(f.Used, f.Contracted)
	f.Projected = project(&k, f.Used, p, asOf)

	// Consumption: banked lots oldest first, then the period's own hours.
	rest := f.Used
	for i := range lots {
		take := min(lots[i].Seconds, rest)
		lots[i].Seconds -= take
		rest -= take
	}
	ownUnused := f.Contracted - min(rest, f.Contracted)
	kept := lots[:0]
	for _, l := range lots {
		if l.Seconds > 0 {
			kept = append(kept, l)
		}
	}
	lots = kept
	if c.Rollover && ownUnused > 0 {
		f.Earned = ownUnused
		lots = append(lots, Lot{Earned: p, Seconds: ownUnused})
	}

	// The cap removes the oldest hours first.
	if c.Rollover && c.MaxRollover != nil {
		total := int64(0)
		for _, l := range lots {
			total = k.add(total, l.Seconds)
		}
		excess := total - *c.MaxRollover
		for i := range lots {
			if excess <= 0 {
				break
			}
			take := min(lots[i].Seconds, excess)
			lots[i].Seconds -= take
			excess -= take
			f.Forfeited += take
		}
	}

	// Lots earned more than ExpiresAfter months before the next period expire.
	next := p + 1
	for _, l := range lots {
		if l.Seconds == 0 {
			continue
		}
		if c.ExpiresAfter > 0 && int(next-l.Earned) > c.ExpiresAfter {
			f.Expired += l.Seconds
			continue
		}
		f.LotsOut = append(f.LotsOut, l)
		f.RolloverOut = k.add(f.RolloverOut, l.Seconds)
	}
	f.Overflow = k.overflow
	return f
}

// Project extrapolates used over the business days of p from the business
// days elapsed through asOf (inclusive). It returns used itself when nothing
// has elapsed or p is already over on asOf.
func Project(used int64, p Period, asOf Date) int64 {
	var k checked
	return project(&k, used, p, asOf)
}

func project(k *checked, used int64, p Period, asOf Date) int64 {
	first, last := p.FirstDay(), p.LastDay()
	if asOf > last {
		return used
	}
	elapsed := BusinessDays(first, asOf)
	if elapsed == 0 {
		return used
	}
	return k.mulDiv(used, BusinessDays(first, last), elapsed)
}

// Elapsed returns the business days of p from its first day through asOf.
func Elapsed(p Period, asOf Date) int64 {
	return BusinessDays(p.FirstDay(), min(asOf, p.LastDay()))
}

// Listed reports whether a contract appears in period p: within its
// start..end, or with banked or used hours.
func (f *Figures) Listed(c *Contract) bool {
	return c.Active(f.Period) || f.Banked != 0 || f.Used != 0
}

// Summary is the monthly summary row over all contracts of one period.
type Summary struct {
	Contracted    int64
	Used          int64
	Overage       int64
	OverageFee    Money
	RetainerFee   Money
	TotalInvoiced Money
	AvgBurnRate   Pct
	// Overflow is set when a row was, or a sum would be, beyond int64: the
	// sum is held at its limit rather than wrapping round to a negative
	// total.
	Overflow bool
}

// Summarize adds up the rows of one period, with checked sums.
func Summarize(rows []Figures) Summary {
	var s Summary
	var k checked
	for _, f := range rows {
		s.Contracted = k.add(s.Contracted, f.Contracted)
		s.Used = k.add(s.Used, f.Used)
		s.Overage = k.add(s.Overage, f.Overage)
		s.OverageFee = Money(k.add(int64(s.OverageFee), int64(f.OverageFee)))
		s.RetainerFee = Money(k.add(int64(s.RetainerFee), int64(f.RetainerFee)))
		s.TotalInvoiced = Money(k.add(int64(s.TotalInvoiced), int64(f.TotalInvoiced)))
		k.overflow = k.overflow || f.Overflow
	}
	s.AvgBurnRate = k.percent(s.Used, s.Contracted)
	s.Overflow = k.overflow
	return s
}

// Week is one row of a period's burndown: an ISO week clipped to the period.
type Week struct {
	From, To   Date
	Hours      int64
	Cumulative int64
	Remaining  int64
}

// Burndown returns one row per ISO week (Monday–Sunday) clipped to p, from the
// counted seconds of each day, starting from a late adjustment that counts
// before the first day. The month total is the last row's Cumulative.
func Burndown(p Period, daily map[Date]int64, adjustment, available int64) []Week {
	var weeks []Week
	var k checked // held at the int64 limits, as Compute's figures are
	cum := adjustment
	first, last := p.FirstDay(), p.LastDay()
	for d := first; d <= last; {
		end := d
		for end < last && end.Weekday() != 0 { // runs to Sunday
			end++
		}
		w := Week{From: d, To: end}
		for x := d; x <= end; x++ {
			w.Hours = k.add(w.Hours, daily[x])
		}
		cum = k.add(cum, w.Hours)
		if cum < 0 {
			cum = 0
		}
		w.Cumulative = cum
		w.Remaining = max(k.sub(available, cum), 0)
		weeks = append(weeks, w)
		d = end + 1
	}
	return weeks
}
