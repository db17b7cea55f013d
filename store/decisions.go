package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"retainer/billing"
)

// Client decisions (SPEC §12): what a client decides on the portal — approve
// up to some overage hours this month, ask for a retainer change, pause
// non-urgent work — recorded with its time and queued to the agency in the
// same transaction. A decision is a fact of its period: it is recorded only
// while that period is open (the portal takes decisions for the current
// month), so once the period has ended its decisions no longer change, and
// a statement reads them by contract and period when it is rendered.

// DecisionKind is what a client decided.
type DecisionKind string

// The decisions a client can take.
const (
	// DecisionOverage approves up to Seconds of overage this month.
	DecisionOverage DecisionKind = "overage"
	// DecisionChange asks for a retainer of Seconds a month (more or fewer
	// than now), with a message.
	DecisionChange DecisionKind = "change"
	// DecisionPause asks the agency to pause non-urgent work, with an
	// optional message.
	DecisionPause DecisionKind = "pause"
)

// Valid reports whether k is a known kind.
func (k DecisionKind) Valid() bool {
	return k == DecisionOverage || k == DecisionChange || k == DecisionPause
}

// Bounds of what a decision holds.
const (
	// MaxDecisionMessage is the most characters a decision's message holds.
	MaxDecisionMessage = 2000
	// MaxDecisionNonce bounds a form nonce.
	MaxDecisionNonce = 128
)

// Errors of RecordDecision.
var (
	// ErrReplayed is a form already sent: its nonce is taken, and nothing
	// was recorded this time.
	ErrReplayed = errors.New("this form was sent already")
	// ErrBadDecision is a decision that does not hold what its kind needs.
	ErrBadDecision = errors.New("invalid decision")
	// ErrPeriodClosed is a decision for a period that is closed.
	ErrPeriodClosed = errors.New("the period is closed")
)

// Decision is one recorded client decision.
type Decision struct {
	ID         int64
	ContractID string
	Period     billing.Period
	Kind       DecisionKind
	// Seconds is the overage approved (DecisionOverage) or the monthly
	// hours asked for (DecisionChange), in the contract's unit as seconds
	// (a session is billing.SessionSeconds); 0 for a pause.
	Seconds int64
	Message string
	// On is the day it was recorded, in the agency timezone; RecordedAt
	// the instant.
	On         billing.Date
	RecordedAt time.Time
}

// Key is the decision's outbox key: decision/<contract>/<YYYY-MM>/<id>.
func (d Decision) Key() Key {
	return Key{Kind: KindDecision, Contract: d.ContractID, Period: d.Period, Part: strconv.FormatInt(d.ID, 10)}
}

// check refuses a decision that its kind does not allow.
func (d Decision) check() error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrBadDecision, why) }
	switch {
	case d.ContractID == "":
		return bad("no contract")
	case !d.Period.Valid():
		return bad("period out of range")
	case !d.Kind.Valid():
		return bad(fmt.Sprintf("unknown kind %q", d.Kind))
	case d.Kind == DecisionPause && d.Seconds != 0:
		return bad("a pause has no hours")
	case d.Kind != DecisionPause && (d.Seconds <= 0 || d.Seconds > billing.MaxQuantitySeconds):
		return bad(fmt.Sprintf("hours must be more than 0 and at most %d", billing.MaxQuantityHours))
	case utf8.RuneCountInString(d.Message) > MaxDecisionMessage:
		return bad(fmt.Sprintf("the message is longer than %d characters", MaxDecisionMessage))
	}
	if err := billing.CheckText(d.Message, true); err != nil {
		return bad("the message " + err.Error())
	}
	return nil
}

// RecordDecision records d once per form nonce, and queues its message to
// each of to (their Channel and To; the key is the decision's own) in the
// same transaction: a failure leaves neither. d's ID and RecordedAt come
// from the store (RecordedAt is now; d.On is the caller's, the day of now
// in the agency timezone). A nonce already taken is ErrReplayed, and
// nothing is recorded or queued; a closed period is ErrPeriodClosed.
func (s *DB) RecordDecision(ctx context.Context, d Decision, nonce string, to []OutboxMessage, now time.Time) (Decision, error) {
	if err := d.check(); err != nil {
		return Decision{}, err
	}
	if nonce == "" || len(nonce) > MaxDecisionNonce {
		return Decision{}, fmt.Errorf("%w: bad form nonce", ErrBadDecision)
	}
	d.RecordedAt = time.Unix(now.Unix(), 0).UTC()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var closed int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM periods WHERE period >= ?`, int64(d.Period)).Scan(&closed); err != nil {
			return err
		}
		if closed > 0 {
			return fmt.Errorf("decision for %s %s: %w", d.ContractID, d.Period, ErrPeriodClosed)
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO decisions (contract_id, period, kind, seconds, message, day, recorded_at, nonce)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (nonce) DO NOTHING RETURNING id`,
			d.ContractID, int64(d.Period), string(d.Kind), d.Seconds, d.Message, int64(d.On), d.RecordedAt.Unix(), nonce).Scan(&d.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("decision for %s %s: %w", d.ContractID, d.Period, ErrReplayed)
		}
		if err != nil {
			return fmt.Errorf("decision for %s %s: %w", d.ContractID, d.Period, err)
		}
		if err := s.hook("decision:recorded"); err != nil {
			return err
		}
		key := d.Key().String()
		for _, m := range to {
			if err := enqueue(ctx, tx, key, m.Channel, m.To, now); err != nil {
				return err
			}
		}
		return s.hook("decision:queued")
	})
	if err != nil {
		return Decision{}, err
	}
	return d, nil
}

const decisionCols = `id, contract_id, period, kind, seconds, message, day, recorded_at`

func scanDecisions(rows *sql.Rows) ([]Decision, error) {
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		var d Decision
		var period, day, at int64
		var kind string
		if err := rows.Scan(&d.ID, &d.ContractID, &period, &kind, &d.Seconds, &d.Message, &day, &at); err != nil {
			return nil, err
		}
		d.Period, d.Kind, d.On, d.RecordedAt = billing.Period(period), DecisionKind(kind), billing.Date(day), time.Unix(at, 0).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// decisionsOf reads contract id's decisions of period p in tx, in the
// order they were taken.
func decisionsOf(ctx context.Context, tx *sql.Tx, id string, p billing.Period) ([]Decision, error) {
	rows, err := queryTx(ctx, tx, `SELECT `+decisionCols+` FROM decisions WHERE period = ? AND contract_id = ? ORDER BY id`, int64(p), id)
	if err != nil {
		return nil, fmt.Errorf("decisions of %s %s: %w", id, p, err)
	}
	ds, err := scanDecisions(rows)
	if err != nil {
		return nil, fmt.Errorf("decisions of %s %s: %w", id, p, err)
	}
	return ds, nil
}

// Decisions returns contract id's decisions of period p, in the order they
// were taken.
func (s *DB) Decisions(ctx context.Context, id string, p billing.Period) ([]Decision, error) {
	var out []Decision
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = decisionsOf(ctx, tx, id, p)
		return err
	})
	return out, err
}

// PeriodDecisions returns every contract's decisions of period p, by
// contract id, each contract's in the order they were taken.
func (s *DB) PeriodDecisions(ctx context.Context, p billing.Period) (map[string][]Decision, error) {
	out := map[string][]Decision{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+decisionCols+` FROM decisions WHERE period = ? ORDER BY contract_id, id`, int64(p))
		if err != nil {
			return err
		}
		ds, err := scanDecisions(rows)
		if err != nil {
			return err
		}
		for _, d := range ds {
			out[d.ContractID] = append(out[d.ContractID], d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decisions of %s: %w", p, err)
	}
	return out, nil
}

// DecisionByKey returns the decision an outbox key names (its Part is the
// decision's id), or ErrNotFound when there is none of that contract and
// period.
func (s *DB) DecisionByKey(ctx context.Context, k Key) (*Decision, error) {
	id, err := strconv.ParseInt(k.Part, 10, 64)
	if k.Kind != KindDecision || err != nil {
		return nil, fmt.Errorf("outbox key %s: not a decision's", k)
	}
	var out *Decision
	err = s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+decisionCols+` FROM decisions WHERE id = ? AND contract_id = ? AND period = ?`,
			id, k.Contract, int64(k.Period))
		if err != nil {
			return err
		}
		ds, err := scanDecisions(rows)
		if err != nil {
			return err
		}
		if len(ds) == 0 {
			return fmt.Errorf("decision %s: %w", k, ErrNotFound)
		}
		out = &ds[0]
		return nil
	})
	return out, err
}

// OverageApproval is what a contract's decisions of one period approve of
// overage: each approval replaces the one before it ("up to N hours this
// month"), so the last one stands. ok is false when there is none.
func OverageApproval(ds []Decision) (approval Decision, ok bool) {
	for _, d := range ds {
		if d.Kind == DecisionOverage {
			approval, ok = d, true
		}
	}
	return approval, ok
}

// ApprovalLeft is how much of an overage approval of approved seconds is
// left with overage seconds used over the available total: never below 0.
func ApprovalLeft(approved, overage int64) int64 {
	return max(approved-max(overage, 0), 0)
}
