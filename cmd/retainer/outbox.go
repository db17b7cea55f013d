package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"retainer/jobs"
	"retainer/notify"
	"retainer/store"
)

func outboxFlags(fs *flag.FlagSet, c *cmdline) {
	fs.BoolVar(&c.json, "json", false, "print JSON")
}

type outboxJSON struct {
	Messages []outboxMessageJSON `json:"messages"`
}

type outboxMessageJSON struct {
	ID        int64    `json:"id"`
	Key       string   `json:"key"`
	Channel   string   `json:"channel"`
	Transport string   `json:"transport"`
	To        []string `json:"to"`
	Status    string   `json:"status"`
	Attempts  int      `json:"attempts"`
	LastError string   `json:"last_error"`
	CreatedAt string   `json:"created_at"`
	SentAt    *string  `json:"sent_at"`
}

// dispatcher is the outbox dispatcher of the config, the one the daemon uses.
func (a *invocation) dispatcher(c *cmdline) *notify.Dispatcher {
	if at := c.sendAt; !at.IsZero() {
		return c.env.Dispatcher(func() time.Time { return at })
	}
	return c.env.Dispatcher(a.now)
}

// transportFor names the transport a channel's pending messages will use.
func transportFor(d *notify.Dispatcher, channel string) string { return d.Routes[channel].Transport }

func (a *invocation) outbox(ctx context.Context, c *cmdline) error {
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	switch {
	case len(c.args) == 0:
		return a.listOutbox(ctx, c)
	case c.args[0] == "send" && len(c.args) == 1:
		a.createStripeInvoices(ctx, c)
		res, err := a.dispatcher(c).Dispatch(ctx, true)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "sent %d, retrying %d, failed %d, unknown %d%s\n", res.Sent, res.Retrying, res.Failed, res.Unknown, cancelledText(res))
		if res.Failed+res.Unknown+res.Retrying > 0 {
			return errSilent
		}
		return nil
	case c.args[0] == "retry" && len(c.args) == 2:
		id, err := strconv.ParseInt(c.args[1], 10, 64)
		if err != nil {
			return usagef("retry ID: %q is not a message id", c.args[1])
		}
		// A message a stopped process left claimed is settled first: it
		// may be unknown (retried here) or simply pending again.
		if _, err := c.db.RecoverClaims(ctx, store.ThisProcess(), time.Now()); err != nil {
			return err
		}
		if err := c.db.Retry(ctx, id, a.now()); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "message %d is pending again; `retainer outbox send` delivers it now\n", id)
		return nil
	}
	return usagef("want: outbox [--json] | outbox send | outbox retry ID")
}

func (a *invocation) listOutbox(ctx context.Context, c *cmdline) error {
	msgs, err := c.db.Outbox(ctx)
	if err != nil {
		return err
	}
	d := a.dispatcher(c)
	out := outboxJSON{Messages: []outboxMessageJSON{}}
	for _, m := range msgs {
		j := outboxMessageJSON{ID: m.ID, Key: m.Key, Channel: m.Channel, Transport: m.Transport, To: m.To, Status: m.Status,
			Attempts: m.Attempts, LastError: m.LastError, CreatedAt: m.CreatedAt.Format(time.RFC3339)}
		if j.Transport == "" {
			j.Transport = transportFor(d, m.Channel)
		}
		if j.Status == store.OutboxSending {
			j.Status = store.OutboxPending
		}
		if m.SentAt != nil {
			s := m.SentAt.Format(time.RFC3339)
			j.SentAt = &s
		}
		out.Messages = append(out.Messages, j)
	}
	if c.json {
		return writeJSON(a.stdout, out)
	}
	if len(msgs) == 0 {
		fmt.Fprintln(a.stdout, "the outbox is empty")
		return nil
	}
	tw := newTable(a.stdout)
	tw.row("ID", "STATUS", "CHANNEL", "TRANSPORT", "KEY", "TO", "ATTEMPTS", "LAST ERROR")
	for _, m := range out.Messages {
		tw.row(strconv.FormatInt(m.ID, 10), m.Status, m.Channel, m.Transport, m.Key, strings.Join(m.To, ", "),
			strconv.Itoa(m.Attempts), m.LastError)
	}
	tw.flush()
	return nil
}

// deliver sends what is due after a command queued messages (close --send).
func (a *invocation) deliver(ctx context.Context, c *cmdline) error {
	a.createStripeInvoices(ctx, c)
	res, err := a.dispatcher(c).Dispatch(ctx, false)
	if err != nil {
		return err
	}
	w := a.stdout
	if c.json {
		w = a.stderr // keep stdout one JSON document
	}
	fmt.Fprintf(w, "delivered %d, retrying %d, failed %d, unknown %d%s (see `retainer outbox`)\n",
		res.Sent, res.Retrying, res.Failed, res.Unknown, cancelledText(res))
	if res.Failed+res.Unknown > 0 {
		return errSilent
	}
	return nil
}

// createStripeInvoices runs the Stripe step a delivery waits for: with
// Stripe configured, a statement email waits for its payment link, so the
// Stripe invoices due are created first, as the daemon's payments job does
// before a dispatch. Stripe unavailable holds only those emails (retried
// later); it is reported, not fatal.
func (a *invocation) createStripeInvoices(ctx context.Context, c *cmdline) {
	if _, err := jobs.CreateStripeInvoices(ctx, c.env, a.now()); err != nil {
		fmt.Fprintf(a.stderr, "payments: %v (those statements' emails wait for their payment links)\n", err)
	}
}

// cancelledText counts the messages a delivery cancelled (payment reminders
// of invoices paid since they were queued), when there are any.
func cancelledText(res notify.Result) string {
	if res.Cancelled == 0 {
		return ""
	}
	return fmt.Sprintf(", cancelled %d", res.Cancelled)
}
