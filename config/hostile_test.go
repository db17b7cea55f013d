package config

import (
	"errors"
	"fmt"
	"net/mail"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// contract is a one-contract config with extra keys under the contract and
// at the top level.
func contract(keys, top string) string {
	return top + `
contracts:
  acme-001:
    client: Acme Corp
    monthly_hours: 40
    monthly_fee: 5000
` + keys
}

// TestHostileValues: every value that would later fail, wrap, run away or
// mislead is refused by Load at its path, with a message that says why —
// and nothing else in the file is reported.
func TestHostileValues(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		path string // the only path reported
		msg  string // part of its message
	}{
		// Dates outside 2000–2100 (issue 15, item 6).
		{"start in year 9000", contract("    start: 9000-01\n", ""), nil, "contracts.acme-001.start", "outside the years 2000–2100"},
		{"end in year 1", contract("    end: 0001-12\n", ""), nil, "contracts.acme-001.end", "outside the years 2000–2100"},
		{"terms from 1999", contract("    terms:\n      - from: 1999-12\n        monthly_fee: 1\n", ""), nil, "contracts.acme-001.terms[0].from", "outside the years"},
		{"go_live 2101", contract("", "go_live: 2101-01\n"), nil, "go_live", "outside the years"},
		// Amounts and quantities that could overflow (item 10).
		{"monthly_fee too large", strings.Replace(minimal, "5000", "10000000000.01", 1), nil, "contracts.acme-001.monthly_fee", "more than USD 10,000,000,000.00"},
		{"overage_rate too large", contract("    overage_rate: 99999999999\n", ""), nil, "contracts.acme-001.overage_rate", "more than"},
		{"hourly_rate too large", contract("    hourly_rate: 99999999999\n", ""), nil, "contracts.acme-001.hourly_rate", "more than"},
		{"terms fee too large", contract("    terms:\n      - from: 2026-07\n        monthly_fee: 99999999999\n", ""), nil, "contracts.acme-001.terms[0].monthly_fee", "more than"},
		{"yen fee too large", contract("", "currency: JPY\n") + "    hourly_rate: 1000000000001\n", nil, "contracts.acme-001.hourly_rate", "more than JPY 1,000,000,000,000"},
		{"monthly_hours too large", strings.Replace(minimal, "monthly_hours: 40", "monthly_hours: 100001", 1), nil, "contracts.acme-001.monthly_hours", "more than 100000 hours"},
		{"opening_bank too large", contract("    opening_bank: 200000\n    rollover_hours: true\n", ""), nil, "contracts.acme-001.opening_bank", "more than 100000"},
		{"payment terms wrap", contract("    payment_terms_days: 2147483647\n", ""), nil, "contracts.acme-001.payment_terms_days", "must be 0..3650"},
		{"payment terms negative", contract("    payment_terms_days: -1\n", ""), nil, "contracts.acme-001.payment_terms_days", "must be 0..3650"},
		{"expiry too long", contract("    rollover_expires_after: 100000\n", ""), nil, "contracts.acme-001.rollover_expires_after", "must be 0..1200"},
		// Text that reaches Subjects and pages (item 11).
		{"newline in client", strings.Replace(minimal, "client: Acme Corp", `client: "Acme\nBcc: x@evil.example"`, 1), nil, "contracts.acme-001.client", "control character (U+000A)"},
		{"RLO in client", strings.Replace(minimal, "client: Acme Corp", "client: \"Acme \u202eproC\"", 1), nil, "contracts.acme-001.client", "U+202E"},
		{"NUL in client", strings.Replace(minimal, "client: Acme Corp", `client: "Acme\0"`, 1), nil, "contracts.acme-001.client", "NUL"},
		{"newline in client from env", minimal, []string{"RETAINER_CONTRACTS__ACME-001__CLIENT=Acme\nCorp"}, "contracts.acme-001.client", "U+000A"},
		{"tab in tier", contract("    tier: \"Gold\\tRetainer\"\n", ""), nil, "contracts.acme-001.tier", "U+0009"},
		{"bidi isolate in match", contract("    match: [\"ac\u2067me\"]\n", ""), nil, "contracts.acme-001.match[0]", "U+2067"},
		{"newline in contact", contract("    contacts: [\"ap@acme.example\\nBcc: x@evil.example\"]\n", ""), nil, "contracts.acme-001.contacts[0]", "U+000A"},
		{"newline in agency name", contract("", "agency:\n  name: \"Northwind\\r\\nStudio\"\n"), nil, "agency.name", "U+000D"},
		{"RLO in from", contract("", "notify:\n  email:\n    from: \"\u202eNorthwind <b@northwind.example>\"\n"), nil, "notify.email.from", "U+202E"},
		{"newline in slack channel", contract("", "notify:\n  slack:\n    channel: \"#a\\nb\"\n"), nil, "notify.slack.channel", "U+000A"},
		// Currency, schedules, ports, tokens (item 11).
		{"currency ZZZ", contract("", "currency: ZZZ\n"), nil, "currency", "not an active ISO 4217"},
		{"currency XXX", contract("", "currency: XXX\n"), nil, "currency", "not an active ISO 4217"},
		{"close on 30 February", contract("", "schedule:\n  close: \"0 6 30 2 *\"\n"), nil, "schedule.close", "never fires"},
		{"alerts on 31 April", contract("", "schedule:\n  alerts: \"0 9 31 4 *\"\n"), nil, "schedule.alerts", "never fires"},
		{"every -5s", contract("", "schedule:\n  dispatch: \"@every -5s\"\n"), nil, "schedule.dispatch", "at least 1s"},
		{"every 0s", contract("", "schedule:\n  import: \"@every 0s\"\n"), nil, "schedule.import", "at least 1s"},
		{"every 500ms", contract("", "schedule:\n  dispatch: \"@every 500ms\"\n"), nil, "schedule.dispatch", "at least 1s"},
		{"every -5s in a zone", contract("", "schedule:\n  dispatch: \"CRON_TZ=UTC @every -5s\"\n"), nil, "schedule.dispatch", "at least 1s"},
		{"listen port 99999", contract("", "http:\n  listen: 127.0.0.1:99999\n"), nil, "http.listen", "0..65535"},
		{"listen port name", contract("", "http:\n  listen: 127.0.0.1:http\n"), nil, "http.listen", "0..65535"},
		{"smtp port 99999", contract("", "notify:\n  email:\n    port: 99999\n"), nil, "notify.email.port", "1..65535"},
		{"short API token", minimal, []string{"RETAINER_HTTP__API_TOKENS=abcde"}, "http.api_tokens[0]", "at least 16 characters"},
		{"API token with a space", minimal, []string{"RETAINER_HTTP__API_TOKENS=abcdefgh ijklmnopqrst"}, "http.api_tokens[0]", "printable ASCII"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.yaml, tc.env...)
			got := paths(t, err)
			if len(got) != 1 || got[0] != tc.path || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("errors at %q:\n%v\nwant only %s: …%s…", got, err, tc.path, tc.msg)
			}
			if strings.Contains(err.Error(), "abcde") {
				t.Errorf("the message quotes the token: %v", err)
			}
		})
	}
}

// TestHostileValuesAtTheirLimits: the bounds themselves are accepted.
func TestHostileValuesAtTheirLimits(t *testing.T) {
	cfg := mustLoad(t, `currency: usd
go_live: 2000-01
http:
  listen: 127.0.0.1:0
schedule:
  close: "0 6 29 2 *"
  dispatch: "@every 1s"
contracts:
  acme-001:
    client: Müller & Söhne
    monthly_fee: 10000000000
    start: 2000-01
    end: 2100-12
    monthly_hours: 100000
    hourly_rate: 10000000000
    overage_rate: 10000000000.00
    payment_terms_days: 3650
    rollover_hours: true
    rollover_expires_after: 1200
    tier: "Gold — Ｇ 株式会社"
`, "RETAINER_HTTP__API_TOKENS=0123456789abcdef")
	k := cfg.Contracts[0]
	if k.Terms.MonthlyHours != hours(100000) || k.Terms.OverageRate != 1_000_000_000_000 || k.PaymentTermsDays != 3650 || k.Client != "Müller & Söhne" {
		t.Errorf("contract %+v", k)
	}
}

// TestFromDefault (item 7): a config that validates can send. Without SMTP
// and without agency.email the file transport gets a placeholder From (and
// check says so); with agency.email, the agency; with SMTP, a From is
// required.
func TestFromDefault(t *testing.T) {
	tests := []struct {
		name, top string
		want      string // the From, or "" when Load must fail at notify.email.from
		warn      bool
	}{
		{"minimal", "", `"retainer" <retainer@localhost>`, true},
		{"agency name only", "agency:\n  name: Northwind Studio\n", `"Northwind Studio" <retainer@localhost>`, true},
		{"agency email", "agency:\n  name: Northwind Studio\n  email: owner@northwind.example\n", `"Northwind Studio" <owner@northwind.example>`, false},
		{"explicit", "notify:\n  email:\n    from: billing@northwind.example\n", "billing@northwind.example", false},
		{"smtp without from", "notify:\n  email:\n    host: smtp.example.com\n", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := load(t, contract("", tc.top))
			if tc.want == "" {
				if got := paths(t, err); len(got) != 1 || got[0] != "notify.email.from" {
					t.Errorf("errors at %q, want notify.email.from", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			from := cfg.Notify.Email.From
			if from != tc.want {
				t.Errorf("From = %q, want %q", from, tc.want)
			}
			if _, err := mail.ParseAddress(from); err != nil {
				t.Errorf("From %q does not parse: %v", from, err)
			}
			warned := strings.Contains(strings.Join(cfg.Warnings(), "\n"), "notify.email.from: not set")
			if warned != tc.warn {
				t.Errorf("warnings %q", cfg.Warnings())
			}
		})
	}
}

// TestAliasBomb: a few hundred bytes of nested aliases expand to ten
// million values here (the file took 2.3 GB); they are refused at
// once, while ordinary aliases still work.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 6; i++ { // 10^7 values
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := load(t, b.String()+minimal)
	if err == nil || !strings.Contains(err.Error(), "alias") || !errors.Is(err, ErrInvalid) {
		t.Fatalf("alias bomb: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusing took %s", d)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 200<<20 {
		t.Errorf("refusing allocated %d MiB", grew>>20)
	}

	cfg := mustLoad(t, `
contracts:
  acme-001:
    client: Acme Corp
    monthly_hours: 40
    monthly_fee: 5000
    contacts: &ap [ap@acme.example, ops@acme.example]
  globex-002:
    client: Globex
    monthly_hours: 10
    monthly_fee: 1000
    contacts: *ap
`)
	if got := cfg.Contract("globex-002").Contacts; len(got) != 2 {
		t.Errorf("aliased contacts %q", got)
	}
}

// TestAPITokenFileNamesLine: a short token in api_tokens_file is refused
// with the file and line, never the token.
func TestAPITokenFileNamesLine(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "tokens", "# tokens\n0123456789abcdef0123\nshort\n")
	_, err := Load(write(t, dir, "retainer.yaml", minimal+"http:\n  api_tokens_file: tokens\n"), nil)
	if got := paths(t, err); len(got) != 1 || got[0] != "http.api_tokens_file" {
		t.Fatalf("errors at %q", got)
	}
	if want := filepath.Join(dir, "tokens") + ":3: an API token must be at least 16"; !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "short") {
		t.Errorf("%v\nwant …%s…, without the token", err, want)
	}
}
