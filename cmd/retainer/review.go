package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"retainer/billing"
	"retainer/store"
)

// approve makes statements under review pending and queues their emails:
// `statement approve INVOICE_NUMBER...` or `statement approve --month M`.
func (a *invocation) approve(ctx context.Context, c *cmdline) error {
	invoices := c.args[1:]
	if (len(invoices) == 0) == (c.month == "") {
		return usagef("want: statement approve INVOICE_NUMBER... | statement approve --month YYYY-MM")
	}
	var p billing.Period
	if c.month != "" {
		var err error
		if p, err = billing.ParsePeriod(c.month); err != nil {
			return usagef("--month: %v", err)
		}
	}
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	res, err := c.db.ApproveStatements(ctx, c.rules, invoices, p, a.today(c), a.now())
	if errors.Is(err, store.ErrNotFound) {
		return usagef("%v", err)
	}
	if err != nil {
		return err
	}
	approved := 0
	for _, r := range res {
		st := r.Statement
		switch {
		case r.Approved:
			approved++
			fmt.Fprintf(a.stdout, "%s approved: issued %s, due %s, %s\n", st.InvoiceNumber, st.IssuedOn, st.DueOn, st.TotalWithTax().Format(st.Currency))
		default:
			fmt.Fprintf(a.stdout, "%s is %s already: nothing changed\n", st.InvoiceNumber, st.Status)
		}
	}
	if len(res) == 0 {
		fmt.Fprintf(a.stdout, "no drafts in %s\n", p)
		return nil
	}
	if approved > 0 {
		if c.send {
			return a.deliver(ctx, c)
		}
		fmt.Fprintln(a.stdout, "statement emails are queued: `retainer outbox send` delivers them (the daemon within 2 s)")
	}
	return nil
}

// dayOneWarnings are what `check` says about the first close and about
// hours logged after a contract's end, from the database when there is one.
// check never writes: it never creates the database, and opens it
// read-only, so it neither migrates its schema nor re-matches its entries
// to contracts that changed (the next command that writes does both); it
// says so instead.
func (a *invocation) dayOneWarnings(ctx context.Context, c *cmdline) ([]string, error) {
	cfg := c.cfg
	today := a.today(c)
	rules := store.NewRules(cfg.Contracts)
	var out []string
	var db *store.DB
	if strings.Contains(cfg.Database, "://") || fileExists(cfg.Database) {
		ro, err := store.OpenWith(ctx, cfg.Database, store.Options{ReadOnly: true})
		if err != nil {
			return nil, err
		}
		defer ro.Close()
		if n := ro.SchemaBehind(); n > 0 {
			// Its tables may lack what this version reads.
			out = append(out, fmt.Sprintf("database: its schema is %s behind this version of retainer: "+
				"the next command that writes upgrades it; check reads nothing from it until then", plural(n, "migration", "migrations")))
		} else {
			db = ro
			changed, err := db.RulesChanged(ctx, rules)
			if err != nil {
				return nil, err
			}
			if changed {
				out = append(out, "contracts: changed since the database's entries were matched and counted: "+
					"check reads the figures as they were; the next command that writes matches and counts the entries again")
			}
		}
	}
	lastEnded := today.Period() - 1
	if cfg.GoLive == nil {
		from, ok := billing.Period(0), false
		for _, k := range cfg.Contracts {
			if k.Start != nil && len(k.Contacts) > 0 && (!ok || *k.Start < from) {
				from, ok = *k.Start, true
			}
		}
		if db != nil {
			last, closed, err := db.LastClosed(ctx)
			if err != nil {
				return nil, err
			}
			if closed && last+1 > from {
				from = last + 1
			}
		}
		if ok && lastEnded-from+1 > 1 {
			out = append(out, fmt.Sprintf("go_live: not set: the first close will email statements for %d past months (%s to %s); "+
				"set go_live: %s to close those months without invoicing or emailing them", lastEnded-from+1, from, lastEnded, today.Period()))
		}
	}
	if db != nil {
		v, err := db.Status(ctx, rules, today.Period(), today)
		if err != nil {
			return nil, err
		}
		for _, r := range v.Rows {
			if r.Contract.AfterEnd(v.Period) && r.Figures.Used > 0 {
				out = append(out, fmt.Sprintf("contracts.%s.end: %s, but %s %s are logged in %s: they are billed at the overage rate",
					r.Contract.ID, r.Contract.End, billing.FormatQuantity(r.Figures.Used, r.Contract.Unit), r.Contract.Unit, v.Period))
			}
		}
	}
	return out, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
