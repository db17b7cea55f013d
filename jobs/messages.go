package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/notify"
	"retainer/store"
)

// Candidate is one message a job would queue: a line describing it and its
// outbox rows (one per channel) under one idempotency key.
type Candidate struct {
	Key  string
	Line string
	Msgs []store.OutboxMessage
}

// AgencyMessages addresses one message to the agency: Slack when it is
// configured, email to agency.email when that is set, and the file
// transport when neither is.
func AgencyMessages(cfg *config.Config, key string) []store.OutboxMessage {
	var q []store.OutboxMessage
	slack, email := cfg.Notify.Slack.Enabled(), cfg.Agency.Email != ""
	if slack {
		q = append(q, store.OutboxMessage{Key: key, Channel: notify.ChannelSlack, To: []string{slackTo(cfg)}})
	}
	if email {
		q = append(q, store.OutboxMessage{Key: key, Channel: notify.ChannelEmail, To: []string{cfg.Agency.Email}})
	}
	if !slack && !email {
		q = append(q, store.OutboxMessage{Key: key, Channel: notify.ChannelSlack, To: []string{"file"}})
	}
	return q
}

// slackTo is what a Slack message's "to" holds: the channel, "webhook", or
// "file" when Slack is not configured.
func slackTo(cfg *config.Config) string {
	s := cfg.Notify.Slack
	switch {
	case !s.Enabled():
		return "file"
	case s.Channel != "":
		return s.Channel
	default:
		return "webhook"
	}
}

// AlertCandidates evaluates the alert thresholds of period p as of asOf.
// A closed period has none.
func AlertCandidates(ctx context.Context, env *Env, p billing.Period, asOf billing.Date) ([]Candidate, error) {
	if !env.Config.Invoiced(p) {
		return nil, nil // before go-live
	}
	v, err := env.DB.Status(ctx, env.Rules, p, asOf)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, al := range notify.Alerts(v.Rows, env.Config.Alerts.Thresholds, asOf) {
		key := al.Key()
		kind := al.Name() + "%"
		if al.Kind == notify.KindOverage || al.Kind == notify.KindProjectedOverage {
			kind = al.Name()
		}
		cd := Candidate{Key: key, Line: fmt.Sprintf("%s %s %s utilization %s%% (agency)", al.ContractID, al.Period, kind, al.Figures.Utilization)}
		if al.Client {
			cd.Line = strings.Replace(cd.Line, "(agency)", "(client)", 1)
			cd.Msgs = []store.OutboxMessage{{Key: key, Channel: notify.ChannelEmail, To: env.Rules.Contract(al.ContractID).Contacts}}
		} else {
			cd.Msgs = AgencyMessages(env.Config, key)
		}
		out = append(out, cd)
	}
	return out, nil
}

// DigestCandidate is the mid-month digest of period p, for the agency's
// Slack, queued at now: one message (key digest/<YYYY-MM>) when it fits in
// one, otherwise one per part (digest/<YYYY-MM>/1, /2, …), all queued by
// Queue in one transaction. Its Key is the first message's. The store
// queues a period's digest once, whatever its keys (store.DB.Enqueue): a
// month sent as one message before an upgrade is not sent again in parts.
func DigestCandidate(ctx context.Context, env *Env, p billing.Period, now time.Time) (Candidate, error) {
	asOf := billing.DateAt(now, env.Config.Location)
	v, err := env.DB.Status(ctx, env.Rules, p, asOf)
	if err != nil {
		return Candidate{}, fmt.Errorf("digest %s: %w", p, err)
	}
	keys := notify.DigestKeys(v, env.Config.Currency, env.Config.Alerts.Thresholds, asOf)
	cd := Candidate{Key: keys[0], Line: "digest " + p.String()}
	if len(keys) > 1 {
		cd.Line = fmt.Sprintf("digest %s in %d parts", p, len(keys))
	}
	for _, key := range keys {
		cd.Msgs = append(cd.Msgs, store.OutboxMessage{Key: key, Channel: notify.ChannelSlack, To: []string{slackTo(env.Config)}})
	}
	return cd, nil
}

// CheckinCandidates are the mid-month check-in emails of period p: one to
// each active contract with checkin: true and contacts.
func CheckinCandidates(env *Env, p billing.Period) []Candidate {
	var out []Candidate
	for _, k := range env.Config.Contracts {
		if k.Checkin && len(k.Contacts) > 0 && k.Active(p) && env.Config.Invoiced(p) {
			key := notify.CheckinKey(k.ID, p)
			out = append(out, Candidate{key, fmt.Sprintf("%s %s check-in to %v", k.ID, p, k.Contacts),
				[]store.OutboxMessage{{Key: key, Channel: notify.ChannelEmail, To: k.Contacts}}})
		}
	}
	return out
}

// RenewalCandidates remind the agency of contracts ending within 30 days.
func RenewalCandidates(env *Env, today billing.Date) []Candidate {
	var out []Candidate
	for _, k := range env.Config.Contracts {
		if billing.RenewalDue(k, today) && env.Config.Invoiced(*k.End) {
			key := notify.RenewalKey(k)
			out = append(out, Candidate{key, fmt.Sprintf("%s ends %s (last day %s)", k.ID, k.End, k.End.LastDay()),
				AgencyMessages(env.Config, key)})
		}
	}
	return out
}

// OverdueCandidates are the overdue job's messages: the agency is told of
// each sent invoice past its due date, and the invoice's client is sent the
// payment reminder due today, if any (see PaymentReminderCandidates).
func OverdueCandidates(ctx context.Context, env *Env, today billing.Date) ([]Candidate, error) {
	sts, err := env.DB.Statements(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, st := range sts {
		if st.StatusAt(today) == billing.InvoiceOverdue {
			key := notify.OverdueKey(st.ContractID, st.Period)
			out = append(out, Candidate{key, fmt.Sprintf("%s overdue since %s (%s)", st.InvoiceNumber, st.DueOn,
				st.TotalWithTax().Format(st.Currency)), AgencyMessages(env.Config, key)})
			if cd, ok := paymentReminder(env, &st, today); ok {
				out = append(out, cd)
			}
		}
	}
	return out, nil
}

// PaymentReminderCandidates are the payment reminders due today to the
// clients of overdue invoices (SPEC §14, reminders.client_overdue_days): per
// invoice at most one, for the latest listed day past due that today has
// reached (notify.PaymentReminderDay), by email to the contract's contacts.
// Fresh then drops those already queued, so each day's goes out once; a
// paid invoice, a draft and one not yet sent get none, and neither does a
// period before go_live or a contract without contacts.
func PaymentReminderCandidates(ctx context.Context, env *Env, today billing.Date) ([]Candidate, error) {
	if len(env.Config.Reminders.ClientOverdueDays) == 0 {
		return nil, nil
	}
	sts, err := env.DB.Statements(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for _, st := range sts {
		if cd, ok := paymentReminder(env, &st, today); ok {
			out = append(out, cd)
		}
	}
	return out, nil
}

// paymentReminder is statement st's payment reminder due today, if any.
func paymentReminder(env *Env, st *store.Statement, today billing.Date) (Candidate, bool) {
	days, ok := notify.PaymentReminderDay(env.Config.Reminders.ClientOverdueDays, st.Status, st.DueOn, today)
	if !ok || !env.Config.Invoiced(st.Period) {
		return Candidate{}, false
	}
	c := env.Rules.Contract(st.ContractID)
	if c == nil || len(c.Contacts) == 0 {
		return Candidate{}, false // nobody to remind; check warns of a contract without contacts
	}
	key := notify.PaymentReminderKey(st.ContractID, st.Period, days)
	return Candidate{key, fmt.Sprintf("%s payment reminder, day %d past due (%s) to %v", st.InvoiceNumber, days,
		st.TotalWithTax().Format(st.Currency), c.Contacts), []store.OutboxMessage{{Key: key, Channel: notify.ChannelEmail, To: c.Contacts}}}, true
}

// Fresh drops the candidates whose key is already in the outbox.
func Fresh(ctx context.Context, db *store.DB, cands []Candidate) ([]Candidate, error) {
	keys := make([]string, len(cands))
	for i, cd := range cands {
		keys[i] = cd.Key
	}
	done, err := db.Queued(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := cands[:0:0]
	for _, cd := range cands {
		if !done[cd.Key] {
			out = append(out, cd)
		}
	}
	return out, nil
}

// Queue writes the candidates' messages to the outbox in one transaction;
// a (key, channel) already there is left as it is.
func Queue(ctx context.Context, db *store.DB, cands []Candidate, now time.Time) error {
	var q []store.OutboxMessage
	for _, cd := range cands {
		q = append(q, cd.Msgs...)
	}
	if len(q) == 0 {
		return nil
	}
	return db.Enqueue(ctx, q, now)
}
