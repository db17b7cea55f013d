package main

import (
	"strings"
	"testing"
)

// check warns when the first close would email statements for past
// months, naming the go_live that avoids it; not once go_live is set, and
// not once months have been closed.
func TestCheckWarnsWithoutGoLive(t *testing.T) {
	e := newEnv(t) // 2026-11-25; the example's contracts start in January
	const warn = "warning: go_live: not set: the first close will email statements for 10 past months (2026-01 to 2026-10); set go_live: 2026-11"
	if out := e.must("check"); !strings.Contains(out, warn) {
		t.Errorf("check lacks the go_live warning:\n%s", out)
	}
	e.extra = []string{"RETAINER_GO_LIVE=2026-11"}
	if out := e.must("check"); strings.Contains(out, "go_live: not set") {
		t.Errorf("check warns with go_live set:\n%s", out)
	}
	e.extra = nil
	e.must("close", "--month", "2026-09")
	if out := e.must("check"); strings.Contains(out, "go_live: not set") {
		t.Errorf("check warns after the history was closed:\n%s", out)
	}
}

// Under review, close makes drafts and queues nothing; `statement approve`
// issues them and queues each email once; bad approvals change nothing.
func TestStatementApprove(t *testing.T) {
	e := newEnv(t)
	e.extra = []string{"RETAINER_STATEMENTS__REVIEW=true", "RETAINER_GO_LIVE=2026-10"}
	e.must("log", "acme-001", "12", "--date", "2026-10-06")
	out := e.must("close", "--month", "2026-10")
	if !strings.Contains(out, "4 drafts under review") || strings.Contains(out, "emails are queued") {
		t.Errorf("close under review:\n%s", out)
	}
	if out := e.must("outbox"); strings.Contains(out, "statement/") {
		t.Errorf("a draft was queued:\n%s", out)
	}
	if out := e.must("statement", "acme-001", "--month", "2026-10"); !strings.Contains(out, "DRAFT — under review, not sent") {
		t.Errorf("the draft statement:\n%s", out)
	}
	if out := e.must("statement", "acme-001", "--month", "2026-09"); !strings.Contains(out, "before go-live — not invoiced") {
		t.Errorf("September's statement:\n%s", out)
	}
	// The note of a draft may change; a typo in the invoice number approves nothing.
	e.must("note", "acme-001", "--month", "2026-10", "Kick-off month")
	for _, args := range [][]string{
		{"statement", "approve"},
		{"statement", "approve", "acme-001-2026-10", "--month", "2026-10"},
		{"statement", "approve", "acme-001-2026-10", "acme-01-2026-10"},
	} {
		if code, _, _ := e.run(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if out := e.must("outbox"); strings.Contains(out, "statement/") {
		t.Errorf("a refused approval queued:\n%s", out)
	}
	out = e.must("statement", "approve", "acme-001-2026-10")
	if !strings.Contains(out, "acme-001-2026-10 approved: issued 2026-11-25, due 2026-12-10") {
		t.Errorf("approve:\n%s", out)
	}
	if out := e.must("statement", "approve", "acme-001-2026-10"); !strings.Contains(out, "is pending already: nothing changed") {
		t.Errorf("approve twice:\n%s", out)
	}
	if code, _, errs := e.run("note", "acme-001", "--month", "2026-10", "changed"); code != exitFailed || !strings.Contains(errs, "frozen") {
		t.Errorf("note on an approved statement: exit %d %s", code, errs)
	}
	out = e.must("statement", "approve", "--month", "2026-10")
	if strings.Count(out, "approved: issued") != 3 {
		t.Errorf("approve the month:\n%s", out)
	}
	if got := strings.Count(e.must("outbox", "--json"), `"key": "statement/`); got != 4 {
		t.Errorf("%d statement emails queued, want 4", got)
	}
	if !strings.Contains(e.must("status", "--month", "2026-10", "--json"), `"invoice_status":"pending"`) {
		t.Error("October's statements are not pending")
	}
}

// An hour logged before its contract's start is never invoiced: it counts
// nowhere, log says so, status lists it with the unmatched hours.
func TestLogBeforeStartCountsNowhere(t *testing.T) {
	e := newEnv(t)
	out := e.must("log", "acme-001", "3", "--date", "2025-12-15")
	if !strings.Contains(out, "warning: acme-001 starts 2026-01: hours dated before it count nowhere") {
		t.Errorf("log:\n%s", out)
	}
	status := e.must("status", "--month", "2025-12")
	if !strings.Contains(status, "Acme Corp: 3.00 h in 1 entry — before the contract starts (acme-001 starts 2026-01): not billed") {
		t.Errorf("status of December 2025:\n%s", status)
	}
	res := e.must("close", "--month", "2026-01", "--json")
	if strings.Contains(res, "acme-001-2025-12") {
		t.Errorf("an invoice for the hours before the start:\n%s", res)
	}
}

// The ids `entry edit|delete` take are the ones `export entries` shows.
func TestExportShowsEntryIDs(t *testing.T) {
	e := newEnv(t)
	e.must("log", "acme-001", "99", "--date", "2026-11-03") // a typo: meant 9.9
	lines := strings.Split(strings.TrimSpace(e.must("export", "entries", "--month", "2026-11", "--format", "csv")), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "id,date,") {
		t.Fatalf("export:\n%s", strings.Join(lines, "\n"))
	}
	id, _, _ := strings.Cut(lines[1], ",")
	e.must("entry", "edit", id, "--amount", "9.9")
	if out := e.must("export", "entries", "--month", "2026-11", "--format", "csv"); !strings.Contains(out, ",9.90,35640,") {
		t.Errorf("after the edit:\n%s", out)
	}
}
