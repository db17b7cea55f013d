package notify_test

import (
	"context"
	"errors"
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

// TestPaymentReminderDay reads like SPEC §14: of the listed days past due,
// the latest one reached is due, for an invoice that is overdue (sent, not
// paid, past its due date) — never an earlier one once a later is reached.
func TestPaymentReminderDay(t *testing.T) {
	due := storetest.Date("2026-03-16")
	days := []int{3, 10}
	tests := []struct {
		name   string
		listed []int
		status string
		past   int // today, in days after due
		want   int // 0 = none
	}{
		{"before the due date", days, store.StatusSent, -1, 0},
		{"on the due date: not overdue yet", days, store.StatusSent, 0, 0},
		{"day 2: nothing listed reached", days, store.StatusSent, 2, 0},
		{"day 3", days, store.StatusSent, 3, 3},
		{"day 4: still day 3's (late, once: the outbox says whether it went)", days, store.StatusSent, 4, 3},
		{"day 10", days, store.StatusSent, 10, 10},
		{"day 11: day 10's, never day 3's as well", days, store.StatusSent, 11, 10},
		{"a year on: still only day 10's", days, store.StatusSent, 365, 10},
		{"paid", days, store.StatusPaid, 11, 0},
		{"a draft", days, store.StatusDraft, 11, 0},
		{"pending: its statement email never went out", days, store.StatusPending, 11, 0},
		{"none listed", nil, store.StatusSent, 11, 0},
		{"day 1 listed", []int{1}, store.StatusSent, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := notify.PaymentReminderDay(tt.listed, tt.status, due, due+billing.Date(tt.past))
			if ok != (tt.want != 0) || got != tt.want {
				t.Errorf("PaymentReminderDay = %d, %v; want %d", got, ok, tt.want)
			}
		})
	}
}

func TestPaymentReminderKey(t *testing.T) {
	key := notify.PaymentReminderKey("acme-001", storetest.Per("2026-02"), 10)
	if key != "payment-reminder/acme-001-2026-02/10" {
		t.Fatalf("key = %q", key)
	}
	k, err := store.ParseKey(key)
	if err != nil || k.Kind != store.KindPaymentReminder || k.Invoice() != "acme-001-2026-02" || k.Part != "10" {
		t.Errorf("ParseKey(%q) = %+v, %v", key, k, err)
	}
}

// sentInvoice is acme-001's February invoice (a 20% tax rate), closed on
// March 1st, due on the 16th, its statement email sent; with payURL, its
// Stripe invoice's payment page.
func sentInvoice(t *testing.T, payURL string) (*store.DB, *store.Rules) {
	t.Helper()
	ctx := context.Background()
	acme := storetest.Acme()
	acme.Start = storetest.Ptr(storetest.Per("2026-02"))
	acme.Contacts = []string{"ap@acme.example"}
	acme.TaxRate = 20 * billing.TaxRateScale
	rules := store.NewRules([]*billing.Contract{acme})
	db := storetest.Open(t)
	closed := time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)
	if err := db.AddEntries(ctx, rules, []store.Entry{{Source: "log", Client: "Acme Corp", Date: storetest.Date("2026-02-10"),
		Seconds: storetest.H(42), Billable: true}}, closed); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClosePeriod(ctx, rules, storetest.Per("2026-02"), "USD", time.UTC, closed); err != nil {
		t.Fatal(err)
	}
	if payURL != "" { // its Stripe invoice, linked before the statement email goes
		if _, ok, err := db.ClaimStripe(ctx, "acme-001-2026-02", closed, time.Minute); err != nil || !ok {
			t.Fatalf("claim stripe step: %v, %v", ok, err)
		}
		if err := db.RecordStripe(ctx, store.StripeOutcome{Invoice: "acme-001-2026-02", Status: store.StripeOpen, StripeID: "in_1",
			HostedURL: payURL}, closed); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := db.ClaimDue(ctx, closed, true, 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("statement emails %v, %v", msgs, err)
	}
	if err := db.Delivered(ctx, msgs[0].ID, store.OutboxSent, "file", "", closed, closed); err != nil {
		t.Fatal(err)
	}
	return db, rules
}

// TestPaymentReminderGolden: the client's reminder names the invoice, the
// amount due with tax, the due date, the days overdue (as of the day it
// was queued, so a retry says the same) and the agency's payment
// instructions.
func TestPaymentReminderGolden(t *testing.T) {
	ctx := context.Background()
	db, rules := sentInvoice(t, "https://invoice.stripe.com/i/acct_1/test_YWNtZQ")
	r := &notify.Renderer{DB: db, Rules: rules, Currency: "USD", Agency: "Northwind Studio", From: "billing@northwind.example",
		Location: time.UTC, Issuer: report.Issuer{PaymentInstructions: "Bank transfer to Northwind Studio Ltd\nIBAN GB33 BUKB 2020 1555 5555 55\nReference: the invoice number"}}
	queued := time.Date(2026, 3, 27, 9, 0, 0, 0, time.UTC) // the day-10 reminder, queued a day late
	m, err := r.Render(ctx, store.OutboxMessage{Key: "payment-reminder/acme-001-2026-02/10", Channel: notify.ChannelEmail,
		To: []string{"ap@acme.example"}, CreatedAt: queued})
	if err != nil {
		t.Fatal(err)
	}
	st, err := db.StatementByInvoice(ctx, "acme-001-2026-02")
	if err != nil {
		t.Fatal(err)
	}
	if due := st.TotalWithTax().Format("USD"); !strings.Contains(m.Text, due) {
		t.Errorf("the reminder does not say the amount due with tax, %s:\n%s", due, m.Text)
	}
	if len(m.To) != 1 || m.To[0] != "ap@acme.example" || m.HTML != "" || len(m.Blocks) != 0 {
		t.Errorf("to %v, html %q, blocks %s", m.To, m.HTML, m.Blocks)
	}
	storetest.Golden(t, "message-payment-reminder.email", "Subject: "+m.Subject+"\n\n"+m.Text+"\n")

	// Without a payment link, payment instructions or an agency name,
	// those lines go.
	db, rules = sentInvoice(t, "")
	r = &notify.Renderer{DB: db, Rules: rules, Currency: "USD", Location: time.UTC}
	m, err = r.Render(ctx, store.OutboxMessage{Key: "payment-reminder/acme-001-2026-02/3", Channel: notify.ChannelEmail,
		To: []string{"ap@acme.example"}, CreatedAt: time.Date(2026, 3, 17, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "How to pay") || strings.Contains(m.Text, "Pay online") || strings.Contains(m.Text, "—") || !strings.Contains(m.Subject, "is 1 day overdue") {
		t.Errorf("bare reminder:\nSubject: %s\n%s", m.Subject, m.Text)
	}
}

// TestPaymentReminderObsolete: once the invoice is paid, its reminder
// renders as ErrObsolete (the dispatcher cancels it); an invoice that does
// not exist is an ordinary error.
func TestPaymentReminderObsolete(t *testing.T) {
	ctx := context.Background()
	db, rules := sentInvoice(t, "")
	r := &notify.Renderer{DB: db, Rules: rules, Currency: "USD", Location: time.UTC}
	m := store.OutboxMessage{Key: "payment-reminder/acme-001-2026-02/3", Channel: notify.ChannelEmail, To: []string{"ap@acme.example"},
		CreatedAt: time.Date(2026, 3, 19, 9, 0, 0, 0, time.UTC)}
	if _, err := r.Render(ctx, m); err != nil {
		t.Fatalf("unpaid: %v", err)
	}
	if _, err := db.MarkPaid(ctx, "acme-001-2026-02", storetest.Date("2026-03-20")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Render(ctx, m); !errors.Is(err, notify.ErrObsolete) || !strings.Contains(err.Error(), "paid") {
		t.Errorf("paid: %v, want ErrObsolete saying paid", err)
	}
	// A mistaken paid undone: the reminder is due again.
	if _, err := db.MarkUnpaid(ctx, "acme-001-2026-02"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Render(ctx, m); err != nil {
		t.Errorf("unpaid again: %v", err)
	}
	m.Key = "payment-reminder/acme-001-2026-01/3"
	if _, err := r.Render(ctx, m); err == nil || errors.Is(err, notify.ErrObsolete) || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("no such invoice: %v", err)
	}
}

// TestPaymentReminderTemplateOverride: payment-reminder.txt.tmpl is
// overridden from templates_dir like the other messages, and check does
// not call the override unused.
func TestPaymentReminderTemplateOverride(t *testing.T) {
	db, rules := sentInvoice(t, "")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "payment-reminder.txt.tmpl"),
		[]byte("Subject: Friendly nudge: {{.Invoice}}\n\n{{.AmountDue}} since {{.DueOn}} ({{.Days}} days)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := report.ParseTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	problems, unused, err := report.CheckOverrides(dir)
	if err != nil || len(problems) != 0 || len(unused) != 0 {
		t.Errorf("check: problems %v, unused %v, %v", problems, unused, err)
	}
	r := &notify.Renderer{DB: db, Rules: rules, Currency: "USD", Templates: tmpl, Location: time.UTC}
	m, err := r.Render(context.Background(), store.OutboxMessage{Key: "payment-reminder/acme-001-2026-02/3", Channel: notify.ChannelEmail,
		To: []string{"ap@acme.example"}, CreatedAt: time.Date(2026, 3, 19, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Friendly nudge: acme-001-2026-02" || !strings.HasSuffix(m.Text, "since 2026-03-16 (3 days)\n") {
		t.Errorf("override: %q / %q", m.Subject, m.Text)
	}
}
