package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"retainer/billing"
)

// Ledger checkpoints: status with a checkpoint computes exactly what it
// computes from the first open period. Each case builds a history, reads
// status once (which keeps a checkpoint per contract), changes something a
// checkpoint could stand for, and reads again: every row must equal the
// computation from scratch (the ledger run from the first open period,
// which reads no checkpoint), for the month kept, the month before and the
// months after, for every contract's status and for each one's own.

func ckPer(s string) billing.Period {
	p, err := billing.ParsePeriod(s)
	if err != nil {
		panic(err)
	}
	return p
}

func ckPtr[T any](v T) *T { return &v }

func ckHours(n int64) int64 { return n * 3600 }

// ckContracts are contracts whose ledgers carry something from month to
// month in each way the ledger knows: a capped rollover, expiring lots, an
// opening bank banked at a take-over, an opening bank without one (banked
// in the first period computed), no start (the first month with entries),
// a start later than the first entries, term changes, no rollover.
func ckContracts() []*billing.Contract {
	base := func(id, client string) *billing.Contract {
		return &billing.Contract{ID: id, Client: client, Unit: billing.UnitHours, PaymentTermsDays: 15,
			Terms:           billing.Terms{MonthlyHours: ckHours(40), MonthlyFee: 500000, OverageRate: 17500},
			OverageBillable: true, Rollover: true}
	}
	a := base("acme", "Acme")
	a.MaxRollover, a.Start = ckPtr(ckHours(10)), ckPtr(ckPer("2026-01"))
	b := base("bolt", "Bolt")
	b.ExpiresAfter, b.Start = 2, ckPtr(ckPer("2026-01"))
	c := base("cine", "Cine")
	c.OpeningBank, c.TakeOver, c.Start = ckHours(12), ckPtr(ckPer("2026-03")), ckPtr(ckPer("2026-01"))
	d := base("dune", "Dune") // no start: from its first entries; an opening bank banked there
	d.OpeningBank = ckHours(6)
	e := base("echo", "Echo")
	e.Start = ckPtr(ckPer("2026-05"))
	e.Changes = []billing.TermChange{{From: ckPer("2026-07"), MonthlyHours: ckPtr(ckHours(20))}}
	f := base("fern", "Fern")
	f.Rollover, f.Start = false, ckPtr(ckPer("2026-01"))
	g := base("gale", "Gale") // no start and no entries until late
	return []*billing.Contract{a, b, c, d, e, f, g}
}

// ckEntries are the history: each contract's hours in January–October.
func ckEntries() []Entry {
	var out []Entry
	// Cine and Dune (no cap, no expiry, under-used) carry lots for ever:
	// a change in any month shows in October's bank.
	hours := map[string][]int64{
		"Acme":   {30, 45, 38, 50, 35, 44, 36, 41, 33, 12},
		"Bolt":   {30, 50, 35, 45, 38, 42, 30, 48, 36, 8},
		"Cine":   {0, 35, 30, 36, 37, 33, 45, 38, 32, 3},
		"Dune":   {0, 0, 32, 36, 38, 0, 41, 39, 36, 6},
		"Echo":   {9, 8, 0, 0, 35, 45, 18, 22, 16, 2},
		"Fern":   {40, 10, 50, 41, 39, 20, 0, 30, 44, 1},
		"Gale":   {0, 0, 0, 0, 0, 0, 0, 0, 0, 4},
		"Nobody": {20, 0, 0, 15, 0, 0, 0, 0, 0, 0},
	}
	for client, hs := range hours {
		for m, h := range hs {
			if h == 0 {
				continue
			}
			day := billing.DateOf(2026, time.Month(m+1), 3+m)
			out = append(out, Entry{Source: "log", ExternalID: fmt.Sprintf("%s-%d", client, m), Date: day, Seconds: ckHours(h), Billable: true, Client: client})
		}
	}
	return out
}

var ckNow = time.Date(2026, 10, 20, 12, 0, 0, 0, time.UTC)

func ckAsOf() billing.Date { return billing.DateOf(2026, 10, 20) }

// scratch is every contract's figures for p computed from the first open
// period, as status computed them before checkpoints: no checkpoint read.
func scratch(t *testing.T, s *DB, rules *Rules, p billing.Period, asOf billing.Date) map[string]billing.Figures {
	t.Helper()
	out := map[string]billing.Figures{}
	err := s.read(context.Background(), func(tx *sql.Tx) error {
		st, err := loadStateSized(context.Background(), tx, p, "", 0)
		if err != nil {
			return err
		}
		closed := st.hasLast && p <= st.last
		for _, c := range rules.list {
			if closed {
				continue
			}
			if f := st.final(c, p, asOf); f.Listed(c) {
				out[c.ID] = f
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameAsScratch checks status of the months around October, of every
// contract and of each alone, against scratch.
func sameAsScratch(t *testing.T, step string, s *DB, rules *Rules) {
	t.Helper()
	ctx := context.Background()
	// October first, with the checkpoints kept before the change; the
	// last reads keep checkpoints at October, November and January for the
	// next call.
	for i, m := range []string{"2026-10", "2026-11", "2027-01", "2026-09", "2026-11", "2026-10"} {
		p := ckPer(m)
		want := scratch(t, s, rules, p, ckAsOf())
		v, err := s.Status(ctx, rules, p, ckAsOf())
		if err != nil {
			t.Fatal(err)
		}
		if v.Closed {
			continue
		}
		got := map[string]billing.Figures{}
		for _, r := range v.Rows {
			got[r.Contract.ID] = r.Figures
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: status %s differs from the computation from scratch:\n%s", step, m, figuresDiff(got, want))
		}
		if i > 0 {
			continue // each contract's own status: of October, first
		}
		for _, c := range rules.list {
			one := NewRules([]*billing.Contract{c})
			v, err := s.Status(ctx, one, p, ckAsOf())
			if err != nil {
				t.Fatal(err)
			}
			var g billing.Figures
			if len(v.Rows) == 1 {
				g = v.Rows[0].Figures
			}
			if w := want[c.ID]; !reflect.DeepEqual(g, w) {
				t.Errorf("%s: %s's own status %s: %+v, from scratch %+v", step, c.ID, m, g, w)
			}
		}
	}
}

// ckScratchMonths is scratch for October, November and January 2027.
func ckScratchMonths(t *testing.T, s *DB, rules *Rules) []map[string]billing.Figures {
	var out []map[string]billing.Figures
	for _, m := range []string{"2026-10", "2026-11", "2027-01"} {
		out = append(out, scratch(t, s, rules, ckPer(m), ckAsOf()))
	}
	return out
}

func figuresDiff(got, want map[string]billing.Figures) string {
	var b strings.Builder
	for id, w := range want {
		if g := got[id]; !reflect.DeepEqual(g, w) {
			fmt.Fprintf(&b, "  %s: got  %+v\n  %s: want %+v\n", id, g, id, w)
		}
	}
	for id, g := range got {
		if _, ok := want[id]; !ok {
			fmt.Fprintf(&b, "  %s: got %+v, not listed from scratch\n", id, g)
		}
	}
	return b.String()
}

// entryOf returns the id of the entry of client in month m (1-12).
func entryOf(t *testing.T, s *DB, client string, m int) int64 {
	t.Helper()
	var id int64
	if err := s.db.QueryRow(`SELECT id FROM entries WHERE external_id = ?`, fmt.Sprintf("%s-%d", client, m-1)).Scan(&id); err != nil {
		t.Fatalf("entry %s-%d: %v", client, m-1, err)
	}
	return id
}

func TestCheckpointsAsFromScratch(t *testing.T) {
	ctx := context.Background()
	withContract := func(rules *Rules, id string, change func(*billing.Contract)) *Rules {
		var cs []*billing.Contract
		for _, c := range rules.list {
			c2 := *c
			if c.ID == id {
				change(&c2)
			}
			cs = append(cs, &c2)
		}
		return NewRules(cs)
	}
	add := func(client, day string, hours int64) func(*testing.T, *DB, *Rules) *Rules {
		return func(t *testing.T, s *DB, rules *Rules) *Rules {
			d, _ := billing.ParseDate(day)
			if err := s.AddEntries(ctx, rules, []Entry{{Source: "log", Date: d, Seconds: ckHours(hours), Billable: true, Client: client}}, ckNow); err != nil {
				t.Fatal(err)
			}
			return rules
		}
	}
	closeThrough := func(m string) func(*testing.T, *DB, *Rules) *Rules {
		return func(t *testing.T, s *DB, rules *Rules) *Rules {
			if _, err := s.ClosePeriod(ctx, rules, ckPer(m), "USD", time.UTC, ckNow); err != nil {
				t.Fatal(err)
			}
			return rules
		}
	}
	terms := func(id string, change func(*billing.Contract)) func(*testing.T, *DB, *Rules) *Rules {
		return func(t *testing.T, s *DB, rules *Rules) *Rules {
			r := withContract(rules, id, change)
			if _, err := s.SyncRules(ctx, r, ckNow); err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	same := func(r *Rules) *Rules { return r }
	// changes says whether the change alters a month's figures: a case
	// whose change alters none could not tell a stale checkpoint.
	cases := []struct {
		name    string
		changes bool
		change  func(*testing.T, *DB, *Rules) *Rules
	}{
		{"nothing", false, func(t *testing.T, s *DB, r *Rules) *Rules { return same(r) }},
		{"entry added in March", true, add("Cine", "2026-03-09", 30)},
		{"entry added in September", true, add("Acme", "2026-09-09", 5)},
		{"entry added in October (the month kept)", true, add("Cine", "2026-10-09", 30)},
		{"first entries of a contract without start, in April", true, add("Gale", "2026-04-01", 15)},
		{"entry before a contract without start's first", true, add("Dune", "2026-01-15", 5)},
		{"entry edited in February", true, func(t *testing.T, s *DB, r *Rules) *Rules {
			if _, _, err := s.EditEntry(ctx, r, entryOf(t, s, "Cine", 2), func(e *Entry) error { e.Seconds = ckHours(2); return nil }, ckNow); err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"entry moved from June to November", true, func(t *testing.T, s *DB, r *Rules) *Rules {
			if _, _, err := s.EditEntry(ctx, r, entryOf(t, s, "Cine", 6), func(e *Entry) error { e.Date = billing.DateOf(2026, 11, 2); return nil }, ckNow); err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"entry deleted in April", true, func(t *testing.T, s *DB, r *Rules) *Rules {
			if _, err := s.DeleteEntry(ctx, entryOf(t, s, "Dune", 4), ckNow); err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"a contract without start's first entries deleted", true, func(t *testing.T, s *DB, r *Rules) *Rules {
			if _, err := s.DeleteEntry(ctx, entryOf(t, s, "Dune", 3), ckNow); err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"import into June", true, func(t *testing.T, s *DB, r *Rules) *Rules {
			im, err := s.BeginImport(ctx, r, "harvest", ckNow)
			if err != nil {
				t.Fatal(err)
			}
			for i, client := range []string{"Cine", "Dune", "Echo", "Nobody"} {
				if err := im.Add(Entry{Source: "harvest", ExternalID: fmt.Sprint("h", i), Date: billing.DateOf(2026, 6, 10+i), Seconds: ckHours(int64(7 + i)), Billable: true, Client: client}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := im.Commit(); err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"cap changed", true, terms("acme", func(c *billing.Contract) { c.MaxRollover = ckPtr(ckHours(3)) })},
		{"expiry changed", true, terms("bolt", func(c *billing.Contract) { c.ExpiresAfter = 1 })},
		{"hours changed from July", true, terms("echo", func(c *billing.Contract) {
			c.Changes = []billing.TermChange{{From: ckPer("2026-07"), MonthlyHours: ckPtr(ckHours(30))}}
		})},
		{"rollover turned on", true, terms("fern", func(c *billing.Contract) { c.Rollover = true })},
		{"start moved earlier", true, terms("echo", func(c *billing.Contract) { c.Start = ckPtr(ckPer("2026-01")) })},
		{"start moved later", true, terms("cine", func(c *billing.Contract) { c.Start = ckPtr(ckPer("2026-04")) })},
		{"start set on a contract without one", true, terms("dune", func(c *billing.Contract) { c.Start = ckPtr(ckPer("2026-05")) })},
		{"end set", true, terms("bolt", func(c *billing.Contract) { c.End = ckPtr(ckPer("2026-08")) })},
		{"opening bank changed", true, terms("cine", func(c *billing.Contract) { c.OpeningBank = ckHours(3) })},
		{"take-over moved (go_live)", true, terms("cine", func(c *billing.Contract) { c.TakeOver = ckPtr(ckPer("2026-09")) })},
		{"unit changed to sessions", true, terms("cine", func(c *billing.Contract) { c.Unit = billing.UnitSessions })},
		{"matching changed", true, terms("cine", func(c *billing.Contract) { c.Match = []string{"Nobody"} })},
		{"August closed", true, closeThrough("2026-08")},
		{"September closed", true, closeThrough("2026-09")},
		{"August closed, then a late entry in July", true, func(t *testing.T, s *DB, r *Rules) *Rules {
			closeThrough("2026-08")(t, s, r)
			sameAsScratch(t, "after the close", s, r)
			return add("Cine", "2026-07-20", 9)(t, s, r)
		}},
		{"August closed, then a July entry edited", true, func(t *testing.T, s *DB, r *Rules) *Rules {
			closeThrough("2026-08")(t, s, r)
			sameAsScratch(t, "after the close", s, r)
			if _, _, err := s.EditEntry(ctx, r, entryOf(t, s, "Cine", 7), func(e *Entry) error { e.Seconds = ckHours(1); return nil }, ckNow); err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"August closed, a late entry, then September closed", true, func(t *testing.T, s *DB, r *Rules) *Rules {
			closeThrough("2026-08")(t, s, r)
			sameAsScratch(t, "after the close", s, r)
			add("Cine", "2026-02-20", 20)(t, s, r)
			sameAsScratch(t, "after the late entry", s, r)
			return closeThrough("2026-09")(t, s, r)
		}},
		{"a close undone", true, func(t *testing.T, s *DB, r *Rules) *Rules {
			// No command undoes a close yet; the trigger is there for the
			// one that will (and for a restore by hand).
			closeThrough("2026-08")(t, s, r)
			sameAsScratch(t, "after the close", s, r)
			if _, err := s.db.Exec(`DELETE FROM periods WHERE period = ` + fmt.Sprint(int64(ckPer("2026-08")))); err != nil {
				t.Fatal(err)
			}
			return r
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if os.Getenv("RETAINER_TEST_BACKEND") != "postgres" {
				// PostgreSQL's write lock is the database's, shared by the
				// cases' schemas: in parallel they would take turns.
				t.Parallel()
			}
			s := backendDB(t)
			rules := NewRules(ckContracts())
			if _, err := s.SyncRules(ctx, rules, ckNow); err != nil {
				t.Fatal(err)
			}
			if err := s.AddEntries(ctx, rules, ckEntries(), ckNow); err != nil {
				t.Fatal(err)
			}
			ckKept(t, s, rules)
			sameAsScratch(t, "before", s, rules)
			before := ckScratchMonths(t, s, rules)
			rules = tc.change(t, s, rules)
			if changed := !reflect.DeepEqual(ckScratchMonths(t, s, rules), before); changed != tc.changes {
				t.Fatalf("the change changed the figures: %t, want %t", changed, tc.changes)
			}
			sameAsScratch(t, "after", s, rules)
		})
	}
}

// ckKept reads October's status until its checkpoints are kept: a keep
// gives up when the write lock is not free soon (another test's write on
// the same PostgreSQL database).
func ckKept(t *testing.T, s *DB, rules *Rules) {
	t.Helper()
	for i := 0; ; i++ {
		if _, err := s.Status(context.Background(), rules, ckPer("2026-10"), ckAsOf()); err != nil {
			t.Fatal(err)
		}
		n := s.CountRows(t, "ledger_checkpoints")
		if n == len(rules.list) {
			return
		}
		if i == 20 {
			t.Fatalf("%d checkpoints after status, want %d", n, len(rules.list))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ckSeeded is a store with the history of ckEntries, and its rules.
func ckSeeded(t *testing.T, path string) (*DB, *Rules) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	rules := NewRules(ckContracts())
	if _, err := s.SyncRules(ctx, rules, ckNow); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEntries(ctx, rules, ckEntries(), ckNow); err != nil {
		t.Fatal(err)
	}
	return s, rules
}

// A status keeps its checkpoints without raising the data version (no
// page is drawn from them), and keeps none when something was written
// between its read and its write: they would stand for data that is gone.
func TestCheckpointsKeptQuietly(t *testing.T) {
	ctx := context.Background()
	s, rules := ckSeeded(t, TestingDSN(t, os.Getenv("RETAINER_TEST_BACKEND") == "postgres"))
	before, err := s.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ckKept(t, s, rules)
	if after, err := s.DataVersion(ctx); err != nil || after != before {
		t.Errorf("data version %d after keeping checkpoints (%v), want %d", after, err, before)
	}

	// A read, then a write of an earlier month, then the keep.
	if _, err := s.db.Exec(`DELETE FROM ledger_checkpoints`); err != nil {
		t.Fatal(err)
	}
	p := ckPer("2026-10")
	var version int64
	var keep []kept
	if err := s.read(ctx, func(tx *sql.Tx) error {
		st, v, err := s.statusState(ctx, tx, rules, p, "")
		for _, c := range rules.list {
			if _, k := st.finalKept(c, p, ckAsOf()); k.kind != ckNone {
				keep = append(keep, kept{c, k})
			}
		}
		version = v
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEntries(ctx, rules, []Entry{{Source: "log", Date: billing.DateOf(2026, 3, 9), Seconds: ckHours(30), Billable: true, Client: "Cine"}}, ckNow); err != nil {
		t.Fatal(err)
	}
	s.keepCheckpoints(ctx, p, "", version, keep)
	if n := s.CountRows(t, "ledger_checkpoints"); n != 0 {
		t.Errorf("%d checkpoints kept after a write came between the read and the keep, want none", n)
	}
	sameAsScratch(t, "after", s, rules)
	// The same keep, with the version of the data it stands for, keeps.
	if _, err := s.db.Exec(`DELETE FROM ledger_checkpoints`); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ { // a keep gives up when the write lock is not free soon
		current, err := s.DataVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.keepCheckpoints(ctx, p, "", current, keep)
		if n := s.CountRows(t, "ledger_checkpoints"); n == len(keep) {
			break
		} else if i == 20 {
			t.Fatalf("%d checkpoints kept at the current version, want %d", n, len(keep))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A read-only store reads the checkpoints a read-write one kept and keeps
// none itself; on a database behind its migrations (no checkpoints'
// table) it computes from the first open period.
func TestCheckpointsReadOnly(t *testing.T) {
	ctx := context.Background()
	path := TestingDSN(t, os.Getenv("RETAINER_TEST_BACKEND") == "postgres")
	s, rules := ckSeeded(t, path)
	ckKept(t, s, rules)
	ro, err := OpenWith(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	sameAsScratch(t, "read-only, with checkpoints", ro, rules)
	if _, err := s.db.Exec(`DELETE FROM ledger_checkpoints`); err != nil {
		t.Fatal(err)
	}
	sameAsScratch(t, "read-only, without", ro, rules)
	if n := s.CountRows(t, "ledger_checkpoints"); n != 0 {
		t.Errorf("a read-only store kept %d checkpoints", n)
	}
	ro.Close()

	// As if the database predated migration 0020.
	undo := []string{`DROP TABLE ledger_checkpoints`, `DELETE FROM schema_migrations WHERE version = 20`}
	for _, q := range undo {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old, err := OpenWith(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if old.SchemaBehind() == 0 {
		t.Fatal("the read-only store is not behind")
	}
	sameAsScratch(t, "read-only, behind", old, rules)
}

// With many contracts and a few without a checkpoint (their history
// changed), those few read their rows from the first open period by key
// and the rest from their checkpoints: still what scratch computes.
func TestCheckpointsFewMissing(t *testing.T) {
	ctx := context.Background()
	cs := ckContracts()
	var es []Entry
	for i := 0; i < 40; i++ {
		c := &billing.Contract{ID: fmt.Sprintf("z%02d", i), Client: fmt.Sprintf("Z%02d", i), Unit: billing.UnitHours,
			Terms: billing.Terms{MonthlyHours: ckHours(20)}, Rollover: true, Start: ckPtr(ckPer("2026-02"))}
		cs = append(cs, c)
		for m := 1; m <= 10; m++ {
			es = append(es, Entry{Source: "log", Date: billing.DateOf(2026, time.Month(m), 5), Seconds: ckHours(int64(10 + (i*m)%17)), Billable: true, Client: c.Client})
		}
	}
	s := backendDB(t)
	rules := NewRules(cs)
	if _, err := s.SyncRules(ctx, rules, ckNow); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEntries(ctx, rules, append(es, ckEntries()...), ckNow); err != nil {
		t.Fatal(err)
	}
	sameAsScratch(t, "before", s, rules)
	before := ckScratchMonths(t, s, rules)
	others := func() (n int) {
		if err := s.db.QueryRow(`SELECT COUNT(*) FROM ledger_checkpoints WHERE contract_id NOT IN ('cine', 'z07')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	keptBefore := others()
	late := []Entry{
		{Source: "log", Date: billing.DateOf(2026, 3, 9), Seconds: ckHours(30), Billable: true, Client: "Cine"},
		{Source: "log", Date: billing.DateOf(2026, 2, 9), Seconds: ckHours(25), Billable: true, Client: "Z07"},
	}
	if err := s.AddEntries(ctx, rules, late, ckNow); err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(ckScratchMonths(t, s, rules), before) {
		t.Fatal("the entries changed no figure")
	}
	if n, left := s.CountRows(t, "ledger_checkpoints"), others(); n != left || left != keptBefore || keptBefore == 0 {
		t.Fatalf("%d checkpoints left, %d of the contracts unchanged (%d before)", n, left, keptBefore)
	}
	sameAsScratch(t, "after", s, rules)
}

// The ledger column reads back as written, and anything else is refused.
func TestLedgerColumn(t *testing.T) {
	c := ckContracts()[0]
	for _, ck := range []checkpoint{
		{kind: ckFresh},
		{kind: ckCarried},
		{kind: ckCarried, lots: []billing.Lot{{Earned: ckPer("2026-09"), Seconds: 36000}}},
		{kind: ckCarried, lots: []billing.Lot{{Earned: -5, Seconds: 1}, {Earned: 0, Seconds: 1<<63 - 1}, {Earned: 3, Seconds: -1 << 63}}},
	} {
		b := appendLedger(nil, c, ck)
		i := strings.IndexByte(string(b), ';')
		if i < 0 || string(b[i+1:]) != string(appendLedgerTerms(nil, c)) {
			t.Fatalf("%q: no terms after the lots", b)
		}
		kind, lots, ok := parseLedger(b[:i])
		if !ok || kind != ck.kind || !reflect.DeepEqual(lots, ck.lots) {
			t.Errorf("%q read as %d %v %t, want %d %v", b, kind, lots, ok, ck.kind, ck.lots)
		}
	}
	for _, bad := range []string{"x", "1", "1:", ":1", "1:2 ", "1:2  3:4", "--", "1:9223372036854775808", "1:-9223372036854775809", "1:2x", "- "} {
		if _, _, ok := parseLedger([]byte(bad)); ok {
			t.Errorf("%q read as lots", bad)
		}
	}
}

// TestLedgerTermsKnowEveryContractField fails when billing.Contract (or its
// terms) gains a field that appendLedgerTerms has not been told about: a
// field the ledger reads must be written into the checkpoint's terms (or a
// checkpoint computed before a change of it would be used after), and one
// it does not read is listed here as such.
func TestLedgerTermsKnowEveryContractField(t *testing.T) {
	known := map[string]string{
		// In the terms (appendLedgerTerms).
		"Unit": "terms", "Terms": "terms", "Changes": "terms", "OverageBillable": "terms",
		"Rollover": "terms", "MaxRollover": "terms", "ExpiresAfter": "terms",
		"RoundingMinutes": "terms", "CountNonBillable": "terms", "OpeningBank": "terms",
		"TakeOver": "terms", "Start": "terms", "End": "terms",
		// Not read by the ledger: names, matching (a change of it rewrites
		// usage, which drops the checkpoints), messages, the invoice's face.
		"ID": "key", "Client": "not the ledger's", "Tier": "not the ledger's",
		"Contacts": "not the ledger's", "Match": "usage", "PaymentTermsDays": "not the ledger's",
		"AlertClientAt": "not the ledger's", "Checkin": "not the ledger's",
		"PortalEntries": "not the ledger's", "Currency": "not the ledger's",
		"BillingName": "not the ledger's", "BillingAddress": "not the ledger's",
		"TaxID": "not the ledger's", "TaxRate": "not the ledger's",
		// billing.Terms and billing.TermChange, each written whole.
		"Terms.MonthlyHours": "terms", "Terms.MonthlyFee": "terms", "Terms.HourlyRate": "terms",
		"Terms.OverageRate": "terms", "TermChange.From": "terms", "TermChange.MonthlyHours": "terms",
		"TermChange.MonthlyFee": "terms", "TermChange.HourlyRate": "terms", "TermChange.OverageRate": "terms",
	}
	seen := map[string]bool{}
	for _, typ := range []struct {
		prefix string
		t      reflect.Type
	}{{"", reflect.TypeOf(billing.Contract{})}, {"Terms.", reflect.TypeOf(billing.Terms{})}, {"TermChange.", reflect.TypeOf(billing.TermChange{})}} {
		for i := 0; i < typ.t.NumField(); i++ {
			name := typ.prefix + typ.t.Field(i).Name
			seen[name] = true
			if _, ok := known[name]; !ok {
				t.Errorf("billing field %s is new: write it into appendLedgerTerms if the ledger reads it (and change ledgerRulesVersion if the rules changed), then list it here", name)
			}
		}
	}
	for name := range known {
		if !seen[name] {
			t.Errorf("billing field %s is gone: take it out of this list (and of appendLedgerTerms)", name)
		}
	}
}
