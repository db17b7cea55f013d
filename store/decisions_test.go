package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// agencyRoute is where a decision goes in these tests: the agency's Slack
// and email, as jobs.AgencyMessages addresses them.
var agencyRoute = []store.OutboxMessage{
	{Channel: "slack", To: []string{"#retainers"}},
	{Channel: "email", To: []string{"owner@northwind.example"}},
}

func decision(kind store.DecisionKind, secs int64, msg string) store.Decision {
	return store.Decision{ContractID: "acme-001", Period: per("2026-11"), Kind: kind, Seconds: secs, Message: msg,
		On: billing.DateOf(2026, 11, 25)}
}

// TestRecordDecisionRules: what each kind of decision must hold; a refused
// one records and queues nothing.
func TestRecordDecisionRules(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		d    store.Decision
		ok   bool
	}{
		{"overage", decision(store.DecisionOverage, h(10), ""), true},
		{"change with a message", decision(store.DecisionChange, h(60), "We are launching in December.\nMore hours, please."), true},
		{"change without a message", decision(store.DecisionChange, h(20), ""), true},
		{"pause", decision(store.DecisionPause, 0, ""), true},
		{"pause with a message", decision(store.DecisionPause, 0, "Budget freeze until January."), true},
		{"overage of nothing", decision(store.DecisionOverage, 0, ""), false},
		{"negative overage", decision(store.DecisionOverage, -h(1), ""), false},
		{"change of nothing", decision(store.DecisionChange, 0, ""), false},
		{"change past the bound", decision(store.DecisionChange, billing.MaxQuantitySeconds+1, ""), false},
		{"change at the bound", decision(store.DecisionChange, billing.MaxQuantitySeconds, ""), true},
		{"pause with hours", decision(store.DecisionPause, h(1), ""), false},
		{"unknown kind", decision("cancel", h(1), ""), false},
		{"no contract", store.Decision{Period: per("2026-11"), Kind: store.DecisionPause}, false},
		{"message too long", decision(store.DecisionPause, 0, strings.Repeat("é", store.MaxDecisionMessage+1)), false},
		{"message at the limit", decision(store.DecisionPause, 0, strings.Repeat("é", store.MaxDecisionMessage)), true},
		{"message with a NUL", decision(store.DecisionPause, 0, "a\x00b"), false},
		{"message with an override", decision(store.DecisionPause, 0, "a\u202eb"), false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			got, err := db.RecordDecision(ctx, tt.d, "nonce-"+string(rune('a'+i)), agencyRoute, now)
			msgs, oerr := db.Outbox(ctx)
			if oerr != nil {
				t.Fatal(oerr)
			}
			if !tt.ok {
				if !errors.Is(err, store.ErrBadDecision) {
					t.Fatalf("err = %v, want ErrBadDecision", err)
				}
				if n := db.CountRows(t, "decisions"); n != 0 || len(msgs) != 0 {
					t.Fatalf("a refused decision left %d decisions and %d messages", n, len(msgs))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ID == 0 || !got.RecordedAt.Equal(now) || got.On != tt.d.On {
				t.Fatalf("recorded %+v", got)
			}
			key := "decision/acme-001/2026-11/" + got.Key().Part
			if len(msgs) != 2 || msgs[0].Key != key || msgs[1].Key != key || msgs[0].Status != store.OutboxPending {
				t.Fatalf("outbox %+v, want two messages keyed %s", msgs, key)
			}
			back, err := db.Decisions(ctx, "acme-001", per("2026-11"))
			if err != nil || len(back) != 1 || back[0] != got {
				t.Fatalf("read back %+v, %v; want %+v", back, err, got)
			}
		})
	}
}

// TestRecordDecisionReplay: a form sent twice records and queues once.
func TestRecordDecisionReplay(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	first, err := db.RecordDecision(ctx, decision(store.DecisionOverage, h(10), ""), "n1", agencyRoute, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []store.Decision{
		decision(store.DecisionOverage, h(10), ""), // the same form again
		decision(store.DecisionPause, 0, ""),       // another form, its nonce copied
	} {
		if _, err := db.RecordDecision(ctx, d, "n1", agencyRoute, now.Add(time.Minute)); !errors.Is(err, store.ErrReplayed) {
			t.Fatalf("replay: err = %v, want ErrReplayed", err)
		}
	}
	ds, err := db.Decisions(ctx, "acme-001", per("2026-11"))
	if err != nil || len(ds) != 1 || ds[0] != first {
		t.Fatalf("decisions %+v, %v", ds, err)
	}
	if msgs, _ := db.Outbox(ctx); len(msgs) != 2 {
		t.Fatalf("%d messages queued, want 2", len(msgs))
	}
}

// TestRecordDecisionAtomic: recording and queueing are one transaction: a
// failure at either point leaves neither the decision nor a message, and
// the nonce stays free for the retry.
func TestRecordDecisionAtomic(t *testing.T) {
	ctx := context.Background()
	for _, point := range []string{"decision:recorded", "decision:queued"} {
		t.Run(point, func(t *testing.T) {
			db := open(t)
			boom := errors.New("injected")
			db.SetFailHook(func(p string) error {
				if p == point {
					return boom
				}
				return nil
			})
			if _, err := db.RecordDecision(ctx, decision(store.DecisionPause, 0, "hold"), "n1", agencyRoute, now); !errors.Is(err, boom) {
				t.Fatalf("err = %v, want the injected failure", err)
			}
			if n := db.CountRows(t, "decisions"); n != 0 {
				t.Fatalf("%d decisions after a failed record", n)
			}
			if n := db.CountRows(t, "outbox"); n != 0 {
				t.Fatalf("%d messages after a failed record", n)
			}
			db.SetFailHook(nil)
			if _, err := db.RecordDecision(ctx, decision(store.DecisionPause, 0, "hold"), "n1", agencyRoute, now); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if db.CountRows(t, "decisions") != 1 || db.CountRows(t, "outbox") != 2 {
				t.Fatal("the retry did not record and queue")
			}
		})
	}
}

// TestRecordDecisionClosedPeriod: a closed month takes no decision.
func TestRecordDecisionClosedPeriod(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	if _, err := db.ClosePeriod(ctx, rules, per("2026-10"), "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"2026-09", "2026-10"} {
		d := decision(store.DecisionPause, 0, "")
		d.Period = per(p)
		if _, err := db.RecordDecision(ctx, d, "n-"+p, agencyRoute, now); !errors.Is(err, store.ErrPeriodClosed) {
			t.Errorf("%s: err = %v, want ErrPeriodClosed", p, err)
		}
	}
	if _, err := db.RecordDecision(ctx, decision(store.DecisionPause, 0, ""), "n-open", agencyRoute, now); err != nil {
		t.Fatalf("the open month: %v", err)
	}
}

// TestDecisionReads: by contract and period, for every contract of a
// period, by outbox key; each in the order taken, none of another period
// or contract.
func TestDecisionReads(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	rec := func(contract, period string, kind store.DecisionKind, secs int64, nonce string) store.Decision {
		t.Helper()
		d := decision(kind, secs, "")
		d.ContractID, d.Period = contract, per(period)
		got, err := db.RecordDecision(ctx, d, nonce, agencyRoute[:1], now)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	a1 := rec("acme-001", "2026-11", store.DecisionOverage, h(5), "1")
	g1 := rec("globex-002", "2026-11", store.DecisionPause, 0, "2")
	a2 := rec("acme-001", "2026-11", store.DecisionOverage, h(8), "3")
	rec("acme-001", "2026-12", store.DecisionChange, h(60), "4")

	ds, err := db.Decisions(ctx, "acme-001", per("2026-11"))
	if err != nil || len(ds) != 2 || ds[0] != a1 || ds[1] != a2 {
		t.Fatalf("acme's November: %+v, %v", ds, err)
	}
	all, err := db.PeriodDecisions(ctx, per("2026-11"))
	if err != nil || len(all) != 2 || len(all["acme-001"]) != 2 || all["acme-001"][1] != a2 || len(all["globex-002"]) != 1 || all["globex-002"][0] != g1 {
		t.Fatalf("November: %+v, %v", all, err)
	}
	if none, err := db.PeriodDecisions(ctx, per("2026-10")); err != nil || len(none) != 0 {
		t.Fatalf("October: %+v, %v", none, err)
	}
	got, err := db.DecisionByKey(ctx, a2.Key())
	if err != nil || *got != a2 {
		t.Fatalf("by key: %+v, %v", got, err)
	}
	wrong := a2.Key()
	wrong.Contract = "globex-002"
	if _, err := db.DecisionByKey(ctx, wrong); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another contract's key: %v", err)
	}
	// The statement of the month carries its decisions.
	rules := store.NewRules([]*billing.Contract{acme(), globex()})
	sd, err := db.StatementFor(ctx, rules, "acme-001", per("2026-11"), billing.DateOf(2026, 11, 25))
	if err != nil || len(sd.Decisions) != 2 || sd.Decisions[1] != a2 {
		t.Fatalf("statement data decisions: %+v, %v", sd, err)
	}
}

// TestOverageApproval: the last approval of the month stands; what is left
// of it never goes below zero.
func TestOverageApproval(t *testing.T) {
	over := func(secs int64) store.Decision { return decision(store.DecisionOverage, secs, "") }
	pause := decision(store.DecisionPause, 0, "")
	change := decision(store.DecisionChange, h(60), "")
	tests := []struct {
		name string
		ds   []store.Decision
		want int64
		ok   bool
	}{
		{"none", nil, 0, false},
		{"no approval among others", []store.Decision{pause, change}, 0, false},
		{"one", []store.Decision{over(h(10))}, h(10), true},
		{"the last replaces the first", []store.Decision{over(h(10)), pause, over(h(5))}, h(5), true},
		{"a raise", []store.Decision{over(h(5)), over(h(12))}, h(12), true},
	}
	for _, tt := range tests {
		got, ok := store.OverageApproval(tt.ds)
		if ok != tt.ok || got.Seconds != tt.want {
			t.Errorf("%s: %d, %v; want %d, %v", tt.name, got.Seconds, ok, tt.want, tt.ok)
		}
	}
	left := []struct{ approved, overage, want int64 }{
		{h(10), 0, h(10)},
		{h(10), h(2), h(8)},
		{h(10), h(10), 0},
		{h(10), h(11), 0},
		{h(10), -h(1), h(10)},
		{0, h(3), 0},
	}
	for _, tt := range left {
		if got := store.ApprovalLeft(tt.approved, tt.overage); got != tt.want {
			t.Errorf("ApprovalLeft(%d, %d) = %d, want %d", tt.approved, tt.overage, got, tt.want)
		}
	}
}
