package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"retainer/billing"
)

// Streaming: on SQLite, an import whose caller reads a local file (Stream)
// writes its rows without an id into entries while the file is still being
// read, on a goroutine of its own, so that parsing and writing share the
// cores instead of taking turns. It is a bet that the file is a first
// import of its dates, which is the case that needs no pairing: the writer
// takes the write lock at the first such row, and before it writes rows of
// days not yet checked it looks for the source's stored rows without an
// id in those days (an earlier import's). Any doubt ends the bet: such a
// stored row, a row with an external id, an error, a cancelled import.
// The writer then rolls back everything it wrote and releases the lock,
// and Commit does what it does without streaming, from the spool, which
// holds every row either way. When the bet holds, Commit finds the rows
// written and adds their usage.
//
// The write lock is held from the first row to Commit: as long as the
// rest of the file takes to read, which for a local file is less than the
// write itself (reading 1,000,000 Harvest rows takes about a second).

// streamer is an import's streaming writer, as Add and Commit see it.
type streamer struct {
	// ctx is the writer's: cancelled when the stream is given up (a wait
	// for the lock ends with it), else when the import ends.
	ctx     context.Context
	cancel  context.CancelFunc
	chunks  chan streamChunk
	stopped chan struct{} // closed when the writer returns
	quit    chan struct{} // closed to make the writer give up
	err     error         // why the writer stopped; read after stopped
	panic   any           // what the writer panicked with, if it did
	// Add's side: the spool rows not yet handed to the writer begin at
	// row next, at offset off.
	next, off int64
	failed    bool // the writer has stopped: nothing more is sent
}

// streamChunk is a run of spooled rows handed to the writer: rows rows
// from row seq, in the spool's bytes off..off+n, written once the days
// first..last (the file's so far) are known to hold no earlier rows.
type streamChunk struct {
	seq, off, n int64
	rows        int
	boxed       []any // the spool's interned strings when the chunk was sent
	first, last billing.Date
}

// errStreamConflict ends a stream that found rows to pair with.
var errStreamConflict = errors.New("the source has earlier rows in the file's dates")

// streamQueue is how many chunks Add may be ahead of the writer.
const streamQueue = 4

// Stream lets the import write its rows without an id while they are
// added (see streaming, above). Call it before the first Add; it does
// nothing on PostgreSQL.
func (im *Import) Stream() { im.streamOK, im.streamRows = !im.s.d.postgres, spoolChunk }

// streamAdded hands the spooled rows to the writer spoolChunk at a time,
// starting the writer at the first row.
func (im *Import) streamAdded() error {
	st := im.stream
	if st == nil {
		if im.spool.n != 1 || im.ided > 0 || im.streamTried {
			return nil
		}
		im.streamTried = true
		if im.staging { // empty: no row with an id came yet
			if _, err := im.conn.ExecContext(im.ctx, `COMMIT`); err != nil {
				return fmt.Errorf("import staging: %w", err)
			}
			im.staging = false
		}
		st = &streamer{chunks: make(chan streamChunk, streamQueue), stopped: make(chan struct{}), quit: make(chan struct{}), next: 1}
		st.ctx, st.cancel = context.WithCancel(im.ctx)
		im.stream, im.streamCancel = st, st.cancel
		go func() {
			defer close(st.stopped)
			defer func() { // raised again on the import's own goroutine (endStream)
				if r := recover(); r != nil {
					st.panic, st.err = r, errors.New("stream: the writer panicked")
				}
			}()
			st.err = im.runStream(st)
		}()
	}
	if im.spool.n-st.next+1 >= int64(im.streamRows) {
		return im.sendChunk(st)
	}
	return nil
}

// sendChunk hands the rows spooled since the last chunk to the writer,
// unless it has stopped.
func (im *Import) sendChunk(st *streamer) error {
	s := im.spool
	rows := s.n - st.next + 1
	if st.failed || rows == 0 {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("import spool: %w", err)
	}
	c := streamChunk{seq: st.next, off: st.off, n: s.off - st.off, rows: int(rows), boxed: s.boxed, first: im.first, last: im.last}
	select {
	case st.chunks <- c:
		st.next, st.off = s.n+1, s.off
	case <-st.stopped:
		st.failed = true
	}
	return nil
}

// endStream hands the writer the last rows, waits for it and reports
// whether it wrote every row (the transaction then open in im.tx); when it
// did not, it has rolled back and Commit goes on without it. abort makes
// it give up instead.
func (im *Import) endStream(abort bool) (bool, error) {
	st := im.stream
	if st == nil {
		return false, nil
	}
	im.stream = nil
	if abort {
		close(st.quit)
		st.cancel()
		<-st.stopped // it rolled back: it never saw the chunks end
		close(st.chunks)
		return false, nil
	}
	if err := im.sendChunk(st); err != nil {
		close(st.quit)
		st.cancel()
		<-st.stopped
		close(st.chunks)
		return false, err
	}
	close(st.chunks)
	<-st.stopped
	if st.panic != nil {
		panic(st.panic)
	}
	if st.err != nil {
		return false, nil
	}
	im.streamed = true
	return true, nil
}

// stopStream gives the stream up (a row with an external id came) and
// takes the staging transaction up again.
func (im *Import) stopStream() error {
	if _, err := im.endStream(true); err != nil {
		return err
	}
	if !im.staging && !im.s.d.postgres {
		if _, err := im.conn.ExecContext(im.ctx, `BEGIN DEFERRED`); err != nil {
			return fmt.Errorf("import staging: %w", err)
		}
		im.staging = true
	}
	return nil
}

// runStream is the writer: it opens the import's write transaction and
// writes each chunk it is handed, until the chunks end (the transaction is
// left open for Commit) or it gives up (everything rolled back).
func (im *Import) runStream(st *streamer) (err error) {
	ctx := st.ctx
	wrote := false // every chunk, the transaction left open for Commit
	defer func() { // on an error or a panic
		if wrote {
			return
		}
		if im.tx != nil {
			im.tx.Rollback()
			im.tx, im.batch = nil, 0
		}
		if im.cacheSize != 0 {
			im.conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA cache_size = %d`, im.cacheSize))
			im.cacheSize = 0
		}
	}()
	tx, err := im.s.begin(ctx, im.conn)
	if err != nil {
		return err
	}
	im.tx = tx
	if err := tx.QueryRowContext(ctx, `INSERT INTO imports (source, started_at) VALUES (?, ?) RETURNING id`,
		im.source, im.now.Unix()).Scan(&im.batch); err != nil {
		return err
	}
	if err := im.boundCache(); err != nil {
		return err
	}
	earlier, err := im.importedBefore(ctx, tx)
	if err != nil {
		return err
	}
	var stmts map[int]*rawStmt
	defer func() {
		if stmts != nil {
			im.rawDo(func(any) error {
				for _, s := range stmts {
					s.close()
				}
				return nil
			})
		}
	}()
	raw, ok := im.rawConn()
	if !ok {
		return errors.New("stream: the driver's connection has no SQLite handle")
	}
	stmts = map[int]*rawStmt{}
	insert := im.spooledInsert()
	checked := false
	var from, to billing.Date // the days checked
	var br *bufio.Reader
	args := make([]any, 0, spoolChunk*spoolArgs)
	for {
		var c streamChunk
		var ok bool
		select {
		case <-st.quit:
			return errors.New("stream abandoned")
		case c, ok = <-st.chunks:
		}
		if !ok {
			wrote = true
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if earlier {
			for _, r := range uncheckedDays(checked, from, to, c.first, c.last) {
				if stored, err := im.storedIn(ctx, tx, r[0], r[1]); err != nil {
					return err
				} else if stored {
					return errStreamConflict
				}
			}
		}
		checked, from, to = true, c.first, c.last
		sr := io.NewSectionReader(im.spool.f, c.off, c.n)
		if br == nil {
			br = bufio.NewReaderSize(sr, 1<<16)
		} else {
			br.Reset(sr)
		}
		r := &spoolReader{s: im.spool, r: br, seq: c.seq - 1, end: c.seq - 1 + int64(c.rows), boxed: c.boxed}
		args = args[:0]
		for {
			var more bool
			if args, more, err = r.nextArgs(args); err != nil {
				return err
			} else if !more {
				break
			}
		}
		if len(args) != c.rows*spoolArgs {
			return fmt.Errorf("import spool: %d values for %d rows", len(args), c.rows)
		}
		if err := im.s.hook("import:stream"); err != nil {
			return err
		}
		if err := im.rawWrite(raw, func() error {
			s := stmts[c.rows]
			if s == nil {
				var err error
				if s, err = raw.prepare(insert(c.rows)); err != nil {
					return err
				}
				stmts[c.rows] = s
			}
			return s.exec(args)
		}); err != nil {
			return fmt.Errorf("insert entries: %w", err)
		}
		clear(args)
		im.streamedRows.Add(int64(c.rows))
	}
}

// uncheckedDays returns the day ranges of first..last outside the range
// from..to already checked (all of it when nothing was).
func uncheckedDays(checked bool, from, to, first, last billing.Date) [][2]billing.Date {
	if !checked {
		return [][2]billing.Date{{first, last}}
	}
	var out [][2]billing.Date
	if first < from {
		out = append(out, [2]billing.Date{first, from - 1})
	}
	if last > to {
		out = append(out, [2]billing.Date{to + 1, last})
	}
	return out
}
