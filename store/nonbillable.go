package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"retainer/billing"
)

// NonBillable is a contract that received hours in a period, every one of
// them non-billable, so that none counts (the contract does not say
// count_non_billable): a tracker plan without billable rates marks every
// entry so, and the client shows 0% used for no visible reason.
type NonBillable struct {
	ContractID string
	Seconds    int64          // all of them
	BySource   []SourceAmount // where they came from, most first
}

// SourceAmount is the seconds one source brought.
type SourceAmount struct {
	Source  string
	Seconds int64
}

// NonBillableOnly lists the contracts of rules that received only
// non-billable hours in p, by contract id.
func (s *DB) NonBillableOnly(ctx context.Context, rules *Rules, p billing.Period) ([]NonBillable, error) {
	var out []NonBillable
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = nonBillableOnly(ctx, tx, rules, p, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("non-billable hours %s: %w", p, err)
	}
	return out, nil
}

// nonBillableOnly finds them from the usage rows — matched entries none of
// which counted, read from the (period, contract_id, counted, entries)
// index — and reads the entries only of those contracts, in one pass over
// the period's days: nothing is read when every contract counts its hours.
func nonBillableOnly(ctx context.Context, tx *sql.Tx, rules *Rules, p billing.Period, only string) ([]NonBillable, error) {
	filter, args := "", []any{int64(p)}
	if only != "" {
		filter, args = " AND contract_id = ?", append(args, only)
	}
	flagged := map[string]bool{}
	if err := scanPairs(ctx, tx, `SELECT contract_id, entries FROM usage
		WHERE period = ? AND contract_id <> '' AND counted = 0 AND entries > 0`+filter, args,
		func(id string, _ int64) {
			if c := rules.Contract(id); c != nil && !c.CountNonBillable {
				flagged[id] = true
			}
		}); err != nil {
		return nil, err
	}
	if len(flagged) == 0 {
		return nil, nil
	}
	eargs := []any{int64(p.FirstDay()), int64(p.LastDay())}
	efilter := ` AND contract_id IN (SELECT contract_id FROM usage WHERE period = ? AND contract_id <> '' AND counted = 0 AND entries > 0)`
	eargs = append(eargs, int64(p))
	if only != "" {
		efilter = " AND contract_id = ?"
		eargs = []any{int64(p.FirstDay()), int64(p.LastDay()), only}
	}
	rows, err := tx.QueryContext(ctx, `SELECT contract_id, source, SUM(seconds) FROM entries
		WHERE day >= ? AND day <= ?`+efilter+` GROUP BY contract_id, source`, eargs...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	by := map[string]*NonBillable{}
	for rows.Next() {
		var id, source string
		var secs int64
		if err := rows.Scan(&id, &source, &secs); err != nil {
			return nil, err
		}
		if !flagged[id] {
			continue
		}
		nb := by[id]
		if nb == nil {
			nb = &NonBillable{ContractID: id}
			by[id] = nb
		}
		nb.Seconds += secs
		nb.BySource = append(nb.BySource, SourceAmount{source, secs})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]NonBillable, 0, len(by))
	for _, nb := range by {
		sort.Slice(nb.BySource, func(i, j int) bool {
			a, b := nb.BySource[i], nb.BySource[j]
			return a.Seconds > b.Seconds || a.Seconds == b.Seconds && a.Source < b.Source
		})
		out = append(out, *nb)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ContractID < out[j].ContractID })
	return out, nil
}
