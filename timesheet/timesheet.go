// Package timesheet reads time-tracker exports (Harvest, Toggl Track,
// Clockify and a generic CSV) into time entries, as SPEC §5 describes.
//
// Parse streams the file twice: the first pass detects the format, decides
// the date order and validates every row; the second hands each entry to the
// caller, and only runs when the first found no bad row. Nothing but the
// current record is held in memory.
package timesheet

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"retainer/billing"
)

// Format names an export format.
type Format string

// The formats Parse reads.
const (
	Harvest  Format = "harvest"
	Toggl    Format = "toggl"
	Clockify Format = "clockify"
	Generic  Format = "generic"
)

// Entry is one time entry read from an export.
type Entry struct {
	Format      Format       // the file's format, the entry's source
	Line        int          // 1-based physical line where the record starts (header is line 1)
	Date        billing.Date // the start date, in the agency timezone
	Seconds     int64        // the duration column, never end − start
	Client      string
	Project     string
	ProjectCode string
	Task        string
	Notes       string
	User        string
	Billable    bool   // true when the format has no billable column
	ExternalID  string // "" when the format has none
}

// RowError is one invalid row.
type RowError struct {
	Line   int
	Reason string
}

func (e RowError) String() string { return fmt.Sprintf("%d: %s", e.Line, e.Reason) }

// Options tune Parse.
type Options struct {
	Format    Format         // "" = detect from the header line
	DateOrder string         // "", "mdy" or "dmy": only for files whose dates cannot tell
	Location  *time.Location // times without an offset are in this zone; nil = UTC
	Agency    *time.Location // the agency timezone, for Entry.Date; nil = Location

	// Discard, when set, lets Parse read the file once instead of twice: fn
	// then receives rows from the first pass, as long as every date so far
	// is year-first or dotted and no row is bad. If a date whose order the
	// file decides later turns up after rows were handed over, Parse calls
	// Discard, and the caller drops them; the rows come again from a second
	// pass. A caller that sets Discard also drops everything fn received when
	// Parse returns an error or Summary.Errors.
	Discard func() error
}

// Summary describes a parsed file.
type Summary struct {
	Format      Format
	Rows        int          // valid entries emitted
	Running     int          // running timers skipped
	Breaks      int          // Clockify break rows skipped: a break is not work
	First, Last billing.Date // date range covered (valid when Rows > 0)
	Errors      []RowError   // every bad row; when non-empty, nothing fn received counts (without Discard, fn was never called)
}

// ErrUnknownFormat is returned for a header that matches no known format.
var ErrUnknownFormat = errors.New("unknown import format: the header matches none of harvest, toggl, clockify, generic")

// ErrEmptyFile is returned for a file without a header line.
var ErrEmptyFile = errors.New("empty file: no header line")

// Parse reads a whole export. It makes two passes over r (seeking back to the
// start): the first detects the format, decides the date order and validates
// every row, the second calls fn for each entry in file order — only when the
// first pass found no bad row.
//
// The error is non-nil only for an unknown format, an empty file, an I/O
// error, a file whose date order cannot be decided or contradicts itself, or
// fn's error. Bad rows are reported in Summary.Errors with a nil error.
func Parse(r io.ReadSeeker, opts Options, fn func(Entry) error) (Summary, error) {
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	agency := opts.Agency
	if agency == nil {
		agency = loc
	}
	switch opts.DateOrder {
	case "", "mdy", "dmy":
	default:
		return Summary{}, fmt.Errorf("import.date_order %q: want mdy or dmy", opts.DateOrder)
	}
	s := &scanner{format: opts.Format, loc: loc, agency: agency}

	// Pass 1: validate, gather date-order evidence, and with Discard set,
	// hand rows over while that is safe.
	var first func(Entry) error
	if opts.Discard != nil {
		first, s.optimistic, s.discard = fn, true, opts.Discard
	}
	sum, err := s.run(r, first)
	if err != nil {
		return sum, err
	}
	order, err := s.ev.decide(opts.DateOrder)
	if err != nil {
		sum.Rows, sum.First, sum.Last = 0, 0, 0
		return sum, err
	}
	if len(sum.Errors) > 0 {
		// Nothing was emitted; the date range is not meaningful.
		sum.Rows, sum.First, sum.Last = 0, 0, 0
		return sum, nil
	}
	if s.optimistic && !s.stopped {
		return sum, nil // every row went over in the one pass
	}
	// Pass 2: emit.
	s.optimistic = false
	s.order = order
	s.format = sum.Format
	s.ev = evidence{}
	sum2, err := s.run(r, fn)
	if err != nil {
		return sum2, err
	}
	if len(sum2.Errors) > 0 { // cannot happen: both passes read the same bytes
		return sum2, fmt.Errorf("file changed between passes: line %d: %s", sum2.Errors[0].Line, sum2.Errors[0].Reason)
	}
	return sum2, nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

const peekSize = 64 << 10

type scanner struct {
	format Format
	loc    *time.Location
	agency *time.Location
	order  dateOrder // orderUnknown in pass 1
	ev     evidence
	cols   columns

	optimistic bool         // pass 1 hands rows to fn (Options.Discard set)
	stopped    bool         // … until a late-decided date or a bad row
	emitted    int          // rows handed over in pass 1
	discard    func() error // Options.Discard
}

// stop ends the hand-over of pass 1; rows already handed over are discarded
// when a second pass will send them again.
func (s *scanner) stop(again bool) error {
	if !s.optimistic || s.stopped {
		return nil
	}
	s.stopped = true
	if again && s.emitted > 0 {
		return s.discard()
	}
	return nil
}

// run makes one pass. With fn nil it only validates.
func (s *scanner) run(r io.ReadSeeker, fn func(Entry) error) (Summary, error) {
	var sum Summary
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return sum, fmt.Errorf("rewind: %w", err)
	}
	br := bufio.NewReaderSize(r, peekSize)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(3)
	}
	head, err := br.Peek(peekSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return sum, err
	}
	var src io.Reader = br
	if i := bytes.IndexAny(head, "\r\n"); i >= 0 {
		if head[i] == '\r' && (i+1 >= len(head) || head[i+1] != '\n') {
			// Lines end in a bare CR (classic Mac OS, Excel's "CSV
			// (Macintosh)"): encoding/csv reads those as one line.
			src = crLines{br}
		}
		head = head[:i]
	}
	cr := csv.NewReader(src)
	cr.Comma = detectDelimiter(head)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err == io.EOF {
		return sum, ErrEmptyFile
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return sum, fmt.Errorf("%w: malformed header line: %v", ErrUnknownFormat, pe.Err)
		}
		return sum, err
	}
	names := normaliseHeader(header)
	f, cols, err := detect(s.format, names, header)
	if err != nil {
		return sum, err
	}
	sum.Format = f
	s.format = f
	s.cols = cols
	reason := duplicateColumn(specFor(f), names, header)
	if reason == "" {
		reason = mixedLanguages(specFor(f), names, header)
	}
	if reason != "" {
		// Which of two columns to read, or whether a hand-edited header
		// still says what the tracker wrote, cannot be guessed: the file
		// is refused at its header line.
		line, _ := cr.FieldPos(0)
		sum.Errors = append(sum.Errors, RowError{Line: line, Reason: reason})
		return sum, nil
	}

	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				sum.Errors = append(sum.Errors, RowError{Line: pe.StartLine, Reason: "malformed CSV: " + pe.Err.Error()})
				continue
			}
			return sum, err
		}
		line, _ := cr.FieldPos(0)
		before := s.ev
		e, kind, reason := s.row(rec, line)
		if s.ev != before { // a date whose reading depends on the file's order
			if err := s.stop(true); err != nil {
				return sum, err
			}
		}
		switch kind {
		case rowBlank:
			continue
		case rowRunning:
			sum.Running++
			continue
		case rowBreak:
			sum.Breaks++
			continue
		case rowBad:
			sum.Errors = append(sum.Errors, RowError{Line: line, Reason: reason})
			if err := s.stop(false); err != nil {
				return sum, err
			}
			continue
		}
		if sum.Rows == 0 || e.Date < sum.First {
			sum.First = e.Date
		}
		if sum.Rows == 0 || e.Date > sum.Last {
			sum.Last = e.Date
		}
		sum.Rows++
		if fn != nil && !(s.optimistic && s.stopped) {
			if err := fn(e); err != nil {
				return sum, err
			}
			s.emitted++
		}
	}
	return sum, nil
}

// detectDelimiter picks ';' when the header line has more semicolons than
// commas outside quotes, else ','.
func detectDelimiter(line []byte) rune {
	commas, semis := 0, 0
	inQuote := false
	for _, c := range line {
		switch c {
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				commas++
			}
		case ';':
			if !inQuote {
				semis++
			}
		}
	}
	if semis > commas {
		return ';'
	}
	return ','
}

// normaliseHeader lower-cases, trims and collapses spaces in header names.
func normaliseHeader(h []string) []string {
	out := make([]string, len(h))
	for i, n := range h {
		n = strings.TrimPrefix(n, "\ufeff")
		out[i] = strings.ToLower(strings.Join(strings.Fields(n), " "))
	}
	return out
}

// crLines reads a file whose lines end in a bare CR as if they ended in
// LF; a CR followed by LF is left alone.
type crLines struct{ r *bufio.Reader }

func (c crLines) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] != '\r' {
			continue
		}
		if i+1 < n {
			if p[i+1] != '\n' {
				p[i] = '\n'
			}
			continue
		}
		if next, perr := c.r.Peek(1); perr == nil && next[0] == '\n' {
			continue
		}
		p[i] = '\n'
	}
	return n, err
}
