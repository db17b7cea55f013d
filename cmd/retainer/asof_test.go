package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SPEC §13's clock: a message queued with --as-of is dated, and reads its
// figures, as of that day — never the machine's date.
func TestMessagesUseTheAsOfDate(t *testing.T) {
	e := newEnv(t) // its clock: 2026-11-25
	e.extra = []string{"RETAINER_CONTRACTS__ACME-001__END=2026-06"}
	for _, m := range []string{"03", "04", "05"} {
		e.must("log", "acme-001", "38", "--date", "2026-"+m+"-10")
	}
	e.must("log", "acme-001", "20", "--date", "2026-06-01")
	e.must("renewals", "--as-of", "2026-06-01", "--send")
	renewal := readOutbox(t, e, "renewal_acme-001_2026-06")
	for _, want := range []string{"Burn over the last 12 months (2025-06 to 2026-05), 5 with figures:", "2026-03: 38.00 of 40.00 h used", "2026-05:", "Date: Mon, 01 Jun 2026"} {
		if !strings.Contains(renewal, want) {
			t.Errorf("renewal lacks %q:\n%s", want, renewal)
		}
	}
	e.must("checkins", "--as-of", "2026-06-01", "--send")
	checkin := readOutbox(t, e, "checkin_acme-001_2026-06")
	if !strings.Contains(checkin, "(as of 2026-06-01)") || !strings.Contains(checkin, "30.00 of your 50.00 h remain") {
		t.Errorf("check-in:\n%s", checkin)
	}
}

// readOutbox reads the file transport's message whose name starts with prefix.
func readOutbox(t *testing.T, e *env, prefix string) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(e.dir, "outbox", prefix+".*"))
	if len(matches) != 1 {
		t.Fatalf("outbox files %s.*: %v", prefix, matches)
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "=\r\n", "")
}
