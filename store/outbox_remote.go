package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// RemoteID returns the status of the outbox message key on channel and the
// id its transport gave it when delivering it ("" when none: not delivered,
// or by a transport that gives none). A message not queued is ErrNotFound.
func (s *DB) RemoteID(ctx context.Context, key, channel string) (status, remoteID string, err error) {
	err = s.read(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT status, remote_id FROM outbox WHERE key = ? AND channel = ?`, key, channel).Scan(&status, &remoteID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("outbox %s on %s: %w", key, channel, ErrNotFound)
		}
		return err
	})
	return status, remoteID, err
}

// SetRemoteID keeps the id the transport gave outbox message id (Slack's
// ts), right after the transport delivered it. It waits out a busy database
// until ctx ends.
func (s *DB) SetRemoteID(ctx context.Context, id int64, remoteID string) error {
	err := s.patientTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET remote_id = ? WHERE id = ?`, remoteID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("outbox message %d: %w", id, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("keep the remote id of outbox message %d: %w", id, err)
	}
	return nil
}

// withoutQueuedDigests drops from msgs the digest messages of a period and
// channel that already has a digest in the outbox, under any key: a period's
// digest is queued once, whether as one message (digest/<YYYY-MM>, the only
// key before digests were split) or as parts (digest/<YYYY-MM>/<n>, all
// queued in one transaction), so a month sent before an upgrade, or split
// differently since, is never sent again.
func withoutQueuedDigests(ctx context.Context, tx *sql.Tx, msgs []OutboxMessage) ([]OutboxMessage, error) {
	type periodChannel struct{ period, channel string }
	done := map[periodChannel]bool{}
	for _, m := range msgs {
		k, err := ParseKey(m.Key)
		if err != nil || k.Kind != KindDigest {
			continue
		}
		pc := periodChannel{k.Period.String(), m.Channel}
		if _, seen := done[pc]; seen {
			continue
		}
		whole := Key{Kind: KindDigest, Period: k.Period}.String()
		var n int
		err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE channel = ? AND (key = ? OR key LIKE ?) LIMIT 1) AS any_digest`,
			m.Channel, whole, whole+"/%").Scan(&n)
		if err != nil {
			return nil, fmt.Errorf("queue %s: %w", m.Key, err)
		}
		done[pc] = n > 0
	}
	out := msgs[:0:0]
	for _, m := range msgs {
		if k, err := ParseKey(m.Key); err == nil && k.Kind == KindDigest && done[periodChannel{k.Period.String(), m.Channel}] {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}
