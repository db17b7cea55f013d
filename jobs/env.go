package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"retainer/config"
	"retainer/notify"
	"retainer/store"
)

// Job names, in the order a catch-up runs them: hours first, then what is
// computed from them, then delivery.
const (
	Import   = "import"
	Alerts   = "alerts"
	Close    = "close"
	Digest   = "digest"
	Checkins = "checkins"
	Renewals = "renewals"
	Overdue  = "overdue"
	Dispatch = "dispatch"
)

// Names lists every job, in catch-up order.
// A start closes what ended before it evaluates alerts, so that no alert is
// sent for a month about to be closed.
var Names = []string{Import, Close, Alerts, Digest, Checkins, Renewals, Overdue, Dispatch}

// Env is what the jobs work with: one loaded config and what is built from
// it. A reload builds a new Env; a running job keeps the one it started with.
type Env struct {
	Config    *config.Config
	DB        *store.DB
	Rules     *store.Rules
	Schedules map[string]cron.Schedule // enabled jobs only
	// FileClock is the wall clock, for the inbox's file ages only (the file
	// system stamps files on it, whatever the jobs' clock says); nil means
	// the jobs' clock.
	FileClock func() time.Time
}

// NewEnv builds the Env of cfg on db: the matching rules (entries are
// re-matched in the store if the rules changed) and the parsed schedules.
func NewEnv(ctx context.Context, cfg *config.Config, db *store.DB, now time.Time) (*Env, error) {
	e := &Env{Config: cfg, DB: db, Rules: store.NewRules(cfg.Contracts), Schedules: map[string]cron.Schedule{}}
	for job, expr := range Expressions(cfg.Schedule) {
		if expr == "" {
			continue // disabled
		}
		sched, err := ParseSchedule(expr, cfg.Location)
		if err != nil {
			return nil, fmt.Errorf("schedule.%s: %w", job, err)
		}
		e.Schedules[job] = sched
	}
	if _, err := db.Sync(ctx, e.Rules, now); err != nil {
		return nil, err
	}
	return e, nil
}

// Expressions returns each job's schedule as the config writes it ("" when
// the job is disabled).
func Expressions(s config.Schedule) map[string]string {
	return map[string]string{
		Import: s.Import, Alerts: s.Alerts, Close: s.Close, Digest: s.Digest, Checkins: s.Checkins,
		Renewals: s.Renewals, Overdue: s.Overdue, Dispatch: s.Dispatch,
	}
}

// Dispatcher returns the outbox dispatcher of e's config: SMTP and Slack
// where configured, the file transport for every channel that is not.
func (e *Env) Dispatcher(now func() time.Time) *notify.Dispatcher {
	cfg := e.Config
	file := notify.NewFileSender(cfg.Notify.File.Dir, cfg.Notify.Email.From)
	routes := map[string]notify.Route{
		notify.ChannelEmail: {Sender: file, Transport: "file"},
		notify.ChannelSlack: {Sender: file, Transport: "file"},
	}
	if m := cfg.Notify.Email; m.Enabled() {
		routes[notify.ChannelEmail] = notify.Route{Transport: "smtp", Sender: notify.NewSMTP(notify.SMTPConfig{
			Host: m.Host, Port: m.Port, Username: m.Username, Password: m.Password.Reveal(), TLS: m.TLS, From: m.From, Timeout: m.Timeout,
		})}
	}
	if s := cfg.Notify.Slack; s.Enabled() {
		routes[notify.ChannelSlack] = notify.Route{Transport: "slack", Sender: notify.NewSlack(notify.SlackConfig{
			WebhookURL: s.WebhookURL.Reveal(), Token: s.Token.Reveal(), Channel: s.Channel,
		})}
	}
	r := &notify.Renderer{DB: e.DB, Rules: e.Rules, Currency: cfg.Currency, Agency: cfg.Agency.Name, From: cfg.Notify.Email.From,
		TemplatesDir: cfg.TemplatesDir, Location: cfg.Location, Thresholds: cfg.Alerts.Thresholds}
	return &notify.Dispatcher{Outbox: e.DB, Routes: routes, Render: r.Render, Now: now}
}
