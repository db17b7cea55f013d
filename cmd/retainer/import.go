package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"retainer/jobs"
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
	Rejected  []rejectedJSON `json:"rejected"`
}

type rejectedJSON struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func (a *app) importCmd(ctx context.Context, c *cmdline) error {
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
		res, err := jobs.ImportAll(ctx, c.env, a.now(), nil, format)
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
		out.Imported += r.Imported
		out.Updated += r.Updated
		out.Unchanged += r.Unchanged
		out.Unmatched += r.Unmatched
	}
	for i, r := range syncs {
		if syncErrs[i] != nil {
			fmt.Fprintf(&errText, "%v\n", syncErrs[i])
			continue
		}
		out.Imported += r.Imported
		out.Updated += r.Updated
		out.Unchanged += r.Unchanged
		out.Unmatched += r.Unmatched
	}
	if c.json {
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
	} else {
		if len(c.args) == 0 {
			fmt.Fprintf(a.stdout, "inbox %s: %d files", cfg.Import.Inbox, len(results))
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
			fmt.Fprintf(a.stdout, "%s: %s, %d rows: %d imported, %d updated, %d unchanged, %d removed", r.Path, r.Format,
				r.Rows, r.Imported, r.Updated, r.Unchanged, r.Removed)
			if r.Unmatched > 0 {
				fmt.Fprintf(a.stdout, ", %d unmatched (see `retainer status`)", r.Unmatched)
			}
			if r.Running > 0 {
				fmt.Fprintf(a.stdout, ", %d running timers skipped", r.Running)
			}
			fmt.Fprintln(a.stdout)
		}
		for i, r := range syncs {
			if syncErrs[i] == nil {
				fmt.Fprintf(a.stdout, "%s: %d imported, %d updated, %d unchanged, %d removed, %d unmatched\n",
					r.Source, r.Imported, r.Updated, r.Unchanged, r.Removed, r.Unmatched)
			}
		}
	}
	if errText.Len() > 0 {
		fmt.Fprint(a.stderr, errText.String())
		return errSilent
	}
	return nil
}
