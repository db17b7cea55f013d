package store_test

import (
	"context"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// TestPanicInTransactionReleasesTheWriteLock: a panic inside a write
// transaction (an entry's, a close's, an import's) goes on up to the
// caller, and the transaction is rolled back on the way, so another
// connection writes at once. Without the deferred rollback the panicking
// transaction kept the write lock until the process died, and every other
// write failed after its busy timeout.
func TestPanicInTransactionReleasesTheWriteLock(t *testing.T) {
	ctx := context.Background()
	rules := store.NewRules([]*billing.Contract{acme()})
	entry := func(h int64) []store.Entry {
		return []store.Entry{{Source: "log", Date: billing.DateOf(2026, 11, 3), Seconds: h * 3600, Billable: true, Client: "Acme Corp"}}
	}
	for _, tc := range []struct {
		name, point string
		write       func(db *store.DB) error
		sqliteOnly  bool // the point is on SQLite's path only
	}{
		{"entries", "entries", func(db *store.DB) error { return db.AddEntries(ctx, rules, entry(2), now) }, false},
		{"close", "close:commit", func(db *store.DB) error {
			_, err := db.ClosePeriod(ctx, rules, per("2026-10"), "USD", time.UTC, now)
			return err
		}, false},
		{"import", "import:commit", func(db *store.DB) error { return importOne(db, rules, "h1", false) }, false},
		// Inside sql.Conn.Raw, where a panic left unhandled makes
		// database/sql wait forever for the import's own transaction.
		{"import's bulk write", "import:bulk", func(db *store.DB) error { return importOne(db, rules, "", false) }, true},
		// On the streaming writer's goroutine: raised again on the caller's.
		{"import's stream", "import:stream", func(db *store.DB) error { return importOne(db, rules, "", true) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.sqliteOnly && onPostgres() {
				t.Skip("SQLite's path only")
			}
			path := dsn(t)
			db := openDSN(t, path)
			defer db.Close()
			db.SetFailHook(func(point string) error {
				if point == tc.point {
					panic("boom at " + point)
				}
				return nil
			})
			panicked := make(chan any, 1)
			go func() {
				defer func() { panicked <- recover() }()
				tc.write(db)
			}()
			select {
			case r := <-panicked:
				if r == nil {
					t.Fatalf("%s: no panic", tc.name)
				}
			case <-time.After(time.Minute):
				t.Fatalf("%s: the write neither returned nor panicked within a minute", tc.name)
			}
			// Another connection (another process) writes within its
			// short busy timeout.
			other, err := store.OpenWith(ctx, path, store.Options{BusyTimeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if err := other.AddEntries(ctx, rules, entry(1), now); err != nil {
				t.Fatalf("write from another connection after a panic: %v", err)
			}
			// The same store writes too, and the panicking write left nothing.
			db.SetFailHook(nil)
			if err := db.AddEntries(ctx, rules, entry(1), now); err != nil {
				t.Fatalf("write on the same store after a panic: %v", err)
			}
			v, err := db.Status(ctx, rules, per("2026-11"), billing.DateOf(2026, 11, 25))
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Rows) != 1 || v.Rows[0].Figures.Used != 2*3600 {
				t.Fatalf("rows %+v, want 2 h used (the panicking write rolled back)", v.Rows)
			}
		})
	}
}

// importOne imports one row of 2026-11-04, with the external id id (none
// when ""), streamed when stream.
func importOne(db *store.DB, rules *store.Rules, id string, stream bool) error {
	im, err := db.BeginImport(context.Background(), rules, "harvest", now)
	if err != nil {
		return err
	}
	if stream {
		im.Stream()
	}
	if err := im.Add(store.Entry{ExternalID: id, Date: billing.DateOf(2026, 11, 4), Seconds: 3600, Billable: true, Client: "Acme Corp"}); err != nil {
		return err
	}
	_, err = im.Commit()
	return err
}
