package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// SPEC §13: periods before go_live are closed (figures, rollover) with no
// statement and nothing queued; from go_live on, statements are pending
// with their email queued, or drafts under review with nothing queued.
func TestCloseGoLiveAndReview(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		goLive      string
		review      bool
		statements  []string // invoice numbers made
		status      string   // their status
		queued      int      // statement emails queued
		marchBanked int64    // hours banked into March: rollover runs before go-live too
	}{
		{"no go-live", "", false, []string{"acme-001-2026-01", "acme-001-2026-02", "acme-001-2026-03"}, store.StatusPending, 3, 3},
		{"go-live March", "2026-03", false, []string{"acme-001-2026-03"}, store.StatusPending, 1, 3},
		{"go-live April: nothing invoiced", "2026-04", false, nil, "", 0, 3},
		{"review", "2026-02", true, []string{"acme-001-2026-02", "acme-001-2026-03"}, store.StatusDraft, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			c := acme()
			c.Contacts = []string{"ap@acme.example"}
			rules := store.NewRules([]*billing.Contract{c})
			add(t, db, rules, entry("Acme Corp", "2026-01-12", h(28)), entry("Acme Corp", "2026-02-03", h(47)), entry("Acme Corp", "2026-03-31", h(45)))
			opts := store.CloseOptions{Currency: "USD", Location: time.UTC, Review: tt.review}
			if tt.goLive != "" {
				opts.GoLive = ptr(per(tt.goLive))
			}
			res, err := db.CloseWith(ctx, rules, per("2026-03"), opts, at)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Closed) != 3 {
				t.Errorf("closed %v", res.Closed)
			}
			var got []string
			for _, st := range res.Statements {
				got = append(got, st.InvoiceNumber)
				if st.Status != tt.status {
					t.Errorf("%s is %s, want %s", st.InvoiceNumber, st.Status, tt.status)
				}
			}
			if len(got) != len(tt.statements) || (len(got) > 0 && got[0] != tt.statements[0]) {
				t.Errorf("statements %v, want %v", got, tt.statements)
			}
			msgs, err := db.Outbox(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != tt.queued {
				t.Errorf("%d messages queued, want %d", len(msgs), tt.queued)
			}
			v, err := db.Status(ctx, rules, per("2026-03"), billing.DateOf(2026, 4, 1))
			if err != nil || len(v.Rows) != 1 {
				t.Fatalf("status: %v", err)
			}
			if f := v.Rows[0].Figures; f.Banked != h(tt.marchBanked) || f.Overage != h(2) || f.OverageFee != 35000 {
				t.Errorf("March figures: banked %d, overage %d, fee %d", f.Banked/3600, f.Overage/3600, f.OverageFee)
			}
			if (v.Rows[0].Invoice == nil) != (len(tt.statements) == 0) {
				t.Errorf("March invoice %+v", v.Rows[0].Invoice)
			}
		})
	}
}

// Approving a draft issues it on the day of approval, due payment_terms_days
// later, and queues its email in the same transaction; twice changes
// nothing; an unknown invoice approves nothing.
func TestApproveStatements(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	a, g := acme(), globex()
	a.Contacts, g.Contacts = []string{"ap@acme.example"}, []string{"ap@globex.example"}
	rules := store.NewRules([]*billing.Contract{a, g})
	add(t, db, rules, entry("Acme Corp", "2026-03-03", h(10)), entry("Globex", "2026-03-03", h(5)))
	if _, err := db.CloseWith(ctx, rules, per("2026-03"), store.CloseOptions{Currency: "USD", Location: time.UTC, Review: true, GoLive: ptr(per("2026-03"))},
		time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	// A draft's note may change.
	if err := db.SetNote(ctx, "acme-001", per("2026-03"), "draft note", now); err != nil {
		t.Fatalf("note on a draft: %v", err)
	}
	if _, err := db.ApproveStatements(ctx, rules, []string{"acme-001-2026-03", "nobody-2026-03"}, 0, billing.DateOf(2026, 4, 3), now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown invoice: %v", err)
	}
	if msgs, _ := db.Outbox(ctx); len(msgs) != 0 {
		t.Fatalf("a failed approval queued %d messages", len(msgs))
	}
	approve := func(invoices ...string) []store.Approval {
		res, err := db.ApproveStatements(ctx, rules, invoices, per("2026-03"), billing.DateOf(2026, 4, 3), now)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := approve("acme-001-2026-03")
	if len(res) != 1 || !res[0].Approved || res[0].Statement.IssuedOn != billing.DateOf(2026, 4, 3) || res[0].Statement.DueOn != billing.DateOf(2026, 4, 18) {
		t.Fatalf("approve: %+v", res)
	}
	if res := approve("acme-001-2026-03"); len(res) != 1 || res[0].Approved {
		t.Errorf("approve twice: %+v", res)
	}
	if err := db.SetNote(ctx, "acme-001", per("2026-03"), "changed after approval", now); !errors.Is(err, store.ErrNoteFrozen) {
		t.Errorf("note on an approved statement: %v", err)
	}
	// The month: the rest of its drafts.
	if res := approve(); len(res) != 1 || res[0].Statement.InvoiceNumber != "globex-002-2026-03" || res[0].Statement.DueOn != billing.DateOf(2026, 5, 3) {
		t.Errorf("approve the month: %+v", res)
	}
	msgs, err := db.Outbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Errorf("%d emails queued, want 2", len(msgs))
	}
}

// The opening bank is a lot earned the month before the contract's first
// period (start, or go_live when later), consumed oldest first, capped and
// expired like any other.
func TestOpeningBank(t *testing.T) {
	tests := []struct {
		name      string
		start     string
		takeOver  string
		expires   int
		cap       int64 // 0 = none
		march     int64 // hours used in March
		period    string
		banked    int64
		overage   int64
		remaining int64
	}{
		{"banked into the first period", "2026-03", "2026-03", 0, 0, 45, "2026-03", 8, 0, 3},
		{"consumed first, the rest carried", "2026-03", "2026-03", 0, 0, 5, "2026-04", 43, 0, 83},
		{"expires after a month", "2026-03", "2026-03", 1, 0, 0, "2026-04", 40, 0, 80},
		{"capped at the close", "2026-03", "2026-03", 0, 10, 0, "2026-04", 10, 0, 50},
		{"go-live later than start", "2026-01", "2026-03", 0, 0, 50, "2026-03", 40 + 40 + 8, 0, 78},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			c := acme()
			c.Start, c.TakeOver, c.OpeningBank, c.ExpiresAfter, c.MaxRollover = ptr(per(tt.start)), ptr(per(tt.takeOver)), h(8), tt.expires, nil
			if tt.cap > 0 {
				c.MaxRollover = ptr(h(tt.cap))
			}
			rules := store.NewRules([]*billing.Contract{c})
			if tt.march > 0 {
				add(t, db, rules, entry("Acme Corp", "2026-03-10", h(tt.march)))
			}
			f := status(t, db, rules, tt.period)["acme-001"]
			if f.Banked != h(tt.banked) || f.Overage != h(tt.overage) || f.Remaining != h(tt.remaining) {
				t.Errorf("%s: banked %.2f, overage %.2f, remaining %.2f; want %d, %d, %d", tt.period,
					float64(f.Banked)/3600, float64(f.Overage)/3600, float64(f.Remaining)/3600, tt.banked, tt.overage, tt.remaining)
			}
			// Closing gives the same figures as status computed.
			if _, err := db.ClosePeriod(context.Background(), rules, per(tt.period), "USD", time.UTC, time.Date(2026, 5, 1, 7, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			if g := status(t, db, rules, tt.period)["acme-001"]; g.Banked != f.Banked || g.Remaining != f.Remaining {
				t.Errorf("after close: banked %d remaining %d", g.Banked, g.Remaining)
			}
		})
	}
}

// An entry dated before its contract's start counts nowhere: it is
// reported with the unmatched hours, naming the contract. After end, hours
// still count.
func TestEntriesOutsideContractDates(t *testing.T) {
	db := open(t)
	c := acme()
	c.Start, c.End, c.Rollover = ptr(per("2026-03")), ptr(per("2026-04")), false // no bank: after end, all overage
	rules := store.NewRules([]*billing.Contract{c})
	add(t, db, rules, entry("Acme Corp", "2026-02-27", h(3)), entry(" acme  corp", "2026-02-28", h(2)), entry("Nobody", "2026-02-27", h(1)),
		entry("Acme Corp", "2026-05-04", h(4)))
	v, err := db.Status(context.Background(), rules, per("2026-02"), billing.DateOf(2026, 11, 25))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Rows) != 0 {
		t.Errorf("February lists %d contracts; the hours before start count nowhere", len(v.Rows))
	}
	if v.UnmatchedSeconds != h(6) || len(v.Unmatched) != 2 {
		t.Fatalf("unmatched %d s in %+v", v.UnmatchedSeconds, v.Unmatched)
	}
	if g := v.Unmatched[0]; g.Seconds != h(5) || g.Entries != 2 || g.BeforeStart == nil || g.BeforeStart.ID != "acme-001" {
		t.Errorf("before start: %+v", g)
	}
	if g := v.Unmatched[1]; g.Client != "Nobody" || g.BeforeStart != nil {
		t.Errorf("unmatched: %+v", g)
	}
	if f := status(t, db, rules, "2026-05")["acme-001"]; f.Used != h(4) || f.Overage != h(4) || f.OverageFee != 70000 {
		t.Errorf("after end: %+v", f)
	}
	// Closing never invoices the hours before start.
	res, err := db.ClosePeriod(context.Background(), rules, per("2026-03"), "USD", time.UTC, time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range res.Statements {
		if st.Period < per("2026-03") {
			t.Errorf("statement %s before the contract's start", st.InvoiceNumber)
		}
	}
}
