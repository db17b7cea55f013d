package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"retainer/billing"
)

// streamRules are the contracts of the streaming tests: two clients, one
// rounding to a quarter hour.
func streamRules() *Rules {
	return NewRules([]*billing.Contract{
		{ID: "acme", Client: "Acme Corp", Unit: billing.UnitHours, RoundingMinutes: 15, Terms: billing.Terms{MonthlyHours: 100 * 3600}},
		{ID: "globex", Client: "Globex", Unit: billing.UnitHours, Terms: billing.Terms{MonthlyHours: 100 * 3600}},
	})
}

var streamNow = time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)

// streamRows is n rows from day first of March 2026 on, days days of them,
// in day order, over both clients and one that matches no contract.
func streamFile(n, first, days int, tag string) []Entry {
	out := make([]Entry, n)
	for i := range out {
		c := []string{"Acme Corp", "Globex", "Initech"}[i%3]
		out[i] = Entry{Date: billing.DateOf(2026, 3, first+i*days/n), Seconds: int64(600 + 60*(i%11)), Billable: i%4 != 0,
			Client: c, Project: "Web", User: "Ada", Notes: fmt.Sprint(tag, i)}
	}
	return out
}

// openStreamDB opens a SQLite store of its own (streaming is SQLite's).
func openStreamDB(t *testing.T) *DB {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// importInto imports files in turn, streaming when stream; chunk is the
// rows a streamed chunk holds. It returns the results and the last import.
func importInto(t *testing.T, s *DB, stream bool, chunk int, files ...[]Entry) ([]ImportResult, *Import) {
	t.Helper()
	var out []ImportResult
	var im *Import
	for _, file := range files {
		var err error
		if im, err = s.BeginImport(context.Background(), streamRules(), "harvest", streamNow); err != nil {
			t.Fatal(err)
		}
		if stream {
			im.Stream()
			im.streamRows = chunk
		}
		for _, e := range file {
			if err := im.Add(e); err != nil {
				t.Fatal(err)
			}
		}
		res, err := im.Commit()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res)
	}
	return out, im
}

// dump is every row of entries (but the times it was written), usage and
// usage_daily, one string a row.
func dump(t *testing.T, s *DB) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT 'e', id, source, COALESCE(external_id, '-'), day, seconds, billable, client, project, project_code, task, notes, user_name,
			contract_id, counted, fingerprint, import_batch FROM entries ORDER BY id`,
		`SELECT 'u', contract_id, period, counted, seconds, entries, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM usage ORDER BY contract_id, period`,
		`SELECT 'd', contract_id, day, counted, entries, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM usage_daily ORDER BY contract_id, day`,
		`SELECT 'a', contract_id, entry_period, seconds, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM adjustments ORDER BY contract_id, entry_period, seconds`,
	} {
		rows, err := s.db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			v := make([]any, 17)
			for i := range v {
				v[i] = new(any)
			}
			if err := rows.Scan(v...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, x := range v {
				fmt.Fprintf(&b, "%v|", *x.(*any))
			}
			out = append(out, b.String())
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return out
}

// sameStores fails unless two stores hold the same rows.
func sameStores(t *testing.T, got, want *DB) {
	t.Helper()
	g, w := dump(t, got), dump(t, want)
	if len(g) != len(w) {
		t.Fatalf("%d rows, want %d", len(g), len(w))
	}
	for i := range g {
		if g[i] != w[i] {
			t.Fatalf("row %d: %s\nwant %s", i, g[i], w[i])
		}
	}
}

// TestStreamedImportAsWithout: streamed or not, the same files leave the
// same rows, ids, usage and results, and a first import of its dates is
// written by the stream (every row, in chunks of any size, the last one
// short); a re-import of the same dates is not.
func TestStreamedImportAsWithout(t *testing.T) {
	first := streamFile(2500, 1, 20, "a")
	again := append(streamFile(2000, 5, 20, "a"), streamFile(300, 25, 5, "b")...) // overlaps the first's days
	later := streamFile(1200, 30, 2, "c")                                         // days of their own
	for _, chunk := range []int{1, 7, 1000, 5000} {
		t.Run(fmt.Sprint("chunk=", chunk), func(t *testing.T) {
			plain, streamed := openStreamDB(t), openStreamDB(t)
			want, _ := importInto(t, plain, false, 0, first)
			got, im := importInto(t, streamed, true, chunk, first)
			if !im.streamed || im.streamedRows.Load() != int64(len(first)) {
				t.Fatalf("streamed %v, %d rows written by the stream, want all %d", im.streamed, im.streamedRows.Load(), len(first))
			}
			if !reflect.DeepEqual(got[0], want[0]) {
				t.Fatalf("result %+v, want %+v", got[0], want[0])
			}
			sameStores(t, streamed, plain)
			want, _ = importInto(t, plain, false, 0, again)
			got, im = importInto(t, streamed, true, chunk, again)
			if im.streamed {
				t.Fatal("a re-import of stored dates was streamed")
			}
			if !reflect.DeepEqual(got[0], want[0]) {
				t.Fatalf("re-import: result %+v, want %+v", got[0], want[0])
			}
			sameStores(t, streamed, plain)
			want, _ = importInto(t, plain, false, 0, later)
			got, im = importInto(t, streamed, true, chunk, later)
			if !im.streamed || !reflect.DeepEqual(got[0], want[0]) {
				t.Fatalf("new dates after earlier imports: streamed %v, result %+v, want %+v", im.streamed, got[0], want[0])
			}
			sameStores(t, streamed, plain)
		})
	}
}

// TestStreamGivesUpOnEarlierRows: a file whose first days are new and
// whose later ones (or, out of order, earlier ones) hold the source's
// stored rows is written by the stream until it reaches those days, then
// everything it wrote is rolled back and the file reconciled as without
// streaming.
func TestStreamGivesUpOnEarlierRows(t *testing.T) {
	stored := streamFile(300, 20, 3, "old") // the 20th to the 22nd
	for _, tc := range []struct {
		name string
		file []Entry
	}{
		{"stored days after new ones", append(streamFile(2500, 1, 10, "new"), streamFile(300, 20, 3, "old")...)},
		{"stored days before new ones", append(streamFile(2500, 25, 5, "new"), streamFile(300, 20, 3, "old")...)},
		{"a stored day between new ones", append(append(streamFile(2500, 1, 10, "new"), streamFile(10, 21, 1, "x")...), streamFile(500, 25, 5, "z")...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plain, streamed := openStreamDB(t), openStreamDB(t)
			importInto(t, plain, false, 0, stored)
			importInto(t, streamed, true, 1000, stored)
			want, _ := importInto(t, plain, false, 0, tc.file)
			got, im := importInto(t, streamed, true, 1000, tc.file)
			if im.streamed {
				t.Fatal("the stream wrote a file with stored rows in its dates")
			}
			if im.streamedRows.Load() < 2000 {
				t.Fatalf("the stream wrote %d rows before it gave up, want the new days' first chunks", im.streamedRows.Load())
			}
			if !reflect.DeepEqual(got[0], want[0]) {
				t.Fatalf("result %+v, want %+v", got[0], want[0])
			}
			sameStores(t, streamed, plain)
		})
	}
}

// TestStreamStopsAtAnID: a row with an external id ends the stream (those
// rows are staged and upserted by Commit); the import is as without it.
func TestStreamStopsAtAnID(t *testing.T) {
	file := streamFile(2500, 1, 10, "a")
	for i := 2200; i < 2300; i++ {
		file[i].ExternalID = fmt.Sprint("T-", i)
	}
	plain, streamed := openStreamDB(t), openStreamDB(t)
	want, _ := importInto(t, plain, false, 0, file)
	im, err := streamed.BeginImport(context.Background(), streamRules(), "harvest", streamNow)
	if err != nil {
		t.Fatal(err)
	}
	im.Stream()
	for i, e := range file {
		if i == 2200 { // the rows before the first id written
			waitStreamed(t, im, 2000)
		}
		if err := im.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := im.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if im.streamed {
		t.Fatal("a file with ids was streamed")
	}
	if !reflect.DeepEqual(got, want[0]) {
		t.Fatalf("result %+v, want %+v", got, want[0])
	}
	sameStores(t, streamed, plain)
}

// waitStreamed waits until the stream of im wrote at least n rows.
func waitStreamed(t *testing.T, im *Import, n int64) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); im.streamedRows.Load() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("the stream wrote %d rows of %d handed to it", im.streamedRows.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStreamHoldsTheLockAndRollsBack: while it streams, the import holds
// the write lock (another write waits); abandoned, it leaves nothing and
// the lock is free at once.
func TestStreamHoldsTheLockAndRollsBack(t *testing.T) {
	ctx := context.Background()
	s := openStreamDB(t)
	other, err := Open(ctx, s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	im, err := s.BeginImport(ctx, streamRules(), "harvest", streamNow)
	if err != nil {
		t.Fatal(err)
	}
	im.Stream()
	for _, e := range streamFile(3500, 1, 10, "a") {
		if err := im.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	waitStreamed(t, im, 3000)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	log := []Entry{{Date: billing.DateOf(2026, 3, 3), Seconds: 3600, Client: "Acme Corp"}}
	if err := other.AddEntries(short, streamRules(), log, streamNow); err == nil {
		t.Fatal("another connection wrote while the stream held the write lock")
	}
	im.Rollback()
	if err := other.AddEntries(ctx, streamRules(), log, streamNow); err != nil {
		t.Fatalf("a write after the stream was abandoned: %v", err)
	}
	if got := dump(t, s); len(got) != 3 { // the one entry, its usage and its day
		t.Fatalf("%d rows after the abandoned stream and one entry, want 3: %v", len(got), got)
	}
}

// TestStreamWriterFailureFallsBack: when the stream's writer fails, its
// rows are rolled back and Commit writes the file itself.
func TestStreamWriterFailureFallsBack(t *testing.T) {
	file := streamFile(3500, 1, 10, "a")
	plain, streamed := openStreamDB(t), openStreamDB(t)
	want, _ := importInto(t, plain, false, 0, file)
	chunks := 0
	streamed.failHook = func(point string) error {
		if point == "import:stream" {
			if chunks++; chunks == 3 {
				return errors.New("disk full")
			}
		}
		return nil
	}
	got, im := importInto(t, streamed, true, 1000, file)
	if im.streamed || im.streamedRows.Load() != 2000 {
		t.Fatalf("streamed %v, %d rows: want 2,000 written, then given up", im.streamed, im.streamedRows.Load())
	}
	if !reflect.DeepEqual(got[0], want[0]) {
		t.Fatalf("result %+v, want %+v", got[0], want[0])
	}
	sameStores(t, streamed, plain)
}

// TestStreamCancelledWritesNothing: an import whose context ends while it
// streams leaves nothing, also when database/sql rolls its transaction back
// between two of the writer's chunks (a chunk written then would be
// committed on its own).
func TestStreamCancelledWritesNothing(t *testing.T) {
	s := openStreamDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chunks := 0
	s.failHook = func(point string) error {
		if point == "import:stream" {
			if chunks++; chunks == 3 {
				cancel()
				time.Sleep(200 * time.Millisecond) // database/sql rolls the transaction back
			}
		}
		return nil
	}
	im, err := s.BeginImport(ctx, streamRules(), "harvest", streamNow)
	if err != nil {
		t.Fatal(err)
	}
	im.Stream()
	for _, e := range streamFile(5000, 1, 10, "a") {
		if im.Add(e) != nil {
			break
		}
	}
	if _, err := im.Commit(); err == nil {
		t.Fatal("a cancelled import committed")
	}
	if got := dump(t, s); len(got) != 0 {
		t.Fatalf("%d rows after a cancelled import, want none: %v", len(got), got[:min(len(got), 3)])
	}
}
