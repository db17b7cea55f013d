package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestStatementTaxFrozenAcrossConfigChange: a month closed with tax_rate 20
// keeps its 20% after the config says 10: in `statement`, `export
// statements` and `status --json`; the open month previews the 10%.
func TestStatementTaxFrozenAcrossConfigChange(t *testing.T) {
	e := newEnv(t)
	e.extra = []string{"RETAINER_CONTRACTS__ACME-001__TAX_RATE=20"}
	e.must("log", "acme-001", "45", "--date", "2026-03-31")
	closed := e.must("close", "--month", "2026-03", "--json")
	// 45 of 50 h: no overage; USD 5,000.00 and 20% of it.
	if !strings.Contains(closed, `"invoice_number": "acme-001-2026-03"`) || !strings.Contains(closed, `"tax": "1000.00"`) {
		t.Fatalf("close: %s", closed)
	}

	e.extra = []string{"RETAINER_CONTRACTS__ACME-001__TAX_RATE=10"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"statement", []string{"statement", "acme-001", "--month", "2026-03"},
			[]string{"Tax (20%)", "USD 1,000.00", "Total with tax", "USD 6,000.00"}},
		{"statement markdown", []string{"statement", "acme-001", "--month", "2026-03", "--format", "markdown"},
			[]string{"| Tax (20%) | USD 1,000.00 |", "**USD 6,000.00**"}},
		{"open month", []string{"statement", "acme-001", "--month", "2026-04"},
			[]string{"Tax (10%)", "USD 500.00"}},
		{"invoice paid", []string{"invoice", "paid", "acme-001-2026-03"},
			[]string{"USD 6,000.00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := e.must(tt.args...)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q:\n%s", w, out)
				}
			}
		})
	}

	var found map[string]string
	for _, r := range readCSV(t, e.must("export", "statements")) {
		if r["invoice_number"] == "acme-001-2026-03" {
			found = r
		}
	}
	if found["subtotal"] != "5000.00" || found["tax_rate"] != "20" || found["tax"] != "1000.00" || found["total"] != "6000.00" {
		t.Errorf("export statements: %v", found)
	}

	var st struct {
		Contracts []map[string]any `json:"contracts"`
	}
	if err := json.Unmarshal([]byte(e.must("status", "acme-001", "--month", "2026-03", "--json")), &st); err != nil || len(st.Contracts) != 1 {
		t.Fatalf("status: %v", err)
	}
	if c := st.Contracts[0]; c["total_invoiced"] != "5000.00" || c["tax"] != "1000.00" || c["currency"] != "USD" {
		t.Errorf("status: total_invoiced %v, tax %v, currency %v", c["total_invoiced"], c["tax"], c["currency"])
	}
}
