package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// env is one temporary installation: the example config and its database.
type env struct {
	t     *testing.T
	dir   string
	now   time.Time
	extra []string // more environment variables
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	body, err := os.ReadFile("../../examples/retainer.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The rules' tests invoice every month; the example's go_live is for
	// the demo (TestExampleDemo runs the example as it is).
	body = regexp.MustCompile(`(?m)^go_live: .*$`).ReplaceAll(body, nil)
	if err := os.WriteFile(filepath.Join(dir, "retainer.yaml"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, dir: dir, now: time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)}
}

// run runs one command line with --config pointing at the env's file.
// The commands keep their config parse cache in the env's directory: each
// test's commands run through it, a miss after every change to the file.
func (e *env) run(args ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	var out, errb bytes.Buffer
	environ := []string{"RETAINER_CONFIG=" + filepath.Join(e.dir, "retainer.yaml"), "XDG_CACHE_HOME=" + filepath.Join(e.dir, ".cache")}
	a := &invocation{stdout: &out, stderr: &errb, environ: append(environ, e.extra...),
		now: func() time.Time { return e.now }}
	code = a.run(context.Background(), args)
	return code, out.String(), errb.String()
}

func (e *env) must(args ...string) string {
	e.t.Helper()
	code, out, errs := e.run(args...)
	if code != 0 {
		e.t.Fatalf("retainer %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func TestCheckExample(t *testing.T) {
	e := newEnv(t)
	out := e.must("check")
	for _, want := range []string{"acme-001", "globex-002", "initech-003", "umbrella-004", "cap 10.00 h", "expires after 1 mo", "(not billed)"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckBadConfigExits2NamingPaths(t *testing.T) {
	e := newEnv(t)
	bad := filepath.Join(e.dir, "bad.yaml")
	os.WriteFile(bad, []byte("timezone: Mars/Olympus\ncontracts:\n  acme:\n    client: Acme\n    monthly_hours: 10\n    monthly_fee: 1\n    max_rollover: -3\n    budgt_hours: 4\n"), 0o644)
	code, _, stderr := e.run("check", "--config", bad)
	if code != exitUsage {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, want := range []string{"timezone", "contracts.acme.max_rollover: must be >= 0", "contracts.acme.budgt_hours: unknown key"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code, _, _ := e.run("status", "--config", filepath.Join(e.dir, "missing.yaml")); code != exitUsage {
		t.Errorf("missing config: exit %d, want 2", code)
	}
}

func TestLogStatusCloseStatement(t *testing.T) {
	e := newEnv(t)
	// The SPEC §4 worked example, logged in every accepted amount form, with
	// flags before and after the positional arguments.
	e.must("log", "acme-001", "28", "--date", "2026-01-12")
	e.must("log", "--date", "2026-02-03", "acme-001", "40:00")
	e.must("log", "acme-001", "7h", "--date", "2026-02-27", "--note", "launch", "--user", "ana")
	e.must("log", "acme-001", "45.0", "--date", "2026-03-31")

	code, out, _ := e.run("status", "--month", "2026-03", "--as-of", "2026-03-31", "--json")
	if code != 0 {
		t.Fatalf("status exit %d", code)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatal(err)
	}
	if got := keys(obj); !reflect.DeepEqual(got, []string{"contracts", "currency", "period", "summary"}) {
		t.Errorf("top keys %v", got)
	}
	var acme map[string]any
	for _, c := range obj["contracts"].([]any) {
		if m := c.(map[string]any); m["contract_id"] == "acme-001" {
			acme = m
		}
	}
	wantKeys := []string{"burn_rate_pct", "client", "closed", "contract_id", "currency", "hours_banked", "hours_contracted", "hours_remaining",
		"hours_used", "invoice_status", "notes", "overage_fee", "overage_hours", "overage_rate", "period", "projected_hours",
		"retainer_fee", "tax", "tier", "total_available", "total_invoiced", "unit", "utilization_pct"}
	if got := keys(acme); !reflect.DeepEqual(got, wantKeys) {
		t.Errorf("contract keys %v", got)
	}
	want := map[string]any{"hours_banked": 3.0, "total_available": 43.0, "hours_used": 45.0, "overage_hours": 2.0,
		"overage_fee": "350.00", "total_invoiced": "5350.00", "utilization_pct": 104.7, "burn_rate_pct": 112.5,
		"invoice_status": nil, "closed": false, "overage_rate": "175.00", "currency": "USD", "tax": "0.00"}
	for k, v := range want {
		if acme[k] != v {
			t.Errorf("%s = %#v, want %#v", k, acme[k], v)
		}
	}
	sum := obj["summary"].(map[string]any)
	if got := keys(sum); !reflect.DeepEqual(got, []string{"average_burn_rate_pct", "hours_contracted", "hours_used", "overage_fee", "overage_hours", "retainer_fee", "total_invoiced"}) {
		t.Errorf("summary keys %v", got)
	}

	// Close: idempotent, in order, frozen.
	code, out, _ = e.run("close", "--month", "2026-03", "--json")
	if code != 0 || !strings.Contains(out, `"2026-01"`) || !strings.Contains(out, `"acme-001-2026-03"`) {
		t.Fatalf("close: exit %d\n%s", code, out)
	}
	if out := e.must("close", "--month", "2026-03"); !strings.Contains(out, "already closed") {
		t.Errorf("second close: %s", out)
	}
	if code, _, stderr := e.run("close", "--month", "2026-11"); code != exitFailed || !strings.Contains(stderr, "has not ended") {
		t.Errorf("closing the running month: exit %d %s", code, stderr)
	}
	// A late entry in closed March is counted in April, March stays frozen.
	out = e.must("log", "acme-001", "1", "--date", "2026-03-15")
	if !strings.Contains(out, "late adjustment") {
		t.Errorf("log into a closed period: %s", out)
	}
	out = e.must("status", "acme-001", "--month", "2026-03", "--json")
	if !strings.Contains(out, `"hours_used":45.00`) || !strings.Contains(out, `"invoice_status":"pending"`) || !strings.Contains(out, `"closed":true`) {
		t.Errorf("frozen March:\n%s", out)
	}
	out = e.must("status", "--month", "2026-04", "--as-of", "2026-04-10")
	if !strings.Contains(out, "late adjustments") || !strings.Contains(out, "+1.00") {
		t.Errorf("April text status lacks the late adjustment:\n%s", out)
	}

	out = e.must("statement", "acme-001", "--month", "2026-03", "--format", "markdown")
	for _, want := range []string{"# Statement acme-001-2026-03", "2.00 h × USD 175.00/h", "**USD 5,350.00**"} {
		if !strings.Contains(out, want) {
			t.Errorf("statement lacks %q:\n%s", want, out)
		}
	}
	if code, _, _ := e.run("statement", "acme-001", "--month", "2026-03", "--format", "docx"); code != exitUsage {
		t.Errorf("bad format: exit %d", code)
	}

	out = e.must("invoice", "paid", "acme-001-2026-03", "--date", "2026-12-01")
	if !strings.Contains(out, "paid on 2026-12-01") {
		t.Errorf("invoice paid: %s", out)
	}
	if out := e.must("status", "acme-001", "--month", "2026-03", "--json"); !strings.Contains(out, `"invoice_status":"paid"`) {
		t.Errorf("paid status:\n%s", out)
	}
	if code, _, _ := e.run("invoice", "paid", "nope-2026-03"); code != exitFailed {
		t.Errorf("unknown invoice: exit %d", code)
	}
}

func TestLogBadInput(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{
		{"log", "acme-001", "lots"},
		{"log", "acme-001", "0"},
		{"log", "nobody", "1"},
		{"log", "acme-001", "1", "--date", "2026-13-01"},
		{"log", "acme-001"},
		{"status", "--month", "March"},
		{"close"},
		{"frobnicate"},
	} {
		if code, _, stderr := e.run(args...); code != exitUsage || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	// Nothing was written by the rejected commands.
	out := e.must("status", "acme-001", "--month", "2026-11", "--json")
	if !strings.Contains(out, `"hours_used":0.00`) {
		t.Errorf("a rejected log left an entry:\n%s", out)
	}
}

func TestHelp(t *testing.T) {
	e := newEnv(t)
	if code, out, _ := e.run("--help"); code != 0 || !strings.Contains(out, "status") {
		t.Errorf("help: %d %s", code, out)
	}
	if code, out, _ := e.run("log", "--help"); code != 0 || !strings.Contains(out, "CONTRACT_ID AMOUNT") {
		t.Errorf("log help: %d %s", code, out)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
