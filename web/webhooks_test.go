package web

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/payments/stripetest"
	"retainer/store"
)

const testWebhookSecret = "whsec_test_retainer_0123456789"

// postWebhook POSTs body to /webhooks/stripe with a Stripe-Signature header.
func (f *fixture) postWebhook(body []byte, signature string) int {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/webhooks/stripe", strings.NewReader(string(body)))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if signature != "" {
		req.Header.Set("Stripe-Signature", signature)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func (f *fixture) statement(invoice string) *store.Statement {
	f.t.Helper()
	st, err := f.env.DB.StatementByInvoice(context.Background(), invoice)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// Stripe's invoice.paid, signed with the endpoint's secret exactly as
// Stripe signs it, marks the statement paid on the day of payment in the
// agency timezone; a replay, a forgery, an old signature and anything else
// change nothing.
func TestStripeWebhook(t *testing.T) {
	f := newFixture(t)
	f.env.Config.Payments.Stripe.WebhookSecret = testWebhookSecret
	ctx := context.Background()
	// Paid at 03:30 UTC on the 20th: the 19th in New York.
	paidAt := time.Date(2026, 3, 20, 3, 30, 0, 0, time.UTC)
	paid := stripetest.InvoicePaid("evt_paid_1", "in_1", "acme-2026-02", paidAt, stripetest.APIVersion)
	sign := func(body []byte, secret string, at time.Time) string { return stripetest.Sign(body, secret, at) }

	// Refused: 400, and nothing changes.
	forgedBody := strings.Replace(string(paid), "acme-2026-02", "globex-2026-02", 1)
	other := stripetest.InvoicePaid("evt_paid_9", "in_9", "globex-2026-02", paidAt, "2024-06-20.acacia")
	for _, tc := range []struct {
		name   string
		body   []byte
		header string
	}{
		{"no signature", paid, ""},
		{"signed with another secret", []byte(forgedBody), sign([]byte(forgedBody), "whsec_attacker", f.clock())},
		{"body changed after signing", []byte(forgedBody), sign(paid, testWebhookSecret, f.clock())},
		{"signed 10 minutes ago", paid, sign(paid, testWebhookSecret, f.clock().Add(-10*time.Minute))},
		{"another API version", other, sign(other, testWebhookSecret, f.clock())},
	} {
		if code := f.postWebhook(tc.body, tc.header); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.name, code)
		}
	}
	for _, inv := range []string{"acme-2026-02", "globex-2026-02"} {
		if st := f.statement(inv); st.Status != store.StatusPending || st.PaidOn != nil {
			t.Fatalf("%s after refused webhooks: %+v", inv, st)
		}
	}
	if seen, _ := f.env.DB.StripeEventSeen(ctx, "evt_paid_1"); seen {
		t.Fatal("a refused event was kept")
	}

	// The real one.
	header := sign(paid, testWebhookSecret, f.clock())
	if code := f.postWebhook(paid, header); code != http.StatusOK {
		t.Fatalf("invoice.paid: %d", code)
	}
	st := f.statement("acme-2026-02")
	if st.Status != store.StatusPaid || st.PaidOn == nil || *st.PaidOn != billing.DateOf(2026, 3, 19) {
		t.Fatalf("after invoice.paid: %+v", st)
	}

	// Replayed — even after the payment was undone by hand — it changes
	// nothing.
	if _, err := f.env.DB.MarkUnpaid(ctx, "acme-2026-02"); err != nil {
		t.Fatal(err)
	}
	f.advance(time.Minute)
	if code := f.postWebhook(paid, header); code != http.StatusOK {
		t.Fatalf("replay: %d", code)
	}
	if st := f.statement("acme-2026-02"); st.Status != store.StatusPending || st.PaidOn != nil {
		t.Fatalf("a replay changed the statement: %+v", st)
	}

	// Accepted and ignored: another event, an invoice retainer did not
	// make, an invoice number it does not know.
	finalized := []byte(strings.Replace(string(stripetest.InvoicePaid("evt_fin", "in_2", "globex-2026-02", paidAt, stripetest.APIVersion)),
		`"type":"invoice.paid"`, `"type":"invoice.finalized"`, 1))
	for name, body := range map[string][]byte{
		"invoice.finalized":  finalized,
		"no retainer number": stripetest.InvoicePaid("evt_x", "in_3", "", paidAt, stripetest.APIVersion),
		"unknown number":     stripetest.InvoicePaid("evt_y", "in_4", "nobody-2026-02", paidAt, stripetest.APIVersion),
	} {
		if code := f.postWebhook(body, sign(body, testWebhookSecret, f.clock())); code != http.StatusOK {
			t.Errorf("%s: %d", name, code)
		}
	}
	if st := f.statement("globex-2026-02"); st.Status != store.StatusPending {
		t.Errorf("globex after other events: %+v", st)
	}

	// Too large a body is refused before it is read whole.
	big := make([]byte, maxBody+1)
	if code := f.postWebhook(big, sign(big, testWebhookSecret, f.clock())); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a %d-byte body: %d", len(big), code)
	}

	// Without a webhook secret there is no endpoint.
	f.env.Config.Payments.Stripe.WebhookSecret = ""
	if code := f.postWebhook(paid, header); code != http.StatusNotFound {
		t.Errorf("not configured: %d", code)
	}
}
