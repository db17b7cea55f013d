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

	"retainer/billing"
	"retainer/notify"
	"retainer/report"
	"retainer/store"
	"retainer/store/storetest"
)

// decisionRoute is the agency's Slack and email, as jobs.AgencyMessages
// addresses a decision.
var decisionRoute = []store.OutboxMessage{{Channel: "slack", To: []string{"#retainers"}}, {Channel: "email", To: []string{"owner@x.example"}}}

// recordDecision records a decision of acme-001 in March 2026 (the worked
// example's open month) at.
func recordDecision(t *testing.T, db *store.DB, kind store.DecisionKind, secs int64, msg, nonce string, at time.Time) store.Decision {
	t.Helper()
	d, err := db.RecordDecision(context.Background(), store.Decision{ContractID: "acme-001", Period: billing.NewPeriod(2026, 3),
		Kind: kind, Seconds: secs, Message: msg, On: billing.DateAt(at, time.UTC)}, nonce, decisionRoute, at)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// renderGolden renders m and compares it with testdata/message-<name>.golden.
func renderGolden(t *testing.T, r *notify.Renderer, name string, m store.OutboxMessage) string {
	t.Helper()
	msg, err := r.Render(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if len(msg.Blocks) > 0 {
		if err := notify.ValidateBlocks(msg.Blocks); err != nil {
			t.Fatal(err)
		}
		json.Indent(&pretty, msg.Blocks, "", "  ")
	}
	out := "Subject: " + msg.Subject + "\n\n" + msg.Text + "\n--- blocks\n" + pretty.String() + "\n"
	storetest.Golden(t, "message-"+name, out)
	return out
}

// TestDecisionMessages: each decision as the agency gets it, by Slack and
// email, with the month's figures as of the day it was queued; the
// client's words as plain text.
func TestDecisionMessages(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
	r := &notify.Renderer{DB: db, Rules: rules, Currency: "USD", Agency: "Northwind Studio", From: "billing@northwind.example", Location: time.UTC}
	at := time.Date(2026, 3, 18, 14, 5, 0, 0, time.UTC)
	over := recordDecision(t, db, store.DecisionOverage, storetest.H(10), "", "n1", at)
	change := recordDecision(t, db, store.DecisionChange, storetest.H(60), "Launch in April: *more* hours, please.\n<b>Thanks</b>", "n2", at)
	pause := recordDecision(t, db, store.DecisionPause, 0, "", "n3", at)
	tests := []struct {
		name    string
		d       store.Decision
		channel string
		want    []string
	}{
		{"decision-overage.slack", over, "slack", []string{"Client decision: Acme Corp", "Overage up to 10.00 h approved on 2026-03-18", "8.00 h of the approval remain"}},
		{"decision-overage.email", over, "email", []string{"Subject: [retainer] Acme Corp (acme-001): Overage up to 10.00 h approved on 2026-03-18"}},
		{"decision-change.email", change, "email", []string{"60.00 h a month instead of 40.00 h", "<b>Thanks</b>"}},
		{"decision-change.slack", change, "slack", []string{"“Launch in April: *more* hours"}},
		{"decision-pause.email", pause, "email", []string{"Pause of non-urgent work requested on 2026-03-18"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := renderGolden(t, r, tt.name, store.OutboxMessage{Key: tt.d.Key().String(), Channel: tt.channel, To: []string{"x"}, CreatedAt: at})
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q:\n%s", w, out)
				}
			}
		})
	}
	// A key naming no recorded decision renders nothing.
	k := over.Key()
	k.Part = "999"
	if _, err := r.Render(context.Background(), store.OutboxMessage{Key: k.String(), Channel: "email", CreatedAt: at}); err == nil {
		t.Error("a key of no decision rendered")
	}
}

// TestAlertsSayTheApproval: an alert says what the client approved of
// overage and how much of it is left, as known when the alert was queued;
// an overage alert says so when nothing was approved.
func TestAlertsSayTheApproval(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
	r := &notify.Renderer{DB: db, Rules: rules, Currency: "USD", Agency: "Northwind Studio", Location: time.UTC}
	queued := time.Date(2026, 3, 18, 9, 0, 0, 0, time.UTC)
	render := func(key, channel string) string {
		t.Helper()
		m, err := r.Render(context.Background(), store.OutboxMessage{Key: key, Channel: channel, To: []string{"x"}, CreatedAt: queued})
		if err != nil {
			t.Fatal(err)
		}
		return m.Text + string(m.Blocks)
	}
	// Before any approval.
	if got := render("alert/acme-001/2026-03/overage", "email"); !strings.Contains(got, "The client has not approved any overage this month.") {
		t.Errorf("overage alert without an approval:\n%s", got)
	}
	if got := render("alert/acme-001/2026-03/90", "email"); strings.Contains(got, "approv") {
		t.Errorf("a threshold alert speaks of an approval that does not exist:\n%s", got)
	}
	recordDecision(t, db, store.DecisionOverage, storetest.H(1), "", "a1", queued.Add(-2*time.Hour))
	recordDecision(t, db, store.DecisionOverage, storetest.H(10), "", "a2", queued.Add(-time.Hour)) // replaces the first
	recordDecision(t, db, store.DecisionOverage, storetest.H(50), "", "a3", queued.Add(time.Hour))  // after the alert was queued

	tests := []struct{ name, key, channel, want string }{
		{"alert-overage-approved.email", "alert/acme-001/2026-03/overage", "email", "The client approved up to 10.00 h of overage on 2026-03-18. 8.00 h of the approval remain."},
		{"alert-90-approved.slack", "alert/acme-001/2026-03/90", "slack", "The client approved up to 10.00 h of overage on 2026-03-18."},
		{"client-alert-approved.email", "client-alert/acme-001/2026-03", "email", "You approved up to 10.00 h of overage this month (on 2026-03-18). 8.00 h of the approval remain."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := renderGolden(t, r, tt.name, store.OutboxMessage{Key: tt.key, Channel: tt.channel, To: []string{"x"}, CreatedAt: queued})
			if !strings.Contains(out, tt.want) || strings.Contains(out, "50.00") {
				t.Errorf("want %q (and nothing of the later approval):\n%s", tt.want, out)
			}
		})
	}
}

// TestApprovalUsedUp: an overage beyond the approval says by how much;
// what is left never goes below zero.
func TestApprovalUsedUp(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
	r := &notify.Renderer{DB: db, Rules: rules, Currency: "USD", Location: time.UTC}
	queued := time.Date(2026, 3, 18, 9, 0, 0, 0, time.UTC)
	recordDecision(t, db, store.DecisionOverage, storetest.H(1)+storetest.H(1)/2, "", "a1", queued.Add(-time.Hour)) // 1.5 h, 2 h over
	m, err := r.Render(context.Background(), store.OutboxMessage{Key: "alert/acme-001/2026-03/overage", Channel: "email", CreatedAt: queued})
	if err != nil {
		t.Fatal(err)
	}
	if want := "The client approved up to 1.50 h of overage on 2026-03-18. The approval is used up: 0.50 h over it."; !strings.Contains(m.Text, want) {
		t.Errorf("want %q:\n%s", want, m.Text)
	}
}

// TestCheckinLinks: the check-in email links to the portal's decision
// forms through the month's check-in link, which opens the contract's
// portal; without a portal token, or without a base URL, it has no links.
func TestCheckinLinks(t *testing.T) {
	ctx := context.Background()
	db, rules := storetest.WorkedExample(t)
	r := &notify.Renderer{DB: db, Rules: rules, Currency: "USD", Agency: "Northwind Studio", Location: time.UTC,
		BaseURL: "https://retainer.example/"}
	queued := time.Date(2026, 3, 15, 9, 0, 0, 0, time.UTC)
	m := store.OutboxMessage{Key: "checkin/acme-001/2026-03", Channel: "email", To: []string{"x"}, CreatedAt: queued}
	before, err := r.Render(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(before.Text, "/p/") {
		t.Errorf("links without a portal token:\n%s", before.Text)
	}
	if _, err := db.RotatePortalToken(ctx, "acme-001", queued); err != nil {
		t.Fatal(err)
	}
	cred, err := db.CheckinLink(ctx, "acme-001", billing.NewPeriod(2026, 3))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := r.Render(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, anchor := range []string{"#approve-overage", "#request-change", "#pause"} {
		if want := "https://retainer.example/p/" + cred + anchor; !strings.Contains(msg.Text, want) {
			t.Errorf("lacks %s:\n%s", want, msg.Text)
		}
	}
	if a, err := db.OpenPortal(ctx, cred, billing.DateOf(2026, 3, 20)); err != nil || a.Contract != "acme-001" {
		t.Fatalf("the link opens %+v, %v", a, err)
	}
	// The key is random per database: the golden names it <link>.
	storetest.Golden(t, "message-checkin-links.email", "Subject: "+msg.Subject+"\n\n"+strings.ReplaceAll(msg.Text, cred, "<link>"))
	again, err := r.Render(ctx, m)
	if err != nil || again.Text != msg.Text {
		t.Errorf("a retry renders another email: %v", err)
	}
	r.BaseURL = ""
	if none, err := r.Render(ctx, m); err != nil || strings.Contains(none.Text, "/p/") {
		t.Errorf("links without a base URL: %v\n%s", err, none.Text)
	}
}

// TestDecisionTemplateOverride: decision.txt.tmpl in templates_dir
// replaces the built-in one.
func TestDecisionTemplateOverride(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "decision.txt.tmpl"), []byte("Subject: {{.Client}} decided\n\n{{.Kind}}: {{.Text}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := report.ParseTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := &notify.Renderer{DB: db, Rules: rules, Currency: "USD", Templates: tmpl, Location: time.UTC}
	at := time.Date(2026, 3, 18, 9, 0, 0, 0, time.UTC)
	d := recordDecision(t, db, store.DecisionPause, 0, "", "n1", at)
	m, err := r.Render(context.Background(), store.OutboxMessage{Key: d.Key().String(), Channel: "email", CreatedAt: at})
	if err != nil || m.Subject != "Acme Corp decided" || m.Text != "pause: Pause of non-urgent work requested on 2026-03-18\n" {
		t.Fatalf("override: %q %q, %v", m.Subject, m.Text, err)
	}
}
