package store

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"retainer/billing"
)

// pairModel is the re-import rule of SPEC §13 for rows without ids, kept
// the plainest way: a source's stored rows as a list of contents, and an
// import computed by counting, with no spool, window or order.
type pairModel map[string][]pairContent // by source

// pairContent is what the fingerprint covers.
type pairContent struct {
	day                                      billing.Date
	seconds                                  int64
	billable                                 bool
	client, project, code, task, notes, user string
}

func contentOf(e *Entry) pairContent {
	return pairContent{e.Date, e.Seconds, e.Billable, e.Client, e.Project, e.ProjectCode, e.Task, e.Notes, e.User}
}

func (c pairContent) combo() string {
	return rawCombo{c.client, c.project, c.user}.normalized()
}

// import applies a file to the model and returns the counts the store is
// to report (Unmatched aside).
func (m pairModel) importFile(source string, file []Entry) ImportResult {
	var res ImportResult
	if len(file) == 0 {
		return res
	}
	first, last := file[0].Date, file[0].Date
	combos := map[string]bool{}
	for i := range file {
		first, last = min(first, file[i].Date), max(last, file[i].Date)
		combos[contentOf(&file[i]).combo()] = true
	}
	// Same spelling: per content (day included), as many copies pair as
	// both sides have.
	olds, news := map[pairContent]int{}, map[pairContent]int{}
	var keptOut []pairContent // stored rows out of scope
	for _, c := range m[source] {
		if c.day >= first && c.day <= last {
			olds[c]++
		} else {
			keptOut = append(keptOut, c)
		}
	}
	for i := range file {
		news[contentOf(&file[i])]++
	}
	var stay, restNew []pairContent
	restOld := map[pairContent]int{}
	for c, n := range olds {
		k := min(n, news[c])
		res.Unchanged += k
		for range k {
			stay = append(stay, c)
		}
		restOld[c] = n - k
	}
	for c, n := range news {
		for range n - min(n, olds[c]) {
			restNew = append(restNew, c)
		}
	}
	// Other spelling: by day, combination and content but for the names.
	type group struct {
		day        billing.Date
		combo      string
		seconds    int64
		billable   bool
		code, task string
		notes      string
	}
	groupOf := func(c pairContent) group {
		return group{c.day, c.combo(), c.seconds, c.billable, c.code, c.task, c.notes}
	}
	type sides struct{ old, new int }
	groups := map[group]*sides{}
	at := func(g group) *sides {
		if groups[g] == nil {
			groups[g] = &sides{}
		}
		return groups[g]
	}
	for c, n := range restOld {
		if !combos[c.combo()] { // another person's or project's hours
			for range n {
				stay = append(stay, c)
			}
			continue
		}
		at(groupOf(c)).old += n
	}
	for _, c := range restNew {
		at(groupOf(c)).new++
		stay = append(stay, c)
	}
	added, removed := map[string]int{}, map[string]int{}
	for g, s := range groups {
		k := min(s.old, s.new)
		res.Updated += k
		added[g.combo] += s.new - k
		removed[g.combo] += s.old - k
	}
	for c := range combos {
		e := min(added[c], removed[c])
		res.Updated += e
		res.Imported += added[c] - e
		res.Removed += removed[c] - e
	}
	m[source] = append(keptOut, stay...)
	return res
}

// TestReimportPairsAsTheRule imports random files without ids — rows out of
// day order, identical copies, names spelled other ways, rows edited,
// added and removed, date ranges overlapping half the stored ones — into
// one store and into pairModel, with windows of a few rows (so that a day
// is read from several places of the spool and the stored rows a window at
// a time), and compares the counts and the stored rows after each import.
func TestReimportPairsAsTheRule(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, TestingDSN(t, os.Getenv("RETAINER_TEST_BACKEND") == "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rules := NewRules([]*billing.Contract{
		{ID: "acme", Client: "Acme Corp", Unit: billing.UnitHours, RoundingMinutes: 15, Terms: billing.Terms{MonthlyHours: 100 * 3600}},
		{ID: "globex", Client: "Globex", Unit: billing.UnitHours, Terms: billing.Terms{MonthlyHours: 100 * 3600}},
	})
	now := time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)
	spellings := map[string][]string{"Acme Corp": {"Acme Corp", "acme corp", " ACME  Corp"}, "Globex": {"Globex", "GLOBEX"}, "Initech": {"Initech"}}
	users := [][]string{{"Ada", "ada"}, {"Bob"}}
	model := pairModel{}
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		source := fmt.Sprintf("harvest-%d", seed)
		// A canonical row: its names written the first way.
		fresh := func(day int) Entry {
			c := []string{"Acme Corp", "Globex", "Initech"}[rng.IntN(3)]
			return Entry{Date: billing.DateOf(2026, 3, day), Seconds: int64(900 * (1 + rng.IntN(3))), Billable: rng.IntN(4) != 0,
				Client: c, Project: []string{"Web", "App"}[rng.IntN(2)], User: users[rng.IntN(2)][0],
				Task: []string{"", "dev"}[rng.IntN(2)], Notes: []string{"", "a", "b"}[rng.IntN(3)]}
		}
		var base []Entry
		for range 20 + rng.IntN(60) {
			base = append(base, fresh(1+rng.IntN(12)))
		}
		for i := range rng.IntN(6) { // identical copies
			base = append(base, base[i])
		}
		file := base
		for round := range 4 {
			if round > 0 {
				file = nil
				lo, hi := 1+rng.IntN(8), 0 // a range overlapping some of the stored days
				hi = lo + 3 + rng.IntN(10)
				for _, e := range base {
					if e.Date < billing.DateOf(2026, 3, lo) || e.Date > billing.DateOf(2026, 3, hi) {
						continue
					}
					switch rng.IntN(12) {
					case 0: // removed upstream
						continue
					case 1: // edited upstream
						e.Seconds += 900
					case 2: // the client spelled another way
						sp := spellings[e.Client]
						e.Client = sp[rng.IntN(len(sp))]
					case 3:
						for _, u := range users {
							if billing.NormalizeName(u[0]) == billing.NormalizeName(e.User) {
								e.User = u[rng.IntN(len(u))]
							}
						}
					case 4: // a copy more
						file = append(file, e)
					}
					file = append(file, e)
				}
				for range rng.IntN(5) { // added upstream
					file = append(file, fresh(lo+rng.IntN(hi-lo+1)))
				}
				if rng.IntN(3) == 0 { // filtered to one person
					u := users[rng.IntN(2)][0]
					file = slices.DeleteFunc(file, func(e Entry) bool { return billing.NormalizeName(e.User) != billing.NormalizeName(u) })
				}
			}
			if rng.IntN(2) == 0 {
				rng.Shuffle(len(file), func(i, j int) { file[i], file[j] = file[j], file[i] })
			} else {
				slices.SortStableFunc(file, func(a, b Entry) int { return int(a.Date - b.Date) })
			}
			want := model.importFile(source, file)
			im, err := s.BeginImport(ctx, rules, source, now)
			if err != nil {
				t.Fatal(err)
			}
			im.pairRows = 1 + rng.IntN(9)
			if seed%2 == 1 { // streamed, in chunks of a few rows
				im.Stream()
				im.streamRows = 1 + rng.IntN(5)
			}
			for _, e := range file {
				if err := im.Add(e); err != nil {
					t.Fatal(err)
				}
			}
			got, err := im.Commit()
			if err != nil {
				t.Fatalf("seed %d, import %d: %v", seed, round, err)
			}
			got.Unmatched, got.UnmatchedClients = 0, nil
			if got.Imported != want.Imported || got.Updated != want.Updated || got.Unchanged != want.Unchanged || got.Removed != want.Removed {
				t.Fatalf("seed %d, import %d of %d rows: %+v, want %+v", seed, round, len(file), got, want)
			}
			stored := map[pairContent]int{}
			if err := s.EachEntry(ctx, 0, billing.MaxDate, func(e Entry) error {
				if e.Source == source {
					stored[contentOf(&e)]++
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			wantStored := map[pairContent]int{}
			for _, c := range model[source] {
				wantStored[c]++
			}
			if !maps.Equal(stored, wantStored) {
				t.Fatalf("seed %d, import %d: the stored rows differ from the rule's (%d kinds, want %d)", seed, round, len(stored), len(wantStored))
			}
		}
	}
	// The usage the imports left is the entries' (adds and removals
	// through every path above).
	var bad int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT contract_id, day, SUM(counted) AS c, COUNT(*) AS n FROM entries
		WHERE contract_id <> '' GROUP BY contract_id, day) e FULL OUTER JOIN usage_daily u ON u.contract_id = e.contract_id AND u.day = e.day
		WHERE e.c IS NULL OR u.counted IS NULL OR e.c <> u.counted OR e.n <> u.entries`).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("%d usage_daily rows differ from the entries", bad)
	}
}

// TestUnchangedReimportWritesNothing: the same file again, out of day
// order and read a few rows at a time, leaves every entry as it was (the
// same ids, none of the new batch) and its usage untouched; a file with one
// row edited, one added and one removed on each day writes those only.
func TestUnchangedReimportWritesNothing(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, TestingDSN(t, os.Getenv("RETAINER_TEST_BACKEND") == "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rules := NewRules([]*billing.Contract{{ID: "acme", Client: "Acme Corp", Unit: billing.UnitHours, Terms: billing.Terms{MonthlyHours: 100 * 3600}}})
	now := time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)
	const days, perDay = 10, 30
	var file []Entry
	for i := range days * perDay { // day by day in turn: out of day order
		file = append(file, Entry{Date: billing.DateOf(2026, 3, 1+i%days), Seconds: int64(60 * (1 + i)), Billable: true,
			Client: "Acme Corp", User: "Ada", Notes: fmt.Sprint(i / days)})
	}
	imp := func(rows []Entry, window int) ImportResult {
		t.Helper()
		im, err := s.BeginImport(ctx, rules, "harvest", now)
		if err != nil {
			t.Fatal(err)
		}
		im.pairRows = window
		for _, e := range rows {
			if err := im.Add(e); err != nil {
				t.Fatal(err)
			}
		}
		res, err := im.Commit()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	state := func() (ids []int64, usage string) {
		rows, err := s.db.QueryContext(ctx, `SELECT id FROM entries ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		var c, n int64
		if err := s.db.QueryRowContext(ctx, `SELECT SUM(counted), SUM(entries) FROM usage_daily`).Scan(&c, &n); err != nil {
			t.Fatal(err)
		}
		return ids, fmt.Sprint(c, n)
	}
	if res := imp(file, pairRows); res.Imported != len(file) {
		t.Fatalf("first import %+v", res)
	}
	ids, usage := state()
	for _, window := range []int{pairRows, 1, perDay + 1} {
		if res := imp(file, window); res.Unchanged != len(file) || res.Imported+res.Updated+res.Removed != 0 {
			t.Fatalf("window %d: the same file again %+v", window, res)
		}
		if again, u := state(); !slices.Equal(again, ids) || u != usage {
			t.Fatalf("window %d: the unchanged re-import wrote (%d entries, usage %s → %s)", window, len(again), usage, u)
		}
	}
	// Each day: its first row edited, its second removed, one added.
	var changed []Entry
	for i, e := range file {
		switch i / days {
		case 0:
			e.Seconds += 600
		case 1:
			continue
		}
		changed = append(changed, e)
	}
	for d := range days {
		changed = append(changed, Entry{Date: billing.DateOf(2026, 3, 1+d), Seconds: 3600, Client: "Acme Corp", User: "Ada", Notes: "new"})
	}
	// An edit shows as a row gone and one new in the same combination:
	// the edits and the added rows pair with the removed ones as updates.
	if res := imp(changed, 7); res.Unchanged != len(file)-2*days || res.Updated != 2*days || res.Imported+res.Removed != 0 {
		t.Fatalf("changed file %+v", res)
	}
	after, _ := state()
	kept := 0
	for _, id := range after {
		if _, ok := slices.BinarySearch(ids, id); ok {
			kept++
		}
	}
	if kept != len(file)-2*days || len(after) != len(file) {
		t.Errorf("%d of %d entries kept, %d stored; want %d kept, %d stored", kept, len(ids), len(after), len(file)-2*days, len(file))
	}
}
