package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

func TestCloseQueuesOneStatementEmailPerContact(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	a := acme()
	a.Contacts = []string{"ap@acme.example", "cfo@acme.example"}
	g := globex() // no contacts: statement, no email
	rules := store.NewRules([]*billing.Contract{a, g})
	add(t, db, rules, entry("Acme Corp", "2026-01-10", h(5)))

	boom := errors.New("injected")
	db.SetFailHook(func(p string) error {
		if p == "close:commit" {
			return boom
		}
		return nil
	})
	if _, err := db.ClosePeriod(ctx, rules, per("2026-02"), "USD", time.UTC, now); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if msgs, _ := db.Outbox(ctx); len(msgs) != 0 {
		t.Fatalf("a failed close queued %d messages", len(msgs))
	}
	db.SetFailHook(nil)
	for i := 0; i < 2; i++ {
		if _, err := db.ClosePeriod(ctx, rules, per("2026-02"), "USD", time.UTC, now); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := db.Outbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[1].Key != "statement/acme-001/2026-01" || msgs[0].Key != "statement/acme-001/2026-02" ||
		len(msgs[0].To) != 2 || msgs[0].Status != store.OutboxPending {
		t.Fatalf("outbox %+v", msgs)
	}
}

func TestOutboxLifecycle(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	q := []store.OutboxMessage{{Key: "alert/acme-001/2026-03/90", Channel: "slack", To: []string{"#retainers"}},
		{Key: "alert/acme-001/2026-03/90", Channel: "email", To: []string{"owner@x.example"}}}
	if err := db.Enqueue(ctx, q, now); err != nil {
		t.Fatal(err)
	}
	if err := db.Enqueue(ctx, q, now); err != nil { // the same keys again: nothing new
		t.Fatal(err)
	}
	claimed, err := db.ClaimDue(ctx, now, false, 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	if again, _ := db.ClaimDue(ctx, now, true, 10); len(again) != 0 {
		t.Fatalf("a claimed message was claimed twice")
	}
	// One goes out; the other fails for now and is due again later.
	if err := db.Delivered(ctx, claimed[0].ID, store.OutboxSent, "file", "", now, now); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Minute)
	if err := db.Delivered(ctx, claimed[1].ID, store.OutboxPending, "smtp", "421 try later", later, now); err != nil {
		t.Fatal(err)
	}
	if due, _ := db.ClaimDue(ctx, now, false, 10); len(due) != 0 {
		t.Fatalf("claimed before its backoff: %+v", due)
	}
	due, _ := db.ClaimDue(ctx, later, false, 10)
	if len(due) != 1 || due[0].Attempts != 2 {
		t.Fatalf("due %+v", due)
	}
	if err := db.Delivered(ctx, due[0].ID, store.OutboxFailed, "smtp", "550 no such user", later, later); err != nil {
		t.Fatal(err)
	}
	if err := db.Retry(ctx, due[0].ID, later); err != nil {
		t.Fatal(err)
	}
	// A claim left behind by a process that is gone: not handed over, it
	// is pending again, as if never claimed (see claims_test.go).
	c, _ := db.ClaimDue(ctx, later, false, 10)
	if len(c) != 1 || c[0].Attempts != 3 {
		t.Fatalf("retried message not due: %+v", c)
	}
	if rec, err := db.RecoverClaims(ctx, store.ThisProcess(), later.Add(2*store.DefaultLease)); err != nil || rec != (store.Recovered{Pending: 1}) {
		t.Fatalf("recovered %+v, %v", rec, err)
	}
	msgs, _ := db.Outbox(ctx)
	if msgs[0].Status != store.OutboxPending || msgs[0].Attempts != 2 || msgs[1].Status != store.OutboxSent || msgs[1].SentAt == nil {
		t.Errorf("statuses %+v", msgs)
	}
	if err := db.Retry(ctx, msgs[1].ID, later); err == nil {
		t.Errorf("retrying a sent message should fail")
	}
}
