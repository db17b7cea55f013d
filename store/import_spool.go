package store

import (
	"bufio"
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"retainer/billing"
)

// spool holds an import's rows without an external id while the file is
// read: a compact file of its own, written by Go, instead of a table of the
// database. Staging a row in a temporary table bound 16 values and wrote
// it through SQLite once more than the import does; here a row is a few
// varints, its repeated strings (names, contract, code, task) written once
// per import and then by number. Commit streams the file into entries; a
// re-import reads it by day first, to pair its rows with the stored ones
// (reconcileWithoutIDs), then writes the rows that paired with none.
//
// The file is unlinked as soon as it is created (where the system allows
// it): whatever ends the process, a kill included, it leaves nothing
// behind.
type spool struct {
	tempFile
	w   *bufio.Writer
	n   int64 // rows written
	off int64 // bytes written: where the next row begins
	// The interned strings: a string's number is its index in strs. At
	// most limit (spoolInterned) of them; a string past that is written
	// whole.
	index map[string]uint32
	strs  []string
	boxed []any // strs as bound values, made once
	limit int
	buf   []byte
}

// spoolInterned bounds the strings an import interns (the names of a few
// hundred thousand combinations, at most a few tens of MiB).
const spoolInterned = 200_000

// newSpool creates the spool file in the system's temporary directory.
func newSpool() (*spool, error) {
	t, err := createTemp("retainer-import-*.spool")
	if err != nil {
		return nil, fmt.Errorf("import spool: %w", err)
	}
	return &spool{tempFile: t, w: bufio.NewWriterSize(t.f, 1<<16), index: map[string]uint32{}, limit: spoolInterned}, nil
}

// close closes and removes the file.
func (s *spool) close() {
	if s != nil {
		s.closeFile()
	}
}

// tempFile is a file of an import's own in the system's temporary
// directory, unlinked as soon as it is created where the system allows it
// (else its name is kept, to remove it at the end): whatever ends the
// process, a kill included, it leaves nothing behind.
type tempFile struct {
	f    *os.File
	name string // still to remove when the system could not unlink it open
}

func createTemp(pattern string) (tempFile, error) {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return tempFile{}, err
	}
	t := tempFile{f: f}
	if os.Remove(f.Name()) != nil {
		t.name = f.Name()
	}
	return t, nil
}

// closeFile closes and removes the file; once closed, it does nothing.
func (t *tempFile) closeFile() {
	if t.f == nil {
		return
	}
	t.f.Close()
	if t.name != "" {
		os.Remove(t.name)
	}
	t.f = nil
}

// add appends one row: its day, seconds, counted time, fingerprint,
// billability and combination (its names' number in the import, see
// Import.addCombo), then its strings.
func (s *spool) add(e *Entry, combo int32) error {
	b := s.buf[:0]
	b = binary.AppendVarint(b, int64(e.Date))
	b = binary.AppendVarint(b, e.Seconds)
	b = binary.AppendVarint(b, e.Counted)
	b = binary.LittleEndian.AppendUint64(b, uint64(e.fp))
	if e.Billable {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(combo))
	b = s.appendString(b, e.Client, true)
	b = s.appendString(b, e.Project, true)
	b = s.appendString(b, e.ProjectCode, true)
	b = s.appendString(b, e.Task, true)
	b = s.appendString(b, e.Notes, false)
	b = s.appendString(b, e.User, true)
	b = s.appendString(b, e.ContractID, true)
	s.buf = b
	s.n++
	s.off += int64(len(b))
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("import spool: %w", err)
	}
	return nil
}

// appendString writes a string as a varint tag: an even tag is the number
// of an interned string (times two), an odd one the length of the bytes
// that follow (times two, plus one). Notes, which rarely repeat, are
// always written whole.
func (s *spool) appendString(b []byte, v string, intern bool) []byte {
	if intern {
		if i, ok := s.index[v]; ok {
			return binary.AppendUvarint(b, uint64(i)<<1)
		}
		if len(s.strs) < s.limit {
			i := uint32(len(s.strs))
			s.index[v] = i
			s.strs = append(s.strs, v)
			s.boxed = append(s.boxed, v)
			return binary.AppendUvarint(b, uint64(i)<<1)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(v))<<1|1)
	return append(b, v...)
}

// spoolReader reads a spool's rows back, in the order they were added.
type spoolReader struct {
	s     *spool
	r     *bufio.Reader
	seq   int64 // the last row read, from 1
	end   int64 // the last row to read
	boxed []any // the interned strings as bound values (see spool.boxed)
	buf   []byte
}

// reader flushes the spool and reads it from its start.
func (s *spool) reader() (*spoolReader, error) { return s.readerAt(0, 1) }

// readerAt flushes the spool and reads it from the row seq (from 1), which
// begins at the offset off.
func (s *spool) readerAt(off, seq int64) (*spoolReader, error) {
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("import spool: %w", err)
	}
	if _, err := s.f.Seek(off, io.SeekStart); err != nil {
		return nil, fmt.Errorf("import spool: %w", err)
	}
	return &spoolReader{s: s, r: bufio.NewReaderSize(s.f, 1<<16), seq: seq - 1, end: s.n, boxed: s.boxed}, nil
}

var errSpool = errors.New("import spool: damaged")

// next reads the next row into e, and returns false after the last one.
func (r *spoolReader) next(e *Entry) (bool, error) {
	if r.seq == r.end {
		return false, nil
	}
	day, err := binary.ReadVarint(r.r)
	if err != nil {
		return false, r.fail(err)
	}
	if e.Seconds, err = binary.ReadVarint(r.r); err != nil {
		return false, r.fail(err)
	}
	if e.Counted, err = binary.ReadVarint(r.r); err != nil {
		return false, r.fail(err)
	}
	var fixed [9]byte
	if _, err := io.ReadFull(r.r, fixed[:]); err != nil {
		return false, r.fail(err)
	}
	if _, err := binary.ReadUvarint(r.r); err != nil { // the combination
		return false, r.fail(err)
	}
	e.Date = billing.Date(day)
	e.fp = int64(binary.LittleEndian.Uint64(fixed[:8]))
	e.Billable = fixed[8] == 1
	for _, p := range []*string{&e.Client, &e.Project, &e.ProjectCode, &e.Task, &e.Notes, &e.User, &e.ContractID} {
		if *p, err = r.string(); err != nil {
			return false, r.fail(err)
		}
	}
	r.seq++
	return true, nil
}

// nextArgs appends the next row's values in entries to args, in the order
// of newCols, and reports false after the last row.
func (r *spoolReader) nextArgs(args []any) ([]any, bool, error) {
	if r.seq == r.end {
		return args, false, nil
	}
	var num [3]int64
	for i := range num {
		v, err := binary.ReadVarint(r.r)
		if err != nil {
			return args, false, r.fail(err)
		}
		num[i] = v
	}
	var fixed [9]byte
	if _, err := io.ReadFull(r.r, fixed[:]); err != nil {
		return args, false, r.fail(err)
	}
	if _, err := binary.ReadUvarint(r.r); err != nil { // the combination
		return args, false, r.fail(err)
	}
	var strs [7]any
	for i := range strs {
		v, err := r.value()
		if err != nil {
			return args, false, r.fail(err)
		}
		strs[i] = v
	}
	// day, seconds, billable, client, project, project_code, task, notes,
	// user_name, contract_id, counted, fingerprint
	args = append(args, num[0], num[1], int64(fixed[8]), strs[0], strs[1], strs[2], strs[3], strs[4], strs[5], strs[6],
		num[2], int64(binary.LittleEndian.Uint64(fixed[:8])))
	r.seq++
	return args, true, nil
}

// nextKeyed reads what the pairing of a re-import compares of the next row
// into out: its seq (as out.id), day, fingerprint, combination and content
// key, the key hashed from the spooled bytes as contentKey hashes the
// strings (maphash hashes the bytes written, however they are split).
// Nothing is allocated for a row. It reports false after the last row.
func (r *spoolReader) nextKeyed(seed maphash.Seed, out *scopeRow) (bool, error) {
	if r.seq == r.end {
		return false, nil
	}
	day, err := binary.ReadVarint(r.r)
	if err != nil {
		return false, r.fail(err)
	}
	seconds, err := binary.ReadVarint(r.r)
	if err != nil {
		return false, r.fail(err)
	}
	if _, err := binary.ReadVarint(r.r); err != nil { // counted
		return false, r.fail(err)
	}
	var fixed [9]byte // the fingerprint, then the billability
	if _, err := io.ReadFull(r.r, fixed[:]); err != nil {
		return false, r.fail(err)
	}
	combo, err := binary.ReadUvarint(r.r)
	if err != nil || combo > math.MaxInt32 {
		return false, r.fail(cmp.Or(err, errSpool))
	}
	var h maphash.Hash
	h.SetSeed(seed)
	var num [9]byte // as contentKey writes them
	binary.LittleEndian.PutUint64(num[:8], uint64(seconds))
	num[8] = fixed[8]
	h.Write(num[:])
	// client, project, project_code, task, notes, user_name, contract_id:
	// the key hashes the code, the task and the notes.
	for i := range 7 {
		tag, err := binary.ReadUvarint(r.r)
		if err != nil {
			return false, r.fail(err)
		}
		hashed := i >= 2 && i <= 4
		if tag&1 == 0 {
			if tag>>1 >= uint64(len(r.s.strs)) {
				return false, r.fail(errSpool)
			}
			if hashed {
				h.WriteString(r.s.strs[tag>>1])
				h.WriteByte(0)
			}
			continue
		}
		n := tag >> 1
		if n > 1<<31 {
			return false, r.fail(errSpool)
		}
		if !hashed {
			if _, err := r.r.Discard(int(n)); err != nil {
				return false, r.fail(err)
			}
			continue
		}
		if uint64(cap(r.buf)) < n {
			r.buf = make([]byte, n)
		}
		b := r.buf[:n]
		if _, err := io.ReadFull(r.r, b); err != nil {
			return false, r.fail(err)
		}
		h.Write(b)
		h.WriteByte(0)
	}
	r.seq++
	*out = scopeRow{id: r.seq, day: billing.Date(day), fp: int64(binary.LittleEndian.Uint64(fixed[:8])), key: int64(h.Sum64()),
		combo: int32(combo)}
	return true, nil
}

// value reads a string as a bound value: an interned one as boxed once.
func (r *spoolReader) value() (any, error) {
	tag, err := binary.ReadUvarint(r.r)
	if err != nil {
		return nil, err
	}
	if tag&1 == 0 {
		if tag>>1 >= uint64(len(r.boxed)) {
			return nil, errSpool
		}
		return r.boxed[tag>>1], nil
	}
	return r.inline(tag >> 1)
}

func (r *spoolReader) string() (string, error) {
	tag, err := binary.ReadUvarint(r.r)
	if err != nil {
		return "", err
	}
	if tag&1 == 0 {
		if tag>>1 >= uint64(len(r.s.strs)) {
			return "", errSpool
		}
		return r.s.strs[tag>>1], nil
	}
	return r.inline(tag >> 1)
}

// inline reads a string of n bytes written whole.
func (r *spoolReader) inline(n uint64) (string, error) {
	if n > 1<<31 {
		return "", errSpool
	}
	if uint64(cap(r.buf)) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	if _, err := io.ReadFull(r.r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

func (r *spoolReader) fail(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("import spool, row %d: %w", r.seq+1, err)
}

// earlier reports whether the source has stored rows without an id dated
// in the file's range, from an earlier import: rows the file's must be
// reconciled with. Not when the source was never imported before, nor
// when none of its earlier rows is dated in the file's range.
func (im *Import) earlier(q preparer) (bool, error) {
	if ok, err := im.importedBefore(im.ctx, q); err != nil || !ok {
		return false, err
	}
	return im.storedIn(im.ctx, q, im.first, im.last)
}

// importedBefore reports whether the source has an earlier finished import.
func (im *Import) importedBefore(ctx context.Context, q preparer) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM imports WHERE source = ? AND id <> ? AND finished_at IS NOT NULL`,
		im.source, im.batch).Scan(&n)
	return n > 0, err
}

// storedIn reports whether the source has stored rows without an id dated
// from..to.
func (im *Import) storedIn(ctx context.Context, q preparer, from, to billing.Date) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM entries
		WHERE source = ? AND external_id IS NULL AND day >= ? AND day <= ? LIMIT 1) AS x`,
		im.source, int64(from), int64(to)).Scan(&n)
	return n > 0, err
}

// spoolChunk is how many rows one INSERT of spooled rows into entries
// carries (12 bound values each).
const spoolChunk = 1000

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// insertSpooled writes spooled rows into entries, in the file's order,
// straight from the spool: every row (keep nil: a first import of its
// dates, or a re-import that paired none), or those whose seq is in keep,
// sorted (the rows of a re-import that paired with no stored row). What
// is the same for every row (the source, the batch, the times) is written
// in the statement, not bound. Their usage_daily is added from (contract,
// day) pairs while they are at most usageLimit, else in one grouped upsert
// from the rows just written (the ids above the largest before them, of
// this batch); their usage from (contract, period) pairs. For every row,
// both were added up as the file was read (usage, byPeriod); for some, as
// they are written.
func (im *Import) insertSpooled(keep []int64) error {
	if keep == nil {
		if err := im.boundCache(); err != nil {
			return err
		}
		if err := im.writeSpooled(im.spooledInsert(), nil, nil); err != nil {
			return fmt.Errorf("insert entries: %w", err)
		}
		return im.addSpooledUsage(im.dailySums(), im.byPeriod)
	}
	daily, byPeriod := newDailySums(im.usageLimit), periodDeltas{}
	defer daily.close()
	each := func(v []any) error { // newCols: day, seconds, …, contract_id (9), counted (10)
		day, contract, counted, seconds := billing.Date(v[0].(int64)), v[9].(string), v[10].(int64), v[1].(int64)
		byPeriod.addCounts(contractPeriod{contract, day.Period()}, counted, seconds, 1)
		return daily.add(usageKey{contract, day}, counted, 1)
	}
	if err := im.writeSpooled(im.spooledInsert(), keep, each); err != nil {
		return fmt.Errorf("insert entries: %w", err)
	}
	return im.addSpooledUsage(daily, byPeriod)
}

// boundCache bounds the connection's page cache for a first import's write
// (importCache), on SQLite; finish sets it back.
func (im *Import) boundCache() error {
	if im.s.d.postgres {
		return nil
	}
	if err := im.tx.QueryRowContext(im.ctx, `PRAGMA cache_size`).Scan(&im.cacheSize); err != nil {
		return fmt.Errorf("insert entries: %w", err)
	}
	if _, err := im.tx.ExecContext(im.ctx, fmt.Sprintf(`PRAGMA cache_size = %d`, importCache)); err != nil {
		return fmt.Errorf("insert entries: %w", err)
	}
	return nil
}

// spooledInsert returns the statement that writes n spooled rows into
// entries, their values bound in the order of newCols. What is the same
// for every row (the source, the batch, the times) is written in the
// statement, not bound.
func (im *Import) spooledInsert() func(n int) string {
	now := im.now.Unix()
	tuple := fmt.Sprintf(`(%s, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, %d, %d, %d)`, sqlString(im.source), im.batch, now, now)
	// On SQLite, OR ROLLBACK: a statement that fails ends the transaction
	// (as any error ends the import), so SQLite keeps no statement journal
	// of the pages each 1,000-row statement changes.
	verb := `INSERT OR ROLLBACK INTO`
	if im.s.d.postgres {
		verb = `INSERT INTO`
	}
	return func(n int) string {
		return verb + ` entries (source, external_id, ` + newCols + `, import_batch, created_at, updated_at) VALUES ` +
			strings.TrimSuffix(strings.Repeat(tuple+",", n), ",")
	}
}

// addSpooledUsage adds the usage of the spooled rows just written: daily
// to usage_daily; byPeriod to usage in open periods, and with the import's
// other changes (apply) in closed ones.
func (im *Import) addSpooledUsage(daily *dailySums, byPeriod periodDeltas) error {
	if err := im.addDaily(daily); err != nil {
		return err
	}
	// Their usage by period: in open periods, added here in bulk (it only
	// grows); in closed ones, with the import's other changes by apply,
	// which nets them into one late adjustment per contract and period.
	last, closed, err := lastClosed(im.ctx, im.tx)
	if err != nil {
		return err
	}
	open := make(periodDeltas, len(byPeriod))
	for k, u := range byPeriod {
		if closed && k.period <= last {
			im.periods.addCounts(k, u.counted, u.seconds, u.entries)
		} else {
			open[k] = u
		}
	}
	return im.addUsage(open)
}

// addUsage adds usage that only grows to usage, in multi-row upserts in
// key order (apply upserts and reads back each row alone: 120,000 rows
// for a file of 10,000 contracts over a year took seconds).
func (im *Import) addUsage(pd periodDeltas) error {
	keys := make([]contractPeriod, 0, len(pd))
	for k := range pd {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b contractPeriod) int {
		return cmp.Or(strings.Compare(a.contract, b.contract), cmp.Compare(a.period, b.period))
	})
	upsert := func(n int) string {
		return `INSERT INTO usage (contract_id, period, counted, seconds, entries) VALUES ` +
			strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?),`, n), ",") +
			` ON CONFLICT (contract_id, period) DO UPDATE SET counted = usage.counted + excluded.counted,
			seconds = usage.seconds + excluded.seconds, entries = usage.entries + excluded.entries`
	}
	err := im.bulkWrite(upsert, dailyChunk, func(exec func(n int, args []any) error) error {
		args := make([]any, 0, 5*dailyChunk)
		for len(keys) > 0 {
			part := keys[:min(dailyChunk, len(keys))]
			keys = keys[len(part):]
			args = args[:0]
			for _, k := range part {
				u := pd[k]
				args = append(args, k.contract, int64(k.period), u.counted, u.seconds, u.entries)
			}
			if err := exec(len(part), args); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	return nil
}

// writeSpooled streams the spooled rows (all, or those of keep: see
// streamSpool) through the statement insert(n) makes for n rows,
// spoolChunk rows a statement, binding each row's values in spoolArgs'
// order.
func (im *Import) writeSpooled(insert func(n int) string, keep []int64, each func([]any) error) error {
	return im.bulkWrite(insert, spoolChunk, func(exec func(n int, args []any) error) error {
		return im.streamSpool(keep, each, exec)
	})
}

// bulkWrite runs, in the import's transaction, a statement of n rows
// (statement(n)) for each run of rows fill hands to exec, at most chunk
// rows a run. On SQLite the statements go to the connection's own handle
// (rawStmt), prepared once each: database/sql would check and convert each
// value on its way, and the driver copies, looks up and clears each one,
// which was most of a bulk write's cost. Without a handle (a driver this
// code does not know), and on PostgreSQL, they go through database/sql.
func (im *Import) bulkWrite(statement func(n int) string, chunk int, fill func(exec func(n int, args []any) error) error) error {
	ctx := im.ctx
	if raw, ok := im.rawConn(); ok {
		return im.rawWrite(raw, func() error {
			if err := im.s.hook("import:bulk"); err != nil {
				return err
			}
			stmts := map[int]*rawStmt{}
			defer func() {
				for _, s := range stmts {
					s.close()
				}
			}()
			return fill(func(n int, args []any) error {
				s := stmts[n]
				if s == nil {
					var err error
					if s, err = raw.prepare(statement(n)); err != nil {
						return err
					}
					stmts[n] = s
				}
				return s.exec(args)
			})
		})
	}
	full, err := im.tx.PrepareContext(ctx, statement(chunk))
	if err != nil {
		return err
	}
	defer full.Close()
	return fill(func(n int, args []any) error {
		if n == chunk {
			_, err := full.ExecContext(ctx, args...)
			return err
		}
		_, err := im.tx.ExecContext(ctx, statement(n), args...)
		return err
	})
}

// rawConn returns the SQLite handle of the import's connection, if it has
// one this code knows.
func (im *Import) rawConn() (rawConn, bool) {
	if im.s.d.postgres {
		return rawConn{}, false
	}
	var raw rawConn
	var ok bool
	im.conn.Raw(func(dc any) error {
		raw, ok = rawSQLite(dc)
		return nil
	})
	return raw, ok
}

// rawWrite runs f, a write through raw (the import's connection's own
// handle), inside the import's transaction: if database/sql rolled it back
// (it does when the transaction's context ends, between two calls of Raw),
// f does not run, or its rows would be committed on their own.
func (im *Import) rawWrite(raw rawConn, f func() error) error {
	return im.rawDo(func(any) error {
		if !raw.inTx() {
			return errors.New("the import's transaction ended")
		}
		return f()
	})
}

// rawDo runs f on the import's driver connection (sql.Conn.Raw). A panic
// in f is carried out of Raw and raised again after it: raised inside,
// database/sql closes the connection, which waits for the import's open
// transaction to let go of it, forever, the write lock held.
func (im *Import) rawDo(f func(dc any) error) error {
	var p any
	err := im.conn.Raw(func(dc any) error {
		defer func() {
			if r := recover(); r != nil {
				p = r
			}
		}()
		return f(dc)
	})
	if p != nil {
		panic(p)
	}
	return err
}

// spoolArgs is how many values a spooled row binds in entries.
const spoolArgs = 12

// streamSpool reads the spooled rows and hands them to exec spoolChunk at
// a time (the last chunk shorter), as the values of newCols: every row
// when keep is nil, else those whose seq is in keep (sorted), each of
// them handed to each first.
func (im *Import) streamSpool(keep []int64, each func([]any) error, exec func(n int, args []any) error) error {
	r, err := im.spool.reader()
	if err != nil {
		return err
	}
	args := make([]any, 0, spoolChunk*spoolArgs)
	rows := 0
	for {
		var ok bool
		if keep != nil && len(keep) == 0 {
			ok = false // the rows kept are written
		} else if args, ok, err = r.nextArgs(args); err != nil {
			return err
		}
		if ok && keep != nil {
			if r.seq > keep[0] {
				return fmt.Errorf("import spool: row %d to keep is not after row %d", keep[0], r.seq-1)
			}
			if r.seq != keep[0] {
				clear(args[len(args)-spoolArgs:])
				args = args[:len(args)-spoolArgs]
				continue
			}
			keep = keep[1:]
			if err := each(args[len(args)-spoolArgs:]); err != nil {
				return err
			}
		}
		if ok {
			rows++
		}
		if rows == spoolChunk || (!ok && rows > 0) {
			if err := exec(rows, args); err != nil {
				return err
			}
			clear(args) // the chunk's strings are not kept alive by the slice
			args, rows = args[:0], 0
		}
		if !ok {
			return nil
		}
	}
}

// dailyChunk is how many (contract, day) rows one upsert of usage_daily
// carries.
const dailyChunk = 500

// addDaily adds usage that only grows (a first import's) to usage_daily,
// in multi-row upserts in key order: no row it reaches is left empty, so
// none is read back, where apply upserts and checks each row alone.
func (im *Import) addDaily(d *dailySums) error {
	upsert := func(n int) string {
		return `INSERT INTO usage_daily (contract_id, day, counted, entries) VALUES ` +
			strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?),`, n), ",") +
			` ON CONFLICT (contract_id, day) DO UPDATE SET counted = usage_daily.counted + excluded.counted,
			entries = usage_daily.entries + excluded.entries`
	}
	err := im.bulkWrite(upsert, dailyChunk, func(exec func(n int, args []any) error) error {
		args := make([]any, 0, 4*dailyChunk)
		n := 0
		if err := d.each(func(k usageKey, s dailySum) error {
			args = append(args, k.contract, int64(k.day), s.counted, s.entries)
			if n++; n < dailyChunk {
				return nil
			}
			err := exec(n, args)
			args, n = args[:0], 0
			return err
		}); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		return exec(n, args)
	})
	if err != nil {
		return fmt.Errorf("daily usage: %w", err)
	}
	return nil
}

// execChunked writes one row per key, in the keys' order, with multi-row
// statements of up to chunk rows: insert, then tuple (its placeholders and
// a comma) once per row, then conflict; row appends a key's values. what
// names the rows in an error.
func execChunked[K any](ctx context.Context, db execer, what string, keys []K, chunk int, insert, tuple, conflict string, row func([]any, K) []any) error {
	var args []any
	for len(keys) > 0 {
		part := keys[:min(chunk, len(keys))]
		keys = keys[len(part):]
		args = args[:0]
		for _, k := range part {
			args = row(args, k)
		}
		q := insert + strings.TrimSuffix(strings.Repeat(tuple, len(part)), ",") + conflict
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

// execer is a transaction or a connection.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
