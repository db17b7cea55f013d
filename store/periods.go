package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"retainer/billing"
)

// ErrPeriodNotEnded is returned when closing a period that has not ended.
var ErrPeriodNotEnded = errors.New("period has not ended yet")

// Row is one contract's figures in one period, as status shows them.
type Row struct {
	Contract *billing.Contract
	Figures  billing.Figures
	// Currency is the ISO 4217 code of the row's money: the one frozen with
	// a closed period, the contract's own while the period is open.
	Currency string
	// Bill is the period's invoice: its lines, subtotal (Figures'
	// TotalInvoiced), tax and total with tax (SPEC §14). A closed period's
	// tax rate and tax are the ones frozen at its close, never the config's
	// current rate; an open period's are computed with the contract's
	// current tax_rate.
	Bill    billing.Invoice
	Closed  bool
	Invoice *Statement // the stored statement; nil while the period is open or before go-live
	Note    string
}

// View is one period of the burn tracker.
type View struct {
	Period billing.Period
	Closed bool
	Rows   []Row // listed contracts, by contract id
	// Unmatched sums the entries dated in the period that match no contract.
	UnmatchedSeconds int64
	UnmatchedEntries int64
	// Unmatched breaks them down by client, most hours first (every
	// contract's status only).
	Unmatched []UnmatchedGroup
	// NonBillable are the listed contracts whose hours in the period were
	// all non-billable, so that none counted.
	NonBillable []NonBillable
}

// UnmatchedGroup is one client's entries that count toward no contract:
// they match none, or are dated before the start of the one they match.
type UnmatchedGroup struct {
	Client  string // as written in the first entry; "" when the entries have none
	Seconds int64
	Entries int64
	// BeforeStart is the contract the entries would count toward but for
	// being dated before its start; nil when they match none.
	BeforeStart *billing.Contract
}

// Statement is the invoice of one contract for one closed period.
type Statement struct {
	InvoiceNumber string
	ContractID    string
	Period        billing.Period
	Currency      string // the contract's currency when it was closed
	// Total is the total before tax: the period's total_invoiced (SPEC §3).
	// What the client owes is TotalWithTax.
	Total billing.Money
	// TaxRate and Tax are frozen at the close (SPEC §14): a later change
	// of the contract's tax_rate changes neither.
	TaxRate  billing.TaxRate
	Tax      billing.Money
	IssuedOn billing.Date
	DueOn    billing.Date
	Status   string // draft, pending, sent, paid; overdue is derived
	SentAt   *time.Time
	PaidOn   *billing.Date
}

// TotalWithTax is what the client owes: the total before tax plus the tax.
func (st *Statement) TotalWithTax() billing.Money { return st.Total + st.Tax }

// Statement statuses as stored (billing's names); overdue is derived
// (StatusAt).
const (
	StatusDraft   = billing.InvoiceDraft // under review (statements.review): nothing sent
	StatusPending = billing.InvoicePending
	StatusSent    = billing.InvoiceSent
	StatusPaid    = billing.InvoicePaid
)

// StatusAt returns the invoice status on asOf: a sent invoice past its due
// date is overdue.
func (st *Statement) StatusAt(asOf billing.Date) string {
	return billing.InvoiceStatusAt(st.Status, st.DueOn, asOf)
}

// state is what the open periods are computed from.
type state struct {
	last    billing.Period // last closed period; valid when hasLast
	hasLast bool
	// byID is what each contract's open periods start from: one map, so
	// that a row read and a contract computed cost one lookup each.
	byID map[string]*contractState
	slab []contractState // where byID's values are allocated, a chunk at a time
}

// contractState is one contract's part of the state.
type contractState struct {
	bank      []billing.Lot // lots carried out of last
	adjust    int64         // pending late adjustments
	firstUsed billing.Period
	hasFirst  bool
	usage     []periodUsage // periods ascending
	// ck is the contract's checkpoint status starts from (checkpoint.go);
	// its kind is ckNone when there is none.
	ck checkpoint
}

// of returns the state of contract id, made empty if it has none yet.
func (st *state) of(id string) *contractState {
	if cs := st.byID[id]; cs != nil {
		return cs
	}
	if len(st.slab) == cap(st.slab) {
		st.slab = make([]contractState, 0, max(64, cap(st.slab)))
	}
	st.slab = append(st.slab, contractState{})
	cs := &st.slab[len(st.slab)-1]
	st.byID[id] = cs
	return cs
}

// loadState reads what the open periods through upTo are computed from: for
// every contract, or for one when only is not empty (a statement, a message).
func loadState(ctx context.Context, tx *sql.Tx, upTo billing.Period, only string) (*state, error) {
	return loadStateSized(ctx, tx, upTo, only, 0)
}

// loadStateSized is loadState with room made for contracts contracts, so
// that the state of 10,000 contracts is not grown and rehashed row by row.
func loadStateSized(ctx context.Context, tx *sql.Tx, upTo billing.Period, only string, contracts int) (*state, error) {
	st, lo, err := loadClosedState(ctx, tx, only, contracts)
	if err != nil {
		return nil, err
	}
	return st, st.loadUsage(ctx, tx, lo, upTo, only)
}

// loadClosedState reads what the last close left (for every contract, or
// for one when only is not empty) into a new state with room for contracts
// contracts, and returns it with the first open period (0 before any close).
func loadClosedState(ctx context.Context, tx *sql.Tx, only string, contracts int) (st *state, lo billing.Period, err error) {
	filter, fargs := "", []any(nil)
	if only != "" { // one contract's rows, by the (contract_id, period) key
		filter, fargs = " AND contract_id = ?", []any{only}
	}
	st = &state{byID: make(map[string]*contractState, contracts), slab: make([]contractState, 0, contracts)}
	if st.last, st.hasLast, err = lastClosed(ctx, tx); err != nil {
		return nil, 0, err
	}
	if !st.hasLast {
		return st, 0, nil
	}
	rows, err := queryTx(ctx, tx, `SELECT contract_id, earned, seconds FROM lots WHERE period = ? AND direction = 'out'`+filter+
		` ORDER BY contract_id, earned`, append([]any{int64(st.last)}, fargs...)...)
	if err != nil {
		return nil, 0, err
	}
	var cs *contractState
	var last string
	var id sql.RawBytes // one buffer, copied out only for a new contract
	for rows.Next() {
		var earned, secs int64
		if err := rows.Scan(&id, &earned, &secs); err != nil {
			rows.Close()
			return nil, 0, err
		}
		if cs == nil || string(id) != last { // a contract's lots arrive together
			last = string(id)
			cs = st.of(last)
		}
		cs.bank = append(cs.bank, billing.Lot{Earned: billing.Period(earned), Seconds: secs})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if err := scanPairs(ctx, tx, `SELECT contract_id, SUM(seconds) FROM adjustments WHERE absorbed_in IS NULL`+filter+` GROUP BY contract_id`, fargs,
		func(id string, v int64) { st.of(id).adjust = v }); err != nil {
		return nil, 0, err
	}
	return st, st.last + 1, nil
}

// loadUsage adds the usage of periods lo through upTo (of one contract when
// only is not empty) to st: one pass over the usage rows, in the order of
// the covering (period, contract_id, counted, entries) index — no sort, no
// table lookups — or of the (contract_id, period) key for one contract.
// Each contract's periods arrive ascending, after any st holds already.
func (st *state) loadUsage(ctx context.Context, tx *sql.Tx, lo, upTo billing.Period, only string) error {
	filter, fargs, order := "", []any(nil), " ORDER BY period, contract_id"
	if only != "" {
		filter, fargs, order = " AND contract_id = ?", []any{only}, " ORDER BY contract_id, period"
	}
	rows, err := queryTx(ctx, tx, `SELECT contract_id, period, counted, entries FROM usage
		WHERE period >= ? AND period <= ? AND contract_id <> ''`+filter+order, append([]any{int64(lo), int64(upTo)}, fargs...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	periods := int(min(max(upTo-lo+1, 1), 24)) // room for each contract's open periods
	var id sql.RawBytes                        // one buffer: looked up without a copy when the contract has a state
	for rows.Next() {
		var p, counted, entries int64
		if err := rows.Scan(&id, &p, &counted, &entries); err != nil {
			return err
		}
		cs := st.byID[string(id)]
		if cs == nil {
			cs = st.of(string(id))
		}
		if entries > 0 && !cs.hasFirst {
			cs.firstUsed, cs.hasFirst = billing.Period(p), true
		}
		if cs.usage == nil {
			cs.usage = make([]periodUsage, 0, periods)
		}
		cs.usage = append(cs.usage, periodUsage{billing.Period(p), counted})
	}
	return rows.Err()
}

func scanPairs(ctx context.Context, tx *sql.Tx, q string, args []any, fn func(string, int64)) error {
	rows, err := queryTx(ctx, tx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var v sql.NullInt64
		if err := rows.Scan(&id, &v); err != nil {
			return err
		}
		fn(id, v.Int64)
	}
	return rows.Err()
}

type periodUsage struct {
	period  billing.Period
	counted int64
}

// ledger hands what the state holds for contract c to billing, which runs
// the open periods forward.
func (st *state) ledger(c *billing.Contract) billing.Ledger {
	var l billing.Ledger
	if st.hasLast {
		l.LastClosed = &st.last
	}
	cs := st.byID[c.ID]
	if cs == nil {
		return l
	}
	if cs.ck.kind == ckCarried {
		// As if the period before the checkpoint's had been closed with
		// the lots it carried: every late adjustment, and the opening bank
		// unless it is banked at a take-over still to come, is in them.
		l.LastClosed, l.Bank = &cs.ck.before, cs.ck.lots
	} else {
		l.Bank, l.Adjustment = cs.bank, cs.adjust
	}
	if cs.hasFirst {
		first := cs.firstUsed
		l.FirstUsed = &first
	}
	if usage := cs.usage; len(usage) > 0 {
		// Asked in ascending order: walk the contract's rows once.
		l.Used = func(q billing.Period) int64 {
			for len(usage) > 0 && usage[0].period < q {
				usage = usage[1:]
			}
			if len(usage) > 0 && usage[0].period == q {
				return usage[0].counted
			}
			return 0
		}
	}
	return l
}

// from returns the first period to compute contract c from to reach p.
func (st *state) from(c *billing.Contract, p billing.Period) billing.Period {
	l := st.ledger(c)
	return l.From(c, p)
}

// run computes contract c's figures from its first open period through p,
// handing each period's figures to fn.
func (st *state) run(c *billing.Contract, p billing.Period, asOf billing.Date, fn func(billing.Figures)) {
	l := st.ledger(c)
	l.Run(c, p, asOf, fn)
}

// final computes contract c's figures for p.
func (st *state) final(c *billing.Contract, p billing.Period, asOf billing.Date) billing.Figures {
	l := st.ledger(c)
	return l.At(c, p, asOf)
}

// Status returns the burn tracker for period p: frozen figures when p is
// closed, otherwise computed from the last close forward as if every earlier
// period had been closed. Only the contracts in rules are shown.
func (s *DB) Status(ctx context.Context, rules *Rules, p billing.Period, asOf billing.Date) (*View, error) {
	v := &View{Period: p}
	ctx = s.withStore(ctx) // the dashboard, the API and the alerts read it often
	only := ""
	if len(rules.list) == 1 { // one contract's status reads only its rows
		only = rules.list[0].ID
	}
	var version int64
	var keep []kept // checkpoints computed, kept after the read
	err := s.read(ctx, func(tx *sql.Tx) error {
		st, ver, err := s.statusState(ctx, tx, rules, p, only)
		if err != nil {
			return err
		}
		version, keep = ver, keep[:0]
		v.Rows = make([]Row, 0, len(rules.list)) // a Row is large: not grown by copies
		v.Closed = st.hasLast && p <= st.last
		if v.Closed {
			// One contract's status reads its own frozen row and lots, by the
			// (contract_id, period) keys; every contract's, the period's.
			frozen, err := frozenRows(ctx, tx, p, only)
			if err != nil {
				return err
			}
			for _, c := range rules.list {
				if f, ok := frozen[c.ID]; ok {
					v.Rows = append(v.Rows, f.row(c))
				}
			}
		} else {
			for i, c := range rules.list {
				// A long computation (thousands of contracts, a century of
				// periods) stops when its caller goes away.
				if err := ctxDone(ctx, i); err != nil {
					return err
				}
				f, k := st.finalKept(c, p, asOf)
				if k.kind != ckNone {
					keep = append(keep, kept{c, k})
				}
				if f.Listed(c) {
					v.Rows = append(v.Rows, openRow(c, f))
				}
			}
		}
		if len(v.Rows) == 0 {
			v.Rows = nil // as a view without rows always was
		}
		if err := s.decorate(ctx, tx, p, v.Rows); err != nil {
			return err
		}
		if v.NonBillable, err = nonBillableOnly(ctx, tx, rules, p, only); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(seconds), 0), COALESCE(SUM(entries), 0) FROM usage WHERE contract_id = '' AND period = ?`,
			int64(p)).Scan(&v.UnmatchedSeconds, &v.UnmatchedEntries); err != nil {
			return err
		}
		if v.UnmatchedEntries == 0 {
			return nil
		}
		v.Unmatched, err = unmatchedGroups(ctx, tx, rules, p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("status %s: %w", p, err)
	}
	s.keepCheckpoints(ctx, p, only, version, keep)
	return v, nil
}

// decorate adds notes and invoices to rows of period p.
func (s *DB) decorate(ctx context.Context, tx *sql.Tx, p billing.Period, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	idx := make(map[string]*Row, len(rows))
	for i := range rows {
		idx[rows[i].Contract.ID] = &rows[i]
	}
	q, args := `SELECT contract_id, text FROM notes WHERE period = ?`, []any{int64(p)}
	if len(rows) == 1 {
		q, args = `SELECT contract_id, text FROM notes WHERE contract_id = ? AND period = ?`, []any{rows[0].Contract.ID, int64(p)}
	}
	nrows, err := queryTx(ctx, tx, q, args...)
	if err != nil {
		return err
	}
	for nrows.Next() {
		var id, text string
		if err := nrows.Scan(&id, &text); err != nil {
			nrows.Close()
			return err
		}
		if r := idx[id]; r != nil {
			r.Note = text
		}
	}
	nrows.Close()
	if err := nrows.Err(); err != nil {
		return err
	}
	var sts []Statement
	if len(rows) == 1 { // one contract: its own row, by the (contract, period) key
		sts, err = statements(ctx, tx, `WHERE contract_id = ? AND period = ?`, rows[0].Contract.ID, int64(p))
	} else {
		sts, err = statements(ctx, tx, `WHERE period = ?`, int64(p))
	}
	if err != nil {
		return err
	}
	for i := range sts {
		if r := idx[sts[i].ContractID]; r != nil {
			r.Invoice = &sts[i]
		}
	}
	return nil
}

const statementCols = `invoice_number, contract_id, period, currency, total, issued_on, due_on, status, sent_at, paid_on, tax_rate, tax`

func statements(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]Statement, error) {
	rows, err := queryTx(ctx, tx, `SELECT `+statementCols+` FROM statements `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Statement
	for rows.Next() {
		var st Statement
		var p, total, issued, due, rate, tax int64
		var sent, paid sql.NullInt64
		if err := rows.Scan(&st.InvoiceNumber, &st.ContractID, &p, &st.Currency, &total, &issued, &due, &st.Status, &sent, &paid, &rate, &tax); err != nil {
			return nil, err
		}
		st.Period, st.Total, st.IssuedOn, st.DueOn = billing.Period(p), billing.Money(total), billing.Date(issued), billing.Date(due)
		st.TaxRate, st.Tax = billing.TaxRate(rate), billing.Money(tax)
		if sent.Valid {
			t := time.Unix(sent.Int64, 0).UTC()
			st.SentAt = &t
		}
		if paid.Valid {
			d := billing.Date(paid.Int64)
			st.PaidOn = &d
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

const closeCols = `contract_id, unit, contracted, banked, available, used, late_adjustment, remaining, overage,
	overage_rate, overage_fee, retainer_fee, total_invoiced, earned, forfeited, expired, rollover_out, currency, tax_rate, tax`

// frozenRow is one contract's row of a closed period as its close stored
// it: the figures with their lots, the currency, the tax rate and the tax.
type frozenRow struct {
	billing.Figures
	currency string
	taxRate  billing.TaxRate
	tax      billing.Money
}

// row is the frozen row as status and statements read it: its invoice laid
// out from the frozen figures, with the frozen tax.
func (f *frozenRow) row(c *billing.Contract) Row {
	bill := billing.InvoiceOf(c, f.Figures, f.taxRate)
	bill.Tax, bill.Total = f.tax, f.TotalInvoiced+f.tax
	return Row{Contract: c, Figures: f.Figures, Currency: f.currency, Bill: bill, Closed: true}
}

// openRow is contract c's row of an open period: its invoice is taxed at
// the contract's current rate, in its current currency.
func openRow(c *billing.Contract, f billing.Figures) Row {
	return Row{Contract: c, Figures: f, Currency: c.Currency, Bill: billing.InvoiceOf(c, f, c.TaxRate)}
}

// frozenRows reads the frozen rows of closed period p (one contract when
// id is not empty), with their lots.
func frozenRows(ctx context.Context, tx *sql.Tx, p billing.Period, id string) (map[string]*frozenRow, error) {
	q, args := `SELECT `+closeCols+` FROM closes WHERE period = ?`, []any{int64(p)}
	if id != "" {
		q, args = q+` AND contract_id = ?`, append(args, id)
	}
	rows, err := queryTx(ctx, tx, q, args...)
	if err != nil {
		return nil, err
	}
	out := map[string]*frozenRow{}
	for rows.Next() {
		fr := &frozenRow{Figures: billing.Figures{Period: p}}
		f := &fr.Figures
		var rate, ofee, rfee, total, taxRate, tax int64
		var unit string
		if err := rows.Scan(&f.ContractID, &unit, &f.Contracted, &f.Banked, &f.Available, &f.Used, &f.LateAdjustment,
			&f.Remaining, &f.Overage, &rate, &ofee, &rfee, &total, &f.Earned, &f.Forfeited, &f.Expired, &f.RolloverOut,
			&fr.currency, &taxRate, &tax); err != nil {
			rows.Close()
			return nil, err
		}
		fr.taxRate, fr.tax = billing.TaxRate(taxRate), billing.Money(tax)
		f.Unit = billing.Unit(unit)
		f.OverageRate, f.OverageFee, f.RetainerFee, f.TotalInvoiced = billing.Money(rate), billing.Money(ofee), billing.Money(rfee), billing.Money(total)
		f.Utilization = billing.Percent(f.Used, f.Available)
		f.BurnRate = billing.Percent(f.Used, f.Contracted)
		f.Projected = f.Used
		out[f.ContractID] = fr
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	q, args = `SELECT contract_id, direction, earned, seconds FROM lots WHERE period = ?`, []any{int64(p)}
	if id != "" {
		q, args = q+` AND contract_id = ?`, append(args, id)
	}
	lrows, err := queryTx(ctx, tx, q+` ORDER BY contract_id, earned`, args...)
	if err != nil {
		return nil, err
	}
	defer lrows.Close()
	for lrows.Next() {
		var cid, dir string
		var earned, secs int64
		if err := lrows.Scan(&cid, &dir, &earned, &secs); err != nil {
			return nil, err
		}
		f := out[cid]
		if f == nil {
			continue
		}
		l := billing.Lot{Earned: billing.Period(earned), Seconds: secs}
		if dir == "in" {
			f.LotsIn = append(f.LotsIn, l)
		} else {
			f.LotsOut = append(f.LotsOut, l)
		}
	}
	return out, lrows.Err()
}

// CloseResult says what a close did.
type CloseResult struct {
	Closed     []billing.Period // periods closed now, oldest first; empty when already closed
	Statements []Statement      // statements created now
}

// CloseOptions say how a close issues statements.
type CloseOptions struct {
	Currency string
	Location *time.Location // the agency timezone: periods end and statements are dated in it
	// GoLive is the first period that gets statements; earlier periods are
	// closed without statement, invoice or email. Nil: every period.
	GoLive *billing.Period
	// Review creates statements as drafts and queues nothing until they are
	// approved.
	Review bool
}

// ClosePeriod is CloseWith with every period invoiced and no review.
func (s *DB) ClosePeriod(ctx context.Context, rules *Rules, p billing.Period, currency string, loc *time.Location, now time.Time) (CloseResult, error) {
	return s.CloseWith(ctx, rules, p, CloseOptions{Currency: currency, Location: loc}, now)
}

// CloseWith closes period p and every earlier open period, oldest first, in one
// transaction: it freezes each listed contract's figures, stores the
// rollover lots, absorbs pending late adjustments into the first period it
// closes and creates one statement per contract and period from go-live on,
// issued on today's date in the agency timezone: pending with its email
// queued, or a draft under review. Closing a closed period changes nothing.
func (s *DB) CloseWith(ctx context.Context, rules *Rules, p billing.Period, opts CloseOptions, now time.Time) (CloseResult, error) {
	loc := opts.Location
	if now.Before(p.End(loc)) {
		return CloseResult{}, fmt.Errorf("close %s: %w (it ends %s)", p, ErrPeriodNotEnded, p.End(loc).Format(time.RFC3339))
	}
	var res CloseResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res = CloseResult{}
		st, err := loadState(ctx, tx, p, "")
		if err != nil {
			return err
		}
		if st.hasLast && st.last >= p {
			return nil
		}
		lo := p
		if st.hasLast {
			lo = st.last + 1
		} else {
			for _, c := range rules.list {
				if f := st.from(c, p); f < lo {
					lo = f
				}
			}
		}
		today := billing.DateAt(now, loc)
		w, err := newCloseWriter(ctx, tx)
		if err != nil {
			return err
		}
		defer w.release()
		for i, c := range rules.list {
			if err := ctxDone(ctx, i); err != nil {
				return err
			}
			var figs []billing.Figures
			st.run(c, p, today, func(f billing.Figures) {
				if f.Period >= lo && f.Listed(c) {
					figs = append(figs, f)
				}
			})
			// Each contract's money is in its own currency, taxed at its own
			// rate, both frozen here (SPEC §14).
			currency := c.Currency
			if currency == "" {
				currency = opts.Currency
			}
			for _, f := range figs {
				f.Projected = f.Used
				weeks, err := w.burndown(ctx, c.ID, f)
				if err != nil {
					return err
				}
				tax := c.TaxRate.Tax(f.TotalInvoiced)
				if err := w.write(ctx, f, weeks, currency, c.TaxRate, tax); err != nil {
					return fmt.Errorf("%s %s: %w", c.ID, f.Period, err)
				}
				if opts.GoLive != nil && f.Period < *opts.GoLive {
					continue // before go-live: figures and rollover only
				}
				stmt := Statement{
					InvoiceNumber: InvoiceNumber(c.ID, f.Period), ContractID: c.ID, Period: f.Period, Currency: currency,
					Total: f.TotalInvoiced, TaxRate: c.TaxRate, Tax: tax,
					IssuedOn: today, DueOn: today + billing.Date(c.PaymentTermsDays), Status: StatusPending,
				}
				if opts.Review {
					stmt.Status = StatusDraft
				}
				if err := w.statement(ctx, stmt, now); err != nil {
					return fmt.Errorf("%s %s: %w", c.ID, f.Period, err)
				}
				res.Statements = append(res.Statements, stmt)
				// The email is queued with the statement (a draft's when it is
				// approved); a contract with no contacts gets its statement
				// and invoice but no email.
				if stmt.Status == StatusPending && len(c.Contacts) > 0 {
					if err := enqueue(ctx, tx, StatementMessageKey(c.ID, f.Period), "email", c.Contacts, now); err != nil {
						return err
					}
				}
				if err := s.hook("close:" + c.ID + "/" + f.Period.String()); err != nil {
					return err
				}
			}
		}
		if st.hasLast {
			if _, err := tx.ExecContext(ctx, `UPDATE adjustments SET absorbed_in = ? WHERE absorbed_in IS NULL`, int64(lo)); err != nil {
				return err
			}
		}
		for q := lo; q <= p; q++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO periods (period, closed_at) VALUES (?, ?)`, int64(q), now.Unix()); err != nil {
				return err
			}
			res.Closed = append(res.Closed, q)
		}
		return s.hook("close:commit")
	})
	if err != nil {
		return CloseResult{}, fmt.Errorf("close %s: %w", p, err)
	}
	return res, nil
}

// ctxDone returns ctx's error every 16th contract i of a computation loop:
// often enough to stop within milliseconds, rarely enough to cost nothing.
func ctxDone(ctx context.Context, i int) error {
	if i%16 != 0 {
		return nil
	}
	return ctx.Err()
}

// StatementMessageKey is the outbox key of a statement email.
func StatementMessageKey(contractID string, p billing.Period) string {
	return StatementKeyOf(contractID, p).String()
}

// StatementKey reads a statement email's outbox key.
func StatementKey(key string) (contractID string, p billing.Period, ok bool) {
	k, err := ParseKey(key)
	if err != nil || k.Kind != KindStatement {
		return "", 0, false
	}
	return k.Contract, k.Period, true
}

// InvoiceNumber is <contract-id>-<YYYY-MM>.
func InvoiceNumber(contractID string, p billing.Period) string { return contractID + "-" + p.String() }

type closeWriter struct {
	daily, frozen, lot, stmt *sql.Stmt
}

func newCloseWriter(ctx context.Context, tx *sql.Tx) (*closeWriter, error) {
	w := &closeWriter{}
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = tx.PrepareContext(ctx, q)
		return st
	}
	w.daily = prep(`SELECT day, counted FROM usage_daily WHERE contract_id = ? AND day >= ? AND day <= ?`)
	w.frozen = prep(`INSERT INTO closes (` + closeCols + `, period, burndown)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	w.lot = prep(`INSERT INTO lots (contract_id, period, direction, earned, seconds) VALUES (?, ?, ?, ?, ?)`)
	w.stmt = prep(`INSERT INTO statements (` + statementCols + `, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?)`)
	if err != nil {
		w.release()
		return nil, err
	}
	return w, nil
}

func (w *closeWriter) release() {
	for _, st := range []*sql.Stmt{w.daily, w.frozen, w.lot, w.stmt} {
		if st != nil {
			st.Close()
		}
	}
}

func dailyUsage(ctx context.Context, q *sql.Stmt, id string, p billing.Period) (map[billing.Date]int64, error) {
	rows, err := q.QueryContext(ctx, id, int64(p.FirstDay()), int64(p.LastDay()))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	daily := map[billing.Date]int64{}
	for rows.Next() {
		var day, secs int64
		if err := rows.Scan(&day, &secs); err != nil {
			return nil, err
		}
		daily[billing.Date(day)] = secs
	}
	return daily, rows.Err()
}

func (w *closeWriter) burndown(ctx context.Context, id string, f billing.Figures) ([]billing.Week, error) {
	daily, err := dailyUsage(ctx, w.daily, id, f.Period)
	if err != nil {
		return nil, err
	}
	return billing.Burndown(f.Period, daily, f.LateAdjustment, f.Available), nil
}

type weekJSON struct {
	From       int64 `json:"from"`
	To         int64 `json:"to"`
	Hours      int64 `json:"seconds"`
	Cumulative int64 `json:"cumulative"`
	Remaining  int64 `json:"remaining"`
}

func encodeWeeks(weeks []billing.Week) string {
	out := make([]weekJSON, len(weeks))
	for i, w := range weeks {
		out[i] = weekJSON{int64(w.From), int64(w.To), w.Hours, w.Cumulative, w.Remaining}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func decodeWeeks(s string) ([]billing.Week, error) {
	var in []weekJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, err
	}
	out := make([]billing.Week, len(in))
	for i, w := range in {
		out[i] = billing.Week{From: billing.Date(w.From), To: billing.Date(w.To), Hours: w.Hours, Cumulative: w.Cumulative, Remaining: w.Remaining}
	}
	return out, nil
}

func (w *closeWriter) write(ctx context.Context, f billing.Figures, weeks []billing.Week, currency string, rate billing.TaxRate, tax billing.Money) error {
	if _, err := w.frozen.ExecContext(ctx, f.ContractID, string(f.Unit), f.Contracted, f.Banked, f.Available, f.Used, f.LateAdjustment,
		f.Remaining, f.Overage, int64(f.OverageRate), int64(f.OverageFee), int64(f.RetainerFee), int64(f.TotalInvoiced),
		f.Earned, f.Forfeited, f.Expired, f.RolloverOut, currency, int64(rate), int64(tax), int64(f.Period), encodeWeeks(weeks)); err != nil {
		return err
	}
	for dir, lots := range map[string][]billing.Lot{"in": f.LotsIn, "out": f.LotsOut} {
		for _, l := range lots {
			if _, err := w.lot.ExecContext(ctx, f.ContractID, int64(f.Period), dir, int64(l.Earned), l.Seconds); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *closeWriter) statement(ctx context.Context, st Statement, now time.Time) error {
	_, err := w.stmt.ExecContext(ctx, st.InvoiceNumber, st.ContractID, int64(st.Period), st.Currency, int64(st.Total),
		int64(st.IssuedOn), int64(st.DueOn), st.Status, int64(st.TaxRate), int64(st.Tax), now.Unix())
	return err
}
