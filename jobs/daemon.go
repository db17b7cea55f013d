package jobs

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// ErrStopped is returned by Runner.Run once the runner is stopping.
var ErrStopped = errors.New("stopping: job not started")

// Daemon runs the jobs on their schedules until its context ends: a
// catch-up of everything due at start, then robfig/cron. It reloads the
// config on a signal or when the config file changes, and on shutdown lets
// a running job finish within a bound.
type Daemon struct {
	Runner *Runner
	Log    *slog.Logger
	// Load reads the config anew and builds its Env; an error (a
	// config.Errors listing every bad path) leaves the running one in force.
	Load func(ctx context.Context) (*Env, error)
	// ConfigPath is polled every PollEvery for changes ("" = not watched).
	ConfigPath string
	PollEvery  time.Duration // default 2s
	// Reload asks for a reload (SIGHUP).
	Reload <-chan struct{}
	// Offset is how far the runner's clock is ahead of the wall clock
	// (`retainer run --now`, for trials and tests): cron waits on the wall
	// clock, so each schedule is shifted to fire at the runner's times.
	Offset time.Duration

	mu       sync.Mutex
	cron     *cron.Cron
	stopping bool
}

// Run runs the daemon until ctx is done, then shuts down: scheduling stops,
// a running job gets up to the config's shutdown_timeout to finish (then
// its context is cancelled), and undelivered messages stay in the outbox.
func (d *Daemon) Run(ctx context.Context) error {
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()

	caughtUp := make(chan struct{})
	go func() {
		defer close(caughtUp)
		ran, counts, err := d.Runner.RunDue(jobCtx)
		d.retryWaiting(jobCtx, counts[Import])
		if err != nil && !errors.Is(err, ErrStopped) {
			d.Log.Error("catch-up", "err", err)
		}
		d.Log.Info("catch-up done", "jobs", ran)
		d.idle()
		d.mu.Lock()
		defer d.mu.Unlock()
		if !d.stopping {
			d.cron = d.newCron(jobCtx, d.Runner.Env())
			d.cron.Start()
		}
	}()

	poll := d.PollEvery
	if poll <= 0 {
		poll = 2 * time.Second
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var stamp fileStamp
	stamp.changed(d.ConfigPath)
	for {
		select {
		case <-ctx.Done():
			return d.shutdown(cancelJobs, caughtUp)
		case <-d.Reload:
			d.reload(ctx, jobCtx, "signal")
			stamp.changed(d.ConfigPath)
		case <-tick.C:
			if d.ConfigPath != "" && stamp.changed(d.ConfigPath) {
				d.reload(ctx, jobCtx, "config file changed")
			}
		}
	}
}

// reload applies a new config if it is valid; the old one stays otherwise.
func (d *Daemon) reload(ctx, jobCtx context.Context, why string) {
	env, err := d.Load(ctx)
	if err != nil {
		d.Log.Error("config reload refused; the running config stays in force", "why", why, "err", err)
		return
	}
	d.Runner.SetEnv(env)
	d.mu.Lock()
	if d.cron != nil && !d.stopping {
		old := d.cron
		d.cron = d.newCron(jobCtx, env)
		d.cron.Start()
		old.Stop() // a job it is running finishes; the runner runs one job at a time
	}
	d.mu.Unlock()
	d.Log.Info("config reloaded", "why", why, "contracts", len(env.Config.Contracts), "jobs", len(env.Schedules))
}

func (d *Daemon) shutdown(cancelJobs context.CancelFunc, caughtUp <-chan struct{}) error {
	d.mu.Lock()
	d.stopping = true
	if d.cron != nil {
		d.cron.Stop()
	}
	d.mu.Unlock()
	timeout := d.Runner.Env().Config.ShutdownTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	d.Log.Info("shutting down", "timeout", timeout)
	done := make(chan struct{})
	go func() {
		d.Runner.Stop()
		<-caughtUp
		close(done)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		d.Log.Warn("a job is still running after shutdown_timeout; cancelling it")
		cancelJobs()
		<-done
	}
	d.Log.Info("stopped")
	return nil
}

// newCron schedules env's jobs. Each firing runs its job (a job still
// running is skipped, not stacked) and, when it queued messages, a dispatch
// right after.
func (d *Daemon) newCron(jobCtx context.Context, env *Env) *cron.Cron {
	logger := cronLogger{d.Log}
	c := cron.New(cron.WithLocation(env.Config.Location), cron.WithLogger(logger),
		cron.WithChain(cron.SkipIfStillRunning(logger), cron.Recover(logger))) // Recover innermost
	for _, job := range Names {
		sched, ok := env.Schedules[job]
		if !ok {
			continue
		}
		if d.Offset != 0 {
			sched = shifted{sched, d.Offset}
		}
		job, p := job, policies[job]
		c.Schedule(sched, cron.FuncJob(func() {
			// Replicas on PostgreSQL fire together: one of them runs it.
			if p.claimsFiring && env.DB.Postgres() {
				mine, err := env.DB.ClaimTick(jobCtx, job, d.Runner.Now())
				if err != nil || !mine {
					d.Log.Debug("firing run by another replica", "job", job, "err", err)
					return
				}
			}
			counts, err := d.Runner.Run(jobCtx, job)
			if err == nil && p.dispatchAfter && counts.releasedMessages() {
				if counts["statements"] > 0 {
					// Their emails wait for their Stripe invoices' links.
					_, _ = d.Runner.Run(jobCtx, Payments)
				}
				_, _ = d.Runner.Run(jobCtx, Dispatch)
			}
			if job == Import {
				d.retryWaiting(jobCtx, counts)
			}
			if p.releasesMemory {
				d.idle()
			}
		}))
	}
	return c
}

// retryWaiting imports again once the inbox files that were still being
// written have settled, instead of at the import's next firing (15 minutes
// by default), and then runs what the new hours may have made due.
func (d *Daemon) retryWaiting(jobCtx context.Context, imported Counts) {
	if imported["waiting"] == 0 {
		return
	}
	time.AfterFunc(3*time.Second, func() {
		counts, err := d.Runner.Run(jobCtx, Import)
		if err != nil {
			return
		}
		if counts["imported"]+counts["updated"]+counts["removed"] > 0 {
			for _, job := range []string{Alerts, Dispatch} {
				if _, err := d.Runner.Run(jobCtx, job); err != nil {
					return
				}
			}
		}
		d.retryWaiting(jobCtx, counts)
	})
}

// idle gives memory a big job used back to the system: the daemon spends
// most of its life waiting for the next firing. (The runtime's scavenger
// alone is slow: BenchmarkIdleRSS, 10,000 contracts, 5 s after the
// catch-up, measured 44 MiB with FreeOSMemory and 59–63 MiB without.)
func (d *Daemon) idle() {
	d.Runner.Env().DB.ReleaseMemory()
	debug.FreeOSMemory()
}

// fileStamp identifies a config file's content: its size and time first,
// its hash only when those moved (a touch without a change does not reload;
// a change within the same second does, since the hash is taken then).
type fileStamp struct {
	size int64
	mod  time.Time
	sum  [32]byte
}

// changed reports whether path differs from the stamp, and updates it.
func (f *fileStamp) changed(path string) bool {
	info, err := os.Stat(path)
	if err != nil {
		return false // gone or unreadable: keep the running config
	}
	if info.Size() == f.size && info.ModTime().Equal(f.mod) {
		return false
	}
	f.size, f.mod = info.Size(), info.ModTime()
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	sum := sha256.Sum256(b)
	if sum == f.sum {
		return false
	}
	f.sum = sum
	return true
}

// shifted is a schedule read on a clock Offset ahead of the wall clock
// that cron waits on.
type shifted struct {
	cron.Schedule
	offset time.Duration
}

func (s shifted) Next(wall time.Time) time.Time {
	next := s.Schedule.Next(wall.Add(s.offset))
	if next.IsZero() {
		return next
	}
	return next.Add(-s.offset)
}

// cronLogger sends robfig/cron's log to slog.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
