package timesheet

import (
	"strings"
	"time"
	"unicode/utf8"

	"retainer/billing"
)

type rowKind int

const (
	rowOK rowKind = iota
	rowBlank
	rowRunning
	rowBreak
	rowBad
)

// missing names a column in a reason, as the file spells it.
func (s *scanner) missing(f field) string {
	n := s.cols.name[f]
	if n == "" {
		n = "?"
	}
	return "missing column value: " + n
}

// row turns one record into an entry.
func (s *scanner) row(rec []string, line int) (Entry, rowKind, string) {
	c := &s.cols
	blank := true
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			blank = false
			break
		}
	}
	if blank {
		return Entry{}, rowBlank, ""
	}
	if c.has(fType) && isBreak(c.get(rec, fType)) {
		// A break is not work, whatever else the row says (also while
		// its timer runs).
		return Entry{}, rowBreak, ""
	}
	sp := specFor(s.format)
	dur := strings.TrimSpace(c.get(rec, fDuration))
	// spanned: the header has no duration column (a French Clockify
	// export) and the duration is the span from start to end.
	spanned := sp.span && !c.has(fDuration)
	if sp.running {
		if (!spanned && (dur == "" || strings.Contains(strings.ToLower(dur), "running"))) ||
			(c.has(fEndTime) && strings.TrimSpace(c.get(rec, fEndTime)) == "") {
			return Entry{}, rowRunning, ""
		}
	}

	ds := strings.TrimSpace(c.get(rec, fDate))
	if ds == "" {
		return Entry{}, rowBad, s.missing(fDate)
	}
	var ev *evidence
	if s.order == orderUnknown {
		ev = &s.ev
	}
	date, ok := parseDate(ds, s.order, ev, line)
	if !ok {
		return Entry{}, rowBad, "bad date " + quote(ds)
	}
	if !date.Valid() {
		return Entry{}, rowBad, "date " + quote(ds) + " is " + billing.ErrOutOfRange.Error()
	}
	var start time.Time
	if c.has(fStartTime) {
		if ts := strings.TrimSpace(c.get(rec, fStartTime)); ts != "" {
			secs, ok := parseClock(ts)
			if !ok {
				return Entry{}, rowBad, "bad time " + quote(ts)
			}
			t := date.Time()
			start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, secs, 0, s.loc)
			date = billing.DateAt(start, s.agency)
			if !date.Valid() { // 2000-01-01 00:30 in a zone ahead of the agency's
				return Entry{}, rowBad, "date " + quote(ds+" "+ts) + " is, in the agency timezone, " + billing.ErrOutOfRange.Error()
			}
		}
	}

	var secs int64
	if spanned {
		if start.IsZero() {
			return Entry{}, rowBad, s.missing(fStartTime)
		}
		var reason string
		if secs, reason = s.span(rec, start, ev, line); reason != "" {
			return Entry{}, rowBad, reason
		}
		dur = billing.FormatQuantity(secs, billing.UnitHours) + " h"
	} else {
		if dur == "" {
			return Entry{}, rowBad, s.missing(fDuration)
		}
		var reason string
		if secs, reason = parseDuration(dur); reason != "" {
			return Entry{}, rowBad, reason
		}
	}
	if err := billing.CheckHours(secs); err != nil {
		// One entry longer than a month is a typing mistake, and keeps
		// every sum far from overflowing.
		return Entry{}, rowBad, "duration " + quote(dur) + ": " + err.Error()
	}
	for _, f := range textFields {
		if v := c.get(rec, f); v != "" {
			if reason := textProblem(v); reason != "" {
				return Entry{}, rowBad, "column " + quote(c.name[f]) + " " + reason
			}
		}
	}

	billable := true
	if c.has(fBillable) {
		b, ok := parseBillable(c.get(rec, fBillable))
		if !ok {
			return Entry{}, rowBad, "bad billable value " + quote(c.get(rec, fBillable))
		}
		billable = b
	}

	// Names are made safe to show on one line (billing.CleanName): a line
	// break or a bidirectional override in an export would otherwise reach
	// Subjects and pages.
	e := Entry{
		Format:      s.format,
		Line:        line,
		Date:        date,
		Seconds:     secs,
		Client:      billing.CleanName(c.get(rec, fClient)),
		Project:     billing.CleanName(c.get(rec, fProject)),
		ProjectCode: billing.CleanName(c.get(rec, fProjectCode)),
		Task:        billing.CleanName(c.get(rec, fTask)),
		Notes:       billing.CleanNotes(c.get(rec, fNotes)),
		User:        billing.CleanName(c.get(rec, fUser)),
		Billable:    billable,
		ExternalID:  billing.CleanName(c.get(rec, fID)),
	}
	if c.has(fFirstName) || c.has(fLastName) {
		e.User = strings.TrimSpace(billing.CleanName(c.get(rec, fFirstName)) + " " + billing.CleanName(c.get(rec, fLastName)))
	}
	if e.User == "" {
		e.User = billing.CleanName(c.get(rec, fEmail))
	}
	return e, rowOK, ""
}

// span is the seconds from start to the row's end date and time, read in
// the same timezone (a daylight-saving change in between counts as the
// clock on the wall passed it), or why it cannot be read.
func (s *scanner) span(rec []string, start time.Time, ev *evidence, line int) (int64, string) {
	c := &s.cols
	eds, ets := strings.TrimSpace(c.get(rec, fEndDate)), strings.TrimSpace(c.get(rec, fEndTime))
	if eds == "" {
		return 0, s.missing(fEndDate)
	}
	endDate, ok := parseDate(eds, s.order, ev, line)
	if !ok || !endDate.Valid() {
		return 0, "bad date " + quote(eds)
	}
	clock, ok := parseClock(ets)
	if !ok {
		return 0, "bad time " + quote(ets)
	}
	t := endDate.Time()
	end := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, clock, 0, s.loc)
	if end.Before(start) {
		return 0, "ends (" + quote(eds+" "+ets) + ") before it starts"
	}
	return int64(end.Sub(start) / time.Second), ""
}

// textFields are the columns whose text is stored.
var textFields = []field{fClient, fProject, fProjectCode, fTask, fNotes, fUser, fEmail, fFirstName, fLastName, fID}

// textProblem says why a column's text cannot be stored, or "": a NUL byte
// (which PostgreSQL refuses) or bytes that are not UTF-8. Everything else
// is cleaned, not refused.
func textProblem(v string) string {
	if strings.IndexByte(v, 0) >= 0 {
		return billing.ErrNUL.Error()
	}
	if !utf8.ValidString(v) {
		return billing.ErrNotUTF8.Error() + " (export or save the file as UTF-8)"
	}
	return ""
}
