package timesheet

import (
	"strings"
	"time"

	"retainer/billing"
)

type rowKind int

const (
	rowOK rowKind = iota
	rowBlank
	rowRunning
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
	sp := specFor(s.format)
	dur := strings.TrimSpace(c.get(rec, fDuration))
	if sp.running {
		if dur == "" || strings.Contains(strings.ToLower(dur), "running") ||
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
	if c.has(fStartTime) {
		if ts := strings.TrimSpace(c.get(rec, fStartTime)); ts != "" {
			secs, ok := parseClock(ts)
			if !ok {
				return Entry{}, rowBad, "bad time " + quote(ts)
			}
			t := date.Time()
			start := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, secs, 0, s.loc)
			date = billing.DateAt(start, s.agency)
		}
	}

	if dur == "" {
		return Entry{}, rowBad, s.missing(fDuration)
	}
	secs, reason := parseDuration(dur)
	if reason != "" {
		return Entry{}, rowBad, reason
	}

	billable := true
	if c.has(fBillable) {
		b, ok := parseBillable(c.get(rec, fBillable))
		if !ok {
			return Entry{}, rowBad, "bad billable value " + quote(c.get(rec, fBillable))
		}
		billable = b
	}

	e := Entry{
		Format:      s.format,
		Line:        line,
		Date:        date,
		Seconds:     secs,
		Client:      strings.TrimSpace(c.get(rec, fClient)),
		Project:     strings.TrimSpace(c.get(rec, fProject)),
		ProjectCode: strings.TrimSpace(c.get(rec, fProjectCode)),
		Task:        strings.TrimSpace(c.get(rec, fTask)),
		Notes:       c.get(rec, fNotes),
		User:        strings.TrimSpace(c.get(rec, fUser)),
		Billable:    billable,
		ExternalID:  strings.TrimSpace(c.get(rec, fID)),
	}
	if c.has(fFirstName) || c.has(fLastName) {
		e.User = strings.TrimSpace(strings.TrimSpace(c.get(rec, fFirstName)) + " " + strings.TrimSpace(c.get(rec, fLastName)))
	}
	if e.User == "" {
		e.User = strings.TrimSpace(c.get(rec, fEmail))
	}
	return e, rowOK, ""
}
