package store_test

import (
	"context"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// closedWithEmail closes January for acme-001, which has a contact: one
// pending statement with its email queued.
func closedWithEmail(t *testing.T) (*store.DB, *store.Rules, string) {
	t.Helper()
	db := open(t)
	a := acme()
	a.Contacts = []string{"ap@acme.example"}
	rules := store.NewRules([]*billing.Contract{a})
	add(t, db, rules, entry("Acme Corp", "2026-01-10", h(5)))
	if _, err := db.ClosePeriod(context.Background(), rules, per("2026-01"), "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	return db, rules, "acme-001-2026-01"
}

// claimHeld claims what a dispatcher with Stripe configured would.
func claimHeld(t *testing.T, db *store.DB, at time.Time) []store.OutboxMessage {
	t.Helper()
	msgs, err := db.Claim(context.Background(), store.Claim{Owner: store.ThisProcess(), Now: at, Limit: 10,
		LeaseUntil: at.Add(time.Minute), HoldForPaymentLink: true})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func due(t *testing.T, db *store.DB, at time.Time) []store.StripeWork {
	t.Helper()
	w, err := db.StripeDue(context.Background(), at, 10)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// A statement email waits while its Stripe step is pending — through
// failed attempts too — and goes once the invoice is linked; each attempt
// is claimed by one process at a time.
func TestStripeStepHoldsTheStatementEmail(t *testing.T) {
	ctx := context.Background()
	db, _, inv := closedWithEmail(t)
	if msgs := claimHeld(t, db, now); len(msgs) != 0 {
		t.Fatalf("claimed %d messages before the Stripe step", len(msgs))
	}
	if w := due(t, db, now); len(w) != 1 || w[0].Statement.InvoiceNumber != inv || w[0].StripeID != "" {
		t.Fatalf("due %+v", w)
	}
	step, ok, err := db.ClaimStripe(ctx, inv, now, 5*time.Minute)
	if err != nil || !ok || step.Attempts != 1 || step.Status != store.StripePending {
		t.Fatalf("claim: %+v %v %v", step, ok, err)
	}
	if _, ok, err := db.ClaimStripe(ctx, inv, now.Add(time.Minute), 5*time.Minute); err != nil || ok {
		t.Fatalf("claimed twice within the lease: %v %v", ok, err)
	}
	if w := due(t, db, now.Add(time.Minute)); len(w) != 0 {
		t.Fatalf("due while claimed: %+v", w)
	}
	// The attempt created the invoice, then failed: retried in a minute,
	// from that invoice.
	if err := db.StripeCreated(ctx, inv, "in_1", now); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordStripe(ctx, store.StripeOutcome{Invoice: inv, Status: store.StripePending, LastError: "stripe: 503", Next: now.Add(time.Minute)}, now); err != nil {
		t.Fatal(err)
	}
	if w := due(t, db, now.Add(59*time.Second)); len(w) != 0 {
		t.Fatalf("due before its next attempt: %+v", w)
	}
	if w := due(t, db, now.Add(time.Minute)); len(w) != 1 || w[0].StripeID != "in_1" {
		t.Fatalf("due %+v", w)
	}
	if msgs := claimHeld(t, db, now.Add(time.Minute)); len(msgs) != 0 {
		t.Fatalf("claimed %d messages while the Stripe step is retried", len(msgs))
	}
	at := now.Add(time.Minute)
	if step, ok, err = db.ClaimStripe(ctx, inv, at, 5*time.Minute); err != nil || !ok || step.Attempts != 2 || step.StripeID != "in_1" {
		t.Fatalf("second claim: %+v %v %v", step, ok, err)
	}
	url := "https://invoice.stripe.com/i/acct_1/in_1"
	if err := db.RecordStripe(ctx, store.StripeOutcome{Invoice: inv, Status: store.StripeOpen, HostedURL: url}, at); err != nil {
		t.Fatal(err)
	}
	msgs := claimHeld(t, db, at)
	if len(msgs) != 1 || msgs[0].Key != "statement/acme-001/2026-01" {
		t.Fatalf("claimed %+v once linked", msgs)
	}
	if link, err := db.PaymentLink(ctx, inv); err != nil || link != url {
		t.Errorf("link %q, %v", link, err)
	}
	got, err := db.StripeInvoiceOf(ctx, inv)
	if err != nil || got.Status != store.StripeOpen || got.StripeID != "in_1" || got.HostedURL != url || got.Attempts != 2 || got.LastError != "" {
		t.Errorf("step %+v, %v", got, err)
	}
	// Done is done: a late outcome changes nothing, and nothing is due.
	if err := db.RecordStripe(ctx, store.StripeOutcome{Invoice: inv, Status: store.StripePending, LastError: "late", Next: at}, at); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.StripeInvoiceOf(ctx, inv); got.Status != store.StripeOpen {
		t.Errorf("after a late outcome: %+v", got)
	}
	if w := due(t, db, at.Add(time.Hour)); len(w) != 0 {
		t.Errorf("due once linked: %+v", w)
	}
}

// A step given up, or skipped, lets the email go without a link.
func TestStripeStepGivenUpReleasesTheEmail(t *testing.T) {
	for _, status := range []string{store.StripeFailed, store.StripeSkipped} {
		t.Run(status, func(t *testing.T) {
			ctx := context.Background()
			db, _, inv := closedWithEmail(t)
			if _, ok, err := db.ClaimStripe(ctx, inv, now, time.Minute); err != nil || !ok {
				t.Fatal(ok, err)
			}
			if err := db.RecordStripe(ctx, store.StripeOutcome{Invoice: inv, Status: status, LastError: "stripe: 400 invalid_request_error"}, now); err != nil {
				t.Fatal(err)
			}
			if msgs := claimHeld(t, db, now); len(msgs) != 1 {
				t.Fatalf("claimed %d", len(msgs))
			}
			if link, err := db.PaymentLink(ctx, inv); err != nil || link != "" {
				t.Errorf("link %q, %v", link, err)
			}
		})
	}
}

// A statement paid before its Stripe step holds nothing back and gets no
// Stripe invoice; without the hold (Stripe not configured) nothing waits.
func TestStripeStepOnlyForPendingStatements(t *testing.T) {
	ctx := context.Background()
	db, _, inv := closedWithEmail(t)
	if _, err := db.MarkPaid(ctx, inv, billing.DateAt(now, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if w := due(t, db, now); len(w) != 0 {
		t.Errorf("due for a paid statement: %+v", w)
	}
	if _, ok, err := db.ClaimStripe(ctx, inv, now, time.Minute); err != nil || ok {
		t.Errorf("claimed the step of a paid statement: %v %v", ok, err)
	}
	if msgs := claimHeld(t, db, now); len(msgs) != 1 {
		t.Errorf("claimed %d", len(msgs))
	}

	db, _, _ = closedWithEmail(t)
	msgs, err := db.ClaimDue(ctx, now, false, 10)
	if err != nil || len(msgs) != 1 {
		t.Errorf("without the hold: %d, %v", len(msgs), err)
	}
	if _, err := db.StripeInvoiceOf(ctx, inv); err == nil {
		t.Error("a Stripe step nobody made")
	}
}

func TestStripeEventsKept(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	if seen, err := db.StripeEventSeen(ctx, "evt_1"); err != nil || seen {
		t.Fatal(seen, err)
	}
	for i := 0; i < 2; i++ {
		if err := db.RecordStripeEvent(ctx, "evt_1", "invoice.paid", "acme-001-2026-01", now); err != nil {
			t.Fatal(err)
		}
	}
	if seen, err := db.StripeEventSeen(ctx, "evt_1"); err != nil || !seen {
		t.Fatal(seen, err)
	}
	if n := db.CountRows(t, "stripe_events"); n != 1 {
		t.Errorf("%d rows", n)
	}
}

// Steps put off while Stripe is unavailable wait without an attempt
// counted; one being attempted, or done, is left alone.
func TestDeferStripe(t *testing.T) {
	ctx := context.Background()
	db, _, inv := closedWithEmail(t)
	later := now.Add(time.Minute)
	if err := db.DeferStripe(ctx, []string{inv, "nobody-2026-01"}, later, "not attempted", now); err != nil {
		t.Fatal(err)
	}
	step, err := db.StripeInvoiceOf(ctx, inv)
	if err != nil || step.Status != store.StripePending || step.Attempts != 0 || !step.NextAttemptAt.Equal(later) || step.LastError != "not attempted" {
		t.Fatalf("step %+v, %v", step, err)
	}
	if _, err := db.StripeInvoiceOf(ctx, "nobody-2026-01"); err == nil {
		t.Error("a step for no statement")
	}
	if w := due(t, db, now); len(w) != 0 {
		t.Errorf("due while put off: %+v", w)
	}
	if _, ok, err := db.ClaimStripe(ctx, inv, later, 5*time.Minute); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := db.DeferStripe(ctx, []string{inv}, later.Add(time.Hour), "again", later); err != nil {
		t.Fatal(err)
	}
	if step, _ := db.StripeInvoiceOf(ctx, inv); step.LastError != "not attempted" || step.Attempts != 1 {
		t.Errorf("a claimed step was put off: %+v", step)
	}
	if err := db.RecordStripe(ctx, store.StripeOutcome{Invoice: inv, Status: store.StripeOpen, HostedURL: "https://invoice.stripe.com/i/x"}, later); err != nil {
		t.Fatal(err)
	}
	if err := db.DeferStripe(ctx, []string{inv}, later.Add(time.Hour), "again", later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if step, _ := db.StripeInvoiceOf(ctx, inv); step.Status != store.StripeOpen || step.LastError != "" {
		t.Errorf("a done step was put off: %+v", step)
	}
}
