package store

import (
	"context"
	"database/sql"
)

// Statements prepared once per store.
//
// SQLite parses a statement's text every time it is prepared, and a query
// run through a transaction is prepared again each time: for the small
// reads a statement email makes (its contract's state, its frozen row, its
// notes, invoice and decisions), parsing was about half their cost. A read
// made often (StatementFor, Status) puts its store in its context
// (withStore), and the queries it runs through queryTx and queryRowTx use
// statements the store prepared once, by their text; database/sql prepares
// each again on a connection that has not seen it, and forgets it with its
// connection. Without a store in the context they are plain queries. Only fixed texts go through here
// (a handful of variants each), never one built with a list of
// placeholders, so the store keeps a bounded set. Close closes them.

// storeKey is the context key of the store a transaction belongs to.
type storeKey struct{}

// withStore is ctx for a transaction of s.
func (s *DB) withStore(ctx context.Context) context.Context {
	return context.WithValue(ctx, storeKey{}, s)
}

// prepared returns query as a statement of tx: prepared once by its store
// when ctx carries one and the store has run query before, else for tx
// alone (closed with it). The first time is for tx alone because
// preparing for the store inside a transaction takes a second connection
// (the transaction holds one) and prepares the text twice, once on each:
// a command that reads once, as most of the CLI's do, would pay twice.
func prepared(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s, _ := ctx.Value(storeKey{}).(*DB)
	if s == nil {
		return tx.PrepareContext(ctx, query)
	}
	st, ok := s.stmts.Load(query)
	if !ok {
		if _, again := s.stmts.LoadOrStore(query, seenOnce{}); !again {
			return tx.PrepareContext(ctx, query)
		}
		st, _ = s.stmts.Load(query)
	}
	if _, once := st.(seenOnce); once {
		fresh, err := s.db.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		if !s.stmts.CompareAndSwap(query, st, fresh) {
			fresh.Close() // another got there first
			st, _ = s.stmts.Load(query)
		} else {
			st = fresh
		}
	}
	if stmt, ok := st.(*sql.Stmt); ok {
		return tx.StmtContext(ctx, stmt), nil
	}
	return tx.PrepareContext(ctx, query) // the store is closing
}

// seenOnce marks a query the store has run once, not prepared yet.
type seenOnce struct{}

// queryTx is tx.QueryContext, through the store's prepared statement when
// ctx carries the store.
func queryTx(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if ctx.Value(storeKey{}) == nil {
		return tx.QueryContext(ctx, query, args...)
	}
	st, err := prepared(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRowTx is tx.QueryRowContext, through the store's prepared statement
// when ctx carries the store.
func queryRowTx(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if ctx.Value(storeKey{}) == nil {
		return tx.QueryRowContext(ctx, query, args...)
	}
	st, err := prepared(ctx, tx, query)
	if err != nil {
		return tx.QueryRowContext(ctx, query, args...) // which reports the error
	}
	return st.QueryRowContext(ctx, args...)
}
