package store

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// SetFailHook makes the store call fn at named points inside its write
// transactions; an error from fn aborts the transaction.
func (s *DB) SetFailHook(fn func(point string) error) { s.failHook = fn }

// CountRows returns the number of rows in table.
func (s *DB) CountRows(t testing.TB, table string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestingDSN returns a database for one test or benchmark: a SQLite file in
// a temporary directory, or with postgres a schema of its own on the server
// of RETAINER_TEST_POSTGRES_URL, dropped at the end (skipped without one).
func TestingDSN(tb testing.TB, postgres bool) string {
	tb.Helper()
	if !postgres {
		return filepath.Join(tb.TempDir(), "retainer.db")
	}
	base := os.Getenv("RETAINER_TEST_POSTGRES_URL")
	if base == "" {
		tb.Skip("RETAINER_TEST_POSTGRES_URL is not set")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("PostgreSQL at %s: %v", base, err)
	}
	tb.Cleanup(func() {
		if admin, err := sql.Open("pgx", base); err == nil {
			admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			admin.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
