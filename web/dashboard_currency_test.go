package web

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/report"
	"retainer/store"
)

// TestDashboardSummaryPerCurrency: contracts in USD, EUR and JPY get one
// summary row each on the burn tracker, the top-level currency's first,
// each row's money with its own currency, in its digits; contracts in one
// currency keep the single summary row.
func TestDashboardSummaryPerCurrency(t *testing.T) {
	start := billing.NewPeriod(2026, time.March)
	k := func(id, currency string, fee billing.Money) store.Row {
		c := &billing.Contract{ID: id, Client: id, Unit: billing.UnitHours, Currency: currency, Start: &start, OverageBillable: true}
		f := billing.Figures{Period: start, Contracted: 10 * 3600, Available: 10 * 3600, Used: 5 * 3600, Projected: 5 * 3600,
			Remaining: 5 * 3600, RetainerFee: fee, TotalInvoiced: fee}
		return store.Row{Contract: c, Figures: f, Currency: currency}
	}
	tests := []struct {
		name      string
		rows      []store.Row
		summaries []string // currency: total
		mixed     bool
		money     []string // on the page
	}{
		{"three currencies", []store.Row{k("a-eur", "EUR", 250000), k("b-jpy", "JPY", 123457), k("c-usd", "USD", 500000), k("d-usd", "USD", 100)},
			[]string{"USD 2 5001.00", "EUR 1 2500.00", "JPY 1 123457"}, true,
			[]string{">EUR 2,500.00</td>", ">JPY 123,457</td>", ">USD 5,000.00</td>", ">USD 1.00</td>", ">USD 5,001.00</td>", "2 contracts in USD", "1 contract in JPY"}},
		{"one currency", []store.Row{k("c-usd", "USD", 500000), k("d-usd", "USD", 100)},
			[]string{"USD 2 5001.00"}, false, []string{">USD 5,000.00</td>", ">USD 5,001.00</td>"}},
	}
	tmpl, err := report.ParseTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view := dashBurnTracker(&store.View{Period: start, Rows: tt.rows}, "USD", []int{90}, billing.DateOf(2026, time.March, 20))
			var got []string
			for _, s := range view.Summaries {
				got = append(got, fmt.Sprintf("%s %d %s", s.Currency, s.Contracts, s.Total))
			}
			if strings.Join(got, "|") != strings.Join(tt.summaries, "|") || view.Mixed != tt.mixed {
				t.Errorf("summaries %q (mixed %v), want %q (mixed %v)", got, view.Mixed, tt.summaries, tt.mixed)
			}
			var buf bytes.Buffer
			if err := tmpl.ExecutePage(&buf, "dashboard.html.tmpl", page{Title: "Burn tracker", Data: view}); err != nil {
				t.Fatal(err)
			}
			html := buf.String()
			if n := len(regexp.MustCompile(`<tr class="summary">`).FindAllString(html, -1)); n != len(tt.summaries) {
				t.Errorf("%d summary rows, want %d", n, len(tt.summaries))
			}
			for _, want := range tt.money {
				if !strings.Contains(html, want) {
					t.Errorf("the page lacks %q", want)
				}
			}
			if strings.Contains(html, "2 contracts in USD") != tt.mixed {
				t.Errorf("summary rows name their currency: %v, want %v", !tt.mixed, tt.mixed)
			}
			if tt.mixed && !strings.Contains(html, "money in each contract&#39;s currency (USD, EUR, JPY)") {
				t.Errorf("the page does not say which currencies:\n%s", html)
			}
		})
	}
}
