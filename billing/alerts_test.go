package billing

import (
	"strings"
	"testing"
)

// SPEC §6: a threshold is crossed when utilization, from exact seconds, is at
// or above it.
func TestCrossed(t *testing.T) {
	tests := []struct {
		name            string
		used, available int64
		threshold       int
		want            bool
	}{
		{"exactly 90.0% crosses 90", h(36), h(40), 90, true},
		{"one second short of 90% does not", h(36) - 1, h(40), 90, false},
		{"89.9975% shows as 90.0 but does not cross", 35999, 40000, 90, false},
		{"over 100% crosses 100", h(41), h(40), 100, true},
		{"nothing available crosses nothing", h(5), 0, 90, false},
	}
	for _, tt := range tests {
		if got := Crossed(tt.used, tt.available, tt.threshold); got != tt.want {
			t.Errorf("%s: Crossed(%d, %d, %d) = %t", tt.name, tt.used, tt.available, tt.threshold, got)
		}
	}
}

// SPEC §6: thresholds, overage when used > available (exactly 100% is not),
// projected overage from the 6th business day, the client's own alert, and
// nothing for a closed period.
func TestAlerts(t *testing.T) {
	mar := per("2026-03") // 1 March 2026 is a Sunday: the 6th business day is Monday 9
	k := &Contract{ID: "k", Contacts: []string{"ops@client.example"}, AlertClientAt: 90}
	bare := &Contract{ID: "k", AlertClientAt: 90} // no contacts: no client alert
	fig := func(used, available, projected int64) Figures {
		return Figures{Period: mar, Used: used, Available: available, Projected: projected}
	}
	tests := []struct {
		name   string
		c      *Contract
		f      Figures
		closed bool
		asOf   Date
		want   string
	}{
		{"calm", k, fig(h(10), h(40), h(20)), false, DateOf(2026, 3, 20), ""},
		{"exactly 90% crosses 90, and the client's alert", k, fig(h(36), h(40), h(36)), false, DateOf(2026, 3, 31), "90 client:90"},
		{"the client's alert needs contacts", bare, fig(h(36), h(40), h(36)), false, DateOf(2026, 3, 31), "90"},
		{"exactly 100% is not overage", k, fig(h(40), h(40), h(40)), false, DateOf(2026, 3, 31), "90 100 client:90"},
		{"over, and so projected over", k, fig(h(40)+1, h(40), h(40)+1), false, DateOf(2026, 3, 31), "90 100 overage projected_overage client:90"},
		{"projected over on the 6th business day", k, fig(h(12), h(40), h(48)), false, DateOf(2026, 3, 9), "projected_overage"},
		{"not on the 5th", k, fig(h(12), h(40), h(48)), false, DateOf(2026, 3, 6), ""},
		{"projected exactly at available is not over", k, fig(h(20), h(40), h(40)), false, DateOf(2026, 3, 16), ""},
		{"a closed period fires nothing", k, fig(h(50), h(40), h(50)), true, DateOf(2026, 4, 2), ""},
	}
	for _, tt := range tests {
		var got []string
		for _, a := range Alerts(tt.c, tt.f, tt.closed, []int{90, 100}, tt.asOf) {
			name := a.Name()
			if a.Client {
				name = "client:" + name
			}
			got = append(got, name)
		}
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, g, tt.want)
		}
	}
}

// The one "needs the agency's eye" rule: over, else at or over the lowest
// alert threshold, else projected over by the rule of projected overage.
func TestFlagged(t *testing.T) {
	mar := per("2026-03")
	fig := func(used, available, projected int64) Figures {
		return Figures{Period: mar, Used: used, Available: available, Projected: projected}
	}
	mid, early := DateOf(2026, 3, 20), DateOf(2026, 3, 4)
	tests := []struct {
		name       string
		f          Figures
		thresholds []int
		asOf       Date
		want       Flag
	}{
		{"calm", fig(h(10), h(40), h(20)), []int{90, 100}, mid, NotFlagged},
		{"over wins", fig(h(41), h(40), h(41)), []int{90, 100}, mid, FlagOver},
		{"exactly the lowest threshold, in any order", fig(h(36), h(40), h(36)), []int{100, 90}, mid, FlagThreshold},
		{"a configured 75% flags at 75%", fig(h(30), h(40), h(30)), []int{75, 100}, mid, FlagThreshold},
		{"no thresholds: only over and projection", fig(h(39), h(40), h(39)), nil, mid, NotFlagged},
		{"projected over", fig(h(10), h(40), h(41)), []int{90}, mid, FlagProjected},
		{"projected exactly at available", fig(h(35), h(40), h(40)), []int{90}, mid, NotFlagged},
		{"projection before the 6th business day does not count", fig(h(10), h(40), h(80)), []int{90}, early, NotFlagged},
		{"nothing available, nothing used", fig(0, 0, 0), []int{90}, mid, NotFlagged},
	}
	for _, tt := range tests {
		if got := Flagged(tt.f, tt.thresholds, tt.asOf); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	if LowestThreshold(nil) != 0 || LowestThreshold([]int{100, 75, 90}) != 75 {
		t.Error("LowestThreshold")
	}
}

// An alert's Name reads back as the alert (the client's own has none);
// nothing else reads as one.
func TestParseAlertName(t *testing.T) {
	for _, a := range []Alert{{Kind: ThresholdCrossed, Threshold: 90}, {Kind: ThresholdCrossed, Threshold: 1000}, {Kind: Overage}, {Kind: ProjectedOverage}} {
		if got, err := ParseAlertName(a.Name()); err != nil || got != a {
			t.Errorf("ParseAlertName(%q) = %+v, %v; want %+v", a.Name(), got, err, a)
		}
	}
	for _, s := range []string{"", "ninety", "090", "+90", "0", "-5", "90%", "Overage"} {
		if a, err := ParseAlertName(s); err == nil {
			t.Errorf("ParseAlertName(%q) = %+v", s, a)
		}
	}
}
