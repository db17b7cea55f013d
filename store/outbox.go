package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Outbox statuses.
const (
	OutboxPending = "pending"
	OutboxSending = "sending" // claimed by a dispatcher; "unknown" if it never reports back
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
	OutboxUnknown = "unknown"
)

// OutboxMessage is one queued message.
type OutboxMessage struct {
	ID            int64
	Key           string
	Channel       string
	To            []string
	Status        string
	Transport     string
	Attempts      int
	LastError     string
	NextAttemptAt time.Time
	CreatedAt     time.Time
	SentAt        *time.Time
}

func enqueue(ctx context.Context, tx *sql.Tx, key, channel string, to []string, now time.Time) error {
	rcpt, err := json.Marshal(to)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox (key, channel, recipients, status, next_attempt_at, created_at)
		VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (key, channel) DO NOTHING`, key, channel, string(rcpt), now.Unix(), now.Unix())
	if err != nil {
		return fmt.Errorf("queue %s: %w", key, err)
	}
	return nil
}

// Enqueue queues messages; a (key, channel) already queued is left as it is.
func (s *DB) Enqueue(ctx context.Context, msgs []OutboxMessage, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, m := range msgs {
			if err := enqueue(ctx, tx, m.Key, m.Channel, m.To, now); err != nil {
				return err
			}
		}
		return nil
	})
}

const outboxCols = `id, key, channel, recipients, status, transport, attempts, last_error, next_attempt_at, created_at, sent_at`

func scanOutbox(rows *sql.Rows) ([]OutboxMessage, error) {
	defer rows.Close()
	var out []OutboxMessage
	for rows.Next() {
		var m OutboxMessage
		var rcpt string
		var next, created int64
		var sent sql.NullInt64
		if err := rows.Scan(&m.ID, &m.Key, &m.Channel, &rcpt, &m.Status, &m.Transport, &m.Attempts, &m.LastError, &next, &created, &sent); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(rcpt), &m.To); err != nil {
			return nil, fmt.Errorf("outbox %d recipients: %w", m.ID, err)
		}
		m.NextAttemptAt, m.CreatedAt = time.Unix(next, 0).UTC(), time.Unix(created, 0).UTC()
		if sent.Valid {
			t := time.Unix(sent.Int64, 0).UTC()
			m.SentAt = &t
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Outbox lists every message, newest first.
func (s *DB) Outbox(ctx context.Context) ([]OutboxMessage, error) {
	var out []OutboxMessage
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+outboxCols+` FROM outbox ORDER BY id DESC`)
		if err != nil {
			return err
		}
		out, err = scanOutbox(rows)
		return err
	})
	return out, err
}

// ClaimDue marks up to limit pending messages due at now (every pending one
// when force) as being sent, counts the attempt, and returns them. A claimed
// message is never claimed again: it ends sent, pending (a retry), failed or
// unknown.
func (s *DB) ClaimDue(ctx context.Context, now time.Time, force bool, limit int) ([]OutboxMessage, error) {
	var out []OutboxMessage
	err := s.tx(ctx, func(tx *sql.Tx) error {
		q := `SELECT ` + outboxCols + ` FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?` + s.d.skipLocked
		due := now.Unix()
		if force {
			due = 1 << 62
		}
		rows, err := tx.QueryContext(ctx, q, due, limit)
		if err != nil {
			return err
		}
		if out, err = scanOutbox(rows); err != nil {
			return err
		}
		for i := range out {
			out[i].Attempts++
			out[i].Status = OutboxSending
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ?`, out[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// Delivered records the outcome of a claimed message: sent, pending again
// at next (a temporary failure), failed or unknown.
func (s *DB) Delivered(ctx context.Context, id int64, status, transport, lastError string, next, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var sent any
		if status == OutboxSent {
			sent = now.Unix()
		}
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = ?, transport = ?, last_error = ?, next_attempt_at = ?,
			sent_at = COALESCE(?, sent_at) WHERE id = ? AND status = 'sending'`, status, transport, lastError, next.Unix(), sent, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("outbox %d: not being sent", id)
		}
		if status == OutboxSent {
			return markStatementSent(ctx, tx, id, now)
		}
		return nil
	})
}

// markStatementSent sets a statement's invoice to sent when its email went.
func markStatementSent(ctx context.Context, tx *sql.Tx, id int64, now time.Time) error {
	var key, channel string
	if err := tx.QueryRowContext(ctx, `SELECT key, channel FROM outbox WHERE id = ?`, id).Scan(&key, &channel); err != nil {
		return err
	}
	contract, period, ok := StatementKey(key)
	if !ok || channel != "email" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE statements SET status = 'sent', sent_at = ? WHERE invoice_number = ? AND status = 'pending'`,
		now.Unix(), InvoiceNumber(contract, period))
	return err
}

// Retry puts a failed or unknown message back to pending, due now.
func (s *DB) Retry(ctx context.Context, id int64, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'pending', next_attempt_at = ? WHERE id = ? AND status IN ('failed', 'unknown')`,
			now.Unix(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("outbox message %d: %w (or it is not failed or unknown)", id, ErrNotFound)
		}
		return nil
	})
}

// Release puts claimed messages that were never tried back to pending, as
// if they had not been claimed.
func (s *DB) Release(ctx context.Context, ids []int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'pending', attempts = attempts - 1 WHERE id = ? AND status = 'sending'`, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// RecoverClaims turns messages left "sending" by a process that stopped
// before it could say how the delivery went into "unknown": they may have
// gone out, so they are not resent without an operator.
func (s *DB) RecoverClaims(ctx context.Context) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'unknown', last_error = 'the process stopped during delivery' WHERE status = 'sending'`)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// Queued returns which of keys are in the outbox already, on any channel.
func (s *DB) Queued(ctx context.Context, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		for len(keys) > 0 {
			chunk := keys[:min(len(keys), 500)]
			keys = keys[len(chunk):]
			args := make([]any, len(chunk))
			for i, k := range chunk {
				args[i] = k
			}
			rows, err := tx.QueryContext(ctx, `SELECT DISTINCT key FROM outbox WHERE key IN (`+placeholders(len(chunk))+`)`, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					rows.Close()
					return err
				}
				out[k] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// StatementByInvoice returns one statement by its invoice number.
func (s *DB) StatementByInvoice(ctx context.Context, invoice string) (*Statement, error) {
	var out *Statement
	err := s.read(ctx, func(tx *sql.Tx) error {
		sts, err := statements(ctx, tx, `WHERE invoice_number = ?`, invoice)
		if err != nil {
			return err
		}
		if len(sts) == 0 {
			return fmt.Errorf("invoice %s: %w", invoice, ErrNotFound)
		}
		out = &sts[0]
		return nil
	})
	return out, err
}
