package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
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

	// UnmatchedClients are the clients of the unmatched rows, most hours
	// first: one per client name compared in its normalized form, spelled
	// as the first of its rows spells it ("" for rows with no client).
	UnmatchedClients []UnmatchedClient
}

// UnmatchedClient is one client's rows that match no contract.
type UnmatchedClient struct {
	Client  string
	Seconds int64
	Entries int
}

// Import is one file's import, in one transaction: rows stream in through
// Add, and Commit reconciles them with what the source imported before.
// Nothing is visible until Commit; Rollback (or any error) leaves the
// database as it was.
type Import struct {
	s      *DB
	ctx    context.Context
	tx     *sql.Tx
	rules  *Rules
	source string
	now    time.Time
	batch  int64
	done   bool
	res    ImportResult

	// Rows without an external id go straight into entries, tagged with the
	// batch, in multi-row INSERTs of up to insertChunk rows.
	pending []Entry
	insert  *sql.Stmt
	added   deltas
	combos  map[rawCombo]struct{} // the (client, project, user) of the rows, as written
	first   billing.Date
	last    billing.Date
	idless  int

	// Rows with an external id are staged, then upserted.
	stage  *sql.Stmt   // inserts insertChunk staged rows
	staged []stagedRow // rows with an external id not yet in import_rows
	seq    int64
	ided   int

	deleted  []string     // external ids deleted upstream
	keepFrom billing.Date // with keepSet: the source's id'd entries in
	keepTo   billing.Date // keepFrom..keepTo that this import did not
	keepSet  bool         // bring are gone upstream
	cursor   *string      // saved with the rows, in the same transaction

	unmatched   map[string]int // a client name as written → its index in unmatchedBy
	unmatchedBy []UnmatchedClient
}

// rawCombo is an ID-less row's (client, project, user) as the file writes
// them; reconciliation compares them in their normalized form.
type rawCombo struct{ client, project, user string }

func (c rawCombo) normalized() string {
	return billing.NormalizeName(c.client) + "\x00" + billing.NormalizeName(c.project) + "\x00" + billing.NormalizeName(c.user)
}

// Delete records an entry deleted upstream, by its external id.
func (im *Import) Delete(externalID string) { im.deleted = append(im.deleted, externalID) }

// KeepOnly says this import brought every entry of the source dated from..to:
// at Commit, the source's other entries with an external id in that range
// are deleted (a tracker that does not report deletions).
func (im *Import) KeepOnly(from, to billing.Date) {
	im.keepFrom, im.keepTo, im.keepSet = from, to, true
}

// SetCursor stores the source's sync cursor with this import's rows.
func (im *Import) SetCursor(cursor string) { im.cursor = &cursor }

// Cursor returns a source's stored sync cursor, "" before its first sync.
func (s *DB) Cursor(ctx context.Context, source string) (string, error) {
	var c string
	err := s.read(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT cursor FROM sync_cursors WHERE source = ?`, source).Scan(&c)
		if err == sql.ErrNoRows {
			return nil
		}
		return err
	})
	return c, err
}

const insertChunk = 200

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// BeginImport starts importing rows of one source ("harvest", "toggl", …).
func (s *DB) BeginImport(ctx context.Context, rules *Rules, source string, now time.Time) (*Import, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	im := &Import{s: s, ctx: ctx, tx: tx, rules: rules, source: source, now: now, added: deltas{}, combos: map[rawCombo]struct{}{}}
	if err := tx.QueryRowContext(ctx, `INSERT INTO imports (source, started_at) VALUES (?, ?) RETURNING id`, source, now.Unix()).Scan(&im.batch); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("import: %w", err)
	}
	return im, nil
}

// Rollback abandons the import.
func (im *Import) Rollback() {
	if im.done {
		return
	}
	im.done = true
	for _, st := range []*sql.Stmt{im.insert, im.stage} {
		if st != nil {
			st.Close()
		}
	}
	im.tx.Rollback()
}

// Add takes one row.
func (im *Import) Add(e Entry) error {
	e.Source = im.source
	if !e.prepared || e.Pinned != "" {
		e.Pinned = ""
		im.rules.Prepare(&e)
	}
	if e.ContractID == "" {
		im.res.Unmatched++
		im.addUnmatched(&e)
	}
	if e.ExternalID != "" {
		return im.stageRow(&e)
	}
	if im.idless == 0 || e.Date < im.first {
		im.first = e.Date
	}
	if im.idless == 0 || e.Date > im.last {
		im.last = e.Date
	}
	im.idless++
	im.combos[rawCombo{e.Client, e.Project, e.User}] = struct{}{}
	im.added.add(&e, 1)
	im.pending = append(im.pending, e)
	if len(im.pending) == insertChunk {
		return im.flush()
	}
	return nil
}

// addUnmatched counts an unmatched row for its client's line in the
// import's report.
func (im *Import) addUnmatched(e *Entry) {
	if im.unmatched == nil {
		im.unmatched = map[string]int{}
	}
	i, ok := im.unmatched[e.Client]
	if !ok {
		i = len(im.unmatchedBy)
		im.unmatched[e.Client] = i
		im.unmatchedBy = append(im.unmatchedBy, UnmatchedClient{Client: e.Client})
	}
	im.unmatchedBy[i].Seconds += e.Seconds
	im.unmatchedBy[i].Entries++
}

// unmatchedClients merges the spellings of each client (in the order the
// file first wrote them) and sorts the clients, most hours first.
func (im *Import) unmatchedClients() []UnmatchedClient {
	if len(im.unmatchedBy) == 0 {
		return nil
	}
	return MergeUnmatched(im.unmatchedBy)
}

// MergeUnmatched adds up the lines of unmatched clients whose names are
// the same normalized, keeping the first spelling, and sorts them by hours
// (most first), then by name.
func MergeUnmatched(lists ...[]UnmatchedClient) []UnmatchedClient {
	var out []UnmatchedClient
	at := map[string]int{}
	for _, l := range lists {
		for _, u := range l {
			k := billing.NormalizeName(u.Client)
			i, ok := at[k]
			if !ok {
				i = len(out)
				at[k] = i
				out = append(out, UnmatchedClient{Client: u.Client})
			}
			out[i].Seconds += u.Seconds
			out[i].Entries += u.Entries
		}
	}
	slices.SortStableFunc(out, func(a, b UnmatchedClient) int {
		return cmp.Or(cmp.Compare(b.Seconds, a.Seconds), cmp.Compare(billing.NormalizeName(a.Client), billing.NormalizeName(b.Client)))
	})
	return out
}

const entryCols = `source, external_id, day, seconds, billable, client, project, project_code, task, notes,
	user_name, pinned_contract, contract_id, counted, fingerprint, import_batch, created_at, updated_at`

// entryParams are one row's values; source, batch and timestamps are the
// import's own and are written into the statement once (see flush).
const entryParams = `(@src, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, @batch, @ts, @ts)`

func (im *Import) flush() error {
	if len(im.pending) == 0 {
		return nil
	}
	st := im.insert
	if len(im.pending) != insertChunk || st == nil {
		values := strings.TrimSuffix(strings.Repeat(entryParams+",", len(im.pending)), ",")
		values = strings.NewReplacer("@src", sqlString(im.source), "@batch", strconv.FormatInt(im.batch, 10),
			"@ts", strconv.FormatInt(im.now.Unix(), 10)).Replace(values)
		q := im.s.d.insertAbort + ` INTO entries (` + entryCols + `) VALUES ` + values
		var err error
		if st, err = im.tx.PrepareContext(im.ctx, q); err != nil {
			return err
		}
		if len(im.pending) == insertChunk {
			im.insert = st
		} else {
			defer st.Close()
		}
	}
	args := make([]any, 0, len(im.pending)*12)
	for i := range im.pending {
		e := &im.pending[i]
		args = append(args, int64(e.Date), e.Seconds, boolInt(e.Billable), e.Client,
			e.Project, e.ProjectCode, e.Task, e.Notes, e.User, e.ContractID, e.Counted, e.fp)
	}
	if _, err := st.ExecContext(im.ctx, args...); err != nil {
		return fmt.Errorf("insert entries: %w", err)
	}
	im.pending = im.pending[:0]
	return nil
}

// stageRow queues a row with an external id for the staging table; rows go
// in insertChunk at a time (one statement, one round trip to a server).
func (im *Import) stageRow(e *Entry) error {
	im.seq++
	im.ided++
	im.staged = append(im.staged, stagedRow{im.seq, *e})
	if len(im.staged) == insertChunk {
		return im.flushStage()
	}
	return nil
}

type stagedRow struct {
	seq int64
	e   Entry
}

func (im *Import) flushStage() error {
	if len(im.staged) == 0 {
		return nil
	}
	if err := im.ensureStage(); err != nil {
		return err
	}
	st := im.stage
	if len(im.staged) != insertChunk {
		var err error
		if st, err = im.tx.PrepareContext(im.ctx, stageInsert(len(im.staged))); err != nil {
			return err
		}
		defer st.Close()
	}
	args := make([]any, 0, len(im.staged)*14)
	for i := range im.staged {
		r := &im.staged[i]
		e := &r.e
		args = append(args, r.seq, e.ExternalID, int64(e.Date), e.Seconds, boolInt(e.Billable),
			e.Client, e.Project, e.ProjectCode, e.Task, e.Notes, e.User, e.ContractID, e.Counted, e.fp)
	}
	if _, err := st.ExecContext(im.ctx, args...); err != nil {
		return fmt.Errorf("stage rows: %w", err)
	}
	im.staged = im.staged[:0]
	return nil
}

// stageInsert is the insert of n staged rows.
func stageInsert(n int) string {
	return `INSERT INTO import_rows (seq, external_id, ` + stagedCols + `) VALUES ` +
		strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),`, n), ",")
}

// ensureStage creates the staging table for rows with an external id.
func (im *Import) ensureStage() error {
	if im.stage == nil {
		for _, q := range []string{
			`CREATE TEMP TABLE IF NOT EXISTS import_rows (
				seq BIGINT PRIMARY KEY, external_id TEXT NOT NULL, day INTEGER NOT NULL,
				seconds BIGINT NOT NULL, billable INTEGER NOT NULL, client TEXT NOT NULL,
				project TEXT NOT NULL, project_code TEXT NOT NULL, task TEXT NOT NULL, notes TEXT NOT NULL,
				user_name TEXT NOT NULL, contract_id TEXT NOT NULL, counted BIGINT NOT NULL, fingerprint BIGINT NOT NULL,
				keep INTEGER NOT NULL DEFAULT 0)`,
			// For the last-row-wins pass over duplicate ids: without it that
			// pass is quadratic in the file's rows.
			`CREATE INDEX IF NOT EXISTS import_rows_external_id ON import_rows (external_id, seq)`,
			`DELETE FROM import_rows`,
		} {
			if _, err := im.tx.ExecContext(im.ctx, q); err != nil {
				return fmt.Errorf("import staging: %w", err)
			}
		}
		var err error
		im.stage, err = im.tx.PrepareContext(im.ctx, stageInsert(insertChunk))
		if err != nil {
			return err
		}
	}
	return nil
}

// Commit reconciles and commits:
//   - rows with an external id are upserted by (source, external id);
//   - rows without one replace, for each (client, project, user) in the
//     file, names compared normalized, that combination's id-less entries
//     of the source dated within the file's first..last date: rows already
//     there are kept, rows gone are deleted, new rows inserted. Entries of
//     combinations the file does not contain are left alone (an export
//     filtered to one person removes nobody else's hours). Identical rows
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
	if err := im.flush(); err != nil {
		return ImportResult{}, err
	}
	if err := im.flushStage(); err != nil {
		return ImportResult{}, err
	}
	d := im.added
	if im.idless > 0 {
		if err := im.reconcileWithoutIDs(d); err != nil {
			return ImportResult{}, err
		}
	}
	if im.ided > 0 || im.keepSet {
		if err := im.ensureStage(); err != nil {
			return ImportResult{}, err
		}
		if im.keepSet {
			n, err := removeEntries(ctx, tx, d, `e.source = ? AND e.external_id IS NOT NULL AND e.day >= ? AND e.day <= ?
				AND NOT EXISTS (SELECT 1 FROM import_rows s WHERE s.external_id = e.external_id)`,
				im.source, int64(im.keepFrom), int64(im.keepTo))
			if err != nil {
				return ImportResult{}, err
			}
			im.res.Removed += n
		}
		if err := im.upsertWithIDs(d); err != nil {
			return ImportResult{}, err
		}
	}
	for _, id := range im.deleted {
		n, err := removeEntries(ctx, tx, d, `e.source = ? AND e.external_id = ?`, im.source, id)
		if err != nil {
			return ImportResult{}, err
		}
		im.res.Removed += n
	}
	if im.cursor != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sync_cursors (source, cursor, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`,
			im.source, *im.cursor, im.now.Unix()); err != nil {
			return ImportResult{}, err
		}
	}
	if err := d.apply(ctx, tx, im.now); err != nil {
		return ImportResult{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE imports SET source = ?, finished_at = ? WHERE id = ?`, im.source, im.now.Unix(), im.batch); err != nil {
		return ImportResult{}, err
	}
	if err := im.s.hook("import:commit"); err != nil {
		return ImportResult{}, err
	}
	for _, st := range []*sql.Stmt{im.insert, im.stage} {
		if st != nil {
			st.Close()
		}
	}
	if err := tx.Commit(); err != nil {
		return ImportResult{}, err
	}
	im.done = true
	im.res.UnmatchedClients = im.unmatchedClients()
	return im.res, nil
}

// reconcileWithoutIDs pairs the batch's rows with the source's earlier
// rows of the same (client, project, user) combinations and dates, by their
// content with names normalized, and by occurrence (the k-th copy of a row
// in the file matches the k-th copy already stored). A new row that matches
// a stored one written the same way is dropped and the stored one kept
// (unchanged); one that matches a stored row written another way (`acme
// corp` for `Acme Corp`) replaces it (updated); an unmatched stored row is
// deleted.
//
// The pairing is done here rather than in SQL: one pass over the scope's
// rows and a sort, where SQL's pairing by occurrence (ROW_NUMBER on both
// sides and a FULL OUTER JOIN) was quadratic on SQLite.
func (im *Import) reconcileWithoutIDs(d deltas) error {
	ctx, tx := im.ctx, im.tx
	// Is there anything earlier to reconcile with? Not when the source was
	// never imported before, nor when none of its earlier rows is dated in
	// the file's range.
	var earlier int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM imports WHERE source = ? AND id <> ? AND finished_at IS NOT NULL`,
		im.source, im.batch).Scan(&earlier); err != nil {
		return err
	}
	const inRange = `source = ? AND external_id IS NULL AND day >= ? AND day <= ?`
	args := []any{im.source, int64(im.first), int64(im.last)}
	if earlier > 0 {
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM entries WHERE `+inRange+`
			AND COALESCE(import_batch, 0) <> ? LIMIT 1) AS x`, append(args, im.batch)...).Scan(&earlier)
		if err != nil {
			return err
		}
	}
	if earlier == 0 { // a first import of these dates
		im.res.Imported += im.idless
		return nil
	}

	// The file's combinations, normalized, numbered; cache has the number
	// of each spelling met, -1 for one that is not the file's.
	combos := map[string]int32{}
	cache := map[rawCombo]int32{}
	for c := range im.combos {
		k := c.normalized()
		id, ok := combos[k]
		if !ok {
			id = int32(len(combos))
			combos[k] = id
		}
		cache[c] = id
	}
	comboOf := func(c rawCombo) int32 {
		if id, ok := cache[c]; ok {
			return id
		}
		id, ok := combos[c.normalized()]
		if !ok {
			id = -1
		}
		cache[c] = id
		return id
	}

	// The rows come by day, and rows of different days never pair: only
	// one day's rows are held at a time.
	rows, err := tx.QueryContext(ctx, `SELECT id, COALESCE(import_batch, 0), day, seconds, billable, client, project,
		project_code, task, notes, user_name, fingerprint FROM entries WHERE `+inRange+` ORDER BY day`, args...)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	p := pairing{added: make([]int, len(combos)), removed: make([]int, len(combos))}
	var h maphash.Hash // its seed is this import's: keys are compared within it only
	var group []scopeRow
	groupDay := int64(-1)
	for rows.Next() {
		var r scopeRow
		var batch, day, seconds int64
		var billable int
		var c rawCombo
		var code, task, notes string
		if err := rows.Scan(&r.id, &batch, &day, &seconds, &billable, &c.client, &c.project, &code, &task, &notes,
			&c.user, &r.fp); err != nil {
			rows.Close()
			return fmt.Errorf("reconcile: %w", err)
		}
		if r.combo = comboOf(c); r.combo < 0 {
			continue // another person's or project's hours
		}
		r.new = batch == im.batch
		// The rest of the content; the names are the combination's.
		h.Reset()
		var num [9]byte
		binary.LittleEndian.PutUint64(num[:], uint64(seconds))
		num[8] = byte(billable)
		h.Write(num[:])
		for _, s := range []string{code, task, notes} {
			h.WriteString(s)
			h.WriteByte(0)
		}
		r.key = h.Sum64()
		if day != groupDay {
			p.pair(group)
			group, groupDay = group[:0], day
		}
		group = append(group, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	p.pair(group)
	if len(p.drop) > 0 {
		n, err := im.removeByID(d, p.drop)
		if err != nil {
			return err
		}
		if n != len(p.drop) {
			return fmt.Errorf("reconcile: %d of %d entries removed", n, len(p.drop))
		}
	}
	// An edit upstream shows as one row gone and one new in the same
	// combination: count those pairs as updates.
	im.res.Unchanged += p.unchanged
	im.res.Updated += p.respelled
	for c := range p.added {
		edits := min(p.added[c], p.removed[c])
		im.res.Updated += edits
		im.res.Imported += p.added[c] - edits
		im.res.Removed += p.removed[c] - edits
	}
	return nil
}

// scopeRow is an entry in a reconciliation's scope.
type scopeRow struct {
	id    int64
	fp    int64  // the content as written
	key   uint64 // the content but for the day and the names
	combo int32  // the names, normalized
	new   bool   // from this import
}

// pairing is what reconcileWithoutIDs found so far.
type pairing struct {
	drop      []int64 // entries to delete
	unchanged int     // new rows dropped for a stored row written the same way
	respelled int     // stored rows replaced by a new row written another way
	added     []int   // new rows that matched nothing, per combination
	removed   []int   // stored rows that matched nothing, per combination
}

// pair pairs one day's rows.
func (p *pairing) pair(day []scopeRow) {
	// Rows with the same content, the stored ones first, each side by its
	// spelling (fingerprint) and then by id.
	slices.SortFunc(day, func(a, b scopeRow) int {
		return cmp.Or(cmp.Compare(a.combo, b.combo), cmp.Compare(a.key, b.key), cmp.Compare(boolInt(a.new), boolInt(b.new)),
			cmp.Compare(a.fp, b.fp), cmp.Compare(a.id, b.id))
	})
	var restOld, restNew []scopeRow
	for i := 0; i < len(day); {
		j, n := i, i
		for j < len(day) && day[j].combo == day[i].combo && day[j].key == day[i].key {
			if !day[j].new {
				n = j + 1
			}
			j++
		}
		olds, news := day[i:n], day[n:j]
		// Rows written the same way pair first, the others then in order.
		restOld, restNew = restOld[:0], restNew[:0]
		a, b := 0, 0
		for a < len(olds) && b < len(news) {
			switch {
			case olds[a].fp == news[b].fp:
				p.drop = append(p.drop, news[b].id)
				p.unchanged++
				a, b = a+1, b+1
			case olds[a].fp < news[b].fp:
				restOld = append(restOld, olds[a])
				a++
			default:
				restNew = append(restNew, news[b])
				b++
			}
		}
		restOld, restNew = append(restOld, olds[a:]...), append(restNew, news[b:]...)
		for _, r := range restOld {
			p.drop = append(p.drop, r.id)
		}
		k := min(len(restOld), len(restNew))
		p.respelled += k
		c := day[i].combo
		p.removed[c] += len(restOld) - k
		p.added[c] += len(restNew) - k
		i = j
	}
}

// dropChunk is how many ids one insert into import_drop carries.
const dropChunk = 500

// removeByID deletes the entries with the given ids through a temporary
// table, subtracting their usage, and returns how many there were.
func (im *Import) removeByID(d deltas, ids []int64) (int, error) {
	ctx, tx := im.ctx, im.tx
	for _, q := range []string{`CREATE TEMP TABLE IF NOT EXISTS import_drop (id BIGINT PRIMARY KEY)`, `DELETE FROM import_drop`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("reconcile: %w", err)
		}
	}
	args := make([]any, 0, dropChunk)
	for len(ids) > 0 {
		chunk := ids[:min(dropChunk, len(ids))]
		ids = ids[len(chunk):]
		args = args[:0]
		for _, id := range chunk {
			args = append(args, id)
		}
		q := `INSERT INTO import_drop (id) VALUES ` + strings.TrimSuffix(strings.Repeat("(?),", len(chunk)), ",")
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return 0, fmt.Errorf("reconcile: %w", err)
		}
	}
	return removeEntries(ctx, tx, d, `e.id IN (SELECT id FROM import_drop)`)
}

const stagedCols = `day, seconds, billable, client, project, project_code, task, notes, user_name, contract_id, counted, fingerprint`

// upsertWithIDs writes the staged rows that carry an external id.
func (im *Import) upsertWithIDs(d deltas) error {
	ctx, tx := im.ctx, im.tx
	const same = `EXISTS (SELECT 1 FROM entries x WHERE x.source = ? AND x.external_id = s.external_id AND x.fingerprint = s.fingerprint)`
	// Duplicate ids in one file: the last row wins.
	if _, err := tx.ExecContext(ctx, `DELETE FROM import_rows WHERE seq < (SELECT MAX(seq) FROM import_rows r WHERE r.external_id = import_rows.external_id)`); err != nil {
		return err
	}
	var unchanged int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM import_rows s WHERE `+same, im.source).Scan(&unchanged); err != nil {
		return err
	}
	// Changed rows: the old row and its usage out; it comes back below.
	updated, err := removeEntries(ctx, tx, d, `e.source = ? AND e.external_id IN (SELECT s.external_id FROM import_rows s WHERE NOT `+same+`)`,
		im.source, im.source)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE import_rows SET keep = 1 WHERE NOT EXISTS (
		SELECT 1 FROM entries e WHERE e.source = ? AND e.external_id = import_rows.external_id)`, im.source); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT contract_id, day, SUM(counted), SUM(seconds), COUNT(*) FROM import_rows WHERE keep = 1 GROUP BY contract_id, day`)
	if err != nil {
		return err
	}
	kept := 0
	for rows.Next() {
		var k usageKey
		var p, counted, secs, cnt int64
		if err := rows.Scan(&k.contract, &p, &counted, &secs, &cnt); err != nil {
			rows.Close()
			return err
		}
		k.day = billing.Date(p)
		d.addCounts(k, counted, secs, cnt)
		kept += int(cnt)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO entries (source, external_id, `+stagedCols+`, import_batch, created_at, updated_at)
		SELECT ?, external_id, `+stagedCols+`, ?, ?, ? FROM import_rows WHERE keep = 1 ORDER BY seq`,
		im.source, im.batch, im.now.Unix(), im.now.Unix()); err != nil {
		return err
	}
	im.res.Unchanged += unchanged
	im.res.Updated += updated
	im.res.Imported += kept - updated
	_, err = tx.ExecContext(ctx, `DELETE FROM import_rows`)
	return err
}

// removeEntries deletes the entries matching where, subtracting their usage,
// and returns how many there were.
func removeEntries(ctx context.Context, tx *sql.Tx, d deltas, where string, args ...any) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT contract_id, day, SUM(counted), SUM(seconds), COUNT(*) FROM entries e WHERE `+where+
		` GROUP BY contract_id, day`, args...)
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
		k.day = billing.Date(p)
		d.addCounts(k, -counted, -secs, -cnt)
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
