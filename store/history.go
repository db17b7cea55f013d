package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"

	"retainer/billing"
)

// HistoryMonths is how many months a burn history covers.
const HistoryMonths = 12

// HistoryMonth is one ended month of a contract's burn history: as its
// close froze it, or, while it is not closed yet, as status computes it
// (as if every earlier month had been closed).
type HistoryMonth struct {
	Period        billing.Period
	Closed        bool
	Contracted    int64 // hours_contracted, in seconds (sessions: billing.SessionSeconds each)
	Used          int64 // hours_used, late adjustments included
	BurnRate      billing.Pct
	RetainerFee   billing.Money
	TotalInvoiced billing.Money // before tax
	Currency      string        // frozen with a closed month; the contract's while it is open
}

// History is one contract's burn over the months of a window: the months
// it was listed in (SPEC §3), oldest first, and the band of their average
// burn rate (Σused / Σcontracted, as the monthly summary averages).
type History struct {
	Contract       *billing.Contract
	Months         []HistoryMonth
	Used           int64 // summed over Months
	Contracted     int64
	AvgBurn        billing.Pct
	Recommendation billing.Recommendation
}

// Band is the pricing band of the history's average burn rate.
func (h *History) Band() billing.Verdict { return h.Recommendation.Verdict }

// Histories is the burn history of a set of contracts over one window: the
// HistoryMonths months before the as-of date's.
type Histories struct {
	From, To billing.Period
	// Contracts has one history per contract asked for, by contract id.
	Contracts []History
}

// Of returns contract id's history, or nil when it was not asked for.
func (hs *Histories) Of(id string) *History {
	i, ok := slices.BinarySearchFunc(hs.Contracts, id, func(h History, id string) int { return cmp.Compare(h.Contract.ID, id) })
	if !ok {
		return nil
	}
	return &hs.Contracts[i]
}

// The closed months of a burn history are one query: the last closed
// period through the window's end, found by one seek of the periods key,
// and the frozen rows from the window's start to it, by a range of the
// period (closes_period) or, for one contract, of the (contract_id, period)
// key. Its cost is the rows of the window, never the months closed before
// it; its order is made in Go (12 months a contract), not by a sort of the
// window. The LEFT JOIN keeps one row when the window holds none, so that
// the last close is known without a second query.
const historyWindow = `SELECT w.hi, c.contract_id, c.period, c.contracted, c.used, c.retainer_fee, c.total_invoiced, c.currency
	FROM (SELECT MAX(period) AS hi FROM periods WHERE period <= ?) w
	LEFT JOIN closes c ON c.period >= ? AND c.period <= w.hi`

// historyOne narrows historyWindow to one contract.
const historyOne = ` AND c.contract_id = ?`

// BurnHistory returns the burn history of rules' contracts as of asOf: for
// each, the used and contracted hours of the HistoryMonths months before
// asOf's, and the pricing band of their average. Closed months are read as
// their close froze them (one query, whatever the history closed before);
// months that have ended but are not closed yet (a close not run yet, a
// reminder computed as of an earlier date) are computed as status computes
// them, from the last close forward. Months a contract was not listed in
// (before its start, after its end with nothing used) are not in its
// history; a contract with no hours contracted in them has no band
// (billing.NoHours).
func (s *DB) BurnHistory(ctx context.Context, rules *Rules, asOf billing.Date) (*Histories, error) {
	to := asOf.Period() - 1
	from := to - HistoryMonths + 1
	q, args, only := historyWindow, []any{int64(to), int64(from)}, ""
	if len(rules.list) == 1 { // one contract: its own rows, by the (contract_id, period) key
		only = rules.list[0].ID
		q, args = historyWindow+historyOne, append(args, only)
	}
	out := &Histories{From: from, To: to, Contracts: make([]History, len(rules.list))}
	idx := make(map[string]*History, len(rules.list))
	for i, c := range rules.list {
		out.Contracts[i].Contract = c
		idx[c.ID] = &out.Contracts[i]
	}
	err := s.read(ctx, func(tx *sql.Tx) error {
		closedTo, err := frozenHistory(ctx, tx, q, args, idx)
		if err != nil || closedTo >= to {
			return err
		}
		// Months after the last close: computed forward from it, as status
		// computes an open month, each as if the ones before were closed.
		st, err := loadState(ctx, tx, to, only)
		if err != nil {
			return err
		}
		for i, c := range rules.list {
			if err := ctxDone(ctx, i); err != nil {
				return err
			}
			h := idx[c.ID]
			st.run(c, to, asOf, func(f billing.Figures) {
				if f.Period >= from && f.Listed(c) {
					h.Months = append(h.Months, historyMonth(f, c.Currency, false))
				}
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("burn history as of %s: %w", asOf, err)
	}
	for i := range out.Contracts {
		h := &out.Contracts[i]
		slices.SortFunc(h.Months, func(a, b HistoryMonth) int { return cmp.Compare(a.Period, b.Period) })
		figs := make([]billing.Figures, len(h.Months))
		for j, m := range h.Months {
			figs[j] = billing.Figures{Contracted: m.Contracted, Used: m.Used}
		}
		sum := billing.Summarize(figs) // checked sums, the summary's average
		h.Used, h.Contracted, h.AvgBurn = sum.Used, sum.Contracted, sum.AvgBurnRate
		h.Recommendation = billing.Recommend(h.AvgBurn)
	}
	return out, nil
}

// frozenHistory reads the frozen rows of the window (historyWindow) into
// the histories of idx, and returns the last closed period through the
// window's end (-1 when none is).
func frozenHistory(ctx context.Context, tx *sql.Tx, q string, args []any, idx map[string]*History) (billing.Period, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	closedTo := billing.Period(-1)
	for rows.Next() {
		var hi, period, contracted, used, fee, total sql.NullInt64
		var id, currency sql.NullString
		if err := rows.Scan(&hi, &id, &period, &contracted, &used, &fee, &total, &currency); err != nil {
			return 0, err
		}
		if hi.Valid {
			closedTo = billing.Period(hi.Int64)
		}
		h := idx[id.String]
		if !id.Valid || h == nil {
			continue // an empty window, or a contract no longer configured
		}
		h.Months = append(h.Months, historyMonth(billing.Figures{Period: billing.Period(period.Int64), Contracted: contracted.Int64,
			Used: used.Int64, RetainerFee: billing.Money(fee.Int64), TotalInvoiced: billing.Money(total.Int64)}, currency.String, true))
	}
	return closedTo, rows.Err()
}

func historyMonth(f billing.Figures, currency string, closed bool) HistoryMonth {
	return HistoryMonth{Period: f.Period, Closed: closed, Contracted: f.Contracted, Used: f.Used,
		BurnRate: billing.Percent(f.Used, f.Contracted), RetainerFee: f.RetainerFee, TotalInvoiced: f.TotalInvoiced, Currency: currency}
}
