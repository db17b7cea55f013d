package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"retainer/billing"
	"retainer/report"
	"retainer/store"
)

// A client's decision on the portal (SPEC §12) goes to the agency at once,
// by Slack and email as its alerts go, under the key
// decision/<contract>/<YYYY-MM>/<id>. It is rendered from the recorded
// decision and the month's figures as of the day it was queued, so a retry
// says the same.

// decision renders the decision key k names.
func (r *Renderer) decision(ctx context.Context, m store.OutboxMessage, k store.Key) (*Message, error) {
	d, err := r.DB.DecisionByKey(ctx, k)
	if err != nil {
		return nil, err
	}
	c := r.Rules.Contract(d.ContractID)
	client := d.ContractID
	if c != nil {
		client = c.Client
	}
	v := report.Decision(*d, c)
	data := map[string]any{
		"Client": client, "ContractID": d.ContractID, "Period": d.Period.String(), "PeriodName": d.Period.Name(),
		"Kind": string(d.Kind), "Text": v.Text, "Message": d.Message,
		"Recorded": d.RecordedAt.In(r.location()).Format("2006-01-02 15:04 MST"),
	}
	var figures string
	if c != nil { // a contract gone from the config has no figures to show
		fd, _, err := r.figures(ctx, m, d.ContractID, d.Period)
		if err != nil {
			return nil, err
		}
		f, u := fd.Figures, c.Unit
		q := func(s int64) string { return billing.FormatQuantity(s, u) }
		figures = fmt.Sprintf("%s so far: %s of %s %s used (utilization %s)", d.Period, q(f.Used), q(f.Available),
			report.UnitName(u), report.Percent(f.Utilization))
		if f.Overage > 0 {
			figures += fmt.Sprintf(", %s %s over", q(f.Overage), report.UnitName(u))
		}
		figures += "."
		if d.Kind == store.DecisionOverage {
			figures += " " + approvalLeft(d.Seconds, f.Overage, u)
		}
	}
	data["Figures"] = figures
	msg := r.base(m)
	if err := r.fromTemplate("decision.txt.tmpl", data, msg); err != nil {
		return nil, err
	}
	if m.Channel == ChannelSlack {
		section := v.Text + "."
		if d.Message != "" {
			section += "\n“" + d.Message + "”"
		}
		if figures != "" {
			section += "\n" + figures
		}
		msg.Blocks = decisionBlocks(client, section)
	}
	return msg, nil
}

// location is the agency timezone, UTC when none was set.
func (r *Renderer) location() *time.Location {
	if r.Location != nil {
		return r.Location
	}
	return time.UTC
}

// approvalLeft says how much of an overage approval of approved seconds is
// left with overage seconds over the available total.
func approvalLeft(approved, overage int64, u billing.Unit) string {
	q := func(s int64) string { return billing.FormatQuantity(s, u) + " " + report.UnitName(u) }
	left := store.ApprovalLeft(approved, overage)
	switch {
	case overage > approved:
		return fmt.Sprintf("The approval is used up: %s over it.", q(overage-approved))
	case overage <= 0:
		return fmt.Sprintf("None of the approval is used yet: %s remain.", q(left))
	}
	return fmt.Sprintf("%s of the approval remain.", q(left))
}

// approvalLine is what an alert says of the client's overage approval of
// the month, from the decisions recorded by asOf (the instant the alert
// was queued, so a retry says the same): the last approval, how much of it
// is left. "" when there is none and none is asked (ask: the alert is
// about overage, where "no approval" is worth saying). client words it
// for the client.
func approvalLine(ds []store.Decision, asOf time.Time, overage int64, u billing.Unit, ask, client bool) string {
	var known []store.Decision
	for _, d := range ds {
		if !d.RecordedAt.After(asOf) {
			known = append(known, d)
		}
	}
	a, ok := store.OverageApproval(known)
	switch {
	case !ok && ask:
		return "The client has not approved any overage this month."
	case !ok:
		return ""
	}
	q := billing.FormatQuantity(a.Seconds, u) + " " + report.UnitName(u)
	if client {
		return fmt.Sprintf("You approved up to %s of overage this month (on %s). %s", q, a.On, approvalLeft(a.Seconds, overage, u))
	}
	return fmt.Sprintf("The client approved up to %s of overage on %s. %s", q, a.On, approvalLeft(a.Seconds, overage, u))
}

// decisionBlocks is a decision as Slack Block Kit: a header and one
// section, plain text (no mrkdwn), so the client's words cannot inject
// formatting.
func decisionBlocks(client, text string) []byte {
	b, _ := json.Marshal([]block{
		{Type: "header", Text: &textObject{Type: "plain_text", Text: truncate("Client decision: "+client, maxSlackHeaderText)}},
		{Type: "section", Text: &textObject{Type: "plain_text", Text: truncate(text, maxSlackSectionText)}},
	})
	return b
}

// DecisionLinks are the portal links a check-in email offers (SPEC §12),
// one per decision form; empty when the contract has no portal token or
// no base URL is configured.
type DecisionLinks struct {
	Portal, Overage, Change, Pause string
}

// decisionLinks are contract id's portal links for period p, through its
// check-in link (store.CheckinLink): the email cannot hold the portal
// token, which is stored only hashed.
func (r *Renderer) decisionLinks(ctx context.Context, id string, p billing.Period) (DecisionLinks, error) {
	base := strings.TrimRight(r.BaseURL, "/")
	if base == "" {
		return DecisionLinks{}, nil
	}
	cred, err := r.DB.CheckinLink(ctx, id, p)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return DecisionLinks{}, nil // no portal link made for the contract
		}
		return DecisionLinks{}, err
	}
	page := base + "/p/" + url.PathEscape(cred)
	return DecisionLinks{Portal: page, Overage: page + "#approve-overage", Change: page + "#request-change", Pause: page + "#pause"}, nil
}
