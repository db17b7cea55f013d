package store

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// OwnerOfProcess is pid as an Owner, as that process would name itself
// (but for its random part).
func OwnerOfProcess(pid int) (Owner, error) {
	self := ThisProcess()
	_, start, err := procStat(pid)
	if err != nil {
		return Owner{}, err
	}
	return Owner{Host: self.Host, Boot: self.Boot, PIDNS: self.PIDNS, PID: pid, Start: start, Run: "child"}, nil
}

// HoldWriteLock takes the database's write lock in a transaction of its
// own, as a long import does, and holds it for d. It returns once the lock
// is held; the channel closes when it is released.
func (s *DB) HoldWriteLock(tb testing.TB, d time.Duration) <-chan struct{} {
	tb.Helper()
	held, released := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		defer close(released)
		errc <- s.tx(context.Background(), func(tx *sql.Tx) error {
			// SQLite takes the lock at BEGIN IMMEDIATE, PostgreSQL at the
			// advisory lock; a write makes sure.
			if _, err := tx.Exec(`UPDATE outbox SET attempts = attempts WHERE id = -1`); err != nil {
				return err
			}
			close(held)
			time.Sleep(d) // the long write
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-errc:
		tb.Fatalf("hold the write lock: %v", err)
	}
	tb.Cleanup(func() { <-released })
	return released
}
