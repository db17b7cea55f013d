package timesheet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
	"retainer/store/storetest"
)

// testUserAgent is what the jobs send for an agency with an email.
const testUserAgent = "retainer (ops@northwind.example)"

// uaContact is Harvest's rule for User-Agent: the application's name and a
// way to reach its author, "MyApp (yourname@example.com)"
// (https://help.getharvest.com/api-v2/introduction/overview/general).
var uaContact = regexp.MustCompile(`^\S.* \(.+\)$`)

// syncNow is the importer's clock in these tests: 20 March 2026, noon UTC.
var syncNow = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)

// syncFixture is a store with the contract of Acme Corp from January 2026
// and an importer at syncNow.
func syncFixture(t *testing.T) (*Importer, *store.DB, *store.Rules) {
	t.Helper()
	im, db, rules, _ := apiSyncFixture(t, "Acme Corp")
	return im, db, rules
}

// used is the contract's hours used in March 2026, as of 20 March.
func used(t *testing.T, db *store.DB, rules *store.Rules) int64 {
	t.Helper()
	v, err := db.Status(context.Background(), rules, billing.NewPeriod(2026, 3), billing.DateOf(2026, 3, 20))
	if err != nil {
		t.Fatal(err)
	}
	return v.Rows[0].Figures.Used
}

// apiSyncFixture is a store with one contract for client, from January
// 2026, and an importer whose clock the test moves through *now.
func apiSyncFixture(t *testing.T, client string) (*Importer, *store.DB, *store.Rules, *time.Time) {
	t.Helper()
	db := storetest.Open(t)
	start := billing.NewPeriod(2026, 1)
	rules := store.NewRules([]*billing.Contract{{ID: "acme-001", Client: client, Unit: billing.UnitHours,
		Terms: billing.Terms{MonthlyHours: 40 * 3600}, Start: &start}})
	now := syncNow
	return &Importer{DB: db, Rules: rules, Now: func() time.Time { return now }}, db, rules, &now
}

// planAt is the plan jobs.ImportAll computes at now for the fixture's
// contract (start 2026-01) and the default reconcile_months.
func planAt(t *testing.T, db *store.DB, now time.Time, loc *time.Location) Plan {
	t.Helper()
	last, closed, err := db.LastClosed(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var lastClosed *billing.Period
	if closed {
		lastClosed = &last
	}
	start := billing.NewPeriod(2026, 1)
	return NewPlan(billing.DateAt(now, loc), lastClosed, &start, 2)
}

func figures(t *testing.T, db *store.DB, rules *store.Rules, p string) billing.Figures {
	t.Helper()
	per, err := billing.ParsePeriod(p)
	if err != nil {
		t.Fatal(err)
	}
	v, err := db.Status(context.Background(), rules, per, per.LastDay())
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Rows) != 1 {
		t.Fatalf("%s: %d rows", p, len(v.Rows))
	}
	return v.Rows[0].Figures
}

func counts(r SyncResult) [4]int { return [4]int{r.Imported, r.Updated, r.Unchanged, r.Removed} }

// ---- rules, table-driven

func TestNewPlan(t *testing.T) {
	per := func(s string) *billing.Period { p := storetest.Per(s); return &p }
	for _, tc := range []struct {
		name       string
		today      string
		lastClosed *billing.Period
		earliest   *billing.Period
		months     int
		firstOpen  string
		from, to   string
	}{
		{"closed through February, 2 months", "2026-03-20", per("2026-02"), nil, 2, "2026-03", "2026-01-01", "2026-04-30"},
		{"0 reconcile months: open periods only", "2026-03-20", per("2026-02"), nil, 0, "2026-03", "2026-03-01", "2026-04-30"},
		{"an open month behind today", "2026-03-02", per("2026-01"), nil, 2, "2026-02", "2025-12-01", "2026-04-30"},
		{"nothing closed: the earliest contract start", "2026-03-20", nil, per("2025-11"), 2, "2025-11", "2025-11-01", "2026-04-30"},
		{"nothing closed, a start ahead: today's period", "2026-03-20", nil, per("2026-06"), 2, "2026-03", "2026-03-01", "2026-04-30"},
		{"nothing closed, no start", "2026-12-31", nil, nil, 2, "2026-12", "2026-12-01", "2027-01-31"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPlan(storetest.Date(tc.today), tc.lastClosed, tc.earliest, tc.months)
			if p.FirstOpen.String() != tc.firstOpen || p.From.String() != tc.from || p.To.String() != tc.to || p.Full {
				t.Errorf("plan = first open %s, %s..%s, full %v; want %s, %s..%s", p.FirstOpen, p.From, p.To, p.Full, tc.firstOpen, tc.from, tc.to)
			}
		})
	}
}

func TestPlanFullDue(t *testing.T) {
	now := syncNow
	for _, tc := range []struct {
		name string
		full bool
		last time.Time
		want bool
	}{
		{"never re-listed", false, time.Time{}, true},
		{"re-listed an hour ago", false, now.Add(-time.Hour), false},
		{"re-listed a day ago", false, now.Add(-24 * time.Hour), true},
		{"retainer import asks for it", true, now.Add(-time.Minute), true},
	} {
		if got := (Plan{Full: tc.full}).fullDue(tc.last, now); got != tc.want {
			t.Errorf("%s: due = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestMonthWindows(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		want     string
	}{
		{"2026-03-01", "2026-03-31", "2026-03-01..2026-03-31"},
		{"2026-01-15", "2026-03-10", "2026-01-15..2026-01-31 2026-02-01..2026-02-28 2026-03-01..2026-03-10"},
		{"2025-12-31", "2026-01-01", "2025-12-31..2025-12-31 2026-01-01..2026-01-01"},
		{"2026-03-02", "2026-03-01", ""},
	} {
		var got []string
		for _, w := range monthWindows(storetest.Date(tc.from), storetest.Date(tc.to)) {
			got = append(got, w.from.String()+".."+w.to.String())
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("monthWindows(%s, %s) = %q, want %q", tc.from, tc.to, s, tc.want)
		}
	}
}

func TestNamesDates(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"a 400 naming end_date", &StatusError{Status: 400, Detail: `{"error":"end_date: too far from start_date"}`}, true},
		{"a 400 naming the date range", &StatusError{Status: 400, Detail: "Date Range exceeds the maximum"}, true},
		{"a 400 naming the interval", &StatusError{Status: 400, Detail: "maximum interval length of one month"}, true},
		{"a 400 about something else", &StatusError{Status: 400, Detail: "workspace_id must be a number"}, false},
		{"a 402 naming a range", &StatusError{Status: 402, Detail: "quota range"}, false},
		{"not an HTTP error", errors.New("date range"), false},
		{"wrapped", fmt.Errorf("x: %w", &StatusError{Status: 400, Detail: "start_date must not be earlier than 2026-01-01"}), true},
	} {
		if got := NamesDates(tc.err); got != tc.want {
			t.Errorf("%s: NamesDates = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSyncStateRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want syncState
	}{
		{"none", "", syncState{}},
		{"a cursor from before floors", "2026-03-04T10:00:00Z", syncState{Since: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}},
		{"state", `{"floor":"2026-01-01","since":"2026-03-04T10:00:00Z","done":"2026-02-28","next":"2026-02-01","reconciled":"2026-03-19T12:00:00Z"}`,
			syncState{Floor: storetest.Date("2026-01-01"), Since: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC),
				Done: storetest.Date("2026-02-28"), Next: storetest.Date("2026-02-01"), Reconciled: time.Date(2026, 3, 19, 12, 0, 0, 0, time.UTC)}},
	} {
		got, err := parseState(tc.raw)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: parseState = %+v, %v; want %+v", tc.name, got, err, tc.want)
			continue
		}
		if back, err := parseState(got.encode()); err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("%s: round trip = %+v, %v", tc.name, back, err)
		}
	}
	if _, err := parseState("yesterday"); err == nil {
		t.Error("a cursor that is no time nor state was taken")
	}
}

func TestUserAgentNamesAContact(t *testing.T) {
	for _, tc := range []struct {
		name, email, want string
	}{
		{"Northwind Studio", "ops@northwind.example", "retainer (ops@northwind.example)"},
		{"Northwind Studio", "", "retainer (Northwind Studio)"},
		{"  ", " ops@northwind.example ", "retainer (ops@northwind.example)"},
		{"Northwind (EU)", "", "retainer (Northwind EU)"},
		{"", "", "retainer"},
	} {
		got := UserAgent(tc.name, tc.email)
		if got != tc.want || strings.Contains(got, "()") {
			t.Errorf("UserAgent(%q, %q) = %q, want %q", tc.name, tc.email, got, tc.want)
		}
	}
}

// ---- Harvest

// harvestAccount is a Harvest account as API v2 serves GET /v2/time_entries
// (https://help.getharvest.com/api-v2/timesheets-api/timesheets/time-entries/):
// the filters updated_since, from/to (spent_date) and is_running, page and
// per_page (1..2000, larger is a 422), the pagination body with links, and
// a User-Agent that must name a contact. A running timer's hours are what it
// shows; its updated_at is left as it was (the docs do not say it moves
// while the timer runs, so the client must not rely on it).
type harvestAccount struct {
	mu      sync.Mutex
	entries map[int64]*harvestFakeEntry
	queries []url.Values
}

type harvestFakeEntry struct {
	id      int64
	date    string
	hours   string
	running bool
	updated time.Time
}

func (a *harvestAccount) put(e harvestFakeEntry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.entries == nil {
		a.entries = map[int64]*harvestFakeEntry{}
	}
	a.entries[e.id] = &e
}

func (a *harvestAccount) remove(id int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.entries, id)
}

func (a *harvestAccount) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+apiTestToken || r.Header.Get("Harvest-Account-Id") != apiTestAccount {
		http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
		return
	}
	if !uaContact.MatchString(r.Header.Get("User-Agent")) {
		http.Error(w, `{"error":"User-Agent must name the application and a contact"}`, http.StatusBadRequest)
		return
	}
	if r.URL.Path != "/v2/time_entries" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	a.queries = append(a.queries, q)
	perPage, page := 2000, 1
	if v := q.Get("per_page"); v != "" {
		perPage, _ = strconv.Atoi(v)
	}
	if v := q.Get("page"); v != "" {
		page, _ = strconv.Atoi(v)
	}
	if perPage < 1 || perPage > 2000 || page < 1 {
		http.Error(w, `{"message":"per_page must be between 1 and 2000"}`, http.StatusUnprocessableEntity)
		return
	}
	var list []*harvestFakeEntry
	for _, e := range a.entries {
		if s := q.Get("updated_since"); s != "" {
			since, err := time.Parse(time.RFC3339, s)
			if err != nil {
				http.Error(w, `{"message":"updated_since"}`, http.StatusUnprocessableEntity)
				return
			}
			if e.updated.Before(since) {
				continue
			}
		}
		if f := q.Get("from"); f != "" && e.date < f {
			continue
		}
		if to := q.Get("to"); to != "" && e.date > to {
			continue
		}
		if q.Get("is_running") == "true" && !e.running {
			continue
		}
		list = append(list, e)
	}
	sort.Slice(list, func(i, j int) bool { // sorted by spent_date
		if list[i].date != list[j].date {
			return list[i].date > list[j].date
		}
		return list[i].id > list[j].id
	})
	pages := max(1, (len(list)+perPage-1)/perPage)
	lo, hi := min((page-1)*perPage, len(list)), min(page*perPage, len(list))
	var out []map[string]any
	for _, e := range list[lo:hi] {
		var started any
		if e.running {
			started = e.updated.Format(time.RFC3339)
		}
		out = append(out, map[string]any{
			"id": e.id, "spent_date": e.date, "hours": json.Number(e.hours), "hours_without_timer": json.Number("0"),
			"rounded_hours": json.Number(e.hours), "notes": "work", "is_running": e.running, "timer_started_at": started,
			"billable": true, "is_locked": false, "updated_at": e.updated.Format(time.RFC3339),
			"client":  map[string]any{"id": 5735776, "name": "Acme Corp", "currency": "USD"},
			"project": map[string]any{"id": 14307913, "name": "Retainer", "code": "RT"},
			"task":    map[string]any{"id": 8083365, "name": "Development"},
			"user":    map[string]any{"id": 1782959, "name": "Kim Allen"},
		})
	}
	var next any
	links := map[string]any{"next": nil}
	if page < pages {
		next = page + 1
		u := *r.URL
		nq := u.Query()
		nq.Set("page", strconv.Itoa(page+1))
		u.RawQuery = nq.Encode()
		links["next"] = "http://" + r.Host + u.String()
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{"time_entries": out, "per_page": perPage, "total_pages": pages,
		"total_entries": len(list), "next_page": next, "previous_page": nil, "page": page, "links": links})
}

func newHarvestAccount(t *testing.T) (*harvestAccount, *HarvestAPI) {
	acct := &harvestAccount{}
	srv := httptest.NewServer(acct)
	t.Cleanup(srv.Close)
	return acct, &HarvestAPI{BaseURL: srv.URL + "/v2", AccountID: apiTestAccount, Token: apiTestToken, HTTP: srv.Client(),
		Sleep: func(context.Context, time.Duration) error { return nil }, UserAgent: testUserAgent}
}

// A running timer counts what it shows and follows it as it runs, however
// often the sync runs; it is never removed because it is running.
func TestSyncHarvestRunningTimerCountsAndGrows(t *testing.T) {
	ctx := context.Background()
	acct, api := newHarvestAccount(t)
	im, db, rules, now := apiSyncFixture(t, "Acme Corp")
	started := time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)
	// Entry 1 was edited after the timer started: the cursor passes the
	// timer's updated_at, so only listing the running timers finds it.
	acct.put(harvestFakeEntry{id: 1, date: "2026-03-18", hours: "2.0", updated: time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)})
	acct.put(harvestFakeEntry{id: 2, date: "2026-03-20", hours: "1.5", running: true, updated: started})

	res, err := im.SyncHarvest(ctx, api, planAt(t, db, *now, time.UTC))
	if err != nil || counts(res) != [4]int{2, 0, 0, 0} || !res.Full {
		t.Fatalf("first sync %+v, %v", res, err)
	}
	if got := figures(t, db, rules, "2026-03").Used; got != storetest.H(2)+5400 {
		t.Fatalf("used %d, want 3.5 h (the running timer counts)", got)
	}
	// Fifteen minutes on, the timer shows 2.25 h; its updated_at did not move.
	*now = now.Add(15 * time.Minute)
	acct.put(harvestFakeEntry{id: 2, date: "2026-03-20", hours: "2.25", running: true, updated: started})
	res, err = im.SyncHarvest(ctx, api, planAt(t, db, *now, time.UTC))
	if err != nil || res.Full || res.Updated != 1 || res.Removed != 0 {
		t.Fatalf("second sync %+v, %v", res, err)
	}
	if got := figures(t, db, rules, "2026-03").Used; got != storetest.H(2)+8100 {
		t.Errorf("used %d, want 4.25 h", got)
	}
	// A full re-list (retainer import) keeps it too.
	plan := planAt(t, db, *now, time.UTC)
	plan.Full = true
	if res, err = im.SyncHarvest(ctx, api, plan); err != nil || res.Removed != 0 || !res.Full {
		t.Fatalf("full re-list %+v, %v", res, err)
	}
	// Stopped at 2.5 h: updated_at moves, the last hours stay.
	acct.put(harvestFakeEntry{id: 2, date: "2026-03-20", hours: "2.5", updated: now.Add(time.Minute)})
	*now = now.Add(15 * time.Minute)
	if res, err = im.SyncHarvest(ctx, api, planAt(t, db, *now, time.UTC)); err != nil || res.Updated != 1 {
		t.Fatalf("after the stop %+v, %v", res, err)
	}
	if got := figures(t, db, rules, "2026-03").Used; got != storetest.H(2)+9000 {
		t.Errorf("used %d, want 4.5 h", got)
	}
	// Nothing changed upstream: nothing new.
	if res, err = im.SyncHarvest(ctx, api, planAt(t, db, *now, time.UTC)); err != nil || res.Imported+res.Updated+res.Removed != 0 {
		t.Errorf("same input again %+v, %v", res, err)
	}
}

// An entry deleted in Harvest two months back, in a closed period, is found
// by the daily re-list of the reconcile range and becomes a negative late
// adjustment in the first open period; the closed month's figures stay.
func TestSyncHarvestDeletionInClosedPeriodIsLateAdjustment(t *testing.T) {
	ctx := context.Background()
	acct, api := newHarvestAccount(t)
	im, db, rules, now := apiSyncFixture(t, "Acme Corp")
	upd := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	acct.put(harvestFakeEntry{id: 11, date: "2026-01-15", hours: "3.0", updated: upd})
	acct.put(harvestFakeEntry{id: 12, date: "2026-01-16", hours: "1.0", updated: upd})
	acct.put(harvestFakeEntry{id: 13, date: "2026-02-10", hours: "2.0", updated: upd})
	acct.put(harvestFakeEntry{id: 14, date: "2026-03-05", hours: "4.0", updated: upd})
	if res, err := im.SyncHarvest(ctx, api, planAt(t, db, *now, time.UTC)); err != nil || res.Imported != 4 {
		t.Fatalf("first sync %+v, %v", res, err)
	}
	for _, p := range []string{"2026-01", "2026-02"} {
		if _, err := db.ClosePeriod(ctx, rules, storetest.Per(p), "USD", time.UTC, *now); err != nil {
			t.Fatal(err)
		}
	}
	acct.remove(11) // deleted in Harvest: January, two months back

	// Within the day since the last re-list, the daemon does not re-list.
	*now = now.Add(time.Hour)
	if res, err := im.SyncHarvest(ctx, api, planAt(t, db, *now, time.UTC)); err != nil || res.Removed != 0 || res.Full {
		t.Fatalf("incremental sync %+v, %v", res, err)
	}
	// A day after it, it does; the range reaches back to January.
	*now = now.Add(24 * time.Hour)
	plan := planAt(t, db, *now, time.UTC)
	res, err := im.SyncHarvest(ctx, api, plan)
	if err != nil || res.Removed != 1 || !res.Full || res.From != storetest.Date("2026-01-01") || res.To != storetest.Date("2026-04-30") {
		t.Fatalf("daily re-list %+v, %v", res, err)
	}
	if jan := figures(t, db, rules, "2026-01"); jan.Used != storetest.H(4) {
		t.Errorf("closed January changed: used %d", jan.Used)
	}
	if mar := figures(t, db, rules, "2026-03"); mar.LateAdjustment != -storetest.H(3) {
		t.Errorf("March late adjustment %d, want -3 h", mar.LateAdjustment)
	}
	// The same answer again: nothing new.
	plan.Full = true
	if res, err := im.SyncHarvest(ctx, api, plan); err != nil || res.Imported+res.Updated+res.Removed != 0 {
		t.Errorf("same input again %+v, %v", res, err)
	}
}

// A first sync starts at the first open period: history in closed months
// is not turned into late adjustments; a cursor stored by an earlier
// version goes on from where it was.
func TestSyncHarvestFloor(t *testing.T) {
	ctx := context.Background()
	acct, api := newHarvestAccount(t)
	im, db, rules, now := apiSyncFixture(t, "Acme Corp")
	if _, err := db.ClosePeriod(ctx, rules, storetest.Per("2026-01"), "USD", time.UTC, *now); err != nil {
		t.Fatal(err)
	}
	upd := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	acct.put(harvestFakeEntry{id: 21, date: "2026-01-20", hours: "5.0", updated: upd})
	acct.put(harvestFakeEntry{id: 22, date: "2026-02-20", hours: "1.0", updated: upd})
	res, err := im.SyncHarvest(ctx, api, planAt(t, db, *now, time.UTC))
	if err != nil || res.Imported != 1 || res.From != storetest.Date("2026-02-01") {
		t.Fatalf("first sync %+v, %v", res, err)
	}
	if feb := figures(t, db, rules, "2026-02"); feb.LateAdjustment != 0 || feb.Used != storetest.H(1) {
		t.Errorf("February: %+v", feb)
	}
	c, _ := db.Cursor(ctx, SourceHarvestAPI)
	st, err := parseState(c)
	if err != nil || st.Floor != storetest.Date("2026-02-01") || !st.Since.Equal(upd) || !st.Reconciled.Equal(*now) {
		t.Errorf("stored state %q: %+v, %v", c, st, err)
	}
	for _, q := range acct.queries {
		if s := q.Get("updated_since"); s != "" && s < "2026-02-01" {
			t.Errorf("updated_since %s reaches before the floor", s)
		}
	}

	// An earlier version's cursor: the updated_since goes on from it.
	im2, db2, _, _ := apiSyncFixture(t, "Acme Corp")
	imp, _ := db2.BeginImport(ctx, im2.Rules, SourceHarvestAPI, *now)
	imp.SetCursor("2026-02-15T00:00:00Z")
	if _, err := imp.Commit(); err != nil {
		t.Fatal(err)
	}
	acct.queries = nil
	if _, err := im2.SyncHarvest(ctx, api, planAt(t, db2, *now, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if got := acct.queries[0].Get("updated_since"); got != "2026-02-15T00:00:00Z" {
		t.Errorf("updated_since = %q, want the stored cursor", got)
	}
}
