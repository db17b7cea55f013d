package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// checkConfig is one contract, with or without an end.
func checkConfig(end string) string {
	return `timezone: UTC
database: retainer.db
agency:
  name: Northwind Studio
  email: owner@northwind.example
contracts:
  acme-001:
    client: Acme Corp
    contacts: [ap@acme.example]
    monthly_hours: 40
    monthly_fee: 5000
    start: 2026-01
` + end
}

// dbState is the database file's SHA-256 and the size of its WAL (-1 when
// there is none): a write lands in one or the other.
func dbState(t *testing.T, path string) (string, int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	wal := int64(-1)
	if fi, err := os.Stat(path + "-wal"); err == nil {
		wal = fi.Size()
	}
	return hex.EncodeToString(sum[:]), wal
}

// `check` writes nothing: on a database whose contracts changed since its
// entries were matched (an end date added), it leaves the file byte for
// byte as it was, no write waiting in the WAL, and still prints its
// warnings, from the figures as they were, saying so. On a database whose
// schema is older than the binary it says so and migrates nothing.
func TestCheckNeverWritesTheDatabase(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "retainer.yaml")
	path := filepath.Join(dir, "retainer.db")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(config, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(checkConfig(""))
	e := &env{t: t, dir: dir, now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	e.must("log", "acme-001", "5", "--date", "2026-11-10")
	write(checkConfig("    end: 2026-10\n"))

	hash, wal := dbState(t, path)
	out := e.must("check")
	for _, want := range []string{
		"warning: go_live: not set: the first close will email statements for 10 past months",
		"warning: contracts.acme-001.end: 2026-10, but 5.00",
		"warning: contracts: changed since the database's entries were matched and counted",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	if h, w := dbState(t, path); h != hash || w > max(wal, 0) {
		t.Errorf("check wrote to the database: file %s → %s, WAL %d → %d bytes", hash, h, wal, w)
	}

	// A command that writes matches the entries again; check no longer
	// says the contracts changed.
	e.must("status")
	if out := e.must("check"); strings.Contains(out, "contracts: changed") {
		t.Errorf("check after a write still says the contracts changed:\n%s", out)
	}

	// As if the database were made by a version one migration older.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	hash, wal = dbState(t, path)
	out = e.must("check")
	if !strings.Contains(out, "warning: database: its schema is 1 migration behind this version of retainer") {
		t.Errorf("check does not say the schema is behind:\n%s", out)
	}
	if h, w := dbState(t, path); h != hash || w > max(wal, 0) {
		t.Errorf("check wrote to a database of an older schema: file %s → %s, WAL %d → %d bytes", hash, h, wal, w)
	}
}
