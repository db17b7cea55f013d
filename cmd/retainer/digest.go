package main

import (
	"context"
	"flag"
	"fmt"

	"retainer/jobs"
	"retainer/notify"
)

func digestFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.asOf, "as-of", "", "as of YYYY-MM-DD (default today)")
	fs.BoolVar(&c.send, "send", false, "queue the digest for the agency's Slack and deliver it (once per month)")
}

func (a *invocation) digest(ctx context.Context, c *cmdline) error {
	if len(c.args) > 0 {
		return usagef("digest takes no arguments")
	}
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	asOf, err := a.asOf(c)
	if err != nil {
		return err
	}
	p := asOf.Period()
	if !c.send {
		v, err := c.db.Status(ctx, c.rules, p, asOf)
		if err != nil {
			return err
		}
		_, text, _, err := notify.DigestMessage(v, c.cfg.Currency, c.cfg.Alerts.Thresholds, asOf, c.env.Templates)
		if err != nil {
			return err
		}
		fmt.Fprint(a.stdout, text)
		return nil
	}
	if !c.cfg.Invoiced(p) {
		fmt.Fprintf(a.stdout, "%s is before go_live %s: no digest\n", p, c.cfg.GoLive)
		return nil
	}
	c.sendAt = a.clockAt(c, asOf) // queued, dated and delivered as of that day
	cd, err := jobs.DigestCandidate(ctx, c.env, p, c.sendAt)
	if err != nil {
		return err
	}
	if err := jobs.Queue(ctx, c.db, []jobs.Candidate{cd}, c.sendAt); err != nil {
		return err
	}
	return a.deliver(ctx, c)
}
