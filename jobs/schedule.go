package jobs

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// ParseSchedule parses a job's schedule (5 cron fields or a descriptor such
// as @hourly or @every 30s) in the agency timezone loc; a CRON_TZ= prefix
// names another zone.
//
// The schedule reads the wall clock, and a wall-clock time happens once a
// day whatever daylight saving does: a time that does not exist on a
// spring-forward day (02:30) fires once, at the moment it would have been
// without the change (03:30); a time that happens twice on a fall-back day
// fires once, the first time. (cron itself skips the first and runs the
// second twice.) @every schedules ignore the wall clock.
func ParseSchedule(expr string, loc *time.Location) (s cron.Schedule, err error) {
	defer func() { // the parser panics on some input ("CRON_TZ=UTC" alone)
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("invalid schedule %q", expr)
		}
	}()
	parsed, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid schedule %q: %v", expr, err)
	}
	spec, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return parsed, nil
	}
	if spec.Location != time.Local { // CRON_TZ= given
		loc = spec.Location
	}
	wall := *spec
	wall.Location = time.UTC // wall-clock readings are held as UTC times
	return &wallSchedule{spec: &wall, loc: loc}, nil
}

type wallSchedule struct {
	spec *cron.SpecSchedule
	loc  *time.Location
}

// Next returns the first firing strictly after t.
func (w *wallSchedule) Next(t time.Time) time.Time {
	l := t.In(w.loc)
	wt := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
	for i := 0; i < 8; i++ {
		n := w.spec.Next(wt)
		if n.IsZero() {
			return n
		}
		if at := instant(n, w.loc); at.After(t) {
			return at
		}
		wt = n // the wall time came round again (fall-back) or merged into the next (spring-forward)
	}
	return time.Time{}
}

// instant returns the first instant at which loc's clock reads the wall
// time w (held as UTC); in a spring-forward gap, the instant the clock
// would have read w had it not moved.
func instant(w time.Time, loc *time.Location) time.Time {
	probe := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	_, before := probe.Add(-12 * time.Hour).Zone()
	_, after := probe.Add(12 * time.Hour).Zone()
	var best time.Time
	for _, off := range []int{before, after} {
		at := w.Add(-time.Duration(off) * time.Second).In(loc)
		l := at
		if l.Hour() == w.Hour() && l.Minute() == w.Minute() && l.Day() == w.Day() && (best.IsZero() || at.Before(best)) {
			best = at
		}
	}
	if best.IsZero() {
		best = w.Add(-time.Duration(before) * time.Second).In(loc)
	}
	return best
}

// lastFiring returns the latest firing of s in (from, to], or the zero time.
func lastFiring(s cron.Schedule, from, to time.Time) time.Time {
	var last time.Time
	for t, i := s.Next(from), 0; !t.IsZero() && !t.After(to) && i < 200000; t, i = s.Next(t), i+1 {
		last = t
	}
	return last
}
