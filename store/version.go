package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// The data version.
//
// A page drawn from the database (the portal, the API's status) stays right
// until something is written. Every write transaction raises one number,
// data_version.version, in the same transaction (see begin), so a reader
// that saw version N before it read can keep what it drew while the number
// is still N. It works across processes — a `retainer log` beside the
// daemon raises it too — and on PostgreSQL, where every write already
// holds the replicas' write lock, so the one row adds no contention. A
// rolled-back transaction's raise is rolled back with it.
//
// The daemon's own bookkeeping — a job's run and its tick, the outbox's
// claim leases, the dashboard's sessions — is written without raising it
// (unversioned): those writes come every few seconds and change nothing a
// cached page shows, and a version raised by each would keep no page
// cached for long. Everything else raises it, also a write that turns out
// to change no figure: a reader then draws its page again once, which
// costs time, never correctness.

// unversionedKey marks a context whose write transactions leave the data
// version alone.
type unversionedKey struct{}

// unversioned is ctx for a write that changes nothing a page is drawn
// from.
func unversioned(ctx context.Context) context.Context {
	return context.WithValue(ctx, unversionedKey{}, true)
}

// bumpVersion raises the data version in tx. It does nothing while the
// migrations that make the table run.
func (s *DB) bumpVersion(ctx context.Context, tx *sql.Tx) error {
	if !s.versioned || ctx.Value(unversionedKey{}) != nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE data_version SET version = version + 1`); err != nil {
		return fmt.Errorf("data version: %w", err)
	}
	return nil
}

// DataVersion returns the data version: it is different after any write
// transaction committed since, by any process. Read it before reading what
// it stands for: what was read then is at least as new as the version.
//
// Every cached page asks it once per request, so it is read on one
// connection held for it, with the statement prepared once: through the
// pool, a burst of concurrent requests opened and closed connections (the
// pool keeps two idle) and parsed the query again on each, which cost most
// of a cached portal page. The query is one row of one page; requests take
// turns on the connection. A failed read drops the connection; the next
// read opens another.
func (s *DB) DataVersion(ctx context.Context) (int64, error) {
	v, err := s.ver.read(ctx, s.db)
	if err != nil {
		return 0, fmt.Errorf("data version: %w", err)
	}
	return v, nil
}

// versionReader is the connection and statement DataVersion reads on.
type versionReader struct {
	mu   sync.Mutex
	conn *sql.Conn
	stmt *sql.Stmt
}

func (r *versionReader) read(ctx context.Context, db *sql.DB) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stmt == nil {
		conn, err := db.Conn(ctx)
		if err != nil {
			return 0, err
		}
		stmt, err := conn.PrepareContext(ctx, `SELECT version FROM data_version`)
		if err != nil {
			conn.Close()
			return 0, err
		}
		r.conn, r.stmt = conn, stmt
	}
	var v int64
	if err := r.stmt.QueryRowContext(ctx).Scan(&v); err != nil {
		r.closeLocked()
		return 0, err
	}
	return v, nil
}

// close releases the connection, for the store's Close.
func (r *versionReader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeLocked()
}

func (r *versionReader) closeLocked() {
	if r.stmt != nil {
		r.stmt.Close()
		r.conn.Close()
		r.stmt, r.conn = nil, nil
	}
}
