package store_test

import (
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
)

// Tests count the statements the store runs with SQLite's authorizer, which
// SQLite asks while it compiles a statement: once for what the statement
// does (SQLITE_SELECT, SQLITE_INSERT, SQLITE_UPDATE of each column it sets,
// SQLITE_DELETE), then once for each column it reads. It is asked when a
// statement is compiled, not when it runs: database/sql compiles a
// statement each time it is executed with arguments, so a loop of
// executions counts once per turn.

// authorizers holds, per SQLite database file, what makes the authorizers
// of each of its connections.
var authorizers = struct {
	sync.Mutex
	once sync.Once
	by   map[string][]func() sqlite.AuthorizerFn // by database path
}{by: map[string][]func() sqlite.AuthorizerFn{}}

// authorize makes every connection opened from now on to the SQLite file
// path ask newFn for an authorizer, which it calls beside those of the
// other counters of path. A connection compiles one statement at a time,
// so an authorizer may keep state between calls.
func authorize(path string, newFn func() sqlite.AuthorizerFn) {
	authorizers.once.Do(func() {
		sqlite.RegisterConnectionHook(func(conn sqlite.ExecQuerierContext, dsn string) error {
			authorizers.Lock()
			var fns []sqlite.AuthorizerFn
			for p, news := range authorizers.by {
				if strings.HasPrefix(dsn, "file:"+p+"?") {
					for _, newFn := range news {
						fns = append(fns, newFn())
					}
				}
			}
			authorizers.Unlock()
			if len(fns) == 0 {
				return nil
			}
			return conn.(sqlite.AuthorizerRegisterer).RegisterAuthorizer(
				func(action sqlite.AuthorizerActionCode, arg1, arg2, db, trigger string) sqlite.AuthorizerReturnCode {
					for _, fn := range fns {
						fn(action, arg1, arg2, db, trigger)
					}
					return sqlite.AuthorizerOK
				})
		})
	})
	authorizers.Lock()
	defer authorizers.Unlock()
	authorizers.by[path] = append(authorizers.by[path], newFn)
}

// countUpdates makes every connection opened from now on to the SQLite
// file path count the statements that set table.column; it returns the
// count. An UPDATE is authorized once per column it sets, however many rows
// it then updates.
func countUpdates(path, table, column string) *atomic.Int64 {
	return countColumn(path, sqlite.AuthUpdate, table, column)
}

// countReads counts the statements compiled that read table.column on
// connections opened from now on to path.
func countReads(path, table, column string) *atomic.Int64 {
	return countColumn(path, sqlite.AuthRead, table, column)
}

// countColumn counts the statements compiled on connections opened from
// now on to path that do what (SQLite authorizes it once per column a
// statement reads or sets) to table.column.
func countColumn(path string, what sqlite.AuthorizerActionCode, table, column string) *atomic.Int64 {
	n := &atomic.Int64{}
	authorize(path, func() sqlite.AuthorizerFn {
		return func(action sqlite.AuthorizerActionCode, tbl, col, _, _ string) sqlite.AuthorizerReturnCode {
			if action == what && tbl == table && col == column {
				n.Add(1)
			}
			return sqlite.AuthorizerOK
		}
	})
	return n
}

// countOutboxUpdates counts the statements that write outbox.status on
// connections opened from now on to path.
func countOutboxUpdates(path string) *atomic.Int64 { return countUpdates(path, "outbox", "status") }

// entryStatements counts, on the connections to one database file, the
// statements that delete entries, and those that read what an entry
// counted (entries.counted) without deleting it: the look-up a deletion
// makes when its DELETE does not return what it deleted.
type entryStatements struct {
	deletes, lookups atomic.Int64
}

// countEntryStatements makes every connection opened from now on to the
// SQLite file path count its entryStatements.
//
// The authorizer's calls for a statement come as a run, which SQLite
// begins with what the statement does: SQLITE_SELECT for a query (and the
// VALUES of an INSERT), SQLITE_INSERT, SQLITE_DELETE, before the columns
// the statement reads. But it authorizes a subquery when it generates the
// subquery's code, after the columns of the WHERE around it and before a
// RETURNING's: so a DELETE of entries runs on through the SQLITE_SELECTs
// that follow it, until a statement of another kind begins. A look-up
// compiled right after a DELETE of entries is taken for part of it; not
// the first of a series of look-ups and deletes, nor one before its
// delete.
func countEntryStatements(path string) *entryStatements {
	c := &entryStatements{}
	authorize(path, func() sqlite.AuthorizerFn {
		var deleting, counted bool // the current run deletes entries, reads entries.counted
		return func(action sqlite.AuthorizerActionCode, table, column, _, _ string) sqlite.AuthorizerReturnCode {
			switch action {
			case sqlite.AuthSelect:
				if !deleting {
					counted = false
				}
			case sqlite.AuthInsert, sqlite.AuthUpdate, sqlite.AuthDelete, sqlite.AuthTransaction, sqlite.AuthPragma:
				deleting, counted = action == sqlite.AuthDelete && table == "entries", false
				if deleting {
					c.deletes.Add(1)
				}
			case sqlite.AuthRead:
				if table == "entries" && column == "counted" && !deleting && !counted {
					counted = true
					c.lookups.Add(1)
				}
			}
			return sqlite.AuthorizerOK
		}
	})
	return c
}
