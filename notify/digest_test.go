package notify

import (
	"fmt"
	"strings"
	"testing"

	"retainer/billing"
	"retainer/store"
)

// A digest of 2,000 contracts stays within Slack's limits and says how many
// it could not list.
func TestDigestWithinSlackLimits(t *testing.T) {
	p := billing.NewPeriod(2026, 3)
	v := &store.View{Period: p}
	for i := 0; i < 2000; i++ {
		c := &billing.Contract{ID: fmt.Sprintf("c%04d", i), Client: strings.Repeat("Client ", 5) + fmt.Sprint(i), Unit: billing.UnitHours}
		used := int64(i%50) * 3600
		v.Rows = append(v.Rows, store.Row{Contract: c, Figures: billing.Figures{Period: p, Used: used, Available: 40 * 3600,
			Remaining: max(40*3600-used, 0), Projected: used, Utilization: billing.Percent(used, 40*3600)}})
	}
	_, text, blocks, err := DigestMessage(v, "USD", []int{90, 100}, billing.DateOf(2026, 3, 15), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateBlocks(blocks); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(blocks), "more contracts") {
		t.Errorf("the cut is not said")
	}
	// Flagged first: 36 h of 40 is 90%.
	if first := strings.Split(text, "\n")[3]; !strings.HasPrefix(first, "⚠") {
		t.Errorf("first line %q", first)
	}
}
