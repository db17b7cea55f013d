package billing

import "strings"

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
// price: its pricing band.
type Verdict int

// The verdicts, by average burn rate, lowest band first.
const (
	NoHours     Verdict = iota // no hours contracted: the burn rate means nothing
	FarOverSold                // under 60%
	OverSold                   // 60% up to 70%
	UnderUsed                  // 70% up to 95%
	PricedRight                // 95% through 110%
	UnderPriced                // over 110%
)

// Verdicts lists the pricing bands from the lowest burn rate to the
// highest, then NoHours: the order in which the portfolio lists them.
var Verdicts = []Verdict{FarOverSold, OverSold, UnderUsed, PricedRight, UnderPriced, NoHours}

// String is the verdict as the renewal reminder's subject names it.
func (v Verdict) String() string {
	switch v {
	case FarOverSold:
		return "far over-sold (under 60%)"
	case OverSold:
		return "over-sold (60–70%)"
	case UnderUsed:
		return "a little under-used (70–95%)"
	case PricedRight:
		return "priced right (95–110%)"
	case UnderPriced:
		return "under-priced (over 110%)"
	}
	return "no hours contracted in the last months"
}

// Label is the band's short name, for a table cell.
func (v Verdict) Label() string {
	switch v {
	case FarOverSold:
		return "far over-sold"
	case OverSold:
		return "over-sold"
	case UnderUsed:
		return "under-used"
	case PricedRight:
		return "priced right"
	case UnderPriced:
		return "under-priced"
	}
	return "no hours"
}

// Key names the band in markup (a CSS class) and in JSON: "far-over-sold",
// "over-sold", "under-used", "priced-right", "under-priced", "no-hours".
func (v Verdict) Key() string { return strings.ReplaceAll(v.Label(), " ", "-") }

// Range is the band's burn rates, as a legend shows them.
func (v Verdict) Range() string {
	switch v {
	case FarOverSold:
		return "under 60%"
	case OverSold:
		return "60–70%"
	case UnderUsed:
		return "70–95%"
	case PricedRight:
		return "95–110%"
	case UnderPriced:
		return "over 110%"
	}
	return "no hours contracted"
}

// PricedWrong reports whether the band calls for a change of price at
// renewal: over-sold (far or not) or under-priced.
func (v Verdict) PricedWrong() bool {
	return v == FarOverSold || v == OverSold || v == UnderPriced
}

// Recommendation is a verdict with the advice that goes with it.
type Recommendation struct {
	Verdict Verdict
	Advice  string
}

// String is the verdict and its advice in one sentence.
func (r Recommendation) String() string { return r.Verdict.String() + ": " + r.Advice }

// Advice is what the band advises at renewal.
func (v Verdict) Advice() string {
	switch v {
	case FarOverSold:
		return "the client pays for hours it does not use and may not renew; offer a smaller retainer now"
	case OverSold:
		return "the client uses under 70% of the hours; offer a smaller retainer"
	case UnderUsed:
		return "renew as it is, or trim the hours slightly"
	case PricedRight:
		return "renew as it is"
	case UnderPriced:
		return "the client uses over 110% of the hours; propose an increase"
	}
	return "review the terms before renewing"
}

// Band is the pricing band of an average burn rate, read on the
// percentage as shown (tenths, rounded half away from zero): under 60%
// far over-sold, 60–70% over-sold, 70–95% a little under-used, 95–110%
// priced right, over 110% under-priced; with no hours contracted, none.
func Band(burn Pct) Verdict {
	switch {
	case !burn.Valid:
		return NoHours
	case burn.Tenths < 600:
		return FarOverSold
	case burn.Tenths < 700:
		return OverSold
	case burn.Tenths < 950:
		return UnderUsed
	case burn.Tenths <= 1100:
		return PricedRight
	}
	return UnderPriced
}

// Recommend reads the average burn rate of a contract's last months: its
// band (Band) and the band's advice.
func Recommend(burn Pct) Recommendation {
	v := Band(burn)
	return Recommendation{v, v.Advice()}
}
