package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/notify"
	"retainer/store"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./notify -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

func h(n int64) int64   { return n * 3600 }
func ptr[T any](v T) *T { return &v }
func date(s string) billing.Date {
	d, err := billing.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// fixture is the SPEC §4 worked example with a second, awkward contract: a
// client name holding markup, sessions, and a note.
func fixture(t *testing.T) (*store.DB, *store.Rules) {
	t.Helper()
	start, end := billing.NewPeriod(2026, 1), billing.NewPeriod(2026, 4)
	acme := &billing.Contract{
		ID: "acme-001", Client: "Acme Corp", Tier: "Growth Retainer", Unit: billing.UnitHours, PaymentTermsDays: 15,
		Terms:           billing.Terms{MonthlyHours: h(40), MonthlyFee: 500000, HourlyRate: 15000, OverageRate: 17500},
		OverageBillable: true, Rollover: true, MaxRollover: ptr(h(10)), Start: &start, End: &end,
	}
	pipe := &billing.Contract{
		ID: "pipe-005", Client: "Pipe | <script>alert(1)</script>", Unit: billing.UnitSessions, PaymentTermsDays: 30,
		Terms: billing.Terms{MonthlyHours: 4 * billing.SessionSeconds, MonthlyFee: 120000, OverageRate: 25000},
		Start: &start,
	}
	rules := store.NewRules([]*billing.Contract{acme, pipe})
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := func(client, d string, secs int64) store.Entry {
		return store.Entry{Source: "log", Client: client, Date: date(d), Seconds: secs, Billable: true}
	}
	now := time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC)
	entries := []store.Entry{
		e("Acme Corp", "2026-01-12", h(28)), e("Acme Corp", "2026-02-03", h(40)), e("Acme Corp", "2026-02-27", h(7)),
		e("Acme Corp", "2026-03-02", h(20)), e("Acme Corp", "2026-03-17", h(25)),
		e(pipe.Client, "2026-03-05", 600), e(pipe.Client, "2026-03-06", 600),
	}
	for i := 0; i < 4; i++ {
		entries = append(entries, e(pipe.Client, "2026-03-20", 3600))
	}
	if err := db.AddEntries(context.Background(), rules, entries, now); err != nil {
		t.Fatal(err)
	}
	if err := db.SetNote(context.Background(), "acme-001", billing.NewPeriod(2026, 3), "Launch month: extra QA <b>requested</b>.", now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClosePeriod(context.Background(), rules, billing.NewPeriod(2026, 2), "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	return db, rules
}

func TestMessageGolden(t *testing.T) {
	db, rules := fixture(t)
	r := &notify.Renderer{DB: db, Rules: rules, Currency: "USD", Agency: "Northwind Studio", From: "billing@northwind.example", Location: time.UTC,
		Thresholds: []int{90, 100}}
	created := time.Date(2026, 3, 18, 9, 0, 0, 0, time.UTC)
	tests := []struct{ name, key, channel string }{
		{"alert-90.slack", "alert/acme-001/2026-03/90", "slack"},
		{"alert-overage.email", "alert/acme-001/2026-03/overage", "email"},
		{"client-alert.email", "client-alert/acme-001/2026-03", "email"},
		{"digest.slack", "digest/2026-03", "slack"},
		{"statement-feb.email", "statement/acme-001/2026-02", "email"},
		{"checkin.email", "checkin/acme-001/2026-03", "email"},
		{"overdue.slack", "overdue/acme-001-2026-02", "slack"},
		{"renewal.email", "renewal/acme-001/2026-04", "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := r.Render(context.Background(), store.OutboxMessage{Key: tt.key, Channel: tt.channel, To: []string{"x"}, CreatedAt: created})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Blocks) > 0 {
				if err := notify.ValidateBlocks(m.Blocks); err != nil {
					t.Fatal(err)
				}
			}
			var pretty bytes.Buffer
			if len(m.Blocks) > 0 {
				json.Indent(&pretty, m.Blocks, "", "  ")
			}
			golden(t, "message-"+tt.name, "Subject: "+m.Subject+"\n\n"+m.Text+"\n--- blocks\n"+pretty.String()+"\n")
		})
	}
}

func TestMessageTemplateOverride(t *testing.T) {
	db, rules := fixture(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "alert.txt.tmpl"), []byte("Subject: Heads up: {{.Client}}\n\n{{.Line}}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "overdue.txt.tmpl"), []byte("no subject line\n"), 0o644)
	r := &notify.Renderer{DB: db, Rules: rules, Currency: "USD", TemplatesDir: dir, Location: time.UTC}
	created := time.Date(2026, 3, 18, 9, 0, 0, 0, time.UTC)
	m, err := r.Render(context.Background(), store.OutboxMessage{Key: "alert/acme-001/2026-03/90", Channel: "email", CreatedAt: created})
	if err != nil || m.Subject != "Heads up: Acme Corp" || !strings.HasPrefix(m.Text, "acme-001 2026-03 crossed 90%") {
		t.Fatalf("override: %+v, %v", m, err)
	}
	if _, err := r.Render(context.Background(), store.OutboxMessage{Key: "overdue/acme-001-2026-02", Channel: "email", CreatedAt: created}); err == nil ||
		!strings.Contains(err.Error(), "Subject") {
		t.Errorf("a template without its subject line: %v", err)
	}
}
