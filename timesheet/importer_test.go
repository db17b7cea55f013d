package timesheet

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A file whose first rows are ISO-dated and a later row day-first makes
// Parse read it twice; the rows of the first reading must not count.
func TestImportFileRestartsWithoutDoubleCounting(t *testing.T) {
	im, db, rules := syncFixture(t)
	im.Options.DateOrder = "dmy"
	path := filepath.Join(t.TempDir(), "mixed.csv")
	body := "date,client,hours\n2026-03-02,Acme Corp,1\n2026-03-03,Acme Corp,2\n04/03/2026,Acme Corp,4\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	res := im.ImportFile(context.Background(), path)
	if res.Rejected() || res.Imported != 3 {
		t.Fatalf("%+v %v %v", res.ImportResult, res.Err, res.Errors)
	}
	if got := used(t, db, rules); got != 7*3600 {
		t.Errorf("used %d, want 7 h (4 March read day-first)", got)
	}
	// Bad rows after good ones: nothing stays.
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("date,client,hours\n2026-03-10,Acme Corp,1\n2026-03-11,Acme Corp,x\n"), 0o644)
	if res := im.ImportFile(context.Background(), bad); !res.Rejected() || len(res.Errors) != 1 || res.Errors[0].Line != 3 {
		t.Fatalf("bad file: %+v", res)
	}
	if got := used(t, db, rules); got != 7*3600 {
		t.Errorf("a rejected file left rows: used %d", got)
	}
}
