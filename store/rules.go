package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The rules table holds one row per contract (and the matcher's under ""):
// 10,000 contracts are 10,000 rows, and reading them through database/sql
// costs more than the rest of a small command. SyncRules asks the database
// for them as one row instead — every (contract_id, fingerprint) pair
// joined in key order — and compares it with the same string built from
// the rules.

// Separators of the joined rules: a contract id never holds them (config
// restricts ids to [a-z0-9][a-z0-9_-]*), nor does a fingerprint.
const (
	ruleFieldSep  = "\x1f"
	ruleRecordSep = "\x1e"
)

// SyncRules is Sync, but when the stored rules are those of rules it reads
// one row (the rules joined in the database) instead of one per contract.
// Otherwise, or when a contract id holds a separator, it is Sync.
func (s *DB) SyncRules(ctx context.Context, rules *Rules, now time.Time) (SyncResult, error) {
	if want, ok := joinedRules(rules); ok {
		unchanged, err := s.rulesStoredAs(ctx, want, len(rules.list)+1)
		if err != nil {
			return SyncResult{}, fmt.Errorf("sync contracts: %w", err)
		}
		if unchanged {
			return SyncResult{}, nil
		}
	}
	return s.Sync(ctx, rules, now)
}

// joinedRules is the rules table of rules as rulesStoredAs reads it: each
// "contract_id\x1ffingerprint", in byte order of contract_id, joined by
// "\x1e" ("" — the matcher — first). ok is false when an id or a
// fingerprint holds a separator, or two contracts share an id.
func joinedRules(rules *Rules) (string, bool) {
	var b strings.Builder
	add := func(id, fp string) bool {
		if strings.ContainsAny(id, ruleFieldSep+ruleRecordSep) || strings.ContainsAny(fp, ruleFieldSep+ruleRecordSep) {
			return false
		}
		if b.Len() > 0 {
			b.WriteString(ruleRecordSep)
		}
		b.WriteString(id)
		b.WriteString(ruleFieldSep)
		b.WriteString(fp)
		return true
	}
	if !add("", rules.matchFingerprint()) {
		return "", false
	}
	for i, c := range rules.list { // sorted by id
		if c.ID == "" || i > 0 && rules.list[i-1].ID == c.ID {
			return "", false
		}
		if !add(c.ID, countFingerprint(c)) {
			return "", false
		}
	}
	return b.String(), true
}

// rulesStoredAs reports whether the rules table holds exactly n rows that
// join to want. With the row count equal, a stored id or fingerprint that
// held a separator would add one to the joined string that want has not,
// so equal strings are equal tables.
func (s *DB) rulesStoredAs(ctx context.Context, want string, n int) (bool, error) {
	q := `SELECT COUNT(*), group_concat(r, char(30)) FROM (SELECT contract_id || char(31) || fingerprint AS r FROM rules ORDER BY contract_id)`
	if s.d.postgres {
		q = `SELECT COUNT(*), string_agg(contract_id || chr(31) || fingerprint, chr(30) ORDER BY contract_id COLLATE "C") FROM rules`
	}
	var count int
	var joined sql.NullString
	err := s.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, q).Scan(&count, &joined)
	})
	if err != nil {
		return false, err
	}
	return count == n && joined.Valid && joined.String == want, nil
}
