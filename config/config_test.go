package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"retainer/billing"
)

// write puts a file in dir and returns its path.
func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// load writes yaml to a fresh directory and loads it with env. Every
// config the tests load is loaded twice more through the parse cache, a
// miss and then a hit, which must give the same config or the same error.
func load(t *testing.T, yaml string, env ...string) (*Config, error) {
	t.Helper()
	p := write(t, t.TempDir(), "retainer.yaml", yaml)
	cfg, err := Load(p, env)
	cache := t.TempDir()
	for _, what := range []string{"a cache miss", "a cache hit"} {
		again, err2 := LoadCached(p, env, cache)
		if fmt.Sprint(err) != fmt.Sprint(err2) || !reflect.DeepEqual(cfg, again) {
			t.Fatalf("through %s: %+v, %v\nwant %+v, %v", what, again, err2, cfg, err)
		}
	}
	return cfg, err
}

// mustLoad fails the test on any error.
func mustLoad(t *testing.T, yaml string, env ...string) *Config {
	t.Helper()
	cfg, err := load(t, yaml, env...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

// paths lists the paths of a load's errors, failing when it is not Errors.
func paths(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		t.Fatal("Load succeeded, want errors")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("errors.Is(err, ErrInvalid) = false for %v", err)
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, want Errors: %v", err, err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Path
	}
	return out
}

const minimal = `
contracts:
  acme-001:
    client: Acme Corp
    monthly_hours: 40
    monthly_fee: 5000
`

func hours(h int64) int64 { return h * 3600 }

func ptr[T any](v T) *T { return &v }

func period(t *testing.T, s string) *billing.Period {
	t.Helper()
	p, err := billing.ParsePeriod(s)
	if err != nil {
		t.Fatal(err)
	}
	return &p
}

func TestExampleLoads(t *testing.T) {
	path := filepath.Join("..", "examples", "retainer.yaml")
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("warnings: %q", w)
	}
	absDir, _ := filepath.Abs(filepath.Dir(path))
	if cfg.Database != filepath.Join(absDir, "retainer.db") {
		t.Errorf("Database = %q", cfg.Database)
	}
	if cfg.Notify.File.Dir != filepath.Join(absDir, "outbox") || cfg.Import.Inbox != filepath.Join(absDir, "inbox") {
		t.Errorf("outbox %q inbox %q", cfg.Notify.File.Dir, cfg.Import.Inbox)
	}
	if cfg.Location.String() != "America/New_York" || cfg.Import.Location.String() != "America/New_York" {
		t.Errorf("locations %v %v", cfg.Location, cfg.Import.Location)
	}
	if cfg.Agency != (Agency{Name: "Northwind Studio", Email: "owner@northwind.example"}) {
		t.Errorf("agency %+v", cfg.Agency)
	}
	if cfg.Notify.Email.From != `"Northwind Studio" <owner@northwind.example>` {
		t.Errorf("email from %q", cfg.Notify.Email.From)
	}

	jan, dec := period(t, "2026-01"), period(t, "2026-12")
	want := []*billing.Contract{
		{
			ID: "acme-001", Client: "Acme Corp", Tier: "Growth Retainer", Unit: billing.UnitHours, Checkin: true, PortalEntries: true,
			Contacts: []string{"ap@acme.example"}, Match: []string{"ACME-WEB"},
			Terms:           billing.Terms{MonthlyHours: 144000, MonthlyFee: 500000, HourlyRate: 15000, OverageRate: 17500},
			OverageBillable: true, Rollover: true, MaxRollover: ptr(int64(36000)),
			PaymentTermsDays: 15, Start: jan, End: dec,
		},
		{
			ID: "globex-002", Client: "Globex", Tier: "Core Retainer", Unit: billing.UnitHours,
			Contacts: []string{"finance@globex.example"}, Match: []string{},
			Terms:           billing.Terms{MonthlyHours: hours(20), MonthlyFee: 280000, HourlyRate: 14000, OverageRate: 16500},
			OverageBillable: true, Rollover: true, MaxRollover: ptr(hours(5)), ExpiresAfter: 1,
			RoundingMinutes: 15, PaymentTermsDays: 15, Start: jan, End: dec,
		},
		{
			ID: "initech-003", Client: "Initech", Tier: "Starter Retainer", Unit: billing.UnitHours,
			Contacts: []string{"payables@initech.example"}, Match: []string{},
			Terms:           billing.Terms{MonthlyHours: hours(10), MonthlyFee: 150000, HourlyRate: 15000, OverageRate: 18000},
			OverageBillable: true, RoundingMinutes: 6, PaymentTermsDays: 15, Start: jan, End: dec,
		},
		{
			ID: "umbrella-004", Client: "Umbrella Health", Tier: "Enterprise Retainer", Unit: billing.UnitHours,
			Contacts: []string{"accounts@umbrella.example"}, Match: []string{},
			Terms:    billing.Terms{MonthlyHours: hours(30), MonthlyFee: 390000, HourlyRate: 13000, OverageRate: 13000},
			Changes:  []billing.TermChange{{From: *period(t, "2026-07"), MonthlyHours: ptr(hours(40)), MonthlyFee: ptr(billing.Money(500000))}},
			Rollover: true, MaxRollover: ptr(hours(30)), PaymentTermsDays: 15, Start: jan, End: dec,
		},
	}
	if len(cfg.Contracts) != len(want) {
		t.Fatalf("%d contracts, want %d", len(cfg.Contracts), len(want))
	}
	// The example goes live in November: retainer takes each contract over then.
	nov := period(t, "2026-11")
	if cfg.GoLive == nil || *cfg.GoLive != *nov || cfg.Statements.Review {
		t.Errorf("go_live %v, review %v", cfg.GoLive, cfg.Statements.Review)
	}
	for i, w := range want {
		w.TakeOver, w.Currency = nov, "USD"
		if got := cfg.Contracts[i]; !reflect.DeepEqual(got, w) {
			t.Errorf("contract %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
	if got := cfg.Contract("umbrella-004").TermsAt(*period(t, "2026-08")); got.MonthlyHours != hours(40) || got.MonthlyFee != 500000 || got.OverageRate != 13000 {
		t.Errorf("umbrella terms in August: %+v", got)
	}
	if cfg.Contract("nope") != nil {
		t.Error("Contract(nope) is not nil")
	}
}

func TestDefaults(t *testing.T) {
	cfg := mustLoad(t, minimal)
	dir := filepath.Dir(cfg.Path)
	checks := []struct {
		name      string
		got, want any
	}{
		{"timezone", cfg.Timezone, "UTC"},
		{"location", cfg.Location, time.UTC},
		{"currency", cfg.Currency, "USD"},
		{"database", cfg.Database, filepath.Join(dir, "retainer.db")},
		{"templates_dir", cfg.TemplatesDir, ""},
		{"email port", cfg.Notify.Email.Port, 587},
		{"email tls", cfg.Notify.Email.TLS, "mandatory"},
		{"email timeout", cfg.Notify.Email.Timeout, 30 * time.Second},
		{"email enabled", cfg.Notify.Email.Enabled(), false},
		{"slack enabled", cfg.Notify.Slack.Enabled(), false},
		{"outbox", cfg.Notify.File.Dir, filepath.Join(dir, "outbox")},
		{"thresholds", cfg.Alerts.Thresholds, []int{90, 100}},
		{"schedule", cfg.Schedule, Schedule{
			Import: "*/15 * * * *", Alerts: "0 * * * *", Digest: "0 9 15 * *", Checkins: "0 9 15 * *",
			Close: "0 6 1 * *", Renewals: "0 9 * * *", Overdue: "0 9 * * *", Dispatch: "@every 2s", Payments: "@every 2s",
		}},
		{"inbox", cfg.Import.Inbox, filepath.Join(dir, "inbox")},
		{"import timezone", cfg.Import.Timezone, "UTC"},
		{"harvest base", cfg.Import.Harvest.BaseURL, "https://api.harvestapp.com/v2"},
		{"toggl base", cfg.Import.Toggl.BaseURL, "https://api.track.toggl.com/api/v9"},
		{"listen", cfg.HTTP.Listen, "127.0.0.1:8080"},
		{"base url", cfg.HTTP.BaseURL, "http://127.0.0.1:8080"},
		{"api tokens", len(cfg.HTTP.APITokens), 0},
		{"log", cfg.Log, Log{Format: "text", Level: "info"}},
		{"shutdown", cfg.ShutdownTimeout, 30 * time.Second},
		{"email from", cfg.Notify.Email.From, `"retainer" <retainer@localhost>`},
		{"warnings", cfg.Warnings(), []string{"contracts.acme-001: no contacts: its statements will not be emailed",
			`notify.email.from: not set, and no agency.email: email written to notify.file.dir says From: "retainer" <retainer@localhost>`}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	want := &billing.Contract{
		ID: "acme-001", Client: "Acme Corp", Unit: billing.UnitHours, Contacts: []string{}, Match: []string{},
		Terms:           billing.Terms{MonthlyHours: hours(40), MonthlyFee: 500000},
		OverageBillable: true, PaymentTermsDays: 15, Currency: "USD",
	}
	if got := cfg.Contract("acme-001"); !reflect.DeepEqual(got, want) {
		t.Errorf("contract:\n got %+v\nwant %+v", got, want)
	}
}

func TestValues(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		env   []string
		check func(t *testing.T, c *Config)
	}{
		{
			name: "schedule empty disables, others keep defaults",
			yaml: minimal + "schedule:\n  digest: \"\"\n  close: \"@monthly\"\n",
			check: func(t *testing.T, c *Config) {
				if c.Schedule.Digest != "" || c.Schedule.Close != "@monthly" || c.Schedule.Import != "*/15 * * * *" {
					t.Errorf("schedule %+v", c.Schedule)
				}
			},
		},
		{
			name: "lower-case currency, JPY whole amounts",
			yaml: "currency: jpy\n" + strings.Replace(minimal, "5000", "500000", 1),
			check: func(t *testing.T, c *Config) {
				if c.Currency != "JPY" || c.Contracts[0].Terms.MonthlyFee != 500000 {
					t.Errorf("currency %s fee %d", c.Currency, c.Contracts[0].Terms.MonthlyFee)
				}
			},
		},
		{
			name: "decimal money and hours are exact",
			yaml: strings.NewReplacer("monthly_hours: 40", "monthly_hours: 37.5", "monthly_fee: 5000",
				"monthly_fee: 0.29\n    overage_rate: 162.50\n    hourly_rate: \"99.99\"").Replace(minimal),
			check: func(t *testing.T, c *Config) {
				tm := c.Contracts[0].Terms
				if tm.MonthlyHours != 135000 || tm.MonthlyFee != 29 || tm.OverageRate != 16250 || tm.HourlyRate != 9999 {
					t.Errorf("terms %+v", tm)
				}
			},
		},
		{
			name: "thresholds sorted, import timezone of its own",
			yaml: minimal + "alerts:\n  thresholds: [100, 75]\nimport:\n  timezone: Europe/Paris\n  date_order: DMY\n",
			check: func(t *testing.T, c *Config) {
				if !reflect.DeepEqual(c.Alerts.Thresholds, []int{75, 100}) {
					t.Errorf("thresholds %v", c.Alerts.Thresholds)
				}
				if c.Import.Location.String() != "Europe/Paris" || c.Import.DateOrder != "dmy" {
					t.Errorf("import %+v", c.Import)
				}
			},
		},
		{
			name: "every contract key",
			yaml: `
contracts:
  z-9:
    client: "  Zeta  "
    unit: sessions
    monthly_hours: 8
    monthly_fee: 800
    max_rollover: 4
    rollover_hours: true
    rollover_expires_after: 2
    count_non_billable: true
    payment_terms_days: 30
    alert_client_at: 90
    portal_entries: true
    contacts: ["Zed <zed@zeta.example>"]
    match: [ZETA, Zeta Labs]
    overage_billable: false
    currency: eur
    billing_name: Zeta Labs GmbH
    billing_address: "Hauptstraße 1\n10115 Berlin"
    tax_id: DE123456789
    tax_rate: 8.875
    terms:
      - from: 2026-03
        overage_rate: 120
      - from: 2026-06
        monthly_hours: 10
`,
			check: func(t *testing.T, c *Config) {
				z := c.Contract("z-9")
				want := &billing.Contract{
					ID: "z-9", Client: "Zeta", Unit: billing.UnitSessions,
					Contacts: []string{"Zed <zed@zeta.example>"}, Match: []string{"ZETA", "Zeta Labs"},
					Terms: billing.Terms{MonthlyHours: 8 * billing.SessionSeconds, MonthlyFee: 80000},
					Changes: []billing.TermChange{
						{From: *period(t, "2026-03"), OverageRate: ptr(billing.Money(12000))},
						{From: *period(t, "2026-06"), MonthlyHours: ptr(int64(10 * billing.SessionSeconds))},
					},
					Rollover: true, MaxRollover: ptr(int64(4 * billing.SessionSeconds)), ExpiresAfter: 2,
					CountNonBillable: true, PaymentTermsDays: 30, AlertClientAt: 90, PortalEntries: true,
					Currency: "EUR", BillingName: "Zeta Labs GmbH", BillingAddress: "Hauptstraße 1\n10115 Berlin",
					TaxID: "DE123456789", TaxRate: 88750,
				}
				if !reflect.DeepEqual(z, want) {
					t.Errorf("\n got %+v\nwant %+v", z, want)
				}
			},
		},
		{
			name: "paths resolved against the config directory",
			yaml: minimal + "database: data/r.db\nnotify:\n  file:\n    dir: /var/spool/retainer\nimport:\n  inbox: ../drop\n",
			check: func(t *testing.T, c *Config) {
				dir := filepath.Dir(c.Path)
				if c.Database != filepath.Join(dir, "data", "r.db") {
					t.Errorf("database %q", c.Database)
				}
				if c.Notify.File.Dir != "/var/spool/retainer" {
					t.Errorf("outbox %q", c.Notify.File.Dir)
				}
				if c.Import.Inbox != filepath.Join(filepath.Dir(dir), "drop") {
					t.Errorf("inbox %q", c.Import.Inbox)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustLoad(t, tt.yaml, tt.env...))
		})
	}
}

// TestPortalEntries: the client portal lists a period's work only for a
// contract that says portal_entries: true.
func TestPortalEntries(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want bool
		err  string // the error's path, when the value is bad
	}{
		{name: "default off", yaml: minimal},
		{name: "on", yaml: minimal + "    portal_entries: true\n", want: true},
		{name: "off", yaml: minimal + "    portal_entries: false\n"},
		{name: "from the environment", yaml: minimal, env: []string{"RETAINER_CONTRACTS__ACME-001__PORTAL_ENTRIES=true"}, want: true},
		{name: "not a bool", yaml: minimal + "    portal_entries: sometimes\n", err: "contracts.acme-001.portal_entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err != "" {
				_, err := load(t, tt.yaml, tt.env...)
				if got := paths(t, err); !reflect.DeepEqual(got, []string{tt.err}) {
					t.Errorf("error paths %q, want [%s]: %v", got, tt.err, err)
				}
				return
			}
			if got := mustLoad(t, tt.yaml, tt.env...).Contract("acme-001").PortalEntries; got != tt.want {
				t.Errorf("PortalEntries = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDatabase(t *testing.T) {
	tests := []struct {
		database string
		want     func(dir string) string
	}{
		{"", func(dir string) string { return filepath.Join(dir, "retainer.db") }},
		{"retainer.db", func(dir string) string { return filepath.Join(dir, "retainer.db") }},
		{"state/retainer.db", func(dir string) string { return filepath.Join(dir, "state", "retainer.db") }},
		{"/srv/retainer/retainer.db", func(string) string { return "/srv/retainer/retainer.db" }},
		{"postgres://app@db.example/retainer?sslmode=require", func(string) string {
			return "postgres://app@db.example/retainer?sslmode=require"
		}},
		{"postgresql://app@db.example:5433/retainer", func(string) string { return "postgresql://app@db.example:5433/retainer" }},
	}
	for _, tt := range tests {
		t.Run(tt.database, func(t *testing.T) {
			cfg := mustLoad(t, fmt.Sprintf("database: %q\n%s", tt.database, minimal))
			if want := tt.want(filepath.Dir(cfg.Path)); cfg.Database != want {
				t.Errorf("Database = %q, want %q", cfg.Database, want)
			}
		})
	}
	t.Run("relative config path", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "etc/retainer.yaml", minimal)
		t.Chdir(dir)
		cfg, err := Load(filepath.Join("etc", "retainer.yaml"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dir, "etc", "retainer.db"); cfg.Database != want {
			t.Errorf("Database = %q, want %q", cfg.Database, want)
		}
	})
	t.Run("other URL", func(t *testing.T) {
		_, err := load(t, "database: mysql://root:hunter2@db/x\n"+minimal)
		if got := paths(t, err); !reflect.DeepEqual(got, []string{"database"}) {
			t.Errorf("paths %v", got)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error repeats the URL: %v", err)
		}
	})
}

func TestManyProblems(t *testing.T) {
	const yaml = `
timezone: Mars/Olympus
currency: US Dollars
colour: blue
notify:
  email:
    host: smtp.example.com
    password: hunter2
    tls: sometimes
    from: not an address
  slack:
    token: xoxb-hunter3
alerts:
  thresholds: [0, 90, 90]
schedule:
  alerts: "every hour"
  close: "CRON_TZ=UTC"
log:
  format: xml
http:
  listen: nowhere
  api_tokens: [tok-hunter4]
shutdown_timeout: 30
contracts:
  acme-001:
    client: Acme Corp
    budgt_hours: 40
    monthly_hours: 40
    monthly_fee: 5000.125
    max_rollover: -5
    start: 2026-13
    terms:
      - from: 2026-07
        monthly_fee: 5
      - monthly_hours: 60
        hourly_rate: abc
  Globex.002:
    client: Globex
    monthly_hours: 20
    monthly_fee: 2800
  initech-003:
    monthly_hours: 10
    overage_billable: maybe
    rounding_minutes: 2000
    contacts: ["pay@initech.example", "not-an-email"]
  umbrella-004:
    client: Umbrella
    unit: days
    monthly_hours: 30
    monthly_fee: 3900
    start: 2026-06
    end: 2026-01
    rollover_expires_after: 1.5
`
	_, err := load(t, yaml)
	want := []string{
		"alerts.thresholds[0]",
		"alerts.thresholds[2]",
		"colour",
		"contracts.Globex.002",
		"contracts.acme-001.budgt_hours",
		"contracts.acme-001.max_rollover",
		"contracts.acme-001.monthly_fee",
		"contracts.acme-001.start",
		"contracts.acme-001.terms[1].from",
		"contracts.acme-001.terms[1].hourly_rate",
		"contracts.initech-003.client",
		"contracts.initech-003.contacts[1]",
		"contracts.initech-003.monthly_fee",
		"contracts.initech-003.overage_billable",
		"contracts.initech-003.rounding_minutes",
		"contracts.umbrella-004.end",
		"contracts.umbrella-004.rollover_expires_after",
		"contracts.umbrella-004.unit",
		"currency",
		"http.api_tokens",
		"http.listen",
		"log.format",
		"notify.email.from",
		"notify.email.password",
		"notify.email.tls",
		"notify.slack.token",
		"schedule.alerts",
		"schedule.close",
		"shutdown_timeout",
		"timezone",
	}
	got := paths(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths:\n got %q\nwant %q\nerror:\n%v", got, want, err)
	}
	msg := err.Error()
	for _, line := range []string{
		"contracts.acme-001.budgt_hours: unknown key",
		"colour: unknown key",
		"contracts.acme-001.max_rollover: must be >= 0",
		`contracts.acme-001.start: "2026-13" is not a period (want YYYY-MM)`,
		"contracts.acme-001.monthly_fee: 5000.125 has more than 2 decimals for USD",
		"contracts.initech-003.client: required",
		"contracts.initech-003.monthly_fee: required",
		"notify.email.password: secrets come from the environment (RETAINER_NOTIFY__EMAIL__PASSWORD) or password_file",
		"http.api_tokens: secrets come from the environment (RETAINER_HTTP__API_TOKENS) or api_tokens_file",
		`schedule.close: invalid schedule "CRON_TZ=UTC"`,
		"contracts.acme-001.terms[1].from: required (YYYY-MM)",
		"contracts.umbrella-004.rollover_expires_after: must be a whole number, not 1.5",
	} {
		if !strings.Contains(msg, line) {
			t.Errorf("missing %q in:\n%s", line, msg)
		}
	}
	if !strings.Contains(msg, "contracts.Globex.002: contract id must match [a-z0-9][a-z0-9_-]*") ||
		!strings.Contains(msg, "split keys on dots") {
		t.Errorf("contract id message:\n%s", msg)
	}
	for _, secret := range []string{"hunter2", "hunter3", "hunter4"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error message contains a secret %q:\n%s", secret, msg)
		}
	}
	lines := strings.Split(msg, "\n")
	if len(lines) != len(want) {
		t.Errorf("%d lines for %d errors", len(lines), len(want))
	}
}

func TestEnvironment(t *testing.T) {
	tests := []struct {
		name  string
		env   []string
		check func(t *testing.T, c *Config) // nil when errs are expected
		errs  []string                      // "path: message"
	}{
		{
			name: "overrides",
			env: []string{
				"RETAINER_DATABASE=postgres://app@db/retainer",
				"RETAINER_NOTIFY__EMAIL__HOST=smtp.example.com",
				"RETAINER_NOTIFY__EMAIL__PORT=2525",
				"RETAINER_NOTIFY__EMAIL__TIMEOUT=5s",
				"RETAINER_NOTIFY__EMAIL__FROM=billing@northwind.example",
				"RETAINER_CONTRACTS__ACME-001__MONTHLY_HOURS=50",
				"RETAINER_CONTRACTS__ACME-001__OVERAGE_BILLABLE=false",
				"RETAINER_CONTRACTS__ACME-001__CONTACTS=a@acme.example, b@acme.example",
				"RETAINER_ALERTS__THRESHOLDS=[80, 95]",
				"RETAINER_SCHEDULE__DIGEST=",
				"RETAINER_SHUTDOWN_TIMEOUT=1m",
				"RETAINER_CONFIG=/elsewhere.yaml",
				"RETAINER_TEST_PG_URL=postgres://x",
				"PATH=/usr/bin",
			},
			check: func(t *testing.T, c *Config) {
				if c.Database != "postgres://app@db/retainer" {
					t.Errorf("database %q", c.Database)
				}
				e := c.Notify.Email
				if e.Host != "smtp.example.com" || e.Port != 2525 || e.Timeout != 5*time.Second || !e.Enabled() {
					t.Errorf("email %+v", e)
				}
				a := c.Contract("acme-001")
				if a.Terms.MonthlyHours != hours(50) || a.OverageBillable || !reflect.DeepEqual(a.Contacts, []string{"a@acme.example", "b@acme.example"}) {
					t.Errorf("acme %+v", a)
				}
				if !reflect.DeepEqual(c.Alerts.Thresholds, []int{80, 95}) || c.Schedule.Digest != "" || c.ShutdownTimeout != time.Minute {
					t.Errorf("thresholds %v digest %q shutdown %v", c.Alerts.Thresholds, c.Schedule.Digest, c.ShutdownTimeout)
				}
			},
		},
		{
			name: "comma-separated list",
			env:  []string{"RETAINER_ALERTS__THRESHOLDS=50,75, 100"},
			check: func(t *testing.T, c *Config) {
				if !reflect.DeepEqual(c.Alerts.Thresholds, []int{50, 75, 100}) {
					t.Errorf("thresholds %v", c.Alerts.Thresholds)
				}
			},
		},
		{
			name: "new contract from the environment alone",
			env: []string{
				"RETAINER_CONTRACTS__NEW-9__CLIENT=Newco",
				"RETAINER_CONTRACTS__NEW-9__MONTHLY_HOURS=5",
				"RETAINER_CONTRACTS__NEW-9__MONTHLY_FEE=500",
				"RETAINER_CONTRACTS__NEW-9__TERMS=[{from: 2026-05, monthly_fee: 600}]",
			},
			check: func(t *testing.T, c *Config) {
				n := c.Contract("new-9")
				if n == nil || n.Client != "Newco" || len(n.Changes) != 1 || *n.Changes[0].MonthlyFee != 60000 {
					t.Errorf("new-9 %+v", n)
				}
			},
		},
		{
			name: "secrets",
			env: []string{
				"RETAINER_NOTIFY__EMAIL__PASSWORD=hunter2",
				"RETAINER_NOTIFY__SLACK__WEBHOOK_URL=https://hooks.slack.example/T/B/hunter3",
				"RETAINER_HTTP__API_TOKENS=tok-one-0123456789abcdef,tok-two-0123456789abcdef",
				"RETAINER_IMPORT__HARVEST__ACCOUNT_ID=123456",
				"RETAINER_IMPORT__HARVEST__TOKEN=hv-hunter5",
				"RETAINER_AGENCY__NAME=Northwind Studio", // a tracker API needs a contact (User-Agent)
			},
			check: func(t *testing.T, c *Config) {
				if c.Notify.Email.Password.Reveal() != "hunter2" || c.Import.Harvest.Token.Reveal() != "hv-hunter5" {
					t.Errorf("secrets not read")
				}
				if !reflect.DeepEqual(c.HTTP.APITokens, []Secret{"tok-one-0123456789abcdef", "tok-two-0123456789abcdef"}) {
					t.Errorf("api tokens: %d", len(c.HTTP.APITokens))
				}
				noSecrets(t, c, "hunter2", "hunter3", "hv-hunter5", "tok-one-0123456789abcdef", "tok-two-0123456789abcdef")
			},
		},
		{
			name: "unknown variable names itself",
			env:  []string{"RETAINER_NOTIFY__EMAIL__HOTS=smtp.example.com", "RETAINER_NOTIFY=x", "RETAINER_CONTRACTS__ACME-001__TERMS__0__FROM=2026-01"},
			errs: []string{
				"RETAINER_CONTRACTS__ACME-001__TERMS__0__FROM: unknown setting contracts.acme-001.terms.0.from",
				"RETAINER_NOTIFY: unknown setting notify: it is a section; set its keys (RETAINER_NOTIFY__…)",
				"RETAINER_NOTIFY__EMAIL__HOTS: unknown setting notify.email.hots",
			},
		},
		{
			name: "strict conversions",
			env: []string{
				"RETAINER_CONTRACTS__ACME-001__OVERAGE_BILLABLE=1",
				"RETAINER_NOTIFY__EMAIL__PORT=smtp",
				"RETAINER_SHUTDOWN_TIMEOUT=30",
				"RETAINER_ALERTS__THRESHOLDS=90,ninety",
				"RETAINER_CONTRACTS__ACME-001__MONTHLY_HOURS=lots",
			},
			errs: []string{
				`alerts.thresholds[1]: must be a whole number, not "ninety" (from RETAINER_ALERTS__THRESHOLDS)`,
				`contracts.acme-001.monthly_hours: must be a number, not "lots"`,
				`contracts.acme-001.overage_billable: must be true or false, not "1" (from RETAINER_CONTRACTS__ACME-001__OVERAGE_BILLABLE)`,
				`notify.email.port: must be a whole number, not "smtp" (from RETAINER_NOTIFY__EMAIL__PORT)`,
				`shutdown_timeout: must be a duration such as 30s or 1m30s, not "30" (from RETAINER_SHUTDOWN_TIMEOUT)`,
			},
		},
		{
			name: "unknown key inside an environment list",
			env:  []string{"RETAINER_CONTRACTS__ACME-001__TERMS=[{from: 2026-05, monthly_fe: 600}]"},
			errs: []string{"contracts.acme-001.terms[0].monthly_fe: unknown key"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := load(t, minimal, tt.env...)
			if tt.errs == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				tt.check(t, cfg)
				return
			}
			paths(t, err)
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tt.errs) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.errs)
			}
		})
	}
}

// noSecrets checks that no way of printing the config shows a secret.
func noSecrets(t *testing.T, c *Config, secrets ...string) {
	t.Helper()
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", c, "notify", c.Notify, "password", c.Notify.Email.Password)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", c, "password", c.Notify.Email.Password)
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", c),
		"%+v":  fmt.Sprintf("%+v", *c),
		"%#v":  fmt.Sprintf("%#v", *c),
		"%s":   fmt.Sprintf("%s", c.HTTP.APITokens),
		"%q":   fmt.Sprintf("%q", c.Notify.Email.Password),
		"json": string(js),
		"slog": logged.String(),
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output contains secret %q:\n%s", name, s, out)
			}
		}
	}
	if !strings.Contains(outputs["json"], `"Password":"[redacted]"`) {
		t.Errorf("json: %s", outputs["json"])
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "secrets/smtp", "hunter2\n")
	write(t, dir, "secrets/tokens", "# API tokens\ntok-one-0123456789abcdef\n\n  tok-two-0123456789abcdef  \n")
	write(t, dir, "secrets/hash", "$2b$10$abcdefghijklmnopqrstuuJ3O4wD6FT4YQsZpqVZdDJ6L3r1Bz1Ki\n")
	yaml := minimal + `
notify:
  email:
    host: smtp.example.com
    from: billing@northwind.example
    password_file: secrets/smtp
http:
  api_tokens_file: secrets/tokens
  admin_password_hash_file: secrets/hash
`
	cfg, err := Load(write(t, dir, "retainer.yaml", yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Notify.Email.Password.Reveal() != "hunter2" {
		t.Errorf("password %q", cfg.Notify.Email.Password.Reveal())
	}
	if cfg.Notify.Email.PasswordFile != filepath.Join(dir, "secrets", "smtp") {
		t.Errorf("password file %q", cfg.Notify.Email.PasswordFile)
	}
	if !reflect.DeepEqual(cfg.HTTP.APITokens, []Secret{"tok-one-0123456789abcdef", "tok-two-0123456789abcdef"}) {
		t.Errorf("%d api tokens", len(cfg.HTTP.APITokens))
	}
	if !strings.HasPrefix(cfg.HTTP.AdminPasswordHash.Reveal(), "$2b$10$") {
		t.Error("admin hash not read")
	}
	noSecrets(t, cfg, "hunter2", "tok-one-0123456789abcdef", "tok-two-0123456789abcdef", "abcdefghijklmnop")

	t.Run("problems", func(t *testing.T) {
		yaml := minimal + `
notify:
  email:
    password_file: secrets/missing
  slack:
    token_file: secrets/smtp
http:
  admin_password_hash_file: secrets/smtp
`
		_, err := Load(write(t, dir, "bad.yaml", yaml), []string{
			"RETAINER_NOTIFY__SLACK__TOKEN=xoxb-hunter3",
			"RETAINER_NOTIFY__SLACK__CHANNEL=#retainers",
			"RETAINER_NOTIFY__SLACK__WEBHOOK_URL=not a url hunter4",
		})
		want := []string{
			"http.admin_password_hash",
			"notify.email.password_file",
			"notify.slack.token_file",
			"notify.slack.webhook_url",
		}
		if got := paths(t, err); !reflect.DeepEqual(got, want) {
			t.Errorf("paths:\n got %q\nwant %q\n%v", got, want, err)
		}
		for _, s := range []string{"hunter2", "hunter3", "hunter4"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error contains secret %q:\n%v", s, err)
			}
		}
	})
}

func TestSecretRedaction(t *testing.T) {
	s := Secret("hunter2")
	for name, got := range map[string]string{
		"String":   s.String(),
		"%v":       fmt.Sprintf("%v", s),
		"%s":       fmt.Sprintf("%s", s),
		"%#v":      fmt.Sprintf("%#v", s),
		"LogValue": s.LogValue().String(),
	} {
		if strings.Contains(got, "hunter2") || !strings.Contains(got, "[redacted]") {
			t.Errorf("%s = %q", name, got)
		}
	}
	for name, marshal := range map[string]func() ([]byte, error){
		"json": func() ([]byte, error) { return json.Marshal(s) },
		"text": s.MarshalText,
	} {
		b, err := marshal()
		if err != nil || strings.Contains(string(b), "hunter2") {
			t.Errorf("%s = %s, %v", name, b, err)
		}
	}
	if y, _ := s.MarshalYAML(); y != "[redacted]" {
		t.Errorf("yaml = %v", y)
	}
	var empty Secret
	if empty.String() != "" || fmt.Sprint(empty) != "" {
		t.Errorf("empty secret prints %q", empty.String())
	}
	if b, _ := json.Marshal(empty); string(b) != `""` {
		t.Errorf("empty json %s", b)
	}
	if s.Reveal() != "hunter2" {
		t.Error("Reveal")
	}
}

func TestSessions(t *testing.T) {
	tests := []struct {
		hours   string
		want    int64
		wantErr string
	}{
		{"8", 8 * billing.SessionSeconds, ""},
		{"8.0", 8 * billing.SessionSeconds, ""},
		{`"12"`, 12 * billing.SessionSeconds, ""},
		{"0", 0, ""},
		{"8.5", 0, "contracts.s-1.monthly_hours: must be a whole number of sessions, not 8.5"},
		{"-2", 0, "contracts.s-1.monthly_hours: must be >= 0"},
	}
	for _, tt := range tests {
		t.Run(tt.hours, func(t *testing.T) {
			cfg, err := load(t, fmt.Sprintf(`
contracts:
  s-1:
    client: Coaching
    unit: sessions
    contacts: [c@coach.example]
    monthly_hours: %s
    monthly_fee: 800
`, tt.hours))
			if tt.wantErr != "" {
				paths(t, err)
				if err.Error() != tt.wantErr {
					t.Errorf("error %q, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Contract("s-1").Terms.MonthlyHours; got != tt.want {
				t.Errorf("monthly hours %d, want %d", got, tt.want)
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.yaml")
		_, err := Load(path, nil)
		if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("not yaml", func(t *testing.T) {
		_, err := load(t, "contracts:\n  acme: [\n")
		if len(paths(t, err)) != 1 {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("duplicate key", func(t *testing.T) {
		path := write(t, t.TempDir(), "dup.yaml", minimal+"contracts: {}\n")
		_, err := Load(path, nil)
		if got := paths(t, err); !reflect.DeepEqual(got, []string{path}) {
			t.Errorf("paths %q", got)
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, `line 7: key "contracts" appears twice`) {
			t.Errorf("message %q", msg)
		}
	})
	t.Run("not a mapping", func(t *testing.T) {
		_, err := load(t, "- a\n- b\n")
		paths(t, err)
	})
	t.Run("empty file", func(t *testing.T) {
		cfg := mustLoad(t, "")
		if len(cfg.Contracts) != 0 || !reflect.DeepEqual(cfg.Warnings()[:1], []string{"contracts: none configured"}) {
			t.Errorf("contracts %v warnings %q", cfg.Contracts, cfg.Warnings())
		}
	})
	t.Run("wrong shapes", func(t *testing.T) {
		_, err := load(t, "notify: smtp\nalerts:\n  thresholds: 90\ncontracts:\n  a-1: yes\n  b-2:\n")
		want := []string{"alerts.thresholds", "contracts.a-1", "contracts.b-2.client", "contracts.b-2.monthly_fee", "contracts.b-2.monthly_hours", "notify"}
		if got := paths(t, err); !reflect.DeepEqual(got, want) {
			t.Errorf("paths:\n got %q\nwant %q\n%v", got, want, err)
		}
	})
}

// SPEC §13: go_live, statements.review and opening_bank; the take-over
// period is start, or go_live when later.
func TestDayOneKeys(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		env      []string
		goLive   string // "" = nil
		review   bool
		opening  int64  // seconds
		takeOver string // "" = nil
		err      string
	}{
		{name: "defaults", yaml: minimal},
		{name: "go_live after start", yaml: "go_live: 2026-12\nstatements:\n  review: true\n" + minimal + "    start: 2026-01\n    opening_bank: 6.5\n    rollover_hours: true\n",
			goLive: "2026-12", review: true, opening: 6*3600 + 1800, takeOver: "2026-12"},
		{name: "start after go_live", yaml: "go_live: 2026-02\n" + minimal + "    start: 2026-05\n", goLive: "2026-02", takeOver: "2026-05"},
		{name: "from the environment", yaml: minimal, env: []string{"RETAINER_GO_LIVE=2026-11", "RETAINER_STATEMENTS__REVIEW=true"},
			goLive: "2026-11", review: true, takeOver: "2026-11"},
		{name: "bad go_live", yaml: "go_live: December\n" + minimal, err: "go_live"},
		{name: "negative opening bank", yaml: minimal + "    opening_bank: -3\n", err: "contracts.acme-001.opening_bank"},
		{name: "unknown statements key", yaml: "statements:\n  reveiw: true\n" + minimal, err: "statements.reveiw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err != "" {
				_, err := load(t, tt.yaml, tt.env...)
				if got := paths(t, err); !reflect.DeepEqual(got, []string{tt.err}) {
					t.Errorf("error paths %q, want [%s]: %v", got, tt.err, err)
				}
				return
			}
			cfg := mustLoad(t, tt.yaml, tt.env...)
			str := func(p *billing.Period) string {
				if p == nil {
					return ""
				}
				return p.String()
			}
			c := cfg.Contract("acme-001")
			if str(cfg.GoLive) != tt.goLive || cfg.Statements.Review != tt.review || c.OpeningBank != tt.opening || str(c.TakeOver) != tt.takeOver {
				t.Errorf("go_live %s review %v opening %d take-over %s", str(cfg.GoLive), cfg.Statements.Review, c.OpeningBank, str(c.TakeOver))
			}
		})
	}
}
