package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOverduePaymentReminders: with reminders.client_overdue_days, the
// overdue command (the daemon's overdue job) also emails each overdue
// invoice's contacts once per listed day past due; paid stops them.
func TestOverduePaymentReminders(t *testing.T) {
	e := newEnv(t)
	e.extra = []string{"RETAINER_REMINDERS__CLIENT_OVERDUE_DAYS=10,3"}
	e.must("close", "--month", "2026-10", "--send") // January to October, issued 2026-11-25, due 2026-12-10
	reminder := func(invoice, day string) string {
		return filepath.Join(e.dir, "outbox", "payment-reminder_"+invoice+"_"+day+".eml")
	}
	exists := func(path string) bool {
		_, err := os.Stat(path)
		return err == nil
	}

	out := e.must("overdue", "--as-of", "2026-12-12", "--send") // day 2: the agency is told, the client not yet
	if !strings.Contains(out, "acme-001-2026-10 overdue since 2026-12-10") || strings.Contains(out, "payment reminder") {
		t.Errorf("day 2:\n%s", out)
	}
	if out := e.must("overdue", "--as-of", "2026-12-13"); !strings.Contains(out, "acme-001-2026-10 payment reminder, day 3 past due") ||
		!strings.Contains(out, "[ap@acme.example]") || exists(reminder("acme-001-2026-10", "3")) {
		t.Errorf("day 3 without --send lists, sends nothing:\n%s", out)
	}
	e.must("overdue", "--as-of", "2026-12-13", "--send")
	body, err := os.ReadFile(reminder("acme-001-2026-10", "3"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"To: <ap@acme.example>", "Subject: Payment reminder: invoice acme-001-2026-10 is 3 days overdue"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("reminder lacks %q:\n%s", want, body)
		}
	}
	if out := e.must("overdue", "--as-of", "2026-12-13", "--send"); strings.Contains(out, "payment reminder") || !strings.Contains(out, "delivered 0,") {
		t.Errorf("day 3 again: nothing new\n%s", out)
	}

	e.must("invoice", "paid", "acme-001-2026-10", "--date", "2026-12-15")
	out = e.must("overdue", "--as-of", "2026-12-21", "--send") // day 11
	if strings.Contains(out, "acme-001-2026-10 ") || exists(reminder("acme-001-2026-10", "10")) {
		t.Errorf("a paid invoice is reminded:\n%s", out)
	}
	if !strings.Contains(out, "globex-002-2026-10 payment reminder, day 10 past due") || !exists(reminder("globex-002-2026-10", "10")) {
		t.Errorf("day 11: the unpaid invoices' day-10 reminders:\n%s", out)
	}
}

// TestCheckKnowsPaymentReminderTemplate: payment-reminder.txt.tmpl in
// templates_dir is an override check parses, not a misspelt file.
func TestCheckKnowsPaymentReminderTemplate(t *testing.T) {
	e := newEnv(t)
	e.extra = []string{"RETAINER_TEMPLATES_DIR=" + filepath.Join(e.dir, "templates")}
	e.write("templates/payment-reminder.txt.tmpl", "Subject: Nudge {{.Invoice}}\n\n{{.AmountDue}}\n")
	if out := e.must("check"); strings.Contains(out, "payment-reminder.txt.tmpl overrides no template") {
		t.Errorf("check calls the override unused:\n%s", out)
	}
	path := e.write("templates/payment-reminder.txt.tmpl", "Subject: Nudge {{.Invoice}\n")
	if code, _, stderr := e.run("check"); code != exitUsage || !strings.Contains(stderr, path) {
		t.Errorf("a broken override: exit %d, stderr %q; want 2 naming %s", code, stderr, path)
	}
}

// A payment reminder queued while the mail server was down, for an invoice
// paid before it could go out, is cancelled, not sent, and the delivery
// says so.
func TestPaymentReminderPaidBeforeDeliveryIsCancelled(t *testing.T) {
	e := newEnv(t)
	down := freePort(t) // nothing listens
	e.extra = []string{"RETAINER_REMINDERS__CLIENT_OVERDUE_DAYS=3", "RETAINER_NOTIFY__EMAIL__HOST=127.0.0.1",
		"RETAINER_NOTIFY__EMAIL__PORT=" + strings.Split(down, ":")[1], "RETAINER_NOTIFY__EMAIL__TLS=none"}
	e.must("close", "--month", "2026-10")
	// Issued 2026-11-25, due 2026-12-10: sent by hand, as far as retainer
	// knows, by marking the statements sent through a delivery to the file
	// transport first.
	mail := e.extra
	e.extra = []string{"RETAINER_REMINDERS__CLIENT_OVERDUE_DAYS=3"}
	e.must("outbox", "send")
	e.extra = mail
	code, out, errs := e.run("overdue", "--as-of", "2026-12-13", "--send")
	if code != 0 || !strings.Contains(out, "acme-001-2026-10 payment reminder, day 3 past due") || !strings.Contains(out, "retrying") {
		t.Fatalf("overdue with the mail server down: exit %d\n%s%s", code, out, errs)
	}
	e.must("invoice", "paid", "acme-001-2026-10", "--date", "2026-12-14")
	e.extra = []string{"RETAINER_REMINDERS__CLIENT_OVERDUE_DAYS=3"}
	if out := e.must("outbox", "send"); !strings.Contains(out, "cancelled 1") {
		t.Errorf("outbox send after the payment:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "outbox", "payment-reminder_acme-001-2026-10_3.eml")); err == nil {
		t.Error("the paid invoice's reminder was sent")
	}
}
