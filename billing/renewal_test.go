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

// The average burn rate of the last months: under 70% over-sold, 70–95% a
// little under-used, 95–110% priced right, over 110% under-priced.
func TestRecommend(t *testing.T) {
	tests := []struct {
		burn Pct
		want Verdict
		text string
	}{
		{Pct{Tenths: 650, Valid: true}, OverSold, "over-sold: the client uses under 70% of the hours; offer a smaller retainer"},
		{Pct{Tenths: 699, Valid: true}, OverSold, ""},
		{Pct{Tenths: 700, Valid: true}, UnderUsed, "a little under-used (70–95%): renew as it is, or trim the hours slightly"},
		{Pct{Tenths: 949, Valid: true}, UnderUsed, ""},
		{Pct{Tenths: 950, Valid: true}, PricedRight, "priced right (95–110%): renew as it is"},
		{Pct{Tenths: 1100, Valid: true}, PricedRight, ""},
		{Pct{Tenths: 1101, Valid: true}, UnderPriced, "under-priced: the client uses over 110% of the hours; propose an increase"},
		{Pct{}, NoHours, "no hours contracted in the last months: review the terms before renewing"},
	}
	for _, tt := range tests {
		r := Recommend(tt.burn)
		if r.Verdict != tt.want {
			t.Errorf("%v: %v, want %v", tt.burn, r.Verdict, tt.want)
		}
		if tt.text != "" && r.String() != tt.text {
			t.Errorf("%v: %q, want %q", tt.burn, r.String(), tt.text)
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
