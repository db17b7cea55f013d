package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"retainer/billing"
)

// StatementData is everything one contract's statement for one period
// shows. Its Row carries the money as the statement states it: Currency,
// and Bill, the invoice lines, subtotal, tax (with its rate) and total
// with tax — frozen when the period is closed, so a renderer never
// computes tax from the current config; for an open period's preview,
// computed with the contract's current tax_rate. Row.Invoice is the stored
// statement (number, dates, status), nil while the period is open.
type StatementData struct {
	Row
	Weeks []billing.Week
	// Decisions are the client's decisions of the period (SPEC §12), in
	// the order they were taken: recorded facts, read as they are (see
	// decisions.go), not part of the frozen figures.
	Decisions []Decision
}

// StatementFor returns contract id's statement data for period p: frozen
// when p is closed, a preview computed as status does while it is open.
func (s *DB) StatementFor(ctx context.Context, rules *Rules, id string, p billing.Period, asOf billing.Date) (*StatementData, error) {
	c := rules.byID[id]
	if c == nil {
		return nil, fmt.Errorf("contract %s: %w", id, ErrNotFound)
	}
	var out *StatementData
	ctx = s.withStore(ctx) // one per statement email: its reads prepared once
	err := s.read(ctx, func(tx *sql.Tx) error {
		st, err := loadState(ctx, tx, p, id)
		if err != nil {
			return err
		}
		d := &StatementData{Row: Row{Contract: c}}
		if st.hasLast && p <= st.last {
			frozen, err := frozenRows(ctx, tx, p, id)
			if err != nil {
				return err
			}
			f := frozen[id]
			if f == nil {
				return fmt.Errorf("contract %s has no statement for closed period %s: %w", id, p, ErrNotFound)
			}
			d.Row = f.row(c)
			var enc string
			if err := queryRowTx(ctx, tx, `SELECT burndown FROM closes WHERE contract_id = ? AND period = ?`, id, int64(p)).Scan(&enc); err != nil {
				return err
			}
			if d.Weeks, err = decodeWeeks(enc); err != nil {
				return fmt.Errorf("burndown of %s %s: %w", id, p, err)
			}
		} else {
			d.Row = openRow(c, st.final(c, p, asOf))
			q, err := prepared(ctx, tx, `SELECT day, counted FROM usage_daily WHERE contract_id = ? AND day >= ? AND day <= ?`)
			if err != nil {
				return err
			}
			daily, err := dailyUsage(ctx, q, id, p)
			if err != nil {
				return err
			}
			d.Weeks = billing.Burndown(p, daily, d.Figures.LateAdjustment, d.Figures.Available)
		}
		rows := []Row{d.Row}
		if err := s.decorate(ctx, tx, p, rows); err != nil {
			return err
		}
		d.Row = rows[0]
		if d.Decisions, err = decisionsOf(ctx, tx, id, p); err != nil {
			return err
		}
		out = d
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("statement %s %s: %w", id, p, err)
	}
	return out, nil
}

// SetNote attaches text to (contract, period); empty text removes the note.
// A statement's notes are frozen once it is issued (ErrNoteFrozen); a
// draft's may still change.
func (s *DB) SetNote(ctx context.Context, id string, p billing.Period, text string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		sts, err := statements(ctx, tx, `WHERE contract_id = ? AND period = ?`, id, int64(p))
		if err != nil {
			return err
		}
		if len(sts) > 0 && sts[0].Status != StatusDraft {
			return fmt.Errorf("note %s %s: %w", id, p, ErrNoteFrozen)
		}
		if text == "" {
			_, err := tx.ExecContext(ctx, `DELETE FROM notes WHERE contract_id = ? AND period = ?`, id, int64(p))
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO notes (contract_id, period, text, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (contract_id, period) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at`,
			id, int64(p), text, now.Unix())
		return err
	})
}

// MarkPaid sets an invoice paid on date d. Marking a paid invoice again
// changes nothing. A draft (under review) is ErrNotApproved; a date before
// the issue date is ErrPaidBeforeIssue.
func (s *DB) MarkPaid(ctx context.Context, invoice string, d billing.Date) (*Statement, error) {
	var out *Statement
	err := s.tx(ctx, func(tx *sql.Tx) error {
		st, err := invoiceByNumber(ctx, tx, invoice)
		if err != nil {
			return err
		}
		switch {
		case st.Status == StatusDraft:
			return fmt.Errorf("invoice %s is a draft under review: %w", invoice, ErrNotApproved)
		case d < st.IssuedOn:
			return fmt.Errorf("%w: invoice %s was issued on %s, the payment date is %s", ErrPaidBeforeIssue, invoice, st.IssuedOn, d)
		}
		if st.Status != StatusPaid {
			if _, err := tx.ExecContext(ctx, `UPDATE statements SET status = 'paid', paid_on = ? WHERE invoice_number = ?`, int64(d), invoice); err != nil {
				return err
			}
			st.Status, st.PaidOn = StatusPaid, &d
		}
		out = st
		return nil
	})
	return out, err
}

// Statements lists the statements of one contract (all when id is empty),
// newest period first.
func (s *DB) Statements(ctx context.Context, id string) ([]Statement, error) {
	var out []Statement
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		if id == "" {
			out, err = statements(ctx, tx, `ORDER BY period DESC, contract_id`)
		} else {
			out, err = statements(ctx, tx, `WHERE contract_id = ? ORDER BY period DESC`, id)
		}
		return err
	})
	return out, err
}

// WorkLine is where a contract's counted time went in a period: one project
// and task.
type WorkLine struct {
	Project, Task string
	Counted       int64
	Entries       int64
}

// Breakdown returns contract id's counted time in period p by project and
// task, most first.
func (s *DB) Breakdown(ctx context.Context, id string, p billing.Period) ([]WorkLine, error) {
	var out []WorkLine
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT project, task, SUM(counted), COUNT(*) FROM entries
			WHERE day >= ? AND day <= ? AND contract_id = ? GROUP BY project, task ORDER BY SUM(counted) DESC, project, task`,
			int64(p.FirstDay()), int64(p.LastDay()), id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var w WorkLine
			if err := rows.Scan(&w.Project, &w.Task, &w.Counted, &w.Entries); err != nil {
				return err
			}
			out = append(out, w)
		}
		return rows.Err()
	})
	return out, err
}
