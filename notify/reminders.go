package notify

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"retainer/billing"
	"retainer/report"
	"retainer/store"
)

// RenewalKey is the outbox key of a contract's renewal reminder.
func RenewalKey(c *billing.Contract) string {
	return store.Key{Kind: store.KindRenewal, Contract: c.ID, Period: *c.End}.String()
}

// OverdueKey is the outbox key of an overdue invoice's reminder.
func OverdueKey(contract string, p billing.Period) string {
	return store.Key{Kind: store.KindOverdue, Contract: contract, Period: p}.String()
}

func (r *Renderer) renewal(ctx context.Context, m store.OutboxMessage, id string) (*Message, error) {
	c := r.Rules.Contract(id)
	if c == nil || c.End == nil {
		return nil, fmt.Errorf("contract %s has no end: %w", id, store.ErrNotFound)
	}
	asOf := billing.DateAt(m.CreatedAt, r.Location)
	// The burn history the dashboard shows: the 12 months before the as-of
	// date's, and the band of their average.
	hs, err := r.DB.BurnHistory(ctx, store.NewRules([]*billing.Contract{c}), asOf)
	if err != nil {
		return nil, err
	}
	h := hs.Of(c.ID)
	q := func(s int64) string { return billing.FormatQuantity(s, c.Unit) }
	hist := make([]string, 0, len(h.Months))
	for _, mo := range h.Months {
		line := fmt.Sprintf("%s: %s of %s %s used, burn %s, invoiced %s", mo.Period,
			q(mo.Used), q(mo.Contracted), report.UnitName(c.Unit),
			report.Percent(mo.BurnRate), mo.TotalInvoiced.Format(cmp.Or(mo.Currency, c.Currency, r.Currency)))
		if !mo.Closed {
			line += " (not closed yet)"
		}
		hist = append(hist, line)
	}
	rec := h.Recommendation
	msg := r.base(m)
	if err := r.fromTemplate("renewal.txt.tmpl", map[string]any{
		"Client": c.Client, "ContractID": c.ID, "End": c.End.String(), "Verdict": rec.Verdict.String(),
		"History": hist, "AvgBurn": report.Percent(h.AvgBurn), "Recommendation": rec.String(),
		"Months": store.HistoryMonths, "From": hs.From.String(), "To": hs.To.String(), "Band": rec.Verdict.Label(),
		"Used": q(h.Used), "Contracted": q(h.Contracted), "Unit": report.UnitName(c.Unit),
	}, msg); err != nil {
		return nil, err
	}
	text := msg.Text
	if m.Channel == ChannelSlack {
		msg.Blocks = alertBlocks("renewal of "+c.Client, text)
	}
	return msg, nil
}

func (r *Renderer) overdue(ctx context.Context, m store.OutboxMessage, invoice string) (*Message, error) {
	st, err := r.DB.StatementByInvoice(ctx, invoice)
	if err != nil {
		return nil, err
	}
	client := st.ContractID
	if c := r.Rules.Contract(st.ContractID); c != nil {
		client = c.Client
	}
	msg := r.base(m)
	if err := r.fromTemplate("overdue.txt.tmpl", map[string]string{
		"Invoice": invoice, "Client": client, "Total": st.TotalWithTax().Format(st.Currency), "DueOn": st.DueOn.String(),
	}, msg); err != nil {
		return nil, err
	}
	if m.Channel == ChannelSlack {
		msg.Blocks = alertBlocks("overdue invoice "+invoice, msg.Text)
	}
	return msg, nil
}

// CheckinKey is the outbox key of a contract's mid-month check-in.
func CheckinKey(id string, p billing.Period) string {
	return store.Key{Kind: store.KindCheckin, Contract: id, Period: p}.String()
}

func (r *Renderer) checkin(ctx context.Context, m store.OutboxMessage, id string, p billing.Period) (*Message, error) {
	d, asOf, err := r.figures(ctx, m, id, p)
	if err != nil {
		return nil, err
	}
	c := d.Contract
	work, err := r.DB.Breakdown(ctx, id, p)
	if err != nil {
		return nil, err
	}
	f, u := d.Figures, c.Unit
	q := func(s int64) string { return billing.FormatQuantity(s, u) }
	type workLine struct{ Name, Qty string }
	var lines []workLine
	for _, w := range work {
		name := strings.Trim(strings.TrimSpace(w.Project+" · "+w.Task), "· ")
		if name == "" {
			name = "(no project)"
		}
		lines = append(lines, workLine{report.OneLine(name), q(w.Counted)})
	}
	links, err := r.decisionLinks(ctx, id, p)
	if err != nil {
		return nil, err
	}
	msg := r.base(m)
	return msg, r.fromTemplate("checkin.txt.tmpl", map[string]any{
		"Client": c.Client, "Remaining": q(f.Remaining), "Available": q(f.Available), "Unit": report.UnitName(u),
		"Period": p.String(), "AsOf": asOf.String(), "Work": lines, "Over": f.Projected > f.Available,
		"Projected": q(f.Projected), "Agency": r.Agency, "Links": links,
	}, msg)
}
