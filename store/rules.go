package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"retainer/billing"
)

// The rules table holds one row per contract (and the matcher's under ""):
// 10,000 contracts are 10,000 rows, and reading them through database/sql
// costs more than the rest of a small command. SyncRules compares one row
// instead: the SHA-256 of the rules joined — every (contract_id,
// fingerprint) pair in key order — kept in rules_digest once the table was
// found to join to them. The digest row references the matcher's row of
// rules with ON DELETE CASCADE: Sync rewrites the rules by deleting every
// row, so any rewrite, by this version or an older one, takes the digest
// with it, and the next SyncRules compares the rules joined in the
// database (one row too, but of the whole table) and keeps a new digest.

// Separators of the joined rules: a contract id never holds them (config
// restricts ids to [a-z0-9][a-z0-9_-]*), nor does a fingerprint.
const (
	ruleFieldSep  = "\x1f"
	ruleRecordSep = "\x1e"
)

// SyncRules is Sync, but when the stored rules are those of rules it reads
// one small row (the digest) instead of one per contract. Otherwise, or
// when a contract id holds a separator, it is Sync; after it, the digest of
// the rules is kept for the next command (if the store can be written).
func (s *DB) SyncRules(ctx context.Context, rules *Rules, now time.Time) (SyncResult, error) {
	want, ok := joinedRules(rules)
	if !ok {
		return s.Sync(ctx, rules, now)
	}
	digest := rulesDigest(want)
	if s.rulesDigestIs(ctx, digest) {
		return SyncResult{}, nil
	}
	n := len(rules.list) + 1
	unchanged, err := s.rulesStoredAs(ctx, want, n)
	if err != nil {
		return SyncResult{}, fmt.Errorf("sync contracts: %w", err)
	}
	if unchanged {
		// Only a read so far: the digest is kept if the write lock is free
		// now, not after another process's long write.
		wctx, cancel := context.WithTimeout(ctx, digestWait)
		defer cancel()
		s.keepRulesDigest(wctx, want, n, digest)
		return SyncResult{}, nil
	}
	res, err := s.Sync(ctx, rules, now)
	if err != nil {
		return SyncResult{}, err
	}
	s.keepRulesDigest(ctx, want, n, digest)
	return res, nil
}

// digestWait bounds how long a command whose rules are unchanged waits for
// the write lock to keep their digest; it tries again next time.
const digestWait = 200 * time.Millisecond

// rulesDigest is the digest of the joined rules, in hex.
func rulesDigest(joined string) string {
	sum := sha256.Sum256([]byte(joined))
	return hex.EncodeToString(sum[:])
}

// rulesDigestIs reports whether the kept digest is digest. A database
// without the table (a read-only store behind its migrations) or any error
// says no: the caller then compares the whole table.
func (s *DB) rulesDigestIs(ctx context.Context, digest string) bool {
	var kept string
	err := s.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT digest FROM rules_digest WHERE contract_id = ''`).Scan(&kept)
	})
	return err == nil && kept == digest
}

// keepRulesDigest stores the digest of want, in a write transaction that
// first checks, under the write lock, that the table still joins to want
// (another process may have synced other rules since). It gives up quietly:
// a store that cannot be written, or a writer in the way, costs only the
// next command's speed.
func (s *DB) keepRulesDigest(ctx context.Context, want string, n int, digest string) {
	if !s.versioned { // read-only, or the table may not be there
		return
	}
	// The digest changes nothing a page is drawn from: the data version
	// stays (a first command after an upgrade would otherwise redraw every
	// cached page once).
	s.tx(unversioned(ctx), func(tx *sql.Tx) error {
		same, err := rulesJoinedAs(ctx, tx, s.d.postgres, want, n)
		if err != nil || !same {
			return errRulesMoved
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM rules_digest`); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO rules_digest (contract_id, digest) VALUES ('', ?)`, digest)
		return err
	})
}

var errRulesMoved = errors.New("the rules changed before their digest was kept")

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
	if !add("", rules.appendMatchFingerprint()) {
		return "", false
	}
	var fp []byte
	for i, c := range rules.list { // sorted by id
		if c.ID == "" || i > 0 && rules.list[i-1].ID == c.ID {
			return "", false
		}
		fp = appendCountFingerprint(fp[:0], c)
		if !add(c.ID, string(fp)) {
			return "", false
		}
	}
	return b.String(), true
}

// appendMatchFingerprint is matchFingerprint written with appends into one
// buffer instead of a formatted write per value: the same digest of the
// same bytes, a few times cheaper for 10,000 contracts
// (TestFingerprintsAsSync holds them equal).
func (r *Rules) appendMatchFingerprint() string {
	h := sha256.New()
	b := make([]byte, 0, 64<<10)
	for _, c := range r.list {
		b = append(append(b, c.ID...), 0)
		b = append(appendNormalized(b, c.Client), 0)
		for _, m := range c.Match {
			b = append(appendNormalized(append(b, 'm'), m), 0)
		}
		b = append(appendPeriodKey(b, c.Start), 0)
		b = append(appendPeriodKey(b, c.End), 1)
		if len(b) >= 60<<10 {
			h.Write(b)
			b = b[:0]
		}
	}
	h.Write(b)
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// appendNormalized appends billing.NormalizeName(s): a name of printable
// ASCII whose spaces are single and inside it (most names) is lowered here
// byte by byte, which is what NormalizeName does to it; any other is left
// to NormalizeName.
func appendNormalized(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c > '~' || c == ' ' && (i == 0 || i == len(s)-1 || s[i-1] == ' ') {
			return append(b, billing.NormalizeName(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendPeriodKey appends periodKey(p).
func appendPeriodKey(b []byte, p *billing.Period) []byte {
	if p == nil {
		return append(b, '-')
	}
	y, m := p.Year(), int(p.Month())
	if y < 0 || y > 9999 || m < 1 || m > 12 {
		return append(b, p.String()...)
	}
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-', byte('0'+m/10), byte('0'+m%10))
}

// appendCountFingerprint appends countFingerprint(c).
func appendCountFingerprint(b []byte, c *billing.Contract) []byte {
	b = append(append(b, c.Unit...), '/')
	b = append(strconv.AppendInt(b, int64(c.RoundingMinutes), 10), '/')
	return strconv.AppendBool(b, c.CountNonBillable)
}

// rulesStoredAs reports whether the rules table holds exactly n rows that
// join to want. With the row count equal, a stored id or fingerprint that
// held a separator would add one to the joined string that want has not,
// so equal strings are equal tables.
func (s *DB) rulesStoredAs(ctx context.Context, want string, n int) (same bool, err error) {
	err = s.read(ctx, func(tx *sql.Tx) error {
		same, err = rulesJoinedAs(ctx, tx, s.d.postgres, want, n)
		return err
	})
	return same, err
}

// rulesJoinedAs is rulesStoredAs in tx.
func rulesJoinedAs(ctx context.Context, tx *sql.Tx, postgres bool, want string, n int) (bool, error) {
	q := `SELECT COUNT(*), group_concat(r, char(30)) FROM (SELECT contract_id || char(31) || fingerprint AS r FROM rules ORDER BY contract_id)`
	if postgres {
		q = `SELECT COUNT(*), string_agg(contract_id || chr(31) || fingerprint, chr(30) ORDER BY contract_id COLLATE "C") FROM rules`
	}
	var count int
	var joined sql.NullString
	if err := tx.QueryRowContext(ctx, q).Scan(&count, &joined); err != nil {
		return false, err
	}
	return count == n && joined.Valid && joined.String == want, nil
}
