// Package storetest holds the fixtures that the tests of several packages
// share: a temporary SQLite store, the contracts and the worked example of
// SPEC §4, the small value helpers, and golden-file comparison.
//
// The store's own tests in package store cannot use it (it imports store);
// billing's and config's internal tests cannot either, for the same reason.
package storetest

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// H is n hours in seconds.
func H(n int64) int64 { return n * 3600 }

// Ptr returns a pointer to a copy of v.
func Ptr[T any](v T) *T { return &v }

// Date parses YYYY-MM-DD and panics on a malformed literal.
func Date(s string) billing.Date {
	d, err := billing.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Per parses YYYY-MM and panics on a malformed literal.
func Per(s string) billing.Period {
	p, err := billing.ParsePeriod(s)
	if err != nil {
		panic(err)
	}
	return p
}

// Open opens a fresh SQLite store in the test's temporary directory and
// closes it when the test ends.
func Open(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "r.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Acme is the seed contract of SPEC §4, starting 2026-01.
func Acme() *billing.Contract {
	return &billing.Contract{
		ID: "acme-001", Client: "Acme Corp", Unit: billing.UnitHours, PaymentTermsDays: 15,
		Terms:           billing.Terms{MonthlyHours: H(40), MonthlyFee: 500000, HourlyRate: 15000, OverageRate: 17500},
		OverageBillable: true, Rollover: true, MaxRollover: Ptr(H(10)), Start: Ptr(Per("2026-01")),
	}
}

// Globex is the second contract: 15-minute rounding and banked hours that
// expire after one period.
func Globex() *billing.Contract {
	return &billing.Contract{
		ID: "globex-002", Client: "Globex", Unit: billing.UnitHours, PaymentTermsDays: 30, RoundingMinutes: 15,
		Terms:           billing.Terms{MonthlyHours: H(20), MonthlyFee: 280000, OverageRate: 16500},
		OverageBillable: true, Rollover: true, MaxRollover: Ptr(H(5)), ExpiresAfter: 1, Start: Ptr(Per("2026-01")),
	}
}

// WorkedExample is the SPEC §4 worked example with a second, awkward
// contract: a client name holding markup, sessions, and a note. February is
// closed; March is open.
func WorkedExample(t testing.TB) (*store.DB, *store.Rules) {
	t.Helper()
	start, end := billing.NewPeriod(2026, 1), billing.NewPeriod(2026, 4)
	acme := &billing.Contract{
		ID: "acme-001", Client: "Acme Corp", Tier: "Growth Retainer", Unit: billing.UnitHours, PaymentTermsDays: 15,
		Terms:           billing.Terms{MonthlyHours: H(40), MonthlyFee: 500000, HourlyRate: 15000, OverageRate: 17500},
		OverageBillable: true, Rollover: true, MaxRollover: Ptr(H(10)), Start: &start, End: &end,
	}
	pipe := &billing.Contract{
		ID: "pipe-005", Client: "Pipe | <script>alert(1)</script>", Unit: billing.UnitSessions, PaymentTermsDays: 30,
		Terms: billing.Terms{MonthlyHours: 4 * billing.SessionSeconds, MonthlyFee: 120000, OverageRate: 25000},
		Start: &start,
	}
	rules := store.NewRules([]*billing.Contract{acme, pipe})
	db := Open(t)
	e := func(client, d string, secs int64) store.Entry {
		return store.Entry{Source: "log", Client: client, Date: Date(d), Seconds: secs, Billable: true}
	}
	now := time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC)
	entries := []store.Entry{
		e("Acme Corp", "2026-01-12", H(28)), e("Acme Corp", "2026-02-03", H(40)), e("Acme Corp", "2026-02-27", H(7)),
		e("Acme Corp", "2026-03-02", H(20)), e("Acme Corp", "2026-03-17", H(25)),
		e(pipe.Client, "2026-03-05", 600), e(pipe.Client, "2026-03-06", 600),
	}
	for i := 0; i < 4; i++ {
		entries = append(entries, e(pipe.Client, "2026-03-20", 3600))
	}
	if err := db.AddEntries(context.Background(), rules, entries, now); err != nil {
		t.Fatal(err)
	}
	if err := db.SetNote(context.Background(), "acme-001", billing.NewPeriod(2026, 3), "Launch month: extra QA <b>requested</b>.", now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClosePeriod(context.Background(), rules, billing.NewPeriod(2026, 2), "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	return db, rules
}

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// Golden compares got with testdata/<name>.golden, or rewrites the file when
// the test runs with -update.
func Golden(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}
