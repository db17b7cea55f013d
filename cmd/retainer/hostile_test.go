package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostileFlags (issue 15, items 6 and 11): a date outside 2000–2100 in
// any flag, or text no column stores, is bad usage (exit 2) naming the flag,
// and nothing is written. `log --date 9000-01-01` logged 2262-04-11.
func TestHostileFlags(t *testing.T) {
	e := newEnv(t)
	e.must("log", "acme-001", "45", "--date", "2026-03-31")
	e.must("close", "--month", "2026-03")
	id := e.logID("acme-001", "1", "--date", "2026-04-02")
	before := e.must("export", "entries", "--month", "2026-04", "--format", "json")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"log", "acme-001", "1", "--date", "9000-01-01"}, `--date: "9000-01-01" is outside the years 2000–2100`},
		{[]string{"log", "acme-001", "1", "--date", "0001-01-01"}, `--date: "0001-01-01" is outside the years 2000–2100`},
		{[]string{"log", "acme-001", "1", "--date", "1999-12-31"}, "outside the years"},
		{[]string{"status", "--month", "9999-12"}, `--month: "9999-12" is outside the years 2000–2100`},
		{[]string{"status", "--as-of", "2101-01-01"}, `--as-of: "2101-01-01" is outside`},
		{[]string{"close", "--month", "0001-01"}, `--month: "0001-01" is outside`},
		{[]string{"statement", "acme-001", "--month", "2262-04"}, "--month: "},
		{[]string{"alerts", "--as-of", "9000-01-01"}, "--as-of: "},
		{[]string{"invoice", "paid", "acme-001-2026-03", "--date", "9000-01-01"}, `--date: "9000-01-01" is outside`},
		{[]string{"entry", "edit", id, "--date", "9000-01-01"}, `--date: "9000-01-01" is outside`},
		{[]string{"log", "acme-001", "1", "--note", "a\x00b"}, "--note contains a NUL byte"},
		{[]string{"log", "acme-001", "1", "--note", "fine\u202eenif"}, "--note contains an invisible formatting character (U+202E)"},
		{[]string{"log", "acme-001", "1", "--user", "Ada\nLovelace"}, "--user contains a control character (U+000A)"},
		{[]string{"note", "acme-001", "--month", "2026-04", "a\x00"}, "TEXT contains a NUL byte"},
	} {
		code, _, stderr := e.run(tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and …%s…", tc.args, code, stderr, tc.want)
		}
	}
	// Nothing written: April's entries are as they were, no month after
	// March was closed, and no invoice was paid.
	if after := e.must("export", "entries", "--month", "2026-04", "--format", "json"); after != before {
		t.Errorf("April's entries changed:\n%s\nwere\n%s", after, before)
	}
	if st := e.must("status", "acme-001", "--month", "2026-04", "--json"); !strings.Contains(st, `"closed":false`) {
		t.Errorf("April closed:\n%s", st)
	}
	if st := e.must("status", "acme-001", "--month", "2026-03", "--json"); strings.Contains(st, `"paid"`) {
		t.Errorf("March paid:\n%s", st)
	}
	// A multi-line note is still a note.
	e.must("log", "acme-001", "1", "--date", "2026-04-03", "--note", "first line\nsecond\tline")
}

// TestHostileImports: a file is refused whole (exit 1, FILE:LINE, nothing
// imported) for a date outside 2000–2100, an entry over a month, a NUL byte
// or a column named twice; a file whose lines end in a bare CR is read
// (it imported 0 of 2 rows and exited 0).
func TestHostileImports(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, body string
		want       string // FILE + want in stderr
	}{
		{"year1.csv", "date,client,hours\n2026-03-02,Acme Corp,1\n0001-01-01,Acme Corp,1\n", `:3: date "0001-01-01" is outside the years 2000–2100`},
		{"year9000.csv", "date,client,hours\n9000-01-01,Acme Corp,1\n", `:2: date "9000-01-01" is outside`},
		{"long.csv", "date,client,hours\n2026-03-02,Acme Corp,745\n", `:2: duration "745": more than a month of hours (744 at most)`},
		{"nul.csv", "date,client,hours,notes\n2026-03-02,Acme Corp,1,\"a\x00\"\n", `:2: column "notes" contains a NUL byte`},
		{"twice.csv", "date,client,hours,hours\n2026-03-02,Acme Corp,1,40\n", `:1: columns 3 ("hours") and 4 ("hours") are the same column`},
	} {
		path := e.write(tc.name, tc.body)
		code, _, stderr := e.run("import", path)
		if code != exitFailed || !strings.Contains(stderr, path+tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %s%s", tc.name, code, stderr, path, tc.want)
		}
	}
	if st := e.must("status", "acme-001", "--month", "2026-03", "--json"); !strings.Contains(st, `"hours_used":0.00`) {
		t.Errorf("a refused file was imported:\n%s", st)
	}

	mac := e.write("mac.csv", "date,client,hours,notes\r2026-03-02,Acme Corp,1,\"a\rb\"\r2026-03-03,\"Acme\u202e Corp\",2,x\r")
	if r := importJSONOf(t, e.must("import", mac, "--json")); r.Imported != 2 || r.Unmatched != 0 {
		t.Errorf("CR-only file: %+v", r)
	}
	if st := e.must("status", "acme-001", "--month", "2026-03", "--json"); !strings.Contains(st, `"hours_used":3.00`) {
		t.Errorf("after the CR-only file:\n%s", st)
	}
}

// TestMinimalConfigSends (item 7): a config that `check` passes can send.
// Without SMTP and agency.email every email failed "has no From address",
// on the file transport too.
func TestMinimalConfigSends(t *testing.T) {
	e := newEnv(t)
	minimal := "contracts:\n  acme-001:\n    client: Acme Corp\n    contacts: [ap@acme.example]\n    monthly_hours: 40\n    monthly_fee: 5000\n"
	if err := os.WriteFile(filepath.Join(e.dir, "retainer.yaml"), []byte(minimal), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := e.must("check"); !strings.Contains(out, "warning: notify.email.from: not set") {
		t.Errorf("check:\n%s", out)
	}
	e.must("log", "acme-001", "45", "--date", "2026-10-15")
	e.must("close", "--month", "2026-10", "--send")
	out := e.must("outbox", "--json")
	if !strings.Contains(out, `"status": "sent"`) || strings.Contains(out, "From address") {
		t.Fatalf("outbox after close --send:\n%s", out)
	}
	files, _ := filepath.Glob(filepath.Join(e.dir, "outbox", "*.eml"))
	if len(files) != 1 {
		t.Fatalf("outbox files %q", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "From: \"retainer\" <retainer@localhost>") {
		t.Errorf("the statement's header:\n%.400s", b)
	}
}

// TestHostileConfigExits2: a config `check` refuses exits 2 naming the path.
func TestHostileConfigExits2(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ env, want string }{
		{"RETAINER_CURRENCY=ZZZ", "currency: "},
		{"RETAINER_SCHEDULE__CLOSE=0 6 30 2 *", "schedule.close: schedule \"0 6 30 2 *\" never fires"},
		{"RETAINER_SCHEDULE__DISPATCH=@every -5s", "schedule.dispatch: "},
		{"RETAINER_HTTP__LISTEN=127.0.0.1:99999", "http.listen: "},
		{"RETAINER_HTTP__API_TOKENS=abcde", "http.api_tokens[0]: an API token must be at least 16 characters"},
		{"RETAINER_CONTRACTS__ACME-001__PAYMENT_TERMS_DAYS=4294967296", "contracts.acme-001.payment_terms_days"},
		{"RETAINER_CONTRACTS__ACME-001__CLIENT=Acme\nBcc: x@evil.example", "contracts.acme-001.client: must be one line"},
		{"RETAINER_CONTRACTS__ACME-001__START=9000-01", `contracts.acme-001.start: "9000-01" is outside the years 2000–2100`},
		{"RETAINER_CONTRACTS__ACME-001__MONTHLY_FEE=99999999999999", "contracts.acme-001.monthly_fee: 99999999999999 is more than USD 10,000,000,000.00"},
	} {
		e.extra = []string{tc.env}
		code, _, stderr := e.run("check")
		if code != exitUsage || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "abcde") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and …%s…", tc.env, code, stderr, tc.want)
		}
	}
}
