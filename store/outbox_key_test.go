package store_test

import (
	"testing"

	"retainer/billing"
	"retainer/store"
)

// Every key of SPEC §8 reads back as the Key it was written from.
func TestKeyRoundTrip(t *testing.T) {
	mar := billing.NewPeriod(2026, 3)
	tests := []struct {
		key  store.Key
		want string
	}{
		{store.StatementKeyOf("acme-001", mar), "statement/acme-001/2026-03"},
		{store.Key{Kind: store.KindAlert, Contract: "acme", Period: mar, Part: "90"}, "alert/acme/2026-03/90"},
		{store.Key{Kind: store.KindAlert, Contract: "acme", Period: mar, Part: "projected_overage"}, "alert/acme/2026-03/projected_overage"},
		{store.Key{Kind: store.KindClientAlert, Contract: "acme", Period: mar}, "client-alert/acme/2026-03"},
		{store.Key{Kind: store.KindDigest, Period: mar}, "digest/2026-03"},
		{store.Key{Kind: store.KindDigest, Period: mar, Part: "2"}, "digest/2026-03/2"},
		{store.Key{Kind: store.KindCheckin, Contract: "a_b", Period: mar}, "checkin/a_b/2026-03"},
		{store.Key{Kind: store.KindRenewal, Contract: "acme", Period: billing.NewPeriod(2026, 12)}, "renewal/acme/2026-12"},
		{store.Key{Kind: store.KindOverdue, Contract: "acme-001", Period: mar}, "overdue/acme-001-2026-03"},
		{store.Key{Kind: store.KindPaymentReminder, Contract: "acme-001", Period: mar, Part: "7"}, "payment-reminder/acme-001-2026-03/7"},
		{store.Key{Kind: store.KindDecision, Contract: "acme", Period: mar, Part: "42"}, "decision/acme/2026-03/42"},
	}
	for _, tt := range tests {
		if got := tt.key.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.key, got, tt.want)
		}
		back, err := store.ParseKey(tt.want)
		if err != nil || back != tt.key {
			t.Errorf("ParseKey(%q) = %+v, %v; want %+v", tt.want, back, err, tt.key)
		}
	}
	if got := store.StatementKeyOf("acme-001", mar).Invoice(); got != "acme-001-2026-03" {
		t.Errorf("statement invoice = %q", got)
	}
	if got := (store.Key{Kind: store.KindOverdue, Contract: "acme-001", Period: mar}).Invoice(); got != "acme-001-2026-03" {
		t.Errorf("overdue invoice = %q", got)
	}
}

func TestParseKeyRefuses(t *testing.T) {
	for _, key := range []string{
		"", "statement", "statement/acme", "statement/acme/2026-13", "statement//2026-03", "statement/acme/2026-03/x",
		"alert/acme/2026-03", "alert/acme/2026-03/", "overdue/acme", "overdue/2026-03", "overdue/acme_2026-03",
		"payment-reminder/acme-2026-03", "digest/2026-3", "digest", "letter/acme/2026-03", "k/1",
	} {
		if k, err := store.ParseKey(key); err == nil {
			t.Errorf("ParseKey(%q) = %+v, want an error", key, k)
		}
	}
}
