package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The Stripe step of a statement (SPEC §14). While Stripe is configured,
// each statement that is pending gets a Stripe invoice, created by the
// payments job; its email waits for the link (see Claim.HoldForPaymentLink)
// until the step is done: open (linked), failed (Stripe refused it for
// good) or skipped (nothing to bill). A step whose attempt failed for now —
// Stripe unreachable, a 5xx, a 429 — stays pending and is retried at its
// next attempt, like an outbox message; the close and everything else go on.

// Stripe step statuses.
const (
	StripePending = "pending" // to do, or retried at NextAttemptAt
	StripeOpen    = "open"    // finalized: HostedURL is the payment link
	StripeFailed  = "failed"  // refused for good: the email goes without a link
	StripeSkipped = "skipped" // nothing to bill: no contact, nothing owed
)

// StripeInvoice is one statement's Stripe step.
type StripeInvoice struct {
	InvoiceNumber string
	Status        string
	StripeID      string // in_…, kept as soon as Stripe created it; "" before
	HostedURL     string // the payment link, once open
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// holdForPaymentLink is the condition of Claim that keeps a statement email
// in the outbox while its statement is pending and its Stripe step is not
// done. A statement no longer pending (paid by hand before its email went
// out) holds nothing back.
const holdForPaymentLink = ` AND (invoice_number = '' OR NOT EXISTS (SELECT 1 FROM statements s
	WHERE s.invoice_number = outbox.invoice_number AND s.status = 'pending'
	AND NOT EXISTS (SELECT 1 FROM stripe_invoices p WHERE p.invoice_number = s.invoice_number AND p.status <> 'pending')))`

// StripeWork is a pending statement whose Stripe step is due.
type StripeWork struct {
	Statement Statement
	// StripeID is the Stripe invoice an earlier attempt created, "" when
	// none did.
	StripeID string
}

// StripeDue returns up to limit pending statements whose Stripe step is due
// at now — none yet, or a retry whose time has come — oldest period first.
// It only reads: a daemon asks every few seconds.
func (s *DB) StripeDue(ctx context.Context, now time.Time, limit int) ([]StripeWork, error) {
	var out []StripeWork
	err := s.read(ctx, func(tx *sql.Tx) error {
		out = nil
		sts, err := statements(ctx, tx, `WHERE status = 'pending' AND invoice_number NOT IN
			(SELECT invoice_number FROM stripe_invoices WHERE status <> 'pending' OR next_attempt_at > ?)
			ORDER BY period, contract_id LIMIT ?`, now.Unix(), limit)
		if err != nil || len(sts) == 0 {
			return err
		}
		args := make([]any, len(sts))
		idx := make(map[string]int, len(sts))
		for i, st := range sts {
			args[i] = st.InvoiceNumber
			idx[st.InvoiceNumber] = i
			out = append(out, StripeWork{Statement: st})
		}
		rows, err := tx.QueryContext(ctx, `SELECT invoice_number, stripe_id FROM stripe_invoices WHERE invoice_number IN (`+placeholders(len(args))+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var inv, id string
			if err := rows.Scan(&inv, &id); err != nil {
				return err
			}
			out[idx[inv]].StripeID = id
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("stripe steps due: %w", err)
	}
	return out, nil
}

// ClaimStripe takes invoice's Stripe step for one attempt at now: it
// creates the step when the statement has none, counts the attempt and puts
// its next attempt at now+lease, so that no other process (a replica)
// attempts it meanwhile and a crash delays it by lease at most. ok is false
// when the statement is no longer pending, or the step is done or taken.
func (s *DB) ClaimStripe(ctx context.Context, invoice string, now time.Time, lease time.Duration) (StripeInvoice, bool, error) {
	var out StripeInvoice
	var ok bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ok = false
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM statements WHERE invoice_number = ?`, invoice).Scan(&status)
		if err == sql.ErrNoRows {
			return fmt.Errorf("invoice %s: %w", invoice, ErrNotFound)
		}
		if err != nil || status != StatusPending {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO stripe_invoices (invoice_number, status, next_attempt_at, created_at, updated_at)
			VALUES (?, 'pending', ?, ?, ?) ON CONFLICT (invoice_number) DO NOTHING`, invoice, now.Unix(), now.Unix(), now.Unix()); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE stripe_invoices SET attempts = attempts + 1, next_attempt_at = ?, updated_at = ?
			WHERE invoice_number = ? AND status = 'pending' AND next_attempt_at <= ?`, now.Add(lease).Unix(), now.Unix(), invoice, now.Unix())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		st, err := stripeInvoice(ctx, tx, invoice)
		if err != nil {
			return err
		}
		out, ok = *st, true
		return nil
	})
	if err != nil {
		return StripeInvoice{}, false, fmt.Errorf("claim stripe step of %s: %w", invoice, err)
	}
	return out, ok, nil
}

// StripeCreated keeps the id of the Stripe invoice an attempt just created
// for invoice, before it is filled and finalized: a later attempt finishes
// that one instead of looking for it.
func (s *DB) StripeCreated(ctx context.Context, invoice, stripeID string, now time.Time) error {
	return s.patientTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE stripe_invoices SET stripe_id = ?, updated_at = ? WHERE invoice_number = ?`, stripeID, now.Unix(), invoice)
		return err
	})
}

// StripeOutcome is how one attempt at a Stripe step ended.
type StripeOutcome struct {
	Invoice   string
	Status    string // StripeOpen, StripePending (retried at Next), StripeFailed or StripeSkipped
	StripeID  string // kept when not ""
	HostedURL string // StripeOpen: the payment link
	LastError string // why it is not open; "" when it is
	Next      time.Time
}

// RecordStripe writes the outcome of an attempt. Open, failed or skipped,
// the step is done: the statement's email, held for it, goes out with the
// next dispatch. A done step is never changed again.
func (s *DB) RecordStripe(ctx context.Context, o StripeOutcome, now time.Time) error {
	next := o.Next
	if o.Status != StripePending {
		next = now
	}
	err := s.patientTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE stripe_invoices SET status = ?, stripe_id = COALESCE(NULLIF(CAST(? AS TEXT), ''), stripe_id),
			hosted_url = ?, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE invoice_number = ? AND status = 'pending'`,
			o.Status, o.StripeID, o.HostedURL, o.LastError, next.Unix(), now.Unix(), o.Invoice)
		return err
	})
	if err != nil {
		return fmt.Errorf("record stripe step of %s: %w", o.Invoice, err)
	}
	return nil
}

// DeferStripe puts off the Stripe steps of invoices, pending statements
// not attempted, to next, with reason: an attempt just found Stripe
// unavailable, and each of them would wait for it in turn. Their attempts
// are not counted; a step another process holds, or one done, is left
// alone.
func (s *DB) DeferStripe(ctx context.Context, invoices []string, next time.Time, reason string, now time.Time) error {
	if len(invoices) == 0 {
		return nil
	}
	err := s.patientTx(ctx, func(tx *sql.Tx) error {
		for _, inv := range invoices {
			if _, err := tx.ExecContext(ctx, `INSERT INTO stripe_invoices (invoice_number, status, next_attempt_at, last_error, created_at, updated_at)
				SELECT invoice_number, 'pending', ?, ?, ?, ? FROM statements WHERE invoice_number = ? AND status = 'pending'
				ON CONFLICT (invoice_number) DO UPDATE SET next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error,
				updated_at = excluded.updated_at WHERE stripe_invoices.status = 'pending' AND stripe_invoices.next_attempt_at <= ?`,
				next.Unix(), reason, now.Unix(), now.Unix(), inv, now.Unix()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("defer stripe steps: %w", err)
	}
	return nil
}

const stripeCols = `invoice_number, status, stripe_id, hosted_url, attempts, next_attempt_at, last_error, created_at, updated_at`

func stripeInvoice(ctx context.Context, tx *sql.Tx, invoice string) (*StripeInvoice, error) {
	var st StripeInvoice
	var next, created, updated int64
	err := tx.QueryRowContext(ctx, `SELECT `+stripeCols+` FROM stripe_invoices WHERE invoice_number = ?`, invoice).Scan(
		&st.InvoiceNumber, &st.Status, &st.StripeID, &st.HostedURL, &st.Attempts, &next, &st.LastError, &created, &updated)
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("stripe invoice of %s: %w", invoice, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	st.NextAttemptAt, st.CreatedAt, st.UpdatedAt = time.Unix(next, 0).UTC(), time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return &st, nil
}

// StripeInvoiceOf returns invoice's Stripe step; ErrNotFound when it has
// none (Stripe is not configured, or the payments job has not run yet).
func (s *DB) StripeInvoiceOf(ctx context.Context, invoice string) (*StripeInvoice, error) {
	var out *StripeInvoice
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = stripeInvoice(ctx, tx, invoice)
		return err
	})
	return out, err
}

// PaymentLink returns invoice's Stripe payment link ("Pay now" in the
// email, the PDF and the portal), or "" when it has none.
func (s *DB) PaymentLink(ctx context.Context, invoice string) (string, error) {
	var url string
	err := s.read(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT hosted_url FROM stripe_invoices WHERE invoice_number = ? AND status = 'open'`, invoice).Scan(&url)
		if err == sql.ErrNoRows {
			return nil
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("payment link of %s: %w", invoice, err)
	}
	return url, nil
}

// StripeEventSeen reports whether the webhook event id was applied already.
func (s *DB) StripeEventSeen(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM stripe_events WHERE event_id = ?`, id).Scan(&n)
	})
	if err != nil {
		return false, fmt.Errorf("stripe event %s: %w", id, err)
	}
	return n > 0, nil
}

// RecordStripeEvent notes that the webhook event id was applied: a replay
// of it changes nothing. Noting it twice is noting it once.
func (s *DB) RecordStripeEvent(ctx context.Context, id, typ, invoice string, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO stripe_events (event_id, type, invoice_number, received_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (event_id) DO NOTHING`, id, typ, invoice, now.Unix())
		return err
	})
	if err != nil {
		return fmt.Errorf("stripe event %s: %w", id, err)
	}
	return nil
}
