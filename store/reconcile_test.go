package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// work is a row of an ID-less export: who worked on what, when, how long.
func work(client, project, user, date string, minutes int64, notes string) store.Entry {
	e := row(client, date, minutes, notes)
	e.Project, e.User = project, user
	return e
}

// hoursBy sums the stored entries of March by source, client, project and
// user as written: who keeps which hours.
func hoursBy(t *testing.T, db *store.DB) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := db.EachEntry(context.Background(), billing.DateOf(2026, 3, 1), billing.DateOf(2026, 3, 31), func(e store.Entry) error {
		out[e.Source+"/"+e.Client+"/"+e.Project+"/"+e.User] += e.Seconds / 60
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReconcileScope: an ID-less export replaces, within its first..last
// date, only the entries of the (source, client, project, user)
// combinations it contains, names compared normalized (SPEC §13).
func TestReconcileScope(t *testing.T) {
	// The agency's whole March export: Ada and Bob on Acme's website, Ada
	// also on its app, Cy on Globex.
	ada1 := work("Acme Corp", "Website", "Ada", "2026-03-02", 120, "design")
	ada2 := work("Acme Corp", "Website", "Ada", "2026-03-03", 60, "review")
	adaApp := work("Acme Corp", "App", "Ada", "2026-03-03", 30, "fix")
	bob1 := work("Acme Corp", "Website", "Bob", "2026-03-02", 90, "build")
	bob2 := work("Acme Corp", "Website", "Bob", "2026-03-04", 45, "build")
	cy := work("Globex", "Site", "Cy", "2026-03-03", 15, "call")
	everyone := []store.Entry{ada1, ada2, adaApp, bob1, bob2, cy}
	all := map[string]int64{
		"harvest/Acme Corp/Website/Ada": 180, "harvest/Acme Corp/App/Ada": 30,
		"harvest/Acme Corp/Website/Bob": 135, "harvest/Globex/Site/Cy": 15,
	}
	respell := func(rows []store.Entry, fn func(*store.Entry)) []store.Entry {
		out := append([]store.Entry{}, rows...)
		for i := range out {
			fn(&out[i])
		}
		return out
	}
	with := func(m map[string]int64, k string, minutes int64) map[string]int64 {
		out := map[string]int64{}
		for k, v := range m {
			out[k] = v
		}
		if out[k] = minutes; minutes == 0 {
			delete(out, k)
		}
		return out
	}
	longer := ada2
	longer.Seconds = 75 * 60
	twice := work("Acme Corp", "Website", "Ada", "2026-03-02", 120, "design")

	for _, tc := range []struct {
		name   string
		before [][]store.Entry // imports before, in order
		file   []store.Entry
		want   tally
		hours  map[string]int64 // March minutes per source/client/project/user
	}{
		{"the whole export again", [][]store.Entry{everyone}, everyone,
			tally{Unchanged: 6}, all},
		{"filtered to one person keeps the others' hours", [][]store.Entry{everyone}, []store.Entry{ada1, ada2, adaApp},
			tally{Unchanged: 3}, all},
		{"filtered to one project keeps the other project's hours", [][]store.Entry{everyone}, []store.Entry{adaApp},
			tally{Unchanged: 1}, all},
		{"filtered to one person with a row gone upstream", [][]store.Entry{everyone}, []store.Entry{ada1, adaApp},
			tally{Unchanged: 2, Removed: 1}, with(all, "harvest/Acme Corp/Website/Ada", 120)},
		{"filtered to one person with a row edited upstream", [][]store.Entry{everyone}, []store.Entry{ada1, longer},
			tally{Unchanged: 1, Updated: 1}, with(all, "harvest/Acme Corp/Website/Ada", 195)},
		{"a person's new row", [][]store.Entry{everyone}, []store.Entry{bob1, bob2, work("Acme Corp", "Website", "Bob", "2026-03-04", 30, "")},
			tally{Unchanged: 2, Imported: 1}, with(all, "harvest/Acme Corp/Website/Bob", 165)},
		{"an edit and a deletion in different combinations are not one update", [][]store.Entry{everyone},
			[]store.Entry{ada1, adaApp, bob1, bob2, work("Acme Corp", "Website", "Bob", "2026-03-03", 30, "")},
			tally{Unchanged: 4, Imported: 1, Removed: 1},
			with(with(all, "harvest/Acme Corp/Website/Ada", 120), "harvest/Acme Corp/Website/Bob", 165)},
		{"the client spelled another way counts once", [][]store.Entry{everyone},
			respell(everyone, func(e *store.Entry) { e.Client = strings.ToLower(e.Client) }),
			tally{Updated: 6}, map[string]int64{
				"harvest/acme corp/Website/Ada": 180, "harvest/acme corp/App/Ada": 30,
				"harvest/acme corp/Website/Bob": 135, "harvest/globex/Site/Cy": 15,
			}},
		{"spaces, case and spelling of every name", [][]store.Entry{everyone},
			respell([]store.Entry{ada1, ada2}, func(e *store.Entry) { e.Client, e.Project, e.User = " acme  corp", "WEBSITE ", "ada" }),
			tally{Updated: 2}, map[string]int64{
				"harvest/ acme  corp/WEBSITE /ada": 180, "harvest/Acme Corp/App/Ada": 30,
				"harvest/Acme Corp/Website/Bob": 135, "harvest/Globex/Site/Cy": 15,
			}},
		{"spelled one way, then another, then back", [][]store.Entry{everyone,
			respell(everyone, func(e *store.Entry) { e.Client = strings.Replace(e.Client, "Acme Corp", "ACME  CORP", 1) })}, everyone,
			tally{Updated: 5, Unchanged: 1}, all},
		{"identical rows are two entries", [][]store.Entry{{ada1, twice}}, []store.Entry{ada1, twice},
			tally{Unchanged: 2}, map[string]int64{"harvest/Acme Corp/Website/Ada": 240}},
		{"one of two identical rows gone", [][]store.Entry{{ada1, twice}}, []store.Entry{ada1},
			tally{Unchanged: 1, Removed: 1}, map[string]int64{"harvest/Acme Corp/Website/Ada": 120}},
		{"a row outside the file's dates stays", [][]store.Entry{everyone}, []store.Entry{ada2},
			tally{Unchanged: 1}, all},
		{"another source is another combination", [][]store.Entry{everyone}, nil,
			tally{}, all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := open(t)
			rules := store.NewRules([]*billing.Contract{acme(), globex()})
			for _, rows := range tc.before {
				importRows(t, db, rules, "harvest", rows...)
			}
			if tc.file == nil { // Toggl's export of Ada's day
				importRows(t, db, rules, "toggl", ada1)
				tc.hours = with(tc.hours, "toggl/Acme Corp/Website/Ada", 120)
			} else if got := importRows(t, db, rules, "harvest", tc.file...); got != tc.want {
				t.Errorf("import %+v, want %+v", got, tc.want)
			}
			if got := hoursBy(t, db); !reflect.DeepEqual(got, tc.hours) {
				t.Errorf("hours\n got %v\nwant %v", got, tc.hours)
			}
			// The usage aggregates agree with the entries.
			var acmeMinutes int64
			for k, v := range tc.hours {
				if billing.NormalizeName(strings.Split(k, "/")[1]) == "acme corp" {
					acmeMinutes += v
				}
			}
			if got := usedIn(t, db, rules, "2026-03"); got != acmeMinutes*60 {
				t.Errorf("acme used %d min, want %d", got/60, acmeMinutes)
			}
		})
	}
}

// TestReconcileSameFileRespelledCountsOnce is the known bug: the same
// export imported three times with the client written differently each
// time counted 10, then 20, then 30 h.
func TestReconcileSameFileRespelledCountsOnce(t *testing.T) {
	db := open(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	for i, client := range []string{"Acme Corp", "acme corp", "Acme  Corp ", "Acme Corp"} {
		var rows []store.Entry
		for d := 2; d <= 6; d++ {
			rows = append(rows, work(client, "", "Ada", fmt.Sprintf("2026-03-%02d", d), 120, "work"))
		}
		res := importRows(t, db, rules, "clockify", rows...)
		if got := usedIn(t, db, rules, "2026-03"); got != h(10) {
			t.Fatalf("import %d (%q): used %d h, want 10 (%+v)", i+1, client, got/3600, res)
		}
		if i > 0 && res.Imported+res.Removed != 0 {
			t.Errorf("import %d (%q): %+v", i+1, client, res)
		}
	}
}

// TestReconcileDeletionInClosedPeriod: a row gone upstream from a closed
// month is removed, counted in removed, and becomes a late adjustment; the
// other person's hours of that month are untouched.
func TestReconcileDeletionInClosedPeriod(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	ada := []store.Entry{work("Acme Corp", "", "Ada", "2026-01-05", 180, "a"), work("Acme Corp", "", "Ada", "2026-01-06", 120, "b"),
		work("Acme Corp", "", "Ada", "2026-01-07", 60, "c")}
	bob := work("Acme Corp", "", "Bob", "2026-01-06", 240, "d")
	importRows(t, db, rules, "harvest", append(append([]store.Entry{}, ada...), bob)...)
	if _, err := db.ClosePeriod(ctx, rules, per("2026-01"), "USD", time.UTC, now); err != nil {
		t.Fatal(err)
	}
	// Ada's export: her 6 January row was deleted upstream.
	if res := importRows(t, db, rules, "harvest", ada[0], ada[2]); res != (tally{Unchanged: 2, Removed: 1}) {
		t.Fatalf("import %+v", res)
	}
	if f := status(t, db, rules, "2026-01")["acme-001"]; f.Used != h(10) {
		t.Errorf("closed January changed: used %d", f.Used)
	}
	if f := status(t, db, rules, "2026-02")["acme-001"]; f.LateAdjustment != -h(2) {
		t.Errorf("February late adjustment %d, want -2 h (Bob's 4 h kept)", f.LateAdjustment)
	}
}

// TestImportUnmatchedClients: the rows that match no contract are reported
// by client, spellings merged, most hours first.
func TestImportUnmatchedClients(t *testing.T) {
	db := open(t)
	rules := store.NewRules([]*billing.Contract{acme()})
	res := importFull(t, db, rules, "generic",
		row("Nobody Inc", "2026-03-02", 60, ""), row("Acme Corp", "2026-03-02", 600, ""),
		row("", "2026-03-03", 30, "no client"), row("nobody  inc", "2026-03-04", 90, ""),
		row("Initech", "2026-03-04", 30, ""))
	want := []store.UnmatchedClient{{"Nobody Inc", 150 * 60, 2}, {"", 30 * 60, 1}, {"Initech", 30 * 60, 1}}
	if res.Unmatched != 4 || !reflect.DeepEqual(res.UnmatchedClients, want) {
		t.Errorf("unmatched %d %+v, want 4 %+v", res.Unmatched, res.UnmatchedClients, want)
	}
	merged := store.MergeUnmatched([]store.UnmatchedClient{{"initech", 3600, 2}}, want)
	if wantMerged := []store.UnmatchedClient{{"Nobody Inc", 150 * 60, 2}, {"initech", 90 * 60, 3}, {"", 30 * 60, 1}}; !reflect.DeepEqual(merged, wantMerged) {
		t.Errorf("merged %+v, want %+v", merged, wantMerged)
	}
}

// benchRows is an ID-less export of n rows: 20 people on 5 projects of 10
// clients over March, with a few notes each.
func benchRows(n int) []store.Entry {
	rows := make([]store.Entry, n)
	for i := range rows {
		rows[i] = store.Entry{Date: billing.DateOf(2026, 3, 1+i%31), Seconds: int64(15 * 60 * (1 + i%8)), Billable: i%7 != 0,
			Client: fmt.Sprintf("Client %02d", i%10), Project: fmt.Sprintf("Project %d", i%5),
			User: fmt.Sprintf("Person %02d", i%20), Notes: fmt.Sprintf("task %d", i%13)}
	}
	return rows
}

// BenchmarkReimportUnchanged imports an ID-less export of 10,000 and 30,000
// rows once, then times importing the same file again (nothing changes).
// Run with go test ./store -run '^$' -bench ReimportUnchanged -benchtime 5x;
// with RETAINER_TEST_POSTGRES_URL set it runs on PostgreSQL too.
func BenchmarkReimportUnchanged(b *testing.B) {
	ctx := context.Background()
	cs := make([]*billing.Contract, 10)
	for i := range cs {
		cs[i] = &billing.Contract{ID: fmt.Sprintf("c%02d", i), Client: fmt.Sprintf("Client %02d", i), Unit: billing.UnitHours,
			Terms: billing.Terms{MonthlyHours: 40 * 3600}}
	}
	rules := store.NewRules(cs)
	now := time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, n := range []int{10000, 30000} {
			b.Run(fmt.Sprintf("%s/rows=%d", backend, n), func(b *testing.B) {
				db, err := store.Open(ctx, store.TestingDSN(b, backend == "postgres"))
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				rows := benchRows(n)
				imp := func() store.ImportResult {
					im, err := db.BeginImport(ctx, rules, "harvest", now)
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range rows {
						if err := im.Add(r); err != nil {
							b.Fatal(err)
						}
					}
					res, err := im.Commit()
					if err != nil {
						b.Fatal(err)
					}
					return res
				}
				if res := imp(); res.Imported != n {
					b.Fatalf("first import %+v", res)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if res := imp(); res.Unchanged != n || res.Imported+res.Updated+res.Removed != 0 {
						b.Fatalf("re-import %+v", res)
					}
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
