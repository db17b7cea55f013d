package billing

import "testing"

// The renewal reminder is due from 30 days before the contract's last day
// through that day.
func TestRenewalDue(t *testing.T) {
	end := NewPeriod(2026, 12)
	c := &Contract{ID: "k", End: &end}
	tests := []struct {
		name  string
		today Date
		want  bool
	}{
		{"31 days before the last day", DateOf(2026, 11, 30), false},
		{"30 days before", DateOf(2026, 12, 1), true},
		{"the last day", DateOf(2026, 12, 31), true},
		{"after the end", DateOf(2027, 1, 1), false},
	}
	for _, tt := range tests {
		if got := RenewalDue(c, tt.today); got != tt.want {
			t.Errorf("%s (%s): %t", tt.name, tt.today, got)
		}
	}
	if RenewalDue(&Contract{}, DateOf(2026, 12, 1)) {
		t.Error("a contract without end has no renewal")
	}
}

// The pricing bands of the average burn rate, at each edge, on the
// percentage as shown (tenths): under 60% far over-sold, 60–70% over-sold,
// 70–95% a little under-used, 95–110% priced right, over 110% under-priced.
func TestRecommend(t *testing.T) {
	tenths := func(n int64) Pct { return Pct{Tenths: n, Valid: true} }
	tests := []struct {
		name string
		burn Pct
		want Verdict
		text string
	}{
		{"nothing used", tenths(0), FarOverSold, ""},
		{"59.9%", tenths(599), FarOverSold, "far over-sold (under 60%): the client pays for hours it does not use and may not renew; offer a smaller retainer now"},
		{"60.0%", tenths(600), OverSold, "over-sold (60–70%): the client uses under 70% of the hours; offer a smaller retainer"},
		{"65.0%", tenths(650), OverSold, ""},
		{"69.9%", tenths(699), OverSold, ""},
		{"70.0%", tenths(700), UnderUsed, "a little under-used (70–95%): renew as it is, or trim the hours slightly"},
		{"94.9%", tenths(949), UnderUsed, ""},
		{"95.0%", tenths(950), PricedRight, "priced right (95–110%): renew as it is"},
		{"110.0%", tenths(1100), PricedRight, ""},
		{"110.1%", tenths(1101), UnderPriced, "under-priced (over 110%): the client uses over 110% of the hours; propose an increase"},
		{"over 1000%", tenths(10001), UnderPriced, ""},
		// From exact seconds: 59.95% rounds to 60.0% and reads as shown.
		{"59.94% of the seconds", Percent(5994, 10000), FarOverSold, ""},
		{"59.95% of the seconds", Percent(5995, 10000), OverSold, ""},
		{"110.04% of the seconds", Percent(11004, 10000), PricedRight, ""},
		{"110.05% of the seconds", Percent(11005, 10000), UnderPriced, ""},
		{"no hours contracted", Percent(3600, 0), NoHours, "no hours contracted in the last months: review the terms before renewing"},
	}
	for _, tt := range tests {
		r := Recommend(tt.burn)
		if r.Verdict != tt.want {
			t.Errorf("%s (%v): %v, want %v", tt.name, tt.burn, r.Verdict, tt.want)
		}
		if tt.text != "" && r.String() != tt.text {
			t.Errorf("%s: %q, want %q", tt.name, r.String(), tt.text)
		}
	}
}

// Every band has its own label, key and range, and the portfolio lists
// each once, the bands in the order of their burn rates.
func TestVerdictNames(t *testing.T) {
	tests := []struct {
		v               Verdict
		label, key, rng string
		pricedWrong     bool
	}{
		{FarOverSold, "far over-sold", "far-over-sold", "under 60%", true},
		{OverSold, "over-sold", "over-sold", "60–70%", true},
		{UnderUsed, "under-used", "under-used", "70–95%", false},
		{PricedRight, "priced right", "priced-right", "95–110%", false},
		{UnderPriced, "under-priced", "under-priced", "over 110%", true},
		{NoHours, "no hours", "no-hours", "no hours contracted", false},
	}
	if len(Verdicts) != len(tests) {
		t.Fatalf("Verdicts lists %d bands, want %d", len(Verdicts), len(tests))
	}
	for i, tt := range tests {
		if Verdicts[i] != tt.v {
			t.Errorf("Verdicts[%d] = %v, want %v", i, Verdicts[i], tt.v)
		}
		if tt.v.Label() != tt.label || tt.v.Key() != tt.key || tt.v.Range() != tt.rng || tt.v.PricedWrong() != tt.pricedWrong {
			t.Errorf("%v: %q %q %q %v", tt.v, tt.v.Label(), tt.v.Key(), tt.v.Range(), tt.v.PricedWrong())
		}
	}
}

// SPEC §3 invoice_status: a sent invoice past its due date is overdue.
func TestInvoiceStatusAt(t *testing.T) {
	due := DateOf(2026, 4, 30)
	tests := []struct {
		stored string
		asOf   Date
		want   string
	}{
		{InvoiceSent, due, InvoiceSent},
		{InvoiceSent, due + 1, InvoiceOverdue},
		{InvoicePaid, due + 1, InvoicePaid},
		{InvoicePending, due + 1, InvoicePending},
		{InvoiceDraft, due + 1, InvoiceDraft},
	}
	for _, tt := range tests {
		if got := InvoiceStatusAt(tt.stored, due, tt.asOf); got != tt.want {
			t.Errorf("%s on %s: %s, want %s", tt.stored, tt.asOf, got, tt.want)
		}
	}
}
