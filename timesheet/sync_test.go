package timesheet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
	"retainer/store/storetest"
)

// togglWorkspace serves one workspace whose time entries the test edits.
type togglWorkspace struct {
	mu      sync.Mutex
	entries []map[string]any
	since   []string
}

func (s *togglWorkspace) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/me/time_entries":
		s.since = append(s.since, r.URL.Query().Get("since"))
		json.NewEncoder(w).Encode(s.entries)
	case "/workspaces/789/projects":
		if r.URL.Query().Get("page") > "1" {
			w.Write([]byte("[]"))
			return
		}
		w.Write([]byte(`[{"id": 201, "workspace_id": 789, "client_id": 401, "name": "Retainer 2026", "active": true}]`))
	case "/workspaces/789/clients":
		w.Write([]byte(`[{"id": 401, "wid": 789, "name": "Acme Corp", "archived": false}]`))
	default:
		http.NotFound(w, r)
	}
}

func togglEntry(id int64, start string, seconds int64, at string, deleted bool) map[string]any {
	e := map[string]any{"id": id, "workspace_id": 789, "project_id": 201, "billable": true, "start": start,
		"duration": seconds, "description": fmt.Sprintf("entry %d", id), "at": at, "server_deleted_at": nil}
	if deleted {
		e["server_deleted_at"] = at
	}
	return e
}

func syncFixture(t *testing.T) (*Importer, *store.DB, *store.Rules) {
	t.Helper()
	db := storetest.Open(t)
	start := billing.NewPeriod(2026, 1)
	rules := store.NewRules([]*billing.Contract{{ID: "acme-001", Client: "Acme Corp", Unit: billing.UnitHours,
		Terms: billing.Terms{MonthlyHours: 40 * 3600}, Start: &start}})
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	return &Importer{DB: db, Rules: rules, Now: func() time.Time { return now }}, db, rules
}

func used(t *testing.T, db *store.DB, rules *store.Rules) int64 {
	t.Helper()
	v, err := db.Status(context.Background(), rules, billing.NewPeriod(2026, 3), billing.DateOf(2026, 3, 20))
	if err != nil {
		t.Fatal(err)
	}
	return v.Rows[0].Figures.Used
}

func TestSyncTogglIncrementalWithDeletion(t *testing.T) {
	ctx := context.Background()
	srv := &togglWorkspace{entries: []map[string]any{
		togglEntry(1, "2026-03-02T09:00:00Z", 3600, "2026-03-02T10:00:00Z", false),
		togglEntry(2, "2026-03-03T09:00:00Z", 1800, "2026-03-03T10:00:00Z", false),
	}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	im, db, rules := syncFixture(t)
	api := &TogglAPI{BaseURL: ts.URL, WorkspaceID: 789, Token: "tok", Sleep: func(context.Context, time.Duration) error { return nil }}

	res, err := im.SyncToggl(ctx, api)
	if err != nil || res.Imported != 2 {
		t.Fatalf("first sync %+v, %v", res, err)
	}
	// The same answer again changes nothing; the cursor moved to the newest `at`.
	if res, err := im.SyncToggl(ctx, api); err != nil || res.Unchanged != 2 || res.Imported != 0 {
		t.Fatalf("second sync %+v, %v", res, err)
	}
	if srv.since[1] != fmt.Sprint(time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC).Unix()) {
		t.Errorf("second request since=%s, want the stored cursor", srv.since[1])
	}
	// Upstream: entry 1 edited to 2 h, entry 2 deleted.
	srv.mu.Lock()
	srv.entries = []map[string]any{
		togglEntry(1, "2026-03-02T09:00:00Z", 7200, "2026-03-05T10:00:00Z", false),
		togglEntry(2, "2026-03-03T09:00:00Z", 1800, "2026-03-05T11:00:00Z", true),
	}
	srv.mu.Unlock()
	res, err = im.SyncToggl(ctx, api)
	if err != nil || res.Updated != 1 || res.Removed != 1 {
		t.Fatalf("edit+delete sync %+v, %v", res, err)
	}
	if got := used(t, db, rules); got != 7200 {
		t.Errorf("used %d, want 7200", got)
	}
}

func TestSyncHarvestWindowRemovesDeleted(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	ids := []int{1, 2}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var list []map[string]any
		for _, id := range ids {
			list = append(list, map[string]any{"id": id, "spent_date": fmt.Sprintf("2026-03-%02d", id), "hours": 1.5,
				"notes": "n", "is_running": false, "billable": true, "updated_at": "2026-03-10T10:00:00Z",
				"client": map[string]any{"id": 9, "name": "Acme Corp"}, "project": map[string]any{"id": 8, "name": "Web", "code": "W"},
				"task": map[string]any{"id": 7, "name": "Dev"}, "user": map[string]any{"id": 6, "name": "Ada"}})
		}
		json.NewEncoder(w).Encode(map[string]any{"time_entries": list, "per_page": 2000, "total_pages": 1, "page": 1, "next_page": nil,
			"links": map[string]any{"next": nil}})
	}))
	defer ts.Close()
	im, db, rules := syncFixture(t)
	api := &HarvestAPI{BaseURL: ts.URL, AccountID: "1", Token: "tok", Sleep: func(context.Context, time.Duration) error { return nil }}
	if res, err := im.SyncHarvest(ctx, api, time.UTC); err != nil || res.Imported != 2 {
		t.Fatalf("first sync %+v, %v", res, err)
	}
	if got := used(t, db, rules); got != 3*3600 {
		t.Fatalf("used %d", got)
	}
	mu.Lock()
	ids = []int{1} // entry 2 deleted in Harvest
	mu.Unlock()
	if res, err := im.SyncHarvest(ctx, api, time.UTC); err != nil || res.Removed != 1 {
		t.Fatalf("second sync %+v, %v", res, err)
	}
	if got := used(t, db, rules); got != 5400 {
		t.Errorf("used %d, want 1.5 h", got)
	}
	if c, _ := db.Cursor(ctx, SourceHarvestAPI); c != "2026-03-10T10:00:00Z" {
		t.Errorf("cursor %q", c)
	}
}
