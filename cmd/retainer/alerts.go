package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"retainer/config"
	"retainer/notify"
	"retainer/store"
)

func alertsFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.asOf, "as-of", "", "evaluate as of YYYY-MM-DD (default today)")
	fs.BoolVar(&c.send, "send", false, "queue the alerts and deliver them (otherwise only print them)")
}

func (a *app) alerts(ctx context.Context, c *cmdline) error {
	asOf, err := a.openForReminders(ctx, c, "alerts")
	if err != nil {
		return err
	}
	v, err := c.db.Status(ctx, c.rules, asOf.Period(), asOf)
	if err != nil {
		return err
	}
	var cands []candidate
	for _, al := range notify.Alerts(v.Rows, c.cfg.Alerts.Thresholds, asOf) {
		key := al.Key()
		cd := candidate{key: key, line: fmt.Sprintf("%s %s %s %s (agency)", al.ContractID, al.Period, kindName(al), pctOf(al))}
		if al.Client {
			cd.line = strings.Replace(cd.line, "(agency)", "(client)", 1)
			cd.msgs = []store.OutboxMessage{{Key: key, Channel: notify.ChannelEmail, To: c.rules.Contract(al.ContractID).Contacts}}
		} else {
			cd.msgs = agencyMessages(c.cfg, key)
		}
		cands = append(cands, cd)
	}
	return a.queueOrPrint(ctx, c, cands, "no new alerts")
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
