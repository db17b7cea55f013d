package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Corrections of an invoice's payment (SPEC §13).

var (
	// ErrNotApproved refuses to pay a statement still under review.
	ErrNotApproved = errors.New("not approved yet")
	// ErrPaidBeforeIssue refuses a payment dated before the invoice was issued.
	ErrPaidBeforeIssue = errors.New("payment date before the issue date")
	// ErrNotPaid refuses to undo a payment that was never recorded.
	ErrNotPaid = errors.New("not paid")
)

// MarkUnpaid undoes a mistaken MarkPaid: the invoice is back to sent when
// its email went out, else to pending, and its payment date is cleared. An
// invoice that is not paid is ErrNotPaid.
func (s *DB) MarkUnpaid(ctx context.Context, invoice string) (*Statement, error) {
	var out *Statement
	err := s.tx(ctx, func(tx *sql.Tx) error {
		st, err := invoiceByNumber(ctx, tx, invoice)
		if err != nil {
			return err
		}
		if st.Status != StatusPaid {
			return fmt.Errorf("invoice %s is %s: %w", invoice, st.Status, ErrNotPaid)
		}
		status := StatusPending
		if st.SentAt != nil {
			status = StatusSent
		}
		if _, err := tx.ExecContext(ctx, `UPDATE statements SET status = ?, paid_on = NULL WHERE invoice_number = ?`, status, invoice); err != nil {
			return err
		}
		st.Status, st.PaidOn = status, nil
		out = st
		return nil
	})
	return out, err
}

// invoiceByNumber reads one statement by its invoice number.
func invoiceByNumber(ctx context.Context, tx *sql.Tx, invoice string) (*Statement, error) {
	sts, err := statements(ctx, tx, `WHERE invoice_number = ?`, invoice)
	if err != nil {
		return nil, fmt.Errorf("invoice %s: %w", invoice, err)
	}
	if len(sts) == 0 {
		return nil, fmt.Errorf("invoice %s: %w", invoice, ErrNotFound)
	}
	return &sts[0], nil
}
