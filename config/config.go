package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // time zones must resolve in a scratch container too

	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/v2"
	"github.com/robfig/cron/v3"

	"retainer/billing"
)

// Config is one validated load of the configuration file and environment.
type Config struct {
	Path string // the file loaded, as given to Load

	Timezone string         // IANA name, default UTC
	Location *time.Location // Timezone, loaded
	Currency string         // upper-case ISO 4217, default USD

	// Database is a SQLite file path resolved against the config file's
	// directory (default retainer.db beside it), or a postgres:// or
	// postgresql:// URL kept as written.
	Database string
	// TemplatesDir overrides embedded templates by name; "" = none. Resolved
	// against the config file's directory.
	TemplatesDir string

	Agency   Agency
	Notify   Notify
	Alerts   Alerts
	Schedule Schedule
	// Schedules are the enabled jobs' schedules, parsed once in the agency
	// timezone (ParseSchedule), by job name.
	Schedules       map[string]cron.Schedule
	Import          Import
	HTTP            HTTP
	Log             Log
	ShutdownTimeout time.Duration // default 30s

	// GoLive is the first period retainer invoices: earlier periods are
	// closed (figures frozen, rollover banked) without statement, invoice,
	// email or alert. Nil: every period is invoiced.
	GoLive     *billing.Period
	Statements Statements
	Payments   Payments // Stripe (SPEC §14); not Enabled unless a secret key is set
	Reminders  Reminders
	Exports    Exports

	Contracts []*billing.Contract // sorted by ID

	warnings []string
}

// Agency is who sends the statements and receives the alerts.
type Agency struct {
	Name  string `koanf:"name"`
	Email string `koanf:"email"` // agency alerts go here by email; "" = none
	// Invoice details (SPEC §14): shown on every invoice.
	Address             string `koanf:"address"` // lines separated by line breaks
	TaxID               string `koanf:"tax_id"`
	PaymentInstructions string `koanf:"payment_instructions"` // free text, e.g. bank details
}

// Notify configures the transports. Whatever channel is not configured goes
// to the file transport.
type Notify struct {
	Email Email         `koanf:"email"`
	Slack Slack         `koanf:"slack"`
	File  FileTransport `koanf:"file"`
}

// Email is the SMTP transport; an empty Host sends email to the file
// transport.
type Email struct {
	Host         string `koanf:"host"`
	Port         int    `koanf:"port"` // default 587; 465 with tls: implicit
	Username     string `koanf:"username"`
	Password     Secret `koanf:"password"`
	PasswordFile string `koanf:"password_file"` // where Password came from, resolved; "" = environment or none
	TLS          string `koanf:"tls"`           // mandatory (default) | opportunistic | implicit | none
	// Auth is how the username authenticates: plain (the default: PLAIN,
	// or LOGIN when the server offers only that, with the password) or
	// xoauth2 (XOAUTH2 with an OAuth access token, for providers that
	// turned basic authentication off).
	Auth string `koanf:"auth"`
	// OAuthToken is the XOAUTH2 access token from the environment
	// (RETAINER_NOTIFY__EMAIL__OAUTH_TOKEN); OAuthTokenFile, resolved, the
	// file it is read from instead — again at every connection, so that a
	// token refreshed on disk by another tool is used without a reload.
	OAuthToken     Secret        `koanf:"oauth_token"`
	OAuthTokenFile string        `koanf:"oauth_token_file"`
	From           string        `koanf:"from"`    // default: agency name and email; without SMTP and agency.email, PlaceholderFrom
	Timeout        time.Duration `koanf:"timeout"` // default 30s
}

// SMTP authentication (Email.Auth).
const (
	AuthPlain   = "plain"
	AuthXOAuth2 = "xoauth2"
)

// Enabled reports whether email goes out over SMTP.
func (e Email) Enabled() bool { return e.Host != "" }

// Slack is an incoming webhook, or a bot token with a channel.
type Slack struct {
	WebhookURL     Secret `koanf:"webhook_url"`
	WebhookURLFile string `koanf:"webhook_url_file"`
	Token          Secret `koanf:"token"`
	TokenFile      string `koanf:"token_file"`
	Channel        string `koanf:"channel"`
	// APIURL is where bot-token calls go, with a trailing slash; default
	// DefaultSlackAPIURL (overridable for tests).
	APIURL string `koanf:"api_url"`
}

// Enabled reports whether Slack messages go out to Slack.
func (s Slack) Enabled() bool { return s.WebhookURL != "" || s.Token != "" }

// FileTransport writes messages as files, for every channel not configured.
type FileTransport struct {
	Dir string `koanf:"dir"` // default outbox, resolved against the config file's directory
}

// Statements configures how a close issues statements.
type Statements struct {
	// Review makes a close create each statement as a draft that nothing is
	// sent for until `retainer statement approve` (or the dashboard).
	Review bool `koanf:"review"`
	// Paper is the PDF invoice's paper: a4 (default) or letter.
	Paper string `koanf:"paper"`
	// PDFFonts are TrueType fonts (.ttf) the PDF invoice draws the
	// characters its own font lacks with, before its bundled CJK fonts;
	// resolved against the config file's directory.
	PDFFonts []string `koanf:"pdf_fonts"`
}

// Reminders configures the reminders sent to clients.
type Reminders struct {
	// ClientOverdueDays are the days past its due date on which an overdue
	// invoice emails the contract's contacts a payment reminder (SPEC §14):
	// distinct, 1..365, ascending; none by default.
	ClientOverdueDays []int `koanf:"client_overdue_days"`
}

// MaxReminderDays bounds reminders.client_overdue_days: a year past due.
const MaxReminderDays = 365

// Exports configures the accounting exports (`retainer export invoices`,
// SPEC §14): what each accounting system files the invoice lines under.
// Each value must be spelled exactly as the accounting system shows it.
type Exports struct {
	Xero       XeroExport       `koanf:"xero"`
	QuickBooks QuickBooksExport `koanf:"quickbooks"`
}

// XeroExport codes the lines of the Xero sales-invoice import file.
type XeroExport struct {
	// AccountCode is the revenue account every line is coded to; default
	// DefaultXeroAccountCode (Sales in Xero's default chart of accounts).
	AccountCode string `koanf:"account_code"`
	// TaxType is the tax rate's display name on the lines of an invoice
	// that carries tax; default DefaultXeroTaxType.
	TaxType string `koanf:"tax_type"`
	// ExemptTaxType is the one on the lines of an invoice without tax
	// (tax_rate 0); default DefaultXeroExemptTaxType.
	ExemptTaxType string `koanf:"exempt_tax_type"`
}

// QuickBooksExport codes the lines of the QuickBooks Online invoice import
// file.
type QuickBooksExport struct {
	// Item is the product/service every line sells; default
	// DefaultQuickBooksItem.
	Item string `koanf:"item"`
	// TaxCode is the line tax code of an invoice that carries tax; default
	// DefaultQuickBooksTaxCode (US companies; elsewhere the code's name,
	// such as "20.0% S").
	TaxCode string `koanf:"tax_code"`
	// ExemptTaxCode is the one of an invoice without tax; default
	// DefaultQuickBooksExemptTaxCode.
	ExemptTaxCode string `koanf:"exempt_tax_code"`
}

// The accounting exports' defaults: the names a new Xero organisation
// (global and US editions) and a new QuickBooks Online US company have.
const (
	DefaultXeroAccountCode         = "200" // "Sales"
	DefaultXeroTaxType             = "Tax on Sales"
	DefaultXeroExemptTaxType       = "Tax Exempt"
	DefaultQuickBooksItem          = "Services"
	DefaultQuickBooksTaxCode       = "TAX"
	DefaultQuickBooksExemptTaxCode = "NON"
)

// Invoiced reports whether period p gets statements: it is not before go_live.
func (c *Config) Invoiced(p billing.Period) bool { return c.GoLive == nil || p >= *c.GoLive }

// Alerts configures agency alerts.
type Alerts struct {
	Thresholds []int `koanf:"thresholds"` // utilization percentages, ascending; default [90, 100]
}

// Schedule holds the cron expression (5 fields or a descriptor such as
// @hourly or @every 30s) of each job, in the agency timezone; "" disables
// the job.
type Schedule struct {
	Import   string `koanf:"import"`
	Alerts   string `koanf:"alerts"`
	Digest   string `koanf:"digest"`
	Checkins string `koanf:"checkins"`
	Close    string `koanf:"close"`
	Renewals string `koanf:"renewals"`
	Overdue  string `koanf:"overdue"`
	Dispatch string `koanf:"dispatch"`
	// Payments creates the Stripe invoices of pending statements (a no-op
	// unless payments.stripe is configured).
	Payments string `koanf:"payments"`
}

// DefaultSchedule returns the schedules used for keys the file leaves out.
func DefaultSchedule() Schedule {
	return Schedule{
		Import:   "*/15 * * * *",
		Alerts:   "0 * * * *",
		Digest:   "0 9 15 * *",
		Checkins: "0 9 15 * *",
		Close:    "0 6 1 * *",
		Renewals: "0 9 * * *",
		Overdue:  "0 9 * * *",
		Dispatch: "@every 2s",
		Payments: "@every 2s",
	}
}

// Import configures the inbox and the tracker APIs.
type Import struct {
	Inbox     string         `koanf:"inbox"`      // default inbox, resolved against the config file's directory
	DateOrder string         `koanf:"date_order"` // "" | mdy | dmy
	Timezone  string         `koanf:"timezone"`   // for times without an offset; default: the agency timezone
	Location  *time.Location `koanf:"-"`          // Timezone, loaded
	// ReconcileMonths is how many closed months, beside every open period,
	// each tracker API source re-lists to find entries deleted upstream
	// (SPEC §15); default 2.
	ReconcileMonths int      `koanf:"reconcile_months"`
	Harvest         Harvest  `koanf:"harvest"`
	Toggl           Toggl    `koanf:"toggl"`
	Clockify        Clockify `koanf:"clockify"`
}

// APIs reports whether any tracker API is polled.
func (im Import) APIs() bool {
	return im.Harvest.Enabled() || im.Toggl.Enabled() || im.Clockify.Enabled()
}

// Harvest is the Harvest API; an empty AccountID means it is not polled.
type Harvest struct {
	AccountID string `koanf:"account_id"`
	Token     Secret `koanf:"token"`
	TokenFile string `koanf:"token_file"`
	BaseURL   string `koanf:"base_url"` // default https://api.harvestapp.com/v2
}

// Enabled reports whether Harvest is polled.
func (h Harvest) Enabled() bool { return h.AccountID != "" }

// Toggl is the Toggl Track API; a zero WorkspaceID means it is not polled.
type Toggl struct {
	WorkspaceID int64  `koanf:"workspace_id"`
	Token       Secret `koanf:"token"`
	TokenFile   string `koanf:"token_file"`
	BaseURL     string `koanf:"base_url"`    // API v9, for names; default https://api.track.toggl.com/api/v9
	ReportsURL  string `koanf:"reports_url"` // Reports API v3; default https://api.track.toggl.com/reports/api/v3
	// Since is where the first sync's back-fill starts: YYYY-MM-DD, or
	// YYYY-MM for its first day; "" = the first day of the first open period.
	Since     string       `koanf:"since"`
	SinceDate billing.Date `koanf:"-"` // Since, parsed; 0 when ""
}

// Enabled reports whether Toggl is polled.
func (t Toggl) Enabled() bool { return t.WorkspaceID != 0 }

// Clockify is the Clockify API; an empty WorkspaceID means it is not polled.
type Clockify struct {
	WorkspaceID string `koanf:"workspace_id"`
	Token       Secret `koanf:"token"` // the API key
	TokenFile   string `koanf:"token_file"`
	BaseURL     string `koanf:"base_url"`    // default https://api.clockify.me/api/v1
	ReportsURL  string `koanf:"reports_url"` // default https://reports.api.clockify.me/v1
}

// Enabled reports whether Clockify is polled.
func (c Clockify) Enabled() bool { return c.WorkspaceID != "" }

// HTTP configures the web server.
type HTTP struct {
	Listen                string   `koanf:"listen"`   // default 127.0.0.1:8080
	BaseURL               string   `koanf:"base_url"` // default http://127.0.0.1:8080, no trailing slash
	AdminPasswordHash     Secret   `koanf:"admin_password_hash"`
	AdminPasswordHashFile string   `koanf:"admin_password_hash_file"`
	APITokens             []Secret `koanf:"api_tokens"`
	APITokensFile         string   `koanf:"api_tokens_file"` // one token per line; blank lines and # comments skipped
}

// Log configures log/slog.
type Log struct {
	Format string `koanf:"format"` // text (default) | json
	Level  string `koanf:"level"`  // debug | info (default) | warn | error
}

// Defaults that are not schedules.
const (
	DefaultTimezone       = "UTC"
	DefaultCurrency       = "USD"
	DefaultDatabase       = "retainer.db"
	DefaultOutbox         = "outbox"
	DefaultInbox          = "inbox"
	DefaultListen         = "127.0.0.1:8080"
	DefaultBaseURL        = "http://127.0.0.1:8080"
	DefaultHarvestBaseURL = "https://api.harvestapp.com/v2"
	DefaultTogglBaseURL   = "https://api.track.toggl.com/api/v9"
	// DefaultTogglReportsURL is the Toggl Reports API v3.
	DefaultTogglReportsURL = "https://api.track.toggl.com/reports/api/v3"
	// DefaultClockifyBaseURL and DefaultClockifyReportsURL are Clockify's
	// global hosts (regional and subdomain workspaces set their own).
	DefaultClockifyBaseURL    = "https://api.clockify.me/api/v1"
	DefaultClockifyReportsURL = "https://reports.api.clockify.me/v1"
	// DefaultReconcileMonths is how many closed months are re-listed.
	DefaultReconcileMonths = 2
	// MaxReconcileMonths bounds import.reconcile_months: each re-list costs
	// tracker requests, which some plans count by the hour.
	MaxReconcileMonths  = 24
	DefaultSMTPPort     = 587
	DefaultSMTPSPort    = 465 // implicit TLS (tls: implicit)
	DefaultSlackAPIURL  = "https://slack.com/api/"
	DefaultTimeout      = 30 * time.Second
	DefaultPaymentTerms = 15 // days

	// PlaceholderFrom is the From address of email written to the file
	// transport when neither notify.email.from nor agency.email is set.
	// SMTP never uses it: with notify.email.host set, a From is required.
	PlaceholderFrom = "retainer@localhost"
)

// DefaultThresholds returns the alert thresholds used when none are set.
func DefaultThresholds() []int { return []int{90, 100} }

// Warnings returns what is allowed but probably not meant, one line each,
// for `retainer check`:
// "contracts.globex-002: no contacts: its statements will not be emailed".
func (c *Config) Warnings() []string {
	out := make([]string, len(c.warnings))
	copy(out, c.warnings)
	return out
}

// Contract returns the contract with the given id, or nil.
func (c *Config) Contract(id string) *billing.Contract {
	i := sort.Search(len(c.Contracts), func(i int) bool { return c.Contracts[i].ID >= id })
	if i < len(c.Contracts) && c.Contracts[i].ID == id {
		return c.Contracts[i]
	}
	return nil
}

// EnvPrefix starts every environment override.
const EnvPrefix = "RETAINER_"

// Load reads the YAML file at path, applies the RETAINER_ variables found in
// environ (as os.Environ returns them; RETAINER_CONFIG and RETAINER_TEST_*
// are ignored), and validates the result.
//
// A file that cannot be read is a plain error naming it. Anything wrong
// inside it or in the environment is an Errors listing every problem, which
// matches ErrInvalid.
func Load(path string, environ []string) (*Config, error) { return loadFile(path, environ, "") }

// loadFile is Load with the parse cache in cacheDir ("" = none; cache.go).
func loadFile(path string, environ []string, cacheDir string) (*Config, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	l := newLoader(path)
	var (
		key       [32]byte
		fileMap   map[string]any
		contracts map[string]any // the file's contracts as parsed
		top       []byte         // fileMap for the cache, taken before koanf sees it
	)
	if cacheDir != "" {
		key = cacheKey(body, environ)
		fileMap, l.cached = readCache(cacheDir, path, key)
	}
	if fileMap == nil {
		parsed, err := parseYAML(body)
		if err != nil {
			return nil, Errors{{Path: path, Msg: oneLine(err.Error())}}
		}
		// The file's own map is checked first: unknown keys and secrets are
		// reported with their paths and left out of what is decoded.
		cleaned, _ := l.walk("", documentType, parsed)
		if fileMap, _ = cleaned.(map[string]any); fileMap == nil {
			fileMap = map[string]any{}
		}
		// Contracts are decoded one by one beside koanf: a deep copy of
		// thousands of them at every merge and unmarshal would cost more
		// than the rest.
		contracts, _ = fileMap["contracts"].(map[string]any)
		delete(fileMap, "contracts")
		if cacheDir != "" {
			if top, err = encodeValue(nil, fileMap); err != nil {
				top = nil
			}
		}
	}

	k := koanf.New(".")
	if err := k.Load(mapProvider(fileMap), nil); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	envProvider := env.Provider(".", env.Opt{
		Prefix:        EnvPrefix,
		TransformFunc: l.envKey,
		// Always set: left nil, the provider would read os.Environ.
		EnvironFunc: func() []string { return environ },
	})
	if err := k.Load(envProvider, nil); err != nil {
		return nil, fmt.Errorf("config %s: environment: %w", path, err)
	}
	if envContracts, ok := k.Get("contracts").(map[string]any); ok {
		if l.cached != nil {
			// The environment changes contracts the cache holds built:
			// merged with the file's as written, not cached.
			return loadFile(path, environ, "")
		}
		if contracts == nil {
			contracts = map[string]any{}
		}
		for id, v := range envContracts {
			over, _ := v.(map[string]any)
			base, ok := contracts[id].(map[string]any)
			if !ok {
				contracts[id] = over
				continue
			}
			for key, val := range over {
				base[key] = val
			}
		}
		k.Delete("contracts")
		top = nil // what the cache would keep is not the file alone
	}

	doc := l.decode(k, contracts, l.cached != nil)
	cfg := l.build(doc)
	if len(l.errs) > 0 {
		return nil, l.errs.sorted()
	}
	if top != nil && l.built != nil {
		writeCache(cacheDir, path, encodeCache(key, top, l.built))
	}
	sort.Strings(l.warnings)
	cfg.warnings = l.warnings
	return cfg, nil
}

// loader carries one Load's findings.
type loader struct {
	path string
	dir  string // the config file's directory, absolute when it can be

	errs     Errors
	failed   map[string]bool   // paths whose value could not be decoded
	envVars  map[string]string // dotted key → the variable that set it
	warnings []string

	// cached are the contracts of a cache hit, which build takes as they
	// are; built, those build made, to be cached.
	cached, built *cachedContracts
}

func newLoader(path string) *loader {
	dir := filepath.Dir(path)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &loader{path: path, dir: dir, failed: map[string]bool{}, envVars: map[string]string{}}
}

// add records a problem.
func (l *loader) add(path, msg string) {
	l.errs = append(l.errs, &FieldError{Path: path, Msg: msg})
}

// invalid records a validation problem, unless the value at path (or a
// section above it) already failed to decode: one problem, one message.
func (l *loader) invalid(path, msg string) {
	for p := path; p != ""; p = parentPath(p) {
		if l.failed[p] {
			return
		}
	}
	l.add(path, msg)
}

func (l *loader) warn(path, msg string) {
	l.warnings = append(l.warnings, path+": "+msg)
}

// resolve makes a relative path relative to the config file's directory.
func (l *loader) resolve(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(l.dir, p)
}

// oneLine folds a multi-line parser message ("yaml: unmarshal errors:\n  line
// 7: …") into one line.
func oneLine(msg string) string {
	var parts []string
	for _, line := range strings.Split(msg, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	if len(parts) == 0 {
		return msg
	}
	out := parts[0]
	for i, p := range parts[1:] {
		if i == 0 && strings.HasSuffix(out, ":") {
			out += " " + p
		} else {
			out += "; " + p
		}
	}
	return out
}

// parentPath strips the last element of a dotted path: a.b[2] → a.b, a.b → a.
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// mapProvider hands an already parsed map to koanf.
type mapProvider map[string]any

func (m mapProvider) Read() (map[string]any, error) { return m, nil }

func (m mapProvider) ReadBytes() ([]byte, error) {
	return nil, errors.New("config: map provider has no bytes")
}
