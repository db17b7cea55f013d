package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"retainer/billing"
)

// TestSpoolRoundTrip: every field of a spooled row reads back as written —
// empty, unicode, a note of several MiB, strings interned and, past the
// spool's limit, written whole — in the order written.
func TestSpoolRoundTrip(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	s, err := newSpool()
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	s.limit = 5 // past 5 strings, the rest are written whole
	huge := strings.Repeat("ü€𝄞 long note, ", 300_000)
	var want []Entry
	var offs []int64 // where each row begins
	for i := range 2000 {
		e := Entry{Date: billing.Date(i*37 - 20000), Seconds: int64(i) * 1_000_003, Billable: i%3 == 0,
			Client: fmt.Sprintf("Client %d", i%7), Project: "Ünïcødé ✓", ProjectCode: "", Task: fmt.Sprintf("t%d", i%11),
			Notes: fmt.Sprintf("note %d, \"quoted\"\n\x00 nul", i), User: "", ContractID: fmt.Sprintf("c%d", i%3),
			Counted: -int64(i), fp: int64(i) * -7919 << 40}
		switch i {
		case 0:
			e = Entry{} // every field empty or zero
		case 1:
			e.Notes = huge
		case 2:
			e.Seconds, e.Counted, e.fp, e.Date = 1<<62, -1<<62, -1<<63, billing.MaxDate
		}
		want = append(want, e)
		offs = append(offs, s.off)
		if err := s.add(&e, int32(i%9)); err != nil {
			t.Fatal(err)
		}
	}
	for pass := range 2 { // a spool reads again from its start
		r, err := s.reader()
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			var got Entry
			got.Notes = "left over" // every field is set by next
			ok, err := r.next(&got)
			if err != nil || !ok {
				t.Fatalf("pass %d, row %d: %v %v", pass, i, ok, err)
			}
			if got != want[i] {
				t.Fatalf("pass %d, row %d: got %+v, want %+v", pass, i, trim(got), trim(want[i]))
			}
			if r.seq != int64(i+1) {
				t.Fatalf("row %d has seq %d", i, r.seq)
			}
		}
		if ok, err := r.next(&Entry{}); ok || err != nil {
			t.Fatalf("after the last row: %v %v", ok, err)
		}
	}
	// The values an insert binds, in newCols' order.
	r, err := s.reader()
	if err != nil {
		t.Fatal(err)
	}
	var args []any
	for i, e := range want {
		var ok bool
		args, ok, err = r.nextArgs(args[:0])
		if err != nil || !ok {
			t.Fatalf("values of row %d: %v %v", i, ok, err)
		}
		w := []any{int64(e.Date), e.Seconds, int64(boolInt(e.Billable)), e.Client, e.Project, e.ProjectCode, e.Task, e.Notes,
			e.User, e.ContractID, e.Counted, e.fp}
		if len(args) != len(w) || len(args) != spoolArgs {
			t.Fatalf("row %d: %d values", i, len(args))
		}
		for j := range w {
			if args[j] != w[j] {
				t.Fatalf("row %d, value %d: %v, want %v", i, j, args[j], w[j])
			}
		}
	}
	if _, ok, err := r.nextArgs(nil); ok || err != nil {
		t.Fatalf("after the last row: %v %v", ok, err)
	}
	// What a re-import pairs by, read from any row on: the seq, day,
	// fingerprint, combination, and the content key as contentKey makes
	// it from the strings.
	im := &Import{seed: maphash.MakeSeed()}
	for _, from := range []int{0, 1, 2, 1234} {
		r, err := s.readerAt(offs[from], int64(from+1))
		if err != nil {
			t.Fatal(err)
		}
		for i := from; i < len(want); i++ {
			var got scopeRow
			if ok, err := r.nextKeyed(im.seed, &got); !ok || err != nil {
				t.Fatalf("from row %d, keys of row %d: %v %v", from, i, ok, err)
			}
			e := want[i]
			w := scopeRow{id: int64(i + 1), day: e.Date, fp: e.fp, combo: int32(i % 9),
				key: im.contentKey(e.Seconds, e.Billable, e.ProjectCode, e.Task, e.Notes)}
			if got != w {
				t.Fatalf("from row %d, keys of row %d: %+v, want %+v", from, i, got, w)
			}
		}
		if ok, err := r.nextKeyed(im.seed, &scopeRow{}); ok || err != nil {
			t.Fatalf("after the last row: %v %v", ok, err)
		}
	}
	if len(s.strs) != 5 {
		t.Errorf("%d strings interned, want the limit 5", len(s.strs))
	}
}

func trim(e Entry) Entry {
	if len(e.Notes) > 40 {
		e.Notes = e.Notes[:40] + "…"
	}
	return e
}

// TestSpoolLeavesNoFile: the spool file is unlinked as it is created, so
// that an import leaves none behind whether it commits, is rolled back,
// fails in its write transaction or is killed.
func TestSpoolLeavesNoFile(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	db, err := Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rules := NewRules([]*billing.Contract{{ID: "acme", Client: "Acme", Unit: billing.UnitHours, RoundingMinutes: 6}})
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	empty := func(when string) {
		t.Helper()
		ents, err := os.ReadDir(tmp)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) > 0 {
			t.Fatalf("%s: %s left in the temporary directory", when, ents[0].Name())
		}
	}
	begin := func() *Import {
		t.Helper()
		im, err := db.BeginImport(ctx, rules, "harvest", now)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 1200 {
			if err := im.Add(Entry{Date: billing.DateOf(2026, 3, 1+i%28), Seconds: 900, Client: "Acme", Notes: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if im.spool == nil {
			t.Fatal("no spool")
		}
		empty("while importing")
		return im
	}
	entries := func() int {
		var n int
		if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM entries`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	begin().Rollback()
	empty("after a rollback")
	if n := entries(); n != 0 {
		t.Fatalf("%d entries after a rollback", n)
	}

	db.failHook = func(point string) error {
		if point == "import:commit" {
			return errors.New("killed")
		}
		return nil
	}
	if _, err := begin().Commit(); err == nil {
		t.Fatal("a failed commit reported no error")
	}
	db.failHook = nil
	empty("after a failed commit")
	if n := entries(); n != 0 {
		t.Fatalf("%d entries after a failed commit", n)
	}
	var usage int
	if err := db.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM usage) + (SELECT COUNT(*) FROM usage_daily)`).Scan(&usage); err != nil || usage != 0 {
		t.Fatalf("usage rows after a failed commit: %d %v", usage, err)
	}

	res, err := begin().Commit()
	if err != nil || res.Imported != 1200 {
		t.Fatalf("commit: %+v %v", res, err)
	}
	empty("after a commit")
	if n := entries(); n != 1200 {
		t.Fatalf("%d entries after the commit", n)
	}
}

// TestFingerprintUnchanged: the fingerprint is the hash it always was —
// stored fingerprints are compared with those of new rows, and a change
// would make every stored row look edited.
func TestFingerprintUnchanged(t *testing.T) {
	old := func(e *Entry) int64 {
		h := sha256.New()
		fmt.Fprintf(h, "%d\x00%d\x00%t", e.Date, e.Seconds, e.Billable)
		for _, s := range []string{e.Client, e.Project, e.ProjectCode, e.Task, e.Notes, e.User} {
			h.Write([]byte{0})
			h.Write([]byte(s))
		}
		return int64(binary.BigEndian.Uint64(h.Sum(nil)))
	}
	for i, e := range []Entry{
		{},
		{Date: -3, Seconds: -60, Billable: true},
		{Date: billing.DateOf(2026, 3, 1), Seconds: 5400, Client: "Acme Corp", Project: "Ünïcødé", ProjectCode: "C-1",
			Task: "Dev", Notes: "a, \"b\"\n", User: "Ada Lovelace"},
		{Date: billing.MaxDate, Seconds: 1 << 62, Notes: strings.Repeat("€", 100_000)},
	} {
		if got, want := e.fingerprint(), old(&e); got != want {
			t.Errorf("entry %d: fingerprint %x, was %x", i, got, want)
		}
	}
}

// TestImportKilledLeavesNothing kills a process importing, once while it
// spools the rows and once in its write transaction (held just before its
// commit): the database has none of the rows, its usage is untouched, and
// no spool file is left in the temporary directory. A re-import killed in
// its write transaction, after it paired, deleted and inserted rows, leaves
// the first import's rows and usage as they were.
func TestImportKilledLeavesNothing(t *testing.T) {
	if dbPath := os.Getenv("RETAINER_TEST_KILLED_IMPORT"); dbPath != "" {
		killedImport(t, dbPath, os.Getenv("RETAINER_TEST_KILLED_AT"))
		return
	}
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, at := range []string{"spooling", "commit", "reimport", "streaming"} {
		t.Run(at, func(t *testing.T) {
			tmp := t.TempDir()
			dbPath := filepath.Join(t.TempDir(), "db.sqlite")
			cmd := exec.Command(os.Args[0], "-test.run", "^TestImportKilledLeavesNothing$")
			cmd.Env = append(os.Environ(), "RETAINER_TEST_KILLED_IMPORT="+dbPath, "RETAINER_TEST_KILLED_AT="+at, "TMPDIR="+tmp)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The child writes "ready" once it is where it is to be killed.
			line, err := bufio.NewReader(out).ReadString('\n')
			if !strings.Contains(line, "ready") {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("child: %q %v", line, err)
			}
			cmd.Process.Kill()
			cmd.Wait()
			ents, err := os.ReadDir(tmp)
			if err != nil || len(ents) > 0 {
				t.Fatalf("left in the temporary directory: %v %v", ents, err)
			}
			db, err := Open(context.Background(), dbPath)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if at == "reimport" { // the first import's 20,000 rows of 900 s
				var n, secs, used, usedEntries, daily, imports int64
				if err := db.db.QueryRow(`SELECT (SELECT COUNT(*) FROM entries), (SELECT SUM(seconds) FROM entries),
					(SELECT SUM(seconds) FROM usage), (SELECT SUM(entries) FROM usage), (SELECT SUM(entries) FROM usage_daily),
					(SELECT COUNT(*) FROM imports)`).Scan(&n, &secs, &used, &usedEntries, &daily, &imports); err != nil ||
					n != 20_000 || secs != 20_000*900 || used != secs || usedEntries != n || daily != n || imports != 1 {
					t.Fatalf("after the kill: %d entries, %d s; usage %d s, %d entries; daily %d entries; %d imports (%v)",
						n, secs, used, usedEntries, daily, imports, err)
				}
				return
			}
			var n int
			if err := db.db.QueryRow(`SELECT (SELECT COUNT(*) FROM entries) + (SELECT COUNT(*) FROM usage)
				+ (SELECT COUNT(*) FROM usage_daily) + (SELECT COUNT(*) FROM imports)`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("%d rows after the kill (%v)", n, err)
			}
		})
	}
}

// killedImport is the child of TestImportKilledLeavesNothing: it imports
// 20,000 rows and says "ready" where it is to be killed, then waits (for
// "streaming", in the stream's writer, once it wrote 3,000 rows); for
// "reimport" it commits them, then imports them again with a third of them
// edited, a third gone and as many new, and says "ready" before that
// commit.
func killedImport(t *testing.T, dbPath, at string) {
	ctx := context.Background()
	db, err := Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	rules := NewRules([]*billing.Contract{{ID: "acme", Client: "Acme", Unit: billing.UnitHours, RoundingMinutes: 6}})
	begin := func() *Import {
		im, err := db.BeginImport(ctx, rules, "harvest", time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if at == "streaming" {
			im.Stream()
		}
		return im
	}
	ready := func() {
		fmt.Println("ready")
		select {} // until killed
	}
	if at == "streaming" { // with 3,000 rows written, the lock held
		chunks := 0
		db.failHook = func(point string) error {
			if point == "import:stream" {
				if chunks++; chunks == 4 {
					ready()
				}
			}
			return nil
		}
	}
	im := begin()
	for i := range 20_000 {
		if err := im.Add(Entry{Date: billing.DateOf(2026, 3, 1+i%28), Seconds: 900, Client: "Acme", Notes: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if at == "reimport" {
		if res, err := im.Commit(); err != nil || res.Imported != 20_000 {
			t.Fatalf("first import: %+v %v", res, err)
		}
		im = begin()
		for i := range 20_000 {
			e := Entry{Date: billing.DateOf(2026, 3, 1+i%28), Seconds: 900, Client: "Acme", Notes: fmt.Sprint(i)}
			switch i % 3 {
			case 1:
				e.Seconds = 1800
			case 2:
				e.Notes = fmt.Sprint("new ", i)
			}
			if err := im.Add(e); err != nil {
				t.Fatal(err)
			}
		}
	}
	if at == "spooling" {
		ready()
	}
	db.failHook = func(point string) error {
		if point == "import:commit" {
			ready()
		}
		return nil
	}
	im.Commit()
	t.Fatal("the import committed")
}

// TestImportMemoryBound: an import of many (contract, day) pairs holds
// none of them past its limit (the rest are in sorted runs on disk), and
// its usage by period (a few rows per contract) is what it holds instead;
// the rows themselves are in the spool file, not in memory.
func TestImportMemoryBound(t *testing.T) {
	ctx := context.Background()
	t.Setenv("TMPDIR", t.TempDir())
	db, err := Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const contracts = 50
	cs := make([]*billing.Contract, contracts)
	for i := range cs {
		cs[i] = &billing.Contract{ID: fmt.Sprintf("c%02d", i), Client: fmt.Sprintf("Client %02d", i), Unit: billing.UnitHours, RoundingMinutes: 6}
	}
	im, err := db.BeginImport(ctx, NewRules(cs), "harvest", time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	defer im.Rollback()
	im.usageLimit = 1000
	for i := range 50 * 365 {
		if err := im.Add(Entry{Date: billing.DateOf(2026, 1, 1) + billing.Date(i/contracts), Seconds: 900,
			Client: fmt.Sprintf("Client %02d", i%contracts), Notes: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		if n := im.daily.pairs(); n > im.usageLimit {
			t.Fatalf("row %d: %d (contract, day) pairs held", i, n)
		}
	}
	if len(im.daily.runs) != 50*365/1000 {
		t.Fatalf("%d runs of (contract, day) pairs on disk, want %d of the limit's 1,000", len(im.daily.runs), 50*365/1000)
	}
	if len(im.byPeriod) != contracts*12 {
		t.Fatalf("%d (contract, period) rows held, want %d", len(im.byPeriod), contracts*12)
	}
	if im.spool == nil || im.spool.n != 50*365 {
		t.Fatal("the rows are not in the spool")
	}
	res, err := im.Commit()
	if err != nil || res.Imported != 50*365 {
		t.Fatalf("commit: %+v %v", res, err)
	}
	var daily, entries int64
	if err := db.db.QueryRow(`SELECT COUNT(*), SUM(entries) FROM usage_daily`).Scan(&daily, &entries); err != nil ||
		daily != 50*365 || entries != 50*365 {
		t.Fatalf("usage_daily: %d rows of %d entries (%v)", daily, entries, err)
	}
}
