package notify

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"retainer/billing"
	"retainer/store"
)

// Alert kinds besides the numeric thresholds.
const (
	KindOverage          = "overage"
	KindProjectedOverage = "projected_overage"
)

// Alert is one threshold crossing of one contract in one period.
type Alert struct {
	ContractID string
	Period     billing.Period
	Kind       string // "90", "100", …, "overage" or "projected_overage"
	Figures    billing.Figures
	Client     bool // the client's own alert (alert_client_at)
}

// Key is the alert's outbox key (SPEC §8).
func (a Alert) Key() string {
	if a.Client {
		return "client-alert/" + a.ContractID + "/" + a.Period.String()
	}
	return "alert/" + a.ContractID + "/" + a.Period.String() + "/" + a.Kind
}

// Crossed reports whether utilization, from exact seconds, is at or above
// threshold percent (exactly 90.0% crosses 90).
func Crossed(used, available int64, threshold int) bool {
	if available <= 0 {
		return false
	}
	return used*100 >= int64(threshold)*available
}

// Alerts returns what fires for the rows of one open period as of asOf:
// each threshold crossed, overage when used exceeds available, projected
// overage from the 6th business day on, and the client's own alert. A
// closed period fires nothing. Whether an alert was already sent is the
// outbox's business (one row per key).
func Alerts(rows []store.Row, thresholds []int, asOf billing.Date) []Alert {
	var out []Alert
	for _, r := range rows {
		if r.Closed {
			continue
		}
		f := r.Figures
		add := func(kind string) {
			out = append(out, Alert{ContractID: r.Contract.ID, Period: f.Period, Kind: kind, Figures: f})
		}
		for _, t := range thresholds {
			if Crossed(f.Used, f.Available, t) {
				add(strconv.Itoa(t))
			}
		}
		if f.Used > f.Available {
			add(KindOverage)
		}
		if billing.Elapsed(f.Period, asOf) >= 6 && f.Projected > f.Available {
			add(KindProjectedOverage)
		}
		if at := r.Contract.AlertClientAt; at > 0 && len(r.Contract.Contacts) > 0 && Crossed(f.Used, f.Available, at) {
			out = append(out, Alert{ContractID: r.Contract.ID, Period: f.Period, Kind: strconv.Itoa(at), Figures: f, Client: true})
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
	case KindOverage:
		what = fmt.Sprintf("is over: %s of %s %s used, %s overage", q(f.Used), q(f.Available), unitName(unit), q(f.Overage))
	case KindProjectedOverage:
		what = fmt.Sprintf("is projected to go over: %s of %s %s projected", q(f.Projected), q(f.Available), unitName(unit))
	default:
		what = fmt.Sprintf("crossed %s%%: %s of %s %s used", a.Kind, q(f.Used), q(f.Available), unitName(unit))
	}
	return fmt.Sprintf("%s %s %s (utilization %s)", a.ContractID, a.Period, what, pctText(f.Utilization))
}

// alert renders an alert for the agency (or the client) from the period's
// figures when it was queued.
func (r *Renderer) alert(ctx context.Context, m store.OutboxMessage, id string, p billing.Period, kind string, client bool) (*Message, error) {
	d, _, err := r.figures(ctx, m, id, p)
	if err != nil {
		return nil, err
	}
	c := d.Contract
	a := Alert{ContractID: id, Period: p, Kind: kind, Figures: d.Figures, Client: client}
	line := a.Describe(c.Unit)
	msg := r.base(m)
	if client {
		f := d.Figures
		q := func(s int64) string { return billing.FormatQuantity(s, c.Unit) }
		return msg, r.fromTemplate("client-alert.txt.tmpl", map[string]string{
			"Client": c.Client, "Agency": r.Agency, "Used": q(f.Used), "Available": q(f.Available), "Unit": unitName(c.Unit),
			"Period": p.String(), "Utilization": pctText(f.Utilization), "Remaining": q(f.Remaining),
		}, msg)
	}
	if err := r.fromTemplate("alert.txt.tmpl", map[string]string{
		"Client": c.Client, "ContractID": id, "What": strings.TrimPrefix(line, id+" "), "Line": line,
	}, msg); err != nil {
		return nil, err
	}
	if m.Channel == ChannelSlack {
		msg.Blocks = alertBlocks(c.Client, line)
	}
	return msg, nil
}
