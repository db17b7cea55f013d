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
	"sync"
	"time"

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

	// behind is how many embedded migrations a read-only store's database
	// lacks (see SchemaBehind).
	behind int

	// failHook, when set by a test, is called at named points inside write
	// transactions; an error it returns aborts the transaction.
	failHook func(point string) error

	// versioned is true once the migrations are applied: every write
	// transaction then raises the data version (store/version.go).
	versioned bool

	// ver reads the data version on a connection of its own
	// (store/version.go).
	ver versionReader

	// stmts are statements prepared once for the store's life, by their
	// text (prepared.go); Close closes them.
	stmts sync.Map
}

// DefaultBusyTimeout is how long a write waits for another process's write
// transaction before it fails with "database is locked". Readers never wait
// for a writer (SQLite in WAL mode, PostgreSQL's MVCC), and an import holds
// the write lock only while it writes (see Import), so this bounds the
// rare long write: a close of thousands of contracts, a re-match of every
// entry after a change of the matching rules, the write of a very large
// import. A command or a request ends its wait sooner when its context is
// cancelled (Ctrl-C, a client gone, the daemon stopping).
const DefaultBusyTimeout = 2 * time.Minute

// Options tune how the store waits.
type Options struct {
	// BusyTimeout bounds the wait of a write for another writer's
	// transaction: SQLite's busy_timeout, PostgreSQL's lock_timeout (unless
	// the URL sets one). Zero means DefaultBusyTimeout.
	BusyTimeout time.Duration

	// ReadOnly opens an existing database for reading only, for a command
	// that must not write (`retainer check`): no migration is applied
	// (SchemaBehind says how many the database lacks) and every write
	// fails. SQLite opens the file read-only (mode=ro, and query_only on
	// every connection), and never creates it; PostgreSQL begins every
	// transaction read-only.
	ReadOnly bool
}

// Open opens (creating if needed) the SQLite database at path, or the
// PostgreSQL database of a postgres:// URL, with the default Options, and
// applies the migrations it lacks.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with options. Opening takes no write lock unless a
// migration is pending: a store opens, and reads, while another process
// writes.
func OpenWith(ctx context.Context, path string, opts Options) (*DB, error) {
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	if IsPostgres(path) {
		db, err := openPostgres(ctx, path, busy, opts.ReadOnly)
		if err != nil {
			return nil, err
		}
		s := &DB{db: db, d: postgresDialect}
		if err := s.prepareSchema(ctx, opts.ReadOnly); err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s: %w", RedactDSN(path), err)
		}
		return s, nil
	}
	db, err := sql.Open("sqlite", sqliteDSN(path, busy, opts.ReadOnly))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &DB{db: db, path: path, d: sqliteDialect}
	if err := s.prepareSchema(ctx, opts.ReadOnly); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

// prepareSchema applies the migrations the database lacks or, read-only,
// counts them.
func (s *DB) prepareSchema(ctx context.Context, readOnly bool) error {
	if !readOnly {
		err := s.migrate(ctx)
		s.versioned = err == nil
		return err
	}
	all, err := embeddedMigrations()
	if err != nil {
		return err
	}
	pending, err := s.pendingMigrations(ctx, s.mine(all))
	if err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	s.behind = len(pending)
	return nil
}

// SchemaBehind returns how many of this binary's migrations the database
// lacks: 0 but on a store opened ReadOnly, which applies none. Reads that
// need what they add may fail; the next read-write open applies them.
func (s *DB) SchemaBehind() int { return s.behind }

// sqliteDSN is the data source name of a SQLite file: the pragmas of every
// pooled connection, and immediate write transactions.
//
// WAL lets readers read a snapshot while a writer writes: a read-only
// transaction (see read) begins deferred and never asks for the write lock.
// A write transaction begins IMMEDIATE, taking the write lock before it
// reads, because a deferred one that reads then writes fails with
// SQLITE_BUSY whatever the busy_timeout when another writer got in between.
// Temporary tables (an import's staged rows) live in a small cache that
// spills to a temporary file, so memory does not grow with an import's file
// (in memory, a 1,000,000-row file took 385 MiB instead of 165).
//
// Read-only, the file is opened with mode=ro (SQLite neither creates nor
// writes it) and every connection is query_only; the journal mode is left
// as the file has it (WAL, set by the first read-write open), and
// transactions begin deferred: an immediate one asks for the write lock.
func sqliteDSN(path string, busy time.Duration, readOnly bool) string {
	q := url.Values{}
	wait := "busy_timeout(" + strconv.FormatInt(busy.Milliseconds(), 10) + ")"
	pragmas := []string{wait, "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)", "cache_size(-65536)", "temp_store(FILE)"}
	if readOnly {
		pragmas = []string{wait, "query_only(1)", "foreign_keys(1)", "cache_size(-65536)"}
	}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Set("mode", "ro")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// IsPostgres reports whether a database setting is a PostgreSQL URL.
func IsPostgres(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// Postgres reports whether the store is on PostgreSQL.
func (s *DB) Postgres() bool { return s.d.postgres }

// Close closes the database.
func (s *DB) Close() error {
	s.ver.close()
	s.stmts.Range(func(q, st any) bool {
		if st, ok := st.(*sql.Stmt); ok {
			st.Close()
		}
		s.stmts.Delete(q)
		return true
	})
	return s.db.Close()
}

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

// migration is one embedded migration file.
type migration struct {
	version int
	name    string
	body    string
	dialect string // "sqlite" or "postgres" for one database's own SQL; "" for both
}

// embeddedMigrations returns the embedded migrations in version order.
func embeddedMigrations() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: bad name", base)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return nil, err
		}
		dialect := ""
		for _, d := range []string{"sqlite", "postgres"} {
			if strings.HasSuffix(base, "."+d+".sql") {
				dialect = d
			}
		}
		out = append(out, migration{version, base, string(body), dialect})
	}
	return out, nil
}

// mine returns the migrations of all for this store's database: a
// migration written in one dialect's own SQL (a trigger, say) comes as
// NNNN_name.sqlite.sql and NNNN_name.postgres.sql, one version in two
// files; every other file is for both.
func (s *DB) mine(all []migration) []migration {
	want := "sqlite"
	if s.d.postgres {
		want = "postgres"
	}
	var out []migration
	for _, m := range all {
		if m.dialect == "" || m.dialect == want {
			out = append(out, m)
		}
	}
	return out
}

// migrate applies the embedded migrations the database lacks, each with its
// version bump in one write transaction. Which ones it lacks is read first
// in a read-only transaction: with none pending (every open but the first
// after an upgrade) opening takes no write lock, so it neither waits for
// nor fails behind another process's long write.
func (s *DB) migrate(ctx context.Context) error {
	all, err := embeddedMigrations()
	if err != nil {
		return err
	}
	pending, err := s.pendingMigrations(ctx, s.mine(all))
	if err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if len(pending) == 0 {
		return nil
	}
	if err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`)
		return err
	}); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	for _, m := range pending {
		// In a write transaction, checked again inside it: another process
		// (a replica on PostgreSQL) may have applied it since the read.
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range splitSQL(m.body) {
				if s.d.postgres {
					stmt = postgresSchema(stmt)
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", m.name, err)
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, `+s.d.now+`)`, m.version)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

// pendingMigrations returns the migrations of all that the database has not
// applied, reading in a read-only transaction.
func (s *DB) pendingMigrations(ctx context.Context, all []migration) ([]migration, error) {
	applied := map[int]bool{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		// The table itself is missing from a new database.
		exists := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
		if s.d.postgres {
			exists = `SELECT COUNT(*) FROM (SELECT to_regclass('schema_migrations') AS t) AS x WHERE t IS NOT NULL`
		}
		var n int
		if err := tx.QueryRowContext(ctx, exists).Scan(&n); err != nil || n == 0 {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				return err
			}
			applied[v] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, m := range all {
		if !applied[m.version] {
			out = append(out, m)
		}
	}
	return out, nil
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

// tx runs fn in one write transaction. The rollback is deferred so that it
// also runs when fn panics: the panic goes on up, but the transaction ends
// and its write lock is released (a daemon that recovers the panic, as the
// scheduler does, keeps writing). After a commit the rollback does nothing.
func (s *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.begin(ctx, s.db)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// txStarter is a pool (*sql.DB) or one connection of it (*sql.Conn).
type txStarter interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// begin starts a write transaction on db: on SQLite an immediate one (see
// the DSN), which waits up to the busy timeout for the write lock; on
// PostgreSQL one holding the replicas' write lock (waiting up to
// lock_timeout).
func (s *DB) begin(ctx context.Context, db txStarter) (*sql.Tx, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if s.d.postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(writeLock)); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	if err := s.bumpVersion(ctx, tx); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// read runs fn in one read-only transaction, so it sees one snapshot. It
// never waits for a writer: on SQLite it begins deferred (not immediate,
// whatever the DSN's _txlock) and reads the last committed snapshot of the
// WAL; on PostgreSQL reads take no lock a writer holds.
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
