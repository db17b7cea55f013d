package store

import (
	"context"
	"fmt"
	"maps"
	"os"
	"testing"
	"time"

	"retainer/billing"
)

// TestImportUsageMatchesEntries: whatever path an import's usage takes —
// held in memory, added up by SQL from the staged rows once the file has
// more than the import's limit of (contract, day) pairs, from the staged
// rows that a re-import keeps or that carry ids — usage and usage_daily
// end equal to the sums over the stored entries, and counted time landing
// in a closed month is one late adjustment of exactly that time.
func TestImportUsageMatchesEntries(t *testing.T) {
	ctx := context.Background()
	const contracts = 210
	cs := make([]*billing.Contract, contracts)
	for i := range cs {
		cs[i] = &billing.Contract{ID: fmt.Sprintf("c%03d", i), Client: fmt.Sprintf("Client %03d", i), Unit: billing.UnitHours,
			RoundingMinutes: 15, Terms: billing.Terms{MonthlyHours: 40 * 3600, MonthlyFee: 100000}}
	}
	rules := NewRules(cs)
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	// rows is n rows over contracts clients (and one unmatched) and days
	// days from the 1st of September 2026; with ids when ided.
	rows := func(n, clients, days int, ided bool, seconds func(j int) int64) []Entry {
		out := make([]Entry, n)
		for j := range out {
			c := fmt.Sprintf("Client %03d", j%clients)
			if j%97 == 0 {
				c = "Nobody Inc"
			}
			out[j] = Entry{Date: billing.DateOf(2026, 9, 1) + billing.Date(j/clients%days), Seconds: seconds(j), Billable: j%5 != 0,
				Client: c, Notes: fmt.Sprintf("n%d", j)}
			if ided {
				out[j].ExternalID = fmt.Sprintf("T-%d", j)
			}
		}
		return out
	}
	plain := func(j int) int64 { return int64(600 + 60*(j%7)) }
	const n = contracts * 20 // 4,200 (contract, day) pairs
	for _, tt := range []struct {
		name    string
		limit   int    // the import's limit of (contract, day) pairs held in memory
		closeTo string // a period closed before the imports
		imports [][]Entry
		entries int
	}{
		{"few pairs, held in memory", usageLimit, "", [][]Entry{rows(300, 30, 10, false, plain)}, 300},
		{"pairs held in memory", usageLimit, "", [][]Entry{rows(n, contracts, 20, false, plain)}, n},
		{"more pairs than the limit, in sorted runs", 1000, "", [][]Entry{rows(n, contracts, 20, false, plain)}, n},
		{"the same file again, unchanged", 1000, "", [][]Entry{rows(n, contracts, 20, false, plain), rows(n, contracts, 20, false, plain)}, n},
		{"a re-import changing every other row", 1000, "", [][]Entry{
			rows(n, contracts, 20, false, plain),
			rows(n, contracts, 20, false, func(j int) int64 { return plain(j) + int64(j%2)*900 }),
		}, n},
		{"rows with ids, then changed", usageLimit, "", [][]Entry{
			rows(n, contracts, 20, true, plain),
			rows(n, contracts, 20, true, func(j int) int64 { return plain(j) + int64(j%3)*300 }),
		}, n},
		{"rows in a closed month, held in memory", usageLimit, "2026-09", [][]Entry{rows(n, contracts, 20, false, plain)}, n},
		{"rows in a closed month, in sorted runs", 1000, "2026-09", [][]Entry{rows(n, contracts, 20, false, plain)}, n},
	} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, stream), func(t *testing.T) {
				s, err := Open(ctx, TestingDSN(t, os.Getenv("RETAINER_TEST_BACKEND") == "postgres"))
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if tt.closeTo != "" {
					p, err := billing.ParsePeriod(tt.closeTo)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := s.ClosePeriod(ctx, rules, p, "USD", time.UTC, now); err != nil {
						t.Fatal(err)
					}
				}
				for _, file := range tt.imports {
					im, err := s.BeginImport(ctx, rules, "harvest", now)
					if err != nil {
						t.Fatal(err)
					}
					im.usageLimit = tt.limit
					if stream { // in chunks of 700 rows: the last one short
						im.Stream()
						im.streamRows = 700
					}
					for _, e := range file {
						if err := im.Add(e); err != nil {
							t.Fatal(err)
						}
					}
					if _, err := im.Commit(); err != nil {
						t.Fatal(err)
					}
				}
				type key struct {
					contract string
					at       int64 // a period or a day
				}
				type sums struct{ counted, seconds, entries int64 }
				wantPeriods, wantDays := map[key]sums{}, map[key]sums{}
				closedCounted := map[key]int64{}
				n := 0
				err = s.EachEntry(ctx, 0, billing.DateOf(2100, 1, 1), func(e Entry) error {
					n++
					p := key{e.ContractID, int64(e.Date.Period())}
					u := wantPeriods[p]
					wantPeriods[p] = sums{u.counted + e.Counted, u.seconds + e.Seconds, u.entries + 1}
					if e.ContractID != "" {
						d := key{e.ContractID, int64(e.Date)}
						u := wantDays[d]
						wantDays[d] = sums{u.counted + e.Counted, 0, u.entries + 1}
						if tt.closeTo != "" && e.Date.Period().String() <= tt.closeTo {
							closedCounted[p] += e.Counted
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				maps.DeleteFunc(closedCounted, func(_ key, v int64) bool { return v == 0 }) // nothing counted, nothing to adjust
				if n != tt.entries {
					t.Errorf("%d entries stored, want %d", n, tt.entries)
				}
				read := func(q string) map[key]sums {
					rows, err := s.db.QueryContext(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					defer rows.Close()
					out := map[key]sums{}
					for rows.Next() {
						var k key
						var u sums
						if err := rows.Scan(&k.contract, &k.at, &u.counted, &u.seconds, &u.entries); err != nil {
							t.Fatal(err)
						}
						out[k] = u
					}
					return out
				}
				if got := read(`SELECT contract_id, period, counted, seconds, entries FROM usage`); !maps.Equal(got, wantPeriods) {
					t.Errorf("usage: %d rows, want %d; they differ", len(got), len(wantPeriods))
				}
				if got := read(`SELECT contract_id, day, counted, 0, entries FROM usage_daily`); !maps.Equal(got, wantDays) {
					t.Errorf("usage_daily: %d rows, want %d; they differ", len(got), len(wantDays))
				}
				gotAdj := map[key]int64{}
				for k, u := range read(`SELECT contract_id, entry_period, SUM(seconds), 0, COUNT(*) FROM adjustments GROUP BY contract_id, entry_period`) {
					gotAdj[k] = u.counted
					if u.entries != 1 {
						t.Errorf("%s %d: %d late adjustments, want one", k.contract, k.at, u.entries)
					}
				}
				if !maps.Equal(gotAdj, closedCounted) {
					t.Errorf("late adjustments: %d, want %d (contract, period) pairs; they differ", len(gotAdj), len(closedCounted))
				}
			})
		}
	}
}
