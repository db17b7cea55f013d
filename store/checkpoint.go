package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strconv"

	"retainer/billing"
)

// Ledger checkpoints.
//
// Before any close, a contract's open periods are computed from its first
// month (SPEC §4): status in the tenth month of a history read ten months of
// usage and ran the ledger through all of them, for every contract. A
// checkpoint (table ledger_checkpoints, migration 0020) keeps where a
// contract's ledger stood at the start of a period — the lots carried into
// it — so that status computes from there: the rows of that period and
// after, one period's computation for the month a checkpoint was kept at.
//
// A checkpoint is kept by status, for the period it showed, when it had to
// compute earlier periods to get there: after the read, in a small write of
// its own that leaves the data version alone (nothing a page shows
// changes), only when nothing was written since the read (the data version
// is still the one the read saw) and never on a read-only store. It holds
// for the contract's terms encoded with it (appendLedgerTerms: a row with
// other terms is not used, so a change of the contract's hours, rollover,
// cap, expiry, start, end, opening bank or take-over misses it) and for the
// usage and closes it was computed from: triggers drop it in the
// transaction that writes usage of the contract in an earlier period (an
// entry added, edited, deleted, imported or matched again), that records or
// absorbs a late adjustment of the contract, or that closes a period or
// undoes a close. Status reads the latest that holds at or before the
// period asked and after the last close, and computes exactly what it would
// have computed from the first open period (TestCheckpointsAsFromScratch).

// Checkpoint kinds.
const (
	ckNone    = 0
	ckCarried = 1 // lots holds what was carried into period
	ckFresh   = 2 // nothing came before period: the ledger starts there or later
)

// checkpoint is where one contract's ledger stood at the start of period.
type checkpoint struct {
	kind   uint8
	period billing.Period
	before billing.Period // period - 1: the close the ledger resumes after
	lots   []billing.Lot
}

// ledgerRulesVersion names the rules of billing.Compute and billing.Ledger
// a checkpoint was computed with: a change to them that alters what a
// period carries into the next must change it, so that no checkpoint kept
// before is used.
const ledgerRulesVersion = "1"

// appendLedgerTerms appends what a checkpoint of c holds for: every term
// of c the ledger reads, with the version of its rules.
func appendLedgerTerms(b []byte, c *billing.Contract) []byte {
	num := func(v int64) { b = append(strconv.AppendInt(b, v, 10), ',') }
	opt := func(v *int64) {
		if v == nil {
			b = append(b, '-', ',')
			return
		}
		num(*v)
	}
	per := func(p *billing.Period) {
		if p == nil {
			b = append(b, '-', ',')
			return
		}
		num(int64(*p))
	}
	flag := func(v bool) {
		if v {
			b = append(b, '1')
		} else {
			b = append(b, '0')
		}
	}
	b = append(append(b, ledgerRulesVersion...), '/')
	b = append(append(b, c.Unit...), '/')
	num(c.Terms.MonthlyHours)
	num(int64(c.Terms.MonthlyFee))
	num(int64(c.Terms.HourlyRate))
	num(int64(c.Terms.OverageRate))
	for i := range c.Changes {
		ch := &c.Changes[i]
		b = append(b, '[')
		num(int64(ch.From))
		opt(ch.MonthlyHours)
		opt((*int64)(ch.MonthlyFee))
		opt((*int64)(ch.HourlyRate))
		opt((*int64)(ch.OverageRate))
		b = append(b, ']')
	}
	b = append(b, '/')
	flag(c.OverageBillable)
	flag(c.Rollover)
	flag(c.CountNonBillable)
	b = append(b, '/')
	opt(c.MaxRollover)
	num(int64(c.ExpiresAfter))
	num(int64(c.RoundingMinutes))
	num(c.OpeningBank)
	per(c.TakeOver)
	per(c.Start)
	per(c.End)
	return b
}

// appendLedger appends the ledger column of checkpoint ck of contract c:
// "LOTS;TERMS", LOTS the lots carried ("EARNED:SECONDS" separated by
// spaces) or "-" for a fresh start, TERMS appendLedgerTerms. The lots come
// first: they hold no ';', whatever the terms hold.
func appendLedger(b []byte, c *billing.Contract, ck checkpoint) []byte {
	if ck.kind == ckFresh {
		b = append(b, '-')
	}
	for i, l := range ck.lots {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(strconv.AppendInt(b, int64(l.Earned), 10), ':')
		b = strconv.AppendInt(b, l.Seconds, 10)
	}
	return appendLedgerTerms(append(b, ';'), c)
}

// parseLedger reads the part of a ledger column before its terms; ok is
// false when it is not what appendLedger writes.
func parseLedger(b []byte) (kind uint8, lots []billing.Lot, ok bool) {
	if len(b) == 1 && b[0] == '-' {
		return ckFresh, nil, true
	}
	if len(b) > 0 && b[len(b)-1] == ' ' {
		return ckNone, nil, false
	}
	for len(b) > 0 {
		var earned, secs int64
		if earned, b, ok = parseInt(b, ':'); !ok {
			return ckNone, nil, false
		}
		if secs, b, ok = parseInt(b, ' '); !ok {
			return ckNone, nil, false
		}
		lots = append(lots, billing.Lot{Earned: billing.Period(earned), Seconds: secs})
	}
	return ckCarried, lots, true
}

// parseInt reads a decimal integer (an optional '-', then digits) from the
// start of b up to sep or the end, and returns the rest after sep.
func parseInt(b []byte, sep byte) (int64, []byte, bool) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		i, neg = 1, true
	}
	start := i
	var v uint64
	for ; i < len(b) && b[i] != sep; i++ {
		d := b[i] - '0'
		if d > 9 || v > (1<<63)/10 {
			return 0, nil, false
		}
		v = v*10 + uint64(d)
	}
	if i == start || v > 1<<63 || v == 1<<63 && !neg {
		return 0, nil, false
	}
	n := int64(v)
	if neg {
		n = -n
	}
	if i < len(b) {
		i++ // the separator
	}
	return n, b[i:], true
}

// useCheckpoints reports whether the store's database has the checkpoints'
// table: once migrated, or read-only on a database that lacks no migration.
func (s *DB) useCheckpoints() bool { return s.versioned || s.behind == 0 }

// statusState is loadStateSized for the status of period p of the contracts
// of rules (one when only is not empty), starting each contract from its
// checkpoint when one holds. version is the data version the state stands
// for, when the store keeps checkpoints.
func (s *DB) statusState(ctx context.Context, tx *sql.Tx, rules *Rules, p billing.Period, only string) (st *state, version int64, err error) {
	if !s.useCheckpoints() {
		st, err = loadStateSized(ctx, tx, p, only, len(rules.list))
		return st, 0, err
	}
	// Read first: what the rest reads is at least as new (DataVersion).
	if err := queryRowTx(ctx, tx, `SELECT version FROM data_version`).Scan(&version); err != nil {
		return nil, 0, err
	}
	st, lo, err := loadClosedState(ctx, tx, only, len(rules.list))
	if err != nil {
		return nil, 0, err
	}
	if p <= lo { // nothing before p to compute: no checkpoint helps
		return st, version, st.loadUsage(ctx, tx, lo, p, only)
	}
	held, err := st.loadCheckpoints(ctx, tx, rules, lo, p, only)
	if err != nil {
		return nil, 0, err
	}
	// The usage rows read: from the earliest checkpoint when every
	// contract has one; a few without one read theirs from the first open
	// period each, by the (contract_id, period) key; many, all from there.
	from := p
	var without []*billing.Contract
	for _, c := range rules.list {
		cs := st.byID[c.ID]
		if cs == nil || cs.ck.kind == ckNone {
			without = append(without, c)
		} else {
			from = min(from, cs.ck.period)
		}
	}
	if held == 0 || len(without)*16 > len(rules.list) {
		from, without = lo, nil
	}
	for _, c := range without {
		if from == lo {
			break
		}
		if err := st.loadUsage(ctx, tx, lo, from-1, c.ID); err != nil {
			return nil, 0, err
		}
	}
	if err := st.loadUsage(ctx, tx, from, p, only); err != nil {
		return nil, 0, err
	}
	if held > 0 && s.d.postgres {
		// PostgreSQL reads each statement at its own snapshot: a write
		// between two of them could pair a checkpoint with usage it no
		// longer stands for. The data version says whether one came.
		var now int64
		if err := queryRowTx(ctx, tx, `SELECT version FROM data_version`).Scan(&now); err != nil {
			return nil, 0, err
		}
		if now != version {
			st, err = loadStateSized(ctx, tx, p, only, len(rules.list))
			return st, now, err
		}
	}
	return st, version, nil
}

// loadCheckpoints gives each contract of rules the latest of its
// checkpoints after lo and at or before p that holds for its terms, and
// returns how many it gave.
func (st *state) loadCheckpoints(ctx context.Context, tx *sql.Tx, rules *Rules, lo, p billing.Period, only string) (int, error) {
	q, args := `SELECT contract_id, period, ledger FROM ledger_checkpoints WHERE period > ? AND period <= ?`, []any{int64(lo), int64(p)}
	if only != "" {
		q, args = q+` AND contract_id = ?`, append(args, only)
	}
	rows, err := queryTx(ctx, tx, q+` ORDER BY contract_id, period`, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var id, ledger sql.RawBytes
	var terms []byte
	var last *billing.Contract
	held := 0
	for rows.Next() {
		var period int64
		if err := rows.Scan(&id, &period, &ledger); err != nil {
			return 0, err
		}
		c := last
		if c == nil || c.ID != string(id) {
			if c = rules.byID[string(id)]; c == nil {
				continue
			}
			last = c
			terms = appendLedgerTerms(terms[:0], c)
		}
		i := bytes.IndexByte(ledger, ';')
		if i < 0 || string(ledger[i+1:]) != string(terms) {
			continue
		}
		kind, lots, ok := parseLedger(ledger[:i])
		if !ok {
			continue
		}
		cs := st.of(c.ID)
		if cs.ck.kind == ckNone {
			held++
		}
		// Rows ascend by period: the latest wins.
		cs.ck = checkpoint{kind: kind, period: billing.Period(period), before: billing.Period(period) - 1, lots: lots}
	}
	return held, rows.Err()
}

// kept is a checkpoint status computed, to be kept.
type kept struct {
	c  *billing.Contract
	ck checkpoint
}

// finalKept computes contract c's figures for p, and says what to keep as
// its checkpoint at p, if anything: the lots carried into p when earlier
// periods were computed; that nothing came before p when its ledger starts
// there before any close.
func (st *state) finalKept(c *billing.Contract, p billing.Period, asOf billing.Date) (f billing.Figures, k checkpoint) {
	l := st.ledger(c)
	var carried []billing.Lot
	l.Run(c, p, asOf, func(g billing.Figures) {
		if g.Period == p-1 {
			carried = g.LotsOut
		}
		f = g
	})
	cs := st.byID[c.ID]
	if cs != nil && cs.ck.kind != ckNone && cs.ck.period == p {
		return f, checkpoint{} // kept already
	}
	switch from := l.From(c, p); {
	case from < p:
		k = checkpoint{kind: ckCarried, period: p, lots: carried}
	case !st.hasLast:
		k = checkpoint{kind: ckFresh, period: p}
	}
	return f, k
}

// keepCheckpoints writes the checkpoints status computed at period p, for
// the state of data version version: in a transaction of its own that
// leaves the data version alone, only if the version is still that (no
// write came since the read), and only if the write lock is free soon. It
// then drops the older checkpoints (of the one contract when only is not
// empty): a status then reads one row a contract, that of the month shown
// most, and an earlier month's is kept again when that month is asked. It
// gives up quietly: a checkpoint not kept costs only the next status's
// speed.
func (s *DB) keepCheckpoints(ctx context.Context, p billing.Period, only string, version int64, ks []kept) {
	if !s.versioned || len(ks) == 0 {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, digestWait)
	defer cancel()
	wctx = unversioned(wctx)
	s.tx(wctx, func(tx *sql.Tx) error {
		var now int64
		if err := tx.QueryRowContext(wctx, `SELECT version FROM data_version`).Scan(&now); err != nil {
			return err
		}
		if now != version {
			return errCheckpointMoved
		}
		var ledger []byte
		err := execChunked(wctx, tx, "ledger checkpoints", ks, checkpointChunk,
			`INSERT INTO ledger_checkpoints (contract_id, period, ledger) VALUES `, `(?, ?, ?),`,
			` ON CONFLICT (contract_id, period) DO UPDATE SET ledger = excluded.ledger`,
			func(args []any, k kept) []any {
				ledger = appendLedger(ledger[:0], k.c, k.ck)
				return append(args, k.c.ID, int64(k.ck.period), string(ledger))
			})
		if err != nil {
			return err
		}
		q, args := `DELETE FROM ledger_checkpoints WHERE period < ?`, []any{int64(p)}
		if only != "" {
			q, args = q+` AND contract_id = ?`, append(args, only)
		}
		_, err = tx.ExecContext(wctx, q, args...)
		return err
	})
}

// checkpointChunk is how many checkpoints one INSERT writes.
const checkpointChunk = 500

var errCheckpointMoved = errors.New("the data changed before the checkpoints were kept")
