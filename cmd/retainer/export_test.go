package main

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

func readCSV(t *testing.T, s string) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("csv: %v\n%s", err, s)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, k := range recs[0] {
			m[k] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func TestExport(t *testing.T) {
	e := newEnv(t)
	e.must("log", "acme-001", "45", "--date", "2026-03-31", "--note", `=HYPERLINK("http://evil")`)
	e.must("log", "initech-003", "1:07", "--date", "2026-03-04", "--note", "plain, with a comma")
	e.must("close", "--month", "2026-03")

	// status: the same figures as status --json, one row per contract.
	rows := readCSV(t, e.must("export", "status", "--month", "2026-03"))
	var st struct {
		Contracts []map[string]any `json:"contracts"`
	}
	if err := json.Unmarshal([]byte(e.must("status", "--month", "2026-03", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(st.Contracts) || len(rows) == 0 {
		t.Fatalf("%d rows for %d contracts", len(rows), len(st.Contracts))
	}
	acme := rows[0]
	// 45 of 50 h (40 + a full 10 h bank from the empty months before).
	if acme["contract_id"] != "acme-001" || acme["total_invoiced"] != "5000.00" || acme["hours_used"] != "45.00" ||
		acme["utilization_pct"] != "90.0" || acme["closed"] != "true" || acme["invoice_status"] != "pending" {
		t.Errorf("acme row %v", acme)
	}
	if js := e.must("export", "status", "--month", "2026-03", "--format", "json"); js != e.must("status", "--month", "2026-03", "--json") {
		t.Error("export status --format json differs from status --json")
	}

	// entries: exact seconds beside hours, a formula defused, commas quoted.
	ents := readCSV(t, e.must("export", "entries", "--month", "2026-03"))
	if len(ents) != 2 {
		t.Fatalf("%d entries", len(ents))
	}
	byContract := map[string]map[string]string{}
	for _, r := range ents {
		byContract[r["contract_id"]] = r
	}
	if r := byContract["initech-003"]; r["seconds"] != "4020" || r["hours"] != "1.12" || r["counted_seconds"] != "4320" || r["notes"] != "plain, with a comma" {
		t.Errorf("initech entry %v (1:07 rounded up to 6 minutes counts 1:12)", r)
	}
	if r := byContract["acme-001"]; r["notes"] != `'=HYPERLINK("http://evil")` {
		t.Errorf("formula not defused: %q", r["notes"])
	}
	lines := strings.Split(strings.TrimSpace(e.must("export", "entries", "--month", "2026-03", "--format", "json")), "\n")
	var first map[string]any
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil || first["date"] != "2026-03-04" {
		t.Errorf("json lines: %q", lines)
	}

	// statements: every invoice, with its status today.
	sts := readCSV(t, e.must("export", "statements"))
	found := false
	for _, r := range sts {
		if r["invoice_number"] == "acme-001-2026-03" {
			found = r["total"] == "5000.00" && r["status"] == "pending" && r["currency"] == "USD"
		}
	}
	if !found {
		t.Errorf("statements %v", sts)
	}
	if code, _, _ := e.run("export", "invoices"); code != exitUsage {
		t.Errorf("unknown kind: exit %d", code)
	}
	if code, _, _ := e.run("export", "status", "--format", "xml"); code != exitUsage {
		t.Errorf("bad format: exit %d", code)
	}
}
