package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"retainer/billing"
	"retainer/store"
)

// Corrections of logged time (SPEC §13): amounts as `log` and `entry edit`
// read them, and `entry edit|delete ID`.

// parseHours reads an amount of time for an hours contract: more than zero,
// at most a month.
func parseHours(s string) (int64, error) {
	secs, err := billing.ParseAmount(s)
	switch {
	case err != nil:
		return 0, usagef("%v", err)
	case secs < 0:
		return 0, negativeAmount(s)
	case secs == 0:
		return 0, usagef("amount %q: must be more than zero", s)
	}
	if err := billing.CheckHours(secs); err != nil {
		return 0, usagef("amount %q: %v", s, err)
	}
	return secs, nil
}

// parseSessions reads a number of sessions: a whole number from 1 to a
// month's worth (as many as the hours an entry may hold).
func parseSessions(s string) (int, error) {
	if strings.HasPrefix(strings.TrimSpace(s), "-") {
		if secs, err := billing.ParseAmount(s); err == nil && secs < 0 {
			return 0, negativeAmount(s)
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	switch {
	case err != nil || n == 0:
		return 0, usagef("amount %q: a sessions contract logs a whole number of sessions (1, 2, …)", s)
	case n < 0:
		return 0, negativeAmount(s)
	case n > billing.MaxEntryHours:
		return 0, usagef("amount %q: more than a month of sessions (%d at most)", s, billing.MaxEntryHours)
	}
	return n, nil
}

func negativeAmount(s string) error {
	return usagef("amount %q: negative amount; to take time off, correct the entry it was logged as (retainer entry edit ID --amount A, or retainer entry delete ID)", s)
}

func entryFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.amount, "amount", "", "edit: the new amount (2.5, 2:30, 2h30m)")
	fs.StringVar(&c.date, "date", "", "edit: the new date YYYY-MM-DD (the hours move to its month)")
	fs.StringVar(&c.note, "note", "", "edit: the new note (--note '' removes it)")
}

// entry edit|delete ID: correct time logged with `retainer log` or posted to
// the API. An imported entry is corrected in its tracker and imported again:
// the next import would undo a change made here. Both that refusal and an
// unknown id are failed operations (exit 1), as an unknown invoice is.
func (a *invocation) entry(ctx context.Context, c *cmdline) error {
	const want = "want: entry edit ID [--amount A] [--date YYYY-MM-DD] [--note TEXT] | entry delete ID"
	if len(c.args) != 2 || (c.args[0] != "edit" && c.args[0] != "delete") {
		return usagef(want)
	}
	id, err := strconv.ParseInt(c.args[1], 10, 64)
	if err != nil || id <= 0 {
		return usagef("entry %s: %q is not an entry id (retainer log prints it)", c.args[0], c.args[1])
	}
	edits := c.set["amount"] || c.set["date"] || c.set["note"]
	if c.args[0] == "delete" && edits {
		return usagef("entry delete takes no --amount, --date or --note")
	}
	if c.args[0] == "edit" && !edits {
		return usagef("entry edit: nothing to change; give --amount, --date or --note")
	}
	var secs int64
	if c.set["amount"] {
		if secs, err = parseHours(c.amount); err != nil {
			return err
		}
	}
	if err := textArg("--note", c.note, true); err != nil {
		return err
	}
	var date billing.Date
	if c.set["date"] {
		if date, err = billing.ParseDate(c.date); err != nil {
			return usagef("--date: %v", err)
		}
	}
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	if c.args[0] == "delete" {
		e, err := c.db.DeleteEntry(ctx, id, a.now())
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "entry %d deleted: %s\n", id, a.describeEntry(c, e))
		return a.lateNote(ctx, c, e.Date)
	}
	before, after, err := c.db.EditEntry(ctx, c.rules, id, func(e *store.Entry) error {
		if c.set["amount"] {
			if k := c.rules.Contract(e.ContractID); k != nil && k.Unit == billing.UnitSessions {
				return usagef("entry %d counts one session of %s: --amount does not apply (delete it, or log more sessions)", id, k.ID)
			}
			e.Seconds = secs
		}
		if c.set["date"] {
			e.Date = date
		}
		if c.set["note"] {
			e.Notes = c.note
		}
		return nil
	}, a.now())
	if err != nil {
		return err
	}
	if before == after {
		fmt.Fprintf(a.stdout, "entry %d unchanged: %s\n", id, a.describeEntry(c, after))
		return nil
	}
	fmt.Fprintf(a.stdout, "entry %d: %s\n  now: %s\n", id, a.describeEntry(c, before), a.describeEntry(c, after))
	if err := a.lateNote(ctx, c, before.Date); err != nil {
		return err
	}
	if after.Date.Period() != before.Date.Period() {
		return a.lateNote(ctx, c, after.Date)
	}
	return nil
}

// describeEntry is one entry on a line: amount, date, contract, note.
func (a *invocation) describeEntry(c *cmdline, e store.Entry) string {
	contract, unit := "unmatched", billing.UnitHours
	if k := c.rules.Contract(e.ContractID); k != nil {
		contract, unit = k.ID, k.Unit
	}
	s := fmt.Sprintf("%s %s on %s, %s", billing.FormatQuantity(e.Counted, unit), unitShort(unit), e.Date, contract)
	if unit == billing.UnitHours && e.Counted != e.Seconds {
		s += fmt.Sprintf(" (%s h as logged)", billing.FormatQuantity(e.Seconds, billing.UnitHours))
	}
	if e.Notes != "" {
		s += fmt.Sprintf(", %q", e.Notes)
	}
	return s
}

// lateNote says so when a change landed in a closed period.
func (a *invocation) lateNote(ctx context.Context, c *cmdline, d billing.Date) error {
	last, ok, err := c.db.LastClosed(ctx)
	if err != nil {
		return err
	}
	if ok && d.Period() <= last {
		fmt.Fprintf(a.stdout, "%s is closed: the change counts as a late adjustment in the first open period\n", d.Period())
	}
	return nil
}
