package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"retainer/notify"
	"retainer/report"
	"retainer/store"
	"retainer/store/storetest"
)

func TestMessageGolden(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
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
			storetest.Golden(t, "message-"+tt.name, "Subject: "+m.Subject+"\n\n"+m.Text+"\n--- blocks\n"+pretty.String()+"\n")
		})
	}
}

func TestMessageTemplateOverride(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "alert.txt.tmpl"), []byte("Subject: Heads up: {{.Client}}\n\n{{.Line}}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "overdue.txt.tmpl"), []byte("no subject line\n"), 0o644)
	tmpl, err := report.ParseTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := &notify.Renderer{DB: db, Rules: rules, Currency: "USD", Templates: tmpl, Location: time.UTC}
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

// TestMessageTemplatesReadOnce: the overrides are read when the config's
// templates are parsed, never per message: with templates_dir gone, 100
// later messages still render from what was parsed.
func TestMessageTemplatesReadOnce(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
	dir := t.TempDir()
	overrides := map[string]string{
		"alert.txt.tmpl":     "Subject: Heads up: {{.Client}}\n\n{{.Line}}\n",
		"digest.txt.tmpl":    "Subject: Digest {{.Period}}\n\ncustom digest\n",
		"statement.txt.tmpl": "custom statement {{.InvoiceNumber}}\n",
	}
	for name, body := range overrides {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmpl, err := report.ParseTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	r := &notify.Renderer{DB: db, Rules: rules, Currency: "USD", Templates: tmpl, Location: time.UTC}
	created := time.Date(2026, 3, 18, 9, 0, 0, 0, time.UTC)
	tests := []struct{ key, channel, want string }{
		{"alert/acme-001/2026-03/90", "email", "Heads up: Acme Corp"},
		{"digest/2026-03", "slack", "Digest 2026-03"},
		{"statement/acme-001/2026-02", "email", "custom statement acme-001-2026-02\n"},
	}
	for i := 0; i < 100; i++ {
		tt := tests[i%len(tests)]
		m, err := r.Render(context.Background(), store.OutboxMessage{Key: tt.key, Channel: tt.channel, To: []string{"x"}, CreatedAt: created})
		if err != nil {
			t.Fatalf("message %d (%s): %v", i, tt.key, err)
		}
		if m.Subject != tt.want && m.Text != tt.want {
			t.Fatalf("message %d (%s) does not use the override: %q / %q", i, tt.key, m.Subject, m.Text)
		}
	}
}
