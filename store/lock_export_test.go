package store

import (
	"context"
	"testing"
)

// BeginWrite begins a write transaction on a connection of its own, as
// another process's long write would (a close, a re-match, an import's
// write), and returns once it holds the write lock. end rolls it back.
func (s *DB) BeginWrite(ctx context.Context) (end func(), err error) {
	tx, err := s.begin(ctx, s.db)
	if err != nil {
		return nil, err
	}
	// SQLite takes the lock at BEGIN IMMEDIATE, PostgreSQL at the advisory
	// lock; a write makes it a writer's transaction in every way.
	if _, err := tx.ExecContext(ctx, `INSERT INTO imports (source, started_at) VALUES ('held', 0)`); err != nil {
		tx.Rollback()
		return nil, err
	}
	return func() { tx.Rollback() }, nil
}

// ForgetMigration deletes the record of a migration, so that the next
// Open finds it pending.
func (s *DB) ForgetMigration(t testing.TB, version int) {
	t.Helper()
	if _, err := s.db.Exec(`DELETE FROM schema_migrations WHERE version = ?`, version); err != nil {
		t.Fatal(err)
	}
}

// LastMigration is the version of the last embedded migration.
func LastMigration(t testing.TB) int {
	t.Helper()
	all, err := embeddedMigrations()
	if err != nil || len(all) == 0 {
		t.Fatalf("migrations: %d, %v", len(all), err)
	}
	return all[len(all)-1].version
}
