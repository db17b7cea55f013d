package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"retainer/billing"
)

// backendDB opens a fresh database on this run's backend (the store's
// tests run again on PostgreSQL with RETAINER_TEST_BACKEND=postgres).
func backendDB(t *testing.T) *DB {
	t.Helper()
	s, err := Open(context.Background(), TestingDSN(t, os.Getenv("RETAINER_TEST_BACKEND") == "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestBurnHistory: the 12 months before the as-of date's, closed ones
// from their frozen rows, ended ones not closed yet computed as status
// computes them; the band of their average burn (Σused / Σcontracted); the
// same for one contract alone.
func TestBurnHistory(t *testing.T) {
	ctx := context.Background()
	h := func(n int64) int64 { return n * 3600 }
	per := billing.NewPeriod
	contract := func(id string, hours int64, start billing.Period, end *billing.Period) *billing.Contract {
		return &billing.Contract{ID: id, Client: "Client " + id, Unit: billing.UnitHours, OverageBillable: true, PaymentTermsDays: 15,
			Terms: billing.Terms{MonthlyHours: h(hours), MonthlyFee: 100000, OverageRate: 15000}, Start: &start, End: end}
	}
	endJan := per(2025, 1)
	contracts := []*billing.Contract{
		contract("steady", 40, per(2025, 1), nil), // 0 h in its first two months, then 38 h: 95.0% over the last 12
		contract("light", 20, per(2025, 1), nil),  // 11 h: 55.0%
		contract("edge", 10, per(2025, 1), nil),   // 6 h: 60.0% exactly
		contract("heavy", 10, per(2025, 1), nil),  // 12 h: 120.0%
		contract("late", 40, per(2025, 12), nil),  // three months of 30 h: 75.0%
		contract("ended", 10, per(2024, 6), &endJan),
		contract("free", 0, per(2025, 1), nil), // no hours contracted, 5 h used a month
	}
	rules := NewRules(contracts)
	var entries []Entry
	log := func(id string, p billing.Period, secs int64) {
		entries = append(entries, Entry{Source: "log", Client: "Client " + id, Date: p.FirstDay() + 9, Seconds: secs, Billable: true})
	}
	log("ended", per(2024, 7), h(5))
	for p := per(2025, 1); p <= per(2026, 2); p++ {
		if p >= per(2025, 3) {
			log("steady", p, h(38))
		}
		log("light", p, h(11))
		log("edge", p, h(6))
		log("heavy", p, h(12))
		if p >= per(2025, 12) {
			log("late", p, h(30))
		}
		log("free", p, h(5))
	}
	closedAt := time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)
	s, never := backendDB(t), backendDB(t) // never: the same hours, no month closed
	for _, db := range []*DB{s, never} {
		if err := db.AddEntries(ctx, rules, entries, closedAt); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ClosePeriod(ctx, rules, per(2026, 2), "USD", time.UTC, closedAt); err != nil {
		t.Fatal(err)
	}

	type want struct {
		months      int
		first, last string
		open        int // months computed, not closed: the last ones
		avg         string
		band        billing.Verdict
	}
	tests := []struct {
		name     string
		asOf     billing.Date
		from, to string // the window
		want     map[string]want
	}{
		{"in the open month: the 12 closed months before it", billing.DateOf(2026, 3, 20), "2025-03", "2026-02", map[string]want{
			"steady": {12, "2025-03", "2026-02", 0, "95.0", billing.PricedRight},
			"light":  {12, "2025-03", "2026-02", 0, "55.0", billing.FarOverSold},
			"edge":   {12, "2025-03", "2026-02", 0, "60.0", billing.OverSold},
			"heavy":  {12, "2025-03", "2026-02", 0, "120.0", billing.UnderPriced},
			"late":   {3, "2025-12", "2026-02", 0, "75.0", billing.UnderUsed},
			"ended":  {0, "", "", 0, "—", billing.NoHours},
			"free":   {12, "2025-03", "2026-02", 0, "—", billing.NoHours},
		}},
		{"months ended but not closed are computed", billing.DateOf(2026, 6, 10), "2025-06", "2026-05", map[string]want{
			"steady": {12, "2025-06", "2026-05", 3, "71.3", billing.UnderUsed},  // 9 × 38 / (12 × 40) = 71.25
			"late":   {6, "2025-12", "2026-05", 3, "37.5", billing.FarOverSold}, // 3 × 30 / (6 × 40)
			"free":   {12, "2025-06", "2026-05", 3, "—", billing.NoHours},
		}},
		{"as of a day of a closed month: the months before it", billing.DateOf(2026, 2, 15), "2025-02", "2026-01", map[string]want{
			"steady": {12, "2025-02", "2026-01", 0, "87.1", billing.UnderUsed}, // 11 × 38 / (12 × 40)
		}},
		{"an earlier date: the first months' zeros count", billing.DateOf(2025, 7, 1), "2024-07", "2025-06", map[string]want{
			"steady": {6, "2025-01", "2025-06", 0, "63.3", billing.OverSold},   // 4 × 38 / (6 × 40)
			"ended":  {7, "2024-07", "2025-01", 0, "7.1", billing.FarOverSold}, // 5 / (7 × 10)
			"late":   {0, "", "", 0, "—", billing.NoHours},
		}},
		{"before any contract", billing.DateOf(2024, 6, 15), "2023-06", "2024-05", map[string]want{
			"steady": {0, "", "", 0, "—", billing.NoHours},
			"ended":  {0, "", "", 0, "—", billing.NoHours},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all, err := s.BurnHistory(ctx, rules, tt.asOf)
			if err != nil {
				t.Fatal(err)
			}
			if all.From.String() != tt.from || all.To.String() != tt.to {
				t.Fatalf("window %s..%s, want %s..%s", all.From, all.To, tt.from, tt.to)
			}
			if len(all.Contracts) != len(contracts) {
				t.Fatalf("%d histories, want one per contract (%d)", len(all.Contracts), len(contracts))
			}
			for id, w := range tt.want {
				for _, src := range []string{"every contract", "one contract"} {
					got := all.Of(id)
					if src == "one contract" {
						one, err := s.BurnHistory(ctx, NewRules([]*billing.Contract{rules.Contract(id)}), tt.asOf)
						if err != nil {
							t.Fatal(err)
						}
						if len(one.Contracts) != 1 || one.From != all.From || one.To != all.To {
							t.Fatalf("%s alone: %+v", id, one)
						}
						got = one.Of(id)
					}
					first, last, open := "", "", 0
					if n := len(got.Months); n > 0 {
						first, last = got.Months[0].Period.String(), got.Months[n-1].Period.String()
					}
					for i, m := range got.Months {
						if !m.Closed {
							open++
						} else if open > 0 {
							t.Errorf("%s (%s): closed %s after an open month", id, src, m.Period)
						}
						if i > 0 && m.Period <= got.Months[i-1].Period {
							t.Errorf("%s (%s): months out of order: %s after %s", id, src, m.Period, got.Months[i-1].Period)
						}
					}
					if len(got.Months) != w.months || first != w.first || last != w.last || open != w.open ||
						got.AvgBurn.String() != w.avg || got.Band() != w.band {
						t.Errorf("%s (%s): %d months %s..%s (%d open), avg %s, %v; want %d months %s..%s (%d open), avg %s, %v", id, src,
							len(got.Months), first, last, open, got.AvgBurn, got.Band(), w.months, w.first, w.last, w.open, w.avg, w.band)
					}
				}
			}
		})
	}

	t.Run("a month as frozen", func(t *testing.T) {
		hs, err := s.BurnHistory(ctx, rules, billing.DateOf(2026, 3, 20))
		if err != nil {
			t.Fatal(err)
		}
		m := hs.Of("heavy").Months[11]
		// 12 h of 10: 2 h overage at 150.00 on a fee of 1,000.00.
		if m.Period != per(2026, 2) || !m.Closed || m.Used != h(12) || m.Contracted != h(10) || m.BurnRate.String() != "120.0" ||
			m.RetainerFee != 100000 || m.TotalInvoiced != 130000 || m.Currency != "USD" {
			t.Errorf("heavy 2026-02: %+v", m)
		}
		if hs.Of("nobody") != nil {
			t.Error("a contract not asked for has a history")
		}
	})

	// What a close freezes is what was computed before it: with no month
	// closed, every history is the same, month by month.
	t.Run("never closed", func(t *testing.T) {
		for _, asOf := range []billing.Date{billing.DateOf(2025, 7, 1), billing.DateOf(2026, 3, 20)} {
			closed, err := s.BurnHistory(ctx, rules, asOf)
			if err != nil {
				t.Fatal(err)
			}
			computed, err := never.BurnHistory(ctx, rules, asOf)
			if err != nil {
				t.Fatal(err)
			}
			for i := range closed.Contracts {
				a, b := closed.Contracts[i], computed.Contracts[i]
				if len(a.Months) != len(b.Months) || a.AvgBurn != b.AvgBurn || a.Band() != b.Band() {
					t.Errorf("%s as of %s: closed %d months avg %s, computed %d months avg %s", a.Contract.ID, asOf,
						len(a.Months), a.AvgBurn, len(b.Months), b.AvgBurn)
					continue
				}
				for j := range a.Months {
					ma, mb := a.Months[j], b.Months[j]
					if mb.Closed || ma.Period != mb.Period || ma.Used != mb.Used || ma.Contracted != mb.Contracted || ma.TotalInvoiced != mb.TotalInvoiced {
						t.Errorf("%s %s: closed %+v, computed %+v", a.Contract.ID, ma.Period, ma, mb)
					}
				}
			}
		}
	})
}

// TestBurnHistoryPlan: SQLite reads the window by a range of the period
// index (every contract) or of the (contract_id, period) key (one
// contract), never by a scan of the closed history.
func TestBurnHistoryPlan(t *testing.T) {
	if os.Getenv("RETAINER_TEST_BACKEND") == "postgres" {
		t.Skip("SQLite's query plan")
	}
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tt := range []struct {
		name, q string
		args    []any
		want    string
	}{
		{"every contract", historyWindow, []any{13, 1}, "USING COVERING INDEX closes_period (period>? AND period<?)"},
		{"one contract", historyWindow + historyOne, []any{13, 1, "a"}, "(contract_id=? AND period>? AND period<?)"},
	} {
		rows, err := s.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+tt.q, tt.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, tt.want) || strings.Contains(text, "SCAN c") || strings.Contains(text, "TEMP B-TREE") {
			t.Errorf("%s: the plan is\n%s\nwant a search %s, no scan of closes, no sort", tt.name, text, tt.want)
		}
	}
}

// BenchmarkBurnHistory is what the burn history costs after 12 and after
// 120 closed months, 1,000 contracts, as of a day of the open month: every
// contract's (the dashboard, the portfolio) and one contract's (its page,
// its renewal reminder). It reads the frozen rows of the last 12 months
// only, so neither may grow with the months closed before them. The months
// are closed one by one, as the daemon closes them on the 1st, so that a
// month's frozen rows lie together as they do in use. Run with
// go test ./store -run '^$' -bench BurnHistory -benchtime 100x
// (seeding takes about 3 s for 12 months, 30 s for 120).
//
// Measured on the 2-core development machine, shared and noisy: the best
// of three runs, 12 months | 120 months:
//
//	every  52 ms  | 49 ms
//	one    176 µs | 82 µs (runs vary by up to 2× under load)
//
// Closed all at once (seedHistory's single close, which writes each
// contract's 120 months together), the rows of one month lie apart and
// every contract's history read 56 | 88 ms: the frozen rows are read
// through the period index, then each from the table.
func BenchmarkBurnHistory(b *testing.B) {
	const contracts = 1000
	open, asOf := billing.NewPeriod(2026, 11), billing.DateOf(2026, 11, 20)
	for _, months := range []int{12, 120} {
		b.Run(fmt.Sprintf("months=%d", months), func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			start := open - billing.Period(months)
			rules := NewRules(benchContracts(contracts, withRollover(start)))
			t0 := time.Now()
			seedBulk(b, s, bulk{contracts: contracts, perContract: 2 * (months + 1), first: start.FirstDay(), last: asOf, step: 15})
			for p := start; p < open; p++ {
				closedOn := time.Date((p + 1).Year(), (p + 1).Month(), 1, 6, 0, 0, 0, time.UTC)
				if _, err := s.ClosePeriod(ctx, rules, p, "USD", time.UTC, closedOn); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				b.Fatal(err)
			}
			b.Logf("seeded and closed %d months of %d contracts in %s", months, contracts, time.Since(t0).Round(time.Millisecond))
			runtime.GC()
			one := NewRules(rules.list[42:43])
			for _, r := range []struct {
				name  string
				rules *Rules
			}{{"every", rules}, {"one", one}} {
				b.Run(r.name, func(b *testing.B) {
					for range b.N {
						hs, err := s.BurnHistory(ctx, r.rules, asOf)
						if err != nil {
							b.Fatal(err)
						}
						if n := len(hs.Contracts[0].Months); n != HistoryMonths || hs.To != open-1 {
							b.Fatalf("%d months through %s, want %d through %s", n, hs.To, HistoryMonths, open-1)
						}
					}
				})
			}
		})
	}
}
