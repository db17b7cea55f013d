package main

import (
	"context"
	"fmt"

	"retainer/billing"
	"retainer/jobs"
)

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
// rest, or with --send queues them and delivers: the daemon's jobs queue
// through the same functions.
func (a *app) queueOrPrint(ctx context.Context, c *cmdline, cands []jobs.Candidate, none string) error {
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
	if err := jobs.Queue(ctx, c.db, fresh, a.now()); err != nil {
		return err
	}
	return a.deliver(ctx, c)
}

func (a *app) renewals(ctx context.Context, c *cmdline) error {
	today, err := a.openForReminders(ctx, c, "renewals")
	if err != nil {
		return err
	}
	return a.queueOrPrint(ctx, c, jobs.RenewalCandidates(c.env, today), "no renewal reminders due")
}

func (a *app) overdue(ctx context.Context, c *cmdline) error {
	today, err := a.openForReminders(ctx, c, "overdue")
	if err != nil {
		return err
	}
	cands, err := jobs.OverdueCandidates(ctx, c.env, today)
	if err != nil {
		return err
	}
	return a.queueOrPrint(ctx, c, cands, "no overdue invoices")
}

func (a *app) checkins(ctx context.Context, c *cmdline) error {
	today, err := a.openForReminders(ctx, c, "checkins")
	if err != nil {
		return err
	}
	return a.queueOrPrint(ctx, c, jobs.CheckinCandidates(c.env, today.Period()), "no check-ins due")
}
