package notify

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// BenchmarkDeliverStatements closes a month for n contracts and delivers
// their statement emails (text, HTML and the PNG chart) to a local SMTP
// server. Run with
// go test ./notify -run '^$' -bench DeliverStatements -benchtime 1x
func BenchmarkDeliverStatements(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := store.Open(ctx, filepath.Join(b.TempDir(), "r.db"))
		if err != nil {
			b.Fatal(err)
		}
		start := billing.NewPeriod(2026, 1)
		var cs []*billing.Contract
		var entries []store.Entry
		for j := 0; j < n; j++ {
			c := &billing.Contract{ID: fmt.Sprintf("c%05d", j), Client: fmt.Sprintf("Client %05d", j), Unit: billing.UnitHours,
				Start: &start, Terms: billing.Terms{MonthlyHours: 40 * 3600, MonthlyFee: 500000, OverageRate: 17500},
				OverageBillable: true, PaymentTermsDays: 15, Contacts: []string{fmt.Sprintf("ap%d@client.example", j)}}
			cs = append(cs, c)
			for d := 1; d <= 28; d += 3 {
				entries = append(entries, store.Entry{Source: "log", Client: c.Client, Date: billing.DateOf(2026, 1, d), Seconds: 4 * 3600, Billable: true})
			}
		}
		rules := store.NewRules(cs)
		now := time.Date(2026, 2, 1, 7, 0, 0, 0, time.UTC)
		if err := db.AddEntries(ctx, rules, entries, now); err != nil {
			b.Fatal(err)
		}
		if _, err := db.ClosePeriod(ctx, rules, start, "USD", time.UTC, now); err != nil {
			b.Fatal(err)
		}
		srv := &testBackend{}
		cfg := startServer(&testing.T{}, srv)
		r := &Renderer{DB: db, Rules: rules, Currency: "USD", From: cfg.From, Location: time.UTC}
		d := &Dispatcher{Outbox: db, Routes: map[string]Route{ChannelEmail: {Sender: NewSMTP(cfg), Transport: "smtp"}},
			Render: r.Render, Now: func() time.Time { return now }}
		b.StartTimer()
		t0 := time.Now()
		res, err := d.Dispatch(ctx, false)
		el := time.Since(t0)
		if err != nil || res.Sent != n {
			b.Fatalf("%+v %v", res, err)
		}
		b.ReportMetric(float64(n)/el.Seconds(), "messages/s")
		db.Close()
	}
}
