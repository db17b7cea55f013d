package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const yearConfig = `timezone: America/New_York
currency: USD
agency:
  name: Northwind Studio
  email: owner@northwind.example
contracts:
  acme:
    client: Acme Corp
    contacts: [ap@acme.example]
    checkin: true
    monthly_hours: 40
    monthly_fee: 5000
    overage_rate: 175
    rollover_hours: true
    max_rollover: 10
    start: 2026-01
  initech:
    client: Initech
    contacts: [ap@initech.example]
    monthly_hours: 10
    monthly_fee: 1500
    overage_rate: 180
    start: 2026-01
    end: 2026-12
  quiet:
    client: Quiet Co
    contacts: [ap@quiet.example]
    monthly_hours: 20
    monthly_fee: 2000
    start: 2026-03
`

// TestRunOnceThroughAYear steps "run --once" through 14 months of fake
// time, a run a day (two on the 1st and the 15th), with hours logged every
// week: every month is closed once, every statement, alert, digest and
// check-in is queued and delivered once, nothing is skipped.
func TestRunOnceThroughAYear(t *testing.T) {
	e := newEnv(t)
	if err := os.WriteFile(filepath.Join(e.dir, "retainer.yaml"), []byte(yearConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	runAt := func(t0 time.Time) {
		e.t.Helper()
		e.now = t0
		e.must("run", "--once", "--now", t0.UTC().Format(time.RFC3339))
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, ny)
	end := time.Date(2027, 3, 1, 0, 0, 0, 0, ny)
	week := 0
	for day := start; day.Before(end); day = day.AddDate(0, 0, 1) {
		if day.Weekday() == time.Friday {
			week++
			e.now = day.Add(17 * time.Hour)
			d := day.Format("2006-01-02")
			// Acme burns 8-12 h a week, Initech 1.5-3.5 h; Quiet logs nothing.
			e.must("log", "acme", fmt.Sprint(8+week%5), "--date", d)
			if day.Year() == 2026 { // initech ends with 2026
				e.must("log", "initech", fmt.Sprintf("%d.5", 1+week%3), "--date", d)
			}
		}
		runAt(day.Add(10*time.Hour + 30*time.Minute))
		if day.Day() == 1 || day.Day() == 15 {
			runAt(day.Add(10*time.Hour + 45*time.Minute)) // again: nothing new
		}
	}

	var ob outboxJSON
	if err := json.Unmarshal([]byte(e.must("outbox", "--json")), &ob); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range ob.Messages {
		if m.Status != "sent" || m.Attempts != 1 {
			t.Errorf("%s/%s: %s after %d attempts", m.Key, m.Channel, m.Status, m.Attempts)
		}
		count[m.Key+" "+m.Channel]++
		kind := strings.SplitN(m.Key, "/", 2)[0]
		count[kind]++
	}
	for k, n := range count {
		if strings.Contains(k, " ") && n != 1 {
			t.Errorf("%s queued %d times", k, n)
		}
	}
	// Statements: acme and quiet Jan 2026–Jan 2027 (quiet from March),
	// initech Jan–Dec 2026: 13 + 11 + 12.
	if count["statement"] != 36 {
		t.Errorf("%d statements, want 36", count["statement"])
	}
	for _, k := range []string{"statement/acme/2026-01", "statement/acme/2027-01", "statement/initech/2026-12", "statement/quiet/2026-03"} {
		if count[k+" email"] != 1 {
			t.Errorf("no %s", k)
		}
	}
	if count["statement/initech/2027-01 email"] != 0 || count["statement/quiet/2026-02 email"] != 0 {
		t.Errorf("a statement outside a contract's term: initech 2027-01 %d, quiet 2026-02 %d", count["statement/initech/2027-01 email"], count["statement/quiet/2026-02 email"])
	}
	// One digest and one acme check-in per month, Jan 2026–Feb 2027.
	if count["digest"] != 14 || count["checkin"] != 14 {
		t.Errorf("%d digests, %d check-ins, want 14 each", count["digest"], count["checkin"])
	}
	// Initech (10 h) logs 6-14 h a month: it crosses 90% in most months, each once.
	if count["alert"] < 10 {
		t.Errorf("%d alerts", count["alert"])
	}
	if count["renewal/initech/2026-12 email"] != 1 {
		t.Errorf("renewal reminder: %v", count["renewal/initech/2026-12 email"])
	}
	// Every month closed once: the close job closed one period each 1st.
	var js jobsJSON
	if err := json.Unmarshal([]byte(e.must("jobs", "--json")), &js); err != nil {
		t.Fatal(err)
	}
	for _, j := range js.Jobs {
		if j.LastFailure != nil {
			t.Errorf("%s failed: %+v", j.Job, j.LastFailure)
		}
		// payments, without Stripe configured, has nothing to do: like a
		// dispatch, it records only runs that did something.
		if j.LastRun == nil && j.Job != "payments" {
			t.Errorf("%s never ran", j.Job)
		}
	}
	st := e.must("status", "--month", "2027-01", "--json")
	if !strings.Contains(st, `"closed":true`) {
		t.Errorf("January 2027 not closed:\n%s", st)
	}
	if st := e.must("status", "--month", "2027-02", "--json", "--as-of", "2027-02-28"); strings.Contains(st, `"closed":true`) {
		t.Errorf("February 2027 closed before its end:\n%s", st)
	}
}
