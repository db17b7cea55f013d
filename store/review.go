package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"retainer/billing"
)

// ErrNoteFrozen is returned when a note would change on a statement that
// has been issued: what the client received does not change under them.
var ErrNoteFrozen = errors.New("the statement has been issued: its notes are frozen")

// Approval is what approving one statement did.
type Approval struct {
	Statement Statement
	Approved  bool // false: it was not a draft (approving twice changes nothing)
}

// ApproveStatements makes drafts pending, in one transaction: each gets
// today as its issue date, is due payment_terms_days later, and has its
// email queued. It approves the named invoices, or, when invoices is empty,
// every draft of period p. An unknown invoice number fails the whole call
// (ErrNotFound) and approves nothing.
func (s *DB) ApproveStatements(ctx context.Context, rules *Rules, invoices []string, p billing.Period, today billing.Date, now time.Time) ([]Approval, error) {
	var out []Approval
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = nil
		var sts []Statement
		if len(invoices) == 0 {
			var err error
			if sts, err = statements(ctx, tx, `WHERE period = ? AND status = ? ORDER BY contract_id`, int64(p), StatusDraft); err != nil {
				return err
			}
		}
		for _, inv := range invoices {
			found, err := statements(ctx, tx, `WHERE invoice_number = ?`, inv)
			if err != nil {
				return err
			}
			if len(found) == 0 {
				return fmt.Errorf("invoice %s: %w", inv, ErrNotFound)
			}
			sts = append(sts, found[0])
		}
		seen := map[string]bool{}
		for _, st := range sts {
			if seen[st.InvoiceNumber] {
				continue
			}
			seen[st.InvoiceNumber] = true
			if st.Status != StatusDraft {
				out = append(out, Approval{Statement: st})
				continue
			}
			terms := 0
			c := rules.Contract(st.ContractID)
			if c != nil {
				terms = c.PaymentTermsDays
			}
			st.Status, st.IssuedOn, st.DueOn = StatusPending, today, today+billing.Date(terms)
			res, err := tx.ExecContext(ctx, `UPDATE statements SET status = ?, issued_on = ?, due_on = ? WHERE invoice_number = ? AND status = ?`,
				st.Status, int64(st.IssuedOn), int64(st.DueOn), st.InvoiceNumber, StatusDraft)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return fmt.Errorf("invoice %s changed while being approved", st.InvoiceNumber)
			}
			if c != nil && len(c.Contacts) > 0 {
				if err := enqueue(ctx, tx, StatementMessageKey(c.ID, st.Period), "email", c.Contacts, now); err != nil {
					return err
				}
			}
			out = append(out, Approval{Statement: st, Approved: true})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("approve: %w", err)
	}
	return out, nil
}

// Drafts lists the statements under review, oldest period first.
func (s *DB) Drafts(ctx context.Context) ([]Statement, error) {
	var out []Statement
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = statements(ctx, tx, `WHERE status = ? ORDER BY period, contract_id`, StatusDraft)
		return err
	})
	return out, err
}

// unmatchedGroups sums period p's entries that count toward no contract by
// normalized client name (and, for those dated before a contract's start,
// that contract), most hours first.
func unmatchedGroups(ctx context.Context, tx *sql.Tx, rules *Rules, p billing.Period) ([]UnmatchedGroup, error) {
	rows, err := tx.QueryContext(ctx, `SELECT client, project, project_code, SUM(seconds), COUNT(*) FROM entries
		WHERE day >= ? AND day <= ? AND contract_id = '' GROUP BY client, project, project_code`, int64(p.FirstDay()), int64(p.LastDay()))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type key struct{ client, contract string }
	idx := map[key]int{}
	var out []UnmatchedGroup
	for rows.Next() {
		var client, project, code string
		var secs, n int64
		if err := rows.Scan(&client, &project, &code, &secs, &n); err != nil {
			return nil, err
		}
		var before *billing.Contract
		if c := rules.matcher.MatchAnyDate(client, project, code); c != nil && c.BeforeStart(p) {
			before = c
		}
		k := key{billing.NormalizeName(client), ""}
		if before != nil {
			k.contract = before.ID
		}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, UnmatchedGroup{Client: strings.TrimSpace(client), BeforeStart: before})
		}
		out[i].Seconds += secs
		out[i].Entries += n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Seconds != out[j].Seconds {
			return out[i].Seconds > out[j].Seconds
		}
		return out[i].Client < out[j].Client
	})
	return out, nil
}
