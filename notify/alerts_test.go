package notify

import (
	"testing"

	"retainer/billing"
	"retainer/store"
)

func TestAlerts(t *testing.T) {
	h := func(n int64) int64 { return n * 3600 }
	p := billing.NewPeriod(2026, 3) // 22 business days
	c := &billing.Contract{ID: "k", Contacts: []string{"c@x.example"}}
	row := func(used, available int64, closed bool) store.Row {
		return store.Row{Contract: c, Closed: closed, Figures: billing.Figures{Period: p, Used: used, Available: available,
			Projected: billing.Project(used, p, billing.DateOf(2026, 3, 9)), Utilization: billing.Percent(used, available)}}
	}
	tests := []struct {
		name   string
		row    store.Row
		asOf   billing.Date
		client int
		want   []string
	}{
		{"below 90", row(h(35), h(40), false), billing.DateOf(2026, 3, 3), 0, nil},
		{"exactly 90.0% crosses 90", row(h(36), h(40), false), billing.DateOf(2026, 3, 3), 0, []string{"alert/k/2026-03/90"}},
		{"exactly 100% is not overage", row(h(40), h(40), false), billing.DateOf(2026, 3, 3), 0, []string{"alert/k/2026-03/90", "alert/k/2026-03/100"}},
		{"over", row(h(41), h(40), false), billing.DateOf(2026, 3, 3), 0, []string{"alert/k/2026-03/90", "alert/k/2026-03/100", "alert/k/2026-03/overage"}},
		{"projection counts from the 6th business day", row(h(20), h(40), false), billing.DateOf(2026, 3, 9), 0, []string{"alert/k/2026-03/projected_overage"}},
		{"not before it", row(h(20), h(40), false), billing.DateOf(2026, 3, 6), 0, nil},
		{"closed period fires nothing", row(h(50), h(40), true), billing.DateOf(2026, 3, 9), 0, nil},
		{"zero available: only overage", row(h(1), 0, false), billing.DateOf(2026, 3, 3), 0, []string{"alert/k/2026-03/overage"}},
		{"client alert", row(h(32), h(40), false), billing.DateOf(2026, 3, 3), 80, []string{"client-alert/k/2026-03"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.AlertClientAt = tt.client
			var got []string
			for _, a := range Alerts([]store.Row{tt.row}, []int{90, 100}, tt.asOf) {
				got = append(got, a.Key())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}
