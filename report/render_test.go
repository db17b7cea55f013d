package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/report"
	"retainer/store"
	"retainer/store/storetest"
)

func TestStatementGolden(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
	ctx := context.Background()
	tests := []struct {
		name, contract, period string
		format                 report.Format
	}{
		{"statement-closed-feb.txt", "acme-001", "2026-02", report.FormatText},
		{"statement-closed-feb.md", "acme-001", "2026-02", report.FormatMarkdown},
		{"statement-open-mar.txt", "acme-001", "2026-03", report.FormatText},
		{"statement-open-mar.md", "acme-001", "2026-03", report.FormatMarkdown},
		{"statement-sessions-mar.md", "pipe-005", "2026-03", report.FormatMarkdown},
		{"statement-closed-feb.html", "acme-001", "2026-02", report.FormatHTML},
		{"statement-escaped-mar.html", "pipe-005", "2026-03", report.FormatHTML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := billing.ParsePeriod(tt.period)
			d, err := db.StatementFor(ctx, rules, tt.contract, p, storetest.Date("2026-03-18"))
			if err != nil {
				t.Fatal(err)
			}
			out, err := report.RenderStatement(report.StatementInput{Data: d, Currency: "USD", Agency: "Northwind Studio", AsOf: storetest.Date("2026-03-18")}, tt.format, nil)
			if err != nil {
				t.Fatal(err)
			}
			storetest.Golden(t, tt.name, out)
		})
	}
}

func TestStatementFigures(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
	d, err := db.StatementFor(context.Background(), rules, "acme-001", billing.NewPeriod(2026, 3), storetest.Date("2026-04-01"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := report.RenderStatement(report.StatementInput{Data: d, Currency: "USD", AsOf: storetest.Date("2026-04-01")}, report.FormatText, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2.00 h × USD 175.00/h", "USD 350.00", "USD 5,350.00", "USD 5,000.00", "acme-001-2026-03"} {
		if !strings.Contains(out, want) {
			t.Errorf("statement lacks %q:\n%s", want, out)
		}
	}
}

func TestMarkdownEscapesNames(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
	d, err := db.StatementFor(context.Background(), rules, "pipe-005", billing.NewPeriod(2026, 3), storetest.Date("2026-03-18"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := report.RenderStatement(report.StatementInput{Data: d, Currency: "USD", AsOf: storetest.Date("2026-03-18")}, report.FormatMarkdown, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "<script>") || strings.Contains(out, "Pipe |") {
		t.Errorf("markup or a table pipe got through:\n%s", out)
	}
}

func TestHTMLEscapesNames(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
	d, err := db.StatementFor(context.Background(), rules, "pipe-005", billing.NewPeriod(2026, 3), storetest.Date("2026-03-18"))
	if err != nil {
		t.Fatal(err)
	}
	d.Note = `<script>alert("note")</script>`
	out, err := report.RenderStatement(report.StatementInput{Data: d, Currency: "USD", AsOf: storetest.Date("2026-03-18")}, report.FormatHTML, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "<script>") || !strings.Contains(out, "&lt;script&gt;") {
		t.Errorf("client name or note not escaped:\n%s", out)
	}
}

func TestTemplateOverride(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "statement.txt.tmpl"), []byte("custom {{.InvoiceNumber}} {{.TotalInvoiced}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := report.ParseTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.StatementFor(context.Background(), rules, "acme-001", billing.NewPeriod(2026, 2), storetest.Date("2026-03-18"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := report.RenderStatement(report.StatementInput{Data: d, Currency: "USD"}, report.FormatText, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if out != "custom acme-001-2026-02 USD 5,000.00\n" {
		t.Errorf("override not used: %q", out)
	}
	// The markdown template is not overridden there: the embedded one is used.
	if out, err := report.RenderStatement(report.StatementInput{Data: d, Currency: "USD"}, report.FormatMarkdown, tmpl); err != nil || !strings.HasPrefix(out, "# Statement") {
		t.Errorf("embedded markdown = %q, %v", out, err)
	}
}

func TestStatusGolden(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
	for _, p := range []string{"2026-02", "2026-03"} {
		period, _ := billing.ParsePeriod(p)
		v, err := db.Status(context.Background(), rules, period, storetest.Date("2026-03-18"))
		if err != nil {
			t.Fatal(err)
		}
		var text bytes.Buffer
		report.WriteStatusTable(&text, v, "USD", storetest.Date("2026-03-18"), report.StatusLayout{Wide: true})
		storetest.Golden(t, "status-"+p+".txt", text.String())
		var js bytes.Buffer
		obj := report.StatusJSON(v, "USD", storetest.Date("2026-03-18"))
		if err := obj.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		// What WriteJSON writes is the same object as a plain encoding.
		var a, b any
		plain, _ := json.Marshal(obj)
		if err := json.Unmarshal(js.Bytes(), &a); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, js.String())
		}
		json.Unmarshal(plain, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("WriteJSON differs from json.Marshal:\n%s\n%s", js.String(), plain)
		}
		storetest.Golden(t, "status-"+p+".json", js.String())
	}
}

// A month closed before go_live has figures and no invoice; a statement
// under review says so and is not yet dated as sent.
func TestStatementBeforeGoLiveAndUnderReview(t *testing.T) {
	ctx := context.Background()
	start := billing.NewPeriod(2026, 1)
	acme := &billing.Contract{
		ID: "acme-001", Client: "Acme Corp", Unit: billing.UnitHours, PaymentTermsDays: 15, Contacts: []string{"ap@acme.example"},
		Terms:           billing.Terms{MonthlyHours: storetest.H(40), MonthlyFee: 500000, OverageRate: 17500},
		OverageBillable: true, Rollover: true, MaxRollover: storetest.Ptr(storetest.H(10)), Start: &start,
	}
	rules := store.NewRules([]*billing.Contract{acme})
	db := storetest.Open(t)
	now := time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)
	if err := db.AddEntries(ctx, rules, []store.Entry{
		{Source: "log", Client: "Acme Corp", Date: storetest.Date("2026-01-12"), Seconds: storetest.H(28), Billable: true},
		{Source: "log", Client: "Acme Corp", Date: storetest.Date("2026-02-03"), Seconds: storetest.H(47), Billable: true},
	}, now); err != nil {
		t.Fatal(err)
	}
	goLive := billing.NewPeriod(2026, 2)
	if _, err := db.CloseWith(ctx, rules, goLive, store.CloseOptions{Currency: "USD", Location: time.UTC, GoLive: &goLive, Review: true}, now); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, period string }{
		{"statement-before-go-live-jan.txt", "2026-01"},
		{"statement-draft-feb.txt", "2026-02"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := billing.ParsePeriod(tt.period)
			d, err := db.StatementFor(ctx, rules, "acme-001", p, storetest.Date("2026-03-02"))
			if err != nil {
				t.Fatal(err)
			}
			out, err := report.RenderStatement(report.StatementInput{Data: d, Currency: "USD", AsOf: storetest.Date("2026-03-02")}, report.FormatText, nil)
			if err != nil {
				t.Fatal(err)
			}
			storetest.Golden(t, tt.name, out)
		})
	}
}
