package main

import (
	"encoding/json"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"retainer/notify/notifytest"
)

// TestDayOne is an agency's first day: contracts that started in January,
// go_live in December, an opening bank, statements under review. The first
// run closes January to November and emails nobody; December's statements
// are drafts until the agency approves them on the dashboard (a real
// browser against the real daemon); then each is emailed once.
func TestDayOne(t *testing.T) {
	ctx := browserContext(t)
	smtp := &notifytest.SMTPServer{}
	host, port := smtp.Start(t)
	dir := t.TempDir()
	addr := freePort(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-day-one"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "retainer.yaml")
	if err := os.WriteFile(config, []byte(`timezone: UTC
go_live: 2026-12
statements:
  review: true
agency:
  name: Northwind Studio
  email: owner@northwind.example
contracts:
  acme-001:
    client: Acme Corp
    contacts: [ap@acme.example]
    monthly_hours: 40
    monthly_fee: 5000
    overage_rate: 175
    rollover_hours: true
    max_rollover: 10
    opening_bank: 6
    start: 2026-01
  globex-002:
    client: Globex
    contacts: [finance@globex.example]
    monthly_hours: 20
    monthly_fee: 2800
    start: 2026-01
`), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, now: time.Date(2026, 12, 20, 12, 0, 0, 0, time.UTC), extra: []string{
		"RETAINER_HTTP__LISTEN=" + addr, "RETAINER_HTTP__BASE_URL=http://" + addr, "RETAINER_HTTP__ADMIN_PASSWORD_HASH=" + string(hash),
		"RETAINER_NOTIFY__EMAIL__HOST=" + host, "RETAINER_NOTIFY__EMAIL__PORT=" + strconv.Itoa(port),
		"RETAINER_NOTIFY__EMAIL__TLS=none", "RETAINER_NOTIFY__EMAIL__FROM=billing@northwind.example",
		"RETAINER_NOTIFY__FILE__DIR=" + filepath.Join(dir, "outbox"), "RETAINER_IMPORT__INBOX=" + filepath.Join(dir, "inbox"),
	}}
	// The history the agency points retainer at, and December's hours.
	e.must("log", "acme-001", "30", "--date", "2026-03-10")
	e.must("log", "acme-001", "44", "--date", "2026-11-10")
	e.must("log", "acme-001", "50", "--date", "2026-12-10")
	e.must("log", "globex-002", "12", "--date", "2026-12-03")
	out := e.must("check")
	if strings.Contains(out, "go_live: not set") {
		t.Errorf("check warns about go_live although it is set:\n%s", out)
	}

	// The first run, on the 1st of January: everything up to December closes.
	e.now = time.Date(2027, 1, 1, 7, 0, 0, 0, time.UTC)
	e.must("run", "--once", "--now", "2027-01-01T07:00:00Z")
	if _, msgs := smtp.Snapshot(); len(msgs) != 0 {
		t.Fatalf("the first run emailed %d messages", len(msgs))
	}
	if out := e.must("outbox", "--json"); strings.Contains(out, `"key": "statement/`) || strings.Contains(out, `"key": "alert/`) {
		t.Errorf("the first run queued statements or alerts:\n%s", out)
	}
	type row struct {
		ID       string   `json:"contract_id"`
		Closed   bool     `json:"closed"`
		Banked   float64  `json:"hours_banked"`
		Invoice  *string  `json:"invoice_status"`
		Used     float64  `json:"hours_used"`
		Overage  float64  `json:"overage_hours"`
		Contract *float64 `json:"hours_contracted"`
	}
	status := func(month string) map[string]row {
		var v struct{ Contracts []row }
		if err := json.Unmarshal([]byte(e.must("status", "--month", month, "--json")), &v); err != nil {
			t.Fatal(err)
		}
		m := map[string]row{}
		for _, r := range v.Contracts {
			m[r.ID] = r
		}
		return m
	}
	nov := status("2026-11")
	if a := nov["acme-001"]; !a.Closed || a.Invoice != nil || a.Used != 44 {
		t.Errorf("November: %+v", a)
	}
	// The figures before go-live roll over as usual: November banked 10
	// (capped) from October; it used 44 of 50, so 6 roll into December,
	// where the 6 opening hours are added.
	dec := status("2026-12")
	if a := dec["acme-001"]; !a.Closed || a.Invoice == nil || *a.Invoice != "draft" || a.Banked != 12 || a.Overage != 0 {
		t.Errorf("December acme: %+v", a)
	}
	if out := e.must("statement", "acme-001", "--month", "2026-11"); !strings.Contains(out, "before go-live — not invoiced") {
		t.Errorf("November's statement:\n%s", out)
	}

	// The agency approves December on the dashboard.
	d := startDaemonAt(t, config, time.Date(2027, 1, 1, 8, 0, 0, 0, time.UTC), e.extra...)
	d.waitFor(0, "catch-up done")
	base := "http://" + addr
	browserLogin(t, ctx, base+"/statements", "s3cret-day-one")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#approve-2026-12"))); err != nil {
		t.Fatal(err)
	}
	if _, msgs := smtp.Snapshot(); len(msgs) != 0 {
		t.Fatalf("%d emails before the approval", len(msgs))
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#approve-2026-12"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#approved"))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, msgs := smtp.Snapshot(); len(msgs) >= 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A second click, and time for a duplicate to show up if one would.
	if _, err := chromedp.RunResponse(ctx, chromedp.Navigate(base+"/statements")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	_, msgs := smtp.Snapshot()
	subjects := map[string]int{}
	for _, m := range msgs {
		msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
		if err != nil {
			t.Fatal(err)
		}
		subjects[msg.Header.Get("Subject")]++
	}
	if len(msgs) != 2 {
		t.Fatalf("%d emails after the approval, want 2: %v", len(msgs), subjects)
	}
	for _, inv := range []string{"acme-001-2026-12", "globex-002-2026-12"} {
		n := 0
		for s, c := range subjects {
			if strings.Contains(s, inv) {
				n += c
			}
		}
		if n != 1 {
			t.Errorf("%s emailed %d times: %v", inv, n, subjects)
		}
	}
	d.signal(15)
	d.wait()
	e.now = time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)
	if a := status("2026-12")["acme-001"]; a.Invoice == nil || *a.Invoice != "sent" {
		t.Errorf("December after approval: %+v", a)
	}
}
