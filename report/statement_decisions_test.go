package report_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/report"
	"retainer/store"
	"retainer/store/storetest"
)

// TestStatementDecisions: the month's client decisions are on its statement
// in every format, in the order they were taken — on the open month's
// preview, and on the statement once the month is closed; the client's
// words escaped as each format needs.
func TestStatementDecisions(t *testing.T) {
	ctx := context.Background()
	db, rules := storetest.WorkedExample(t)
	mar := billing.NewPeriod(2026, 3)
	route := []store.OutboxMessage{{Channel: "slack", To: []string{"file"}}}
	for i, d := range []store.Decision{
		{Kind: store.DecisionOverage, Seconds: storetest.H(10), On: storetest.Date("2026-03-18")},
		{Kind: store.DecisionChange, Seconds: storetest.H(60), On: storetest.Date("2026-03-19"), Message: "More in April | *launch* <b>soon</b>\nthanks"},
		{Kind: store.DecisionPause, On: storetest.Date("2026-03-20")},
	} {
		d.ContractID, d.Period = "acme-001", mar
		at := time.Date(2026, 3, 18+i, 10, 0, 0, 0, time.UTC)
		if _, err := db.RecordDecision(ctx, d, "n"+string(rune('0'+i)), route, at); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"Overage up to 10.00 h approved on 2026-03-18",
		"Retainer change requested on 2026-03-19: 60.00 h a month instead of 40.00 h",
		"Pause of non-urgent work requested on 2026-03-20",
	}
	render := func(asOf string, f report.Format) string {
		t.Helper()
		d, err := db.StatementFor(ctx, rules, "acme-001", mar, storetest.Date(asOf))
		if err != nil {
			t.Fatal(err)
		}
		out, err := report.RenderStatement(report.StatementInput{Data: d, Currency: "USD", Agency: "Northwind Studio", AsOf: storetest.Date(asOf)}, f, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	check := func(name, out string, escaped ...string) {
		t.Helper()
		last := -1
		for _, w := range append(want, escaped...) {
			i := strings.Index(out, w)
			if i < 0 {
				t.Errorf("%s lacks %q", name, w)
			}
			if i < last && len(escaped) == 0 {
				t.Errorf("%s: %q is out of order", name, w)
			}
			last = i
		}
		if strings.Contains(out, "<b>") {
			t.Errorf("%s lets the client's markup through", name)
		}
	}

	for _, f := range []struct {
		name    string
		format  report.Format
		escaped string
	}{
		{"statement-decisions-open-mar.txt", report.FormatText, `: "More in April | *launch* <b>soon</b> thanks"`},
		{"statement-decisions-open-mar.md", report.FormatMarkdown, `More in April \| \*launch\* &lt;b&gt;soon&lt;/b&gt; thanks`},
		{"statement-decisions-open-mar.html", report.FormatHTML, `More in April | *launch* &lt;b&gt;soon&lt;/b&gt; thanks`},
	} {
		out := render("2026-03-20", f.format)
		if f.format == report.FormatText {
			// Plain text: nothing is markup, the words are as typed, on one line.
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("%s lacks %q", f.name, w)
				}
			}
			if !strings.Contains(out, f.escaped) {
				t.Errorf("%s lacks %q", f.name, f.escaped)
			}
		} else {
			check(f.name, out, f.escaped)
		}
		storetest.Golden(t, f.name, out)
	}

	// Closed: the statement of March shows the same decisions.
	if _, err := db.ClosePeriod(ctx, rules, mar, "USD", time.UTC, time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	closed := render("2026-04-01", report.FormatText)
	for _, w := range want {
		if !strings.Contains(closed, w) {
			t.Errorf("the closed statement lacks %q", w)
		}
	}
	storetest.Golden(t, "statement-decisions-closed-mar.txt", closed)

	// The PDF invoice lists them too, the client's words as typed.
	d, err := db.StatementFor(ctx, rules, "acme-001", mar, storetest.Date("2026-04-01"))
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := renderPDF(t, report.PDFInput{StatementInput: report.StatementInput{Data: d, Currency: "USD", Agency: "Northwind Studio", AsOf: storetest.Date("2026-04-01")}})
	text := strings.Join(strings.Fields(pdfText(t, pdf)), " ")
	for _, w := range append(want, "Client decisions", `“More in April | *launch* <b>soon</b> thanks”`) {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF lacks %q:\n%s", w, text)
		}
	}

	// A month without decisions has no such section.
	feb, err := db.StatementFor(ctx, rules, "acme-001", billing.NewPeriod(2026, 2), storetest.Date("2026-04-01"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := report.RenderStatement(report.StatementInput{Data: feb, Currency: "USD"}, report.FormatText, nil)
	if err != nil || strings.Contains(out, "CLIENT DECISIONS") {
		t.Errorf("February has a decisions section: %v\n%s", err, out)
	}
}

// TestDecisionText: how each decision reads, in hours and in sessions, and
// for a contract no longer configured.
func TestDecisionText(t *testing.T) {
	acme := storetest.Acme()
	sessions := &billing.Contract{ID: "pipe", Unit: billing.UnitSessions, Terms: billing.Terms{MonthlyHours: 4 * billing.SessionSeconds}}
	on := storetest.Date("2026-11-18")
	nov := billing.NewPeriod(2026, 11)
	tests := []struct {
		name string
		d    store.Decision
		c    *billing.Contract
		want report.DecisionView
	}{
		{"overage", store.Decision{Kind: store.DecisionOverage, Seconds: storetest.H(10), On: on, Period: nov}, acme,
			report.DecisionView{Text: "Overage up to 10.00 h approved on 2026-11-18"}},
		{"overage in sessions", store.Decision{Kind: store.DecisionOverage, Seconds: 3 * billing.SessionSeconds, On: on, Period: nov}, sessions,
			report.DecisionView{Text: "Overage up to 3 sessions approved on 2026-11-18"}},
		{"fewer hours", store.Decision{Kind: store.DecisionChange, Seconds: storetest.H(30), On: on, Period: nov, Message: "  budget\n cut "}, acme,
			report.DecisionView{Text: "Retainer change requested on 2026-11-18: 30.00 h a month instead of 40.00 h", Message: "budget cut"}},
		{"more sessions", store.Decision{Kind: store.DecisionChange, Seconds: 6 * billing.SessionSeconds, On: on, Period: nov}, sessions,
			report.DecisionView{Text: "Retainer change requested on 2026-11-18: 6 sessions a month instead of 4 sessions"}},
		{"a contract gone", store.Decision{Kind: store.DecisionChange, Seconds: storetest.H(30), On: on, Period: nov}, nil,
			report.DecisionView{Text: "Retainer change requested on 2026-11-18: 30.00 h a month"}},
		{"pause", store.Decision{Kind: store.DecisionPause, On: on, Period: nov, Message: "until January"}, acme,
			report.DecisionView{Text: "Pause of non-urgent work requested on 2026-11-18", Message: "until January"}},
	}
	for _, tt := range tests {
		if got := report.Decision(tt.d, tt.c); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
