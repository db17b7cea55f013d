package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
	"retainer/store/storetest"
)

// dashCSRFValue hides a page's CSRF token, which changes with every
// session, from its golden file.
var dashCSRFValue = regexp.MustCompile(`name="csrf" value="[^"]+"`)

// TestDashboardContractPage: each contract has its own page with the whole
// month (every figure of its row, money with its currency) and its burn
// history over the 12 months before today's, with the band of their
// average, as a table and a chart.
func TestDashboardContractPage(t *testing.T) {
	f := newFixture(t)
	c, _ := dashLoggedIn(t, f)

	t.Run("the open month", func(t *testing.T) {
		resp := dashGet(t, f, c, "/contracts/acme")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /contracts/acme: %d", resp.StatusCode)
		}
		b := resp.body
		for _, want := range []string{
			"Acme &lt;script&gt;alert(1)&lt;/script&gt;", "40.00 h a month for USD 5,000.00; overage USD 175.00 per h",
			"rollover, cap 10.00 h", "2026-01 to no end", "March 2026", "(open, as of 2026-03-20)",
			`id="available">43.00<`, `id="used">30.00<`, `id="projected">44.00<`, `id="total">USD 5,000.00<`,
			`id="rate">USD 175.00<`, "projected to go over",
			"Note: &lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt;",
			// January 28 of 40 h, February 47 of 40: 75 of 80, 93.8%.
			"Burn history <span class=\"muted\">2025-03 to 2026-02</span>",
			`<span class="band band-under-used">under-used</span> Average burn <strong>93.8%</strong>: 75.00 of 80.00 h used over 2 months (70–95%)`,
			`href="/statements/acme-2026-01"`, `href="/statements/acme-2026-02"`, ">117.5%<", ">USD 5,000.00<",
		} {
			if !strings.Contains(b, want) {
				t.Errorf("the contract page lacks %q", want)
			}
		}
		if strings.Contains(strings.ToLower(b), "<script") {
			t.Error("the contract page has a literal <script>")
		}
		// Two months of bars, February's over its 40 h, a mark for each
		// month's contracted hours.
		for class, want := range map[string]int{`<rect class="used"`: 2, `<rect class="over"`: 1, `<line class="target"`: 2} {
			if n := strings.Count(b, class); n != want {
				t.Errorf("%d %s, want %d", n, class, want)
			}
		}
	})

	t.Run("a closed month", func(t *testing.T) {
		resp := dashGet(t, f, c, "/contracts/globex?month=2026-02")
		for _, want := range []string{"February 2026", "(closed)", `id="used">25.00<`, `id="overage">5.00<`, "Overage fee (not billed)",
			`Statement <a href="/statements/globex-2026-02">globex-2026-02</a> (pending)`} {
			if !strings.Contains(resp.body, want) {
				t.Errorf("globex February lacks %q", want)
			}
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, tt := range []struct {
			path string
			code int
		}{
			{"/contracts/nobody", http.StatusNotFound},
			{"/contracts/acme?month=2026-13", http.StatusBadRequest},
			{"/contracts/acme?month=9999-01", http.StatusBadRequest},
			{"/contracts/", http.StatusNotFound},
		} {
			if resp := dashGet(t, f, c, tt.path); resp.StatusCode != tt.code {
				t.Errorf("GET %s: %d, want %d", tt.path, resp.StatusCode, tt.code)
			}
		}
	})

	t.Run("golden", func(t *testing.T) {
		resp := dashGet(t, f, c, "/contracts/acme")
		storetest.Golden(t, "contract-acme.html", dashCSRFValue.ReplaceAllString(resp.body, `name="csrf" value="…"`))
	})
}

// TestDashboardPortfolio: the contracts counted per pricing band, with the
// monthly fees of this month's terms and what was invoiced over the 12
// months, linked from every page's navigation.
func TestDashboardPortfolio(t *testing.T) {
	f := newFixture(t)
	c, _ := dashLoggedIn(t, f)
	resp := dashGet(t, f, c, "/portfolio")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /portfolio: %d", resp.StatusCode)
	}
	b := resp.body
	// acme 93.8% and globex 92.5%: both a little under-used; 5,000 + 2,800
	// a month; invoiced 5,000 + 5,000 and 2,800 + 2,800 (globex's overage
	// is not billable).
	row := regexp.MustCompile(`(?s)<tr id="band-under-used">.*?</tr>`).FindString(b)
	for _, want := range []string{`<td class="num count">2</td>`, ">USD 7,800.00<", ">USD 15,600.00<"} {
		if !strings.Contains(row, want) {
			t.Errorf("the under-used row lacks %q:\n%s", want, row)
		}
	}
	for _, key := range []string{"far-over-sold", "over-sold", "priced-right", "under-priced", "no-hours"} {
		if r := regexp.MustCompile(`(?s)<tr id="band-` + key + `"[^>]*>.*?</tr>`).FindString(b); !strings.Contains(r, `<td class="num count">0</td>`) {
			t.Errorf("band %s is not empty:\n%s", key, r)
		}
	}
	for _, want := range []string{`<a href="/portfolio">Portfolio</a>`, "2 contracts by the pricing band", "from 2025-03 to 2026-02",
		`<a href="/contracts/acme">acme</a>`, "monthly fees USD 7,800.00"} {
		if !strings.Contains(b, want) {
			t.Errorf("the portfolio lacks %q", want)
		}
	}
	if strings.Contains(b, "priced wrong") {
		t.Error("nothing is priced wrong")
	}
	storetest.Golden(t, "portfolio.html", dashCSRFValue.ReplaceAllString(b, `name="csrf" value="…"`))
}

// dashPortfolio: every band, contracts in several currencies summed per
// currency, a contract that ended before the window left out, one that
// ended inside it counted with no monthly fee.
func TestDashboardPortfolioBands(t *testing.T) {
	mar := billing.NewPeriod(2026, time.March)
	jan, endDec := billing.NewPeriod(2025, time.January), billing.NewPeriod(2025, time.December)
	endOld := billing.NewPeriod(2024, time.June)
	h := func(n int64) int64 { return n * 3600 }
	k := func(id, currency string, fee billing.Money, end *billing.Period) *billing.Contract {
		return &billing.Contract{ID: id, Client: "Client " + id, Unit: billing.UnitHours, Currency: currency, Start: &jan, End: end,
			Terms: billing.Terms{MonthlyHours: h(10), MonthlyFee: fee}}
	}
	hist := func(c *billing.Contract, used int64, months int, invoiced billing.Money) store.History {
		out := store.History{Contract: c}
		for i := range months {
			out.Months = append(out.Months, store.HistoryMonth{Period: mar - billing.Period(months-i), Contracted: h(10), Used: h(used),
				TotalInvoiced: invoiced, Currency: c.Currency})
			out.Used, out.Contracted = out.Used+h(used), out.Contracted+h(10)
		}
		out.AvgBurn = billing.Percent(out.Used, out.Contracted)
		out.Recommendation = billing.Recommend(out.AvgBurn)
		return out
	}
	hs := &store.Histories{From: mar - 12, To: mar - 1, Contracts: []store.History{
		hist(k("far-usd", "USD", 100000, nil), 5, 12, 100000),     // 50%
		hist(k("far-eur", "EUR", 200000, nil), 5, 12, 200000),     // 50%
		hist(k("over-sold", "", 300000, nil), 6, 12, 300000),      // 60%, the config's currency
		hist(k("right", "USD", 400000, nil), 10, 12, 400000),      // 100%
		hist(k("under-priced", "JPY", 50000, nil), 12, 3, 60000),  // 120%
		hist(k("ended-in", "USD", 900000, &endDec), 10, 11, 1000), // priced right, no fee this month
		hist(k("ended-before", "USD", 100, &endOld), 0, 0, 0),     // not in the portfolio
		{Contract: k("new", "USD", 70000, nil)},                   // active, no month yet
	}}
	view := dashPortfolio(hs, mar, "USD", billing.DateOf(2026, time.March, 20))
	got := map[string]string{}
	for _, b := range view.Bands {
		got[b.Band.Key] = strings.Join(append(append([]string{string(rune('0' + b.Count))}, b.Fees...), b.Invoiced...), " | ")
	}
	want := map[string]string{
		"far-over-sold": "2 | USD 1,000.00 | EUR 2,000.00 | USD 12,000.00 | EUR 24,000.00",
		"over-sold":     "1 | USD 3,000.00 | USD 36,000.00",
		"under-used":    "0",
		"priced-right":  "2 | USD 4,000.00 | USD 48,110.00",
		"under-priced":  "1 | JPY 50,000 | JPY 180,000",
		"no-hours":      "1 | USD 700.00",
	}
	for key, w := range want {
		if got[key] != w {
			t.Errorf("%s: %q, want %q", key, got[key], w)
		}
	}
	if view.Contracts != 7 || view.PricedWrong != 4 {
		t.Errorf("%d contracts, %d priced wrong; want 7, 4", view.Contracts, view.PricedWrong)
	}
	if strings.Join(view.Fees, " + ") != "USD 8,700.00 + EUR 2,000.00 + JPY 50,000" {
		t.Errorf("fees %q", view.Fees)
	}
	if len(view.Bands) != len(billing.Verdicts) || view.Bands[0].Band.Key != "far-over-sold" || view.Bands[5].Band.Key != "no-hours" {
		t.Errorf("bands out of order: %+v", view.Bands)
	}
}

// The burn history chart: a bar per month in its slot of the window, the
// part over the contracted hours apart, a mark at the contracted hours;
// none for a month with no hours contracted.
func TestDashboardHistoryChart(t *testing.T) {
	mar := billing.NewPeriod(2026, time.March)
	c := &billing.Contract{ID: "k", Unit: billing.UnitHours}
	h := func(n int64) int64 { return n * 3600 }
	hist := &store.History{Contract: c, Months: []store.HistoryMonth{
		{Period: mar - 12, Contracted: h(40), Used: h(20)}, // the window's first slot
		{Period: mar - 2, Contracted: h(40), Used: h(80)},  // the tallest: twice its contracted hours
		{Period: mar - 1, Contracted: 0, Used: h(10)},      // nothing contracted
	}}
	v := dashHistory(hist, &store.Histories{From: mar - 12, To: mar - 1}, "USD", nil)
	if v.Max != "80.00" || len(v.Bars) != 3 {
		t.Fatalf("max %s, %d bars", v.Max, len(v.Bars))
	}
	tests := []struct {
		name                   string
		x, usedH, overH, markY int64
	}{
		{"half its 40 h", chartLeft + (chartSlot-chartBar)/2, chartPlot / 4, 0, chartTop + chartPlot - chartPlot/2},
		{"twice its 40 h", chartLeft + 10*chartSlot + (chartSlot-chartBar)/2, chartPlot / 2, chartPlot / 2, chartTop + chartPlot/2},
		{"no hours contracted", chartLeft + 11*chartSlot + (chartSlot-chartBar)/2, chartPlot / 8, 0, -1},
	}
	for i, tt := range tests {
		b := v.Bars[i]
		if b.X != tt.x || b.UsedH != tt.usedH || b.OverH != tt.overH || b.TargetY != tt.markY || b.UsedY+b.UsedH != v.Baseline ||
			(b.OverH > 0 && b.OverY+b.OverH != b.UsedY) {
			t.Errorf("%s: %+v; want x %d, used %d, over %d, mark at %d", tt.name, b, tt.x, tt.usedH, tt.overH, tt.markY)
		}
	}
	if last := v.Bars[2]; last.X+last.Width > chartWidth {
		t.Errorf("the last bar ends at %d, past the chart's %d", last.X+last.Width, chartWidth)
	}
	if empty := dashHistory(&store.History{Contract: c}, &store.Histories{From: mar - 12, To: mar - 1}, "USD", nil); empty.Bars != nil || empty.Max != "" {
		t.Errorf("no months drew %+v", empty)
	}
}
