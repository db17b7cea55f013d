package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

func row(client, date string, minutes int64, notes string) store.Entry {
	e := entry(client, date, minutes*60)
	e.Source, e.Notes = "", notes
	return e
}

// tally is an import's counts, without its list of unmatched clients, so
// that results compare with ==.
type tally struct{ Imported, Updated, Unchanged, Removed, Unmatched int }

func counts(r store.ImportResult) tally {
	return tally{r.Imported, r.Updated, r.Unchanged, r.Removed, r.Unmatched}
}

// importRows imports rows in one import and returns its counts.
func importRows(t *testing.T, db *store.DB, rules *store.Rules, source string, rows ...store.Entry) tally {
	t.Helper()
	return counts(importFull(t, db, rules, source, rows...))
}

func importFull(t *testing.T, db *store.DB, rules *store.Rules, source string, rows ...store.Entry) store.ImportResult {
	t.Helper()
	im, err := db.BeginImport(context.Background(), rules, source, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := im.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	res, err := im.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func usedIn(t *testing.T, db *store.DB, rules *store.Rules, p string) int64 {
	t.Helper()
	return status(t, db, rules, p)["acme-001"].Used
}

func TestImportIdempotentOverlapEditDelete(t *testing.T) {
	db := open(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	// Month to date on the 3rd: two rows, one of them twice (two people).
	day1 := []store.Entry{row("Acme Corp", "2026-03-02", 60, "design"), row("Acme Corp", "2026-03-02", 60, "design"), row("Acme Corp", "2026-03-03", 30, "review")}
	res := importRows(t, db, rules, "harvest", day1...)
	if res != (tally{Imported: 3}) {
		t.Fatalf("first import %+v", res)
	}
	if got := usedIn(t, db, rules, "2026-03"); got != 150*60 {
		t.Fatalf("used %d", got)
	}
	// The same file again changes nothing.
	if res := importRows(t, db, rules, "harvest", day1...); res != (tally{Unchanged: 3}) {
		t.Fatalf("re-import %+v", res)
	}
	// The next day's month-to-date export overlaps and adds one row.
	day2 := append(append([]store.Entry{}, day1...), row("Acme Corp", "2026-03-04", 45, "build"))
	if res := importRows(t, db, rules, "harvest", day2...); res != (tally{Imported: 1, Unchanged: 3}) {
		t.Fatalf("overlap %+v", res)
	}
	if got := usedIn(t, db, rules, "2026-03"); got != 195*60 {
		t.Fatalf("after overlap used %d", got)
	}
	// Upstream, the review became 40 minutes and one of the duplicates was deleted.
	day3 := []store.Entry{row("Acme Corp", "2026-03-02", 60, "design"), row("Acme Corp", "2026-03-03", 40, "review"), row("Acme Corp", "2026-03-04", 45, "build")}
	if res := importRows(t, db, rules, "harvest", day3...); res != (tally{Updated: 1, Removed: 1, Unchanged: 2}) {
		t.Fatalf("edit+delete %+v", res)
	}
	if got := usedIn(t, db, rules, "2026-03"); got != 145*60 {
		t.Fatalf("after edit used %d, want 145 min", got)
	}
	// Another source and another client are not touched by this reconciliation.
	importRows(t, db, rules, "toggl", row("Acme Corp", "2026-03-02", 10, "call"))
	importRows(t, db, rules, "harvest", row("Acme Corp", "2026-03-20", 5, "later"))
	if got := usedIn(t, db, rules, "2026-03"); got != 160*60 {
		t.Fatalf("used %d, want 160 min", got)
	}
}

func TestImportUpsertsByExternalID(t *testing.T) {
	db := open(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	a := row("Acme Corp", "2026-03-02", 60, "a")
	a.ExternalID = "101"
	b := row("Acme Corp", "2026-03-03", 30, "b")
	b.ExternalID = "102"
	if res := importRows(t, db, rules, "api-harvest", a, b); res != (tally{Imported: 2}) {
		t.Fatalf("%+v", res)
	}
	a2 := a
	a2.Seconds, a2.Date = 90*60, billing.DateOf(2026, 4, 1) // moved to April and lengthened
	if res := importRows(t, db, rules, "api-harvest", a2, b); res != (tally{Updated: 1, Unchanged: 1}) {
		t.Fatalf("%+v", res)
	}
	if mar, apr := usedIn(t, db, rules, "2026-03"), usedIn(t, db, rules, "2026-04"); mar != 30*60 || apr != 90*60 {
		t.Errorf("march %d april %d", mar, apr)
	}
}

func TestImportUnmatchedAndFailedCommit(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	res := importRows(t, db, rules, "clockify", row("Acme Corp", "2026-03-02", 60, ""), row("", "2026-03-02", 15, "no client"))
	if res.Unmatched != 1 || res.Imported != 2 {
		t.Fatalf("%+v", res)
	}
	boom := errors.New("injected")
	db.SetFailHook(func(p string) error {
		if p == "import:commit" {
			return boom
		}
		return nil
	})
	im, err := db.BeginImport(ctx, rules, "clockify", now)
	if err != nil {
		t.Fatal(err)
	}
	im.Add(row("Acme Corp", "2026-03-02", 600, "huge"))
	if _, err := im.Commit(); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	db.SetFailHook(nil)
	if got := usedIn(t, db, rules, "2026-03"); got != 60*60 {
		t.Errorf("a failed import left a trace: used %d", got)
	}
	v, _ := db.Status(ctx, rules, per("2026-03"), billing.DateOf(2026, 3, 5))
	if v.UnmatchedSeconds != 15*60 {
		t.Errorf("unmatched %d", v.UnmatchedSeconds)
	}
}

func TestImportIntoClosedPeriodIsLateAdjustment(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	importRows(t, db, rules, "harvest", row("Acme Corp", "2026-01-05", 600, "x"))
	if _, err := db.ClosePeriod(ctx, rules, per("2026-01"), "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	// The January entry was shortened upstream to 8 h.
	importRows(t, db, rules, "harvest", row("Acme Corp", "2026-01-05", 480, "x"))
	if f := status(t, db, rules, "2026-01")["acme-001"]; f.Used != h(10) {
		t.Errorf("closed January changed: %d", f.Used)
	}
	if f := status(t, db, rules, "2026-02")["acme-001"]; f.LateAdjustment != -h(2) {
		t.Errorf("February adjustment %d, want -2 h", f.LateAdjustment)
	}
}

func TestAPIImportDeletesAndCursor(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	withID := func(id, date string, minutes int64) store.Entry {
		e := row("Acme Corp", date, minutes, "")
		e.ExternalID = id
		return e
	}
	run := func(fn func(im *store.Import)) store.ImportResult {
		t.Helper()
		im, err := db.BeginImport(ctx, rules, "api-harvest", now)
		if err != nil {
			t.Fatal(err)
		}
		fn(im)
		res, err := im.Commit()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if c, _ := db.Cursor(ctx, "api-harvest"); c != "" {
		t.Fatalf("cursor before any sync = %q", c)
	}
	run(func(im *store.Import) {
		im.Add(withID("1", "2026-03-02", 60))
		im.Add(withID("2", "2026-03-03", 60))
		im.Add(withID("3", "2026-03-04", 60))
		im.SetCursor("2026-03-04T10:00:00Z")
	})
	if c, _ := db.Cursor(ctx, "api-harvest"); c != "2026-03-04T10:00:00Z" {
		t.Fatalf("cursor = %q", c)
	}
	// Toggl-style: a deletion reported upstream.
	if res := run(func(im *store.Import) { im.Delete("2") }); res.Removed != 1 {
		t.Fatalf("delete %+v", res)
	}
	// Harvest-style: the window 2026-03-01..03-31 now holds only entry 1.
	if res := run(func(im *store.Import) {
		im.Add(withID("1", "2026-03-02", 60))
		im.KeepOnly(billing.DateOf(2026, 3, 1), billing.DateOf(2026, 3, 31))
	}); res.Removed != 1 || res.Unchanged != 1 {
		t.Fatalf("window %+v", res)
	}
	if got := usedIn(t, db, rules, "2026-03"); got != 60*60 {
		t.Errorf("used %d, want 1 h", got)
	}
}

// An entry deleted upstream costs no look-up: the DELETE returns what each
// deleted entry counted. A tracker's deletions (Delete) are one DELETE
// whatever their number; a window clean-up (KeepOnly) is one more beside
// the one of the rows changed upstream. Had a deletion gone back to a
// look-up and a delete, lookups would count it.
func TestUpstreamDeletionsAreOneStatement(t *testing.T) {
	ctx := context.Background()
	rules := store.NewRules([]*billing.Contract{acme()})
	march := func(i int) billing.Date { return billing.DateOf(2026, 3, 1+i%28) }
	for _, size := range []int{1, 10, 600} {
		path := store.TestingDSN(t, false)
		stmts := countEntryStatements(path)
		db, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		var rows []store.Entry
		for i := range size + 2 {
			rows = append(rows, store.Entry{ExternalID: fmt.Sprintf("T-%d", i), Date: march(i), Seconds: 3600, Billable: true, Client: "Acme Corp"})
		}
		if res := importRows(t, db, rules, "toggl", rows...); res != (tally{Imported: size + 2}) {
			t.Fatalf("%d: first import %+v", size, res)
		}

		// The tracker reports size deletions, one of them twice, and one of
		// an entry never imported.
		stmts.deletes.Store(0)
		stmts.lookups.Store(0)
		im, err := db.BeginImport(ctx, rules, "toggl", now)
		if err != nil {
			t.Fatal(err)
		}
		for i := range size {
			im.Delete(fmt.Sprintf("T-%d", i))
		}
		im.Delete("T-0")
		im.Delete("never-imported")
		res, err := im.Commit()
		if err != nil || counts(res) != (tally{Removed: size}) {
			t.Fatalf("%d deletions: %+v, %v", size, res, err)
		}
		if d, l := stmts.deletes.Load(), stmts.lookups.Load(); d != 1 || l != 0 {
			t.Errorf("%d deletions: %d DELETE and %d look-up statements, want 1 and 0", size, d, l)
		}
		if got := usedIn(t, db, rules, "2026-03"); got != h(2) {
			t.Errorf("%d deletions: %d s used in March, want the 2 h left", size, got)
		}

		// A sync of March that brings one of the two left: the other goes.
		stmts.deletes.Store(0)
		stmts.lookups.Store(0)
		im, err = db.BeginImport(ctx, rules, "toggl", now)
		if err != nil {
			t.Fatal(err)
		}
		im.KeepOnly(billing.DateOf(2026, 3, 1), billing.DateOf(2026, 3, 31))
		if err := im.Add(rows[size]); err != nil {
			t.Fatal(err)
		}
		res, err = im.Commit()
		if err != nil || counts(res) != (tally{Unchanged: 1, Removed: 1}) {
			t.Fatalf("%d: window clean-up %+v, %v", size, res, err)
		}
		if d, l := stmts.deletes.Load(), stmts.lookups.Load(); d != 2 || l != 0 {
			t.Errorf("%d: window clean-up: %d DELETE and %d look-up statements, want 2 (rows changed upstream, the window) and 0", size, d, l)
		}
		if got := usedIn(t, db, rules, "2026-03"); got != h(1) {
			t.Errorf("%d: after the window clean-up %d s used in March, want 1 h", size, got)
		}
	}
}
