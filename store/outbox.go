package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"retainer/billing"
)

// Outbox statuses.
const (
	OutboxPending = "pending"
	OutboxSending = "sending" // claimed by a dispatcher (see Claim)
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
	OutboxUnknown = "unknown"
	// OutboxCancelled is a message that became pointless before it went
	// out (a payment reminder of an invoice paid since it was queued): it
	// is never sent, nor retried.
	OutboxCancelled = "cancelled"
)

// DefaultLease is how long a claim lasts unless its owner renews it.
const DefaultLease = time.Minute

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
	// ClaimedBy is the owner (Owner.String) of its last claim, "" when none.
	ClaimedBy string
	// HandedOverAt is when its last claim began the irrevocable step of
	// delivery; nil when it did not.
	HandedOverAt *time.Time
}

// Kinds of outbox message: the first part of a Key (SPEC §8).
const (
	KindStatement       = "statement"
	KindAlert           = "alert"
	KindClientAlert     = "client-alert"
	KindDigest          = "digest"
	KindCheckin         = "checkin"
	KindRenewal         = "renewal"
	KindOverdue         = "overdue"
	KindPaymentReminder = "payment-reminder"
	KindDecision        = "decision"
)

// Key is an outbox message's idempotency key (SPEC §8), typed: String is
// what the outbox stores, ParseKey reads it back; nothing else takes a key
// apart.
//
//	statement/<contract>/<YYYY-MM>
//	alert/<contract>/<YYYY-MM>/<threshold>       Part: 90, 100, overage, projected_overage…
//	client-alert/<contract>/<YYYY-MM>
//	digest/<YYYY-MM>[/<part>]                    no Contract
//	checkin/<contract>/<YYYY-MM>
//	renewal/<contract>/<end YYYY-MM>
//	overdue/<contract>-<YYYY-MM>                 the invoice number
//	payment-reminder/<contract>-<YYYY-MM>/<days> the invoice number; Part: the days
//	decision/<contract>/<YYYY-MM>/<id>           Part: the decision's id
type Key struct {
	Kind     string
	Contract string
	Period   billing.Period
	Part     string
}

// StatementKeyOf is the key of contract's statement email for period p.
func StatementKeyOf(contract string, p billing.Period) Key {
	return Key{Kind: KindStatement, Contract: contract, Period: p}
}

// String is the key as the outbox stores it.
func (k Key) String() string {
	switch k.Kind {
	case KindDigest:
		if k.Part == "" {
			return k.Kind + "/" + k.Period.String()
		}
		return k.Kind + "/" + k.Period.String() + "/" + k.Part
	case KindOverdue:
		return k.Kind + "/" + InvoiceNumber(k.Contract, k.Period)
	case KindPaymentReminder:
		return k.Kind + "/" + InvoiceNumber(k.Contract, k.Period) + "/" + k.Part
	case KindAlert, KindDecision:
		return k.Kind + "/" + k.Contract + "/" + k.Period.String() + "/" + k.Part
	}
	return k.Kind + "/" + k.Contract + "/" + k.Period.String()
}

// Invoice is the invoice number the message is about: a statement's, an
// overdue or payment reminder's; "" for the others.
func (k Key) Invoice() string {
	switch k.Kind {
	case KindStatement, KindOverdue, KindPaymentReminder:
		return InvoiceNumber(k.Contract, k.Period)
	}
	return ""
}

// ParseKey reads a Key.String.
func ParseKey(s string) (Key, error) {
	bad := func(why string) (Key, error) { return Key{}, fmt.Errorf("outbox key %q: %s", s, why) }
	parts := strings.Split(s, "/")
	k := Key{Kind: parts[0]}
	// want is how many parts follow the kind; invoice: the first is one.
	want, invoice := 2, false
	switch k.Kind {
	case KindStatement, KindClientAlert, KindCheckin, KindRenewal:
	case KindAlert, KindDecision:
		want = 3
	case KindDigest:
		if len(parts) == 2 {
			want = 1
		}
	case KindOverdue:
		want, invoice = 1, true
	case KindPaymentReminder:
		want, invoice = 2, true
	default:
		return bad("unknown kind")
	}
	if len(parts) != want+1 {
		return bad(fmt.Sprintf("want %d parts after %s/", want, k.Kind))
	}
	rest := parts[1:]
	var period string
	switch {
	case invoice:
		inv := rest[0]
		if len(inv) < 9 || inv[len(inv)-8] != '-' {
			return bad("not an invoice number")
		}
		k.Contract, period = inv[:len(inv)-8], inv[len(inv)-7:]
		rest = rest[1:]
	case k.Kind == KindDigest:
		period, rest = rest[0], rest[1:]
	default:
		k.Contract, period, rest = rest[0], rest[1], rest[2:]
	}
	p, err := billing.ParsePeriod(period)
	if err != nil {
		return bad(err.Error())
	}
	k.Period = p
	if len(rest) > 0 {
		k.Part = rest[0]
		if k.Part == "" {
			return bad("empty part")
		}
	}
	if k.Kind != KindDigest && k.Contract == "" {
		return bad("no contract")
	}
	return k, nil
}

func enqueue(ctx context.Context, tx *sql.Tx, key, channel string, to []string, now time.Time) error {
	rcpt, err := json.Marshal(to)
	if err != nil {
		return err
	}
	// A statement email carries its invoice number: sending it marks the
	// statement sent (see Record).
	invoice := ""
	if k, err := ParseKey(key); err == nil && k.Kind == KindStatement && channel == "email" {
		invoice = k.Invoice()
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox (key, channel, recipients, status, next_attempt_at, created_at, invoice_number)
		VALUES (?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT (key, channel) DO NOTHING`, key, channel, string(rcpt), now.Unix(), now.Unix(), invoice)
	if err != nil {
		return fmt.Errorf("queue %s: %w", key, err)
	}
	return nil
}

// Enqueue queues messages, all in one transaction; a (key, channel) already
// queued is left as it is, and so is a period's digest already queued under
// any of its keys (see withoutQueuedDigests).
func (s *DB) Enqueue(ctx context.Context, msgs []OutboxMessage, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		msgs, err := withoutQueuedDigests(ctx, tx, msgs)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if err := enqueue(ctx, tx, m.Key, m.Channel, m.To, now); err != nil {
				return err
			}
		}
		return nil
	})
}

const outboxCols = `id, key, channel, recipients, status, transport, attempts, last_error, next_attempt_at, created_at, sent_at, claimed_by, handed_over_at`

func scanOutbox(rows *sql.Rows) ([]OutboxMessage, error) {
	defer rows.Close()
	var out []OutboxMessage
	for rows.Next() {
		var m OutboxMessage
		var rcpt string
		var next, created int64
		var sent, handed sql.NullInt64
		if err := rows.Scan(&m.ID, &m.Key, &m.Channel, &rcpt, &m.Status, &m.Transport, &m.Attempts, &m.LastError, &next, &created, &sent,
			&m.ClaimedBy, &handed); err != nil {
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
		if handed.Valid {
			t := time.Unix(handed.Int64, 0).UTC()
			m.HandedOverAt = &t
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

// Claims.
//
// A dispatcher claims a few messages at a time, each claim naming its owner
// (Owner) and expiring at a lease that the owner renews while it works. Just
// before a message starts its irrevocable step — its turn on an SMTP
// connection, its Slack POST — the owner records the hand-over, in the same
// transaction as the outcome of the message before it on that connection; so
// at any time at most one message per connection is handed over without an
// outcome. When an owner dies (RecoverClaims), its claims that were not
// handed over go back to pending as if never claimed, and only a handed-over
// one becomes unknown (SPEC §8). A transport whose redelivery replaces the
// earlier one (file) never records a hand-over: its messages are never
// unknown.

// Claim is a dispatcher's request for messages to deliver.
type Claim struct {
	Owner      Owner
	Now        time.Time // messages due at Now; every pending one when Force
	Force      bool
	After      int64 // only ids above After: a Force pass goes by id, each message once
	Limit      int
	LeaseUntil time.Time // wall clock: the claims expire then unless renewed
	// HoldForPaymentLink (Stripe is configured) leaves a statement email
	// unclaimed while its statement is pending and its Stripe step is not
	// done, so that it goes out with its payment link (see StripeInvoice).
	HoldForPaymentLink bool
}

// Claim marks up to c.Limit pending messages as being sent by c.Owner,
// counts the attempt, and returns them: the earliest due first, or by id
// when c.Force. A claimed message is claimed by no one else until it ends
// sent, pending again (a retry, or released unsent), failed or unknown, or
// until RecoverClaims finds its owner gone.
func (s *DB) Claim(ctx context.Context, c Claim) ([]OutboxMessage, error) {
	ctx = unversioned(ctx) // bookkeeping: no page shows it
	due, order := c.Now.Unix(), `next_attempt_at, id`
	if c.Force {
		due, order = 1<<62, `id`
	}
	hold := ""
	if c.HoldForPaymentLink {
		hold = holdForPaymentLink
	}
	// Most dispatches (the daemon's, every 2 s) find nothing due: they ask
	// without the write lock.
	var found int
	err := s.read(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? AND id > ?`+hold+` LIMIT 1) AS due`,
			due, c.After).Scan(&found)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim outbox messages: %w", err)
	}
	if found == 0 {
		return nil, nil
	}
	var out []OutboxMessage
	err = s.patientTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+outboxCols+` FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? AND id > ?`+hold+`
			ORDER BY `+order+` LIMIT ?`+s.d.skipLocked, due, c.After, c.Limit)
		if err != nil {
			return err
		}
		if out, err = scanOutbox(rows); err != nil || len(out) == 0 {
			return err
		}
		owner := c.Owner.String()
		args := []any{owner, leaseEnd(c.LeaseUntil)}
		for i := range out {
			out[i].Attempts++
			out[i].Status, out[i].ClaimedBy, out[i].HandedOverAt = OutboxSending, owner, nil
			args = append(args, out[i].ID)
		}
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_by = ?, claim_expires_at = ?,
			handed_over_at = NULL WHERE id IN (`+placeholders(len(out))+`)`, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim outbox messages: %w", err)
	}
	return out, nil
}

// Outcome is how the delivery of a claimed message went.
type Outcome struct {
	ID        int64
	Status    string // OutboxSent, OutboxPending (a retry at Next), OutboxFailed, OutboxUnknown or OutboxCancelled
	Transport string
	LastError string
	Next      time.Time
}

// Progress is what a dispatcher records as it goes, in one transaction.
type Progress struct {
	Owner    Owner
	Now      time.Time // when what was sent was sent, and the hand-over's time
	Outcomes []Outcome
	// HandOver (0: none) is a message of Owner's about to start its
	// irrevocable step over Transport; its claim is renewed to LeaseUntil.
	HandOver   int64
	Transport  string
	LeaseUntil time.Time
}

// Record writes p: the outcomes, each for a message p.Owner claims (or one
// RecoverClaims made unknown while p.Owner was sending it: the owner knows
// better), then the hand-over. An outcome for a message p.Owner no longer
// claims is not written: its claim expired before it was handed over, and
// its new claimant decides. A sent statement email sets its invoice to
// sent in the same transaction. handed reports whether p.HandOver is still
// p.Owner's: if not, it must not be sent. Record waits out a busy database
// until ctx ends.
func (s *DB) Record(ctx context.Context, p Progress) (handed bool, err error) {
	_, handed, err = s.record(ctx, p)
	return handed, err
}

func (s *DB) record(ctx context.Context, p Progress) (recorded int, handed bool, err error) {
	owner := p.Owner.String()
	outcomes := oneOutcomeEach(p.Outcomes)
	err = s.patientTx(ctx, func(tx *sql.Tx) error {
		recorded, handed = 0, false
		for rest := outcomes; len(rest) > 0; {
			chunk := rest[:min(len(rest), outcomeChunk)]
			rest = rest[len(chunk):]
			// A hand-over with one outcome, the message before it: the
			// steady pace, whose statements are kept prepared.
			steady := p.HandOver != 0 && len(outcomes) == 1
			n, err := s.recordOutcomes(ctx, tx, owner, p.Now, chunk, steady)
			if err != nil {
				return err
			}
			recorded += n
		}
		if p.HandOver == 0 {
			return nil
		}
		st, err := s.recordStmt(ctx, tx, `UPDATE outbox SET handed_over_at = ?, transport = ?, claim_expires_at = ?
			WHERE id = ? AND claimed_by = ? AND status = 'sending' AND handed_over_at IS NULL`, true)
		if err != nil {
			return fmt.Errorf("outbox %d: %w", p.HandOver, err)
		}
		res, err := st.ExecContext(ctx, p.Now.Unix(), p.Transport, leaseEnd(p.LeaseUntil), p.HandOver, owner)
		if err != nil {
			return fmt.Errorf("outbox %d: %w", p.HandOver, err)
		}
		n, _ := res.RowsAffected()
		handed = n == 1
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("record deliveries: %w", err)
	}
	return recorded, handed, nil
}

// outcomeChunk is how many outcomes one UPDATE writes (six parameters
// each): a dispatcher's batch, far below the backends' parameter limits.
const outcomeChunk = 500

// recordStmt is query as a statement of tx: when keep, prepared once per
// store (DB.stmts: a dispatcher records before every message it hands
// over, and parsing the same few statements again each time cost about as
// much as running them; database/sql prepares each again on a connection
// that has not seen it, and drops it with its connection), else for tx
// alone (closed with tx, as tx.ExecContext would). Only the statements of
// a dispatcher's steady pace are kept — a hand-over with the outcome of
// the message before it — not one per batch size.
func (s *DB) recordStmt(ctx context.Context, tx *sql.Tx, query string, keep bool) (*sql.Stmt, error) {
	if !keep {
		return tx.PrepareContext(ctx, query)
	}
	return prepared(s.withStore(ctx), tx, query)
}

// oneOutcomeEach keeps one outcome per message, the one that writing them
// in order would leave: an outcome after one that left its message
// unknown replaces it; after any other it would find the message no
// longer being sent, and is dropped.
func oneOutcomeEach(outcomes []Outcome) []Outcome {
	at := make(map[int64]int, len(outcomes))
	out := make([]Outcome, 0, len(outcomes))
	for _, o := range outcomes {
		i, seen := at[o.ID]
		switch {
		case !seen:
			at[o.ID] = len(out)
			out = append(out, o)
		case out[i].Status == OutboxUnknown:
			out[i] = o
		}
	}
	return out
}

// recordOutcomes writes outcomes, each for a message owner claims (or one
// RecoverClaims made unknown while owner was sending it), and sets the
// invoices of the statement emails sent among them to sent; it returns how
// many it wrote. Two statements whatever the number of outcomes: one
// UPDATE of the outbox from a VALUES list of the outcomes (per message:
// its status, transport, error, next attempt and sent time), returning the
// messages it wrote, then one UPDATE of the statements of those sent.
// keep: both statements are kept prepared (recordStmts).
func (s *DB) recordOutcomes(ctx context.Context, tx *sql.Tx, owner string, now time.Time, outcomes []Outcome, keep bool) (int, error) {
	// VALUES columns are column1, column2, … on both backends; the casts
	// type PostgreSQL's parameters, which VALUES alone leaves as text.
	const row = `(CAST(? AS BIGINT), ?, ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT)),`
	args := make([]any, 0, 6*len(outcomes)+1)
	for _, o := range outcomes {
		var sent any
		if o.Status == OutboxSent {
			sent = now.Unix()
		}
		args = append(args, o.ID, o.Status, o.Transport, o.LastError, o.Next.Unix(), sent)
	}
	args = append(args, owner)
	st, err := s.recordStmt(ctx, tx, `UPDATE outbox SET status = v.column2, transport = v.column3, last_error = v.column4,
		next_attempt_at = v.column5, sent_at = COALESCE(v.column6, outbox.sent_at), claim_expires_at = 0
		FROM (VALUES `+strings.TrimSuffix(strings.Repeat(row, len(outcomes)), ",")+`) AS v
		WHERE outbox.id = v.column1 AND outbox.claimed_by = ? AND outbox.status IN ('sending', 'unknown')
		RETURNING id, status`, keep)
	if err != nil {
		return 0, fmt.Errorf("outbox outcomes: %w", err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return 0, fmt.Errorf("outbox outcomes: %w", err)
	}
	defer rows.Close()
	var written int
	var sent []any
	for rows.Next() {
		var id int64
		var status string
		if err := rows.Scan(&id, &status); err != nil {
			return 0, fmt.Errorf("outbox outcomes: %w", err)
		}
		written++
		if status == OutboxSent {
			sent = append(sent, id)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("outbox outcomes: %w", err)
	}
	rows.Close()
	if len(sent) == 0 {
		return written, nil
	}
	// A statement email (the outbox row that carries an invoice number)
	// sent: its invoice is sent.
	st, err = s.recordStmt(ctx, tx, `UPDATE statements SET status = 'sent', sent_at = ? WHERE status = 'pending'
		AND invoice_number IN (SELECT invoice_number FROM outbox WHERE id IN (`+placeholders(len(sent))+`) AND invoice_number <> '')`, keep)
	if err == nil {
		_, err = st.ExecContext(ctx, append([]any{now.Unix()}, sent...)...)
	}
	if err != nil {
		return 0, fmt.Errorf("invoices of sent statements: %w", err)
	}
	return written, nil
}

// ExtendClaims renews owner's claims on ids (those not yet done) until
// until: the heartbeat of a dispatcher at work.
func (s *DB) ExtendClaims(ctx context.Context, owner Owner, ids []int64, until time.Time) error {
	ctx = unversioned(ctx) // bookkeeping: no page shows it
	if len(ids) == 0 {
		return nil
	}
	args := []any{leaseEnd(until), owner.String()}
	for _, id := range ids {
		args = append(args, id)
	}
	return s.patientTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET claim_expires_at = ? WHERE claimed_by = ? AND status = 'sending'
			AND id IN (`+placeholders(len(ids))+`)`, args...)
		return err
	})
}

// leaseEnd is t in Unix seconds, rounded up: a lease never ends early.
func leaseEnd(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

// Release puts owner's claims on ids that were never handed over back to
// pending, as if they had not been claimed.
func (s *DB) Release(ctx context.Context, owner Owner, ids []int64) error {
	ctx = unversioned(ctx) // bookkeeping: no page shows it
	if len(ids) == 0 {
		return nil
	}
	args := []any{owner.String()}
	for _, id := range ids {
		args = append(args, id)
	}
	err := s.patientTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'pending', attempts = attempts - 1, claimed_by = '', claim_expires_at = 0
			WHERE claimed_by = ? AND status = 'sending' AND handed_over_at IS NULL AND id IN (`+placeholders(len(ids))+`)`, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("release outbox claims: %w", err)
	}
	return nil
}

// Recovered counts what RecoverClaims did with the claims of gone owners.
type Recovered struct {
	Pending int // not handed over: back to pending, to be delivered normally
	Unknown int // handed over: they may have gone out
}

// RecoverClaims settles the claims whose owner is gone: their lease expired
// at wall (the wall clock), or their owner was a process on this machine
// that has ended (self is the caller's own identity). A claim not handed
// over goes back to pending as if never claimed; a handed-over one becomes
// unknown, not resent without `retainer outbox retry`. Claims of a live
// owner are never touched, so any process may call it at any time: a
// daemon's start, every dispatch, `outbox send`.
func (s *DB) RecoverClaims(ctx context.Context, self Owner, wall time.Time) (Recovered, error) {
	ctx = unversioned(ctx) // bookkeeping: no page shows it
	type claimant struct {
		owner   string
		gone    bool // the process has ended: every claim of it, whatever its lease
		expires int64
	}
	var stale []claimant
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT claimed_by, MIN(claim_expires_at) FROM outbox WHERE status = 'sending' GROUP BY claimed_by`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c claimant
			if err := rows.Scan(&c.owner, &c.expires); err != nil {
				return err
			}
			o, ok := ParseOwner(c.owner)
			c.gone = !ok || o.gone(self)
			if c.gone || c.expires <= wall.Unix() {
				stale = append(stale, c)
			}
		}
		return rows.Err()
	})
	if err != nil || len(stale) == 0 {
		return Recovered{}, err
	}
	var rec Recovered
	err = s.patientTx(ctx, func(tx *sql.Tx) error {
		rec = Recovered{}
		for _, c := range stale {
			cond, args := `status = 'sending' AND claimed_by = ?`, []any{c.owner}
			if !c.gone {
				// Alive elsewhere, or unknowable: only what it let expire.
				cond, args = cond+` AND claim_expires_at <= ?`, append(args, wall.Unix())
			}
			res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'pending', attempts = attempts - 1, claimed_by = '', claim_expires_at = 0
				WHERE `+cond+` AND handed_over_at IS NULL`, args...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			rec.Pending += int(n)
			// claimed_by stays: a late outcome from an owner that was only
			// slow still lands (see Record).
			res, err = tx.ExecContext(ctx, `UPDATE outbox SET status = 'unknown', claim_expires_at = 0,
				last_error = 'the process stopped while delivering it: it may have gone out' WHERE `+cond+` AND handed_over_at IS NOT NULL`, args...)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			rec.Unknown += int(n)
		}
		return nil
	})
	if err != nil {
		return Recovered{}, fmt.Errorf("recover outbox claims: %w", err)
	}
	return rec, nil
}

// ClaimDue claims for this process (ThisProcess, for DefaultLease) up to
// limit messages due at now, every pending one when force: Claim for tools
// and tests.
func (s *DB) ClaimDue(ctx context.Context, now time.Time, force bool, limit int) ([]OutboxMessage, error) {
	return s.Claim(ctx, Claim{Owner: ThisProcess(), Now: now, Force: force, Limit: limit, LeaseUntil: now.Add(DefaultLease)})
}

// Delivered records the outcome of a message this process claimed with
// ClaimDue: sent, pending again at next (a temporary failure), failed or
// unknown.
func (s *DB) Delivered(ctx context.Context, id int64, status, transport, lastError string, next, now time.Time) error {
	n, _, err := s.record(ctx, Progress{Owner: ThisProcess(), Now: now,
		Outcomes: []Outcome{{ID: id, Status: status, Transport: transport, LastError: lastError, Next: next}}})
	if err == nil && n != 1 {
		err = fmt.Errorf("outbox %d: not being sent by this process", id)
	}
	return err
}

// Retry puts a failed or unknown message back to pending, due now.
func (s *DB) Retry(ctx context.Context, id int64, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'pending', next_attempt_at = ?, claimed_by = '', claim_expires_at = 0
			WHERE id = ? AND status IN ('failed', 'unknown')`, now.Unix(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("outbox message %d: %w (or it is not failed or unknown)", id, ErrNotFound)
		}
		return nil
	})
}

// patientTx runs fn in one write transaction like tx, and again while the
// database is busy — another process holding the write lock for longer than
// busy_timeout, an import say — backing off from 50 ms to 2 s, until ctx
// ends: what a dispatcher claims and records is delayed, not lost.
func (s *DB) patientTx(ctx context.Context, fn func(*sql.Tx) error) error {
	wait := 50 * time.Millisecond
	for {
		err := s.tx(ctx, fn)
		if err == nil || !busy(err) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up waiting: %w)", err, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// busy reports whether err says the database is busy for now: SQLite's
// lock held past busy_timeout, or on PostgreSQL a serialization failure,
// deadlock, lock timeout, too many connections or a lost connection.
func busy(err error) bool {
	if se, ok := errors.AsType[*sqlite.Error](err); ok {
		switch se.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch pe.Code {
		case "40001", "40P01", "55P03", "53300":
			return true
		}
		return strings.HasPrefix(pe.Code, "08")
	}
	return errors.Is(err, driver.ErrBadConn)
}

// Owner names the process that holds a claim on outbox messages: the
// machine (its boot), the PID namespace (a container), the process id and
// start time, and a random part. A process on the same machine and
// namespace can tell at once that an owner has ended; elsewhere (a
// PostgreSQL replica on another machine) an owner's claims are recovered
// when their lease runs out.
type Owner struct {
	Host  string // the hostname, for people reading the outbox
	Boot  string // the kernel's boot id
	PIDNS string // the PID namespace, as /proc/self/ns/pid names it
	PID   int
	Start uint64 // the process's start, in clock ticks after boot
	Run   string // random, so that no two processes share a name
}

// String is the owner as the outbox stores it, e.g.
// "host=web-1 pid=4242 start=1234567 boot=917a… pidns=pid:[4026531836] run=9f3ac1e2b0d4".
func (o Owner) String() string {
	return fmt.Sprintf("host=%s pid=%d start=%d boot=%s pidns=%s run=%s", o.Host, o.PID, o.Start, o.Boot, o.PIDNS, o.Run)
}

// ParseOwner reads an Owner.String; ok is false for anything else.
func ParseOwner(s string) (o Owner, ok bool) {
	f := strings.Fields(s)
	if len(f) != 6 {
		return Owner{}, false
	}
	v := map[string]string{}
	for _, kv := range f {
		k, val, found := strings.Cut(kv, "=")
		if !found {
			return Owner{}, false
		}
		v[k] = val
	}
	pid, err1 := strconv.Atoi(v["pid"])
	start, err2 := strconv.ParseUint(v["start"], 10, 64)
	if err1 != nil || err2 != nil || v["run"] == "" {
		return Owner{}, false
	}
	return Owner{Host: v["host"], Boot: v["boot"], PIDNS: v["pidns"], PID: pid, Start: start, Run: v["run"]}, true
}

// ThisProcess is the running process as an Owner; the same value for the
// life of the process.
func ThisProcess() Owner { return thisProcess() }

var thisProcess = sync.OnceValue(func() Owner {
	o := Owner{PID: os.Getpid()}
	o.Host, _ = os.Hostname()
	o.Host = strings.Join(strings.Fields(o.Host), "_")
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		o.Boot = strings.TrimSpace(string(b))
	}
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil {
		o.PIDNS = ns
	}
	if _, start, err := procStat(o.PID); err == nil {
		o.Start = start
	} else {
		o.Boot = "" // a process cannot be told from another with its pid
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	o.Run = hex.EncodeToString(b)
	return o
})

// gone reports whether o is a process that has ended, as self — the caller,
// on the same machine and in the same PID namespace — can tell. It is false
// whenever it cannot tell: then only the lease says.
func (o Owner) gone(self Owner) bool {
	if o.Boot == "" || o.PIDNS == "" || o.Boot != self.Boot || o.PIDNS != self.PIDNS || o.PID <= 0 {
		return false
	}
	if o.PID == self.PID {
		return o.Start != self.Start // an earlier process had our pid
	}
	if err := syscall.Kill(o.PID, 0); errors.Is(err, syscall.ESRCH) {
		return true // no such process
	}
	state, start, err := procStat(o.PID)
	if err != nil {
		return false // hidden from us (hidepid): alive as far as we know
	}
	return start != o.Start || state == 'Z' || state == 'X' // its pid reused, or dead and not yet reaped
}

// procStat reads a process's state and start time (in clock ticks after
// boot) from /proc/PID/stat.
func procStat(pid int) (state byte, start uint64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// "pid (comm) state ppid …": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unreadable", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unreadable", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64) // field 22: starttime
	if err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return f[0][0], start, nil
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
