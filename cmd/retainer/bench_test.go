package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkStatusCommand runs `retainer status --json` end to end — config
// of 10,000 contracts, database, JSON — on a database with no entries, so it
// measures what every command pays before and after the store's work.
func BenchmarkStatusCommand(b *testing.B) {
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("timezone: UTC\ncontracts:\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&sb, "  c%05d:\n    client: Client %05d\n    contacts: [a%d@x.example]\n    monthly_hours: 40\n    monthly_fee: 5000\n    overage_rate: 175\n    rollover_hours: true\n    max_rollover: 10\n    start: 2026-01\n", i, i, i)
	}
	cfg := filepath.Join(dir, "retainer.yaml")
	if err := os.WriteFile(cfg, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	a := &invocation{stdout: io.Discard, stderr: os.Stderr, environ: []string{"RETAINER_CONFIG=" + cfg},
		now: func() time.Time { return time.Date(2026, 10, 20, 12, 0, 0, 0, time.UTC) }}
	if code := a.run(context.Background(), []string{"status", "--json"}); code != 0 {
		b.Fatalf("exit %d", code)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code := a.run(context.Background(), []string{"status", "--json"}); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

// BenchmarkIdleRSS starts the real daemon, lets it catch up (import, close
// the year so far, deliver to the file transport) and settle for 5 s, then
// reports its resident memory: with the example config, and with 10,000
// contracts and no hours.
func BenchmarkIdleRSS(b *testing.B) {
	bin := buildBinary(b)
	for _, tc := range []struct {
		name      string
		contracts int
	}{{"example", 0}, {"10000-contracts", 10000}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				config := filepath.Join(dir, "retainer.yaml")
				body, _ := os.ReadFile("../../examples/retainer.yaml")
				if tc.contracts > 0 {
					var sb strings.Builder
					sb.WriteString("timezone: UTC\nschedule:\n  dispatch: \"\"\ncontracts:\n")
					for j := 0; j < tc.contracts; j++ {
						fmt.Fprintf(&sb, "  c%05d:\n    client: Client %05d\n    monthly_hours: 40\n    monthly_fee: 5000\n    start: 2026-10\n", j, j)
					}
					body = []byte(sb.String())
				}
				os.WriteFile(config, body, 0o644)
				d := startBinary(b, bin, config, "RETAINER_HTTP__LISTEN=127.0.0.1:0")
				d.waitFor(0, "catch-up done")
				time.Sleep(5 * time.Second)
				status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
				if err != nil {
					b.Fatal(err)
				}
				var kb float64
				for _, line := range strings.Split(string(status), "\n") {
					if strings.HasPrefix(line, "VmRSS:") {
						fmt.Sscanf(strings.TrimPrefix(line, "VmRSS:"), "%f", &kb)
					}
				}
				b.ReportMetric(kb/1024, "MiB-RSS")
				d.signal(syscall.SIGTERM)
				d.wait()
			}
		})
	}
}
