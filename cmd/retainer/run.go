package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"retainer/app"
	"retainer/billing"
	"retainer/jobs"
	"retainer/store"
)

func runFlags(fs *flag.FlagSet, c *cmdline) {
	fs.BoolVar(&c.once, "once", false, "run every job due now (catch-up included), deliver, and exit")
	fs.StringVar(&c.nowFlag, "now", "", "the clock, RFC3339 (2026-03-01T07:00:00Z): with --once, the instant the jobs run at; without, where the daemon's clock starts (it runs on from there)")
}

// runCmd is the daemon (package app): the scheduled jobs and the HTTP
// server, until SIGTERM or SIGINT; SIGHUP reloads the config (the daemon
// also reloads when the file changes).
func (a *invocation) runCmd(ctx context.Context, c *cmdline) error {
	if len(c.args) > 0 {
		return usagef("run takes no arguments")
	}
	var offset time.Duration
	wall := a.wall
	if wall == nil {
		wall = a.now
	}
	if c.nowFlag != "" {
		t, err := time.Parse(time.RFC3339, c.nowFlag)
		if err != nil {
			return usagef("--now %q: want RFC3339, like 2026-03-01T07:00:00Z", c.nowFlag)
		}
		if _, err := billing.ParseDate(t.UTC().Format("2006-01-02")); err != nil {
			return usagef("--now: %v", err)
		}
		if c.once {
			a.now = func() time.Time { return t }
		} else {
			// The daemon's clock starts at --now and runs on.
			offset = t.Sub(wall()).Round(time.Second)
			a.now = func() time.Time { return wall().Add(offset) }
		}
	}
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	d, err := app.New(ctx, app.Options{ConfigPath: c.config, Environ: a.environ, Env: c.env,
		Now: a.now, Wall: wall, Offset: offset, Log: a.stderr})
	if err != nil {
		return err
	}
	defer d.Close()

	if c.once {
		ran, err := d.RunDue(ctx)
		fmt.Fprintf(a.stdout, "ran: %s\n", orNone(ran))
		if err != nil {
			fmt.Fprintf(a.stderr, "%v\n", err)
			return errSilent
		}
		return nil
	}

	sigCtx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				d.Reload()
			case <-sigCtx.Done():
				return
			}
		}
	}()
	return d.Run(sigCtx)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "nothing was due"
	}
	return strings.Join(s, ", ")
}

// ---- retainer jobs

type jobsJSON struct {
	Jobs []jobJSON `json:"jobs"`
}

type jobJSON struct {
	Job         string      `json:"job"`
	Schedule    string      `json:"schedule"`
	Enabled     bool        `json:"enabled"`
	NextRun     *string     `json:"next_run"`
	LastRun     *jobRunJSON `json:"last_run"`
	LastFailure *jobRunJSON `json:"last_failure"`
}

type jobRunJSON struct {
	StartedAt string         `json:"started_at"`
	EndedAt   *string        `json:"ended_at"`
	Outcome   string         `json:"outcome"`
	Counts    map[string]int `json:"counts"`
	Error     string         `json:"error"`
}

func (a *invocation) jobsCmd(ctx context.Context, c *cmdline) error {
	if len(c.args) > 0 {
		return usagef("jobs takes no arguments")
	}
	if err := a.openStore(ctx, c); err != nil {
		return err
	}
	st, err := c.db.Jobs(ctx)
	if err != nil {
		return err
	}
	now := a.now()
	loc := c.cfg.Location
	exprs := c.cfg.Schedule.Expressions()
	ts := func(t time.Time) string { return t.In(loc).Format(time.RFC3339) }
	runJSON := func(r *store.JobRun) *jobRunJSON {
		if r == nil {
			return nil
		}
		j := &jobRunJSON{StartedAt: ts(r.StartedAt), Outcome: r.Outcome, Counts: r.Counts, Error: r.Error}
		if r.EndedAt != nil {
			e := ts(*r.EndedAt)
			j.EndedAt = &e
		}
		return j
	}
	out := jobsJSON{Jobs: []jobJSON{}}
	for _, name := range jobs.Names {
		j := jobJSON{Job: name, Schedule: exprs[name], LastRun: runJSON(st[name].Last), LastFailure: runJSON(st[name].LastFailure)}
		if sched, ok := c.env.Schedules[name]; ok {
			j.Enabled = true
			n := ts(sched.Next(now))
			j.NextRun = &n
		}
		out.Jobs = append(out.Jobs, j)
	}
	if c.json {
		return writeJSON(a.stdout, out)
	}
	tw := newTable(a.stdout)
	tw.row("JOB", "SCHEDULE", "LAST RUN", "OUTCOME", "NEXT RUN", "LAST FAILURE")
	for _, j := range out.Jobs {
		sched, last, outcome, next, failure := j.Schedule, "never", "", "disabled", ""
		if sched == "" {
			sched = `""`
		}
		if j.LastRun != nil {
			last, outcome = j.LastRun.StartedAt, j.LastRun.Outcome
		}
		if j.NextRun != nil {
			next = *j.NextRun
		}
		if f := j.LastFailure; f != nil {
			failure = f.StartedAt + " " + oneLine(f.Error)
		}
		tw.row(j.Job, sched, last, outcome, next, failure)
	}
	tw.flush()
	return nil
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	return s
}
