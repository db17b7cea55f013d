package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// fileHash is the SHA-256 of a file, "" when it does not exist.
func fileHash(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// A read-only store reads, and every write through it fails, leaving the
// database as it was; contract rules that changed are not re-matched
// (Sync is a write too).
func TestReadOnlyStoreReadsAndNeverWrites(t *testing.T) {
	ctx := context.Background()
	path := dsn(t)
	a := acme()
	rules := store.NewRules([]*billing.Contract{a})
	db := openDSN(t, path)
	if _, err := db.Sync(ctx, rules, now); err != nil { // as every command does
		t.Fatal(err)
	}
	add(t, db, rules, entry("Acme Corp", "2026-01-12", h(5)))
	if _, err := db.ClosePeriod(ctx, rules, per("2026-01"), "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	add(t, db, rules, entry("Acme Corp", "2026-02-03", h(3)))
	db.Close()
	before := ""
	if !onPostgres() {
		before = fileHash(t, path)
	}

	ro, err := store.OpenWith(ctx, path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if n := ro.SchemaBehind(); n != 0 {
		t.Errorf("SchemaBehind = %d on an up-to-date database", n)
	}
	if got := status(t, ro, rules, "2026-02")["acme-001"].Used; got != h(3) {
		t.Errorf("read-only status: used %d, want 3 h", got)
	}
	renamed := acme()
	renamed.Client = "Acme Corporation" // the matching rules changed
	for _, tt := range []struct {
		rules *store.Rules
		want  bool
	}{{rules, false}, {store.NewRules([]*billing.Contract{renamed}), true}} {
		if changed, err := ro.RulesChanged(ctx, tt.rules); err != nil || changed != tt.want {
			t.Errorf("RulesChanged = %v, %v; want %v", changed, err, tt.want)
		}
	}
	writes := map[string]error{
		"add an entry": ro.AddEntries(ctx, rules, []store.Entry{entry("Acme Corp", "2026-02-04", h(1))}, now),
		"enqueue":      ro.Enqueue(ctx, []store.OutboxMessage{{Key: "k/1", Channel: "slack", To: []string{"#x"}}}, now),
	}
	_, writes["close"] = ro.ClosePeriod(ctx, rules, per("2026-02"), "USD", time.UTC, now)
	_, writes["sync changed rules"] = ro.Sync(ctx, store.NewRules([]*billing.Contract{renamed}), now)
	for what, err := range writes {
		if err == nil {
			t.Errorf("%s through a read-only store: no error", what)
		}
	}
	ro.Close()
	if !onPostgres() {
		if after := fileHash(t, path); after != before {
			t.Errorf("the database file changed under a read-only store")
		}
		// Nor does a write wait in the WAL for a checkpoint (SQLite may
		// leave an empty one, and its index, beside the file).
		if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
			t.Errorf("the read-only store wrote %d bytes to the WAL", fi.Size())
		}
	}
	rw := openDSN(t, path)
	defer rw.Close()
	if got := status(t, rw, rules, "2026-02")["acme-001"]; got.Used != h(3) {
		t.Errorf("after the read-only store: used %d, want 3 h", got.Used)
	}
	if last, ok, err := rw.LastClosed(ctx); err != nil || !ok || last != per("2026-01") {
		t.Errorf("last closed %s %v %v, want 2026-01", last, ok, err)
	}
}

// A read-only store on a database older than the binary applies no
// migration and says how many it lacks; on a SQLite file that does not
// exist it fails, creating nothing.
func TestReadOnlyStoreOnAnOlderSchema(t *testing.T) {
	ctx := context.Background()
	path := dsn(t)
	openDSN(t, path).Close()
	driver := "sqlite"
	if onPostgres() {
		driver = "pgx"
	}
	raw, err := sql.Open(driver, path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var latest int
	if err := raw.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&latest); err != nil {
		t.Fatal(err)
	}
	// As if the binary that made it knew one migration less (and the
	// migration's own change were not there either: an index).
	if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE version = ` + fmt.Sprint(latest)); err != nil {
		t.Fatal(err)
	}
	ro, err := store.OpenWith(ctx, path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if n := ro.SchemaBehind(); n != 1 {
		t.Errorf("SchemaBehind = %d, want 1", n)
	}
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM schema_migrations WHERE version = ` + fmt.Sprint(latest)).Scan(&n); err != nil || n != 0 {
		t.Errorf("a read-only open applied migration %d: %d %v", latest, n, err)
	}

	if onPostgres() {
		return
	}
	missing := filepath.Join(t.TempDir(), "missing.db")
	if db, err := store.OpenWith(ctx, missing, store.Options{ReadOnly: true}); err == nil {
		db.Close()
		t.Errorf("a read-only open of a missing file succeeded")
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a read-only open created %s: %v", missing, err)
	}
}
