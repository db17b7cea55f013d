package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"retainer/billing"
	"retainer/jobs"
	"retainer/report"
	"retainer/store"
	"retainer/timesheet"
)

func importFlags(fs *flag.FlagSet, c *cmdline) {
	fs.StringVar(&c.format, "format", "auto", "auto, harvest, toggl, clockify or generic")
	fs.BoolVar(&c.json, "json", false, "print JSON")
}

type importJSON struct {
	Files     int            `json:"files"`
	Imported  int            `json:"imported"`
	Updated   int            `json:"updated"`
	Unchanged int            `json:"unchanged"`
	Unmatched int            `json:"unmatched"`
	Removed   int            `json:"removed"` // entries deleted by reconciliation (gone upstream)
	Rejected  []rejectedJSON `json:"rejected"`
}

type rejectedJSON struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func (a *invocation) importCmd(ctx context.Context, c *cmdline) error {
	format := timesheet.Format(c.format)
	switch format {
	case "auto":
		format = ""
	case timesheet.Harvest, timesheet.Toggl, timesheet.Clockify, timesheet.Generic:
	default:
		return usagef("--format %q: want auto, harvest, toggl, clockify or generic", c.format)
	}
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	cfg := c.cfg
	var results []timesheet.FileResult
	var waiting []string
	var syncs []timesheet.SyncResult
	var syncErrs []error
	if len(c.args) == 0 {
		res, err := jobs.ImportAll(ctx, c.env, a.now(), nil, format, true)
		if err != nil {
			return err
		}
		results, waiting, syncs, syncErrs = res.Inbox.Files, res.Inbox.Waiting, res.Syncs, res.SyncErrs
	} else {
		im := &timesheet.Importer{DB: c.db, Rules: c.rules, Now: a.now, Options: timesheet.Options{
			Format: format, DateOrder: cfg.Import.DateOrder, Location: cfg.Import.Location, Agency: cfg.Location,
		}}
		for _, path := range c.args {
			results = append(results, im.ImportFile(ctx, path))
		}
	}
	out := importJSON{Files: len(results), Rejected: []rejectedJSON{}}
	var errText strings.Builder
	var unmatched [][]store.UnmatchedClient
	add := func(r store.ImportResult) {
		out.Imported += r.Imported
		out.Updated += r.Updated
		out.Unchanged += r.Unchanged
		out.Unmatched += r.Unmatched
		out.Removed += r.Removed
		unmatched = append(unmatched, r.UnmatchedClients)
	}
	for _, r := range results {
		if r.Rejected() {
			if r.Err != nil {
				out.Rejected = append(out.Rejected, rejectedJSON{r.Path, 0, r.Err.Error()})
			}
			for _, e := range r.Errors {
				out.Rejected = append(out.Rejected, rejectedJSON{r.Path, e.Line, e.Reason})
			}
			errText.WriteString(r.ErrorText(r.Path))
			continue
		}
		add(r.ImportResult)
	}
	for i, r := range syncs {
		// What a sync committed before an error counts: the windows before
		// the one that failed stay imported.
		add(r.ImportResult)
		if syncErrs[i] != nil {
			fmt.Fprintf(&errText, "%v\n", syncErrs[i])
		}
	}
	if c.json {
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
	} else {
		if len(c.args) == 0 {
			fmt.Fprintf(a.stdout, "inbox %s: %s", cfg.Import.Inbox, plural(len(results), "file", "files"))
			if len(waiting) > 0 {
				fmt.Fprintf(a.stdout, " (%d still being written, left for later)", len(waiting))
			}
			fmt.Fprintln(a.stdout)
		}
		for _, r := range results {
			if r.Rejected() {
				fmt.Fprintf(a.stdout, "%s: rejected, nothing imported\n", r.Path)
				continue
			}
			fmt.Fprintf(a.stdout, "%s: %s, %s: %d imported, %d updated, %d unchanged, %d removed", r.Path, r.Format,
				plural(r.Rows, "row", "rows"), r.Imported, r.Updated, r.Unchanged, r.Removed)
			if r.Unmatched > 0 {
				fmt.Fprintf(a.stdout, ", %d unmatched", r.Unmatched)
			}
			if r.Running > 0 {
				fmt.Fprintf(a.stdout, ", %s skipped", plural(r.Running, "running timer", "running timers"))
			}
			if r.Breaks > 0 { // Clockify breaks are not work
				fmt.Fprintf(a.stdout, ", %s skipped", plural(r.Breaks, "break row", "break rows"))
			}
			if r.Reimported {
				fmt.Fprint(a.stdout, " (imported again: it changed after it was imported)")
			}
			fmt.Fprintln(a.stdout)
		}
		for i, r := range syncs {
			writeSync(a.stdout, r, syncErrs[i])
		}
		writeUnmatched(a.stdout, out.Unmatched, store.MergeUnmatched(unmatched...))
		if err := a.warnNonBillable(ctx, c); err != nil {
			return err
		}
	}
	if errText.Len() > 0 {
		fmt.Fprint(a.stderr, errText.String())
		return errSilent
	}
	return nil
}

// writeSync is one tracker API's line: what it imported, what it listed
// again, what it left out, and, when it stopped early, that what came
// before is imported (the error itself goes to stderr).
func writeSync(w io.Writer, r timesheet.SyncResult, err error) {
	fmt.Fprintf(w, "%s: %d imported, %d updated, %d unchanged, %d removed, %d unmatched",
		r.Source, r.Imported, r.Updated, r.Unchanged, r.Removed, r.Unmatched)
	if r.Excluded > 0 {
		fmt.Fprintf(w, ", %s left out (breaks, holidays, time off)", plural(r.Excluded, "entry", "entries"))
	}
	if r.Running > 0 {
		fmt.Fprintf(w, ", %s not counted until stopped", plural(r.Running, "running timer", "running timers"))
	}
	if r.From != 0 {
		fmt.Fprintf(w, "; listed %s..%s", r.From, r.To)
		if r.Full {
			fmt.Fprint(w, " (the whole reconcile range: deletions upstream are removed)")
		}
	}
	if err != nil {
		if r.Windows > 0 || r.Through != 0 {
			fmt.Fprintf(w, "; stopped early, imported through %s, the next run goes on from there", r.Through)
		} else {
			fmt.Fprint(w, "; failed, nothing imported")
		}
	}
	fmt.Fprintln(w)
}

// unmatchedShown is how many clients the import summary names.
const unmatchedShown = 10

// writeUnmatched names the clients of the entries that matched no
// contract, most hours first, so the user knows which match list to fix.
func writeUnmatched(w io.Writer, entries int, clients []store.UnmatchedClient) {
	if entries == 0 {
		return
	}
	var secs int64
	for _, c := range clients {
		secs += c.Seconds
	}
	fmt.Fprintf(w, "%s (%s h) matched no contract; add the client or project to a contract's match list (see `retainer status`):\n",
		plural(entries, "unmatched entry", "unmatched entries"), billing.FormatQuantity(secs, billing.UnitHours))
	for i, c := range clients {
		if i == unmatchedShown {
			fmt.Fprintf(w, "  and %d more\n", len(clients)-unmatchedShown)
			break
		}
		name := c.Client
		if strings.TrimSpace(name) == "" {
			name = "(no client)"
		}
		fmt.Fprintf(w, "  %s: %s h, %s\n", name, billing.FormatQuantity(c.Seconds, billing.UnitHours), plural(c.Entries, "entry", "entries"))
	}
}

// warnNonBillable names the contracts whose hours this month or last were
// all non-billable: a tracker plan without billable rates marks every entry
// so, and the client would show 0% used with no reason given.
func (a *invocation) warnNonBillable(ctx context.Context, c *cmdline) error {
	now := a.today(c).Period()
	for _, p := range []billing.Period{now - 1, now} {
		nbs, err := c.db.NonBillableOnly(ctx, c.rules, p)
		if err != nil {
			return err
		}
		for _, l := range report.NonBillableLines(nbs, p) {
			fmt.Fprintf(a.stdout, "warning: %s\n", l)
		}
	}
	return nil
}
