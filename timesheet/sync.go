package timesheet

import (
	"context"
	"fmt"
	"time"

	"retainer/billing"
	"retainer/store"
)

// SyncResult is what one tracker API sync did.
type SyncResult struct {
	Source string
	store.ImportResult
}

// windowMonths is how far back a Harvest sync re-lists entries to find the
// ones deleted upstream (Harvest reports no deletions): the previous month,
// which is the one a close is about to freeze, and everything after it.
const windowMonths = 1

// SyncHarvest imports what changed in Harvest since the stored cursor, and
// deletes the entries of the recent window that Harvest no longer lists. The
// rows, the deletions and the new cursor are committed together.
func (im *Importer) SyncHarvest(ctx context.Context, h *HarvestAPI, agency *time.Location) (SyncResult, error) {
	return im.sync(ctx, SourceHarvestAPI, func(imp *store.Import, since time.Time) (time.Time, error) {
		cursor, err := h.Changes(ctx, since, func(c Change) error { return add(imp, im.Rules, c.Entry) })
		if err != nil {
			return since, err
		}
		today := billing.DateAt(im.Now(), agency)
		from := (today.Period() - windowMonths).FirstDay()
		to := (today.Period() + 1).LastDay()
		if err := h.Window(ctx, from, to, func(e Entry) error { return add(imp, im.Rules, e) }); err != nil {
			return since, err
		}
		imp.KeepOnly(from, to)
		return cursor, nil
	})
}

// SyncToggl imports what changed in Toggl Track since the stored cursor,
// deletions included.
func (im *Importer) SyncToggl(ctx context.Context, t *TogglAPI) (SyncResult, error) {
	if t.Now == nil {
		api := *t
		api.Now = im.Now // the first window ends at the importer's clock
		t = &api
	}
	return im.sync(ctx, SourceTogglAPI, func(imp *store.Import, since time.Time) (time.Time, error) {
		return t.Changes(ctx, since, func(c Change) error {
			if c.Deleted {
				imp.Delete(c.Entry.ExternalID)
				return nil
			}
			return add(imp, im.Rules, c.Entry)
		})
	})
}

func add(imp *store.Import, rules *store.Rules, e Entry) error {
	se := store.Entry{
		ExternalID: e.ExternalID, Date: e.Date, Seconds: e.Seconds, Billable: e.Billable,
		Client: e.Client, Project: e.Project, ProjectCode: e.ProjectCode, Task: e.Task, Notes: e.Notes, User: e.User,
	}
	rules.Prepare(&se)
	return imp.Add(se)
}

func (im *Importer) sync(ctx context.Context, source string, fetch func(*store.Import, time.Time) (time.Time, error)) (SyncResult, error) {
	res := SyncResult{Source: source}
	raw, err := im.DB.Cursor(ctx, source)
	if err != nil {
		return res, err
	}
	var since time.Time
	if raw != "" {
		if since, err = time.Parse(time.RFC3339Nano, raw); err != nil {
			return res, fmt.Errorf("%s: stored cursor %q: %w", source, raw, err)
		}
	}
	imp, err := im.DB.BeginImport(ctx, im.Rules, source, im.Now())
	if err != nil {
		return res, err
	}
	defer imp.Rollback()
	cursor, err := fetch(imp, since)
	if err != nil {
		return res, fmt.Errorf("%s: %w", source, err)
	}
	if !cursor.IsZero() {
		imp.SetCursor(cursor.UTC().Format(time.RFC3339Nano))
	}
	r, err := imp.Commit()
	if err != nil {
		return res, fmt.Errorf("%s: %w", source, err)
	}
	res.ImportResult = r
	return res, nil
}
