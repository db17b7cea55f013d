package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// rawTestConn opens a store on a SQLite file of the test's and returns one
// connection of its pool, with the statements in setup run on it.
func rawTestConn(t *testing.T, setup ...string) *sql.Conn {
	t.Helper()
	if os.Getenv("RETAINER_TEST_BACKEND") == "postgres" {
		t.Skip("the raw handle is SQLite's")
	}
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "retainer.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	for _, q := range setup {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return conn
}

// withRaw calls f with the raw handle of conn's driver connection; f's
// error fails the test.
func withRaw(t *testing.T, conn *sql.Conn, f func(rc rawConn) error) {
	t.Helper()
	err := conn.Raw(func(dc any) error {
		rc, ok := rawSQLite(dc)
		if !ok {
			return fmt.Errorf("no SQLite handle in %T", dc)
		}
		return f(rc)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// execRaw prepares q on rc and runs it once with each of rows.
func execRaw(rc rawConn, q string, rows ...[]any) error {
	st, err := rc.prepare(q)
	if err != nil {
		return err
	}
	defer st.close()
	for i, args := range rows {
		if err := st.exec(args); err != nil {
			return fmt.Errorf("row %d: %w", i, err)
		}
	}
	return nil
}

func queryInt(t *testing.T, conn *sql.Conn, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestRawSQLiteHandle: rawSQLite finds the SQLite handle of a connection
// of the store's driver, that connection's own, and nothing in values that
// are not one. When this test fails after an upgrade of
// modernc.org/sqlite, the driver's connection (its unexported fields db
// and tls) has changed: the import then silently takes the driver's
// slower path until rawSQLite is brought up to date.
func TestRawSQLiteHandle(t *testing.T) {
	// A temporary table is seen only by the connection that made it.
	conn := rawTestConn(t, `CREATE TEMP TABLE raw_mine (x INTEGER)`)
	withRaw(t, conn, func(rc rawConn) error {
		if rc.tls == nil || rc.db == 0 {
			return fmt.Errorf("handle %+v", rc)
		}
		return execRaw(rc, `INSERT INTO temp.raw_mine (x) VALUES (?)`, []any{int64(7)})
	})
	if n := queryInt(t, conn, `SELECT x FROM temp.raw_mine`); n != 7 {
		t.Fatalf("x = %d, want 7", n)
	}

	type lookalike struct {
		db  uintptr
		tls *libc.TLS
	}
	tls := libc.NewTLS()
	defer tls.Close()
	for _, v := range []any{
		nil,
		42,
		"conn",
		lookalike{db: 1, tls: tls}, // not a pointer
		(*lookalike)(nil),
		&lookalike{},         // no handle
		&lookalike{db: 1},    // no TLS
		&lookalike{tls: tls}, // no db
		&struct{ x int }{},
		&struct {
			db  int
			tls *libc.TLS
		}{db: 1, tls: tls},
		&struct {
			db  uintptr
			tls *int
		}{db: 1, tls: new(int)},
		new(int),
		conn,
	} {
		if rc, ok := rawSQLite(v); ok || rc != (rawConn{}) {
			t.Errorf("rawSQLite(%T %v) = %+v, %v; want false", v, v, rc, ok)
		}
	}
	if _, ok := rawSQLite(&lookalike{db: 1, tls: tls}); !ok {
		t.Error("rawSQLite finds no handle in a struct of the driver's shape")
	}
}

// TestRawStmtValues: each value bound through a rawStmt is stored as
// itself: an empty string as text (not NULL), strings with NUL bytes and
// 4-byte UTF-8 byte for byte, a 1 MiB string, the extreme int64s.
func TestRawStmtValues(t *testing.T) {
	conn := rawTestConn(t, `CREATE TABLE raw_v (k INTEGER PRIMARY KEY, v)`) // v has no affinity
	big := strings.Repeat("ü€𝄞x", 1<<20/10+1)[:1<<20-1] + "\x00"
	cases := []struct {
		name string
		v    any
	}{
		{"empty", ""},
		{"nul", "\x00"},
		{"nuls", "\x00\x00"},
		{"inner nul", "a\x00b"},
		{"leading nul", "\x00tail"},
		{"utf8", "𝄞😀 ü€ ✓"},
		{"nul and utf8", "😀\x00😀"},
		{"invalid utf8", "\xff\xfe\x80"},
		{"one byte", "a"},
		{"1 MiB", big},
		{"min", int64(math.MinInt64)},
		{"max", int64(math.MaxInt64)},
		{"zero", int64(0)},
		{"minus one", int64(-1)},
		{"empty again", ""},
	}
	withRaw(t, conn, func(rc rawConn) error {
		rows := make([][]any, len(cases))
		for i, c := range cases {
			rows[i] = []any{int64(i), c.v}
		}
		return execRaw(rc, `INSERT INTO raw_v (k, v) VALUES (?, ?)`, rows...)
	})
	for i, c := range cases {
		var typ, hx string
		var got any
		if err := conn.QueryRowContext(context.Background(), `SELECT typeof(v), hex(v), v FROM raw_v WHERE k = ?`, i).Scan(&typ, &hx, &got); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		switch v := c.v.(type) {
		case string:
			if typ != "text" {
				t.Errorf("%s: typeof = %s, want text", c.name, typ)
			}
			if want := strings.ToUpper(hex.EncodeToString([]byte(v))); hx != want {
				t.Errorf("%s: stored %d hex digits %.40s…, want %d: %.40s…", c.name, len(hx), hx, len(want), want)
			}
			if got != v {
				t.Errorf("%s: read back %d bytes, want %d", c.name, len(fmt.Sprint(got)), len(v))
			}
		case int64:
			if typ != "integer" || got != v {
				t.Errorf("%s: got %s %v, want integer %d", c.name, typ, got, v)
			}
		}
	}
}

// TestRawStmtReuse: one statement run many times with strings of growing
// and shrinking lengths (its buffer grows, then is reused) stores every
// row as it was given.
func TestRawStmtReuse(t *testing.T) {
	conn := rawTestConn(t, `CREATE TABLE raw_r (k INTEGER PRIMARY KEY, a, n, b, c)`)
	lengths := []int{0, 1, 5, 100, 3, 0, 10_000, 7, 70_000, 2, 300_000, 0, 1, 150_000, 9, 1 << 20, 4, 0}
	var rows [][]any
	for round := range 12 {
		for i, n := range lengths {
			k := len(rows)
			// Each value is its row's, unlike its neighbours' and the
			// previous rows' at the same offsets.
			a := strings.Repeat(string(rune('a'+k%26)), n)
			b := fmt.Sprintf("%d:%s", k, strings.Repeat("é", lengths[(i+round)%len(lengths)]/2))
			c := strings.Repeat("\x00"+string(rune('A'+k%26)), (n+k)%50)
			rows = append(rows, []any{int64(k), a, int64(n) - int64(k), b, c})
		}
	}
	var grew, most int
	withRaw(t, conn, func(rc rawConn) error {
		st, err := rc.prepare(`INSERT INTO raw_r (k, a, n, b, c) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.close()
		last := 0
		for _, args := range rows {
			if err := st.exec(args); err != nil {
				return err
			}
			if st.bufCap != last {
				grew++
				last = st.bufCap
			}
			most = max(most, 1+len(args[1].(string))+len(args[3].(string))+len(args[4].(string)))
			if st.buf == 0 || st.bufCap < most {
				return fmt.Errorf("buffer of %d bytes at %#x for values of %d", st.bufCap, st.buf, most)
			}
		}
		return nil
	})
	if grew < 3 {
		t.Errorf("buffer grew %d times, want the test to make it grow more", grew)
	}
	rs, err := conn.QueryContext(context.Background(), `SELECT k, a, n, b, c FROM raw_r ORDER BY k`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	i := 0
	for ; rs.Next(); i++ {
		var k, n int64
		var a, b, c string
		if err := rs.Scan(&k, &a, &n, &b, &c); err != nil {
			t.Fatal(err)
		}
		want := rows[i]
		if k != want[0] || a != want[1] || n != want[2] || b != want[3] || c != want[4] {
			t.Fatalf("row %d: got (%d, %d bytes, %d, %.20q, %.20q), want (%d, %d bytes, %d, %.20q, %.20q)",
				i, k, len(a), n, b, c, want[0], len(want[1].(string)), want[2], want[3], want[4])
		}
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(rows) {
		t.Fatalf("%d rows read back, want %d", i, len(rows))
	}
}

// rawImportShape is a table and a multi-row INSERT of n tuples shaped
// like the import's bulk insert: a dozen values a row, integers and
// strings.
const rawImportTable = `(seq INTEGER, ext, period, day, seconds, billable, client, project, code, task, notes, user_name)`

func rawImportInsert(table string, n int) string {
	return `INSERT INTO ` + table + ` (seq, ext, period, day, seconds, billable, client, project, code, task, notes, user_name) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),\n\t", n), ",\n\t")
}

// rawImportRows makes n rows of rawImportTable's values from seed.
func rawImportRows(n int, seed uint64) [][]any {
	r := rand.New(rand.NewPCG(seed, 1))
	words := []string{"", "a", "Ünïcødé ✓", "𝄞😀", "nul\x00inside", "\x00", "quote \"'", "new\nline", strings.Repeat("long ", 200)}
	str := func() string {
		if r.IntN(10) == 0 {
			return strings.Repeat(words[r.IntN(len(words))], r.IntN(50))
		}
		return words[r.IntN(len(words))] + fmt.Sprint(r.IntN(1000))
	}
	ints := []int64{0, -1, 1, math.MinInt64, math.MaxInt64, 1 << 40}
	num := func() int64 {
		if r.IntN(4) == 0 {
			return ints[r.IntN(len(ints))]
		}
		return r.Int64() - math.MaxInt64/2
	}
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{int64(i), str(), num(), num(), num(), int64(r.IntN(2)), str(), str(), str(), str(), str(), str()}
	}
	return rows
}

// TestRawStmtMultiRow: a statement of many tuples, as the import binds
// them (chunks of the same statement, then a shorter last one), stores
// every row.
func TestRawStmtMultiRow(t *testing.T) {
	conn := rawTestConn(t, `CREATE TABLE raw_m `+rawImportTable)
	const chunk = 1000
	rows := rawImportRows(3*chunk+7, 2)
	withRaw(t, conn, func(rc rawConn) error {
		full, err := rc.prepare(rawImportInsert("raw_m", chunk))
		if err != nil {
			return err
		}
		defer full.close()
		if full.params != chunk*12 {
			return fmt.Errorf("%d parameters, want %d", full.params, chunk*12)
		}
		for part := range slicesChunk(rows, chunk) {
			var args []any
			for _, r := range part {
				args = append(args, r...)
			}
			st := full
			if len(part) != chunk {
				if st, err = rc.prepare(rawImportInsert("raw_m", len(part))); err != nil {
					return err
				}
				defer st.close()
			}
			if err := st.exec(args); err != nil {
				return err
			}
		}
		return nil
	})
	if n := queryInt(t, conn, `SELECT count(*) FROM raw_m`); n != int64(len(rows)) {
		t.Fatalf("%d rows, want %d", n, len(rows))
	}
	rs, err := conn.QueryContext(context.Background(), `SELECT * FROM raw_m ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for i := 0; rs.Next(); i++ {
		got := make([]any, 12)
		ptrs := make([]any, 12)
		for j := range got {
			ptrs[j] = &got[j]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for j := range got {
			if got[j] != rows[i][j] {
				t.Fatalf("row %d column %d: got %T %.30q, want %T %.30q", i, j, got[j], fmt.Sprint(got[j]), rows[i][j], fmt.Sprint(rows[i][j]))
			}
		}
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
}

// slicesChunk yields s in parts of n, the last one shorter.
func slicesChunk[T any](s []T, n int) func(func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			p := s[:min(n, len(s))]
			s = s[len(p):]
			if !yield(p) {
				return
			}
		}
	}
}

// TestRawStmtErrors: a failing statement says why, in SQLite's words and
// code where SQLite failed, and runs again afterwards; a statement that
// does not prepare is named.
func TestRawStmtErrors(t *testing.T) {
	conn := rawTestConn(t, `CREATE TABLE raw_u (x TEXT UNIQUE, n INTEGER, y TEXT)`)
	withRaw(t, conn, func(rc rawConn) error {
		st, err := rc.prepare(`INSERT INTO raw_u (x, n, y) VALUES (?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.close()
		ok := func(args ...any) {
			t.Helper()
			if err := st.exec(args); err != nil {
				t.Errorf("exec%v: %v", args, err)
			}
		}
		fails := func(want []string, args ...any) error {
			t.Helper()
			err := st.exec(args)
			if err == nil {
				t.Errorf("exec%v: no error, want one containing %q", args, want)
				return nil
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("exec%v: %v; want it to contain %q", args, err, w)
				}
			}
			return err
		}

		ok("a", int64(1), "")
		// A constraint the step fails on: the statement is reset and runs
		// again.
		for round := range 3 {
			err := fails([]string{"UNIQUE constraint failed: raw_u.x", "constraint failed", "(2067)"}, "a", int64(2), "again")
			var re *rawError
			if !errors.As(err, &re) || re.Code() != sqlite3.SQLITE_CONSTRAINT_UNIQUE {
				t.Errorf("error %#v, want a rawError with code %d", err, sqlite3.SQLITE_CONSTRAINT_UNIQUE)
			}
			ok(fmt.Sprint("b", round), int64(3), "")
		}

		// Values the statement cannot take: it is not run, and runs after.
		fails([]string{"3 parameters", "2 values"}, "e", int64(1))
		fails([]string{"3 parameters", "4 values"}, "e", int64(1), "", "")
		fails([]string{"3 parameters", "0 values"})
		fails([]string{"parameter 2", "float64"}, "e", 1.5, "")
		fails([]string{"parameter 3", "int"}, "e", int64(1), 7)
		fails([]string{"parameter 1", "<nil>"}, nil, int64(1), "")
		fails([]string{"parameter 3", "[]uint8"}, "e", int64(1), []byte("y"))
		ok("e", int64(6), "after the bad values")

		// A value SQLite refuses to bind: the connection's mutex, held
		// while binding, is left.
		mu := sqlite3.Xsqlite3_db_mutex(rc.tls, rc.db)
		if mu == 0 {
			return errors.New("the connection has no mutex")
		}
		old := sqlite3.Xsqlite3_limit(rc.tls, rc.db, sqlite3.SQLITE_LIMIT_LENGTH, 30) // its least
		long := strings.Repeat("31 bytes", 4)[:31]
		fails([]string{"parameter 3", "string or blob too big", "(18)"}, "f", int64(1), long)
		other := libc.NewTLS()
		defer other.Close()
		if rc := sqlite3.Xsqlite3_mutex_try(other, mu); rc != sqlite3.SQLITE_OK {
			t.Errorf("after a failed bind the connection's mutex is held (try: %d)", rc)
		} else {
			sqlite3.Xsqlite3_mutex_leave(other, mu)
		}
		sqlite3.Xsqlite3_limit(rc.tls, rc.db, sqlite3.SQLITE_LIMIT_LENGTH, old)
		ok("f", int64(7), long)

		// Closing twice is closing once; a closed statement says so.
		st.close()
		st.close()
		if err := st.exec([]any{"g", int64(8), ""}); err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("exec after close: %v", err)
		}

		// A statement that does not prepare is named by its start.
		for _, c := range []struct{ q, want string }{
			{`INSERT INTO raw_u (x) VALUS (?)`, `"INSERT INTO raw_u (x) VALUS (?)": SQL logic error: near "VALUS": syntax error (1)`},
			{"INSERT INTO no_such_table\n\t(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s) VALUES (?)",
				`"INSERT INTO no_such_table (a, b, c, d, e, f, g, h, i, j, k,…": SQL logic error: no such table: no_such_table (1)`},
			{`-- nothing`, `"-- nothing": no statement`},
			{``, `"": no statement`},
		} {
			st, err := rc.prepare(c.q)
			if err == nil {
				st.close()
				t.Errorf("prepare %q: no error", c.q)
			} else if !strings.Contains(err.Error(), c.want) {
				t.Errorf("prepare %q: %v; want it to contain %s", c.q, err, c.want)
			}
		}
		return nil
	})
	var got []string
	rs, err := conn.QueryContext(context.Background(), `SELECT x || '/' || n FROM raw_u ORDER BY n, x`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var s string
		rs.Scan(&s)
		got = append(got, s)
	}
	if want := "a/1 b0/3 b1/3 b2/3 e/6 f/7"; strings.Join(got, " ") != want {
		t.Errorf("rows %q, want %s", got, want)
	}
}

// TestRawStmtMatchesDriver: rows written through a rawStmt are the rows
// the driver writes from the same values.
func TestRawStmtMatchesDriver(t *testing.T) {
	conn := rawTestConn(t, `CREATE TABLE raw_a `+rawImportTable, `CREATE TABLE raw_b `+rawImportTable)
	const chunk = 300
	rows := rawImportRows(5000, 3)
	var parts [][]any
	for part := range slicesChunk(rows, chunk) {
		var args []any
		for _, r := range part {
			args = append(args, r...)
		}
		parts = append(parts, args)
	}
	withRaw(t, conn, func(rc rawConn) error {
		full, err := rc.prepare(rawImportInsert("raw_a", chunk))
		if err != nil {
			return err
		}
		defer full.close()
		for _, args := range parts {
			st := full
			if len(args) != chunk*12 {
				if st, err = rc.prepare(rawImportInsert("raw_a", len(args)/12)); err != nil {
					return err
				}
				defer st.close()
			}
			if err := st.exec(args); err != nil {
				return err
			}
		}
		return nil
	})
	for _, args := range parts {
		if _, err := conn.ExecContext(context.Background(), rawImportInsert("raw_b", len(args)/12), args...); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`SELECT count(*) FROM raw_a`,
		`SELECT count(*) FROM raw_b`,
		`SELECT count(DISTINCT seq) FROM raw_a`,
	} {
		if n := queryInt(t, conn, q); n != int64(len(rows)) {
			t.Errorf("%s = %d, want %d", q, n, len(rows))
		}
	}
	// The columns have no affinity: a value stored with another type
	// than the driver's would differ too.
	for _, q := range []string{
		`SELECT count(*) FROM (SELECT * FROM raw_a EXCEPT SELECT * FROM raw_b)`,
		`SELECT count(*) FROM (SELECT * FROM raw_b EXCEPT SELECT * FROM raw_a)`,
		`SELECT count(*) FROM raw_a WHERE typeof(client) <> 'text' OR typeof(seconds) <> 'integer'`,
	} {
		if n := queryInt(t, conn, q); n != 0 {
			t.Errorf("%s = %d, want 0", q, n)
		}
	}
}
