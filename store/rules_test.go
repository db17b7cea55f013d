package store

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"retainer/billing"
)

// rulesContracts are contracts whose ids sort differently by bytes than by
// a natural or locale collation ("a-1" < "a1" < "a_1" < "b" in bytes), so
// that a join in another order than Go's would never match.
func rulesContracts() []*billing.Contract {
	var out []*billing.Contract
	for _, id := range []string{"b", "a_1", "a1", "a-1", "a10", "a2"} {
		out = append(out, &billing.Contract{ID: id, Client: "Client " + id, Unit: billing.UnitHours,
			Terms: billing.Terms{MonthlyHours: 10 * 3600}})
	}
	return out
}

// TestSyncRulesReadsOneRow: after a Sync, the rules joined in the database
// are the rules joined in Go, so that an unchanged config takes the one-row
// path; any change of the matching or the counting, and any other set of
// contracts, is not, and SyncRules then does what Sync does.
func TestSyncRulesReadsOneRow(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name          string
		edit          func([]*billing.Contract) []*billing.Contract
		rematched     bool
		recounted     int
		wantUnchanged bool
	}{
		{"unchanged", func(cs []*billing.Contract) []*billing.Contract { return cs }, false, 0, true},
		{"client renamed", func(cs []*billing.Contract) []*billing.Contract { cs[0].Client = "Other"; return cs }, true, 0, false},
		{"match added", func(cs []*billing.Contract) []*billing.Contract { cs[1].Match = []string{"web"}; return cs }, true, 0, false},
		{"start set", func(cs []*billing.Contract) []*billing.Contract {
			p := billing.NewPeriod(2026, 3)
			cs[2].Start = &p
			return cs
		}, true, 0, false},
		{"rounding", func(cs []*billing.Contract) []*billing.Contract { cs[3].RoundingMinutes = 15; return cs }, false, 1, false},
		{"non-billable counted", func(cs []*billing.Contract) []*billing.Contract { cs[4].CountNonBillable = true; return cs }, false, 1, false},
		{"unit", func(cs []*billing.Contract) []*billing.Contract { cs[5].Unit = billing.UnitSessions; return cs }, false, 1, false},
		{"contract removed", func(cs []*billing.Contract) []*billing.Contract { return cs[1:] }, true, 0, false},
		{"contract added", func(cs []*billing.Contract) []*billing.Contract {
			return append(cs, &billing.Contract{ID: "c", Client: "C", Unit: billing.UnitHours})
		}, true, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(ctx, TestingDSN(t, os.Getenv("RETAINER_TEST_BACKEND") == "postgres"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			old := NewRules(rulesContracts())
			if _, err := db.Sync(ctx, old, now); err != nil {
				t.Fatal(err)
			}
			want, ok := joinedRules(old)
			if !ok {
				t.Fatal("joinedRules refused plain ids")
			}
			if same, err := db.rulesStoredAs(ctx, want, len(old.list)+1); err != nil || !same {
				t.Fatalf("after Sync the stored rules do not join as in Go (%v): the one-row path never applies", err)
			}
			rules := NewRules(tc.edit(rulesContracts()))
			joined, _ := joinedRules(rules)
			same, err := db.rulesStoredAs(ctx, joined, len(rules.list)+1)
			if err != nil {
				t.Fatal(err)
			}
			if same != tc.wantUnchanged {
				t.Errorf("stored rules read as unchanged = %t, want %t", same, tc.wantUnchanged)
			}
			res, err := db.SyncRules(ctx, rules, now)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rematched != tc.rematched || len(res.Recounted) != tc.recounted {
				t.Errorf("SyncRules = %+v, want rematched %t, %d recounted", res, tc.rematched, tc.recounted)
			}
			// Synced: the next SyncRules finds the rules unchanged.
			if res, err := db.SyncRules(ctx, rules, now); err != nil || res.Rematched || len(res.Recounted) != 0 {
				t.Errorf("second SyncRules = %+v, %v", res, err)
			}
			if changed, err := db.RulesChanged(ctx, rules); err != nil || changed {
				t.Errorf("after SyncRules: RulesChanged = %t, %v", changed, err)
			}
		})
	}
}

// TestSyncRulesRematchesEntries: a changed match list re-matches the stored
// entries through SyncRules, as through Sync.
func TestSyncRulesRematchesEntries(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	db, err := Open(ctx, TestingDSN(t, os.Getenv("RETAINER_TEST_BACKEND") == "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := &billing.Contract{ID: "acme", Client: "Acme", Unit: billing.UnitHours, Terms: billing.Terms{MonthlyHours: 40 * 3600}}
	rules := NewRules([]*billing.Contract{a})
	if _, err := db.SyncRules(ctx, rules, now); err != nil {
		t.Fatal(err)
	}
	e := Entry{Source: "log", Date: billing.DateOf(2026, 3, 3), Seconds: 3600, Billable: true, Client: "Initech", Project: "Website"}
	if err := db.AddEntries(ctx, rules, []Entry{e}, now); err != nil {
		t.Fatal(err)
	}
	used := func(r *Rules) int64 {
		t.Helper()
		v, err := db.Status(ctx, r, billing.NewPeriod(2026, 3), billing.DateOf(2026, 3, 10))
		if err != nil {
			t.Fatal(err)
		}
		return v.Rows[0].Figures.Used
	}
	if got := used(rules); got != 0 {
		t.Fatalf("before: used %d", got)
	}
	a2 := *a
	a2.Match = []string{"website"}
	rules = NewRules([]*billing.Contract{&a2})
	if res, err := db.SyncRules(ctx, rules, now); err != nil || !res.Rematched {
		t.Fatalf("SyncRules = %+v, %v", res, err)
	}
	if got := used(rules); got != 3600 {
		t.Errorf("after the match list changed: used %d, want 3600", got)
	}
}

// TestJoinedRulesRefusesSeparators: an id holding a separator (a Contract
// built by hand; config refuses it) leaves SyncRules to Sync.
func TestJoinedRulesRefusesSeparators(t *testing.T) {
	for _, tc := range []struct {
		ids  []string
		want bool
	}{
		{[]string{"a", "b"}, true},
		{[]string{"a\x1fb"}, false},
		{[]string{"a\x1eb"}, false},
		{[]string{"a", "a"}, false},
		{[]string{""}, false},
	} {
		var cs []*billing.Contract
		for _, id := range tc.ids {
			cs = append(cs, &billing.Contract{ID: id, Client: "X", Unit: billing.UnitHours})
		}
		if _, ok := joinedRules(NewRules(cs)); ok != tc.want {
			t.Errorf("joinedRules(%q) ok = %t, want %t", tc.ids, ok, tc.want)
		}
	}
}

// BenchmarkSyncRules is the check every command makes with the rules
// unchanged, for 10,000 contracts: Sync (a row per contract) and SyncRules
// (one row) in interleaved pairs, reporting the min and median of the
// pairs' time ratios (SyncRules / Sync). Run with
// go test ./store -run '^$' -bench SyncRules -benchtime 20x
func BenchmarkSyncRules(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	db, err := Open(ctx, TestingDSN(b, false))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rules := NewRules(benchContracts(10000, nil))
	if _, err := db.Sync(ctx, rules, now); err != nil {
		b.Fatal(err)
	}
	var ratios, full, quick []float64
	for i := 0; i < b.N; i++ {
		f := elapsed(func() {
			if res, err := db.Sync(ctx, rules, now); err != nil || res.Rematched {
				b.Fatal(res, err)
			}
		})
		q := elapsed(func() {
			if res, err := db.SyncRules(ctx, rules, now); err != nil || res.Rematched {
				b.Fatal(res, err)
			}
		})
		full, quick, ratios = append(full, f), append(quick, q), append(ratios, q/f)
	}
	slices.Sort(ratios)
	slices.Sort(full)
	slices.Sort(quick)
	b.ReportMetric(ratios[0], "min-ratio")
	b.ReportMetric(ratios[len(ratios)/2], "median-ratio")
	b.ReportMetric(full[len(full)/2]*1e3, "sync-ms")
	b.ReportMetric(quick[len(quick)/2]*1e3, "syncrules-ms")
}
