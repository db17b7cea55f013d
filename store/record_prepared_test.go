package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"retainer/store"
)

// A dispatcher records before every message it hands over: the outcome of
// the one before, and the hand-over. Those statements are prepared once
// per connection, not compiled again for each message (SQLite compiles a
// statement, and asks its authorizer, when it prepares it); what they
// write is the same.
func TestRecordKeepsItsStatementsPrepared(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	path := store.TestingDSN(t, false) // SQLite: it counts SQLite's compilations
	compiled := countOutboxUpdates(path)
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const n = 30
	var q []store.OutboxMessage
	for i := range n {
		q = append(q, store.OutboxMessage{Key: fmt.Sprintf("k/%02d", i), Channel: "email", To: []string{"ap@example.com"}})
	}
	if err := db.Enqueue(ctx, q, now); err != nil {
		t.Fatal(err)
	}
	owner := store.ThisProcess()
	claimed, err := db.Claim(ctx, store.Claim{Owner: owner, Now: now, Limit: n, LeaseUntil: now.Add(time.Hour)})
	if err != nil || len(claimed) != n {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	compiled.Store(0)
	var before []store.Outcome
	for _, m := range claimed {
		handed, err := db.Record(ctx, store.Progress{Owner: owner, Now: now, Outcomes: before, HandOver: m.ID,
			Transport: "smtp", LeaseUntil: now.Add(time.Hour)})
		if err != nil || !handed {
			t.Fatalf("%s: handed %v, %v", m.Key, handed, err)
		}
		before = []store.Outcome{{ID: m.ID, Status: store.OutboxSent, Transport: "smtp", Next: now}}
	}
	if _, err := db.Record(ctx, store.Progress{Owner: owner, Now: now, Outcomes: before}); err != nil {
		t.Fatal(err)
	}
	// 2n statements write outbox.status (n-1 outcomes with a hand-over,
	// the last outcome alone, the n hand-overs write other columns):
	// compiled a few times (per connection, and the last outcome alone),
	// not n.
	if c := compiled.Load(); c > 5 {
		t.Errorf("the outcomes' UPDATE compiled %d times for %d messages", c, n)
	}
	msgs, err := db.Outbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Status != store.OutboxSent || m.Transport != "smtp" || m.HandedOverAt == nil {
			t.Errorf("%s: %s over %q, handed over %v", m.Key, m.Status, m.Transport, m.HandedOverAt)
		}
	}
}
