package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/jobs"
	"retainer/store"
	"retainer/web"
)

func runFlags(fs *flag.FlagSet, c *cmdline) {
	fs.BoolVar(&c.once, "once", false, "run every job due now (catch-up included), deliver, and exit")
	fs.StringVar(&c.nowFlag, "now", "", "the clock, RFC3339 (2026-03-01T07:00:00Z): with --once, the instant the jobs run at; without, where the daemon's clock starts (it runs on from there)")
}

// run is the daemon: the scheduled jobs and the HTTP server, until SIGTERM
// or SIGINT; SIGHUP or a change to the config file reloads the config.
func (a *app) runCmd(ctx context.Context, c *cmdline) error {
	if len(c.args) > 0 {
		return usagef("run takes no arguments")
	}
	var offset time.Duration
	wall := a.now
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
	release, err := c.db.LockDaemon()
	if err != nil {
		return err
	}
	defer release()
	log := newLogger(a.stderr, c.cfg.Log)
	if n, err := c.db.InterruptedJobs(ctx); err != nil {
		return err
	} else if n > 0 {
		log.Warn("runs interrupted by the last stop", "runs", n)
	}
	// Claims of processes that are gone (a crash); a live one's, an
	// `outbox send` running beside us, are left alone. Every dispatch does
	// the same; here it is logged.
	if rec, err := c.db.RecoverClaims(ctx, store.ThisProcess(), time.Now()); err != nil {
		return err
	} else if rec.Pending+rec.Unknown > 0 {
		log.Warn("outbox messages left claimed by a stopped process", "pending_again", rec.Pending, "unknown", rec.Unknown)
	}
	if !c.once {
		c.env.FileClock = wall
	}
	runner := jobs.NewRunner(c.env, a.now, log)

	if c.once {
		ran, _, err := runner.RunDue(ctx)
		fmt.Fprintf(a.stdout, "ran: %s\n", orNone(ran))
		if err != nil {
			fmt.Fprintf(a.stderr, "%v\n", err)
			return errSilent
		}
		return nil
	}

	metrics := web.NewMetrics(gauges{runner}, a.now)
	runner.Observer = metrics
	srv := web.NewHTTPServer((&web.Server{DB: c.db, Metrics: metrics, Log: log, Env: runner.Env, Now: a.now}).Handler(), web.DefaultTimeouts)
	ln, err := net.Listen("tcp", c.cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	ln = web.LimitListener(ln, maxConnections())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	}()
	log.Info("retainer running", "pid", os.Getpid(), "config", c.config, "database", store.RedactDSN(c.cfg.Database),
		"contracts", len(c.cfg.Contracts), "http", ln.Addr().String())

	sigCtx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()

	d := &jobs.Daemon{
		Runner: runner, Log: log, ConfigPath: c.config, Reload: reload, Offset: offset,
		Load: func(ctx context.Context) (*jobs.Env, error) {
			cfg, err := config.Load(c.config, a.environ)
			if err != nil {
				return nil, err
			}
			if cfg.Database != c.cfg.Database {
				log.Warn("database changed in the config: it takes effect at the next start", "running", store.RedactDSN(c.cfg.Database))
			}
			env, err := jobs.NewEnv(ctx, cfg, c.db, a.now())
			if err != nil {
				return nil, err
			}
			env.FileClock = wall
			return env, nil
		},
	}
	err = d.Run(sigCtx)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	return err
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "nothing was due"
	}
	return strings.Join(s, ", ")
}

// newLogger builds the slog logger of the config: text or JSON, at its level.
func newLogger(w interface{ Write([]byte) (int, error) }, lc config.Log) *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(lc.Level))
	opts := &slog.HandlerOptions{Level: level}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// gauges feeds /metrics from the store, with the runner's current config.
type gauges struct{ r *jobs.Runner }

func (g gauges) OutboxCounts(ctx context.Context) (map[string]int, error) {
	return g.r.Env().DB.OutboxCounts(ctx)
}

func (g gauges) Utilization(ctx context.Context) ([]web.Utilization, error) {
	env := g.r.Env()
	today := billing.DateAt(g.r.Now(), env.Config.Location)
	v, err := env.DB.Status(ctx, env.Rules, today.Period(), today)
	if err != nil {
		return nil, err
	}
	out := make([]web.Utilization, len(v.Rows))
	for i, row := range v.Rows {
		out[i] = web.Utilization{ContractID: row.Contract.ID, Tenths: row.Figures.Utilization.Tenths, OK: row.Figures.Utilization.Valid}
	}
	return out, nil
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

func (a *app) jobsCmd(ctx context.Context, c *cmdline) error {
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
	exprs := jobs.Expressions(c.cfg.Schedule)
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
