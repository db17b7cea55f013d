package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"retainer/billing"
	"retainer/store"
)

// Corrections (SPEC §13): entry edit and delete, the 744-hour rule,
// negative amounts, invoice paid and unpaid.

var loggedID = regexp.MustCompile(`\(entry (\d+)\)`)

// logID logs time and returns the new entry's id.
func (e *env) logID(args ...string) string {
	e.t.Helper()
	out := e.must(append([]string{"log"}, args...)...)
	m := loggedID.FindStringSubmatch(out)
	if m == nil {
		e.t.Fatalf("log %v printed no entry id:\n%s", args, out)
	}
	return m[1]
}

// used is a contract's hours_used and late adjustment in a month, as
// `status --json` prints them.
func (e *env) used(contract, month string) (used float64, late float64) {
	e.t.Helper()
	var v struct {
		Contracts []struct {
			ID   string  `json:"contract_id"`
			Used float64 `json:"hours_used"`
		} `json:"contracts"`
	}
	out := e.must("status", contract, "--month", month, "--json")
	if err := json.Unmarshal([]byte(out), &v); err != nil || len(v.Contracts) != 1 {
		e.t.Fatalf("status: %v\n%s", err, out)
	}
	text := e.must("status", contract, "--month", month)
	if m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(contract) + `: ([+-]\d+\.\d\d) h of late adjustments`).FindStringSubmatch(text); m != nil {
		late, _ = strconv.ParseFloat(m[1], 64)
	}
	return v.Contracts[0].Used, late
}

func TestEntryEditDelete(t *testing.T) {
	e := newEnv(t)
	first := e.logID("acme-001", "2", "--date", "2026-03-02", "--note", "kickoff")
	second := e.logID("acme-001", "3", "--date", "2026-03-05")

	out := e.must("entry", "edit", first, "--amount", "1:30")
	if !strings.Contains(out, "2.00 h on 2026-03-02") || !strings.Contains(out, "now: 1.50 h on 2026-03-02") {
		t.Errorf("edit output:\n%s", out)
	}
	if used, _ := e.used("acme-001", "2026-03"); used != 4.5 {
		t.Errorf("March used %v after the edit, want 4.5", used)
	}
	// Flags before the id; the hours move to April.
	e.must("entry", "--date", "2026-04-01", "edit", first, "--note", "")
	if used, _ := e.used("acme-001", "2026-03"); used != 3 {
		t.Errorf("March used %v after the move, want 3", used)
	}
	if used, _ := e.used("acme-001", "2026-04"); used != 1.5 {
		t.Errorf("April used %v after the move, want 1.5", used)
	}
	if out := e.must("entry", "edit", first, "--note", ""); !strings.Contains(out, "unchanged") {
		t.Errorf("a no-op edit: %s", out)
	}

	// March closed: deleting its entry is a late adjustment in April, and
	// March stays as it was.
	e.must("close", "--month", "2026-03")
	out = e.must("entry", "delete", second)
	if !strings.Contains(out, "entry "+second+" deleted: 3.00 h on 2026-03-05") || !strings.Contains(out, "late adjustment") {
		t.Errorf("delete output:\n%s", out)
	}
	if used, _ := e.used("acme-001", "2026-03"); used != 3 {
		t.Errorf("closed March used %v, want 3", used)
	}
	if used, late := e.used("acme-001", "2026-04"); used != 0 || late != -3 {
		t.Errorf("April used %v, late %v; want 0 (never below 0) and -3", used, late)
	}
	if code, _, stderr := e.run("entry", "delete", second); code != exitFailed || !strings.Contains(stderr, "not found") {
		t.Errorf("deleting twice: exit %d %s", code, stderr)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"entry", "edit", first, "--amount", "745"}, exitUsage, "more than a month of hours"},
		{[]string{"entry", "edit", first, "--amount", "-2"}, exitUsage, "negative amount"},
		{[]string{"entry", "edit", first, "--amount", "0"}, exitUsage, "must be more than zero"},
		{[]string{"entry", "edit", first, "--date", "2026-02-30"}, exitUsage, "--date"},
		{[]string{"entry", "edit", first}, exitUsage, "nothing to change"},
		{[]string{"entry", "delete", first, "--note", "x"}, exitUsage, "takes no"},
		{[]string{"entry", "edit", "abc", "--amount", "1"}, exitUsage, "not an entry id"},
		{[]string{"entry", "move", first}, exitUsage, "want: entry edit ID"},
		{[]string{"entry"}, exitUsage, "want: entry edit ID"},
		{[]string{"entry", "edit", "99999", "--amount", "1"}, exitFailed, "entry 99999: not found"},
	} {
		code, _, stderr := e.run(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if used, _ := e.used("acme-001", "2026-04"); used != 0 {
		t.Errorf("a refused edit changed April: %v", used)
	}
}

func TestEntryEditRefusesImported(t *testing.T) {
	e := newEnv(t)
	csv := e.write("h.csv", harvestHeader+harvestRow("2026-03-02", "Acme Corp", "from Harvest", "2.00"))
	e.must("import", csv)
	db, err := store.Open(context.Background(), filepath.Join(e.dir, "retainer.db"))
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	err = db.EachEntry(context.Background(), billing.DateOf(2026, 3, 1), billing.DateOf(2026, 3, 31), func(en store.Entry) error {
		id = en.ID
		return nil
	})
	db.Close()
	if err != nil || id == 0 {
		t.Fatalf("no imported entry: %v", err)
	}
	for _, args := range [][]string{
		{"entry", "edit", strconv.FormatInt(id, 10), "--amount", "1"},
		{"entry", "delete", strconv.FormatInt(id, 10)},
	} {
		code, _, stderr := e.run(args...)
		if code != exitFailed || !strings.Contains(stderr, "came from harvest") || !strings.Contains(stderr, "corrected in its tracker and imported again") {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
	if used, _ := e.used("acme-001", "2026-03"); used != 2 {
		t.Errorf("March used %v, want the imported 2", used)
	}
}

// sessionsEnv adds a sessions contract, coach-005, through the environment
// (the README's `env 'RETAINER_CONTRACTS__…'` form: its id has a dash).
func sessionsEnv(t *testing.T) *env {
	e := newEnv(t)
	e.extra = []string{
		"RETAINER_CONTRACTS__COACH-005__CLIENT=Coached Ltd",
		"RETAINER_CONTRACTS__COACH-005__UNIT=sessions",
		"RETAINER_CONTRACTS__COACH-005__MONTHLY_HOURS=4",
		"RETAINER_CONTRACTS__COACH-005__MONTHLY_FEE=800",
		"RETAINER_CONTRACTS__COACH-005__START=2026-01",
	}
	return e
}

func TestLogAmountLimitsAndNegatives(t *testing.T) {
	e := sessionsEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"log", "acme-001", "745"}, `amount "745": more than a month of hours (744 at most)`},
		{[]string{"log", "acme-001", "744:01"}, "more than a month of hours"},
		{[]string{"log", "acme-001", "745h", "--date", "2026-03-02"}, "more than a month of hours"},
		{[]string{"log", "acme-001", "-2"}, `amount "-2": negative amount`},
		{[]string{"log", "acme-001", "-1.5", "--date", "2026-03-02"}, "negative amount"},
		{[]string{"log", "--date", "2026-03-02", "acme-001", "-0:30"}, "negative amount"},
		{[]string{"log", "acme-001", "--note", "oops", "-2h"}, "negative amount"},
		{[]string{"log", "acme-001", "-.5"}, "negative amount"},
		{[]string{"log", "acme-001", "--bogus", "1"}, "flag provided but not defined: -bogus"},
		{[]string{"log", "coach-005", "745"}, "more than a month of sessions"},
		{[]string{"log", "coach-005", "-2"}, "negative amount"},
		{[]string{"log", "coach-005", "1.5"}, "whole number of sessions"},
	} {
		code, _, stderr := e.run(tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
		if strings.Contains(stderr, "flag provided") && !strings.Contains(tc.want, "flag provided") {
			t.Errorf("%v: a negative amount taken for a flag: %q", tc.args, stderr)
		}
	}
	// Exactly a month is fine; a note that starts with a dash stays a note.
	e.must("log", "acme-001", "744", "--date", "2026-03-02", "--note", "-2 typo fixed")
	if out := e.must("export", "entries", "--month", "2026-03", "--format", "json"); !strings.Contains(out, `"notes":"-2 typo fixed"`) {
		t.Errorf("the note:\n%s", out)
	}
	out := e.must("log", "coach-005", "3", "--date", "2026-03-03")
	if !strings.Contains(out, "logged 3 sessions to coach-005") || !regexp.MustCompile(`\(entries \d+–\d+\)`).MatchString(out) {
		t.Errorf("sessions log: %s", out)
	}
	// A session's amount is not edited: it is one session.
	id := regexp.MustCompile(`\(entries (\d+)–`).FindStringSubmatch(out)[1]
	if code, _, stderr := e.run("entry", "edit", id, "--amount", "2"); code != exitUsage || !strings.Contains(stderr, "one session") {
		t.Errorf("editing a session's amount: exit %d %q", code, stderr)
	}
	e.must("entry", "delete", id)
	if used, _ := e.used("coach-005", "2026-03"); used != 2 {
		t.Errorf("coach-005 used %v sessions, want 2", used)
	}
}

func TestInvoicePaidUnpaid(t *testing.T) {
	e := newEnv(t)
	e.must("log", "acme-001", "45", "--date", "2026-03-31")
	e.must("close", "--month", "2026-03") // issued today, 2026-11-25

	code, _, stderr := e.run("invoice", "paid", "acme-001-2026-03", "--date", "2026-11-24")
	if code != exitUsage || !strings.Contains(stderr, "2026-11-24") || !strings.Contains(stderr, "2026-11-25") {
		t.Errorf("paid before issue: exit %d %q", code, stderr)
	}
	invoiceStatus := func() string {
		out := e.must("status", "acme-001", "--month", "2026-03", "--json")
		m := regexp.MustCompile(`"invoice_status":("?[a-z]*"?)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no invoice_status:\n%s", out)
		}
		return strings.Trim(m[1], `"`)
	}
	if s := invoiceStatus(); s != "pending" {
		t.Errorf("after a refused paid: %s", s)
	}
	e.must("invoice", "paid", "acme-001-2026-03", "--date", "2026-11-25")
	if out := e.must("invoice", "unpaid", "acme-001-2026-03"); !strings.Contains(out, "pending again") {
		t.Errorf("unpaid: %s", out)
	}
	if s := invoiceStatus(); s != "pending" {
		t.Errorf("after unpaid: %s", s)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"invoice", "unpaid", "acme-001-2026-03"}, exitFailed, "is pending: not paid"},
		{[]string{"invoice", "unpaid", "nope-2026-03"}, exitFailed, "not found"},
		{[]string{"invoice", "unpaid", "acme-001-2026-03", "--date", "2026-11-25"}, exitUsage, "no --date"},
		{[]string{"invoice", "refund", "acme-001-2026-03"}, exitUsage, "invoice unpaid INVOICE_NUMBER"},
	} {
		code, _, stderr := e.run(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}

	// Sent, paid by mistake, unpaid: sent again.
	e.must("outbox", "send")
	if s := invoiceStatus(); s != "sent" {
		t.Fatalf("after outbox send: %s", s)
	}
	e.must("invoice", "paid", "acme-001-2026-03")
	if out := e.must("invoice", "unpaid", "acme-001-2026-03"); !strings.Contains(out, "sent again") {
		t.Errorf("unpaid after sent: %s", out)
	}
	if s := invoiceStatus(); s != "sent" {
		t.Errorf("after unpaid: %s", s)
	}
}

func TestInvoicePaidRefusesDraft(t *testing.T) {
	e := newEnv(t)
	e.extra = []string{"RETAINER_STATEMENTS__REVIEW=true"}
	e.must("log", "acme-001", "45", "--date", "2026-03-31")
	e.must("close", "--month", "2026-03")
	if out := e.must("status", "acme-001", "--month", "2026-03", "--json"); !strings.Contains(out, `"invoice_status":"draft"`) {
		t.Skipf("close does not create drafts under review yet:\n%s", out)
	}
	code, _, stderr := e.run("invoice", "paid", "acme-001-2026-03")
	if code != exitFailed || !strings.Contains(stderr, "not approved yet") {
		t.Errorf("paying a draft: exit %d %q", code, stderr)
	}
}
