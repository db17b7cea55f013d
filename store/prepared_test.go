package store_test

import (
	"context"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// A statement email reads its contract's statement data (StatementFor):
// its reads run through statements the store prepared once, not compiled
// again for every email; what they read is the same each time.
func TestStatementForKeepsItsStatementsPrepared(t *testing.T) {
	ctx := context.Background()
	path := store.TestingDSN(t, false) // SQLite: it counts SQLite's compilations
	burndown := countReads(path, "closes", "burndown")
	notes := countReads(path, "notes", "text")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	feb := billing.NewPeriod(2026, 2)
	rules := store.NewRules([]*billing.Contract{{ID: "acme", Client: "Acme", Unit: billing.UnitHours, OverageBillable: true,
		Terms: billing.Terms{MonthlyHours: 40 * 3600, MonthlyFee: 500000, OverageRate: 17500}}})
	now := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	if err := db.AddEntries(ctx, rules, []store.Entry{{Source: "log", Date: billing.DateOf(2026, 2, 3), Seconds: 3600, Billable: true, Client: "Acme"}}, now); err != nil {
		t.Fatal(err)
	}
	if err := db.SetNote(ctx, "acme", feb, "a note", now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClosePeriod(ctx, rules, feb, "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	burndown.Store(0)
	notes.Store(0)
	const n = 30
	for i := range n {
		d, err := db.StatementFor(ctx, rules, "acme", feb, billing.DateOf(2026, 3, 1))
		if err != nil {
			t.Fatal(err)
		}
		if d.Note != "a note" || len(d.Weeks) == 0 || d.Figures.Used != 3600 {
			t.Fatalf("statement %d: note %q, %d weeks, used %d", i, d.Note, len(d.Weeks), d.Figures.Used)
		}
	}
	// Compiled once per connection the reads ran on (a few), not n times.
	if b, nn := burndown.Load(), notes.Load(); b > 3 || nn > 3 {
		t.Errorf("%d statement reads compiled the burndown read %d times and the notes read %d times", n, b, nn)
	}
}
