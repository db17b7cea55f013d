package jobs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/store"
	"retainer/store/storetest"
)

// benchRunner sets up 10,000 contracts with a month of hours (10 entries
// each, 1,000,000 seconds... about 60% to 120% of their 40 h) in November
// 2026, New York.
func benchRunner(b *testing.B, now *time.Time) *Runner {
	b.Helper()
	ctx := context.Background()
	ny, _ := time.LoadLocation("America/New_York")
	start := billing.NewPeriod(2026, time.November)
	const n = 10000
	cs := make([]*billing.Contract, n)
	var entries []store.Entry
	for i := range cs {
		cs[i] = &billing.Contract{ID: fmt.Sprintf("c%05d", i), Client: fmt.Sprintf("Client %05d", i), Unit: billing.UnitHours,
			Start: &start, Contacts: []string{fmt.Sprintf("ap%d@example.com", i)}, PaymentTermsDays: 15, OverageBillable: true,
			Terms: billing.Terms{MonthlyHours: 40 * 3600, MonthlyFee: 500000, OverageRate: 17500}}
		for d := 0; d < 10; d++ {
			entries = append(entries, store.Entry{Source: "log", Client: cs[i].Client, Date: billing.DateOf(2026, 11, 2+d),
				Seconds: int64(2+(i+d)%4) * 3600, Billable: true})
		}
	}
	cfg := &config.Config{
		Location: ny, Currency: "USD", Schedule: config.DefaultSchedule(), Contracts: cs,
		Alerts: config.Alerts{Thresholds: []int{90, 100}},
		Agency: config.Agency{Name: "Northwind", Email: "owner@northwind.example"},
		Notify: config.Notify{File: config.FileTransport{Dir: filepath.Join(b.TempDir(), "outbox")}},
	}
	db := storetest.Open(b)
	env, err := NewEnv(ctx, cfg, db, *now)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.AddEntries(ctx, env.Rules, entries, *now); err != nil {
		b.Fatal(err)
	}
	return NewRunner(env, func() time.Time { return *now }, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// BenchmarkAlerts10000 evaluates the alert thresholds of 10,000 contracts
// and queues the new alerts (the first run queues about 20,000; later runs
// find them queued).
func BenchmarkAlerts10000(b *testing.B) {
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, ny)
	r := benchRunner(b, &now)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Run(context.Background(), Alerts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClose10000 closes November 2026 for 10,000 contracts: frozen
// figures, statements and their queued emails, one transaction.
func BenchmarkClose10000(b *testing.B) {
	ny, _ := time.LoadLocation("America/New_York")
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		now := time.Date(2026, 12, 1, 6, 0, 0, 0, ny)
		r := benchRunner(b, &now)
		b.StartTimer()
		c, err := r.Run(context.Background(), Close)
		if err != nil || c["statements"] != 10000 {
			b.Fatalf("%v %v", c, err)
		}
	}
}
