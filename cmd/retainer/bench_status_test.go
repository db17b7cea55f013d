package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"retainer/billing"
)

// BenchmarkStatusVsRead is `retainer status --json` end to end — the
// command line, the config through its parse cache, the store, the
// matching check, the burn tracker and the JSON — against the raw read of
// the same month's usage rows (open the file through the same driver,
// SELECT contract_id, counted, entries FROM usage WHERE period = ?, scan
// every row, close) in the same run. Each iteration is one interleaved pair
// (reference, then ours); the benchmark reports the min and median of the
// pairs' time ratios and each side's median. The machine is shared and
// noisy: compare the ratios, not the absolute times. Run with
//
//	go test ./cmd/retainer -run '^$' -bench StatusVsRead -benchtime 20x
//
// and RETAINER_BENCH_10M=1 to add 10,000,000 entries (seeding takes about
// three minutes on the 2-core machine).
//
// With no month closed, the warm-up status keeps a ledger checkpoint per
// contract at October (store/checkpoint.go), which the pairs start from, as
// a daemon's status does all month. The edited sizes measure what a change
// of an earlier month costs the next status: before each pair (untimed) the
// March usage of one contract (edited=one: its checkpoint is dropped, and
// status reads its rows by key) or of every contract (edited=all: status
// computes every contract from January and keeps 10,000 checkpoints again)
// is written.
func BenchmarkStatusVsRead(b *testing.B) {
	parent := b
	// closed: how many of the months before October are closed, as a
	// running daemon closes them (0: ten open months computed from January).
	type size struct {
		contracts, entries, closed int
		edited                     string // "", "one", "all"
	}
	sizes := []size{
		{200, 100_000, 0, ""}, {200, 100_000, 9, ""}, {10_000, 1_000_000, 0, ""}, {10_000, 1_000_000, 9, ""}, {10_000, 10_000_000, 9, ""},
		{10_000, 1_000_000, 0, "one"}, {10_000, 1_000_000, 0, "all"},
	}
	seeded := map[size]*statusBench{} // a sub-benchmark runs more than once: seed once
	for _, sz := range sizes {
		name := fmt.Sprintf("contracts=%d/entries=%d/closed=%d", sz.contracts, sz.entries, sz.closed)
		if sz.edited != "" {
			name += "/edited=" + sz.edited
		}
		b.Run(name, func(b *testing.B) {
			if sz.entries > 1_000_000 && os.Getenv("RETAINER_BENCH_10M") == "" {
				b.Skip("set RETAINER_BENCH_10M=1")
			}
			key := size{sz.contracts, sz.entries, sz.closed, ""} // the edits change no size's state but the month they write
			e := seeded[key]
			if e == nil {
				e = seedStatusBench(b, parent.TempDir(), sz.contracts, sz.entries)
				for m := 1; m <= sz.closed; m++ {
					if code := e.a.run(context.Background(), []string{"close", "--month", fmt.Sprintf("2026-%02d", m)}); code != 0 {
						b.Fatalf("close 2026-%02d: exit %d", m, code)
					}
				}
				seeded[key] = e
			}
			edit := func() {}
			if sz.edited != "" {
				db, err := sql.Open("sqlite", "file:"+e.dbPath+"?_pragma=busy_timeout(5000)")
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				q := `UPDATE usage SET counted = counted + 60 WHERE period = ? AND contract_id <> ''`
				if sz.edited == "one" {
					q += ` AND contract_id = 'c00007'`
				}
				edit = func() {
					if _, err := db.Exec(q, int64(billing.NewPeriod(2026, 3))); err != nil {
						b.Fatal(err)
					}
				}
			}
			period := int64(billing.NewPeriod(2026, 10))
			ref := func() {
				n, err := rawMonthRead(e.dbPath, period)
				if err != nil {
					b.Fatal(err)
				}
				if n != sz.contracts {
					b.Fatalf("raw read: %d rows, want %d", n, sz.contracts)
				}
			}
			ours := func() {
				if code := e.a.run(context.Background(), []string{"status", "--json"}); code != 0 {
					b.Fatalf("status --json: exit %d", code)
				}
			}
			ref()
			ours() // warm: the parse cache written, the file in the page cache
			var refs, ourTimes, ratios []float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				edit()
				// Each side starts from a collected heap, as a new process does.
				runtime.GC()
				r := elapsed(ref).Seconds()
				runtime.GC()
				o := elapsed(ours).Seconds()
				refs, ourTimes, ratios = append(refs, r), append(ourTimes, o), append(ratios, o/r)
			}
			b.StopTimer()
			b.ReportMetric(slices.Min(ratios), "min-ratio")
			b.ReportMetric(median(ratios), "median-ratio")
			b.ReportMetric(median(refs)*1e3, "ref-ms")
			b.ReportMetric(median(ourTimes)*1e3, "status-ms")
			b.ReportMetric(0, "ns/op") // a pair's time says nothing by itself
		})
	}
}

// elapsed runs fn and returns how long it took, on the monotonic clock:
// what a benchmark compares between its reference and ours in one run.
// Nothing is decided by the date it reads.
func elapsed(fn func()) time.Duration {
	start := time.Now()
	fn()
	return time.Since(start)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// statusBench is one installation of a benchmark size: its config, its
// database file, and a command line that runs in it with a parse cache.
type statusBench struct {
	dbPath string
	a      *invocation
}

// seedStatusBench writes a config of contracts contracts (c00000, … of
// "Client 00000", …: 40 h for 5,000.00, overage 175.00, rollover capped at
// 10 h, from 2026-01), creates the database with a first `status`, which
// stores the matching rules, then writes entries entries of 30 minutes
// spread evenly over 2026-01..2026-10 for each contract, and their usage
// rows straight in SQL, in one transaction, in dir.
func seedStatusBench(b *testing.B, dir string, contracts, entries int) *statusBench {
	b.Helper()
	var sb strings.Builder
	sb.WriteString("timezone: UTC\ncurrency: USD\ndatabase: " + filepath.Join(dir, "retainer.db") + "\ncontracts:\n")
	for i := 0; i < contracts; i++ {
		fmt.Fprintf(&sb, "  c%05d:\n    client: Client %05d\n    contacts: [a%d@x.example]\n    monthly_hours: 40\n    monthly_fee: 5000\n    overage_rate: 175\n    overage_billable: true\n    rollover_hours: true\n    max_rollover: 10\n    start: 2026-01\n", i, i, i)
	}
	cfg := filepath.Join(dir, "retainer.yaml")
	if err := os.WriteFile(cfg, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	e := &statusBench{dbPath: filepath.Join(dir, "retainer.db"), a: &invocation{stdout: io.Discard, stderr: os.Stderr,
		environ: []string{"RETAINER_CONFIG=" + cfg, "XDG_CACHE_HOME=" + filepath.Join(dir, "cache")},
		now:     func() time.Time { return time.Date(2026, 10, 20, 12, 0, 0, 0, time.UTC) }}}
	if code := e.a.run(context.Background(), []string{"status", "--json"}); code != 0 {
		b.Fatalf("first status: exit %d", code)
	}
	t0 := time.Now()
	db, err := sql.Open("sqlite", "file:"+e.dbPath+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	first, last := billing.DateOf(2026, 1, 1), billing.DateOf(2026, 10, 31)
	days, per := int64(last-first)+1, entries/contracts
	// The period of a day: months since year 0, as billing.Period counts.
	const period = `(CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12 + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1)`
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO entries (source, day, seconds, billable, client, contract_id, counted, created_at, updated_at)
		SELECT 'harvest', ? + (i % ?) * ? / ?, 1800, 1, printf('Client %05d', i / ?), printf('c%05d', i / ?), 1800, 0, 0 FROM n`,
			[]any{per*contracts - 1, int64(first), per, days, per, per, per}},
		{`INSERT INTO usage (contract_id, period, counted, seconds, entries)
		SELECT contract_id, ` + period + `, SUM(counted), SUM(seconds), COUNT(*) FROM entries GROUP BY contract_id, ` + period, nil},
		{`INSERT INTO usage_daily (contract_id, day, counted, entries)
		SELECT contract_id, day, SUM(counted), COUNT(*) FROM entries GROUP BY contract_id, day`, nil},
	} {
		if _, err := tx.Exec(q.sql, q.args...); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d contracts, %d entries in %s", contracts, entries, time.Since(t0).Round(time.Millisecond))
	if n, err := rawMonthRead(e.dbPath, int64(billing.NewPeriod(2026, 10))); err != nil || n != contracts {
		b.Fatalf("seeded October: %d usage rows (%v), want %d", n, err, contracts)
	}
	return e
}

// rawMonthRead is the reference: the month's usage rows read straight from
// the file, through the same driver, every row scanned.
func rawMonthRead(path string, period int64) (int, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT contract_id, counted, entries FROM usage WHERE period = ?`, period)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id string
		var counted, entries int64
		if err := rows.Scan(&id, &counted, &entries); err != nil {
			return 0, err
		}
		n++
	}
	return n, rows.Err()
}
