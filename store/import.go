package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"retainer/billing"
)

// ImportResult counts what one import changed.
type ImportResult struct {
	Imported  int // new entries
	Updated   int // entries whose content changed (an edit upstream)
	Unchanged int // entries already there as they are
	Removed   int // entries gone upstream, deleted
	Unmatched int // rows of the file that match no contract
}

// Import is one file's import: rows are staged as they stream in, and
// Commit reconciles them with what the source imported before, all in one
// transaction. Nothing is visible until Commit; Rollback (or any error)
// leaves the database as it was.
type Import struct {
	s      *DB
	ctx    context.Context
	tx     *sql.Tx
	stage  *sql.Stmt
	rules  *Rules
	source string
	now    time.Time
	seq    int64
	res    ImportResult
	done   bool
}

// BeginImport starts importing rows of one source ("harvest", "toggl", …).
func (s *DB) BeginImport(ctx context.Context, rules *Rules, source string, now time.Time) (*Import, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	im := &Import{s: s, ctx: ctx, tx: tx, rules: rules, source: source, now: now}
	for _, q := range []string{
		`CREATE TEMP TABLE IF NOT EXISTS import_rows (
			seq BIGINT PRIMARY KEY, external_id TEXT, day INTEGER NOT NULL, period INTEGER NOT NULL,
			seconds BIGINT NOT NULL, billable INTEGER NOT NULL, client TEXT NOT NULL, client_key TEXT NOT NULL,
			project TEXT NOT NULL, project_code TEXT NOT NULL, task TEXT NOT NULL, notes TEXT NOT NULL,
			user_name TEXT NOT NULL, contract_id TEXT NOT NULL, counted BIGINT NOT NULL, fingerprint TEXT NOT NULL,
			keep INTEGER NOT NULL DEFAULT 0)`,
		`DELETE FROM import_rows`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("import staging: %w", err)
		}
	}
	im.stage, err = tx.PrepareContext(ctx, `INSERT INTO import_rows (seq, external_id, day, period, seconds, billable, client,
		client_key, project, project_code, task, notes, user_name, contract_id, counted, fingerprint)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	return im, nil
}

// SetSource names the source before Commit, for a caller that learns it
// while the rows stream in (a file's format is detected as it is read).
func (im *Import) SetSource(source string) { im.source = source }

// Add stages one row.
func (im *Import) Add(e Entry) error {
	e.Source, e.Pinned = im.source, ""
	im.rules.resolve(&e)
	if e.ContractID == "" {
		im.res.Unmatched++
	}
	im.seq++
	var ext any
	if e.ExternalID != "" {
		ext = e.ExternalID
	}
	_, err := im.stage.ExecContext(im.ctx, im.seq, ext, int64(e.Date), int64(e.Date.Period()), e.Seconds, boolInt(e.Billable),
		e.Client, billing.NormalizeName(e.Client), e.Project, e.ProjectCode, e.Task, e.Notes, e.User, e.ContractID, e.Counted, e.fingerprint())
	if err != nil {
		return fmt.Errorf("stage row: %w", err)
	}
	return nil
}

// Rollback abandons the import.
func (im *Import) Rollback() {
	if !im.done {
		im.done = true
		im.stage.Close()
		im.tx.Rollback()
	}
}

// Commit reconciles the staged rows with the database and commits:
//   - rows with an external id are upserted by (source, external id);
//   - rows without one replace, for each client in the file, the source's
//     id-less entries dated within the file's first..last date: rows already
//     there are kept, rows gone are deleted, new rows inserted. Identical rows
//     count as many times as they appear.
//
// Usage aggregates change once per touched (contract, period); changes in
// closed periods become late adjustments.
func (im *Import) Commit() (ImportResult, error) {
	if im.done {
		return ImportResult{}, fmt.Errorf("import already finished")
	}
	defer im.Rollback()
	ctx, tx := im.ctx, im.tx
	d := deltas{}
	if err := im.upsertWithIDs(d); err != nil {
		return ImportResult{}, err
	}
	if err := im.reconcileWithoutIDs(d); err != nil {
		return ImportResult{}, err
	}
	if err := d.apply(ctx, tx, im.now); err != nil {
		return ImportResult{}, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM usage WHERE entries = 0 AND counted = 0 AND seconds = 0`); err != nil {
		return ImportResult{}, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM import_rows`); err != nil {
		return ImportResult{}, err
	}
	if err := im.s.hook("import:commit"); err != nil {
		return ImportResult{}, err
	}
	im.stage.Close()
	if err := tx.Commit(); err != nil {
		return ImportResult{}, err
	}
	im.done = true
	return im.res, nil
}

const stagedCols = `day, period, seconds, billable, client, client_key, project, project_code, task, notes, user_name, contract_id, counted, fingerprint`

// addStagedDeltas adds the usage of the staged rows that match where.
func addStagedDeltas(ctx context.Context, tx *sql.Tx, d deltas, where string, args ...any) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT contract_id, period, SUM(counted), SUM(seconds), COUNT(*) FROM import_rows s WHERE `+where+
		` GROUP BY contract_id, period`, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var k usageKey
		var p, counted, secs, cnt int64
		if err := rows.Scan(&k.contract, &p, &counted, &secs, &cnt); err != nil {
			return 0, err
		}
		k.period = billing.Period(p)
		u := d[k]
		if u == nil {
			u = &usageDelta{}
			d[k] = u
		}
		u.counted += counted
		u.seconds += secs
		u.entries += cnt
		n += int(cnt)
	}
	return n, rows.Err()
}

// removeEntries deletes entries by the condition, subtracting their usage.
func removeEntries(ctx context.Context, tx *sql.Tx, d deltas, where string, args ...any) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT contract_id, period, SUM(counted), SUM(seconds), COUNT(*) FROM entries e WHERE `+where+
		` GROUP BY contract_id, period`, args...)
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		var k usageKey
		var p, counted, secs, cnt int64
		if err := rows.Scan(&k.contract, &p, &counted, &secs, &cnt); err != nil {
			rows.Close()
			return 0, err
		}
		k.period = billing.Period(p)
		u := d[k]
		if u == nil {
			u = &usageDelta{}
			d[k] = u
		}
		u.counted -= counted
		u.seconds -= secs
		u.entries -= cnt
		n += int(cnt)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM entries WHERE id IN (SELECT e.id FROM entries e WHERE `+where+`)`, args...)
	return n, err
}

func (im *Import) insertKept(where string) error {
	_, err := im.tx.ExecContext(im.ctx, `INSERT INTO entries (source, external_id, `+stagedCols+`, created_at, updated_at)
		SELECT ?, external_id, `+stagedCols+`, ?, ? FROM import_rows s WHERE `+where+` ORDER BY seq`,
		im.source, im.now.Unix(), im.now.Unix())
	return err
}

func (im *Import) upsertWithIDs(d deltas) error {
	ctx, tx := im.ctx, im.tx
	const same = `EXISTS (SELECT 1 FROM entries e WHERE e.source = ? AND e.external_id = s.external_id AND e.fingerprint = s.fingerprint)`
	// Duplicate ids in one file: the last row wins.
	if _, err := tx.ExecContext(ctx, `DELETE FROM import_rows WHERE external_id IS NOT NULL AND seq < (SELECT MAX(seq) FROM import_rows r WHERE r.external_id = import_rows.external_id)`); err != nil {
		return err
	}
	var err error
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM import_rows s WHERE s.external_id IS NOT NULL AND `+same, im.source).Scan(&im.res.Unchanged); err != nil {
		return err
	}
	// Changed rows: old usage out, row replaced, new usage in.
	if im.res.Updated, err = removeEntries(ctx, tx, d, `e.source = ? AND e.external_id IN (SELECT s.external_id FROM import_rows s
		WHERE s.external_id IS NOT NULL AND NOT `+same+`)`, im.source, im.source); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE import_rows SET keep = 1 WHERE external_id IS NOT NULL AND NOT EXISTS (
		SELECT 1 FROM entries e WHERE e.source = ? AND e.external_id = import_rows.external_id)`, im.source); err != nil {
		return err
	}
	n, err := addStagedDeltas(ctx, tx, d, `s.keep = 1 AND s.external_id IS NOT NULL`)
	if err != nil {
		return err
	}
	im.res.Imported += n - im.res.Updated
	return im.insertKept(`s.keep = 1 AND s.external_id IS NOT NULL`)
}

func (im *Import) reconcileWithoutIDs(d deltas) error {
	ctx, tx := im.ctx, im.tx
	var first, last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MIN(day), MAX(day) FROM import_rows WHERE external_id IS NULL`).Scan(&first, &last); err != nil {
		return err
	}
	if !first.Valid {
		return nil
	}
	// Pair existing and staged rows by fingerprint and occurrence: the k-th
	// copy of a row in the file matches the k-th copy already stored.
	const pairs = `
		WITH old AS (
			SELECT e.id, e.fingerprint, ROW_NUMBER() OVER (PARTITION BY e.fingerprint ORDER BY e.id) AS rn
			FROM entries e
			WHERE e.source = ? AND e.external_id IS NULL AND e.day >= ? AND e.day <= ?
			  AND e.client_key IN (SELECT DISTINCT client_key FROM import_rows WHERE external_id IS NULL)),
		new AS (
			SELECT s.seq, s.fingerprint, ROW_NUMBER() OVER (PARTITION BY s.fingerprint ORDER BY s.seq) AS rn
			FROM import_rows s WHERE s.external_id IS NULL)`
	args := []any{im.source, first.Int64, last.Int64}
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS import_gone (id BIGINT PRIMARY KEY)`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM import_gone`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, pairs+`
		INSERT INTO import_gone (id) SELECT old.id FROM old LEFT JOIN new ON new.fingerprint = old.fingerprint AND new.rn = old.rn
		WHERE new.seq IS NULL`, args...); err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	if _, err := tx.ExecContext(ctx, pairs+`
		UPDATE import_rows SET keep = 1 WHERE seq IN (
			SELECT new.seq FROM new LEFT JOIN old ON old.fingerprint = new.fingerprint AND old.rn = new.rn WHERE old.id IS NULL)`, args...); err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	removed, err := removeEntries(ctx, tx, d, `e.id IN (SELECT id FROM import_gone)`)
	if err != nil {
		return err
	}
	inserted, err := addStagedDeltas(ctx, tx, d, `s.keep = 1 AND s.external_id IS NULL`)
	if err != nil {
		return err
	}
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM import_rows WHERE external_id IS NULL`).Scan(&total); err != nil {
		return err
	}
	// An edit upstream shows as one row gone and one new: count the pairs as
	// updates.
	edits := min(removed, inserted)
	im.res.Updated += edits
	im.res.Imported += inserted - edits
	im.res.Removed += removed - edits
	im.res.Unchanged += total - inserted
	return im.insertKept(`s.keep = 1 AND s.external_id IS NULL`)
}
