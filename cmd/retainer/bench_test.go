package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
	a := &app{stdout: io.Discard, stderr: os.Stderr, environ: []string{"RETAINER_CONFIG=" + cfg},
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
