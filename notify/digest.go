package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"retainer/billing"
	"retainer/report"
	"retainer/store"
)

// A digest is sent to Slack as one message when it fits, and as several —
// parts 1…n, posted in order, 2…n in the thread of the first with a bot
// token — when it does not (SPEC §15): each part measures at most
// digestBudget, whatever the number of contracts.
const (
	// digestBudget is what one part may measure (blockTextCost): well
	// under maxSlackBlockText, for what Slack counts that is not measured
	// here (bolt-js#2867 was refused at 11,341 characters of text).
	digestBudget = 10500
	// maxDigestLine is the longest a contract's line is shown in Slack.
	maxDigestLine = 2900
)

// DigestKey is the outbox key of a period's digest when it is one message:
// digest/<YYYY-MM>, the key every digest had before long ones were split.
func DigestKey(p billing.Period) string { return store.Key{Kind: store.KindDigest, Period: p}.String() }

// DigestPartKey is the outbox key of part n (from 1) of a period's digest
// that takes several messages: digest/<YYYY-MM>/<n>.
func DigestPartKey(p billing.Period, n int) string {
	return store.Key{Kind: store.KindDigest, Period: p, Part: strconv.Itoa(n)}.String()
}

// DigestKeys are the outbox keys of the digest of v's period as of asOf:
// DigestKey alone when it fits one Slack message (so a month queued before
// digests were split keeps its one key, and the store refuses to queue it
// again), DigestPartKey 1…n when it takes n. The parts are rendered again
// when they are sent, from the figures then (Renderer).
func DigestKeys(v *store.View, currency string, thresholds []int, asOf billing.Date) []string {
	d := newDigest(v, currency, thresholds, asOf)
	if len(d.parts) == 1 {
		return []string{DigestKey(v.Period)}
	}
	keys := make([]string, len(d.parts))
	for i := range d.parts {
		keys[i] = DigestPartKey(v.Period, i+1)
	}
	return keys
}

// digest is a period's mid-month digest, split into the Slack messages it
// takes.
type digest struct {
	period  billing.Period
	title   string
	summary string
	lines   []string   // one per contract: flagged first, then by id
	parts   [][]string // the lines of each message, in order; at least one
}

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

// newDigest builds the digest of v as of asOf: flagged contracts
// (billing.Flagged, with the alert thresholds) first, then the rest by id,
// and the summary row; then splits it into parts.
func newDigest(v *store.View, currency string, thresholds []int, asOf billing.Date) *digest {
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
	lines := make([]string, 0, len(rows))
	for i, r := range rows {
		figs[i] = r.Figures
		if r.flagged {
			nflag++
		}
		lines = append(lines, digestLine(r.Row, r.flagged))
	}
	s := billing.Summarize(figs)
	h := func(x int64) string { return billing.FormatQuantity(x, billing.UnitHours) }
	d := &digest{
		period: v.Period,
		title:  fmt.Sprintf("Retainer burndown %s — as of %s", v.Period, asOf),
		summary: fmt.Sprintf("%s, %d flagged · %s of %s h used · overage %s h (%s) · average burn %s",
			report.Count(len(rows), "contract", "contracts"), nflag, h(s.Used), h(s.Contracted), h(s.Overage), overageFees(v, currency, s.OverageFee), report.Percent(s.AvgBurnRate)),
		lines: lines,
	}
	d.pack()
	return d
}

// overageFees is the summary's overage fee in each currency the contracts
// are in (SPEC §14: summaries are per currency), the top-level currency's
// first: "USD 350.00", or "USD 350.00, EUR 120.00, JPY 30000". total is
// the checked sum, shown as it is when every contract is in one currency.
func overageFees(v *store.View, currency string, total billing.Money) string {
	var order []string
	fees := map[string]billing.Money{}
	for _, r := range v.Rows {
		cur := cmp.Or(r.Currency, r.Contract.Currency, currency)
		if _, ok := fees[cur]; !ok {
			order = append(order, cur)
		}
		fees[cur] += r.Figures.OverageFee
	}
	if len(order) <= 1 {
		return total.Format(cmp.Or(append(order, currency)[0], currency))
	}
	sort.SliceStable(order, func(i, j int) bool {
		if order[i] == currency || order[j] == currency {
			return order[i] == currency
		}
		return order[i] < order[j]
	})
	out := make([]string, len(order))
	for i, cur := range order {
		out[i] = fees[cur].Format(cur)
	}
	return strings.Join(out, ", ")
}

// moreNote closes a message after which n contracts are not shown.
func moreNote(n int) string {
	return fmt.Sprintf("… and %d more contracts (see `retainer status`)", n)
}

// frame is the blocks of part k before its lines: the header (the title,
// marked with the part after the first) and, in the first part, the
// summary.
func (d *digest) frame(k int) []block {
	title := d.title
	if k > 1 {
		title = fmt.Sprintf("%s (part %d)", d.title, k)
	}
	bl := []block{{Type: "header", Text: &textObject{Type: "plain_text", Text: truncate(title, maxSlackHeaderText)}}}
	if k == 1 {
		bl = append(bl, block{Type: "section", Text: &textObject{Type: "plain_text", Text: truncate(d.summary, maxSlackSectionText)}})
	}
	return bl
}

// sections packs lines into section texts of at most maxSlackSectionText,
// one line each at most maxDigestLine.
func sections(lines []string) []string {
	var out []string
	for _, l := range lines {
		l = truncate(l, maxDigestLine)
		if n := len(out); n > 0 && slackLen(out[n-1])+1+slackLen(l) <= maxSlackSectionText {
			out[n-1] += "\n" + l
			continue
		}
		out = append(out, l)
	}
	return out
}

// pack splits the lines into parts, in order, each as many lines as keep
// its blocks (frame, sections, and room for a closing moreNote) within
// digestBudget and maxSlackBlocks. It follows sections line by line, so
// that what it counts is what blocks renders.
func (d *digest) pack() {
	reserve := slackBlockAllowance + slackLen(moreNote(len(d.lines)))
	var (
		parts              [][]string
		cur                []string
		cost, nblocks, sec int // sec: the open section's length, 0 = none
	)
	start := func() {
		cur, cost, nblocks, sec = nil, reserve, 1, 0 // the reserve's block
		for _, b := range d.frame(len(parts) + 1) {
			cost += slackBlockAllowance + slackLen(b.Text.Text)
			nblocks++
		}
	}
	add := func(l int) (dc, db, s int) {
		if sec > 0 && sec+1+l <= maxSlackSectionText {
			return 1 + l, 0, sec + 1 + l
		}
		return slackBlockAllowance + l, 1, l
	}
	start()
	for _, line := range d.lines {
		l := slackLen(truncate(line, maxDigestLine))
		dc, db, s := add(l)
		if len(cur) > 0 && (cost+dc > digestBudget || nblocks+db > maxSlackBlocks) {
			parts = append(parts, cur)
			start()
			dc, db, s = add(l)
		}
		cur = append(cur, line)
		cost, nblocks, sec = cost+dc, nblocks+db, s
	}
	d.parts = append(parts, cur)
}

// blocks renders part k (from 1) with more contracts said to follow it
// ("… and N more"), as Slack blocks. A part past the last — the digest
// got shorter since its parts were queued — says so.
func (d *digest) blocks(k, more int) []byte {
	bl := d.frame(k)
	if k <= len(d.parts) {
		for _, s := range sections(d.parts[k-1]) {
			bl = append(bl, block{Type: "section", Text: &textObject{Type: "plain_text", Text: s}})
		}
	} else {
		bl = append(bl, block{Type: "section", Text: &textObject{Type: "plain_text",
			Text: "No more contracts: the digest has fewer parts than when it was queued."}})
	}
	if more > 0 {
		bl = append(bl, block{Type: "section", Text: &textObject{Type: "plain_text", Text: moreNote(more)}})
	}
	b, _ := json.Marshal(bl)
	return b
}

// text renders part k's plain text (Slack's fallback, the file transport's
// body) from digest.txt.tmpl of tmpl: its title, the summary and its own
// lines, then the count of those that follow when more > 0.
func (d *digest) text(tmpl *report.Templates, k, more int) (subject, text string, err error) {
	title := d.title
	var lines []string
	if k > 1 {
		title = fmt.Sprintf("%s (part %d)", d.title, k)
	}
	if k <= len(d.parts) {
		lines = append(lines, d.parts[k-1]...)
	}
	if more > 0 {
		lines = append(lines, moreNote(more))
	}
	return renderMessage(tmpl, "digest.txt.tmpl", map[string]any{
		"Period": d.period.String(), "Title": title, "Summary": d.summary, "Lines": lines, "Part": k,
	})
}

// after is how many contracts the parts after part k hold.
func (d *digest) after(k int) int {
	n := 0
	for _, p := range d.parts[min(k, len(d.parts)):] {
		n += len(p)
	}
	return n
}

// DigestMessage renders the mid-month burndown digest of one period:
// flagged contracts (billing.Flagged, with the alert thresholds) first,
// then the rest by id, and the summary row. It returns the plain text of
// the whole digest, every contract in it, and the Slack blocks of its first
// message, which say how many contracts the later parts hold.
// The text comes from digest.txt.tmpl of tmpl (the config's templates).
func DigestMessage(v *store.View, currency string, thresholds []int, asOf billing.Date, tmpl *report.Templates) (subject, text string, blocks []byte, err error) {
	d := newDigest(v, currency, thresholds, asOf)
	subject, text, err = renderMessage(tmpl, "digest.txt.tmpl", map[string]any{
		"Period": v.Period.String(), "Title": d.title, "Summary": d.summary, "Lines": d.lines, "Part": 1,
	})
	if err != nil {
		return "", "", nil, err
	}
	return subject, text, d.blocks(1, d.after(1)), nil
}

// digest renders the digest message part (store.Key.Part: "" for the
// digest sent as one message, "1", "2", … for its parts) as of the day it
// was queued. The last part queued also counts the contracts that no
// longer fit in the parts queued (the digest grew since). On Slack, part
// n > 1 goes after part n-1 and in the thread of part 1.
func (r *Renderer) digest(ctx context.Context, m store.OutboxMessage, p billing.Period, part string) (*Message, error) {
	k := 1
	if part != "" {
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("digest %s: part %q is not a number from 1", p, part)
		}
		k = n
	}
	asOf := billing.DateAt(m.CreatedAt, r.Location)
	v, err := r.DB.Status(ctx, r.Rules, p, asOf)
	if err != nil {
		return nil, err
	}
	d := newDigest(v, r.Currency, r.Thresholds, asOf)
	more := 0
	if len(d.parts) > k {
		last := part == ""
		if !last {
			next := DigestPartKey(p, k+1)
			queued, err := r.DB.Queued(ctx, []string{next})
			if err != nil {
				return nil, err
			}
			last = !queued[next]
		}
		if last {
			more = d.after(k)
		}
	}
	subject, text, err := d.text(r.Templates, k, more)
	if err != nil {
		return nil, err
	}
	msg := r.base(m)
	msg.Subject, msg.Text = subject, text
	if m.Channel == ChannelSlack {
		msg.Blocks = d.blocks(k, more)
		if k > 1 {
			msg.After, msg.Thread = DigestPartKey(p, k-1), DigestPartKey(p, 1)
		}
	}
	return msg, nil
}
