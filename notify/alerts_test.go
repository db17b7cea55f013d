package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
	"retainer/store/storetest"
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

// Each kind of alert keeps its key and its line: the key's part is the
// alert's Name, and rendering the key gives the line the alert describes,
// for every alert Alerts fires (a client's included); a key whose part
// names no alert renders nothing.
func TestAlertKindsKeyAndLine(t *testing.T) {
	ctx := context.Background()
	db, rules := storetest.WorkedExample(t)
	rules.Contract("acme-001").AlertClientAt = 80
	rules.Contract("acme-001").Contacts = []string{"ap@acme.example"}
	r := &Renderer{DB: db, Rules: rules, Currency: "USD", Agency: "Northwind Studio", From: "billing@northwind.example", Location: time.UTC,
		Thresholds: []int{90, 100}}
	asOf := billing.DateOf(2026, 3, 18)
	v, err := db.Status(ctx, rules, billing.NewPeriod(2026, 3), asOf)
	if err != nil {
		t.Fatal(err)
	}
	var acme []store.Row
	for _, row := range v.Rows {
		if row.Contract.ID == "acme-001" {
			acme = append(acme, row)
		}
	}
	want := []struct{ key, line string }{
		{"alert/acme-001/2026-03/90", "acme-001 2026-03 crossed 90%: 45.00 of 43.00 h used (utilization 104.7%)"},
		{"alert/acme-001/2026-03/100", "acme-001 2026-03 crossed 100%: 45.00 of 43.00 h used (utilization 104.7%)"},
		{"alert/acme-001/2026-03/overage", "acme-001 2026-03 is over: 45.00 of 43.00 h used, 2.00 overage (utilization 104.7%)"},
		{"alert/acme-001/2026-03/projected_overage", "acme-001 2026-03 is projected to go over: 76.15 of 43.00 h projected (utilization 104.7%)"},
		{"client-alert/acme-001/2026-03", "acme-001 2026-03 crossed 80%: 45.00 of 43.00 h used (utilization 104.7%)"},
	}
	got := Alerts(acme, r.Thresholds, asOf)
	if len(got) != len(want) {
		t.Fatalf("%d alerts, want %d: %+v", len(got), len(want), got)
	}
	for i, a := range got {
		if a.Key() != want[i].key || a.Describe(billing.UnitHours) != want[i].line {
			t.Errorf("alert %d: %s %q, want %s %q", i, a.Key(), a.Describe(billing.UnitHours), want[i].key, want[i].line)
		}
		if a.Client {
			continue // the client's email says it in its own words
		}
		m, err := r.Render(ctx, store.OutboxMessage{Key: a.Key(), Channel: ChannelSlack, To: []string{"#x"}, CreatedAt: time.Date(2026, 3, 18, 9, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Text, want[i].line) {
			t.Errorf("%s renders %q, want its line %q", a.Key(), m.Text, want[i].line)
		}
	}
	for _, part := range []string{"ninety", "090", "0", "overage%"} {
		if _, err := r.Render(ctx, store.OutboxMessage{Key: "alert/acme-001/2026-03/" + part, Channel: ChannelSlack}); err == nil {
			t.Errorf("alert %q rendered", part)
		}
	}
}
