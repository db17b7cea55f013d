package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"retainer/billing"
	"retainer/report"
	"retainer/store"
)

// DigestKey is the outbox key of a period's mid-month digest.
func DigestKey(p billing.Period) string { return store.Key{Kind: store.KindDigest, Period: p}.String() }

// digestLine is one contract in the digest, marked ⚠ when it needs the
// agency's eye.
func digestLine(r store.Row, flagged bool) string {
	f, u := r.Figures, r.Contract.Unit
	q := func(s int64) string { return billing.FormatQuantity(s, u) }
	mark := "•"
	if flagged {
		mark = "⚠"
	}
	return fmt.Sprintf("%s %s (%s): %s of %s %s used, %s remaining, %s, projected %s", mark, r.Contract.Client, r.Contract.ID,
		q(f.Used), q(f.Available), report.UnitName(u), q(f.Remaining), report.Percent(f.Utilization), q(f.Projected))
}

// DigestMessage renders the mid-month burndown digest of one period: flagged
// contracts (billing.Flagged, with the alert thresholds) first, then the rest
// by id, and the summary row. It returns the plain text and Slack blocks kept
// within Slack's limits (50 blocks, 3,000 characters a section).
// The text comes from digest.txt.tmpl, overridable in templatesDir.
func DigestMessage(v *store.View, currency string, thresholds []int, asOf billing.Date, templatesDir string) (subject, text string, blocks []byte, err error) {
	type digestRow struct {
		store.Row
		flagged bool
	}
	rows := make([]digestRow, len(v.Rows))
	for i, r := range v.Rows {
		rows[i] = digestRow{r, billing.Flagged(r.Figures, thresholds, asOf) != billing.NotFlagged}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].flagged != rows[j].flagged {
			return rows[i].flagged
		}
		return rows[i].Contract.ID < rows[j].Contract.ID
	})
	figs := make([]billing.Figures, len(rows))
	nflag := 0
	var lines []string
	for i, r := range rows {
		figs[i] = r.Figures
		if r.flagged {
			nflag++
		}
		lines = append(lines, digestLine(r.Row, r.flagged))
	}
	s := billing.Summarize(figs)
	h := func(x int64) string { return billing.FormatQuantity(x, billing.UnitHours) }
	title := fmt.Sprintf("Retainer burndown %s — as of %s", v.Period, asOf)
	summary := fmt.Sprintf("%s, %d flagged · %s of %s h used · overage %s h (%s) · average burn %s",
		report.Count(len(rows), "contract", "contracts"), nflag, h(s.Used), h(s.Contracted), h(s.Overage), s.OverageFee.Format(currency), report.Percent(s.AvgBurnRate))
	subject, text, err = renderMessage("digest.txt.tmpl", templatesDir, map[string]any{
		"Period": v.Period.String(), "Title": title, "Summary": summary, "Lines": lines,
	})
	if err != nil {
		return "", "", nil, err
	}

	// Blocks: header, summary, then the lines packed into sections of at
	// most 3,000 characters; past 48 sections the rest is counted, not listed.
	bl := []block{
		{Type: "header", Text: &textObject{Type: "plain_text", Text: truncate(title, 150)}},
		{Type: "section", Text: &textObject{Type: "plain_text", Text: truncate(summary, 3000)}},
	}
	var cur strings.Builder
	shown := 0
	flush := func() {
		if cur.Len() > 0 {
			bl = append(bl, block{Type: "section", Text: &textObject{Type: "plain_text", Text: cur.String()}})
			cur.Reset()
		}
	}
	for _, l := range lines {
		l = truncate(l, 2900)
		if cur.Len()+len(l)+1 > 3000 {
			flush()
		}
		if len(bl) >= 49 {
			break
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(l)
		shown++
	}
	if len(bl) < 49 {
		flush()
	}
	if rest := len(lines) - shown; rest > 0 {
		bl = append(bl, block{Type: "section", Text: &textObject{Type: "plain_text",
			Text: fmt.Sprintf("… and %d more contracts (see `retainer status`)", rest)}})
	}
	blocks, _ = json.Marshal(bl)
	return subject, text, blocks, nil
}

func (r *Renderer) digest(ctx context.Context, m store.OutboxMessage, p billing.Period) (*Message, error) {
	asOf := billing.DateAt(m.CreatedAt, r.Location)
	v, err := r.DB.Status(ctx, r.Rules, p, asOf)
	if err != nil {
		return nil, err
	}
	subject, text, blocks, err := DigestMessage(v, r.Currency, r.Thresholds, asOf, r.TemplatesDir)
	if err != nil {
		return nil, err
	}
	msg := r.base(m)
	msg.Subject, msg.Text = subject, text
	if m.Channel == ChannelSlack {
		msg.Blocks = blocks
	}
	return msg, nil
}
