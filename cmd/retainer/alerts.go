package main

import (
	"context"
	"flag"
	"fmt"

	"retainer/config"
	"retainer/notify"
	"retainer/store"
)

func alertsFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.asOf, "as-of", "", "evaluate as of YYYY-MM-DD (default today)")
	fs.BoolVar(&c.send, "send", false, "queue the alerts and deliver them (otherwise only print them)")
}

func (a *app) alerts(ctx context.Context, c *cmdline) error {
	if len(c.args) > 0 {
		return usagef("alerts takes no arguments")
	}
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	asOf, err := a.asOf(c)
	if err != nil {
		return err
	}
	v, err := c.db.Status(ctx, c.rules, asOf.Period(), asOf)
	if err != nil {
		return err
	}
	queued := map[string]bool{}
	msgs, err := c.db.Outbox(ctx)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		queued[m.Key] = true
	}
	cfg := c.cfg
	var q []store.OutboxMessage
	var lines []string
	for _, al := range notify.Alerts(v.Rows, cfg.Alerts.Thresholds, asOf) {
		if queued[al.Key()] {
			continue
		}
		k := c.rules.Contract(al.ContractID)
		who := "agency"
		if al.Client {
			who = "client"
		}
		lines = append(lines, fmt.Sprintf("%s %s %s %s (%s)", al.ContractID, al.Period, kindName(al), pctOf(al), who))
		if al.Client {
			q = append(q, store.OutboxMessage{Key: al.Key(), Channel: notify.ChannelEmail, To: k.Contacts})
			continue
		}
		q = append(q, agencyMessages(cfg, al.Key())...)
	}
	for _, l := range lines {
		fmt.Fprintln(a.stdout, l)
	}
	if !c.send {
		if len(lines) == 0 {
			fmt.Fprintln(a.stdout, "no new alerts")
		}
		return nil
	}
	if err := c.db.Enqueue(ctx, q, a.now()); err != nil {
		return err
	}
	return a.deliver(ctx, c)
}

// agencyMessages addresses one message to the agency: Slack when it is
// configured, email to agency.email when that is set, and the file
// transport when neither is.
func agencyMessages(cfg *config.Config, key string) []store.OutboxMessage {
	var q []store.OutboxMessage
	slack, email := cfg.Notify.Slack.Enabled(), cfg.Agency.Email != ""
	if slack {
		to := cfg.Notify.Slack.Channel
		if to == "" {
			to = "webhook"
		}
		q = append(q, store.OutboxMessage{Key: key, Channel: notify.ChannelSlack, To: []string{to}})
	}
	if email {
		q = append(q, store.OutboxMessage{Key: key, Channel: notify.ChannelEmail, To: []string{cfg.Agency.Email}})
	}
	if !slack && !email {
		q = append(q, store.OutboxMessage{Key: key, Channel: notify.ChannelSlack, To: []string{"file"}})
	}
	return q
}

func kindName(al notify.Alert) string {
	switch al.Kind {
	case notify.KindOverage, notify.KindProjectedOverage:
		return al.Kind
	}
	return al.Kind + "%"
}

func pctOf(al notify.Alert) string { return "utilization " + al.Figures.Utilization.String() + "%" }
