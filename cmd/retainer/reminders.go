package main

import (
	"context"
	"fmt"

	"retainer/billing"
	"retainer/notify"
	"retainer/store"
)

// queued returns the keys already in the outbox.
func queued(ctx context.Context, c *cmdline) (map[string]bool, error) {
	msgs, err := c.db.Outbox(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, m := range msgs {
		out[m.Key] = true
	}
	return out, nil
}

// prepareReminders opens the store and returns the as-of date and the keys
// already queued, for a command that queues each message once.
func (a *app) prepareReminders(ctx context.Context, c *cmdline, name string) (billing.Date, map[string]bool, error) {
	if len(c.args) > 0 {
		return 0, nil, usagef("%s takes no arguments", name)
	}
	if err := a.openStore(ctx, c); err != nil {
		return 0, nil, err
	}
	today, err := a.asOf(c)
	if err != nil {
		return 0, nil, err
	}
	done, err := queued(ctx, c)
	return today, done, err
}

// queueOrPrint prints what would be queued, or queues it and delivers.
func (a *app) queueOrPrint(ctx context.Context, c *cmdline, lines []string, q []store.OutboxMessage, none string) error {
	for _, l := range lines {
		fmt.Fprintln(a.stdout, l)
	}
	if !c.send {
		if len(lines) == 0 {
			fmt.Fprintln(a.stdout, none)
		}
		return nil
	}
	if err := c.db.Enqueue(ctx, q, a.now()); err != nil {
		return err
	}
	return a.deliver(ctx, c)
}

func (a *app) renewals(ctx context.Context, c *cmdline) error {
	today, done, err := a.prepareReminders(ctx, c, "renewals")
	if err != nil {
		return err
	}
	var lines []string
	var q []store.OutboxMessage
	for _, k := range c.cfg.Contracts {
		if !notify.RenewalDue(k, today) || done[notify.RenewalKey(k)] {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s ends %s (last day %s)", k.ID, k.End, k.End.LastDay()))
		q = append(q, agencyMessages(c.cfg, notify.RenewalKey(k))...)
	}
	return a.queueOrPrint(ctx, c, lines, q, "no renewal reminders due")
}

func (a *app) overdue(ctx context.Context, c *cmdline) error {
	today, done, err := a.prepareReminders(ctx, c, "overdue")
	if err != nil {
		return err
	}
	sts, err := c.db.Statements(ctx, "")
	if err != nil {
		return err
	}
	var lines []string
	var q []store.OutboxMessage
	for _, st := range sts {
		key := notify.OverdueKey(st.InvoiceNumber)
		if st.StatusAt(today) != "overdue" || done[key] {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s overdue since %s (%s)", st.InvoiceNumber, st.DueOn, st.Total.Format(st.Currency)))
		q = append(q, agencyMessages(c.cfg, key)...)
	}
	return a.queueOrPrint(ctx, c, lines, q, "no overdue invoices")
}

func (a *app) checkins(ctx context.Context, c *cmdline) error {
	today, done, err := a.prepareReminders(ctx, c, "checkins")
	if err != nil {
		return err
	}
	p := today.Period()
	var lines []string
	var q []store.OutboxMessage
	for _, k := range c.cfg.Contracts {
		key := notify.CheckinKey(k.ID, p)
		if !k.Checkin || len(k.Contacts) == 0 || !k.Active(p) || done[key] {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s %s check-in to %v", k.ID, p, k.Contacts))
		q = append(q, store.OutboxMessage{Key: key, Channel: notify.ChannelEmail, To: k.Contacts})
	}
	return a.queueOrPrint(ctx, c, lines, q, "no check-ins due")
}
