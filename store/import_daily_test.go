package store

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"retainer/billing"
)

// TestDailySumsMerge: however many runs the pairs were spilled in (a limit
// of one pair to more than there are), each hands out every (contract,
// day) once, in key order, with the sums of all its adds, and none of the
// unmatched rows' (contract ”).
func TestDailySumsMerge(t *testing.T) {
	for _, limit := range []int{1, 2, 7, 100, 100_000} {
		for seed := range 5 {
			t.Run(fmt.Sprintf("limit=%d/seed=%d", limit, seed), func(t *testing.T) {
				t.Setenv("TMPDIR", t.TempDir())
				rng := rand.New(rand.NewPCG(uint64(seed), 3))
				d := newDailySums(limit)
				defer d.close()
				want := map[usageKey]dailySum{}
				for range 500 + rng.IntN(2000) {
					k := usageKey{[]string{"", "a", "ab", "b", "c-1", "c-10", "c-2", "Z", "p", "q"}[rng.IntN(10)], billing.DateOf(2026, 1, 1) + billing.Date(rng.IntN(60)-10)}
					if k.contract == "p" || k.contract == "q" { // one day each, the same: neighbours in key order
						k.day = billing.DateOf(2026, 1, 1)
					}
					counted := int64(rng.IntN(7200) - 600) // a negative one too: an edit's difference
					if err := d.add(k, counted, 1); err != nil {
						t.Fatal(err)
					}
					if d.pairs() >= limit {
						t.Fatalf("%d pairs held, limit %d", d.pairs(), limit)
					}
					if k.contract != "" {
						s := want[k]
						want[k] = dailySum{s.counted + counted, s.entries + 1}
					}
				}
				if limit < 100 && len(d.runs) < 2 {
					t.Fatalf("%d runs with a limit of %d", len(d.runs), limit)
				}
				var keys []usageKey
				got := map[usageKey]dailySum{}
				if err := d.each(func(k usageKey, s dailySum) error {
					if _, dup := got[k]; dup {
						t.Fatalf("%v handed out twice", k)
					}
					got[k] = s
					keys = append(keys, k)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(got, want) {
					t.Fatalf("%d pairs, want %d; their sums differ", len(got), len(want))
				}
				if !slices.IsSortedFunc(keys, compareKeys) {
					t.Fatal("not in key order")
				}
				if ents, _ := os.ReadDir(os.Getenv("TMPDIR")); len(ents) > 0 {
					t.Fatalf("left in the temporary directory while open: %v", ents)
				}
			})
		}
	}
}

// TestUsageDailyMigration: migration 0021 keeps every usage_daily row of a
// database made before it, in a table without rowid.
func TestUsageDailyMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	importInto(t, s, false, 0, streamFile(3000, 1, 28, "a"))
	before := dump(t, s)
	// As if the database predated 0021: usage_daily a table with a rowid.
	for _, q := range []string{
		`CREATE TABLE usage_daily_old (contract_id TEXT NOT NULL, day INTEGER NOT NULL, counted BIGINT NOT NULL, entries BIGINT NOT NULL,
			PRIMARY KEY (contract_id, day))`,
		`INSERT INTO usage_daily_old SELECT contract_id, day, counted, entries FROM usage_daily`,
		`DROP TABLE usage_daily`,
		`ALTER TABLE usage_daily_old RENAME TO usage_daily`,
		`DELETE FROM schema_migrations WHERE version = 21`,
	} {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()
	if s, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var schema string
	if err := s.db.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'usage_daily'`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(schema, "WITHOUT ROWID") {
		t.Fatalf("usage_daily after the migration: %s", schema)
	}
	if after := dump(t, s); !slices.Equal(after, before) {
		t.Fatalf("%d rows after the migration, %d before; they differ", len(after), len(before))
	}
}
