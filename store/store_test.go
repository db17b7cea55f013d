package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
	"retainer/store/storetest"
)

// Short names for the shared fixtures in storetest, which every test file of
// this package (outbox_test.go included) calls many times.
var (
	h      = storetest.H
	per    = storetest.Per
	acme   = storetest.Acme
	globex = storetest.Globex
)

// ptr stays local: a generic function cannot be bound to a variable.
func ptr[T any](v T) *T { return &v }

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func open(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func entry(client string, date string, seconds int64) store.Entry {
	return store.Entry{Source: "log", Client: client, Date: storetest.Date(date), Seconds: seconds, Billable: true}
}

func add(t *testing.T, db *store.DB, rules *store.Rules, es ...store.Entry) {
	t.Helper()
	if err := db.AddEntries(context.Background(), rules, es, now); err != nil {
		t.Fatal(err)
	}
}

func status(t *testing.T, db *store.DB, rules *store.Rules, p string) map[string]billing.Figures {
	t.Helper()
	v, err := db.Status(context.Background(), rules, per(p), billing.DateOf(2026, 11, 25))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]billing.Figures{}
	for _, r := range v.Rows {
		out[r.Contract.ID] = r.Figures
	}
	return out
}

func seedWorkedExample(t *testing.T, db *store.DB, rules *store.Rules) {
	add(t, db, rules,
		entry("Acme Corp", "2026-01-10", h(28)),
		entry("acme corp ", "2026-02-03", h(40)), entry("Acme Corp", "2026-02-27", h(7)),
		entry("ACME CORP", "2026-03-31", h(45)),
	)
}

func TestWorkedExampleOpenThenClosed(t *testing.T) {
	db := open(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	seedWorkedExample(t, db, rules)
	check := func(stage string) {
		f := status(t, db, rules, "2026-03")["acme-001"]
		if f.Banked != h(3) || f.Available != h(43) || f.Used != h(45) || f.Overage != h(2) || f.OverageFee != 35000 || f.TotalInvoiced != 535000 {
			t.Errorf("%s: March = %+v", stage, f)
		}
		if f := status(t, db, rules, "2026-02")["acme-001"]; f.Banked != h(10) || f.RolloverOut != h(3) {
			t.Errorf("%s: February = %+v", stage, f)
		}
	}
	check("open")
	res, err := db.ClosePeriod(context.Background(), rules, per("2026-03"), "USD", time.UTC, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Closed) != 3 || len(res.Statements) != 3 || res.Statements[2].InvoiceNumber != "acme-001-2026-03" {
		t.Fatalf("close result %+v", res)
	}
	check("closed")
	if due := res.Statements[0].DueOn.String(); due != "2026-12-10" {
		t.Errorf("due on %s, want 15 days after the close", due)
	}
	// April, open, starts from March's frozen bank (0) and the 40 contracted.
	if f := status(t, db, rules, "2026-04")["acme-001"]; f.Banked != 0 || f.Available != h(40) {
		t.Errorf("April = %+v", f)
	}
}

// dump renders every table the close writes, so two states compare as text.
func dump(t *testing.T, db *store.DB, rules *store.Rules) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"2026-01", "2026-02", "2026-03", "2026-04"} {
		v, err := db.Status(context.Background(), rules, per(p), billing.DateOf(2026, 11, 25))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s closed=%t\n", p, v.Closed)
		for _, r := range v.Rows {
			fmt.Fprintf(&b, "  %+v invoice=%+v\n", r.Figures, r.Invoice)
		}
	}
	sts, err := db.Statements(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "statements %+v\n", sts)
	return b.String()
}

func TestCloseTwiceAndFailedCloseLeaveOneCleanClose(t *testing.T) {
	ctx := context.Background()
	rules := store.NewRules([]*billing.Contract{acme(), globex()})

	clean := open(t)
	seedWorkedExample(t, clean, rules)
	add(t, clean, rules, entry("Globex", "2026-02-02", 100))
	if _, err := clean.ClosePeriod(ctx, rules, per("2026-03"), "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	want := dump(t, clean, rules)

	// Twice: the second close changes nothing.
	res, err := clean.ClosePeriod(ctx, rules, per("2026-03"), "USD", time.UTC, now.Add(time.Hour))
	if err != nil || len(res.Closed) != 0 || len(res.Statements) != 0 {
		t.Fatalf("second close: %+v, %v", res, err)
	}
	// Closing an earlier, closed period too.
	if _, err := clean.ClosePeriod(ctx, rules, per("2026-02"), "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	if got := dump(t, clean, rules); got != want {
		t.Errorf("closing twice changed the state:\n%s\nwant\n%s", got, want)
	}

	for _, point := range []string{"close:acme-001/2026-01", "close:acme-001/2026-03", "close:globex-002/2026-02", "close:commit"} {
		t.Run(point, func(t *testing.T) {
			db := open(t)
			seedWorkedExample(t, db, rules)
			add(t, db, rules, entry("Globex", "2026-02-02", 100))
			before := dump(t, db, rules)
			boom := errors.New("injected failure")
			db.SetFailHook(func(p string) error {
				if p == point {
					return boom
				}
				return nil
			})
			if _, err := db.ClosePeriod(ctx, rules, per("2026-03"), "USD", time.UTC, now); !errors.Is(err, boom) {
				t.Fatalf("close error = %v, want the injected failure", err)
			}
			if got := dump(t, db, rules); got != before {
				t.Fatalf("a failed close left a trace:\n%s\nwant\n%s", got, before)
			}
			db.SetFailHook(nil)
			if _, err := db.ClosePeriod(ctx, rules, per("2026-03"), "USD", time.UTC, now); err != nil {
				t.Fatal(err)
			}
			if got := dump(t, db, rules); got != want {
				t.Errorf("retried close differs from one clean close:\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestClosePeriodNotEnded(t *testing.T) {
	db := open(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	_, err := db.ClosePeriod(context.Background(), rules, per("2026-11"), "USD", time.UTC, now)
	if !errors.Is(err, store.ErrPeriodNotEnded) {
		t.Fatalf("err = %v", err)
	}
	// The period ends at midnight in the agency timezone, not UTC.
	ny, _ := time.LoadLocation("America/New_York")
	at := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC) // still October 31 in New York
	if _, err := db.ClosePeriod(context.Background(), rules, per("2026-10"), "USD", ny, at); !errors.Is(err, store.ErrPeriodNotEnded) {
		t.Fatalf("closing October before it ended in New York: %v", err)
	}
}

func TestLateAdjustment(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	add(t, db, rules, entry("Acme Corp", "2026-01-05", h(30)))
	if _, err := db.ClosePeriod(ctx, rules, per("2026-01"), "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	// An entry dated in closed January: January stays frozen, February counts it.
	add(t, db, rules, entry("Acme Corp", "2026-01-20", h(2)), entry("Acme Corp", "2026-02-02", h(1)))
	if f := status(t, db, rules, "2026-01")["acme-001"]; f.Used != h(30) {
		t.Errorf("closed January changed: used %d", f.Used)
	}
	feb := status(t, db, rules, "2026-02")["acme-001"]
	if feb.Used != h(3) || feb.LateAdjustment != h(2) || feb.Banked != h(10) {
		t.Errorf("February = %+v", feb)
	}
	if _, err := db.ClosePeriod(ctx, rules, per("2026-02"), "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	if mar := status(t, db, rules, "2026-03")["acme-001"]; mar.LateAdjustment != 0 || mar.Used != 0 {
		t.Errorf("the adjustment counted twice: March = %+v", mar)
	}
	if feb := status(t, db, rules, "2026-02")["acme-001"]; feb.Used != h(3) || feb.LateAdjustment != h(2) {
		t.Errorf("frozen February = %+v", feb)
	}
}

func TestSyncRematchesAndRecounts(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	a := acme()
	rules := store.NewRules([]*billing.Contract{a})
	if _, err := db.Sync(ctx, rules, now); err != nil {
		t.Fatal(err)
	}
	e := entry("Acme Inc.", "2026-03-03", 61*60)
	e.Source, e.Project = "harvest", "Website"
	add(t, db, rules, e, entry("Acme Corp", "2026-03-04", 60))
	v, err := db.Status(ctx, rules, per("2026-03"), billing.DateOf(2026, 3, 10))
	if err != nil {
		t.Fatal(err)
	}
	if v.UnmatchedSeconds != 61*60 || v.UnmatchedEntries != 1 || v.Rows[0].Figures.Used != 60 {
		t.Fatalf("before: unmatched %d/%d used %d", v.UnmatchedSeconds, v.UnmatchedEntries, v.Rows[0].Figures.Used)
	}
	// Nothing changed: Sync does nothing.
	if res, err := db.Sync(ctx, rules, now); err != nil || res.Rematched || len(res.Recounted) != 0 {
		t.Fatalf("idle sync = %+v, %v", res, err)
	}
	// The match list now covers the project: the entry counts.
	a2 := acme()
	a2.Match = []string{"website"}
	rules = store.NewRules([]*billing.Contract{a2})
	if res, err := db.Sync(ctx, rules, now); err != nil || !res.Rematched {
		t.Fatalf("sync = %+v, %v", res, err)
	}
	if f := status(t, db, rules, "2026-03")["acme-001"]; f.Used != 62*60 {
		t.Errorf("after match: used %d", f.Used)
	}
	// Rounding to 15 minutes: 61 min → 75, 1 min → 15.
	a3 := acme()
	a3.Match, a3.RoundingMinutes = []string{"website"}, 15
	rules = store.NewRules([]*billing.Contract{a3})
	if res, err := db.Sync(ctx, rules, now); err != nil || res.Rematched || len(res.Recounted) != 1 {
		t.Fatalf("sync = %+v, %v", res, err)
	}
	if f := status(t, db, rules, "2026-03")["acme-001"]; f.Used != 90*60 {
		t.Errorf("after rounding: used %d", f.Used)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := dsn(t)
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	rules := store.NewRules([]*billing.Contract{acme()})
	add(t, db, rules, entry("Acme Corp", "2026-03-04", h(5)))
	db.Close()
	db, err = store.Open(ctx, path) // migrations already applied: a no-op
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if f := status(t, db, rules, "2026-03")["acme-001"]; f.Used != h(5) {
		t.Errorf("used after reopen = %d", f.Used)
	}
}

// An entry dated before the first period ever closed is frozen out of that
// history too: it becomes a late adjustment, never lost.
func TestEntryBeforeFirstClosedPeriodIsAdjusted(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	c := acme()
	c.Start = nil
	rules := store.NewRules([]*billing.Contract{c})
	if _, err := db.ClosePeriod(ctx, rules, per("2026-03"), "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	add(t, db, rules, entry("Acme Corp", "2025-12-10", h(2)))
	if f := status(t, db, rules, "2026-04")["acme-001"]; f.LateAdjustment != h(2) || f.Used != h(2) {
		t.Errorf("April = %+v, want the December entry as a late adjustment", f)
	}
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://retainer:s3cret@db:5432/retainer": "postgres://retainer:xxxxx@db:5432/retainer",
		"postgres://db/retainer":                      "postgres://db/retainer",
		"/var/lib/retainer/retainer.db":               "/var/lib/retainer/retainer.db",
		"postgres://a:b@[::1":                         "postgres://…",
	} {
		if got := store.RedactDSN(in); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
