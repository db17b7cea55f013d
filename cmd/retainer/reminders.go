package main

import (
	"context"
	"fmt"

	"retainer/billing"
	"retainer/notify"
	"retainer/store"
)

// candidate is one message a once-per-key command would queue: the line it
// prints and the outbox rows (one per channel) under one key.
type candidate struct {
	key  string
	line string
	msgs []store.OutboxMessage
}

// openForReminders checks a once-per-key command's arguments, opens the
// store and returns the as-of date.
func (a *app) openForReminders(ctx context.Context, c *cmdline, name string) (billing.Date, error) {
	if len(c.args) > 0 {
		return 0, usagef("%s takes no arguments", name)
	}
	if err := a.openStore(ctx, c); err != nil {
		return 0, err
	}
	return a.asOf(c)
}

// queueOrPrint drops the candidates already in the outbox, then prints the
// rest, or with --send queues them and delivers.
func (a *app) queueOrPrint(ctx context.Context, c *cmdline, cands []candidate, none string) error {
	keys := make([]string, len(cands))
	for i, cd := range cands {
		keys[i] = cd.key
	}
	done, err := c.db.Queued(ctx, keys)
	if err != nil {
		return err
	}
	var q []store.OutboxMessage
	for _, cd := range cands {
		if !done[cd.key] {
			fmt.Fprintln(a.stdout, cd.line)
			q = append(q, cd.msgs...)
		}
	}
	if !c.send {
		if len(q) == 0 {
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
	today, err := a.openForReminders(ctx, c, "renewals")
	if err != nil {
		return err
	}
	var cands []candidate
	for _, k := range c.cfg.Contracts {
		if notify.RenewalDue(k, today) {
			key := notify.RenewalKey(k)
			cands = append(cands, candidate{key, fmt.Sprintf("%s ends %s (last day %s)", k.ID, k.End, k.End.LastDay()),
				agencyMessages(c.cfg, key)})
		}
	}
	return a.queueOrPrint(ctx, c, cands, "no renewal reminders due")
}

func (a *app) overdue(ctx context.Context, c *cmdline) error {
	today, err := a.openForReminders(ctx, c, "overdue")
	if err != nil {
		return err
	}
	sts, err := c.db.Statements(ctx, "")
	if err != nil {
		return err
	}
	var cands []candidate
	for _, st := range sts {
		if st.StatusAt(today) == "overdue" {
			key := notify.OverdueKey(st.InvoiceNumber)
			cands = append(cands, candidate{key, fmt.Sprintf("%s overdue since %s (%s)", st.InvoiceNumber, st.DueOn,
				st.Total.Format(st.Currency)), agencyMessages(c.cfg, key)})
		}
	}
	return a.queueOrPrint(ctx, c, cands, "no overdue invoices")
}

func (a *app) checkins(ctx context.Context, c *cmdline) error {
	today, err := a.openForReminders(ctx, c, "checkins")
	if err != nil {
		return err
	}
	p := today.Period()
	var cands []candidate
	for _, k := range c.cfg.Contracts {
		if k.Checkin && len(k.Contacts) > 0 && k.Active(p) {
			key := notify.CheckinKey(k.ID, p)
			cands = append(cands, candidate{key, fmt.Sprintf("%s %s check-in to %v", k.ID, p, k.Contacts),
				[]store.OutboxMessage{{Key: key, Channel: notify.ChannelEmail, To: k.Contacts}}})
		}
	}
	return a.queueOrPrint(ctx, c, cands, "no check-ins due")
}
