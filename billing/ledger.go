package billing

// Ledger is what a contract's open periods are computed from (SPEC §4): what
// the last close left — the lots it carried out and the late adjustments not
// yet absorbed — and the usage counted since. The store loads it; the rules
// that run it forward are here.
type Ledger struct {
	// LastClosed is the last closed period; nil before any close.
	LastClosed *Period
	// Bank is the lots carried out of LastClosed (already past its expiry).
	Bank []Lot
	// Adjustment is the sum of the late adjustments not yet absorbed: they
	// count in the first open period.
	Adjustment int64
	// FirstUsed is the first period with entries for the contract; nil when
	// it has none. It matters only before any close.
	FirstUsed *Period
	// Used returns the counted seconds of the entries dated in a period. Run
	// asks for each period once, in ascending order; nil means none.
	Used func(Period) int64
}

// From returns the first period to compute contract c from to reach p: the
// period after the last close; before any close, the contract's first period
// — its start, or else the month of its earliest entry — or its take-over
// when an opening bank is banked there earlier; p itself when nothing comes
// before it.
func (l *Ledger) From(c *Contract, p Period) Period {
	if l.LastClosed != nil {
		return *l.LastClosed + 1
	}
	first, ok := Period(0), false
	if l.FirstUsed != nil {
		first, ok = *l.FirstUsed, true
	}
	if c.Start != nil && (!ok || *c.Start < first) {
		first, ok = *c.Start, true
	}
	if c.OpeningBank > 0 && c.TakeOver != nil && (!ok || *c.TakeOver < first) {
		first, ok = *c.TakeOver, true // where the opening bank is banked
	}
	if !ok || first > p {
		return p
	}
	return first
}

// Run computes contract c's figures for every period from From(c, p) through
// p, as if every period before p had been closed, and hands each to fn in
// order: the lots carried out of one period are banked into the next, the
// opening bank joins the bank at the take-over, and the pending late
// adjustments count in the first open period.
func (l *Ledger) Run(c *Contract, p Period, asOf Date, fn func(Figures)) {
	from := l.From(c, p)
	bank := l.Bank
	// The opening bank is a lot earned the month before the take-over, banked
	// into the take-over period when it is computed (afterwards it is in the
	// frozen lots); with no take-over period, into the first period computed
	// before any close.
	opening := Period(-1)
	if c.OpeningBank > 0 {
		switch {
		case c.TakeOver != nil:
			opening = *c.TakeOver
		case l.LastClosed == nil:
			opening = from
		}
	}
	for q := from; q <= p; q++ {
		if q == opening {
			bank = withOpening(bank, q-1, c.OpeningBank)
		}
		var u Usage
		if l.Used != nil {
			u.Used = l.Used(q)
		}
		if l.LastClosed != nil && q == *l.LastClosed+1 {
			u.Adjustment = l.Adjustment
		}
		f := Compute(c, q, bank, u, asOf)
		bank = f.LotsOut
		fn(f)
	}
}

// At returns contract c's figures for period p, computed forward as Run does.
func (l *Ledger) At(c *Contract, p Period, asOf Date) Figures {
	var out Figures
	l.Run(c, p, asOf, func(f Figures) { out = f })
	return out
}

// withOpening returns bank with the opening bank added as a lot earned in
// period earned: one lot per month, so it joins a lot already earned then.
func withOpening(bank []Lot, earned Period, seconds int64) []Lot {
	out := append([]Lot(nil), bank...)
	for i := range out {
		if out[i].Earned == earned {
			out[i].Seconds += seconds
			return out
		}
	}
	return append(out, Lot{Earned: earned, Seconds: seconds})
}

// UsedFromLots returns how much of the banked lots the period used: lots are
// consumed first, so the used hours up to the bank.
func (f *Figures) UsedFromLots() int64 { return min(f.Used, f.Banked) }
