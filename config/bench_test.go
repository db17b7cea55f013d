package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoad10000 loads a config of 10,000 contracts, as every command
// of a large agency does first.
func BenchmarkLoad10000(b *testing.B) {
	path := writeBenchConfig(b, 10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg, err := Load(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(cfg.Contracts) != 10000 {
			b.Fatalf("contracts = %d", len(cfg.Contracts))
		}
	}
}

// writeBenchConfig writes a config of n contracts.
func writeBenchConfig(b *testing.B, n int) string {
	var sb strings.Builder
	sb.WriteString("timezone: UTC\ncontracts:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "  c%05d:\n    client: Client %05d\n    contacts: [a%d@x.example]\n    monthly_hours: 40\n    monthly_fee: 5000\n    overage_rate: 175\n    rollover_hours: true\n    max_rollover: 10\n    start: 2026-01\n", i, i, i)
	}
	path := filepath.Join(b.TempDir(), "retainer.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkLoad10000Cached is BenchmarkLoad10000 through the parse cache
// (a hit: the file unchanged since the first load).
func BenchmarkLoad10000Cached(b *testing.B) {
	path := writeBenchConfig(b, 10000)
	cache := b.TempDir()
	if _, err := LoadCached(path, nil, cache); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg, err := LoadCached(path, nil, cache)
		if err != nil {
			b.Fatal(err)
		}
		if len(cfg.Contracts) != 10000 {
			b.Fatalf("contracts = %d", len(cfg.Contracts))
		}
	}
}
