package timesheet

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"retainer/billing"
)

func seed(f *testing.F, files ...string) {
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "")
		f.Add(b, "dmy")
	}
}

// fuzzParse checks the invariants every input must keep: no panic, no
// entry when a row is bad, entries in file order with sane values.
func fuzzParse(t *testing.T, data []byte, order string, format Format) {
	if order != "mdy" && order != "dmy" {
		order = ""
	}
	ny, _ := time.LoadLocation("America/New_York")
	for _, opts := range []Options{{DateOrder: order}, {Format: format, DateOrder: order, Agency: ny}} {
		var got []Entry
		sum, err := Parse(bytes.NewReader(data), opts, func(e Entry) error {
			got = append(got, e)
			return nil
		})
		if err != nil {
			if len(got) != 0 {
				t.Fatalf("error %v after %d entries", err, len(got))
			}
			continue
		}
		if len(sum.Errors) > 0 && len(got) != 0 {
			t.Fatalf("%d entries emitted with %d bad rows", len(got), len(sum.Errors))
		}
		if len(sum.Errors) == 0 && sum.Rows != len(got) {
			t.Fatalf("Rows = %d, emitted %d", sum.Rows, len(got))
		}
		prev := 1
		for _, e := range got {
			if e.Seconds < 0 {
				t.Fatalf("negative seconds %+v", e)
			}
			if e.Line <= prev {
				t.Fatalf("line %d not after %d", e.Line, prev)
			}
			prev = e.Line
			if e.Date < sum.First || e.Date > sum.Last {
				t.Fatalf("date %s outside %s..%s", e.Date, sum.First, sum.Last)
			}
			// The bounds every entrance keeps (issue 15): dates within
			// 2000–2100, at most a month in one entry, names on one line
			// without NUL or format characters.
			if !e.Date.Valid() || e.Seconds > billing.MaxEntrySeconds {
				t.Fatalf("out of bounds %+v", e)
			}
			for _, s := range []string{e.Client, e.Project, e.ProjectCode, e.Task, e.User, e.ExternalID} {
				if err := billing.CheckText(s, false); err != nil {
					t.Fatalf("name %q: %v", s, err)
				}
			}
			if err := billing.CheckText(e.Notes, true); err != nil {
				t.Fatalf("notes %q: %v", e.Notes, err)
			}
		}
	}
}

func FuzzParseHarvest(f *testing.F) {
	seed(f, "harvest_detailed.csv", "harvest_eu.csv", "harvest_bad.csv")
	f.Fuzz(func(t *testing.T, data []byte, order string) { fuzzParse(t, data, order, Harvest) })
}

func FuzzParseToggl(f *testing.F) {
	seed(f, "toggl_detailed.csv", "toggl_new.csv")
	f.Fuzz(func(t *testing.T, data []byte, order string) { fuzzParse(t, data, order, Toggl) })
}

func FuzzParseClockify(f *testing.F) {
	seed(f, "clockify_detailed.csv", "clockify_ptbr.csv", "clockify_de.csv", "clockify_es.csv", "clockify_breaks.csv")
	f.Fuzz(func(t *testing.T, data []byte, order string) { fuzzParse(t, data, order, Clockify) })
}

func FuzzParseGeneric(f *testing.F) {
	seed(f, "generic.csv")
	f.Add([]byte("date,client,hours\n03/04/2026,A,1\n13/04/2026,A,-1:00\n"), "mdy")
	f.Fuzz(func(t *testing.T, data []byte, order string) { fuzzParse(t, data, order, Generic) })
}
