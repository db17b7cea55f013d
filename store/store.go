// Package store keeps retainer's state in SQL: time entries, the
// per-(contract, period) usage aggregates that status reads instead of the
// entries, closed periods with their frozen figures and rollover lots, late
// adjustments, statements and notes.
//
// Every exported method that writes is one transaction. The billing rules
// come from package billing; the store only loads their inputs and saves
// their results.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned when a requested row does not exist.
var ErrNotFound = errors.New("not found")

// DB is the store.
type DB struct {
	db   *sql.DB
	path string // the database file; "" on PostgreSQL
	d    dialect

	// failHook, when set by a test, is called at named points inside write
	// transactions; an error it returns aborts the transaction.
	failHook func(point string) error
}

// Open opens (creating if needed) the SQLite database at path and applies
// every pending migration.
func Open(ctx context.Context, path string) (*DB, error) {
	if IsPostgres(path) {
		db, err := openPostgres(ctx, path)
		if err != nil {
			return nil, err
		}
		s := &DB{db: db, d: postgresDialect}
		if err := s.migrate(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s: %w", RedactDSN(path), err)
		}
		return s, nil
	}
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)", "cache_size(-65536)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &DB{db: db, path: path, d: sqliteDialect}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

// IsPostgres reports whether a database setting is a PostgreSQL URL.
func IsPostgres(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// Postgres reports whether the store is on PostgreSQL.
func (s *DB) Postgres() bool { return s.d.postgres }

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// Ping reports whether the database answers.
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// RedactDSN returns a database setting fit for a log or an error: a
// postgres:// URL without its password; a SQLite path as it is.
func RedactDSN(dsn string) string {
	if !IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// migrate applies the embedded migrations in order, each with its version
// bump in one transaction.
func (s *DB) migrate(ctx context.Context) error {
	// In a write transaction: replicas starting together on PostgreSQL
	// take turns.
	if err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`)
		return err
	}); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: bad name", base)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range splitSQL(string(body)) {
				if s.d.postgres {
					stmt = postgresSchema(stmt)
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", base, err)
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, `+s.d.now+`)`, version)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

// splitSQL splits a migration file into statements at semicolons that end a
// line, dropping comment-only lines.
func splitSQL(body string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(body, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

// tx runs fn in one write transaction.
func (s *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// begin starts a write transaction: on SQLite an immediate one (see the
// DSN), on PostgreSQL one holding the replicas' write lock.
func (s *DB) begin(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if s.d.postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(writeLock)); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	return tx, nil
}

// read runs fn in one read-only transaction, so it sees one snapshot.
func (s *DB) read(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

func (s *DB) hook(point string) error {
	if s.failHook == nil {
		return nil
	}
	return s.failHook(point)
}

// ReleaseMemory closes the idle connections, and with them their page
// caches (up to 64 MiB each): a daemon calls it when it goes idle after a
// big job. Connections reopen on demand.
func (s *DB) ReleaseMemory() {
	s.db.SetMaxIdleConns(0)
	s.db.SetMaxIdleConns(2) // database/sql's default
}
