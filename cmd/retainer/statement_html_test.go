package main

import (
	"strings"
	"testing"
)

// `statement --format html` is a page of its own: the burndown drawn
// inline as SVG (an open month's as of --as-of, with its projection), the
// burn rate in the hours table.
func TestStatementHTML(t *testing.T) {
	e := newEnv(t)
	e.must("log", "acme-001", "12", "--date", "2026-10-06")
	e.must("log", "acme-001", "30", "--date", "2026-10-20")
	e.must("log", "acme-001", "10", "--date", "2026-11-03")
	e.must("close", "--month", "2026-10")

	for _, tt := range []struct {
		name     string
		args     []string
		want     []string
		notWants []string
	}{
		{"closed", []string{"--month", "2026-10"},
			[]string{"Burndown, October 2026", "<td>Burn rate</td><td align=\"right\">105.0%</td>", "Remaining</text>"},
			[]string{"Today, ", "Projected</text>"}},
		{"open", []string{"--month", "2026-11", "--as-of", "2026-11-18"},
			[]string{"Burndown, November 2026", "Today, Nov 18", "Projected</text>", "<td>Burn rate</td>"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := e.must(append([]string{"statement", "acme-001", "--format", "html"}, tt.args...)...)
			if !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, "</html>") {
				t.Fatalf("not a page of its own:\n%.300s", out)
			}
			if n := strings.Count(out, "<svg "); n != 1 || strings.Contains(out, "<img") || strings.Contains(out, "cid:") {
				t.Errorf("%d inline SVGs; want the chart drawn inline once, no image to fetch:\n%s", n, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("statement lacks %q", w)
				}
			}
			for _, w := range tt.notWants {
				if strings.Contains(out, w) {
					t.Errorf("statement holds %q", w)
				}
			}
		})
	}
}
