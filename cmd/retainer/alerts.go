package main

import (
	"context"
	"flag"

	"retainer/jobs"
)

func alertsFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.asOf, "as-of", "", "evaluate as of YYYY-MM-DD (default today)")
	fs.BoolVar(&c.send, "send", false, "queue the alerts and deliver them (otherwise only print them)")
}

func (a *invocation) alerts(ctx context.Context, c *cmdline) error {
	asOf, err := a.openForReminders(ctx, c, "alerts")
	if err != nil {
		return err
	}
	cands, err := jobs.AlertCandidates(ctx, c.env, asOf.Period(), asOf)
	if err != nil {
		return err
	}
	return a.queueOrPrint(ctx, c, asOf, cands, "no new alerts")
}
