package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// answers runs one call that must not wait for a writer: it fails the test
// unless fn returns without error within a few seconds (a call that
// waited for the held lock would take the whole busy timeout, minutes).
func answers(t *testing.T, what string, fn func() error) {
	t.Helper()
	t0 := time.Now()
	if err := fn(); err != nil {
		t.Fatalf("%s while another connection writes: %v", what, err)
	}
	if took := time.Since(t0); took > 4*time.Second {
		t.Errorf("%s while another connection writes took %s, want it at once", what, took.Round(time.Millisecond))
	}
}

// reads runs what `status`, `export`, /healthz and every command's start
// do, on db, each within a second.
func reads(t *testing.T, db *store.DB, rules *store.Rules, wantHours float64) {
	t.Helper()
	ctx := context.Background()
	answers(t, "sync (every command's start)", func() error {
		_, err := db.Sync(ctx, rules, now)
		return err
	})
	answers(t, "status", func() error {
		v, err := db.Status(ctx, rules, per("2026-11"), billing.DateOf(2026, 11, 25))
		if err == nil && (len(v.Rows) != 1 || float64(v.Rows[0].Figures.Used)/3600 != wantHours) {
			err = fmt.Errorf("rows %+v, want %.0f h used", v.Rows, wantHours)
		}
		return err
	})
	answers(t, "export", func() error {
		return db.EachEntry(ctx, billing.DateOf(2026, 11, 1), billing.DateOf(2026, 11, 30), func(store.Entry) error { return nil })
	})
	answers(t, "ping (/healthz)", func() error { return db.Ping(ctx) })
}

// TestOpenAndReadWhileAnotherWrites: while another connection holds the
// write lock (another process's long import, close or re-match), the store
// opens — no migration is pending, so it asks for no write lock — every
// read answers at once, and an import stages its rows; only writes wait.
// Today's code took the write lock to open, so `status` failed with
// "database is locked" after the 10-second busy timeout.
func TestOpenAndReadWhileAnotherWrites(t *testing.T) {
	ctx := context.Background()
	path := dsn(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	writer := openDSN(t, path)
	defer writer.Close()
	if _, err := writer.Sync(ctx, rules, now); err != nil {
		t.Fatal(err)
	}
	if err := writer.AddEntries(ctx, rules, []store.Entry{entry("Acme Corp", "2026-11-02", h(3))}, now); err != nil {
		t.Fatal(err)
	}
	end, err := writer.BeginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer end()

	// A bound well under the old busy timeout: a wait for the lock ends
	// with the context.
	bounded, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var reader *store.DB
	answers(t, "open", func() (err error) {
		reader, err = store.Open(bounded, path)
		return err
	})
	defer reader.Close()
	reads(t, reader, rules, 3)
	reads(t, writer, rules, 3) // the writer's own pool reads beside its transaction
	// An import stages its rows (CPU-bound, so not timed to the second
	// under -race): were it to wait for the lock, bounded would end it.
	im, err := reader.BeginImport(bounded, rules, "harvest", now)
	if err != nil {
		t.Fatalf("begin an import while another connection writes: %v", err)
	}
	for i := 0; i < 2000; i++ {
		if err := im.Add(row("Acme Corp", fmt.Sprintf("2026-11-%02d", 1+i%20), 30, fmt.Sprint(i))); err != nil {
			t.Fatalf("stage an import's rows while another connection writes: %v", err)
		}
	}
	im.Rollback()

	// A write does wait, here until its context ends.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := reader.AddEntries(short, rules, []store.Entry{entry("Acme Corp", "2026-11-03", h(1))}, now); err == nil {
		t.Error("a write went through while another connection held the write lock")
	}
}

// TestOpenMigratesOnlyWhenNeeded: with a migration pending, opening does
// take the write lock, and waits for it up to the busy timeout.
func TestOpenMigratesOnlyWhenNeeded(t *testing.T) {
	ctx := context.Background()
	path := dsn(t)
	writer := openDSN(t, path)
	defer writer.Close()
	end, err := writer.BeginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	quick := store.Options{BusyTimeout: 200 * time.Millisecond}
	db, err := store.OpenWith(ctx, path, quick)
	if err != nil {
		t.Fatalf("open with no migration pending, while another connection writes: %v", err)
	}
	db.Close()
	end()

	writer.ForgetMigration(t, store.LastMigration(t))
	if end, err = writer.BeginWrite(ctx); err != nil {
		t.Fatal(err)
	}
	defer end()
	t0 := time.Now()
	if db, err := store.OpenWith(ctx, path, quick); err == nil {
		db.Close()
		t.Fatal("opened with a migration pending while another connection held the write lock")
	}
	if took := time.Since(t0); took < 150*time.Millisecond || took > 5*time.Second {
		t.Errorf("open with a migration pending gave up after %s, want about the busy timeout (200ms)", took)
	}
}

// TestReadersDuringAnImportsWrite: an import's write transaction held open
// past the busy timeout (a hook stops it before its commit) blocks no
// reader, in its own store or another; a writer with a short busy timeout
// gives up after it, and one with the default waits and then goes through.
func TestReadersDuringAnImportsWrite(t *testing.T) {
	ctx := context.Background()
	path := dsn(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	const busy = 250 * time.Millisecond
	db, err := store.OpenWith(ctx, path, store.Options{BusyTimeout: busy})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Sync(ctx, rules, now); err != nil {
		t.Fatal(err)
	}
	var file []store.Entry
	for i := 0; i < 2000; i++ { // 1,000 h
		file = append(file, row("Acme Corp", fmt.Sprintf("2026-11-%02d", 1+i%20), 30, fmt.Sprint(i)))
	}
	if got := importRows(t, db, rules, "harvest", file[:1000]...); got != (tally{Imported: 1000}) {
		t.Fatalf("first import: %+v", got)
	}

	// The re-import with 1,000 more rows stops inside its write
	// transaction until released.
	inside, release := make(chan struct{}), make(chan struct{})
	db.SetFailHook(func(point string) error {
		if point == "import:commit" {
			close(inside)
			<-release
		}
		return nil
	})
	type result struct {
		res store.ImportResult
		err error
	}
	imported := make(chan result, 1)
	go func() {
		im, err := db.BeginImport(ctx, rules, "harvest", now)
		if err != nil {
			imported <- result{err: err}
			return
		}
		for _, e := range file {
			if err := im.Add(e); err != nil {
				im.Rollback()
				imported <- result{err: err}
				return
			}
		}
		res, err := im.Commit()
		imported <- result{res, err}
	}()
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	select {
	case <-inside:
	case r := <-imported:
		t.Fatalf("import ended before its commit: %v", r.err)
	case <-time.After(10 * time.Second):
		t.Fatal("the import never reached its commit")
	}

	other, err := store.OpenWith(ctx, path, store.Options{BusyTimeout: busy})
	if err != nil {
		t.Fatalf("open during an import's write: %v", err)
	}
	defer other.Close()
	patient := openDSN(t, path) // the default busy timeout
	defer patient.Close()
	// The import's rows are not visible yet: 500 h.
	reads(t, db, rules, 500)
	reads(t, other, rules, 500)

	t0 := time.Now()
	err = other.AddEntries(ctx, rules, []store.Entry{entry("Acme Corp", "2026-11-21", h(1))}, now)
	if err == nil {
		t.Fatal("a write went through during the import's write transaction")
	}
	if took := time.Since(t0); took < busy*4/5 {
		t.Errorf("a writer gave up after %s, before its busy timeout (%s): %v", took, busy, err)
	}
	// The import's transaction has now been held longer than that busy
	// timeout; a writer with the default one is still waiting.
	logged := make(chan error, 1)
	go func() {
		logged <- patient.AddEntries(ctx, rules, []store.Entry{entry("Acme Corp", "2026-11-22", h(2))}, now)
	}()
	reads(t, other, rules, 500)
	select {
	case err := <-logged:
		t.Fatalf("a writer with the default busy timeout did not wait for the import: %v", err)
	default:
	}
	close(release)
	released = true
	if r := <-imported; r.err != nil || counts(r.res) != (tally{Imported: 1000, Unchanged: 1000}) {
		t.Fatalf("import: %+v %v", counts(r.res), r.err)
	}
	select {
	case err := <-logged:
		if err != nil {
			t.Fatalf("the waiting writer: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting writer did not go through once the import committed")
	}
	reads(t, other, rules, 1002)
}
