package billing

// RenewalNoticeDays is how long before a contract's last day the agency is
// reminded to renew it.
const RenewalNoticeDays = 30

// RenewalDue reports whether contract c's renewal reminder is due on today:
// from RenewalNoticeDays before the last day of its end period through that
// day. A contract without end is never due.
func RenewalDue(c *Contract, today Date) bool {
	if c.End == nil {
		return false
	}
	last := c.End.LastDay()
	return today <= last && today >= last-RenewalNoticeDays
}

// Verdict is what the burn rate of a contract's last months says about its
// price.
type Verdict int

// The verdicts, by average burn rate.
const (
	NoHours     Verdict = iota // no hours contracted: the burn rate means nothing
	OverSold                   // under 70%
	UnderUsed                  // 70% up to 95%
	PricedRight                // 95% through 110%
	UnderPriced                // over 110%
)

// String is the verdict as the renewal reminder's subject names it.
func (v Verdict) String() string {
	switch v {
	case OverSold:
		return "over-sold"
	case UnderUsed:
		return "a little under-used (70–95%)"
	case PricedRight:
		return "priced right (95–110%)"
	case UnderPriced:
		return "under-priced"
	}
	return "no hours contracted in the last months"
}

// Recommendation is a verdict with the advice that goes with it.
type Recommendation struct {
	Verdict Verdict
	Advice  string
}

// String is the verdict and its advice in one sentence.
func (r Recommendation) String() string { return r.Verdict.String() + ": " + r.Advice }

// Recommend reads the average burn rate of a contract's last months: under
// 70% over-sold, 70–95% a little under-used, 95–110% priced right, over 110%
// under-priced; no hours contracted, no verdict on the price.
func Recommend(burn Pct) Recommendation {
	switch {
	case !burn.Valid:
		return Recommendation{NoHours, "review the terms before renewing"}
	case burn.Tenths < 700:
		return Recommendation{OverSold, "the client uses under 70% of the hours; offer a smaller retainer"}
	case burn.Tenths < 950:
		return Recommendation{UnderUsed, "renew as it is, or trim the hours slightly"}
	case burn.Tenths <= 1100:
		return Recommendation{PricedRight, "renew as it is"}
	}
	return Recommendation{UnderPriced, "the client uses over 110% of the hours; propose an increase"}
}
