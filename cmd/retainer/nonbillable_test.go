package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Hours that are all non-billable (a Toggl plan without billable rates)
// count nowhere; the import, `status` and the dashboard say so, naming the
// key that would count them.
func TestNonBillableOnlyWarned(t *testing.T) {
	e := newEnv(t)
	csv := "client,date,hours,id,billable,notes,project,user\n" +
		"Acme Corp,2026-11-02,1.5,A-1,no,work,Site,ada\nAcme Corp,2026-11-03,2,A-2,no,work,Site,bob\n"
	path := filepath.Join(e.dir, "toggl.csv")
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	const want = "acme-001: 3.50 h in 2026-11, every entry non-billable"
	out := e.must("import", path)
	if !strings.Contains(out, "warning: "+want) || !strings.Contains(out, "count_non_billable: true") {
		t.Errorf("import:\n%s", out)
	}
	if out := e.must("status"); !strings.Contains(out, "only non-billable hours (none counts):\n  "+want) {
		t.Errorf("status:\n%s", out)
	}
	// Once the contract counts them, the warning goes.
	body, _ := os.ReadFile(filepath.Join(e.dir, "retainer.yaml"))
	body = []byte(strings.Replace(string(body), "  acme-001:\n", "  acme-001:\n    count_non_billable: true\n", 1))
	os.WriteFile(filepath.Join(e.dir, "retainer.yaml"), body, 0o644)
	if out := e.must("status"); strings.Contains(out, "non-billable") {
		t.Errorf("status counting them:\n%s", out)
	}
}
