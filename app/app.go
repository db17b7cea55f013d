// Package app is retainer's daemon: it runs the scheduled jobs and the HTTP
// server over one running state, a jobs.Env (the loaded config and
// everything built from it: matching rules, parsed schedules, templates,
// transports), and reloads it on request or when the config file changes.
// A reload builds a whole new Env and swaps it in only when every part of
// it built; otherwise the running one stays in force.
//
// main turns flags and signals into Options, a context and Reload calls,
// and exit codes; tests run the App in-process on 127.0.0.1:0.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/jobs"
	"retainer/store"
	"retainer/web"
)

// Options are what an App is made of.
type Options struct {
	// ConfigPath is the config file, read again on a reload (and watched
	// for changes); Environ the environment its RETAINER_ overrides come
	// from.
	ConfigPath string
	Environ    []string
	// Env is the running state of the config as loaded at start, on its
	// open store (the App takes the store's daemon lock).
	Env *jobs.Env
	// Now is the clock of the jobs, pages and messages; Wall the wall clock
	// (cron, inbox file ages, claim leases). Under `run --now` Now runs
	// Offset ahead of Wall. Nil Wall: Now.
	Now    func() time.Time
	Wall   func() time.Time
	Offset time.Duration
	// Log receives the log, in the config's format and level.
	Log io.Writer
}

// App is a running daemon: its runner, HTTP server and listener.
type App struct {
	opts    Options
	log     *slog.Logger
	runner  *jobs.Runner
	release func() // the daemon lock
	srv     *http.Server
	ln      net.Listener
	reload  chan struct{}
}

// New takes the store's daemon lock and recovers what a stopped process
// left. The App serves and runs jobs only from Run (or RunDue).
func New(ctx context.Context, opts Options) (*App, error) {
	if opts.Wall == nil {
		opts.Wall = opts.Now
	}
	env := opts.Env
	env.Wall = opts.Wall
	db := env.DB
	a := &App{opts: opts, log: NewLogger(opts.Log, env.Config.Log), reload: make(chan struct{}, 1)}
	release, err := db.LockDaemon()
	if err != nil {
		return nil, err
	}
	a.release = release
	if err := a.recover(ctx); err != nil {
		a.Close()
		return nil, err
	}
	a.runner = jobs.NewRunner(env, opts.Now, a.log)
	return a, nil
}

// Listen binds the HTTP server's address (Run does when it was not done):
// a test listening on 127.0.0.1:0 learns its port from Addr before Run.
func (a *App) Listen() error {
	if a.ln != nil {
		return nil
	}
	env := a.runner.Env()
	ln, err := net.Listen("tcp", env.Config.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	a.ln = web.LimitListener(ln, maxConnections())
	metrics := web.NewMetrics(gauges{a.runner}, a.opts.Now)
	a.runner.Observer = metrics
	a.srv = web.NewHTTPServer((&web.Server{DB: env.DB, Metrics: metrics, Log: a.log, Env: a.runner.Env, Now: a.opts.Now}).Handler(), web.DefaultTimeouts)
	return nil
}

// recover logs the runs and outbox claims a stopped process left.
func (a *App) recover(ctx context.Context) error {
	db := a.opts.Env.DB
	if n, err := db.InterruptedJobs(ctx); err != nil {
		return err
	} else if n > 0 {
		a.log.Warn("runs interrupted by the last stop", "runs", n)
	}
	// Claims of processes that are gone (a crash); a live one's, an
	// `outbox send` running beside us, are left alone. Every dispatch does
	// the same; here it is logged.
	rec, err := db.RecoverClaims(ctx, store.ThisProcess(), a.opts.Wall())
	if err != nil {
		return err
	}
	if rec.Pending+rec.Unknown > 0 {
		a.log.Warn("outbox messages left claimed by a stopped process", "pending_again", rec.Pending, "unknown", rec.Unknown)
	}
	return nil
}

// Addr is the HTTP server's address (the port chosen for :0), once
// listening.
func (a *App) Addr() net.Addr { return a.ln.Addr() }

// Env is the running state now in force.
func (a *App) Env() *jobs.Env { return a.runner.Env() }

// Reload asks the running App to load the config again (SIGHUP).
func (a *App) Reload() {
	select {
	case a.reload <- struct{}{}:
	default: // one is pending already
	}
}

// Run serves HTTP and runs the jobs on their schedules (a catch-up of
// what is due first) until ctx is done; then a running job gets
// shutdown_timeout to finish and the server stops.
func (a *App) Run(ctx context.Context) error {
	if err := a.Listen(); err != nil {
		return err
	}
	go func() {
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", "err", err)
		}
	}()
	cfg := a.opts.Env.Config
	a.log.Info("retainer running", "pid", os.Getpid(), "config", a.opts.ConfigPath, "database", store.RedactDSN(cfg.Database),
		"contracts", len(cfg.Contracts), "http", a.ln.Addr().String())
	d := &jobs.Daemon{Runner: a.runner, Log: a.log, ConfigPath: a.opts.ConfigPath, Reload: a.reload, Offset: a.opts.Offset, Load: a.load}
	err := d.Run(ctx)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = a.srv.Shutdown(shutdownCtx)
	return err
}

// RunDue runs every job due now (catch-up included) and delivers, without
// serving or scheduling: `run --once`.
func (a *App) RunDue(ctx context.Context) ([]string, error) {
	ran, _, err := a.runner.RunDue(ctx)
	return ran, err
}

// Close releases the daemon lock and the listener; the store stays open
// (its opener closes it).
func (a *App) Close() {
	if a.ln != nil {
		a.ln.Close()
	}
	if a.release != nil {
		a.release()
		a.release = nil
	}
}

// load builds the running state of the config file as it is now: the
// whole of it, or an error that leaves the running one in force.
func (a *App) load(ctx context.Context) (*jobs.Env, error) {
	running := a.runner.Env()
	cfg, err := config.Load(a.opts.ConfigPath, a.opts.Environ)
	if err != nil {
		return nil, err
	}
	if cfg.Database != running.Config.Database {
		a.log.Warn("database changed in the config: it takes effect at the next start", "running", store.RedactDSN(running.Config.Database))
	}
	env, err := jobs.NewEnv(ctx, cfg, running.DB, a.opts.Now())
	if err != nil {
		return nil, err
	}
	env.Wall = a.opts.Wall
	return env, nil
}

// NewLogger builds the slog logger of the config: text or JSON, at its
// level.
func NewLogger(w io.Writer, lc config.Log) *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(lc.Level))
	opts := &slog.HandlerOptions{Level: level}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// gauges feeds /metrics from the store, with the running config.
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
