package payments_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"retainer/payments"
	"retainer/payments/stripetest"
)

const whsec = "whsec_test_0123456789abcdef"

// Events signed as Stripe signs them are read; anything else is refused
// with the reason, the clock being the server's, not the real one.
func TestParseEvent(t *testing.T) {
	now := time.Date(2026, 3, 20, 15, 0, 0, 0, time.UTC)
	paid := time.Date(2026, 3, 20, 3, 30, 0, 0, time.UTC)
	body := stripetest.InvoicePaid("evt_1", "in_1", "acme-2026-02", paid, stripetest.APIVersion)
	ev, err := payments.ParseEvent(body, stripetest.Sign(body, whsec, now.Add(-10*time.Second)), whsec, now)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "evt_1" || ev.Type != payments.EventInvoicePaid || ev.Invoice != "acme-2026-02" || ev.StripeInvoice != "in_1" || !ev.PaidAt.Equal(paid) {
		t.Fatalf("event %+v", ev)
	}

	// The same release train, another date: stripe-go reads it.
	train := stripetest.APIVersion[strings.Index(stripetest.APIVersion, "."):]
	older := stripetest.InvoicePaid("evt_2", "in_1", "acme-2026-02", paid, "2025-03-31"+train)
	if _, err := payments.ParseEvent(older, stripetest.Sign(older, whsec, now), whsec, now); err != nil {
		t.Errorf("an event of %s%s: %v", "2025-03-31", train, err)
	}

	forged := strings.Replace(string(body), "acme-2026-02", "globex-2026-02", 1)
	other := stripetest.InvoicePaid("evt_3", "in_1", "acme-2026-02", paid, "2024-06-20.acacia")
	for _, tc := range []struct {
		name    string
		body    []byte
		header  string
		wantErr error
	}{
		{"no header", body, "", payments.ErrSignature},
		{"another secret", body, stripetest.Sign(body, "whsec_someone_else", now), payments.ErrSignature},
		{"body changed after signing", []byte(forged), stripetest.Sign(body, whsec, now), payments.ErrSignature},
		{"unreadable header", body, "t=abc,v1=00", payments.ErrSignature},
		{"no v1 signature", body, "t=" + "1773990000", payments.ErrSignature},
		{"signed 6 minutes ago: a replay", body, stripetest.Sign(body, whsec, now.Add(-6*time.Minute)), payments.ErrTimestamp},
		{"signed 6 minutes ahead", body, stripetest.Sign(body, whsec, now.Add(6*time.Minute)), payments.ErrTimestamp},
		{"another release train", other, stripetest.Sign(other, whsec, now), payments.ErrAPIVersion},
		{"not JSON", []byte("nope"), stripetest.Sign([]byte("nope"), whsec, now), payments.ErrPayload},
	} {
		if _, err := payments.ParseEvent(tc.body, tc.header, whsec, now); !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.wantErr)
		}
	}
	// Within the tolerance either way.
	for _, d := range []time.Duration{-payments.Tolerance, payments.Tolerance} {
		if _, err := payments.ParseEvent(body, stripetest.Sign(body, whsec, now.Add(d)), whsec, now); err != nil {
			t.Errorf("signed %s from now: %v", d, err)
		}
	}
	// A second signature from the secret in use verifies (Stripe signs
	// with both secrets while one is rolled).
	h := stripetest.Sign(body, "whsec_old_secret", now) + "," + strings.Split(stripetest.Sign(body, whsec, now), ",")[1]
	if _, err := payments.ParseEvent(body, h, whsec, now); err != nil {
		t.Errorf("two signatures: %v", err)
	}
}
