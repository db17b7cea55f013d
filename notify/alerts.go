package notify

import (
	"context"
	"fmt"
	"strings"

	"retainer/billing"
	"retainer/report"
	"retainer/store"
)

// Alert kinds besides the numeric thresholds (billing owns the rule).
const (
	KindOverage          = billing.Overage
	KindProjectedOverage = billing.ProjectedOverage
)

// Alert is one alert of one contract in one period: what fires (billing's
// Alert: its Kind, the Threshold crossed, whether it is the Client's own)
// and the figures it fires on.
type Alert struct {
	billing.Alert
	ContractID string
	Period     billing.Period
	Figures    billing.Figures
}

// Key is the alert's outbox key (SPEC §8): its Part is the alert's Name
// ("90", "100", …, "overage" or "projected_overage").
func (a Alert) Key() string {
	if a.Client {
		return store.Key{Kind: store.KindClientAlert, Contract: a.ContractID, Period: a.Period}.String()
	}
	return store.Key{Kind: store.KindAlert, Contract: a.ContractID, Period: a.Period, Part: a.Name()}.String()
}

// Alerts returns what fires for the rows of one period as of asOf, by
// billing.Alerts: a closed period fires nothing. Whether an alert was
// already sent is the outbox's business (one row per key).
func Alerts(rows []store.Row, thresholds []int, asOf billing.Date) []Alert {
	var out []Alert
	for _, r := range rows {
		for _, a := range billing.Alerts(r.Contract, r.Figures, r.Closed, thresholds, asOf) {
			out = append(out, Alert{Alert: a, ContractID: r.Contract.ID, Period: r.Figures.Period, Figures: r.Figures})
		}
	}
	return out
}

// Describe is an alert's one-line summary.
func (a Alert) Describe(unit billing.Unit) string {
	f := a.Figures
	q := func(s int64) string { return billing.FormatQuantity(s, unit) }
	what := ""
	switch a.Kind {
	case billing.Overage:
		what = fmt.Sprintf("is over: %s of %s %s used, %s overage", q(f.Used), q(f.Available), report.UnitName(unit), q(f.Overage))
	case billing.ProjectedOverage:
		what = fmt.Sprintf("is projected to go over: %s of %s %s projected", q(f.Projected), q(f.Available), report.UnitName(unit))
	default:
		what = fmt.Sprintf("crossed %d%%: %s of %s %s used", a.Threshold, q(f.Used), q(f.Available), report.UnitName(unit))
	}
	return fmt.Sprintf("%s %s %s (utilization %s)", a.ContractID, a.Period, what, report.Percent(f.Utilization))
}

// alert renders an alert for the agency (or the client) from the period's
// figures when it was queued: name is the alert's Name from its key, "" for
// the client's.
func (r *Renderer) alert(ctx context.Context, m store.OutboxMessage, id string, p billing.Period, name string, client bool) (*Message, error) {
	var what billing.Alert
	if !client {
		var err error
		if what, err = billing.ParseAlertName(name); err != nil {
			return nil, fmt.Errorf("outbox key %s: %w", m.Key, err)
		}
	}
	d, _, err := r.figures(ctx, m, id, p)
	if err != nil {
		return nil, err
	}
	c := d.Contract
	if client {
		what = billing.Alert{Kind: billing.ThresholdCrossed, Threshold: c.AlertClientAt, Client: true}
	}
	a := Alert{Alert: what, ContractID: id, Period: p, Figures: d.Figures}
	line := a.Describe(c.Unit)
	msg := r.base(m)
	// What the client approved of overage this month (SPEC §12), as known
	// when the alert was queued; an alert about overage says so when
	// nothing was approved.
	overageAlert := what.Kind == billing.Overage || what.Kind == billing.ProjectedOverage
	approval := approvalLine(d.Decisions, m.CreatedAt, d.Figures.Overage, c.Unit, overageAlert && !client, client)
	if client {
		f := d.Figures
		q := func(s int64) string { return billing.FormatQuantity(s, c.Unit) }
		return msg, r.fromTemplate("client-alert.txt.tmpl", map[string]string{
			"Client": c.Client, "Agency": r.Agency, "Used": q(f.Used), "Available": q(f.Available), "Unit": report.UnitName(c.Unit),
			"Period": p.String(), "Utilization": report.Percent(f.Utilization), "Remaining": q(f.Remaining), "Approval": approval,
		}, msg)
	}
	if err := r.fromTemplate("alert.txt.tmpl", map[string]string{
		"Client": c.Client, "ContractID": id, "What": strings.TrimPrefix(line, id+" "), "Line": line, "Approval": approval,
	}, msg); err != nil {
		return nil, err
	}
	if m.Channel == ChannelSlack {
		text := line
		if approval != "" {
			text += "\n" + approval
		}
		msg.Blocks = alertBlocks(c.Client, text)
	}
	return msg, nil
}
