package report

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"retainer/billing"
	"retainer/store"
	"retainer/store/storetest"
)

// statusView200 is an open month of 200 contracts with long client names —
// Latin, accented with combining marks, Japanese, an emoji — in USD and, the
// last 20, EUR; a few with a tier, a note or a late adjustment.
func statusView200() *store.View {
	names := []string{
		"Acme Corporation International Holdings Limited — Digital Services Division",
		"Cafe\u0301 Cre\u0300me Socie\u0301te\u0301 Ge\u0301ne\u0301rale de De\u0301veloppement Durable",
		"株式会社サンプル・デジタル・ソリューションズ東京本社営業部",
		"🚀 Rocket Labs Worldwide Growth Partners and Associates",
		"Globex",
	}
	p := billing.NewPeriod(2026, 3)
	v := &store.View{Period: p}
	h := func(n int64) int64 { return n * 36 } // hundredths of an hour
	for i := range 200 {
		currency := "USD"
		if i >= 180 {
			currency = "EUR"
		}
		c := &billing.Contract{ID: fmt.Sprintf("client-%03d", i), Client: fmt.Sprintf("%s %d", names[i%len(names)], i),
			Unit: billing.UnitHours, Currency: currency, OverageBillable: i%7 != 0,
			Terms: billing.Terms{MonthlyHours: h(4000), MonthlyFee: billing.Money(500000 + 1000*i), OverageRate: 17500}}
		if i%10 == 0 {
			c.Tier = "Enterprise Growth Retainer"
		}
		used := h(int64(1000 + 37*i))
		available := h(4000 + int64(i%3)*500)
		f := billing.Figures{Period: p, Unit: c.Unit, Contracted: h(4000), Banked: available - h(4000), Available: available,
			Used: used, Remaining: max(available-used, 0), Overage: max(used-available, 0), OverageRate: 17500,
			RetainerFee: c.Terms.MonthlyFee, Projected: used * 2,
			Utilization: billing.Percent(used, available), BurnRate: billing.Percent(used, h(4000))}
		if c.OverageBillable {
			f.OverageFee = billing.OverageFee(f.Overage, f.OverageRate)
		}
		f.TotalInvoiced = f.RetainerFee + f.OverageFee
		if i%50 == 3 {
			f.LateAdjustment = h(150)
		}
		row := store.Row{Contract: c, Figures: f, Currency: currency, Bill: billing.InvoiceOf(c, f, 0)}
		if i%60 == 1 {
			row.Note = "Launch month: the client asked for extra QA on the checkout flow, the design review moved to the 24th, " +
				"and the second sprint's hours are billed at the overage rate as agreed on the call"
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

// tableRow is a contract's line of the status table (not a note about it).
var tableRow = regexp.MustCompile(`^  client-[0-9]{3}  `)

// TestStatusWidths: `retainer status` fits 120 columns by default — the
// client cut with "…" at its display width, the figures aligned whatever
// the script of the names, the lines after the table wrapped — and --wide
// prints every column in full (goldens of both).
func TestStatusWidths(t *testing.T) {
	v := statusView200()
	asOf := billing.DateOf(2026, 3, 18)
	for _, tt := range []struct {
		name   string
		layout StatusLayout
	}{
		{"status-200-default.txt", StatusLayout{}},
		{"status-200-wide.txt", StatusLayout{Wide: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			WriteStatusTable(&buf, v, "USD", asOf, tt.layout)
			out := buf.String()
			storetest.Golden(t, tt.name, out)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			widest, rowWidths := 0, map[int]int{}
			for _, l := range lines {
				w := displayWidth(l)
				widest = max(widest, w)
				if tableRow.MatchString(l) {
					rowWidths[w]++
				}
			}
			if tt.layout.Wide {
				if widest <= StatusWidth {
					t.Errorf("the wide table is %d columns: it should hold every column in full", widest)
				}
				for _, r := range v.Rows {
					if !strings.Contains(out, r.Contract.Client) || !strings.Contains(out, r.Contract.Terms.MonthlyFee.Decimal(2)) {
						t.Errorf("the wide table lacks %q or its fee", r.Contract.Client)
					}
				}
			} else {
				if widest > StatusWidth {
					t.Errorf("a line is %d columns wide, over %d", widest, StatusWidth)
				}
				if !strings.Contains(out, "…") || strings.Contains(out, "RETAINER FEE") {
					t.Error("the default table neither cuts names nor leaves out the wide columns")
				}
			}
			// Every contract's row has the same display width: its last
			// cell is flush right, after cells of every script.
			if len(rowWidths) != 1 {
				t.Errorf("contract rows of %d different widths: %v", len(rowWidths), rowWidths)
			}
			for _, r := range v.Rows {
				if !strings.Contains(out, "  "+r.Contract.ID+"  ") {
					t.Errorf("no row for %s", r.Contract.ID)
				}
			}
		})
	}
	t.Run("narrower", func(t *testing.T) {
		var buf bytes.Buffer
		WriteStatusTable(&buf, v, "USD", asOf, StatusLayout{Width: 110})
		for _, l := range strings.Split(buf.String(), "\n") {
			if displayWidth(l) > 110 {
				t.Fatalf("a line is %d columns in a 110-column layout:\n%s", displayWidth(l), l)
			}
		}
	})
}

// Display widths and cuts: East Asian wide characters take two columns,
// combining marks and joiners none; a cut never splits a wide character or
// strands a combining mark, and ends in "…".
func TestCutWidth(t *testing.T) {
	tests := []struct {
		s     string
		width int // of s
		cut   int
		want  string
	}{
		{"Acme Corp", 9, 9, "Acme Corp"},
		{"Acme Corp", 9, 8, "Acme Co…"},
		{"Acme Corp", 9, 1, "…"},
		{"Acme Corp", 9, 0, ""},
		{"株式会社サンプル", 16, 16, "株式会社サンプル"},
		{"株式会社サンプル", 16, 7, "株式会…"},
		{"株式会社サンプル", 16, 8, "株式会…"}, // 株式会社 would leave no room for the ellipsis
		{"Cafe\u0301 Cre\u0300me", 10, 10, "Cafe\u0301 Cre\u0300me"},
		{"Cafe\u0301 Cre\u0300me", 10, 5, "Cafe\u0301…"},
		{"Cafe\u0301 Cre\u0300me", 10, 4, "Caf…"},
		{"🚀 Rocket", 9, 3, "🚀…"},
		{"🚀 Rocket", 9, 2, "…"},
		{"👩\u200d💻 dev", 8, 8, "👩\u200d💻 dev"},
		{"한국어", 6, 5, "한국…"},
	}
	for _, tt := range tests {
		if w := displayWidth(tt.s); w != tt.width {
			t.Errorf("displayWidth(%q) = %d, want %d", tt.s, w, tt.width)
		}
		got := cutWidth(tt.s, tt.cut)
		if got != tt.want {
			t.Errorf("cutWidth(%q, %d) = %q, want %q", tt.s, tt.cut, got, tt.want)
		}
		if displayWidth(got) > tt.cut {
			t.Errorf("cutWidth(%q, %d) is %d columns", tt.s, tt.cut, displayWidth(got))
		}
	}
}

// Lines after the table wrap at spaces within the width, continuations
// indented; a word longer than a line is cut.
func TestWrapWidth(t *testing.T) {
	tests := []struct {
		s     string
		width int
		want  []string
	}{
		{"short line", 20, []string{"short line"}},
		{"one two three four five", 10, []string{"one two", "  three", "  four", "  five"}},
		{"一二三四五六 七八九十", 12, []string{"一二三四五六", "  七八九十"}},
		{"supercalifragilistic word", 10, []string{"supercali…", "  word"}},
	}
	for _, tt := range tests {
		got := wrapWidth(tt.s, tt.width, 2)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("wrapWidth(%q, %d) = %q, want %q", tt.s, tt.width, got, tt.want)
		}
		for _, l := range got {
			if displayWidth(l) > tt.width {
				t.Errorf("wrapWidth(%q, %d): %q is %d columns", tt.s, tt.width, l, displayWidth(l))
			}
		}
	}
}
