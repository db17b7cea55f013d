package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// ParseSchedule parses a job's schedule (5 cron fields or a descriptor such
// as @hourly or @every 30s) in the agency timezone loc; a CRON_TZ= prefix
// names another zone. Loading a config parses each schedule once with it;
// the scheduler runs the parsed schedules (Config.Schedules).
//
// It refuses a schedule that would never run: a date that does not exist
// (0 6 30 2 *: 30 February), or an @every interval under one second (cron
// would silently read @every -5s as every second).
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
	body := expr
	if strings.HasPrefix(body, "CRON_TZ=") || strings.HasPrefix(body, "TZ=") {
		if _, rest, ok := strings.Cut(body, " "); ok {
			body = strings.TrimSpace(rest)
		}
	}
	if every, ok := strings.CutPrefix(body, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(every))
		if err != nil {
			return nil, fmt.Errorf("invalid schedule %q: %v", expr, err)
		}
		if d < time.Second {
			return nil, fmt.Errorf("invalid schedule %q: @every needs an interval of at least 1s", expr)
		}
	}
	parsed, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid schedule %q: %v", expr, err)
	}
	spec, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return parsed, nil
	}
	// A firing is looked for from a fixed instant, so that loading never
	// reads the clock: the first day of a leap year, so that a schedule on
	// 29 February passes.
	if spec.Next(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("schedule %q never fires (no such date within %s)", expr, cronHorizon)
	}
	if spec.Location != time.Local { // CRON_TZ= given
		loc = spec.Location
	}
	wall := *spec
	wall.Location = time.UTC // wall-clock readings are held as UTC times
	return &wallSchedule{spec: &wall, loc: loc}, nil
}

// cronHorizon is how far cron's own search looks for a firing.
const cronHorizon = "5 years"

// scheduleField is one job's schedule in a Schedule.
type scheduleField struct {
	job   string
	value *string
}

func (s *Schedule) fields() []scheduleField {
	return []scheduleField{
		{"import", &s.Import}, {"alerts", &s.Alerts}, {"digest", &s.Digest},
		{"checkins", &s.Checkins}, {"close", &s.Close}, {"renewals", &s.Renewals},
		{"overdue", &s.Overdue}, {"dispatch", &s.Dispatch}, {"payments", &s.Payments},
	}
}

// Expressions returns each job's schedule as the config writes it, by job
// name ("" when the job is disabled).
func (s Schedule) Expressions() map[string]string {
	out := map[string]string{}
	for _, f := range s.fields() {
		out[f.job] = *f.value
	}
	return out
}

type scheduleError struct {
	job string
	err error
}

// parse parses every enabled job's schedule in loc.
func (s Schedule) parse(loc *time.Location) (map[string]cron.Schedule, []scheduleError) {
	parsed := map[string]cron.Schedule{}
	var errs []scheduleError
	for _, f := range s.fields() {
		if *f.value == "" {
			continue // disabled
		}
		sched, err := ParseSchedule(*f.value, loc)
		if err != nil {
			errs = append(errs, scheduleError{f.job, err})
			continue
		}
		parsed[f.job] = sched
	}
	return parsed, errs
}

// Parse parses every enabled job's schedule in loc, by job name: what a
// load does, for a Config built by hand (tests).
func (s Schedule) Parse(loc *time.Location) (map[string]cron.Schedule, error) {
	parsed, errs := s.parse(loc)
	if len(errs) > 0 {
		return nil, fmt.Errorf("schedule.%s: %w", errs[0].job, errs[0].err)
	}
	return parsed, nil
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
