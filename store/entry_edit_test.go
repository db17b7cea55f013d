package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// Corrections (SPEC §13): entries edited or deleted by id, and an invoice's
// payment undone.

// addIDs stores entries and returns them with their ids.
func addIDs(t *testing.T, db *store.DB, rules *store.Rules, es ...store.Entry) []store.Entry {
	t.Helper()
	if err := db.AddEntries(context.Background(), rules, es, now); err != nil {
		t.Fatal(err)
	}
	return es
}

// setAmount is an edit that changes an entry's seconds.
func setAmount(seconds int64) func(*store.Entry) error {
	return func(e *store.Entry) error { e.Seconds = seconds; return nil }
}

func setDate(s string) func(*store.Entry) error {
	return func(e *store.Entry) error {
		d, err := billing.ParseDate(s)
		e.Date = d
		return err
	}
}

// view is what the usage aggregates feed: each period's figures and, for
// the open ones, the weekly burndown read from usage_daily.
func view(t *testing.T, db *store.DB, rules *store.Rules, periods ...string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, p := range periods {
		v, err := db.Status(ctx, rules, per(p), billing.DateOf(2026, 11, 25))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s closed=%t unmatched=%d/%d\n", p, v.Closed, v.UnmatchedSeconds, v.UnmatchedEntries)
		for _, r := range v.Rows {
			f := r.Figures
			fmt.Fprintf(&b, "  %s used=%d late=%d available=%d overage=%d\n", r.Contract.ID, f.Used, f.LateAdjustment, f.Available, f.Overage)
			d, err := db.StatementFor(ctx, rules, r.Contract.ID, per(p), billing.DateOf(2026, 11, 25))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range d.Weeks {
				fmt.Fprintf(&b, "    %s..%s %d\n", w.From, w.To, w.Hours)
			}
		}
	}
	return b.String()
}

// TestEditEntryOpenPeriodsMatchesFreshEntries: after edits and deletes in
// open periods, every aggregate is what the same entries stored afresh give.
func TestEditEntryOpenPeriodsMatchesFreshEntries(t *testing.T) {
	ctx := context.Background()
	rules := store.NewRules([]*billing.Contract{acme(), globex()})
	db := open(t)
	es := addIDs(t, db, rules,
		entry("Acme Corp", "2026-01-10", h(28)),
		entry("Acme Corp", "2026-02-03", h(40)),
		entry("Globex", "2026-02-05", 600), // 15-minute rounding: counts 900
		entry("Acme Corp", "2026-03-31", h(45)),
		entry("Nobody", "2026-03-02", h(1)), // unmatched
	)
	if _, _, err := db.EditEntry(ctx, rules, es[0].ID, setAmount(h(30)), now); err != nil {
		t.Fatal(err)
	}
	// Across periods: the hours move from February to March.
	before, after, err := db.EditEntry(ctx, rules, es[1].ID, setDate("2026-03-10"), now)
	if err != nil {
		t.Fatal(err)
	}
	if before.Date.String() != "2026-02-03" || after.Date.String() != "2026-03-10" || after.ContractID != "acme-001" {
		t.Errorf("before %+v after %+v", before, after)
	}
	// Re-counted with the contract's rounding.
	if _, after, err := db.EditEntry(ctx, rules, es[2].ID, setAmount(1000), now); err != nil || after.Counted != 1800 {
		t.Errorf("globex edit: %+v, %v", after, err)
	}
	if _, err := db.DeleteEntry(ctx, es[3].ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteEntry(ctx, es[4].ID, now); err != nil {
		t.Fatal(err)
	}
	// A note-only edit changes no figure.
	if _, _, err := db.EditEntry(ctx, rules, es[0].ID, func(e *store.Entry) error { e.Notes = "kickoff"; return nil }, now); err != nil {
		t.Fatal(err)
	}

	fresh := open(t)
	n := entry("Acme Corp", "2026-01-10", h(30))
	n.Notes = "kickoff"
	add(t, fresh, rules, n, entry("Acme Corp", "2026-03-10", h(40)), entry("Globex", "2026-02-05", 1000))
	periods := []string{"2026-01", "2026-02", "2026-03"}
	if got, want := view(t, db, rules, periods...), view(t, fresh, rules, periods...); got != want {
		t.Errorf("edited:\n%s\nfresh:\n%s", got, want)
	}
	if got, want := db.CountRows(t, "usage_daily"), fresh.CountRows(t, "usage_daily"); got != want {
		t.Errorf("usage_daily rows %d, fresh %d", got, want)
	}
	if got, want := db.CountRows(t, "usage"), fresh.CountRows(t, "usage"); got != want {
		t.Errorf("usage rows %d, fresh %d", got, want)
	}
	if n := db.CountRows(t, "adjustments"); n != 0 {
		t.Errorf("%d adjustments in open periods", n)
	}
}

// TestEditEntryClosedPeriodIsLateAdjustment: a closed period's figures never
// change; the difference is counted in the first open period.
func TestEditEntryClosedPeriodIsLateAdjustment(t *testing.T) {
	ctx := context.Background()
	rules := store.NewRules([]*billing.Contract{acme()})
	db := open(t)
	es := addIDs(t, db, rules,
		entry("Acme Corp", "2026-01-10", h(28)),
		entry("Acme Corp", "2026-02-03", h(40)), entry("Acme Corp", "2026-02-27", h(7)),
		entry("Acme Corp", "2026-03-31", h(45)),
	)
	if _, err := db.ClosePeriod(ctx, rules, per("2026-03"), "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	frozen := view(t, db, rules, "2026-01", "2026-02", "2026-03")

	// 45 → 40 in closed March: April counts -5.
	if _, _, err := db.EditEntry(ctx, rules, es[3].ID, setAmount(h(40)), now); err != nil {
		t.Fatal(err)
	}
	// February's 7 h moved into open April: -7 late, +7 used in April.
	if _, _, err := db.EditEntry(ctx, rules, es[2].ID, setDate("2026-04-02"), now); err != nil {
		t.Fatal(err)
	}
	// January's entry deleted: -28.
	if _, err := db.DeleteEntry(ctx, es[0].ID, now); err != nil {
		t.Fatal(err)
	}
	if got := view(t, db, rules, "2026-01", "2026-02", "2026-03"); got != frozen {
		t.Errorf("closed periods changed:\n%s\nwas\n%s", got, frozen)
	}
	apr := status(t, db, rules, "2026-04")["acme-001"]
	// Used never goes below 0: 7 used, 40 adjusted away.
	if apr.LateAdjustment != -h(5+7+28) || apr.Used != 0 {
		t.Errorf("April = %+v, want late adjustment -40 h and used 0", apr)
	}
	if n := db.CountRows(t, "adjustments"); n != 3 {
		t.Errorf("%d adjustment rows, want one per change", n)
	}
	// Back to 45: +5 more, as an import's correction would record it.
	if _, _, err := db.EditEntry(ctx, rules, es[3].ID, setAmount(h(45)), now); err != nil {
		t.Fatal(err)
	}
	if apr := status(t, db, rules, "2026-04")["acme-001"]; apr.LateAdjustment != -h(7+28) {
		t.Errorf("April after the second edit = %+v", apr)
	}
}

func TestEditEntryRefusals(t *testing.T) {
	ctx := context.Background()
	rules := store.NewRules([]*billing.Contract{acme()})
	db := open(t)
	logged := addIDs(t, db, rules, entry("Acme Corp", "2026-03-02", h(2)))[0]
	api := entry("Acme Corp", "2026-03-03", h(3))
	api.ExternalID = "tt-1"
	importRows(t, db, rules, "api", api)
	tracked := entry("Acme Corp", "2026-03-04", h(4))
	tracked.ExternalID = "h-1"
	importRows(t, db, rules, "harvest", tracked)
	ids := map[string]int64{}
	err := db.EachEntry(ctx, billing.DateOf(2026, 3, 1), billing.DateOf(2026, 3, 31), func(e store.Entry) error {
		ids[e.Source] = e.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	before := view(t, db, rules, "2026-03")

	if _, _, err := db.EditEntry(ctx, rules, ids["harvest"], setAmount(h(1)), now); !errors.Is(err, store.ErrImported) || !strings.Contains(err.Error(), "harvest") {
		t.Errorf("editing an imported entry: %v", err)
	}
	if _, err := db.DeleteEntry(ctx, ids["harvest"], now); !errors.Is(err, store.ErrImported) {
		t.Errorf("deleting an imported entry: %v", err)
	}
	if _, _, err := db.EditEntry(ctx, rules, 999999, setAmount(h(1)), now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := db.DeleteEntry(ctx, 999999, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	// The edit function refuses: nothing changes.
	no := errors.New("no")
	if _, _, err := db.EditEntry(ctx, rules, logged.ID, func(e *store.Entry) error { e.Seconds = 1; return no }, now); !errors.Is(err, no) {
		t.Errorf("refused edit: %v", err)
	}
	// A failure after the entry is written rolls everything back.
	boom := errors.New("injected failure")
	db.SetFailHook(func(p string) error {
		if p == "entry:edit" || p == "entry:delete" {
			return boom
		}
		return nil
	})
	if _, _, err := db.EditEntry(ctx, rules, ids["api"], setAmount(h(9)), now); !errors.Is(err, boom) {
		t.Errorf("edit with a failure: %v", err)
	}
	if _, err := db.DeleteEntry(ctx, logged.ID, now); !errors.Is(err, boom) {
		t.Errorf("delete with a failure: %v", err)
	}
	db.SetFailHook(nil)
	if got := view(t, db, rules, "2026-03"); got != before {
		t.Errorf("refused changes left a trace:\n%s\nwas\n%s", got, before)
	}
	// An API entry is ours to correct.
	if _, after, err := db.EditEntry(ctx, rules, ids["api"], setAmount(h(1)), now); err != nil || after.Counted != h(1) {
		t.Errorf("editing an API entry: %+v %v", after, err)
	}
	if f := status(t, db, rules, "2026-03")["acme-001"]; f.Used != h(2+1+4) {
		t.Errorf("March used %d", f.Used)
	}
}

// rawExec changes the database behind the store's back, for states another
// command makes (a statement under review, a sent email).
func rawExec(t *testing.T, dsn, q string) {
	t.Helper()
	driver, name := "sqlite", "file:"+dsn
	if onPostgres() {
		driver, name = "pgx", dsn
	}
	db, err := sql.Open(driver, name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

func TestMarkPaidAndUnpaid(t *testing.T) {
	ctx := context.Background()
	rules := store.NewRules([]*billing.Contract{acme()})
	dsn := dsn(t)
	db := openDSN(t, dsn)
	defer db.Close()
	seedWorkedExample(t, db, rules)
	if _, err := db.ClosePeriod(ctx, rules, per("2026-03"), "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	issued := billing.DateOf(2026, 11, 25) // the close's day

	// Before the issue date: refused, naming both dates.
	_, err := db.MarkPaid(ctx, "acme-001-2026-03", issued-1)
	if !errors.Is(err, store.ErrPaidBeforeIssue) || !strings.Contains(err.Error(), "2026-11-25") || !strings.Contains(err.Error(), "2026-11-24") {
		t.Errorf("paid before issue: %v", err)
	}
	// On the issue date: fine. Then undone: back to pending (never sent).
	if st, err := db.MarkPaid(ctx, "acme-001-2026-03", issued); err != nil || st.Status != "paid" {
		t.Fatalf("paid: %+v %v", st, err)
	}
	st, err := db.MarkUnpaid(ctx, "acme-001-2026-03")
	if err != nil || st.Status != "pending" || st.PaidOn != nil {
		t.Fatalf("unpaid: %+v %v", st, err)
	}
	if _, err := db.MarkUnpaid(ctx, "acme-001-2026-03"); !errors.Is(err, store.ErrNotPaid) || !strings.Contains(err.Error(), "pending") {
		t.Errorf("unpaid twice: %v", err)
	}
	if _, err := db.MarkUnpaid(ctx, "nope-2026-03"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown invoice: %v", err)
	}

	// A sent invoice goes back to sent, and is overdue again when it is due.
	rawExec(t, dsn, `UPDATE statements SET status = 'sent', sent_at = 1795000000 WHERE invoice_number = 'acme-001-2026-02'`)
	if _, err := db.MarkPaid(ctx, "acme-001-2026-02", issued+3); err != nil {
		t.Fatal(err)
	}
	if st, err := db.MarkUnpaid(ctx, "acme-001-2026-02"); err != nil || st.Status != "sent" || st.PaidOn != nil || st.StatusAt(st.DueOn+1) != "overdue" {
		t.Errorf("unpaid after sent: %+v %v", st, err)
	}
	sts, err := db.Statements(ctx, "acme-001")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.Status == "paid" || st.PaidOn != nil {
			t.Errorf("%s still paid: %+v", st.InvoiceNumber, st)
		}
	}

	// A statement under review is not paid.
	rawExec(t, dsn, `UPDATE statements SET status = 'draft' WHERE invoice_number = 'acme-001-2026-01'`)
	if _, err := db.MarkPaid(ctx, "acme-001-2026-01", issued); !errors.Is(err, store.ErrNotApproved) {
		t.Errorf("paying a draft: %v", err)
	}
}
