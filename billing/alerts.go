package billing

import (
	"fmt"
	"slices"
	"strconv"
)

// ProjectionDays is the business day of a period from which its projection
// counts (SPEC §6): earlier, a few days' hours say too little about the month.
const ProjectionDays = 6

// The names of the alert kinds besides the numeric thresholds, as outbox keys
// and `retainer alerts` write them.
const (
	KindOverage          = "overage"
	KindProjectedOverage = "projected_overage"
)

// AlertKind is what an alert reports.
type AlertKind int

// The alert kinds of SPEC §6.
const (
	ThresholdCrossed AlertKind = iota + 1 // utilization at or above a threshold
	Overage                               // more used than available
	ProjectedOverage                      // projected over available, from the 6th business day
)

// Alert is one alert that fires for a contract in a period.
type Alert struct {
	Kind      AlertKind
	Threshold int  // the percentage crossed, for ThresholdCrossed
	Client    bool // the client's own alert (alert_client_at), a ThresholdCrossed
}

// Name is the alert's kind as its outbox key and `retainer alerts` write it:
// the threshold ("90"), "overage" or "projected_overage".
func (a Alert) Name() string {
	switch a.Kind {
	case Overage:
		return KindOverage
	case ProjectedOverage:
		return KindProjectedOverage
	}
	return strconv.Itoa(a.Threshold)
}

// ParseAlertName reads an Alert.Name back, as an outbox key holds it: a
// threshold crossed ("90"), overage or projected overage. The client's own
// alert has no name (its key names none).
func ParseAlertName(name string) (Alert, error) {
	switch name {
	case KindOverage:
		return Alert{Kind: Overage}, nil
	case KindProjectedOverage:
		return Alert{Kind: ProjectedOverage}, nil
	}
	t, err := strconv.Atoi(name)
	if err != nil || t < 1 || strconv.Itoa(t) != name {
		return Alert{}, fmt.Errorf("alert %q: not a threshold, %s or %s", name, KindOverage, KindProjectedOverage)
	}
	return Alert{Kind: ThresholdCrossed, Threshold: t}, nil
}

// Crossed reports whether utilization, from exact seconds, is at or above
// threshold percent: exactly 90.0% crosses 90. Nothing available crosses
// nothing.
func Crossed(used, available int64, threshold int) bool {
	if available <= 0 {
		return false
	}
	return used*100 >= int64(threshold)*available
}

// Over reports whether more was used than available: exactly 100% is not
// overage.
func (f *Figures) Over() bool { return f.Used > f.Available }

// ProjectedOver reports whether the period is projected to go over as of
// asOf: projected hours above available, from the 6th business day of the
// period on (a closed or past period projects its used hours).
func (f *Figures) ProjectedOver(asOf Date) bool {
	return Elapsed(f.Period, asOf) >= ProjectionDays && f.Projected > f.Available
}

// Alerts returns what fires for contract c's figures f as of asOf: each
// threshold crossed, overage, projected overage, and the client's own alert
// when the contract has alert_client_at and contacts. A closed period fires
// nothing. Whether an alert was already sent is not a rule of the figures:
// each fires once because the outbox keeps one row per alert.
func Alerts(c *Contract, f Figures, closed bool, thresholds []int, asOf Date) []Alert {
	if closed {
		return nil
	}
	var out []Alert
	for _, t := range thresholds {
		if Crossed(f.Used, f.Available, t) {
			out = append(out, Alert{Kind: ThresholdCrossed, Threshold: t})
		}
	}
	if f.Over() {
		out = append(out, Alert{Kind: Overage})
	}
	if f.ProjectedOver(asOf) {
		out = append(out, Alert{Kind: ProjectedOverage})
	}
	if at := c.AlertClientAt; at > 0 && len(c.Contacts) > 0 && Crossed(f.Used, f.Available, at) {
		out = append(out, Alert{Kind: ThresholdCrossed, Threshold: at, Client: true})
	}
	return out
}

// Flag says why a contract's period needs the agency's eye (the digest's ⚠,
// the dashboard's ⚑), or NotFlagged.
type Flag int

// The reasons a period is flagged, the first that applies.
const (
	NotFlagged    Flag = iota
	FlagOver           // more used than available
	FlagThreshold      // utilization at or over the lowest alert threshold
	FlagProjected      // projected over available, from the 6th business day
)

// Flagged returns why figures f need the agency's eye as of asOf: more used
// than available, else utilization at or over an alert threshold (that is,
// the lowest), else projected over available by the rule of projected
// overage. With no thresholds configured, overage and projection still flag.
func Flagged(f Figures, thresholds []int, asOf Date) Flag {
	switch {
	case f.Over():
		return FlagOver
	case len(thresholds) > 0 && Crossed(f.Used, f.Available, LowestThreshold(thresholds)):
		return FlagThreshold
	case f.ProjectedOver(asOf):
		return FlagProjected
	}
	return NotFlagged
}

// LowestThreshold returns the lowest alert threshold, 0 when there is none.
func LowestThreshold(thresholds []int) int {
	if len(thresholds) == 0 {
		return 0
	}
	return slices.Min(thresholds)
}
