package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"

	"retainer/billing"
)

// Entry is one time entry.
type Entry struct {
	ID          int64
	Source      string // harvest, toggl, clockify, generic, api-harvest, api-toggl, log
	ExternalID  string // "" when the source has none
	Date        billing.Date
	Seconds     int64
	Billable    bool
	Client      string
	Project     string
	ProjectCode string
	Task        string
	Notes       string
	User        string
	// Pinned names the contract an entry was logged against; it is never
	// re-matched by client name.
	Pinned string

	ContractID string // "" while unmatched
	Counted    int64  // seconds it counts toward hours_used

	// Set by Rules.Prepare, so that an import can do this work on another
	// goroutine than the one writing to the database.
	prepared bool
	fp       int64
}

// Prepare matches and counts e and computes what storing it needs. An
// import calls it for rows that were not prepared; a caller streaming rows
// may call it beforehand, concurrently with the import.
func (r *Rules) Prepare(e *Entry) {
	r.resolve(e)
	e.fp = e.fingerprint()
	e.prepared = true
}

// fingerprint identifies an entry's content: two rows with the same
// fingerprint are the same work as far as billing and statements go. It is
// the first 8 bytes of a SHA-256, compared only among one source's rows of
// the same clients and dates.
//
// The bytes hashed are "day\x00seconds\x00true|false" and then "\x00" and
// each name and text: stored fingerprints are compared with new ones, so
// they never change. They are appended to one buffer on the stack and
// hashed at once (an import computes one per row).
func (e *Entry) fingerprint() int64 {
	var stack [256]byte
	b := strconv.AppendInt(stack[:0], int64(e.Date), 10)
	b = append(b, 0)
	b = strconv.AppendInt(b, e.Seconds, 10)
	b = append(b, 0)
	b = strconv.AppendBool(b, e.Billable)
	for _, s := range [...]string{e.Client, e.Project, e.ProjectCode, e.Task, e.Notes, e.User} {
		b = append(b, 0)
		b = append(b, s...)
	}
	sum := sha256.Sum256(b)
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// Rules are the contracts the entries are matched and counted with.
type Rules struct {
	byID    map[string]*billing.Contract
	matcher *billing.Matcher
	list    []*billing.Contract
}

// NewRules indexes contracts for matching and counting.
func NewRules(contracts []*billing.Contract) *Rules {
	r := &Rules{byID: map[string]*billing.Contract{}, matcher: billing.NewMatcher(contracts)}
	for _, c := range contracts {
		r.byID[c.ID] = c
		r.list = append(r.list, c)
	}
	sort.Slice(r.list, func(i, j int) bool { return r.list[i].ID < r.list[j].ID })
	return r
}

// Contract returns the contract with id, or nil.
func (r *Rules) Contract(id string) *billing.Contract { return r.byID[id] }

// resolve sets e's contract and counted seconds.
func (r *Rules) resolve(e *Entry) {
	id := ""
	if c := r.byID[e.Pinned]; e.Pinned != "" && c != nil {
		if !c.BeforeStart(e.Date.Period()) { // before start it counts nowhere
			id = e.Pinned
		}
	} else {
		id = r.matcher.Match(e.Client, e.Project, e.ProjectCode, e.Date)
	}
	e.ContractID = id
	e.Counted = 0
	if c := r.byID[id]; c != nil {
		e.Counted = c.Counted(e.Seconds, e.Billable)
	}
}

// matchFingerprint changes whenever a change of contracts could move an entry
// to another contract.
func (r *Rules) matchFingerprint() string {
	h := sha256.New()
	for _, c := range r.list {
		fmt.Fprintf(h, "%s\x00%s\x00", c.ID, billing.NormalizeName(c.Client))
		for _, m := range c.Match {
			fmt.Fprintf(h, "m%s\x00", billing.NormalizeName(m))
		}
		fmt.Fprintf(h, "%v\x00%v\x01", periodKey(c.Start), periodKey(c.End))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// countFingerprint changes whenever a contract would count its entries
// differently.
func countFingerprint(c *billing.Contract) string {
	return fmt.Sprintf("%s/%d/%t", c.Unit, c.RoundingMinutes, c.CountNonBillable)
}

func periodKey(p *billing.Period) string {
	if p == nil {
		return "-"
	}
	return p.String()
}

// usageKey is where a change of counted time lands: a contract and a day.
// The day rolls up into the period's usage row and the day's usage_daily
// row, which the weekly burndown reads.
type usageKey struct {
	contract string
	day      billing.Date
}

type usageDelta struct{ counted, seconds, entries int64 }

// deltas collects the changes to usage that one transaction makes.
type deltas map[usageKey]*usageDelta

func (d deltas) add(e *Entry, sign int64) {
	d.addCounts(usageKey{e.ContractID, e.Date}, sign*e.Counted, sign*e.Seconds, sign)
}

func (d deltas) addCounts(k usageKey, counted, seconds, entries int64) {
	addDelta(d, k, counted, seconds, entries)
}

// addDelta adds to the usage change of key k in m.
func addDelta[K comparable](m map[K]*usageDelta, k K, counted, seconds, entries int64) {
	u := m[k]
	if u == nil {
		u = &usageDelta{}
		m[k] = u
	}
	u.counted += counted
	u.seconds += seconds
	u.entries += entries
}

// contractPeriod is where a change of counted time lands in usage.
type contractPeriod struct {
	contract string
	period   billing.Period
}

// periodDeltas are changes to usage (not usage_daily) by contract and
// period: an import adds its staged rows' usage_daily in SQL, and only
// these, a few per contract, in Go.
type periodDeltas map[contractPeriod]*usageDelta

func (pd periodDeltas) addCounts(k contractPeriod, counted, seconds, entries int64) {
	addDelta(pd, k, counted, seconds, entries)
}

// apply writes usage deltas, and records the change of a closed period's
// counted seconds as a late adjustment.
func (d deltas) apply(ctx context.Context, tx *sql.Tx, now time.Time) error {
	return d.applyWith(ctx, tx, nil, now)
}

// applyWith is apply with more changes to usage, whose usage_daily rows
// were written already: one late adjustment per (contract, period) nets
// them all.
func (d deltas) applyWith(ctx context.Context, tx *sql.Tx, more periodDeltas, now time.Time) error {
	// Every period up to the last closed one is frozen.
	last, hasLast, err := lastClosed(ctx, tx)
	if err != nil {
		return err
	}
	periods := periodDeltas{}
	for k, u := range d {
		periods.addCounts(contractPeriod{k.contract, k.day.Period()}, u.counted, u.seconds, u.entries)
	}
	for k, u := range more {
		periods.addCounts(k, u.counted, u.seconds, u.entries)
	}
	keys := make([]contractPeriod, 0, len(periods))
	for k := range periods {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].contract != keys[j].contract {
			return keys[i].contract < keys[j].contract
		}
		return keys[i].period < keys[j].period
	})
	// Each upsert returns the row it leaves; a row left empty (its last
	// entry moved or deleted) is deleted by its key. Only the rows this
	// write touched are looked at: deleting every empty row of the tables
	// scanned them whole, and a single entry cost 140 ms at 10M entries.
	up, err := tx.PrepareContext(ctx, `INSERT INTO usage (contract_id, period, counted, seconds, entries) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (contract_id, period) DO UPDATE SET counted = usage.counted + excluded.counted,
		seconds = usage.seconds + excluded.seconds, entries = usage.entries + excluded.entries
		RETURNING counted, seconds, entries`)
	if err != nil {
		return err
	}
	defer up.Close()
	var dropUsage, dropDaily *sql.Stmt
	defer func() {
		for _, st := range []*sql.Stmt{dropUsage, dropDaily} {
			if st != nil {
				st.Close()
			}
		}
	}()
	for _, k := range keys {
		u := periods[k]
		if u.counted == 0 && u.seconds == 0 && u.entries == 0 {
			continue
		}
		var counted, seconds, entries int64
		if err := up.QueryRowContext(ctx, k.contract, int64(k.period), u.counted, u.seconds, u.entries).Scan(&counted, &seconds, &entries); err != nil {
			return fmt.Errorf("usage %s %s: %w", k.contract, k.period, err)
		}
		if counted == 0 && seconds == 0 && entries == 0 {
			if dropUsage == nil {
				if dropUsage, err = tx.PrepareContext(ctx, `DELETE FROM usage WHERE contract_id = ? AND period = ?`); err != nil {
					return err
				}
			}
			if _, err := dropUsage.ExecContext(ctx, k.contract, int64(k.period)); err != nil {
				return fmt.Errorf("usage %s %s: %w", k.contract, k.period, err)
			}
		}
		if hasLast && k.period <= last && k.contract != "" && u.counted != 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO adjustments (contract_id, entry_period, seconds, recorded_at) VALUES (?, ?, ?, ?)`,
				k.contract, int64(k.period), u.counted, now.Unix()); err != nil {
				return fmt.Errorf("adjustment %s %s: %w", k.contract, k.period, err)
			}
		}
	}
	daily, err := tx.PrepareContext(ctx, `INSERT INTO usage_daily (contract_id, day, counted, entries) VALUES (?, ?, ?, ?)
		ON CONFLICT (contract_id, day) DO UPDATE SET counted = usage_daily.counted + excluded.counted,
		entries = usage_daily.entries + excluded.entries
		RETURNING counted, entries`)
	if err != nil {
		return err
	}
	defer daily.Close()
	for k, u := range d {
		if k.contract == "" || (u.counted == 0 && u.entries == 0) {
			continue
		}
		var counted, entries int64
		if err := daily.QueryRowContext(ctx, k.contract, int64(k.day), u.counted, u.entries).Scan(&counted, &entries); err != nil {
			return fmt.Errorf("daily usage %s %s: %w", k.contract, k.day, err)
		}
		if counted == 0 && entries == 0 {
			if dropDaily == nil {
				if dropDaily, err = tx.PrepareContext(ctx, `DELETE FROM usage_daily WHERE contract_id = ? AND day = ?`); err != nil {
					return err
				}
			}
			if _, err := dropDaily.ExecContext(ctx, k.contract, int64(k.day)); err != nil {
				return fmt.Errorf("daily usage %s %s: %w", k.contract, k.day, err)
			}
		}
	}
	return nil
}

// lastClosed returns the last closed period; ok is false before the first
// close. One seek of the periods key, however many months were closed
// (reading every row of periods made each status grow with the history).
func lastClosed(ctx context.Context, tx *sql.Tx) (last billing.Period, ok bool, err error) {
	var p sql.NullInt64
	if err := queryRowTx(ctx, tx, `SELECT MAX(period) FROM periods`).Scan(&p); err != nil {
		return 0, false, err
	}
	return billing.Period(p.Int64), p.Valid, nil
}

// AddEntries stores new entries, matched and counted by rules, in one
// transaction. Entries dated in a closed period become late adjustments.
func (s *DB) AddEntries(ctx context.Context, rules *Rules, entries []Entry, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, insertEntrySQL)
		if err != nil {
			return err
		}
		defer ins.Close()
		d := deltas{}
		for i := range entries {
			e := &entries[i]
			rules.resolve(e)
			if err := insertEntry(ctx, ins, e, now); err != nil {
				return err
			}
			d.add(e, 1)
		}
		if err := s.hook("entries"); err != nil {
			return err
		}
		return d.apply(ctx, tx, now)
	})
}

const insertEntrySQL = `INSERT INTO entries (source, external_id, day, seconds, billable, client, project,
	project_code, task, notes, user_name, pinned_contract, contract_id, counted, fingerprint, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

func insertEntry(ctx context.Context, ins *sql.Stmt, e *Entry, now time.Time) error {
	var ext any
	if e.ExternalID != "" {
		ext = e.ExternalID
	}
	err := ins.QueryRowContext(ctx, e.Source, ext, int64(e.Date), e.Seconds, boolInt(e.Billable),
		e.Client, e.Project, e.ProjectCode, e.Task, e.Notes, e.User, e.Pinned, e.ContractID, e.Counted,
		e.fingerprint(), now.Unix(), now.Unix()).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("insert entry: %w", err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SyncResult says what a Sync changed.
type SyncResult struct {
	Rematched bool     // every entry was matched again
	Recounted []string // contracts whose entries were counted again
}

// Sync brings the stored matching and counting up to date with the
// contracts: when a contract's client, match list, start or end changed, or
// one was added or removed, every entry is matched again; when only its unit,
// rounding or non-billable rule changed, its entries are counted again. Usage
// changes in closed periods become late adjustments. With nothing changed it
// reads one small table and writes nothing.
//
// Every command opens the store with a Sync: the check is a read, so that
// with the contracts unchanged it neither waits for nor blocks a writer.
func (s *DB) Sync(ctx context.Context, rules *Rules, now time.Time) (SyncResult, error) {
	want := rules.fingerprints()
	changed, err := s.rulesChanged(ctx, want)
	if err != nil {
		return SyncResult{}, fmt.Errorf("sync contracts: %w", err)
	}
	if !changed {
		return SyncResult{}, nil
	}
	var res SyncResult
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res = SyncResult{}
		stored, err := storedRules(ctx, tx)
		if err != nil {
			return err
		}
		var recount []string
		if stored[""] != want[""] {
			res.Rematched = true
		} else {
			for _, c := range rules.list {
				if stored[c.ID] != want[c.ID] {
					recount = append(recount, c.ID)
				}
			}
		}
		if !res.Rematched && len(recount) == 0 && len(stored) == len(want) {
			return nil
		}
		if res.Rematched || len(recount) > 0 {
			if err := s.rematch(ctx, tx, rules, res.Rematched, recount, now); err != nil {
				return err
			}
		}
		res.Recounted = recount
		if _, err := tx.ExecContext(ctx, `DELETE FROM rules`); err != nil {
			return err
		}
		for id, fp := range want {
			if _, err := tx.ExecContext(ctx, `INSERT INTO rules (contract_id, fingerprint) VALUES (?, ?)`, id, fp); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return SyncResult{}, fmt.Errorf("sync contracts: %w", err)
	}
	return res, nil
}

// RulesChanged reports whether rules match or count entries otherwise than
// the rules the stored entries were matched and counted with: whether Sync
// would write. It only reads (a read-only store's reader says its figures
// are as they were).
func (s *DB) RulesChanged(ctx context.Context, rules *Rules) (bool, error) {
	changed, err := s.rulesChanged(ctx, rules.fingerprints())
	if err != nil {
		return false, fmt.Errorf("stored contract rules: %w", err)
	}
	return changed, nil
}

func (s *DB) rulesChanged(ctx context.Context, want map[string]string) (changed bool, err error) {
	err = s.read(ctx, func(tx *sql.Tx) error {
		stored, err := storedRules(ctx, tx)
		changed = !maps.Equal(stored, want)
		return err
	})
	return changed, err
}

// fingerprints are the rules as the rules table stores them: the matcher's
// under "", each contract's counting under its id.
func (r *Rules) fingerprints() map[string]string {
	want := map[string]string{"": r.matchFingerprint()}
	for _, c := range r.list {
		want[c.ID] = countFingerprint(c)
	}
	return want
}

// storedRules reads the rule fingerprints the entries were matched and
// counted with.
func storedRules(ctx context.Context, tx *sql.Tx) (map[string]string, error) {
	stored := map[string]string{}
	rows, err := tx.QueryContext(ctx, `SELECT contract_id, fingerprint FROM rules`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, fp string
		if err := rows.Scan(&id, &fp); err != nil {
			return nil, err
		}
		stored[id] = fp
	}
	return stored, rows.Err()
}

// rematch resolves entries again (all of them, or those of the given
// contracts) and rewrites the usage rows they feed.
func (s *DB) rematch(ctx context.Context, tx *sql.Tx, rules *Rules, all bool, ids []string, now time.Time) error {
	where, args := "", []any{}
	if !all {
		where = " WHERE contract_id IN (" + placeholders(len(ids)) + ")"
		for _, id := range ids {
			args = append(args, id)
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, day, seconds, billable, client, project, project_code, pinned_contract,
		contract_id, counted FROM entries`+where, args...)
	if err != nil {
		return err
	}
	type change struct {
		id       int64
		contract string
		counted  int64
	}
	var changes []change
	d := deltas{}
	for rows.Next() {
		var e Entry
		var day int64
		var billable int
		var oldContract string
		var oldCounted int64
		if err := rows.Scan(&e.ID, &day, &e.Seconds, &billable, &e.Client, &e.Project, &e.ProjectCode, &e.Pinned,
			&oldContract, &oldCounted); err != nil {
			rows.Close()
			return err
		}
		e.Date, e.Billable = billing.Date(day), billable != 0
		rules.resolve(&e)
		if e.ContractID == oldContract && e.Counted == oldCounted {
			continue
		}
		old := e
		old.ContractID, old.Counted = oldContract, oldCounted
		d.add(&old, -1)
		d.add(&e, 1)
		changes = append(changes, change{e.ID, e.ContractID, e.Counted})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	upd, err := tx.PrepareContext(ctx, `UPDATE entries SET contract_id = ?, counted = ? WHERE id = ?`)
	if err != nil {
		return err
	}
	defer upd.Close()
	for _, c := range changes {
		if _, err := upd.ExecContext(ctx, c.contract, c.counted, c.id); err != nil {
			return err
		}
	}
	return d.apply(ctx, tx, now)
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// EachEntry calls fn with every entry dated from..to (inclusive), by date
// then id, from one snapshot; it stops at fn's first error. Rows stream:
// memory does not grow with the range.
func (s *DB) EachEntry(ctx context.Context, from, to billing.Date, fn func(Entry) error) error {
	return s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, source, COALESCE(external_id, ''), day, seconds, billable, client, project,
			project_code, task, notes, user_name, contract_id, counted FROM entries WHERE day >= ? AND day <= ? ORDER BY day, id`,
			int64(from), int64(to))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e Entry
			var day int64
			var billable int
			if err := rows.Scan(&e.ID, &e.Source, &e.ExternalID, &day, &e.Seconds, &billable, &e.Client, &e.Project,
				&e.ProjectCode, &e.Task, &e.Notes, &e.User, &e.ContractID, &e.Counted); err != nil {
				return err
			}
			e.Date, e.Billable = billing.Date(day), billable != 0
			if err := fn(e); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// ErrImported refuses a correction of an imported entry: its tracker holds
// the truth, and the next import would undo the change.
var ErrImported = errors.New("an imported entry is corrected in its tracker and imported again")

// Editable reports whether entries of source may be edited or deleted here:
// those logged with `retainer log` or posted to the API. Every other source
// is a tracker's.
func Editable(source string) bool { return source == "log" || source == "api" }

// EditEntry changes entry id in one transaction: edit receives the stored
// entry and may change its Date, Seconds and Notes (nothing else is kept);
// an error from edit aborts. The entry is matched and counted again with
// rules, and the usage moves with it: from one day, period or contract to
// another, and in a closed period as a late adjustment of the difference.
// It returns the entry before and after. An unknown id is ErrNotFound, an
// entry of a tracker's source ErrImported.
func (s *DB) EditEntry(ctx context.Context, rules *Rules, id int64, edit func(*Entry) error, now time.Time) (before, after Entry, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		old, err := editableEntry(ctx, tx, id)
		if err != nil {
			return err
		}
		changed := old
		if err := edit(&changed); err != nil {
			return err
		}
		e := old
		e.Date, e.Seconds, e.Notes = changed.Date, changed.Seconds, changed.Notes
		rules.resolve(&e)
		before, after = old, e
		if e.Date == old.Date && e.Seconds == old.Seconds && e.Notes == old.Notes &&
			e.ContractID == old.ContractID && e.Counted == old.Counted {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE entries SET day = ?, seconds = ?, notes = ?, contract_id = ?, counted = ?,
			fingerprint = ?, updated_at = ? WHERE id = ?`,
			int64(e.Date), e.Seconds, e.Notes, e.ContractID, e.Counted, e.fingerprint(), now.Unix(), id); err != nil {
			return fmt.Errorf("update entry %d: %w", id, err)
		}
		d := deltas{}
		d.add(&old, -1)
		d.add(&e, 1)
		if err := s.hook("entry:edit"); err != nil {
			return err
		}
		return d.apply(ctx, tx, now)
	})
	if err != nil {
		return Entry{}, Entry{}, err
	}
	return before, after, nil
}

// DeleteEntry deletes entry id in one transaction and takes its usage out
// (in a closed period, as a late adjustment). It returns the deleted entry.
// An unknown id is ErrNotFound, an entry of a tracker's source ErrImported.
func (s *DB) DeleteEntry(ctx context.Context, id int64, now time.Time) (Entry, error) {
	var out Entry
	err := s.tx(ctx, func(tx *sql.Tx) error {
		e, err := editableEntry(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM entries WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete entry %d: %w", id, err)
		}
		d := deltas{}
		d.add(&e, -1)
		if err := s.hook("entry:delete"); err != nil {
			return err
		}
		out = e
		return d.apply(ctx, tx, now)
	})
	if err != nil {
		return Entry{}, err
	}
	return out, nil
}

// editableEntry reads entry id for a correction.
func editableEntry(ctx context.Context, tx *sql.Tx, id int64) (Entry, error) {
	var e Entry
	var day int64
	var billable int
	err := tx.QueryRowContext(ctx, `SELECT id, source, COALESCE(external_id, ''), day, seconds, billable, client, project,
		project_code, task, notes, user_name, pinned_contract, contract_id, counted FROM entries WHERE id = ?`, id).Scan(
		&e.ID, &e.Source, &e.ExternalID, &day, &e.Seconds, &billable, &e.Client, &e.Project,
		&e.ProjectCode, &e.Task, &e.Notes, &e.User, &e.Pinned, &e.ContractID, &e.Counted)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, fmt.Errorf("entry %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("entry %d: %w", id, err)
	}
	e.Date, e.Billable = billing.Date(day), billable != 0
	if !Editable(e.Source) {
		return Entry{}, fmt.Errorf("entry %d came from %s: %w", id, e.Source, ErrImported)
	}
	return e, nil
}
