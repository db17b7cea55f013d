package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/store"
	"retainer/timesheet"
)

// missedAfter is how late a digest or check-in may still go out; a later
// one is skipped, not sent weeks after its day.
const missedAfter = 24 * time.Hour

// Observer is told of every finished run (metrics).
type Observer interface {
	JobRun(job, outcome string, d time.Duration)
	EntriesImported(n int)
}

// Runner runs jobs one at a time, records each run in the store, and turns
// a panic into a failed run logged with its stack.
type Runner struct {
	Now      func() time.Time // the one clock of every job
	Log      *slog.Logger
	Observer Observer // may be nil

	env     atomic.Pointer[Env]
	mu      sync.Mutex // one job at a time: jobs share the database and the outbox
	stopped atomic.Bool
}

// Stop makes every later Run return ErrStopped and waits for the running
// job, if any, to finish.
func (r *Runner) Stop() {
	r.stopped.Store(true)
	r.mu.Lock()
	r.mu.Unlock() // held only while a job runs: taking it waited for that job
}

// NewRunner returns a runner over env.
func NewRunner(env *Env, now func() time.Time, log *slog.Logger) *Runner {
	r := &Runner{Now: now, Log: log}
	r.env.Store(env)
	return r
}

// Env returns the Env jobs now start with.
func (r *Runner) Env() *Env { return r.env.Load() }

// SetEnv replaces the Env (a reload); a running job finishes with the old one.
func (r *Runner) SetEnv(e *Env) { r.env.Store(e) }

// Counts are what a run did, by name ("statements": 12).
type Counts map[string]int

type jobFunc func(ctx context.Context, env *Env, now time.Time) (Counts, error)

// catchUp is when a job is due (Runner.Due): what a start, or `run --once`,
// runs.
type catchUp int

const (
	// dueFired: its schedule fired since its last run, or it never ran.
	dueFired catchUp = iota
	// dueWithinDay: its schedule fired since its last run and within
	// missedAfter; a firing missed by more is skipped, not sent late.
	dueWithinDay
	// dueClose: a period whose close time has passed is still open.
	dueClose
	// dueAlways: every time (delivery).
	dueAlways
)

// policy is how the runner and the daemon treat a job, beside what it does.
type policy struct {
	run     jobFunc
	catchUp catchUp
	// recordsEvery: every run is recorded in the store and logged;
	// otherwise (dispatch, every few seconds) only a run that delivered,
	// or failed, something.
	recordsEvery bool
	// claimsFiring: on PostgreSQL each firing is claimed (ClaimTick), so
	// that of replicas firing together one runs it.
	claimsFiring bool
	// dispatchAfter: a run that queued messages or issued statements is
	// followed by a dispatch, so they go out at once.
	dispatchAfter bool
	// releasesMemory: after a firing, the daemon gives back what the run
	// used (Daemon.idle); a job that runs every few seconds does not.
	releasesMemory bool
}

// policies is every job's policy, by name.
var policies = map[string]policy{
	Import:   {run: runImport, catchUp: dueFired, recordsEvery: true, claimsFiring: true, dispatchAfter: true, releasesMemory: true},
	Close:    {run: runClose, catchUp: dueClose, recordsEvery: true, claimsFiring: true, dispatchAfter: true, releasesMemory: true},
	Alerts:   {run: runAlerts, catchUp: dueFired, recordsEvery: true, claimsFiring: true, dispatchAfter: true, releasesMemory: true},
	Digest:   {run: runDigest, catchUp: dueWithinDay, recordsEvery: true, claimsFiring: true, dispatchAfter: true, releasesMemory: true},
	Checkins: {run: runCheckins, catchUp: dueWithinDay, recordsEvery: true, claimsFiring: true, dispatchAfter: true, releasesMemory: true},
	Renewals: {run: runRenewals, catchUp: dueFired, recordsEvery: true, claimsFiring: true, dispatchAfter: true, releasesMemory: true},
	Overdue:  {run: runOverdue, catchUp: dueFired, recordsEvery: true, claimsFiring: true, dispatchAfter: true, releasesMemory: true},
	// Every few seconds, like dispatch: statement emails wait for it.
	Payments: {run: runPayments, catchUp: dueAlways, dispatchAfter: true},
	Dispatch: {run: runDispatch, catchUp: dueAlways},
}

// Run runs job once now, whether or not it is due, waiting for a running
// job to finish first. The run is recorded (a dispatch only when it
// delivered or failed something), logged in one line, and observed.
func (r *Runner) Run(ctx context.Context, job string) (Counts, error) {
	p, ok := policies[job]
	if !ok {
		return nil, fmt.Errorf("unknown job %q", job)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped.Load() {
		return nil, ErrStopped
	}
	env := r.Env()
	now := r.Now()
	var id int64
	if p.recordsEvery {
		var err error
		if id, err = env.DB.StartJob(ctx, job, now); err != nil {
			return nil, err
		}
		r.Log.Debug("job start", "job", job)
	}
	counts, err, panicked := protect(ctx, p.run, env, now)
	end := r.Now()
	outcome := store.JobOK
	switch {
	case panicked:
		outcome = store.JobPanic
	case err != nil:
		outcome = store.JobFailed
	}
	if !p.recordsEvery && (err != nil || counts.total() > 0) {
		var serr error
		if id, serr = env.DB.StartJob(ctx, job, now); serr != nil {
			r.Log.Error("job run not recorded", "job", job, "err", serr)
		}
	}
	if id != 0 {
		errText := ""
		if err != nil {
			errText = err.Error()
		}
		// Recorded even when ctx was cancelled mid-run (shutdown).
		if ferr := env.DB.FinishJob(context.WithoutCancel(ctx), id, outcome, counts, errText, end); ferr != nil {
			r.Log.Error("job run not recorded", "job", job, "err", ferr)
		}
	}
	d := end.Sub(now)
	if r.Observer != nil {
		r.Observer.JobRun(job, outcome, d)
		if job == Import {
			r.Observer.EntriesImported(counts["imported"] + counts["updated"])
		}
	}
	if id != 0 {
		attrs := []any{"job", job, "outcome", outcome, "duration", d.Round(time.Millisecond)}
		for _, k := range counts.keys() {
			attrs = append(attrs, k, counts[k])
		}
		if err != nil {
			r.Log.Error("job run", append(attrs, "err", err)...)
		} else {
			r.Log.Info("job run", attrs...)
		}
	}
	return counts, err
}

// protect runs body, turning a panic into an error carrying its stack.
func protect(ctx context.Context, body jobFunc, env *Env, now time.Time) (counts Counts, err error, panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			counts, err, panicked = nil, fmt.Errorf("panic: %v\n%s", p, debug.Stack()), true
		}
	}()
	counts, err = body(ctx, env, now)
	return counts, err, false
}

// Due reports whether job is due now: it is scheduled, and its schedule
// fired since its last run (or it never ran); a close is due while a period
// whose close time has passed is open; a digest or check-in only within a
// day of its firing.
func (r *Runner) Due(ctx context.Context, job string) (bool, error) {
	env := r.Env()
	sched, ok := env.Schedules[job]
	if !ok {
		return false, nil
	}
	now := r.Now()
	switch policies[job].catchUp {
	case dueClose:
		target, ok := closeTarget(env, now)
		if !ok {
			return false, nil
		}
		last, closed, err := env.DB.LastClosed(ctx)
		return err == nil && (!closed || last < target), err
	case dueAlways:
		return true, nil
	}
	last, err := env.DB.LastJobStart(ctx, job)
	if err != nil {
		return false, err
	}
	if policies[job].catchUp == dueWithinDay {
		if from := now.Add(-missedAfter); last.Before(from) {
			last = from
		}
		return !lastFiring(sched, last, now).IsZero(), nil
	}
	return last.IsZero() || !lastFiring(sched, last, now).IsZero(), nil
}

// RunDue runs every job that is due now, in catch-up order, and delivers
// what they queued: what `retainer run --once` and a daemon's start do. It
// returns the jobs it ran, in order, with what each counted. A failing job
// does not stop the others; their errors are joined.
func (r *Runner) RunDue(ctx context.Context) (ran []string, counts map[string]Counts, err error) {
	var errs []error
	counts = map[string]Counts{}
	for _, job := range Names {
		due, derr := r.Due(ctx, job)
		if derr != nil {
			errs = append(errs, fmt.Errorf("%s: %w", job, derr))
			continue
		}
		if !due {
			continue
		}
		ran = append(ran, job)
		c, jerr := r.Run(ctx, job)
		if jerr != nil {
			errs = append(errs, fmt.Errorf("%s: %w", job, jerr))
		}
		counts[job] = c
		if ctx.Err() != nil || r.stopped.Load() {
			break
		}
	}
	return ran, counts, errors.Join(errs...)
}

// closeTarget is the latest period whose close time (the close schedule's
// first firing after the period ends) has come by now.
func closeTarget(env *Env, now time.Time) (billing.Period, bool) {
	sched := env.Schedules[Close]
	loc := env.Config.Location
	p := billing.DateAt(now, loc).Period() - 1
	for i := 0; i < 24; i, p = i+1, p-1 {
		end := p.End(loc)
		if at := sched.Next(end.Add(-time.Second)); !at.IsZero() && !at.After(now) {
			return p, true
		}
	}
	return 0, false
}

func (c Counts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

func (c Counts) keys() []string { return slices.Sorted(maps.Keys(c)) }

// ---- the jobs

// Imported is what one import pass did: the inbox's files and each
// tracker API's sync (SyncErrs[i] is Syncs[i]'s error).
type Imported struct {
	Inbox    timesheet.InboxResult
	Syncs    []timesheet.SyncResult
	SyncErrs []error
}

// ImportAll imports every finished file in the inbox and syncs the
// configured tracker APIs: the import job, and `retainer import` without
// files. format forces one export format ("" detects it). fileClock dates
// the inbox's files (nil: now). relistAll re-lists every API source's whole
// reconcile range now (`retainer import`); otherwise (the daemon) a source
// does so when its last full re-list is a day old (SPEC §15).
func ImportAll(ctx context.Context, env *Env, now time.Time, fileClock func() time.Time, format timesheet.Format, relistAll bool) (Imported, error) {
	cfg := env.Config
	im := &timesheet.Importer{DB: env.DB, Rules: env.Rules, Now: func() time.Time { return now }, FileClock: fileClock, Options: timesheet.Options{
		Format: format, DateOrder: cfg.Import.DateOrder, Location: cfg.Import.Location, Agency: cfg.Location,
	}}
	var out Imported
	var err error
	if out.Inbox, err = im.ImportInbox(ctx, cfg.Import.Inbox); err != nil {
		return out, err
	}
	if !cfg.Import.APIs() {
		return out, nil
	}
	plan, err := syncPlan(ctx, env, now)
	if err != nil {
		return out, err
	}
	plan.Full = relistAll
	ua := timesheet.UserAgent(cfg.Agency.Name, cfg.Agency.Email)
	if h := cfg.Import.Harvest; h.Enabled() {
		r, err := im.SyncHarvest(ctx, &timesheet.HarvestAPI{BaseURL: h.BaseURL, AccountID: h.AccountID, Token: h.Token.Reveal(),
			UserAgent: ua}, plan)
		out.Syncs, out.SyncErrs = append(out.Syncs, r), append(out.SyncErrs, err)
	}
	if tg := cfg.Import.Toggl; tg.Enabled() {
		r, err := im.SyncToggl(ctx, &timesheet.TogglAPI{BaseURL: tg.BaseURL, ReportsURL: tg.ReportsURL, WorkspaceID: tg.WorkspaceID,
			Token: tg.Token.Reveal(), UserAgent: ua, Agency: cfg.Location, Since: tg.SinceDate}, plan)
		out.Syncs, out.SyncErrs = append(out.Syncs, r), append(out.SyncErrs, err)
	}
	if ck := cfg.Import.Clockify; ck.Enabled() {
		r, err := im.SyncClockify(ctx, &timesheet.ClockifyAPI{BaseURL: ck.BaseURL, ReportsURL: ck.ReportsURL, WorkspaceID: ck.WorkspaceID,
			Token: ck.Token.Reveal(), UserAgent: ua, Agency: cfg.Location}, plan)
		out.Syncs, out.SyncErrs = append(out.Syncs, r), append(out.SyncErrs, err)
	}
	return out, nil
}

// syncPlan is what the tracker API syncs cover at now: the agency's today,
// the first open period (after the last closed one; before any close, the
// earliest contract start) and import.reconcile_months.
func syncPlan(ctx context.Context, env *Env, now time.Time) (timesheet.Plan, error) {
	cfg := env.Config
	last, closed, err := env.DB.LastClosed(ctx)
	if err != nil {
		return timesheet.Plan{}, err
	}
	var lastClosed, earliest *billing.Period
	if closed {
		lastClosed = &last
	}
	for _, c := range cfg.Contracts {
		if c.Start != nil && (earliest == nil || *c.Start < *earliest) {
			earliest = c.Start
		}
	}
	return timesheet.NewPlan(billing.DateAt(now, cfg.Location), lastClosed, earliest, cfg.Import.ReconcileMonths), nil
}

func runImport(ctx context.Context, env *Env, now time.Time) (Counts, error) {
	res, err := ImportAll(ctx, env, now, env.Wall, "", false)
	if err != nil {
		return nil, err
	}
	c := Counts{}
	if n := len(res.Inbox.Waiting); n > 0 {
		c["waiting"] = n // still being written: the daemon looks again shortly
	}
	add := func(r store.ImportResult) {
		c["imported"] += r.Imported
		c["updated"] += r.Updated
		c["unchanged"] += r.Unchanged
		c["removed"] += r.Removed
		c["unmatched"] += r.Unmatched
	}
	var errs []error
	for _, f := range res.Inbox.Files {
		c["files"]++
		if f.Rejected() {
			c["rejected"]++
			errs = append(errs, fmt.Errorf("%s rejected, nothing imported (its reasons are in %s/failed)", filepath.Base(f.Path), env.Config.Import.Inbox))
			continue
		}
		if f.Reimported {
			c["reimported"]++ // it changed after it was imported
		}
		add(f.ImportResult)
	}
	for i, r := range res.Syncs {
		// What a sync committed before an error (the windows before the
		// one that failed) is imported: it counts.
		add(r.ImportResult)
		if res.SyncErrs[i] != nil {
			errs = append(errs, res.SyncErrs[i])
		}
	}
	return c, errors.Join(errs...)
}

// runAlerts evaluates the period that contains today: an alert is never
// sent for a period that has ended (SPEC §13).
func runAlerts(ctx context.Context, env *Env, now time.Time) (Counts, error) {
	today := billing.DateAt(now, env.Config.Location)
	cands, err := AlertCandidates(ctx, env, today.Period(), today)
	if err != nil {
		return nil, err
	}
	return queueFresh(ctx, env, cands, now)
}

func runClose(ctx context.Context, env *Env, now time.Time) (Counts, error) {
	target, ok := closeTarget(env, now)
	if !ok {
		return Counts{}, nil
	}
	res, err := env.DB.CloseWith(ctx, env.Rules, target, CloseOptions(env.Config), now)
	if err != nil {
		return nil, err
	}
	return Counts{"periods": len(res.Closed), "statements": len(res.Statements)}, nil
}

// missedPeriod returns the period of the schedule's latest firing within
// the last day, or false when there was none (missed, or not yet).
func missedPeriod(env *Env, job string, now time.Time) (billing.Period, bool) {
	sched, ok := env.Schedules[job]
	if !ok {
		// Run by hand with the job unscheduled: this period.
		return billing.DateAt(now, env.Config.Location).Period(), true
	}
	at := lastFiring(sched, now.Add(-missedAfter), now)
	if at.IsZero() {
		return 0, false
	}
	return billing.DateAt(at, env.Config.Location).Period(), true
}

// CloseOptions are the config's rules for issuing statements.
func CloseOptions(cfg *config.Config) store.CloseOptions {
	return store.CloseOptions{Currency: cfg.Currency, Location: cfg.Location, GoLive: cfg.GoLive, Review: cfg.Statements.Review}
}

func runDigest(ctx context.Context, env *Env, now time.Time) (Counts, error) {
	p, ok := missedPeriod(env, Digest, now)
	if !ok {
		return Counts{"skipped": 1}, nil
	}
	if !env.Config.Invoiced(p) {
		return Counts{}, nil // before go-live
	}
	if open, err := isOpen(ctx, env, p); err != nil || !open {
		return Counts{}, err
	}
	cd, err := DigestCandidate(ctx, env, p, now)
	if err != nil {
		return nil, err
	}
	return queueFresh(ctx, env, []Candidate{cd}, now)
}

func runCheckins(ctx context.Context, env *Env, now time.Time) (Counts, error) {
	p, ok := missedPeriod(env, Checkins, now)
	if !ok {
		return Counts{"skipped": 1}, nil
	}
	if open, err := isOpen(ctx, env, p); err != nil || !open {
		return Counts{}, err
	}
	return queueFresh(ctx, env, CheckinCandidates(env, p), now)
}

func isOpen(ctx context.Context, env *Env, p billing.Period) (bool, error) {
	last, closed, err := env.DB.LastClosed(ctx)
	return err == nil && (!closed || p > last), err
}

func runRenewals(ctx context.Context, env *Env, now time.Time) (Counts, error) {
	return queueFresh(ctx, env, RenewalCandidates(env, billing.DateAt(now, env.Config.Location)), now)
}

func runOverdue(ctx context.Context, env *Env, now time.Time) (Counts, error) {
	cands, err := OverdueCandidates(ctx, env, billing.DateAt(now, env.Config.Location))
	if err != nil {
		return nil, err
	}
	return queueFresh(ctx, env, cands, now)
}

func runDispatch(ctx context.Context, env *Env, now time.Time) (Counts, error) {
	res, err := env.Dispatcher(func() time.Time { return now }).Dispatch(ctx, false)
	c := Counts{}
	for k, v := range map[string]int{"sent": res.Sent, "retrying": res.Retrying, "failed": res.Failed, "unknown": res.Unknown} {
		if v > 0 {
			c[k] = v
		}
	}
	return c, err
}

func queueFresh(ctx context.Context, env *Env, cands []Candidate, now time.Time) (Counts, error) {
	fresh, err := Fresh(ctx, env.DB, cands)
	if err != nil {
		return nil, err
	}
	if err := Queue(ctx, env.DB, fresh, now); err != nil {
		return nil, err
	}
	return Counts{"queued": len(fresh)}, nil
}
