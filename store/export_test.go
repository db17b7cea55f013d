package store

import "testing"

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
