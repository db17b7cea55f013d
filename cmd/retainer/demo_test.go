package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestExampleDemo runs the example exactly as the README's run command does
// (go_live and all), and checks the README's promises about it — on any
// date, since the command fixes the clock with --now.
func TestExampleDemo(t *testing.T) {
	dir := t.TempDir()
	body, err := os.ReadFile("../../examples/retainer.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "retainer.yaml"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "inbox"), 0o755); err != nil {
		t.Fatal(err)
	}
	exports, _ := filepath.Glob("../../examples/inbox/*.csv")
	if len(exports) != 3 {
		t.Fatalf("example exports: %v", exports)
	}
	for _, f := range exports {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "inbox", filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{t: t, dir: dir, now: time.Date(2031, 2, 3, 12, 0, 0, 0, time.UTC)} // the machine's date does not matter
	out := e.must("run", "--once", "--now", "2026-11-25T10:30:00-05:00")
	if !strings.Contains(out, "close") || !strings.Contains(out, "digest") {
		t.Errorf("ran: %s", out)
	}
	files := func() []string {
		ents, _ := os.ReadDir(filepath.Join(dir, "outbox"))
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		return names
	}
	want := []string{"alert_acme-001_2026-11_90.eml", "alert_acme-001_2026-11_projected_overage.eml",
		"alert_initech-003_2026-11_90.eml", "alert_initech-003_2026-11_projected_overage.eml", "digest_2026-11.json"}
	if got := files(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("outbox after the demo start:\n got %v\nwant %v", got, want)
	}
	digest, _ := os.ReadFile(filepath.Join(dir, "outbox", "digest_2026-11.json"))
	for _, client := range []string{"Acme Corp", "Globex", "Initech", "Umbrella Health"} {
		if !strings.Contains(string(digest), client) {
			t.Errorf("the digest lacks %s", client)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "inbox", "processed", "harvest-2026-11.csv")); err != nil {
		t.Errorf("the Harvest export was not processed: %v", err)
	}
	status := e.must("status", "--month", "2026-10")
	if !strings.Contains(status, "2026-10 (closed)") {
		t.Errorf("October is not closed:\n%s", status)
	}
	// The 1st of December closes November: four statements, with hours.
	e.must("run", "--once", "--now", "2026-12-01T07:00:00-05:00")
	var statements []string
	for _, f := range files() {
		if strings.HasPrefix(f, "statement_") {
			statements = append(statements, f)
		}
	}
	if len(statements) != 4 || statements[0] != "statement_acme-001_2026-11.eml" {
		t.Errorf("statements after the close of November: %v", statements)
	}
}
