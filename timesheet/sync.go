package timesheet

// Tracker API syncs (SPEC §15): what each run lists, what it re-lists to
// find deletions, and the progress it keeps, in the source's sync cursor,
// so that a failure resumes where it stopped.
//
// Every API source is re-listed over its reconcile range — every open
// period, the last import.reconcile_months closed months, and the next
// month (entries may be dated ahead) — by `retainer import` on every run
// and by the daemon at least once a day; an entry the tracker no longer
// lists there is removed (a late adjustment when its period is closed: the
// store's KeepOnly does that). Nothing dated before a source's floor — the
// first day of the first open period at its first sync, or
// import.toggl.since — is ever imported, so a first sync never turns a
// closed month's history into late adjustments.
//
// Harvest reports changes (updated_since) but not deletions: a run imports
// what changed and the running timers, and re-lists the range when due, all
// in one transaction. Toggl's and Clockify's reports have no "changed
// since": a run lists the open periods again, window by window (calendar
// months), each window its own transaction with its progress, plus, when
// due, the rest of the range, and on its first sync the back-fill from the
// floor.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"retainer/billing"
	"retainer/store"
)

// reconcileEvery is how often the daemon re-lists a source's whole
// reconcile range (SPEC §15: at least once a day).
const reconcileEvery = 24 * time.Hour

// SyncResult is what one tracker API sync did. After an error it still
// counts what was committed before it.
type SyncResult struct {
	Source string
	store.ImportResult
	From, To billing.Date // the dates listed again (zero when none)
	Full     bool         // the whole reconcile range was re-listed
	Windows  int          // report windows committed (Toggl, Clockify)
	// Through: every entry from the floor through this date has been
	// imported (Toggl, Clockify: the back-fill's progress).
	Through billing.Date
	// Excluded counts entries left out as not work (Clockify breaks,
	// holidays, time off); Running the running entries not counted yet.
	Excluded, Running int
}

func (r *SyncResult) add(ir store.ImportResult) {
	r.Imported += ir.Imported
	r.Updated += ir.Updated
	r.Unchanged += ir.Unchanged
	r.Removed += ir.Removed
	r.Unmatched += ir.Unmatched
	r.UnmatchedClients = store.MergeUnmatched(r.UnmatchedClients, ir.UnmatchedClients)
}

// Plan is what a sync covers, computed from the agency's today, the
// closed periods and the config by NewPlan.
type Plan struct {
	Today     billing.Date
	FirstOpen billing.Period // the first period not closed
	// From..To is the reconcile range: every open period and the last
	// reconcile_months closed months, through the end of next month.
	From, To billing.Date
	// Full re-lists the whole range now (`retainer import` without FILE);
	// otherwise a source's range is re-listed when its last full re-list is
	// a day old.
	Full bool
}

// NewPlan computes the plan of a sync on the agency's today. The first open
// period is the one after the last closed period; before any close, the
// earliest contract start (when one is set and not in the future), else
// today's period.
func NewPlan(today billing.Date, lastClosed, earliestStart *billing.Period, reconcileMonths int) Plan {
	now := today.Period()
	p := Plan{Today: today, FirstOpen: now, To: (now + 1).LastDay()}
	switch {
	case lastClosed != nil:
		p.FirstOpen = *lastClosed + 1
	case earliestStart != nil && *earliestStart < now:
		p.FirstOpen = *earliestStart
	}
	p.From = p.FirstOpen.FirstDay()
	if lastClosed != nil && reconcileMonths > 0 {
		p.From = (p.FirstOpen - billing.Period(reconcileMonths)).FirstDay()
	}
	return p
}

// fullDue reports whether a source last fully re-listed at last is to be
// re-listed whole now.
func (p Plan) fullDue(last, now time.Time) bool {
	return p.Full || last.IsZero() || now.Sub(last) >= reconcileEvery
}

// syncState is a source's progress, stored as its sync cursor (JSON).
type syncState struct {
	Floor billing.Date // nothing dated earlier is imported; 0 = none (a cursor from before floors)
	// Since is Harvest's updated_since cursor (the largest updated_at seen).
	Since time.Time
	// Done: every window from Floor through Done is imported (Toggl,
	// Clockify); 0 = none yet.
	Done billing.Date
	// Next: a full re-list in progress has done the windows before Next;
	// 0 = none in progress.
	Next       billing.Date
	Reconciled time.Time // the last full re-list completed
}

type stateJSON struct {
	Floor      string    `json:"floor,omitempty"`
	Since      time.Time `json:"since,omitzero"`
	Done       string    `json:"done,omitempty"`
	Next       string    `json:"next,omitempty"`
	Reconciled time.Time `json:"reconciled,omitzero"`
}

func dateText(d billing.Date) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func (s syncState) encode() string {
	b, _ := json.Marshal(stateJSON{Floor: dateText(s.Floor), Since: s.Since.UTC(), Done: dateText(s.Done),
		Next: dateText(s.Next), Reconciled: s.Reconciled.UTC()})
	return string(b)
}

// parseState reads a stored cursor: the JSON state, or the RFC 3339 time
// earlier versions stored (Harvest's updated_since; Toggl's v9 cursor, which
// the reports do not use).
func parseState(raw string) (syncState, error) {
	var s syncState
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return s, nil
	}
	if !strings.HasPrefix(raw, "{") {
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			return s, err
		}
		s.Since = t
		return s, nil
	}
	var j stateJSON
	if err := json.Unmarshal([]byte(raw), &j); err != nil {
		return s, err
	}
	for _, f := range []struct {
		text string
		to   *billing.Date
	}{{j.Floor, &s.Floor}, {j.Done, &s.Done}, {j.Next, &s.Next}} {
		if f.text == "" {
			continue
		}
		d, err := billing.ParseDate(f.text)
		if err != nil {
			return s, err
		}
		*f.to = d
	}
	s.Since, s.Reconciled = j.Since, j.Reconciled
	return s, nil
}

func (im *Importer) state(ctx context.Context, source string) (syncState, error) {
	raw, err := im.DB.Cursor(ctx, source)
	if err != nil {
		return syncState{}, err
	}
	s, err := parseState(raw)
	if err != nil {
		return s, fmt.Errorf("%s: stored cursor %q: %w", source, raw, err)
	}
	return s, nil
}

func add(imp *store.Import, rules *store.Rules, e Entry) error {
	se := store.Entry{
		ExternalID: e.ExternalID, Date: e.Date, Seconds: e.Seconds, Billable: e.Billable,
		Client: e.Client, Project: e.Project, ProjectCode: e.ProjectCode, Task: e.Task, Notes: e.Notes, User: e.User,
	}
	rules.Prepare(&se)
	return imp.Add(se)
}

// SyncHarvest imports, in one transaction with the new cursor, what changed
// in Harvest since the stored cursor and every running timer with the hours
// it shows; when the plan says so, it also re-lists the reconcile range and
// removes the entries of that range that Harvest no longer lists.
func (im *Importer) SyncHarvest(ctx context.Context, h *HarvestAPI, plan Plan) (SyncResult, error) {
	res := SyncResult{Source: SourceHarvestAPI}
	st, err := im.state(ctx, SourceHarvestAPI)
	if err != nil {
		return res, err
	}
	if st.Floor == 0 && st.Since.IsZero() { // a first sync
		st.Floor = plan.FirstOpen.FirstDay()
	}
	now := im.Now()
	imp, err := im.DB.BeginImport(ctx, im.Rules, SourceHarvestAPI, now)
	if err != nil {
		return res, err
	}
	defer imp.Rollback()
	keep := func(e Entry) error {
		if e.Date < st.Floor {
			return nil
		}
		return add(imp, im.Rules, e)
	}
	since := st.Since
	if since.IsZero() {
		since = st.Floor.Time()
	}
	cursor, err := h.Changes(ctx, since, func(c Change) error { return keep(c.Entry) })
	if err != nil {
		return res, fmt.Errorf("%s: %w", SourceHarvestAPI, err)
	}
	if err := h.Running(ctx, keep); err != nil {
		return res, fmt.Errorf("%s: %w", SourceHarvestAPI, err)
	}
	if plan.fullDue(st.Reconciled, now) {
		from, to := max(st.Floor, plan.From), plan.To
		if from <= to {
			latest, err := h.Window(ctx, from, to, keep)
			if err != nil {
				return res, fmt.Errorf("%s: %w", SourceHarvestAPI, err)
			}
			if latest.After(cursor) {
				cursor = latest
			}
			imp.KeepOnly(from, to)
			res.From, res.To = from, to
		}
		res.Full = true
		st.Reconciled = now
	}
	st.Since = cursor
	imp.SetCursor(st.encode())
	r, err := imp.Commit()
	if err != nil {
		return res, fmt.Errorf("%s: %w", SourceHarvestAPI, err)
	}
	res.add(r)
	return res, nil
}

// SyncToggl imports the Toggl workspace's entries through the Reports API,
// window by window (syncWindows).
func (im *Importer) SyncToggl(ctx context.Context, t *TogglAPI, plan Plan) (SyncResult, error) {
	return im.syncWindows(ctx, SourceTogglAPI, plan, t.Since, t.Window)
}

// SyncClockify imports the Clockify workspace's entries through its detailed
// report, window by window (syncWindows). Breaks, holidays and time off
// are left out and counted.
func (im *Importer) SyncClockify(ctx context.Context, c *ClockifyAPI, plan Plan) (SyncResult, error) {
	list := func(ctx context.Context, from, to billing.Date, fn func(Entry) error) error {
		excluded, running := c.Excluded, c.Running
		err := c.Window(ctx, from, to, fn)
		if err != nil { // a window listed again (narrowed) is not counted twice
			c.Excluded, c.Running = excluded, running
		}
		return err
	}
	res, err := im.syncWindows(ctx, SourceClockifyAPI, plan, 0, list)
	res.Excluded, res.Running = c.Excluded, c.Running
	return res, err
}

// lister lists a source's entries dated from..to; it may bring others,
// which are left to their own window.
type lister func(ctx context.Context, from, to billing.Date, fn func(Entry) error) error

type window struct{ from, to billing.Date }

// monthWindows cuts from..to at month ends.
func monthWindows(from, to billing.Date) []window {
	var ws []window
	for d := from; d <= to; {
		end := min(d.Period().LastDay(), to)
		ws = append(ws, window{d, end})
		d = end + 1
	}
	return ws
}

// syncWindows lists a report source window by window, each window one
// transaction that also saves the progress. It lists, from the earliest
// that applies through the plan's end: the back-fill from the floor (since,
// or the first open period's first day) where it has not reached yet; the
// rest of the reconcile range when a full re-list is due (from where an
// interrupted one stopped); and always the open periods. A window that
// fails ends the run: the windows before it stay imported and the next run
// starts at it. A window refused with a 400 that names its dates is
// narrowed (halved, down to a day), never asked again as it was.
func (im *Importer) syncWindows(ctx context.Context, source string, plan Plan, since billing.Date, list lister) (SyncResult, error) {
	res := SyncResult{Source: source}
	st, err := im.state(ctx, source)
	if err != nil {
		return res, err
	}
	floor := since
	if floor == 0 {
		floor = plan.FirstOpen.FirstDay()
	}
	switch {
	case st.Floor == 0: // a first sync, or a cursor from before the reports
		st = syncState{Floor: floor}
	case since != 0 && since < st.Floor: // since moved earlier: back-fill from there
		st.Floor, st.Done = since, 0
	}
	now := im.Now()
	full := plan.fullDue(st.Reconciled, now)
	start := max(st.Floor, plan.FirstOpen.FirstDay())
	if st.Done < plan.To {
		start = min(start, st.doneNext())
	}
	if full {
		from := max(st.Floor, plan.From)
		if st.Next > from && st.Next <= plan.To {
			from = st.Next // an interrupted full re-list goes on
		}
		start = min(start, from)
	}
	res.Through = st.Done
	if start > plan.To {
		return res, nil
	}
	res.From, res.To = start, plan.To
	for _, w := range monthWindows(start, plan.To) {
		if err := im.window(ctx, source, list, w, plan, full, &st, &res); err != nil {
			return res, fmt.Errorf("%s: %w", source, err)
		}
	}
	res.Full = full
	return res, nil
}

// doneNext is the first day the back-fill has not imported.
func (s *syncState) doneNext() billing.Date {
	if s.Done < s.Floor {
		return s.Floor
	}
	return s.Done + 1
}

// window imports window w, halving it while the source refuses its dates.
func (im *Importer) window(ctx context.Context, source string, list lister, w window, plan Plan, full bool, st *syncState, res *SyncResult) error {
	err := im.commitWindow(ctx, source, list, w, plan, full, st, res)
	if err == nil {
		return nil
	}
	if w.from < w.to && NamesDates(err) {
		mid := w.from + (w.to-w.from)/2
		if err := im.window(ctx, source, list, window{w.from, mid}, plan, full, st, res); err != nil {
			return err
		}
		return im.window(ctx, source, list, window{mid + 1, w.to}, plan, full, st, res)
	}
	return fmt.Errorf("window %s..%s: %w (the run stopped there; what came before it is imported, and the next run goes on from it)",
		w.from, w.to, err)
}

func (im *Importer) commitWindow(ctx context.Context, source string, list lister, w window, plan Plan, full bool, st *syncState, res *SyncResult) error {
	now := im.Now()
	imp, err := im.DB.BeginImport(ctx, im.Rules, source, now)
	if err != nil {
		return err
	}
	defer imp.Rollback()
	err = list(ctx, w.from, w.to, func(e Entry) error {
		if e.Date < w.from || e.Date > w.to || e.Date < st.Floor {
			return nil
		}
		return add(imp, im.Rules, e)
	})
	if err != nil {
		return err
	}
	imp.KeepOnly(w.from, w.to)
	next := *st
	if w.from <= next.doneNext() && w.to > next.Done {
		next.Done = w.to
	}
	if full {
		next.Next = w.to + 1
		if w.to >= plan.To {
			next.Next, next.Reconciled = 0, now
		}
	}
	imp.SetCursor(next.encode())
	r, err := imp.Commit()
	if err != nil {
		return err
	}
	*st = next
	res.add(r)
	res.Windows++
	res.Through = next.Done
	return nil
}

// NamesDates reports whether err is a 400 that names the request's dates
// or range (its body mentions start_date, end_date, dateRange, date range,
// range, interval or period): such a window is asked again narrower, never
// as it was. Any other 400 is permanent.
func NamesDates(err error) bool {
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest {
		return false
	}
	d := strings.ToLower(se.Detail)
	for _, w := range []string{"start_date", "end_date", "daterange", "date range", "range", "interval", "period"} {
		if strings.Contains(d, w) {
			return true
		}
	}
	return false
}
