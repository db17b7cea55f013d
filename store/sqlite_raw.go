package store

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// rawConn is a modernc.org/sqlite connection's own SQLite handle, for the
// one loop where the driver's per-value binding is most of the cost: the
// bulk insert of an import. It is used only inside the function given to
// sql.Conn.Raw for that connection, as the driver's connection would be.
type rawConn struct {
	tls *libc.TLS
	db  uintptr
}

// rawSQLite finds the handle of dc, a connection of the modernc.org/sqlite
// driver (the one go.mod pins: its unexported fields db and tls), and
// reports false when dc is not one.
func rawSQLite(dc any) (rawConn, bool) {
	v := reflect.ValueOf(dc)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return rawConn{}, false
	}
	s := v.Elem()
	db, tls := s.FieldByName("db"), s.FieldByName("tls")
	if !db.IsValid() || db.Kind() != reflect.Uintptr || db.Uint() == 0 ||
		!tls.IsValid() || tls.Type() != reflect.TypeFor[*libc.TLS]() || tls.IsNil() {
		return rawConn{}, false
	}
	return rawConn{tls: (*libc.TLS)(unsafe.Pointer(tls.Pointer())), db: uintptr(db.Uint())}, true
}

// inTx reports whether the connection is inside a transaction.
func (c rawConn) inTx() bool { return sqlite3.Xsqlite3_get_autocommit(c.tls, c.db) == 0 }

// rawError is an error SQLite reported, worded as the driver words its
// own: the result code's text, SQLite's message and the extended result
// code, e.g. "constraint failed: UNIQUE constraint failed: t.x (2067)".
type rawError struct {
	msg  string
	code int
}

func (e *rawError) Error() string { return e.msg }

// Code returns SQLite's (extended) result code, as the driver's
// (*sqlite.Error).Code does.
func (e *rawError) Code() int { return e.code }

// err is the error of a call that returned rc on c. SQLite's message and
// extended code are the handle's last error, so they are used only when
// they are rc's.
func (c rawConn) err(rc int32) error {
	str := libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	code := rc
	msg := str
	if ext := sqlite3.Xsqlite3_extended_errcode(c.tls, c.db); ext&0xff == rc&0xff {
		code = ext
		if m := libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db)); m != "" && m != str {
			msg = str + ": " + m
		}
	}
	return &rawError{msg: fmt.Sprintf("%s (%d)", msg, code), code: int(code)}
}

// rawStmt is a prepared statement whose values are bound from one C
// buffer of its own (SQLITE_STATIC: SQLite reads them there until they
// are bound again), not each copied into memory of its own.
type rawStmt struct {
	c      rawConn
	p      uintptr // the sqlite3_stmt; 0 once closed
	params int
	buf    uintptr // bufCap bytes, never 0 once a statement has run
	bufCap int
	sql    string // the statement's head, for errors
}

// cPtr is the address p of memory from libc's allocator (outside the Go
// heap, so nothing moves or frees it but libc) as a pointer.
func cPtr(p uintptr) unsafe.Pointer { return unsafe.Add(nil, p) }

// sqlHead is the first 60 or so characters of q, its spaces folded, to
// name a statement in an error.
func sqlHead(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	const most = 60
	n := 0
	for i := range q {
		if n == most {
			return strings.TrimRight(q[:i], " ") + "…"
		}
		n++
	}
	return q
}

// prepare compiles q, one statement.
func (c rawConn) prepare(q string) (*rawStmt, error) {
	head := sqlHead(q)
	z, err := libc.CString(q)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare %q: %w", head, err)
	}
	defer libc.Xfree(c.tls, z)
	pp := c.tls.Alloc(int(unsafe.Sizeof(uintptr(0))))
	defer c.tls.Free(int(unsafe.Sizeof(uintptr(0))))
	slot := (*uintptr)(cPtr(pp))
	*slot = 0
	rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, z, -1, pp, 0)
	p := *slot
	if rc != sqlite3.SQLITE_OK {
		err := c.err(rc)
		if p != 0 {
			sqlite3.Xsqlite3_finalize(c.tls, p)
		}
		return nil, fmt.Errorf("sqlite: prepare %q: %w", head, err)
	}
	if p == 0 {
		return nil, fmt.Errorf("sqlite: prepare %q: no statement", head)
	}
	return &rawStmt{c: c, p: p, params: int(sqlite3.Xsqlite3_bind_parameter_count(c.tls, p)), sql: head}, nil
}

// close finalizes the statement and frees its buffer; closing again does
// nothing.
func (s *rawStmt) close() {
	if s.p != 0 {
		sqlite3.Xsqlite3_finalize(s.c.tls, s.p)
		s.p = 0
	}
	if s.buf != 0 {
		libc.Xfree(s.c.tls, s.buf)
		s.buf, s.bufCap = 0, 0
	}
}

// exec binds args, one int64 or string per parameter in order, and runs
// the statement to its end. After an error the statement is reset and can
// run again.
func (s *rawStmt) exec(args []any) error {
	if s.p == 0 {
		return fmt.Errorf("sqlite: %q: statement is closed", s.sql)
	}
	if len(args) != s.params {
		return fmt.Errorf("sqlite: %q has %d parameters, %d values given", s.sql, s.params, len(args))
	}
	n := 1 // the buffer is never empty, so that '' binds as text, not NULL
	for i, a := range args {
		switch v := a.(type) {
		case int64:
		case string:
			if len(v) > math.MaxInt32 {
				return fmt.Errorf("sqlite: %q: parameter %d: string of %d bytes is too long", s.sql, i+1, len(v))
			}
			n += len(v)
		default:
			return fmt.Errorf("sqlite: %q: parameter %d: cannot bind a value of type %T (only int64 and string)", s.sql, i+1, a)
		}
	}
	if n > s.bufCap {
		// The values bound now point into the old buffer; every one of
		// them is bound again below before the statement runs.
		size := max(n, 2*s.bufCap)
		b := libc.Xmalloc(s.c.tls, libc.Tsize_t(size))
		if b == 0 {
			return fmt.Errorf("sqlite: %q: cannot allocate %d bytes", s.sql, size)
		}
		if s.buf != 0 {
			libc.Xfree(s.c.tls, s.buf)
		}
		s.buf, s.bufCap = b, size
	}
	if i, rc := s.bind(args); rc != sqlite3.SQLITE_OK {
		err := s.c.err(rc)
		sqlite3.Xsqlite3_clear_bindings(s.c.tls, s.p)
		return fmt.Errorf("sqlite: %q: parameter %d: %w", s.sql, i+1, err)
	}
	tls, p := s.c.tls, s.p
	rc := sqlite3.Xsqlite3_step(tls, p)
	for rc == sqlite3.SQLITE_ROW {
		rc = sqlite3.Xsqlite3_step(tls, p)
	}
	if rc != sqlite3.SQLITE_DONE {
		err := s.c.err(rc)
		sqlite3.Xsqlite3_reset(tls, p)
		return err
	}
	if rc = sqlite3.Xsqlite3_reset(tls, p); rc != sqlite3.SQLITE_OK {
		return s.c.err(rc)
	}
	return nil
}

// bind binds args, already checked to be int64 or string values that fit
// the buffer, under one hold of the connection's mutex. It returns the
// index of the value that failed and SQLite's code, SQLITE_OK if none.
func (s *rawStmt) bind(args []any) (int, int32) {
	tls, p := s.c.tls, s.p
	mu := sqlite3.Xsqlite3_db_mutex(tls, s.c.db)
	sqlite3.Xsqlite3_mutex_enter(tls, mu)
	defer sqlite3.Xsqlite3_mutex_leave(tls, mu)
	buf := unsafe.Slice((*byte)(cPtr(s.buf)), s.bufCap)
	off := 0
	for i, a := range args {
		var rc int32
		switch v := a.(type) {
		case int64:
			rc = sqlite3.Xsqlite3_bind_int64(tls, p, int32(i+1), v)
		case string:
			copy(buf[off:], v)
			rc = sqlite3.Xsqlite3_bind_text(tls, p, int32(i+1), s.buf+uintptr(off), int32(len(v)), 0)
			off += len(v)
		default:
			return i, sqlite3.SQLITE_MISMATCH // exec lets no other type through
		}
		if rc != sqlite3.SQLITE_OK {
			return i, rc
		}
	}
	return 0, sqlite3.SQLITE_OK
}
