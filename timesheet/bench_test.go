package timesheet

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
)

func harvestRows(n int) []byte {
	var b bytes.Buffer
	b.WriteString("\ufeffDate,Client,Project,Project Code,Task,Notes,Hours,Hours Rounded,Billable?,Invoiced?,Approved?,First Name,Last Name,Roles,Employee?,Billable Rate,Billable Amount,Cost Rate,Cost Amount,Currency,External Reference URL\r\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "2026-%02d-%02d,Client %d,Project %d,P-%d,Development,\"Worked on #%d, reviewed\",%d.%02d,%d.%02d,Yes,No,Yes,Ada,Lovelace,Developer,Yes,150.00,225.00,60.00,90.00,US Dollar - USD,\r\n",
			i%12+1, i%28+1, i%50, i%200, i%200, i, i%8, i%100, i%8, i%100)
	}
	return b.Bytes()
}

func BenchmarkParseHarvest(b *testing.B) {
	const rows = 200_000
	data := harvestRows(rows)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		sum, err := Parse(bytes.NewReader(data), Options{}, func(Entry) error { n++; return nil })
		if err != nil || len(sum.Errors) > 0 || n != rows {
			b.Fatalf("err %v, %d errors, %d rows", err, len(sum.Errors), n)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// TestMemoryDoesNotGrow checks that the live heap stays flat while a large
// file streams through (only the current record is held).
func TestMemoryDoesNotGrow(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	const rows = 60_000
	data := harvestRows(rows)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	n := 0
	sum, err := Parse(bytes.NewReader(data), Options{}, func(Entry) error {
		n++
		if n%10_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	if err != nil || sum.Rows != rows {
		t.Fatalf("%v, %d rows", err, sum.Rows)
	}
	if grow := int64(peak) - int64(base); grow > 2<<20 {
		t.Errorf("live heap grew by %d bytes while streaming %d bytes", grow, len(data))
	}
}
