package main

import (
	"context"
	"fmt"
	"time"

	"retainer/billing"
	"retainer/jobs"
)

// openForReminders checks a once-per-key command's arguments, opens the
// store and returns the as-of date.
func (a *invocation) openForReminders(ctx context.Context, c *cmdline, name string) (billing.Date, error) {
	if len(c.args) > 0 {
		return 0, usagef("%s takes no arguments", name)
	}
	if err := a.openStore(ctx, c); err != nil {
		return 0, err
	}
	return a.asOf(c)
}

// clockAt is the command's clock for the as-of date: now on today, else
// that day at the current time of day in the agency timezone. Messages
// queued with --as-of are dated, and render their figures, as of that day,
// never the machine's date.
func (a *invocation) clockAt(c *cmdline, asOf billing.Date) time.Time {
	now := a.now().In(c.location)
	if billing.DateAt(now, c.location) == asOf {
		return now
	}
	t := asOf.Time()
	return time.Date(t.Year(), t.Month(), t.Day(), now.Hour(), now.Minute(), now.Second(), 0, c.location)
}

// queueOrPrint drops the candidates already in the outbox, then prints the
// rest, or with --send queues them, dated asOf, and delivers: the daemon's
// jobs queue through the same functions.
func (a *invocation) queueOrPrint(ctx context.Context, c *cmdline, asOf billing.Date, cands []jobs.Candidate, none string) error {
	fresh, err := jobs.Fresh(ctx, c.db, cands)
	if err != nil {
		return err
	}
	for _, cd := range fresh {
		fmt.Fprintln(a.stdout, cd.Line)
	}
	if !c.send {
		if len(fresh) == 0 {
			fmt.Fprintln(a.stdout, none)
		}
		return nil
	}
	// The messages are queued, dated and delivered as of the as-of day.
	c.sendAt = a.clockAt(c, asOf)
	if err := jobs.Queue(ctx, c.db, fresh, c.sendAt); err != nil {
		return err
	}
	return a.deliver(ctx, c)
}

func (a *invocation) renewals(ctx context.Context, c *cmdline) error {
	today, err := a.openForReminders(ctx, c, "renewals")
	if err != nil {
		return err
	}
	return a.queueOrPrint(ctx, c, today, jobs.RenewalCandidates(c.env, today), "no renewal reminders due")
}

// overdue is the overdue job once: the agency is told of each sent invoice
// past its due date, and its client is sent the payment reminder due that
// day (reminders.client_overdue_days), each once.
func (a *invocation) overdue(ctx context.Context, c *cmdline) error {
	today, err := a.openForReminders(ctx, c, "overdue")
	if err != nil {
		return err
	}
	cands, err := jobs.OverdueCandidates(ctx, c.env, today)
	if err != nil {
		return err
	}
	return a.queueOrPrint(ctx, c, today, cands, "no overdue invoices")
}

func (a *invocation) checkins(ctx context.Context, c *cmdline) error {
	today, err := a.openForReminders(ctx, c, "checkins")
	if err != nil {
		return err
	}
	return a.queueOrPrint(ctx, c, today, jobs.CheckinCandidates(c.env, today.Period()), "no check-ins due")
}
