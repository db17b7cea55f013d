package timesheet

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// writeHarvestCSV writes an n-row Harvest detailed time report over 100
// clients and the days of 2026.
func writeHarvestCSV(tb testing.TB, path string, n int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("Date,Client,Project,Project Code,Task,Notes,Hours,Hours Rounded,Billable?,Invoiced?,Approved?,First Name,Last Name,Roles,Employee?,Billable Rate,Billable Amount,Cost Rate,Cost Amount,Currency,External Reference URL\n")
	for i := 0; i < n; i++ {
		d := billing.DateOf(2026, 1, 1) + billing.Date(i*365/n) // exports are sorted by date
		fmt.Fprintf(w, "%s,Client %03d,Retainer,C-%03d,Development,\"Task %d, reviewed\",%d.%02d,1.25,Yes,No,No,Ada,Lovelace,Developer,Yes,150.00,180.00,60.00,72.00,US Dollar - USD,\n",
			d, i%100, i%100, i, 1+i%3, (i*7)%100)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
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

// BenchmarkImportHarvest1M imports a 1,000,000-row Harvest CSV into a fresh
// database, end to end (parse twice, match, stage, reconcile, aggregate), and
// reports rows/s and the process's peak RSS. Run with
// go test ./timesheet -run '^$' -bench ImportHarvest1M -benchtime 1x
func BenchmarkImportHarvest1M(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	csvPath := filepath.Join(dir, "harvest.csv")
	if keep := os.Getenv("RETAINER_TEST_BENCH_CSV"); keep != "" {
		csvPath = keep // kept, e.g. to time sqlite3's own .import of the same file
	}
	writeHarvestCSV(b, csvPath, n)
	var contracts []*billing.Contract
	for i := 0; i < 100; i++ {
		contracts = append(contracts, &billing.Contract{ID: fmt.Sprintf("c%03d", i), Client: fmt.Sprintf("Client %03d", i),
			Unit: billing.UnitHours, Terms: billing.Terms{MonthlyHours: 40 * 3600}, RoundingMinutes: 6})
	}
	rules := store.NewRules(contracts)
	b.ResetTimer()
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := store.Open(context.Background(), filepath.Join(dir, fmt.Sprintf("bench-%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		im := &Importer{DB: db, Rules: rules, Now: time.Now}
		res := im.ImportFile(context.Background(), csvPath)
		elapsed += time.Since(t0)
		if res.Rejected() || res.Imported != n {
			b.Fatalf("import: %+v %v", res.ImportResult, res.Err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(peakRSS())/1024, "peak-RSS-MiB")
}
