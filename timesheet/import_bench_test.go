package timesheet

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// writeHarvestCSV writes an n-row Harvest detailed time report over the
// given number of clients ("Client 00000", …) and the days of 2026.
func writeHarvestCSV(tb testing.TB, path string, n, clients int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("Date,Client,Project,Project Code,Task,Notes,Hours,Hours Rounded,Billable?,Invoiced?,Approved?,First Name,Last Name,Roles,Employee?,Billable Rate,Billable Amount,Cost Rate,Cost Amount,Currency,External Reference URL\n")
	for i := 0; i < n; i++ {
		d := billing.DateOf(2026, 1, 1) + billing.Date(int64(i)*365/int64(n)) // exports are sorted by date
		fmt.Fprintf(w, "%s,Client %05d,Retainer,C-%05d,Development,\"Task %d, reviewed\",%d.%02d,1.25,Yes,No,No,Ada,Lovelace,Developer,Yes,150.00,180.00,60.00,72.00,US Dollar - USD,\n",
			d, i%clients, i%clients, i, 1+i%3, (i*7)%100)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
}

// elapsed times fn on the monotonic clock: one side of a pair.
func elapsed(fn func()) time.Duration {
	t0 := time.Now()
	fn()
	return time.Since(t0)
}

// peakRSS reads the process's peak resident set size in KiB (Linux).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}

// resetPeakRSS starts the process's peak RSS again from its current RSS
// (Linux 4.0 and later), so that peakRSS measures what follows.
func resetPeakRSS() {
	runtime.GC()
	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// sqlite3Import times sqlite3's own .import of path into a bare table of a
// new database: the reference an import is measured against.
func sqlite3Import(tb testing.TB, sqlite3, path, dbPath string) time.Duration {
	tb.Helper()
	os.Remove(dbPath)
	var out []byte
	var err error
	took := elapsed(func() { out, err = exec.Command(sqlite3, dbPath, ".import --csv "+path+" t").CombinedOutput() })
	if err != nil || len(out) > 0 {
		tb.Fatalf("sqlite3 .import: %v %s", err, out)
	}
	os.Remove(dbPath)
	return took
}

// BenchmarkImportHarvest imports a generated Harvest CSV into a fresh
// database, end to end (parse, match, stage, reconcile, aggregate), beside
// sqlite3's own .import of the same file into a bare table, in interleaved
// pairs (ours, then sqlite3's), and reports rows/s, the minimum and median
// of the time ratio (ours/sqlite3's: at most 1.0) and the peak RSS of the
// import alone (at most 150 MiB for 10,000,000 rows of 10,000 contracts).
// rows=1M runs max(b.N, 3) pairs, rows=10M b.N. Run with
// go test ./timesheet -run '^$' -bench 'ImportHarvest/rows=1M' -benchtime 1x
// go test ./timesheet -run '^$' -bench 'ImportHarvest/rows=10M' -benchtime 1x   # ~1.6 GB file, several minutes
// Without sqlite3 on the PATH the reference is skipped with a message.
// RETAINER_TEST_BENCH_CSV=dir keeps the generated files there.
func BenchmarkImportHarvest(b *testing.B) {
	for _, tc := range []struct {
		name            string
		rows, contracts int
		minPairs        int
	}{
		{"rows=1M/contracts=100", 1_000_000, 100, 3},
		{"rows=1M/contracts=10000", 1_000_000, 10_000, 1},
		{"rows=10M/contracts=10000", 10_000_000, 10_000, 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if testing.Short() && tc.rows > 1_000_000 {
				b.Skip("short")
			}
			dir := b.TempDir()
			csvDir := dir
			if keep := os.Getenv("RETAINER_TEST_BENCH_CSV"); keep != "" {
				csvDir = keep
			}
			csvPath := filepath.Join(csvDir, fmt.Sprintf("harvest-%d-%d.csv", tc.rows, tc.contracts))
			if _, err := os.Stat(csvPath); err != nil {
				writeHarvestCSV(b, csvPath, tc.rows, tc.contracts)
			}
			contracts := make([]*billing.Contract, tc.contracts)
			for i := range contracts {
				contracts[i] = &billing.Contract{ID: fmt.Sprintf("c%05d", i), Client: fmt.Sprintf("Client %05d", i),
					Unit: billing.UnitHours, Terms: billing.Terms{MonthlyHours: 40 * 3600}, RoundingMinutes: 6}
			}
			rules := store.NewRules(contracts)
			sqlite3, err := exec.LookPath("sqlite3")
			if err != nil {
				b.Logf("sqlite3 not found (%v): no reference", err)
			}
			pairs := max(b.N, tc.minPairs)
			var ours, ref []time.Duration
			var peak int64
			b.ResetTimer()
			for i := range pairs {
				b.StopTimer()
				db, err := store.Open(context.Background(), filepath.Join(dir, fmt.Sprintf("bench-%d.db", i)))
				if err != nil {
					b.Fatal(err)
				}
				resetPeakRSS()
				b.StartTimer()
				im := &Importer{DB: db, Rules: rules, Now: func() time.Time { return time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) }}
				var res FileResult
				ours = append(ours, elapsed(func() { res = im.ImportFile(context.Background(), csvPath) }))
				b.StopTimer()
				peak = max(peak, peakRSS())
				if res.Rejected() || res.Imported != tc.rows {
					b.Fatalf("import: %+v %v", res.ImportResult, res.Err)
				}
				db.Close()
				os.Remove(filepath.Join(dir, fmt.Sprintf("bench-%d.db", i)))
				if sqlite3 != "" {
					ref = append(ref, sqlite3Import(b, sqlite3, csvPath, filepath.Join(dir, "reference.db")))
				}
				b.StartTimer()
			}
			b.StopTimer()
			var total time.Duration
			for _, d := range ours {
				total += d
			}
			b.ReportMetric(float64(tc.rows*pairs)/total.Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
			if len(ref) == 0 {
				return
			}
			r := make([]float64, len(ours))
			for i := range ours {
				r[i] = ours[i].Seconds() / ref[i].Seconds()
			}
			slices.Sort(r)
			b.ReportMetric(r[0], "ratio-min")
			b.ReportMetric(r[len(r)/2], "ratio-med")
			b.Logf("%d pairs: ours %v, sqlite3 .import %v; ours/sqlite3 %.2f / %.2f (min / median)", pairs, ours, ref, r[0], r[len(r)/2])
		})
	}
}
