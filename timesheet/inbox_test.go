package timesheet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A file whose writer pauses longer than the settle time is taken with part
// of its rows; when the writer goes on writing (into the moved file), the
// next pass sees the change and imports it again, whole: every hour counts,
// and none twice.
func TestInboxFileWrittenAfterAPause(t *testing.T) {
	im, db, rules := syncFixture(t)
	fileNow := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	im.FileClock = func() time.Time { return fileNow }
	dir := filepath.Join(t.TempDir(), "inbox")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "march.csv")
	head := "date,client,hours\n2026-03-02,Acme Corp,2\n2026-03-03,Acme Corp,3\n"
	write := func(p, body string, at time.Time) {
		t.Helper()
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	write(path, head, fileNow.Add(-5*time.Second)) // the writer paused 5 s
	res, err := im.ImportInbox(context.Background(), dir)
	if err != nil || len(res.Files) != 1 || res.Files[0].Rejected() {
		t.Fatalf("first pass: %+v %v", res, err)
	}
	if got := used(t, db, rules); got != 5*3600 {
		t.Fatalf("after the first pass: %d s used", got)
	}
	// The writer goes on, into the file now in processed/.
	moved := filepath.Join(dir, "processed", "march.csv")
	fileNow = fileNow.Add(time.Minute)
	write(moved, head+"2026-03-04,Acme Corp,4\n", fileNow.Add(-time.Second)) // still being written
	if res, err := im.ImportInbox(context.Background(), dir); err != nil || len(res.Files) != 0 {
		t.Fatalf("a file still being written was taken: %+v %v", res, err)
	}
	fileNow = fileNow.Add(5 * time.Second)
	res, err = im.ImportInbox(context.Background(), dir)
	if err != nil || len(res.Files) != 1 || !res.Files[0].Reimported {
		t.Fatalf("the grown file was not imported again: %+v %v", res, err)
	}
	if got := used(t, db, rules); got != 9*3600 {
		t.Errorf("after the late rows: %d s used, want 9 h", got)
	}
	// Nothing changes afterwards: no third import.
	fileNow = fileNow.Add(time.Hour)
	if res, err := im.ImportInbox(context.Background(), dir); err != nil || len(res.Files) != 0 {
		t.Errorf("an unchanged file imported again: %+v %v", res, err)
	}
	if got := used(t, db, rules); got != 9*3600 {
		t.Errorf("%d s used", got)
	}
	// A day later the file is no longer watched, and the record is gone.
	fileNow = fileNow.Add(25 * time.Hour)
	if _, err := im.ImportInbox(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "processed", manifestName)); err == nil && strings.Contains(string(b), "march.csv") {
		t.Errorf("still watched after a day: %s", b)
	}
}
