package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"retainer/billing"
)

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// build checks the decoded document, applies the defaults that depend on
// other settings, and returns the Config. Problems go to l.errs.
func (l *loader) build(d *document) *Config {
	c := &Config{Path: l.path}

	c.Timezone = orDefault(d.Timezone, DefaultTimezone)
	c.Location = l.location("timezone", c.Timezone)

	c.Currency = strings.ToUpper(orDefault(d.Currency, DefaultCurrency))
	switch {
	case !currencyCode.MatchString(c.Currency):
		l.invalid("currency", fmt.Sprintf("%q is not an ISO 4217 code (three letters, such as USD)", d.Currency))
	case !billing.KnownCurrency(c.Currency):
		l.invalid("currency", fmt.Sprintf("%q is not an active ISO 4217 currency code (such as USD, EUR, GBP)", d.Currency))
	}

	c.Database = l.database(orDefault(d.Database, DefaultDatabase))
	if dir := strings.TrimSpace(d.TemplatesDir); dir != "" {
		c.TemplatesDir = l.resolve(dir)
		l.directory("templates_dir", c.TemplatesDir)
	}

	c.Agency = Agency{Name: strings.TrimSpace(d.Agency.Name), Email: strings.TrimSpace(d.Agency.Email),
		Address: strings.TrimSpace(d.Agency.Address), TaxID: strings.TrimSpace(d.Agency.TaxID),
		PaymentInstructions: strings.TrimSpace(d.Agency.PaymentInstructions)}
	l.text("agency.name", c.Agency.Name)
	l.textBlock("agency.address", c.Agency.Address)
	l.text("agency.tax_id", c.Agency.TaxID)
	l.textBlock("agency.payment_instructions", c.Agency.PaymentInstructions)
	if c.Agency.Email != "" {
		l.address("agency.email", c.Agency.Email)
	}

	c.Notify = l.notify(d.Notify, c.Agency)
	c.Alerts = l.alerts(d.Alerts)
	c.Schedule, c.Schedules = l.schedule(d.Schedule, c.Location)
	c.Import = l.importing(d.Import, c.Timezone, c.Agency)
	c.HTTP = l.http(d.HTTP)

	c.Log.Format = strings.ToLower(orDefault(d.Log.Format, "text"))
	l.oneOf("log.format", c.Log.Format, "text", "json")
	c.Log.Level = strings.ToLower(orDefault(d.Log.Level, "info"))
	l.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")

	c.ShutdownTimeout = d.ShutdownTimeout
	l.positive("shutdown_timeout", c.ShutdownTimeout)
	c.GoLive = l.period("go_live", d.GoLive)
	c.Statements = d.Statements
	c.Statements.Paper = strings.ToLower(orDefault(strings.TrimSpace(d.Statements.Paper), "a4"))
	l.oneOf("statements.paper", c.Statements.Paper, "a4", "letter")
	c.Statements.PDFFonts = nil
	for i, f := range d.Statements.PDFFonts {
		path := fmt.Sprintf("statements.pdf_fonts[%d]", i)
		if strings.TrimSpace(f) == "" {
			l.invalid(path, "empty: give the path of a TrueType font file (.ttf)")
			continue
		}
		f = l.resolve(strings.TrimSpace(f))
		l.regularFile(path, f)
		c.Statements.PDFFonts = append(c.Statements.PDFFonts, f)
	}
	c.Payments = l.payments(d.Payments, c.Schedule)
	c.Reminders = l.reminders(d.Reminders)
	c.Exports = l.exports(d.Exports)

	moneyCurrency := c.Currency
	if !billing.KnownCurrency(moneyCurrency) {
		moneyCurrency = DefaultCurrency // reported above; amounts are still checked
	}
	if l.cached != nil {
		c.Contracts = l.cached.list
		l.warnings = append(l.warnings, l.cached.warnings...)
	} else {
		errs, warned := len(l.errs), len(l.warnings)
		c.Contracts = l.contracts(d.Contracts, moneyCurrency)
		if len(l.errs) == errs { // for the parse cache, which leaves out TakeOver (set below)
			l.built = &cachedContracts{list: c.Contracts, warnings: slices.Clone(l.warnings[warned:])}
		}
	}
	for _, k := range c.Contracts {
		k.TakeOver = k.Start
		if c.GoLive != nil && (k.TakeOver == nil || *c.GoLive > *k.TakeOver) {
			g := *c.GoLive
			k.TakeOver = &g
		}
		if k.OpeningBank > 0 && !k.Rollover {
			l.warn("contracts."+k.ID+".opening_bank", "rollover_hours is off: the opening bank is never used")
		}
		if k.OpeningBank > 0 && k.TakeOver == nil {
			l.warn("contracts."+k.ID+".opening_bank", "no start or go_live: it is banked into the first period computed")
		}
	}
	return c
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s == "" {
		return def
	}
	return s
}

func (l *loader) location(path, name string) *time.Location {
	if name == "Local" {
		l.invalid(path, `must be an IANA time zone name such as America/New_York, not "Local"`)
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		l.invalid(path, fmt.Sprintf("unknown time zone %q (want an IANA name such as America/New_York)", name))
		return time.UTC
	}
	return loc
}

// database resolves a SQLite path; PostgreSQL URLs are kept as written.
func (l *loader) database(db string) string {
	lower := strings.ToLower(db)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return db
	case strings.Contains(db, "://"):
		// The URL may hold a password: the message does not repeat it.
		l.invalid("database", "must be a SQLite file path or a postgres:// URL")
		return db
	}
	return l.resolve(db)
}

func (l *loader) directory(path, dir string) {
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		l.invalid(path, fmt.Sprintf("cannot use %s: %s", dir, reason(err)))
	case !fi.IsDir():
		l.invalid(path, fmt.Sprintf("%s is not a directory", dir))
	}
}

// regularFile checks that the file at path can be opened.
func (l *loader) regularFile(path, file string) {
	fi, err := os.Stat(file)
	switch {
	case err != nil:
		l.invalid(path, fmt.Sprintf("cannot use %s: %s", file, reason(err)))
	case !fi.Mode().IsRegular():
		l.invalid(path, fmt.Sprintf("%s is not a file", file))
	}
}

// reason is an OS error without the path it repeats.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func (l *loader) address(path, s string) {
	if err := billing.CheckText(s, false); err != nil {
		l.invalid(path, "must be one line of plain text: it "+err.Error())
		return
	}
	if _, err := mail.ParseAddress(s); err != nil {
		l.invalid(path, fmt.Sprintf("%q is not an email address", s))
	}
}

// text refuses a name shown in Subjects, messages and pages that holds a
// control character (a line break cuts a Subject), a bidirectional or
// zero-width format character (U+202E makes it read backwards) or a NUL
// byte. The message names the character, not the text.
func (l *loader) text(path, s string) {
	if err := billing.CheckText(s, false); err != nil {
		l.invalid(path, "must be one line of plain text: it "+err.Error())
	}
}

// textBlock is text that may hold line breaks (an address, payment
// instructions), but no other control character.
func (l *loader) textBlock(path, s string) {
	if err := billing.CheckText(s, true); err != nil {
		l.invalid(path, "must be plain text: it "+err.Error())
	}
}

func (l *loader) oneOf(path, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	l.invalid(path, fmt.Sprintf("must be %s, not %q", strings.Join(allowed, ", "), v))
}

func (l *loader) positive(path string, d time.Duration) {
	if d <= 0 {
		l.invalid(path, "must be a duration > 0, such as 30s")
	}
}

// httpURL checks an http(s) URL without ever quoting it (it may be a secret)
// and returns it without a trailing slash.
func (l *loader) httpURL(path, s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.invalid(path, "must be an http:// or https:// URL")
		return s
	}
	return strings.TrimRight(s, "/")
}

// secret takes a secret from the environment (v) or from its *_file twin,
// never both; the twin is resolved against the config file's directory and
// its trailing newline dropped. Nothing here quotes the secret.
func (l *loader) secret(path string, v Secret, file *string) Secret {
	name := strings.TrimSpace(*file)
	if name == "" {
		*file = ""
		return v
	}
	filePath := path + "_file"
	*file = l.resolve(name)
	if v != "" {
		l.invalid(filePath, fmt.Sprintf("%s is also set (from %s): use one or the other", lastKey(path), envName(path)))
		return v
	}
	b, err := os.ReadFile(*file)
	if err != nil {
		l.invalid(filePath, fmt.Sprintf("cannot read %s: %s", *file, reason(err)))
		return ""
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		l.invalid(filePath, *file+" is empty")
	}
	return Secret(s)
}

func lastKey(path string) string {
	return path[strings.LastIndex(path, ".")+1:]
}

func (l *loader) notify(n Notify, agency Agency) Notify {
	e := &n.Email
	e.Host = strings.TrimSpace(e.Host)
	l.text("notify.email.host", e.Host)
	e.Username = strings.TrimSpace(e.Username)
	l.text("notify.email.username", e.Username)
	e.Password = l.secret("notify.email.password", e.Password, &e.PasswordFile)
	if e.Port < 1 || e.Port > 65535 {
		l.invalid("notify.email.port", fmt.Sprintf("must be 1..65535, not %d", e.Port))
	}
	e.TLS = strings.ToLower(orDefault(e.TLS, "mandatory"))
	l.oneOf("notify.email.tls", e.TLS, "mandatory", "opportunistic", "implicit", "none")
	l.emailAuth(e)
	e.From = strings.TrimSpace(e.From)
	if e.From == "" && agency.Email != "" {
		if a, err := mail.ParseAddress(agency.Email); err == nil {
			if a.Name == "" {
				a.Name = agency.Name
			}
			e.From = a.String()
		}
	}
	switch {
	case e.From != "":
		l.address("notify.email.from", e.From)
	case e.Host != "":
		l.invalid("notify.email.from", "required when notify.email.host is set (or set agency.email)")
	default:
		// Email goes to the file transport: every message still needs a
		// From, or none can be written. A placeholder keeps a minimal
		// config working; SMTP (above) never gets one.
		a := mail.Address{Name: agency.Name, Address: PlaceholderFrom}
		if a.Name == "" {
			a.Name = "retainer"
		}
		e.From = a.String()
		l.warn("notify.email.from", fmt.Sprintf("not set, and no agency.email: email written to notify.file.dir says From: %s", e.From))
	}
	l.positive("notify.email.timeout", e.Timeout)

	s := &n.Slack
	s.WebhookURL = l.secret("notify.slack.webhook_url", s.WebhookURL, &s.WebhookURLFile)
	if s.WebhookURL != "" {
		l.httpURL("notify.slack.webhook_url", string(s.WebhookURL))
	}
	s.Token = l.secret("notify.slack.token", s.Token, &s.TokenFile)
	s.Channel = strings.TrimSpace(s.Channel)
	l.text("notify.slack.channel", s.Channel)
	if s.Token != "" && s.Channel == "" {
		l.invalid("notify.slack.channel", "required with a bot token (notify.slack.token)")
	}
	// slack-go appends the method name to it: keep one trailing slash.
	s.APIURL = l.httpURL("notify.slack.api_url", orDefault(s.APIURL, DefaultSlackAPIURL)) + "/"

	n.File.Dir = l.resolve(orDefault(n.File.Dir, DefaultOutbox))
	return n
}

// emailAuth checks how SMTP authenticates: plain (the password) or xoauth2,
// which needs the username (the mailbox) and an access token, from
// RETAINER_NOTIFY__EMAIL__OAUTH_TOKEN or oauth_token_file (read here to
// check it, and again at every connection). No message quotes a token.
func (l *loader) emailAuth(e *Email) {
	e.Auth = strings.ToLower(orDefault(e.Auth, AuthPlain))
	l.oneOf("notify.email.auth", e.Auth, AuthPlain, AuthXOAuth2)
	e.OAuthToken = l.secret("notify.email.oauth_token", e.OAuthToken, &e.OAuthTokenFile)
	hasToken := e.OAuthToken != "" || e.OAuthTokenFile != ""
	switch e.Auth {
	case AuthXOAuth2:
		if e.Username == "" {
			l.invalid("notify.email.username", "required with notify.email.auth: xoauth2 (the mailbox the token is for)")
		}
		if !hasToken {
			l.invalid("notify.email.oauth_token", fmt.Sprintf("required with notify.email.auth: xoauth2 (%s or oauth_token_file)", envName("notify.email.oauth_token")))
		}
		if e.Password != "" {
			l.warn("notify.email.password", "not used with notify.email.auth: xoauth2 (the OAuth token is)")
		}
	case AuthPlain:
		if hasToken {
			l.invalid("notify.email.auth", "an OAuth token is set (oauth_token or oauth_token_file): set auth: xoauth2 to use it, or remove it")
		}
	}
}

func (l *loader) alerts(a Alerts) Alerts {
	if a.Thresholds == nil {
		return Alerts{Thresholds: DefaultThresholds()}
	}
	return Alerts{Thresholds: l.distinct("alerts.thresholds", a.Thresholds, 1, 1000, "")}
}

// reminders checks reminders.client_overdue_days: each 1..365, none twice;
// kept ascending.
func (l *loader) reminders(r Reminders) Reminders {
	return Reminders{ClientOverdueDays: l.distinct("reminders.client_overdue_days", r.ClientOverdueDays, 1, MaxReminderDays, " days past the due date")}
}

// distinct checks a list of whole numbers, each lo..hi (what) and none
// listed twice, and returns the good ones ascending (nil when values is).
func (l *loader) distinct(path string, values []int, lo, hi int, what string) []int {
	if values == nil {
		return nil
	}
	seen := map[int]bool{}
	out := make([]int, 0, len(values))
	for i, v := range values {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case v < lo || v > hi:
			l.invalid(p, fmt.Sprintf("must be %d..%d%s, not %d", lo, hi, what, v))
		case seen[v]:
			l.invalid(p, fmt.Sprintf("%d is listed twice", v))
		default:
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Ints(out)
	return out
}

// exports trims the accounting export codes, puts the defaults in place of
// the ones left out, and checks that each is one line of plain text.
func (l *loader) exports(e Exports) Exports {
	out := Exports{
		Xero: XeroExport{
			AccountCode:   orDefault(e.Xero.AccountCode, DefaultXeroAccountCode),
			TaxType:       orDefault(e.Xero.TaxType, DefaultXeroTaxType),
			ExemptTaxType: orDefault(e.Xero.ExemptTaxType, DefaultXeroExemptTaxType),
		},
		QuickBooks: QuickBooksExport{
			Item:          orDefault(e.QuickBooks.Item, DefaultQuickBooksItem),
			TaxCode:       orDefault(e.QuickBooks.TaxCode, DefaultQuickBooksTaxCode),
			ExemptTaxCode: orDefault(e.QuickBooks.ExemptTaxCode, DefaultQuickBooksExemptTaxCode),
		},
	}
	l.text("exports.xero.account_code", out.Xero.AccountCode)
	l.text("exports.xero.tax_type", out.Xero.TaxType)
	l.text("exports.xero.exempt_tax_type", out.Xero.ExemptTaxType)
	l.text("exports.quickbooks.item", out.QuickBooks.Item)
	l.text("exports.quickbooks.tax_code", out.QuickBooks.TaxCode)
	l.text("exports.quickbooks.exempt_tax_code", out.QuickBooks.ExemptTaxCode)
	return out
}

// schedule trims and parses each job's schedule once, in the agency
// timezone; the parsed ones (enabled jobs only) are what the scheduler runs.
func (l *loader) schedule(s Schedule, loc *time.Location) (Schedule, map[string]cron.Schedule) {
	if loc == nil {
		loc = time.UTC // the timezone is reported already
	}
	for _, expr := range s.fields() {
		*expr.value = strings.TrimSpace(*expr.value)
	}
	parsed, errs := s.parse(loc)
	for _, err := range errs {
		l.invalid("schedule."+err.job, err.err.Error())
	}
	return s, parsed
}

func (l *loader) importing(im Import, timezone string, agency Agency) Import {
	im.Inbox = l.resolve(orDefault(im.Inbox, DefaultInbox))
	im.DateOrder = strings.ToLower(strings.TrimSpace(im.DateOrder))
	if im.DateOrder != "" {
		l.oneOf("import.date_order", im.DateOrder, "mdy", "dmy")
	}
	if strings.TrimSpace(im.Timezone) == "" {
		im.Timezone = timezone
		im.Location, _ = time.LoadLocation(timezone)
		if im.Location == nil || timezone == "Local" {
			im.Location = time.UTC // the agency timezone is reported already
		}
	} else {
		im.Timezone = strings.TrimSpace(im.Timezone)
		im.Location = l.location("import.timezone", im.Timezone)
	}

	h := &im.Harvest
	h.AccountID = strings.TrimSpace(h.AccountID)
	h.Token = l.secret("import.harvest.token", h.Token, &h.TokenFile)
	h.BaseURL = l.httpURL("import.harvest.base_url", orDefault(h.BaseURL, DefaultHarvestBaseURL))
	switch {
	case h.AccountID != "" && h.Token == "":
		l.invalid("import.harvest.token", "required with import.harvest.account_id ("+envName("import.harvest.token")+" or token_file)")
	case h.AccountID == "" && h.Token != "":
		l.invalid("import.harvest.account_id", "required with a Harvest token")
	}

	t := &im.Toggl
	t.Token = l.secret("import.toggl.token", t.Token, &t.TokenFile)
	t.BaseURL = l.httpURL("import.toggl.base_url", orDefault(t.BaseURL, DefaultTogglBaseURL))
	switch {
	case t.WorkspaceID < 0:
		l.invalid("import.toggl.workspace_id", "must be >= 0")
	case t.WorkspaceID != 0 && t.Token == "":
		l.invalid("import.toggl.token", "required with import.toggl.workspace_id ("+envName("import.toggl.token")+" or token_file)")
	case t.WorkspaceID == 0 && t.Token != "":
		l.invalid("import.toggl.workspace_id", "required with a Toggl token")
	}
	t.ReportsURL = l.httpURL("import.toggl.reports_url", orDefault(t.ReportsURL, DefaultTogglReportsURL))
	t.Since = strings.TrimSpace(t.Since)
	t.SinceDate = l.since("import.toggl.since", t.Since)

	c := &im.Clockify
	c.WorkspaceID = strings.TrimSpace(c.WorkspaceID)
	c.Token = l.secret("import.clockify.token", c.Token, &c.TokenFile)
	c.BaseURL = l.httpURL("import.clockify.base_url", orDefault(c.BaseURL, DefaultClockifyBaseURL))
	c.ReportsURL = l.httpURL("import.clockify.reports_url", orDefault(c.ReportsURL, DefaultClockifyReportsURL))
	switch {
	case c.WorkspaceID != "" && !clockifyID.MatchString(c.WorkspaceID):
		l.invalid("import.clockify.workspace_id", "must be the workspace's id, letters and digits only (24 hex digits, such as 5b715448b079875110792222)")
	case c.WorkspaceID != "" && c.Token == "":
		l.invalid("import.clockify.token", "required with import.clockify.workspace_id ("+envName("import.clockify.token")+" or token_file)")
	case c.WorkspaceID == "" && c.Token != "":
		l.invalid("import.clockify.workspace_id", "required with a Clockify API key")
	}

	if im.ReconcileMonths < 0 || im.ReconcileMonths > MaxReconcileMonths {
		l.invalid("import.reconcile_months", fmt.Sprintf("must be 0..%d, not %d", MaxReconcileMonths, im.ReconcileMonths))
	}
	// Harvest refuses a request whose User-Agent names no contact; every
	// tracker request names one (timesheet.UserAgent).
	if im.APIs() && agency.Email == "" && agency.Name == "" {
		l.invalid("agency.email", "required with a tracker API (import.harvest, import.toggl or import.clockify): "+
			"every request to it names the agency as its contact (agency.name will do if there is no email)")
	}
	return im
}

// clockifyID is a Clockify workspace id as it goes into a URL path.
var clockifyID = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)

// since reads import.toggl.since: YYYY-MM-DD, or YYYY-MM for its first day.
func (l *loader) since(path, s string) billing.Date {
	if s == "" {
		return 0
	}
	if d, err := billing.ParseDate(s); err == nil {
		if err := billing.CheckDate(d); err != nil {
			l.invalid(path, err.Error())
			return 0
		}
		return d
	}
	if p, err := billing.ParsePeriod(s); err == nil {
		if err := billing.CheckDate(p.FirstDay()); err != nil {
			l.invalid(path, err.Error())
			return 0
		}
		return p.FirstDay()
	}
	l.invalid(path, fmt.Sprintf("must be a date (YYYY-MM-DD) or a month (YYYY-MM), not %q", s))
	return 0
}

func (l *loader) http(h HTTP) HTTP {
	h.Listen = orDefault(h.Listen, DefaultListen)
	if _, port, err := net.SplitHostPort(h.Listen); err != nil || port == "" {
		l.invalid("http.listen", fmt.Sprintf("must be host:port, such as 127.0.0.1:8080, not %q", h.Listen))
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		// 0 asks the system for a free port (tests do).
		l.invalid("http.listen", fmt.Sprintf("port must be a number 0..65535, not %q", port))
	}
	h.BaseURL = l.httpURL("http.base_url", orDefault(h.BaseURL, DefaultBaseURL))

	h.AdminPasswordHash = l.secret("http.admin_password_hash", h.AdminPasswordHash, &h.AdminPasswordHashFile)
	if v := h.AdminPasswordHash.Reveal(); v != "" && !isBcrypt(v) {
		l.invalid("http.admin_password_hash", "must be a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters); the value is not shown")
	}

	var tokens []Secret
	for i, t := range h.APITokens {
		if s := strings.TrimSpace(t.Reveal()); s != "" && !strings.HasPrefix(s, "#") {
			if msg := tokenProblem(s); msg != "" {
				l.invalid(fmt.Sprintf("http.api_tokens[%d]", i), msg)
			}
			tokens = append(tokens, Secret(s))
		}
	}
	if name := strings.TrimSpace(h.APITokensFile); name != "" {
		h.APITokensFile = l.resolve(name)
		if len(tokens) > 0 {
			l.invalid("http.api_tokens_file", "api_tokens is also set (from "+envName("http.api_tokens")+"): use one or the other")
		} else if b, err := os.ReadFile(h.APITokensFile); err != nil {
			l.invalid("http.api_tokens_file", fmt.Sprintf("cannot read %s: %s", h.APITokensFile, reason(err)))
		} else {
			for i, line := range strings.Split(string(b), "\n") {
				if s := strings.TrimSpace(line); s != "" && !strings.HasPrefix(s, "#") {
					if msg := tokenProblem(s); msg != "" {
						l.invalid("http.api_tokens_file", fmt.Sprintf("%s:%d: %s", h.APITokensFile, i+1, msg))
					}
					tokens = append(tokens, Secret(s))
				}
			}
		}
	} else {
		h.APITokensFile = ""
	}
	h.APITokens = tokens
	return h
}

// MinAPITokenLength is the shortest API token taken: a bearer token is a
// password that scripts hold, and a short one can be guessed.
const MinAPITokenLength = 16

// tokenProblem says what is wrong with an API token — too short to resist
// guessing, or holding a character no Authorization header carries — or
// "". It never quotes the token.
func tokenProblem(s string) string {
	switch {
	case len(s) < MinAPITokenLength:
		return fmt.Sprintf("an API token must be at least %d characters (this one has %d; the value is not shown); "+
			"make one with: openssl rand -hex 24", MinAPITokenLength, len(s))
	case strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0:
		return "an API token must be printable ASCII without spaces (the value is not shown)"
	}
	return ""
}

func isBcrypt(s string) bool {
	return len(s) == 60 && (strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$"))
}
