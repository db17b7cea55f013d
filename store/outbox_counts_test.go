package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"testing"
	"time"
)

// TestOutboxCounts: the counts /metrics reads (kept by the outbox's
// triggers) equal a count of the outbox after each kind of change —
// queued, claimed, sent, failed, unknown, retried, recovered, deleted — and
// a change rolled back changes neither.
func TestOutboxCounts(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, TestingDSN(t, os.Getenv("RETAINER_TEST_BACKEND") == "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC)
	check := func(step string, want map[string]int) {
		t.Helper()
		got, err := s.OutboxCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		counted := map[string]int{}
		if err := scanPairsDB(ctx, s, `SELECT status, COUNT(*) FROM outbox GROUP BY status`, func(st string, n int64) { counted[st] = int(n) }); err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, counted) || !maps.Equal(got, want) {
			t.Fatalf("%s: kept counts %v, outbox %v, want %v", step, got, counted, want)
		}
	}
	check("empty", map[string]int{})
	var msgs []OutboxMessage
	for i := range 6 {
		msgs = append(msgs, OutboxMessage{Key: fmt.Sprintf("digest/%d", i), Channel: "slack", To: []string{"#x"}})
	}
	if err := s.Enqueue(ctx, msgs, now); err != nil {
		t.Fatal(err)
	}
	check("queued", map[string]int{"pending": 6})
	claimed, err := s.ClaimDue(ctx, now, true, 4)
	if err != nil || len(claimed) != 4 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	check("claimed", map[string]int{"pending": 2, "sending": 4})
	for i, st := range []string{"sent", "failed", "unknown"} {
		if err := s.Delivered(ctx, claimed[i].ID, st, "slack", "", now, now); err != nil {
			t.Fatal(err)
		}
	}
	check("delivered", map[string]int{"pending": 2, "sending": 1, "sent": 1, "failed": 1, "unknown": 1})
	if err := s.Retry(ctx, claimed[1].ID, now); err != nil {
		t.Fatal(err)
	}
	check("retried", map[string]int{"pending": 3, "sending": 1, "sent": 1, "unknown": 1})
	if err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'sent'`); err != nil {
			return err
		}
		return fmt.Errorf("rolled back")
	}); err == nil {
		t.Fatal("the transaction committed")
	}
	check("rolled back", map[string]int{"pending": 3, "sending": 1, "sent": 1, "unknown": 1})
	if err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE status = 'unknown'`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	check("deleted", map[string]int{"pending": 3, "sending": 1, "sent": 1})
}

// scanPairsDB runs a (text, integer) query outside a transaction.
func scanPairsDB(ctx context.Context, s *DB, q string, fn func(string, int64)) error {
	return s.read(ctx, func(tx *sql.Tx) error { return scanPairs(ctx, tx, q, nil, fn) })
}

// TestOutboxCountsMigration: on a database that already has messages, the
// migration starts the counts from the outbox as it is.
func TestOutboxCountsMigration(t *testing.T) {
	ctx := context.Background()
	dsn := TestingDSN(t, os.Getenv("RETAINER_TEST_BACKEND") == "postgres")
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC)
	if err := s.Enqueue(ctx, []OutboxMessage{{Key: "a", Channel: "slack", To: []string{"#x"}}, {Key: "b", Channel: "slack", To: []string{"#x"}}}, now); err != nil {
		t.Fatal(err)
	}
	if claimed, err := s.ClaimDue(ctx, now, true, 1); err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	// Undo migration 0019, as if the database were older than it.
	undo := []string{`DROP TRIGGER outbox_counts_insert`, `DROP TRIGGER outbox_counts_update`, `DROP TRIGGER outbox_counts_delete`}
	if s.d.postgres {
		undo = []string{`DROP TRIGGER outbox_counts_insert ON outbox`, `DROP TRIGGER outbox_counts_update ON outbox`, `DROP FUNCTION outbox_count()`}
	}
	undo = append(undo, `DROP TABLE outbox_counts`, `DELETE FROM schema_migrations WHERE version = 19`)
	if err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range undo {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.OutboxCounts(ctx); err != nil || !maps.Equal(got, map[string]int{"pending": 1, "sending": 1}) {
		t.Fatalf("counts after the migration: %v, %v", got, err)
	}
}
