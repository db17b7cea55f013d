package timesheet

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"retainer/store"
)

// FileResult is what importing one file did.
type FileResult struct {
	Path    string
	Format  Format
	Rows    int
	Running int
	Breaks  int // Clockify break rows skipped
	store.ImportResult
	Errors []RowError // the file was rejected whole when not empty
	Err    error      // a whole-file problem: unknown format, undecidable dates, I/O
	// Reimported: the file changed in processed/ after it was imported
	// (its writer went on writing after a pause) and was imported again.
	Reimported bool
}

// Rejected reports whether nothing of the file was imported.
func (r *FileResult) Rejected() bool { return len(r.Errors) > 0 || r.Err != nil }

// Importer imports export files into the store.
type Importer struct {
	DB      *store.DB
	Rules   *store.Rules
	Options Options
	Now     func() time.Time
	// FileClock is the clock the inbox compares modification times with:
	// the file system's, which is the wall clock even when Now is set to
	// another day (run --now). Nil means Now.
	FileClock func() time.Time
}

// ImportFile parses one export and imports it in one transaction: a file
// with any bad row imports nothing. The rows are staged while the file is
// read, which takes no lock; the write transaction is the import's Commit,
// after the last row, so a long file keeps no other writer waiting.
func (im *Importer) ImportFile(ctx context.Context, path string) FileResult {
	res := FileResult{Path: path}
	f, err := os.Open(path)
	if err != nil {
		res.Err = err
		return res
	}
	defer f.Close()
	// Parse runs on its own goroutine and hands over batches of rows, each
	// batch matched, counted and fingerprinted (Rules.Prepare) on a
	// goroutine of its own, while this one takes them in the file's order
	// into the import: the work keeps every core busy, whichever part
	// weighs most (with 10,000 contracts, matching and the import's maps
	// outweigh parsing). Everything goes into one import, abandoned if the
	// file turns out to have a bad row, and restarted if Parse must read
	// the file a second time.
	type batch struct {
		format   Format
		rows     []store.Entry
		reset    bool          // drop what came before: the rows come again
		prepared chan struct{} // closed once rows are prepared
	}
	batches := make(chan batch, 4)
	stop := make(chan struct{})
	var sum Summary
	parseErr := make(chan error, 1)
	go func() {
		defer close(batches)
		var cur batch
		send := func() error {
			done := make(chan struct{})
			cur.prepared = done
			go func(rows []store.Entry) {
				for i := range rows {
					im.Rules.Prepare(&rows[i])
				}
				close(done)
			}(cur.rows)
			select {
			case batches <- cur:
				cur = batch{format: cur.format}
				return nil
			case <-stop:
				return context.Canceled
			}
		}
		opts := im.Options
		opts.Discard = func() error {
			cur = batch{format: cur.format, reset: true}
			return send()
		}
		var err error
		sum, err = Parse(f, opts, func(e Entry) error {
			se := store.Entry{
				ExternalID: e.ExternalID, Date: e.Date, Seconds: e.Seconds, Billable: e.Billable,
				Client: e.Client, Project: e.Project, ProjectCode: e.ProjectCode, Task: e.Task, Notes: e.Notes, User: e.User,
			}
			cur.format = e.Format
			if cur.rows == nil {
				cur.rows = make([]store.Entry, 0, 1000)
			}
			cur.rows = append(cur.rows, se)
			if len(cur.rows) == 1000 {
				return send()
			}
			return nil
		})
		if err == nil && len(cur.rows) > 0 {
			err = send()
		}
		parseErr <- err
	}()
	var imp *store.Import
	var writeErr error
	for b := range batches {
		<-b.prepared
		if writeErr != nil {
			continue
		}
		if b.reset && imp != nil {
			imp.Rollback()
			imp = nil
		}
		if imp == nil {
			if imp, writeErr = im.DB.BeginImport(ctx, im.Rules, string(b.format), im.Now()); writeErr != nil {
				close(stop)
				continue
			}
			imp.Stream() // a local file: read faster than it is written
		}
		for i := range b.rows {
			if writeErr = imp.Add(b.rows[i]); writeErr != nil {
				close(stop)
				break
			}
		}
	}
	err = <-parseErr
	if writeErr != nil {
		err = writeErr
	}
	res.Format, res.Rows, res.Running, res.Breaks, res.Errors = sum.Format, sum.Rows, sum.Running, sum.Breaks, sum.Errors
	if err != nil || len(sum.Errors) > 0 {
		if imp != nil {
			imp.Rollback()
		}
		res.Err = err
		return res
	}
	if imp == nil { // a file with no rows
		return res
	}
	r, err := imp.Commit()
	if err != nil {
		res.Err = err
		return res
	}
	res.ImportResult = r
	return res
}

// InboxResult is what one pass over the inbox did.
type InboxResult struct {
	Files   []FileResult
	Waiting []string // files still being written, left for the next pass
}

// stableFor is how long a file's size and modification time must not have
// changed before the inbox takes it.
const stableFor = 2 * time.Second

// ImportInbox imports every finished file in dir, oldest first, and moves
// each to dir/processed or, with a .errors.txt beside it, to dir/failed. A
// file modified within the last 2 seconds is still being written and is left
// alone.
func (im *Importer) ImportInbox(ctx context.Context, dir string) (out InboxResult, err error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("inbox %s: %w", dir, err)
	}
	type candidate struct {
		name string
		mod  time.Time
	}
	var files []candidate
	now := im.Now()
	if im.FileClock != nil {
		now = im.FileClock()
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone since the listing
		}
		// A file modified after the job's clock (a run with a clock set in
		// the past) is not one being written now.
		if age := now.Sub(info.ModTime()); age >= 0 && age < stableFor {
			out.Waiting = append(out.Waiting, e.Name())
			continue
		}
		files = append(files, candidate{e.Name(), info.ModTime()})
	}
	sort.Slice(files, func(i, j int) bool {
		if !files[i].mod.Equal(files[j].mod) {
			return files[i].mod.Before(files[j].mod)
		}
		return files[i].name < files[j].name
	})
	man, err := readManifest(dir)
	if err != nil {
		return out, err
	}
	defer func() {
		if werr := man.write(dir, now); werr != nil && err == nil {
			err = werr
		}
	}()
	// A file that changed after it was imported and moved (its writer
	// paused longer than stableFor, then went on writing): import it again.
	// Imports are idempotent, so the rows already counted count once.
	for _, name := range man.changed(filepath.Join(dir, "processed"), now) {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		path := filepath.Join(dir, "processed", name)
		before, _ := os.Stat(path)
		res := im.ImportFile(ctx, path)
		res.Reimported = true
		if !res.Rejected() {
			man.record(name, before, now)
		} else {
			man.forget(name) // its errors are reported; it is not retried forever
		}
		out.Files = append(out.Files, res)
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		path := filepath.Join(dir, f.name)
		before, err := os.Stat(path)
		if err != nil {
			continue // gone since the listing
		}
		res := im.ImportFile(ctx, path)
		if after, err := os.Stat(path); err == nil && !sameFile(before, after) {
			// Written to while it was read: what was imported may be part of
			// it. It stays in the inbox and is imported again, whole, once it
			// settles (the import is idempotent).
			out.Waiting = append(out.Waiting, f.name)
			continue
		}
		target := "processed"
		if res.Rejected() {
			target = "failed"
		}
		dest, err := moveInto(path, filepath.Join(dir, target), now)
		if err != nil {
			return out, err
		}
		if res.Rejected() {
			if err := os.WriteFile(dest+".errors.txt", []byte(res.ErrorText(f.name)), 0o644); err != nil {
				return out, fmt.Errorf("inbox: %w", err)
			}
		} else {
			man.record(filepath.Base(dest), before, now)
		}
		out.Files = append(out.Files, res)
	}
	return out, nil
}

func sameFile(a, b os.FileInfo) bool { return a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) }

// ErrorText lists a rejected file's problems, one per line, as FILE:LINE: reason.
func (r *FileResult) ErrorText(name string) string {
	var b strings.Builder
	if r.Err != nil {
		fmt.Fprintf(&b, "%s: %v\n", name, r.Err)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "%s:%d: %s\n", name, e.Line, e.Reason)
	}
	return b.String()
}

// moveInto moves path into dir, keeping its name unless one is taken there.
func moveInto(path, dir string, now time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("inbox: %w", err)
	}
	base := filepath.Base(path)
	dest := filepath.Join(dir, base)
	if _, err := os.Stat(dest); err == nil {
		ext := filepath.Ext(base)
		dest = filepath.Join(dir, strings.TrimSuffix(base, ext)+"."+now.UTC().Format("20060102T150405.000000000")+ext)
	}
	if err := os.Rename(path, dest); err != nil {
		return "", fmt.Errorf("inbox: %w", err)
	}
	return dest, nil
}
