package store

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"retainer/billing"
)

// The fingerprints SyncRules joins are those Sync stores, byte for byte,
// whatever the names hold: upper case, runs of spaces, tabs and line
// breaks, non-ASCII, control characters, empty match entries, periods
// nil, ordinary or out of range.
func TestFingerprintsAsSync(t *testing.T) {
	p := func(v billing.Period) *billing.Period { return &v }
	names := []string{"Acme Corp", "acme corp", "  Acme   Corp  ", "Acme\tCorp", "Acme\nCorp", "Müller & Søn", "ＡＣＭＥ", "a\u00a0b",
		"", " ", "x", "UPPER lower 123 !#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "bell\x07", "del\x7f", "bad \xff", "日本 語"}
	var cs []*billing.Contract
	for i, n := range names {
		c := &billing.Contract{ID: string(rune('a'+i%26)) + "-" + string(rune('a'+i/26)), Client: n, Match: []string{n, "", "  " + n},
			Unit: billing.UnitHours, RoundingMinutes: i * 7, CountNonBillable: i%2 == 0}
		switch i % 4 {
		case 1:
			c.Start, c.End = p(billing.NewPeriod(2026, 1)), p(billing.NewPeriod(2026, 12))
		case 2:
			c.Start, c.Unit = p(-5), billing.UnitSessions
		case 3:
			c.End, c.Match = p(billing.NewPeriod(10000, 1)), nil
		}
		cs = append(cs, c)
	}
	r := NewRules(cs)
	if got, want := r.appendMatchFingerprint(), r.matchFingerprint(); got != want {
		t.Errorf("appendMatchFingerprint = %s, matchFingerprint = %s", got, want)
	}
	for _, c := range cs {
		if got, want := string(appendCountFingerprint(nil, c)), countFingerprint(c); got != want {
			t.Errorf("%s: appendCountFingerprint = %q, countFingerprint = %q", c.ID, got, want)
		}
		if got, want := string(appendNormalized(nil, c.Client)), billing.NormalizeName(c.Client); got != want {
			t.Errorf("appendNormalized(%q) = %q, NormalizeName = %q", c.Client, got, want)
		}
	}
}

// The digest of the rules is kept after SyncRules, and an unchanged config
// then reads that row alone; any rewrite of the rules table — a Sync of
// other rules, as an older retainer does it without knowing the digest —
// deletes it with the matcher's row, so the next SyncRules compares the
// whole table and re-matches. Each change of the matching or the counting
// changes the digest.
func TestSyncRulesDigest(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	path := TestingDSN(t, os.Getenv("RETAINER_TEST_BACKEND") == "postgres")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kept := func() string {
		t.Helper()
		var d string
		err := db.read(ctx, func(tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `SELECT digest FROM rules_digest WHERE contract_id = ''`).Scan(&d)
		})
		if err == sql.ErrNoRows {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	digestOf := func(r *Rules) string {
		j, ok := joinedRules(r)
		if !ok {
			t.Fatal("joinedRules refused plain ids")
		}
		return rulesDigest(j)
	}
	rules := NewRules(rulesContracts())
	if res, err := db.SyncRules(ctx, rules, now); err != nil || !res.Rematched {
		t.Fatalf("first SyncRules = %+v, %v", res, err)
	}
	if got, want := kept(), digestOf(rules); got != want {
		t.Fatalf("kept digest %q, want %q", got, want)
	}

	// With the digest kept, SyncRules reads nothing else: a fingerprint
	// changed behind its back (as nothing but this test does) goes unseen.
	if _, err := db.db.ExecContext(ctx, `UPDATE rules SET fingerprint = 'x' WHERE contract_id = ?`, "b"); err != nil {
		t.Fatal(err)
	}
	if res, err := db.SyncRules(ctx, rules, now); err != nil || res.Rematched || len(res.Recounted) != 0 {
		t.Fatalf("SyncRules with the digest kept = %+v, %v", res, err)
	}
	if _, err := db.Sync(ctx, rules, now); err != nil { // puts the table right (and drops the digest)
		t.Fatal(err)
	}

	// A Sync of other rules, without SyncRules: the digest goes with them.
	other := NewRules(rulesContracts()[1:])
	if _, err := db.SyncRules(ctx, rules, now); err != nil || kept() != digestOf(rules) {
		t.Fatalf("digest not kept again: %v", err)
	}
	if res, err := db.Sync(ctx, other, now); err != nil || !res.Rematched {
		t.Fatalf("Sync of other rules = %+v, %v", res, err)
	}
	if got := kept(); got != "" {
		t.Fatalf("the digest survived a rewrite of the rules: %q", got)
	}
	if res, err := db.SyncRules(ctx, rules, now); err != nil || !res.Rematched {
		t.Fatalf("SyncRules after another Sync = %+v, %v; want re-matched", res, err)
	}
	if got, want := kept(), digestOf(rules); got != want {
		t.Fatalf("kept digest %q after re-matching, want %q", got, want)
	}

	// Every kind of change gives another digest and is synced.
	seen := map[string]string{digestOf(rules): "unchanged"}
	for _, tc := range []struct {
		name      string
		edit      func(*billing.Contract)
		rematched bool
	}{
		{"client", func(c *billing.Contract) { c.Client = "Other" }, true},
		{"client case", func(c *billing.Contract) { c.Client = "CLIENT B" }, false},
		{"match", func(c *billing.Contract) { c.Match = []string{"web"} }, true},
		{"start", func(c *billing.Contract) { p := billing.NewPeriod(2026, 3); c.Start = &p }, true},
		{"end", func(c *billing.Contract) { p := billing.NewPeriod(2027, 3); c.End = &p }, true},
		{"unit", func(c *billing.Contract) { c.Unit = billing.UnitSessions }, false},
		{"rounding", func(c *billing.Contract) { c.RoundingMinutes = 6 }, false},
		{"non-billable", func(c *billing.Contract) { c.CountNonBillable = true }, false},
		{"id", func(c *billing.Contract) { c.ID = "bb" }, true},
	} {
		cs := rulesContracts()
		tc.edit(cs[0])
		r := NewRules(cs)
		d := digestOf(r)
		if tc.name == "client case" { // NormalizeName: the matching is the same
			if d != digestOf(rules) {
				t.Errorf("%s: digest changed", tc.name)
			}
			continue
		}
		if prev, dup := seen[d]; dup {
			t.Errorf("%s: same digest as %s", tc.name, prev)
		}
		seen[d] = tc.name
		res, err := db.SyncRules(ctx, r, now)
		if err != nil || res.Rematched != tc.rematched || !tc.rematched && len(res.Recounted) != 1 {
			t.Errorf("%s: SyncRules = %+v, %v", tc.name, res, err)
		}
		if kept() != d {
			t.Errorf("%s: digest not kept", tc.name)
		}
		if changed, err := db.RulesChanged(ctx, r); err != nil || changed {
			t.Errorf("%s: RulesChanged after SyncRules = %t, %v", tc.name, changed, err)
		}
		if _, err := db.SyncRules(ctx, rules, now); err != nil { // back
			t.Fatal(err)
		}
	}

	// A read-only store syncs nothing and keeps no digest, but reads one.
	if IsPostgres(path) {
		return
	}
	db.Close()
	ro, err := OpenWith(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if res, err := ro.SyncRules(ctx, rules, now); err != nil || res.Rematched {
		t.Errorf("read-only SyncRules = %+v, %v", res, err)
	}
}
