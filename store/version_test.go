package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"retainer/billing"
)

// TestDataVersion: every kind of write raises the data version, in this
// handle and as another handle on the same database (another process)
// sees it; a read, and a write that rolls back, leave it as it was.
func TestDataVersion(t *testing.T) {
	ctx := context.Background()
	s, other := twoHandles(t)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	k := &billing.Contract{ID: "acme-001", Client: "Acme", Unit: billing.UnitHours, OverageBillable: true,
		Terms: billing.Terms{MonthlyHours: 40 * 3600, MonthlyFee: 500000}}
	rules := NewRules([]*billing.Contract{k})
	march := billing.Period(2026*12 + 2)
	feb := billing.Period(2026*12 + 1)
	var entryID int64
	for _, tt := range []struct {
		name  string
		write func() error
		raise bool
	}{
		{"an entry logged", func() error {
			return s.AddEntries(ctx, rules, []Entry{{Source: "log", Date: billing.DateOf(2026, 3, 2), Seconds: 3600, Billable: true, Client: "Acme"}}, now)
		}, true},
		{"a read", func() error { _, err := s.Status(ctx, rules, march, billing.DateOf(2026, 3, 10)); return err }, false},
		{"an entry edited", func() error {
			err := s.EachEntry(ctx, billing.DateOf(2026, 3, 1), billing.DateOf(2026, 3, 31), func(e Entry) error { entryID = e.ID; return nil })
			if err != nil {
				return err
			}
			_, _, err = s.EditEntry(ctx, rules, entryID, func(e *Entry) error { e.Seconds = 7200; return nil }, now)
			return err
		}, true},
		{"a note", func() error { return s.SetNote(ctx, "acme-001", march, "hello", now) }, true},
		{"a close", func() error {
			_, err := s.ClosePeriod(ctx, rules, feb, "USD", time.UTC, now)
			return err
		}, true},
		{"a statement paid", func() error {
			_, err := s.MarkPaid(ctx, InvoiceNumber("acme-001", feb), billing.DateOf(2026, 3, 10))
			return err
		}, true},
		{"a portal token rotated", func() error { _, err := s.RotatePortalToken(ctx, "acme-001", now); return err }, true},
		{"an entry deleted", func() error { _, err := s.DeleteEntry(ctx, entryID, now); return err }, true},
		{"a write rolled back", func() error {
			err := s.tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.Exec(`DELETE FROM notes`); err != nil {
					return err
				}
				return errors.New("no")
			})
			if err == nil {
				return errors.New("the transaction committed")
			}
			return nil
		}, false},
		{"another process's write", func() error { return other.SetNote(ctx, "acme-001", march, "from the CLI", now) }, true},
		// The daemon's bookkeeping, every few seconds, changes no page.
		{"a job's tick, start and finish", func() error {
			if _, err := s.ClaimTick(ctx, "dispatch", now); err != nil {
				return err
			}
			id, err := s.StartJob(ctx, "dispatch", now)
			if err != nil {
				return err
			}
			return s.FinishJob(ctx, id, JobOK, map[string]int{"sent": 1}, "", now)
		}, false},
		{"a message queued", func() error {
			return s.Enqueue(ctx, []OutboxMessage{{Key: "renewal/acme-001/2026-12", Channel: "email", To: []string{"agency@example.com"}}}, now)
		}, true},
		{"outbox claims, their lease and release", func() error {
			owner := ThisProcess()
			ms, err := s.Claim(ctx, Claim{Owner: owner, Now: now.Add(24 * time.Hour), Force: true, Limit: 10, LeaseUntil: now.Add(time.Minute)})
			if err != nil {
				return err
			}
			if len(ms) == 0 {
				return errors.New("nothing was claimed: the case would test no write")
			}
			ids := make([]int64, len(ms))
			for i, m := range ms {
				ids[i] = m.ID
			}
			if err := s.ExtendClaims(ctx, owner, ids, now.Add(2*time.Minute)); err != nil {
				return err
			}
			return s.Release(ctx, owner, ids)
		}, false},
		{"a dashboard session", func() error {
			id, _, err := s.CreateSession(ctx, now, time.Hour)
			if err != nil {
				return err
			}
			if _, err := s.Session(ctx, id, now); err != nil {
				return err
			}
			return s.DeleteSession(ctx, id)
		}, false},
	} {
		before, err := s.DataVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := tt.write(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for _, h := range []*DB{s, other} {
			after, err := h.DataVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if raised := after != before; raised != tt.raise {
				t.Errorf("%s: version %d → %d, raised %v, want %v", tt.name, before, after, raised, tt.raise)
			}
		}
	}
}

// TestDataVersionConnection: the version is read on one held connection by
// concurrent readers, each seeing it never go back while another handle
// writes; a read that fails (its context cancelled) drops the connection
// and the next read opens another.
func TestDataVersionConnection(t *testing.T) {
	ctx := context.Background()
	s, other := twoHandles(t)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	march := billing.Period(2026*12 + 2)
	start, err := s.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const readers, writes = 8, 20
	errs := make(chan error, readers+1)
	done := make(chan struct{})
	for range readers {
		go func() {
			last := start
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				v, err := s.DataVersion(ctx)
				if err != nil {
					errs <- err
					return
				}
				if v < last {
					errs <- fmt.Errorf("version went back: %d after %d", v, last)
					return
				}
				last = v
			}
		}()
	}
	for i := range writes {
		if err := other.SetNote(ctx, "acme-001", march, fmt.Sprint("note ", i), now); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range readers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	v, err := s.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v < start+writes {
		t.Fatalf("version %d after %d writes from %d", v, writes, start)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.DataVersion(cancelled); err == nil {
		t.Fatal("a read with a cancelled context succeeded")
	}
	if s.ver.stmt != nil {
		t.Fatal("the failed read kept its connection")
	}
	if err := other.SetNote(ctx, "acme-001", march, "after", now); err != nil {
		t.Fatal(err)
	}
	after, err := s.DataVersion(ctx)
	if err != nil || after <= v {
		t.Fatalf("read after a failed one: %d, %v (was %d)", after, err, v)
	}
}

// twoHandles opens two handles on one new database of the test's backend:
// this process's, and another process's.
func twoHandles(t *testing.T) (s, other *DB) {
	t.Helper()
	dsn := TestingDSN(t, os.Getenv("RETAINER_TEST_BACKEND") == "postgres")
	for _, h := range []**DB{&s, &other} {
		db, err := Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		*h = db
	}
	return s, other
}
