package notify

import (
	"strings"
	"testing"

	"retainer/billing"
)

func TestRecommend(t *testing.T) {
	tests := []struct {
		tenths int64
		valid  bool
		want   string
	}{
		{650, true, "over-sold"}, {699, true, "over-sold"}, {700, true, "a little under-used"},
		{950, true, "priced right"}, {1100, true, "priced right"}, {1101, true, "under-priced"}, {0, false, "no hours"},
	}
	for _, tt := range tests {
		if got := Recommend(billing.Pct{Tenths: tt.tenths, Valid: tt.valid}); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%d: %q, want %q…", tt.tenths, got, tt.want)
		}
	}
}

func TestRenewalDue(t *testing.T) {
	end := billing.NewPeriod(2026, 12)
	c := &billing.Contract{ID: "k", End: &end}
	tests := []struct {
		today billing.Date
		want  bool
	}{
		{billing.DateOf(2026, 11, 30), false}, {billing.DateOf(2026, 12, 1), true},
		{billing.DateOf(2026, 12, 31), true}, {billing.DateOf(2027, 1, 1), false},
	}
	for _, tt := range tests {
		if got := RenewalDue(c, tt.today); got != tt.want {
			t.Errorf("%s: %t", tt.today, got)
		}
	}
	if RenewalDue(&billing.Contract{}, billing.DateOf(2026, 12, 1)) {
		t.Error("a contract without end has no renewal")
	}
}
