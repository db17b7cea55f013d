package jobs

import (
	"context"
	"time"

	"github.com/robfig/cron/v3"

	"retainer/config"
	"retainer/notify"
	"retainer/payments"
	"retainer/report"
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
	Payments = "payments"
	Dispatch = "dispatch"
)

// Names lists every job, in catch-up order.
// A start closes what ended before it evaluates alerts, so that no alert is
// sent for a month about to be closed; the Stripe invoices of the
// statements issued are made before the dispatch that sends them.
var Names = []string{Import, Close, Alerts, Digest, Checkins, Renewals, Overdue, Payments, Dispatch}

// Env is what the jobs work with: one loaded config and everything built
// from it — the matching rules, the parsed schedules, the transports. A
// reload builds a new Env and swaps it whole (Runner.SetEnv), or keeps the
// old one when anything in the new one fails to build; a running job
// keeps the one it started with.
type Env struct {
	Config    *config.Config
	DB        *store.DB
	Rules     *store.Rules
	Schedules map[string]cron.Schedule // enabled jobs only, parsed once by config
	// Routes are the transports of each channel, built once per config:
	// SMTP and Slack where configured, the file transport otherwise.
	Routes map[string]notify.Route
	// Templates are every template of the config, read from templates_dir
	// and parsed once: messages, statements and web pages render from them.
	Templates *report.Templates
	// PDFFonts are the fonts of statements.pdf_fonts, read once per config.
	PDFFonts []*report.PDFFont
	// Wall is the wall clock, for what other processes and the file system
	// read: the inbox's file ages and the outbox's claim leases (whatever
	// the jobs' clock says, under `run --now`); nil means the jobs' clock.
	Wall func() time.Time
	// Stripe creates the statements' Stripe invoices; nil when
	// payments.stripe is not configured.
	Stripe *payments.Client
}

// NewEnv builds the Env of cfg on db: the matching rules (entries are
// re-matched in the store if the rules changed), the templates (embedded,
// overridden from templates_dir: nil without it) and the transports. A
// template override that does not parse makes the config invalid (exit 2),
// as a bad setting does.
func NewEnv(ctx context.Context, cfg *config.Config, db *store.DB, now time.Time) (*Env, error) {
	e := &Env{Config: cfg, DB: db, Rules: store.NewRules(cfg.Contracts), Schedules: cfg.Schedules, Routes: routes(cfg, db)}
	if st := cfg.Payments.Stripe; st.Enabled() {
		e.Stripe = payments.New(payments.Config{SecretKey: st.SecretKey.Reveal(), APIBase: st.APIBase})
	}
	if e.Schedules == nil { // a Config built by hand, not by config.Load
		var err error
		if e.Schedules, err = cfg.Schedule.Parse(cfg.Location); err != nil {
			return nil, err
		}
	}
	// Without templates_dir the templates are the embedded set (a nil
	// *report.Templates), parsed once per process at its first use: a
	// command that renders nothing (status, log) does not parse them.
	if cfg.TemplatesDir != "" {
		tmpl, err := report.ParseTemplates(cfg.TemplatesDir)
		if err != nil { // a reload with a broken override keeps the old config
			return nil, templatesError{err}
		}
		e.Templates = tmpl
	}
	var err error
	if e.PDFFonts, err = report.LoadPDFFonts(cfg.Statements.PDFFonts); err != nil {
		return nil, invalidPart{err}
	}
	if _, err := db.SyncRules(ctx, e.Rules, now); err != nil {
		return nil, err
	}
	return e, nil
}

// routes builds the transports of cfg; Slack asks db for the order and
// threads of a digest's parts.
func routes(cfg *config.Config, db *store.DB) map[string]notify.Route {
	file := notify.NewFileSender(cfg.Notify.File.Dir, cfg.Notify.Email.From)
	routes := map[string]notify.Route{
		notify.ChannelEmail: {Sender: file, Transport: "file"},
		notify.ChannelSlack: {Sender: file, Transport: "file"},
	}
	if m := cfg.Notify.Email; m.Enabled() {
		routes[notify.ChannelEmail] = notify.Route{Transport: "smtp", Sender: notify.NewSMTP(notify.SMTPConfig{
			Host: m.Host, Port: m.Port, Username: m.Username, Password: m.Password.Reveal(), TLS: m.TLS, From: m.From, Timeout: m.Timeout,
			Auth: m.Auth, OAuthToken: m.OAuthToken.Reveal(), OAuthTokenFile: m.OAuthTokenFile,
		})}
	}
	var posts notify.PostLog
	if db != nil {
		posts = db
	}
	if s := cfg.Notify.Slack; s.Enabled() {
		routes[notify.ChannelSlack] = notify.Route{Transport: "slack", Sender: notify.NewSlack(notify.SlackConfig{
			WebhookURL: s.WebhookURL.Reveal(), Token: s.Token.Reveal(), Channel: s.Channel, APIURL: s.APIURL, Posts: posts,
		})}
	}
	return routes
}

// Dispatcher returns the outbox dispatcher of e's config over its
// transports, on the jobs' clock now.
func (e *Env) Dispatcher(now func() time.Time) *notify.Dispatcher {
	cfg := e.Config
	r := &notify.Renderer{DB: e.DB, Rules: e.Rules, Currency: cfg.Currency, Agency: cfg.Agency.Name, From: cfg.Notify.Email.From,
		Templates: e.Templates, Location: cfg.Location, Thresholds: cfg.Alerts.Thresholds, Issuer: Issuer(cfg),
		Paper: cfg.Statements.Paper, Fonts: e.PDFFonts, BaseURL: cfg.HTTP.BaseURL}
	return &notify.Dispatcher{Outbox: e.DB, Routes: e.Routes, Render: r.Render, Now: now, Wall: e.Wall,
		HoldForPaymentLink: cfg.Payments.Stripe.Enabled()}
}

// templatesError is a templates_dir override that does not parse: an
// invalid config (errors.Is config.ErrInvalid), each broken file named by
// the wrapped *report.OverrideError.
type templatesError struct{ err error }

func (e templatesError) Error() string        { return "templates_dir: " + e.err.Error() }
func (e templatesError) Unwrap() error        { return e.err }
func (e templatesError) Is(target error) bool { return target == config.ErrInvalid }

// invalidPart is a file the config names that cannot be used (a font of
// statements.pdf_fonts that is not one TrueType font): an invalid config,
// the error naming its config path.
type invalidPart struct{ err error }

func (e invalidPart) Error() string        { return e.err.Error() }
func (e invalidPart) Unwrap() error        { return e.err }
func (e invalidPart) Is(target error) bool { return target == config.ErrInvalid }
