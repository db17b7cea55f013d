package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"retainer/billing"
)

// Pages of the history lists (the dashboard's statements and outbox).
//
// A list that grows every month is read one page at a time, by keyset: a
// page starts after the last row of the page before (its cursor), never at
// an offset, so a page is one seek in an index in the list's own order and
// costs the same after ten years as after one month. Rows written between
// two requests land before the first page's cursor, never inside a later
// page, so paging on shows every row that was there once, none twice.

// MaxPageSize bounds a page.
const MaxPageSize = 1000

// StatementCursor is where a page of statements starts after: the last
// row of the page before, by (period, contract). The zero cursor is the
// first page.
type StatementCursor struct {
	Period     billing.Period
	ContractID string
}

// IsZero reports whether c is the first page's cursor.
func (c StatementCursor) IsZero() bool { return c.Period == 0 }

// String is c as its statement's invoice number, the form a page link
// carries.
func (c StatementCursor) String() string {
	if c.IsZero() {
		return ""
	}
	return InvoiceNumber(c.ContractID, c.Period)
}

// ParseStatementCursor reads an invoice number "<contract>-<YYYY-MM>" as a
// cursor.
func ParseStatementCursor(s string) (StatementCursor, error) {
	const month = len("2006-01")
	if len(s) < month+2 || s[len(s)-month-1] != '-' {
		return StatementCursor{}, fmt.Errorf("statement cursor %q: want an invoice number <contract>-<YYYY-MM>", s)
	}
	p, err := billing.ParsePeriod(s[len(s)-month:])
	if err != nil || p.String() != s[len(s)-month:] {
		return StatementCursor{}, fmt.Errorf("statement cursor %q: want an invoice number <contract>-<YYYY-MM>", s)
	}
	return StatementCursor{Period: p, ContractID: s[:len(s)-month-1]}, nil
}

// The statement pages' reads (after SELECT … FROM statements), each a seek
// in statements_newest, in its order.
const (
	statementsNewest      = `ORDER BY period DESC, contract_id LIMIT ?`
	statementsBefore      = `WHERE period < ? ORDER BY period DESC, contract_id LIMIT ?`
	statementsRestOfMonth = `WHERE period = ? AND contract_id > ? ORDER BY period DESC, contract_id LIMIT ?`
)

// StatementPage is one page of statements.
type StatementPage struct {
	Statements []Statement
	// Next is the cursor of the page after this one; zero on the last page.
	Next StatementCursor
}

// StatementsPage returns up to limit statements after cursor, newest period
// first and by contract within a period (the order of Statements), and the
// next page's cursor.
func (s *DB) StatementsPage(ctx context.Context, after StatementCursor, limit int) (StatementPage, error) {
	limit = pageLimit(limit)
	var page StatementPage
	err := s.read(ctx, func(tx *sql.Tx) error {
		var sts []Statement
		if !after.IsZero() {
			// The rest of the cursor's month, then the months before it:
			// two seeks, where one OR would read the whole month again.
			rest, err := statements(ctx, tx, statementsRestOfMonth, int64(after.Period), after.ContractID, limit+1)
			if err != nil {
				return err
			}
			sts = rest
		}
		if len(sts) <= limit {
			q, args := statementsBefore, []any{int64(after.Period), limit + 1 - len(sts)}
			if after.IsZero() {
				q, args = statementsNewest, args[1:]
			}
			older, err := statements(ctx, tx, q, args...)
			if err != nil {
				return err
			}
			sts = append(sts, older...)
		}
		if len(sts) > limit {
			last := sts[limit-1]
			sts, page.Next = sts[:limit], StatementCursor{Period: last.Period, ContractID: last.ContractID}
		}
		page.Statements = sts
		return nil
	})
	if err != nil {
		return StatementPage{}, fmt.Errorf("statements page: %w", err)
	}
	return page, nil
}

// DraftMonth is a month with statements under review.
type DraftMonth struct {
	Period billing.Period
	Drafts int
}

// DraftMonths returns the months that have draft statements, oldest first,
// with how many each has.
func (s *DB) DraftMonths(ctx context.Context) ([]DraftMonth, error) {
	var out []DraftMonth
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT period, COUNT(*) FROM statements WHERE status = 'draft' GROUP BY period ORDER BY period`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p, n int64
			if err := rows.Scan(&p, &n); err != nil {
				return err
			}
			out = append(out, DraftMonth{Period: billing.Period(p), Drafts: int(n)})
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("draft months: %w", err)
	}
	return out, nil
}

// OutboxCursor is where a page of the outbox starts after. The outbox
// lists the messages that need an operator (failed, unknown) first, then
// every other one, each part newest first; a cursor names the part and the
// last id shown. The zero cursor is the first page.
type OutboxCursor struct {
	Attention bool // the cursor is in the failed-and-unknown part
	ID        int64
}

// IsZero reports whether c is the first page's cursor.
func (c OutboxCursor) IsZero() bool { return c.ID == 0 }

// String is c as a page link carries it: "a<id>" in the first part, "<id>"
// in the second.
func (c OutboxCursor) String() string {
	if c.IsZero() {
		return ""
	}
	if c.Attention {
		return "a" + strconv.FormatInt(c.ID, 10)
	}
	return strconv.FormatInt(c.ID, 10)
}

// ParseOutboxCursor reads OutboxCursor.String's form.
func ParseOutboxCursor(s string) (OutboxCursor, error) {
	attention := strings.HasPrefix(s, "a")
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "a"), 10, 64)
	if err != nil || id <= 0 {
		return OutboxCursor{}, fmt.Errorf("outbox cursor %q: want a message id", s)
	}
	return OutboxCursor{Attention: attention, ID: id}, nil
}

// OutboxPage is one page of the outbox.
type OutboxPage struct {
	Messages []OutboxMessage
	// Next is the cursor of the page after this one; zero on the last page.
	Next OutboxCursor
}

// The outbox pages' reads: the failed and the unknown messages, one status
// at a time, through outbox_status_id; the others backwards along the
// primary key.
const (
	outboxAttention       = `SELECT ` + outboxCols + ` FROM outbox WHERE status = ? ORDER BY id DESC LIMIT ?`
	outboxAttentionBefore = `SELECT ` + outboxCols + ` FROM outbox WHERE status = ? AND id < ? ORDER BY id DESC LIMIT ?`
	outboxOthers          = `SELECT ` + outboxCols + ` FROM outbox WHERE status NOT IN ('failed', 'unknown') ORDER BY id DESC LIMIT ?`
	outboxOthersBefore    = `SELECT ` + outboxCols + ` FROM outbox WHERE status NOT IN ('failed', 'unknown') AND id < ? ORDER BY id DESC LIMIT ?`
)

// OutboxPageAfter returns up to limit outbox messages after cursor: the
// failed and unknown ones first, then the others, each part newest first.
func (s *DB) OutboxPageAfter(ctx context.Context, after OutboxCursor, limit int) (OutboxPage, error) {
	limit = pageLimit(limit)
	var page OutboxPage
	err := s.read(ctx, func(tx *sql.Tx) error {
		var msgs []OutboxMessage
		if after.IsZero() || after.Attention {
			// One seek per status, newest first, merged.
			for _, status := range []string{OutboxFailed, OutboxUnknown} {
				q, args := outboxAttention, []any{status, limit + 1}
				if !after.IsZero() {
					q, args = outboxAttentionBefore, []any{status, after.ID, limit + 1}
				}
				rows, err := tx.QueryContext(ctx, q, args...)
				if err != nil {
					return err
				}
				some, err := scanOutbox(rows)
				if err != nil {
					return err
				}
				msgs = append(msgs, some...)
			}
			slices.SortFunc(msgs, func(a, b OutboxMessage) int { return cmp.Compare(b.ID, a.ID) })
			msgs = msgs[:min(len(msgs), limit+1)]
		}
		if len(msgs) <= limit {
			q, args := outboxOthers, []any{limit + 1 - len(msgs)}
			if !after.IsZero() && !after.Attention {
				q, args = outboxOthersBefore, []any{after.ID, limit + 1 - len(msgs)}
			}
			rows, err := tx.QueryContext(ctx, q, args...)
			if err != nil {
				return err
			}
			rest, err := scanOutbox(rows)
			if err != nil {
				return err
			}
			msgs = append(msgs, rest...)
		}
		if len(msgs) > limit {
			last := msgs[limit-1]
			msgs, page.Next = msgs[:limit], OutboxCursor{Attention: isAttention(last.Status), ID: last.ID}
		}
		page.Messages = msgs
		return nil
	})
	if err != nil {
		return OutboxPage{}, fmt.Errorf("outbox page: %w", err)
	}
	return page, nil
}

// isAttention reports whether a message of status is in the outbox's first
// part.
func isAttention(status string) bool { return status == OutboxFailed || status == OutboxUnknown }

// pageLimit is limit within 1..MaxPageSize.
func pageLimit(limit int) int { return min(max(limit, 1), MaxPageSize) }
