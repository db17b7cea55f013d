package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"retainer/billing"
)

// seedBulk fills a fresh database with n entries spread over contracts
// contracts and the days of 2026-01..2026-10, and their usage rows, straight
// in SQL: the fastest way to reach benchmark sizes.
func seedBulk(tb testing.TB, s *DB, contracts, n int) {
	tb.Helper()
	ctx := context.Background()
	first := int64(billing.DateOf(2026, 1, 1))
	// Rows go in contract by contract, so the (contract_id, day) index grows
	// at its end as it does in real use, not at random places.
	per := n / contracts
	_, err := s.db.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO entries (source, day, seconds, billable, client, contract_id, counted, created_at, updated_at)
		SELECT 'harvest', ? + i % 304, 1800, 1, printf('Client %05d', i / ?), printf('c%05d', i / ?), 1800, 0, 0 FROM n`,
		per*contracts-1, first, per, per)
	if err != nil {
		tb.Fatal(err)
	}
	// The period of a day: months since year 0.
	const period = `(CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12 + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1)`
	if _, err := s.db.ExecContext(ctx, `INSERT INTO usage (contract_id, period, counted, seconds, entries)
		SELECT contract_id, `+period+`, SUM(counted), SUM(seconds), COUNT(*) FROM entries GROUP BY contract_id, `+period); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO usage_daily (contract_id, day, counted, entries)
		SELECT contract_id, day, SUM(counted), COUNT(*) FROM entries GROUP BY contract_id, day`); err != nil {
		tb.Fatal(err)
	}
	// A database in use is checkpointed; one bulk transaction leaves the whole
	// file in the WAL.
	if _, err := s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		tb.Fatal(err)
	}
}

func benchContracts(n int) []*billing.Contract {
	start := billing.NewPeriod(2026, 1)
	cap := int64(10 * 3600)
	out := make([]*billing.Contract, n)
	for i := range out {
		out[i] = &billing.Contract{
			ID: fmt.Sprintf("c%05d", i), Client: fmt.Sprintf("Client %05d", i), Unit: billing.UnitHours,
			Terms:           billing.Terms{MonthlyHours: 40 * 3600, MonthlyFee: 500000, OverageRate: 17500},
			OverageBillable: true, Rollover: true, MaxRollover: &cap, Start: &start, PaymentTermsDays: 15,
		}
	}
	return out
}

// BenchmarkStatus is `status` for 10,000 contracts over the 10th month of
// their history, with 1,000,000 and 10,000,000 entries in the database: the
// cost must not depend on the number of entries. Run with
// go test ./store -run '^$' -bench Status -benchtime 20x
func BenchmarkStatus(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		for _, closed := range []bool{false, true} {
			b.Run(fmt.Sprintf("contracts=10000/entries=%d/closed-through-sep=%t", n, closed), func(b *testing.B) {
				if testing.Short() && n > 1_000_000 {
					b.Skip("short")
				}
				ctx := context.Background()
				s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				t0 := time.Now()
				seedBulk(b, s, 10000, n)
				b.Logf("seeded %d entries in %s", n, time.Since(t0).Round(time.Millisecond))
				rules := NewRules(benchContracts(10000))
				if closed {
					t0 := time.Now()
					if _, err := s.ClosePeriod(ctx, rules, billing.NewPeriod(2026, 9), "USD", time.UTC, time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC)); err != nil {
						b.Fatal(err)
					}
					b.Logf("closed 2026-01..2026-09 for 10,000 contracts in %s", time.Since(t0).Round(time.Millisecond))
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					v, err := s.Status(ctx, rules, billing.NewPeriod(2026, 10), billing.DateOf(2026, 10, 20))
					if err != nil {
						b.Fatal(err)
					}
					if len(v.Rows) != 10000 {
						b.Fatalf("rows = %d", len(v.Rows))
					}
				}
			})
		}
	}
}

// backends runs a benchmark on SQLite and, when RETAINER_TEST_POSTGRES_URL
// is set, on PostgreSQL.
func backends(b *testing.B, fn func(b *testing.B, postgres bool)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, false) })
	b.Run("postgres", func(b *testing.B) { fn(b, true) })
}

// BenchmarkImportWithIDs imports 300,000 rows that carry tracker ids (a
// Toggl or generic export) in one transaction, then the same file again.
func BenchmarkImportWithIDs(b *testing.B) {
	backends(b, func(b *testing.B, postgres bool) {
		ctx := context.Background()
		const n = 300000
		c := &billing.Contract{ID: "hooli", Client: "Hooli", Unit: billing.UnitHours, Terms: billing.Terms{MonthlyHours: 3600}}
		rules := NewRules([]*billing.Contract{c})
		now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			s, err := Open(ctx, TestingDSN(b, postgres))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			for pass := 0; pass < 2; pass++ {
				im, err := s.BeginImport(ctx, rules, "generic", now)
				if err != nil {
					b.Fatal(err)
				}
				for j := 0; j < n; j++ {
					if err := im.Add(Entry{ExternalID: fmt.Sprintf("H-%d", j), Date: billing.DateOf(2026, 11, 1+j%24), Seconds: 900,
						Billable: true, Client: "Hooli"}); err != nil {
						b.Fatal(err)
					}
				}
				res, err := im.Commit()
				if err != nil || res.Imported+res.Unchanged != n {
					b.Fatalf("%+v %v", res, err)
				}
			}
			b.StopTimer()
			s.Close()
		}
		b.ReportMetric(float64(2*n*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkImportHarvestRows imports 300,000 rows without ids (a Harvest
// export) into a fresh database, one transaction.
func BenchmarkImportHarvestRows(b *testing.B) {
	backends(b, func(b *testing.B, postgres bool) {
		ctx := context.Background()
		const n = 300000
		cs := make([]*billing.Contract, 100)
		for i := range cs {
			cs[i] = &billing.Contract{ID: fmt.Sprintf("c%03d", i), Client: fmt.Sprintf("Client %03d", i), Unit: billing.UnitHours,
				Terms: billing.Terms{MonthlyHours: 40 * 3600}}
		}
		rules := NewRules(cs)
		now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			s, err := Open(ctx, TestingDSN(b, postgres))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			im, err := s.BeginImport(ctx, rules, "harvest", now)
			if err != nil {
				b.Fatal(err)
			}
			for j := 0; j < n; j++ {
				if err := im.Add(Entry{Date: billing.DateOf(2026, time.Month(1+j%10), 1+j%28), Seconds: 1800, Billable: true,
					Client: fmt.Sprintf("Client %03d", j%100), Notes: "work"}); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := im.Commit(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			s.Close()
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkCloseMonth closes one month of 10,000 contracts with ten entries
// each: frozen rows, statements and queued emails in one transaction.
func BenchmarkCloseMonth(b *testing.B) {
	backends(b, func(b *testing.B, postgres bool) {
		ctx := context.Background()
		start := billing.NewPeriod(2026, time.October)
		cs := make([]*billing.Contract, 10000)
		var entries []Entry
		for i := range cs {
			cs[i] = &billing.Contract{ID: fmt.Sprintf("c%05d", i), Client: fmt.Sprintf("Client %05d", i), Unit: billing.UnitHours,
				Start: &start, Contacts: []string{"ap@example.com"}, PaymentTermsDays: 15,
				Terms: billing.Terms{MonthlyHours: 40 * 3600, MonthlyFee: 500000, OverageRate: 17500}}
			for d := 0; d < 10; d++ {
				entries = append(entries, Entry{Source: "log", Client: cs[i].Client, Date: billing.DateOf(2026, 10, 1+d*3),
					Seconds: int64(3+d%3) * 3600, Billable: true})
			}
		}
		rules := NewRules(cs)
		now := time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			s, err := Open(ctx, TestingDSN(b, postgres))
			if err != nil {
				b.Fatal(err)
			}
			if err := s.AddEntries(ctx, rules, entries, now); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			res, err := s.ClosePeriod(ctx, rules, start, "USD", time.UTC, now)
			if err != nil || len(res.Statements) != len(cs) {
				b.Fatalf("%d statements, %v", len(res.Statements), err)
			}
			b.StopTimer()
			s.Close()
		}
	})
}

// reimportRows is a month-to-date export without ids: n rows over 24 days
// of November 2026, 100 clients, three people and four projects each.
func reimportRows(n int) (*Rules, []Entry) {
	cs := make([]*billing.Contract, 100)
	for i := range cs {
		cs[i] = &billing.Contract{ID: fmt.Sprintf("c%03d", i), Client: fmt.Sprintf("Client %03d", i), Unit: billing.UnitHours,
			Terms: billing.Terms{MonthlyHours: 40 * 3600}}
	}
	rows := make([]Entry, n)
	for j := range rows {
		rows[j] = Entry{Date: billing.DateOf(2026, 11, 1+j%24), Seconds: int64(900 * (1 + j%8)), Billable: j%10 != 0,
			Client: fmt.Sprintf("Client %03d", j%100), Project: fmt.Sprintf("Project %d", j%4),
			User: fmt.Sprintf("User %d", j%3), Notes: fmt.Sprintf("task %d", j%37)}
	}
	return NewRules(cs), rows
}

// BenchmarkReimportWithoutIDs imports 100,000 rows without ids (a Harvest
// month-to-date export) into a fresh database, then the same file again,
// the everyday "export month-to-date, import again": the second import,
// which finds every row unchanged, must cost at most 1.5 times the first.
// Run with go test ./store -run '^$' -bench ReimportWithoutIDs -benchtime 3x
func BenchmarkReimportWithoutIDs(b *testing.B) {
	backends(b, func(b *testing.B, postgres bool) {
		ctx := context.Background()
		const n = 100000
		rules, rows := reimportRows(n)
		now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
		var first, again time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			s, err := Open(ctx, TestingDSN(b, postgres))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			for pass, took := range []*time.Duration{&first, &again} {
				t0 := time.Now()
				im, err := s.BeginImport(ctx, rules, "harvest", now)
				if err != nil {
					b.Fatal(err)
				}
				for j := range rows {
					if err := im.Add(rows[j]); err != nil {
						b.Fatal(err)
					}
				}
				res, err := im.Commit()
				if err != nil {
					b.Fatal(err)
				}
				*took += time.Since(t0)
				if want := [2]int{n, 0}; pass == 1 {
					want = [2]int{0, n}
					if got := [2]int{res.Imported, res.Unchanged}; got != want {
						b.Fatalf("again: imported, unchanged = %v, want %v", got, want)
					}
				} else if res.Imported != want[0] {
					b.Fatalf("first: imported %d, want %d", res.Imported, n)
				}
			}
			b.StopTimer()
			s.Close()
			b.StartTimer()
		}
		ratio := again.Seconds() / first.Seconds()
		b.ReportMetric(first.Seconds()/float64(b.N), "first-s")
		b.ReportMetric(again.Seconds()/float64(b.N), "again-s")
		b.ReportMetric(ratio, "again/first")
		if ratio > 1.5 && !postgres {
			b.Errorf("re-import of %d unchanged rows took %.2f× the first import (%s vs %s), want at most 1.5×",
				n, ratio, again/time.Duration(b.N), first/time.Duration(b.N))
		}
	})
}

// BenchmarkAddEntry is one `retainer log`: one entry of one contract, in one
// write transaction, on an empty database and on databases of 1,000,000 and
// 10,000,000 entries of 10,000 contracts. A write must cost the same at
// any size: it touches its own (contract, period) and (contract, day)
// aggregate rows and no others. Run with
// go test ./store -run '^$' -bench AddEntry -benchtime 200x
func BenchmarkAddEntry(b *testing.B) {
	for _, n := range []int{0, 1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			if testing.Short() && n > 1_000_000 {
				b.Skip("short")
			}
			ctx := context.Background()
			s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if n > 0 {
				t0 := time.Now()
				seedBulk(b, s, 10000, n)
				b.Logf("seeded %d entries in %s", n, time.Since(t0).Round(time.Millisecond))
			}
			rules := NewRules(benchContracts(10000))
			now := time.Date(2026, 10, 20, 12, 0, 0, 0, time.UTC)
			add := func() time.Duration {
				e := []Entry{{Source: "log", Date: billing.DateOf(2026, 10, 20), Seconds: 3600, Billable: true,
					Client: "Client 00042", Pinned: "c00042"}}
				t0 := time.Now()
				if err := s.AddEntries(ctx, rules, e, now); err != nil {
					b.Fatal(err)
				}
				return time.Since(t0)
			}
			// The first writes after the seeding wait for the disk to take
			// the seeded file (hundreds of MB written a moment ago); they
			// measure the machine, not the write.
			for range 20 {
				add()
			}
			took := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				took = append(took, add())
			}
			b.StopTimer()
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns/op")
			b.ReportMetric(float64(took[len(took)*9/10].Nanoseconds()), "p90-ns/op")
		})
	}
}
