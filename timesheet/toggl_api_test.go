package timesheet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store/storetest"
)

// togglWorkspace is a Toggl Track workspace served as Toggl serves it:
//
//   - API v9 GET /me/time_entries answers only for the last 90 days and
//     refuses an older start_date with HTTP 400 and the body
//     "start_date must not be earlier than <date>" (measured in
//     Daz92/omarchy-toggl-track toggl_api.py, HISTORY_FLOOR_DAYS; the text
//     as public client tests quote it, a JSON string). The client must
//     never need it: it counts the calls.
//   - API v9 projects and clients serve testdata/api/toggl_projects.json and
//     toggl_clients.json (shaped as engineering.toggl.com/docs/api/projects
//     and /clients document them).
//   - Reports API v3 POST /reports/api/v3/workspace/789/search/time_entries
//     follows engineering.toggl.com/docs/reports/detailed_reports and the
//     answers recorded in mcordell/toggl_rb spec/vcr_cassettes/
//     search_time_entries_*.yml: only documented body fields are taken
//     (any other is a 400), start_date is required, without end_date the
//     range is start_date + 6 days (recorded X-Range-End), end_date must not
//     be before start_date, a range of more than maxDays (366 unless a test
//     narrows it: Reports v2 "one year", a Postman collection "366-day
//     maximum") is a 400 that names it; rows are grouped as recorded
//     (user_id, username, project_id, ..., time_entries [{id, seconds,
//     start, stop, at}], row_number); a page holds page_size rows (default
//     50, X-Page-Size) and a page with more after it answers X-Next-ID,
//     X-Next-Row-Number and X-Next-Timestamp; the next page is asked with
//     first_row_number (as recorded). Dates are read in the Toggl user's
//     timezone, here UTC.
//   - Limits: an hourly quota answered with 402 and X-Toggl-Quota-Resets-In
//     once used up (support.toggl.com/en/articles/11484112-api-webhook-limits),
//     and 429 with Retry-After when throttled.
//
// The refusal texts of the reports API (range, order of dates, unknown
// field) are not documented; they are worded here to name what they refuse.
type togglWorkspace struct {
	t       *testing.T
	mu      sync.Mutex
	entries []togglFakeEntry
	today   time.Time // v9's clock

	maxDays  int // longest report range, in days
	quota    int // requests left before 402; < 0 = no quota
	resetsIn int // X-Toggl-Quota-Resets-In of a 402
	throttle int // report requests still to answer 429
	badField bool

	meCalls  int
	searches []map[string]any // report request bodies, in order
	refused  []string         // bodies answered 400 for their dates
	names    int              // project and client requests
}

type togglFakeEntry struct {
	id       int64
	user     int64
	username string
	project  *int64
	billable bool
	desc     string
	start    time.Time
	seconds  int64
}

var togglUsers = []struct {
	id   int64
	name string
}{{10658406, "Michael C"}, {30809356, "Ana Souza"}, {6001, "Kim Allen"}}

func newTogglWorkspace(t *testing.T) (*togglWorkspace, *httptest.Server) {
	ws := &togglWorkspace{t: t, today: syncNow, maxDays: 366, quota: -1, resetsIn: 1800}
	srv := httptest.NewServer(ws)
	t.Cleanup(srv.Close)
	return ws, srv
}

func (ws *togglWorkspace) add(e togglFakeEntry) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.entries = append(ws.entries, e)
}

func (ws *togglWorkspace) remove(id int64) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for i, e := range ws.entries {
		if e.id == id {
			ws.entries = append(ws.entries[:i], ws.entries[i+1:]...)
			return
		}
	}
}

// fill adds n entries a day apart from first, cycling through three users
// and the two projects; ids start at id.
func (ws *togglWorkspace) fill(id int64, first time.Time, n int, seconds int64) {
	p201, p202 := int64(201), int64(202)
	for i := range n {
		u := togglUsers[i%3]
		p := &p201
		if i%4 == 3 {
			p = &p202
		}
		ws.add(togglFakeEntry{id: id + int64(i), user: u.id, username: u.name, project: p, billable: i%5 != 4,
			desc: fmt.Sprintf("task %d", i), start: first.Add(time.Duration(i) * 24 * time.Hour), seconds: seconds})
	}
}

// togglSearchFields are the body fields the detailed search documents.
var togglSearchFields = map[string]bool{"billable": true, "client_ids": true, "description": true, "end_date": true,
	"enrich_response": true, "first_id": true, "first_row_number": true, "first_timestamp": true, "group_ids": true,
	"grouped": true, "hide_amounts": true, "max_duration_seconds": true, "min_duration_seconds": true, "order_by": true,
	"order_dir": true, "page_size": true, "project_ids": true, "rounding": true, "rounding_minutes": true,
	"startTime": true, "start_date": true, "tag_ids": true, "task_ids": true, "time_entry_ids": true, "user_ids": true}

func (ws *togglWorkspace) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if u, p, ok := r.BasicAuth(); !ok || u != apiTestToken || p != "api_token" {
		http.Error(w, "Incorrect username and/or password", http.StatusForbidden)
		return
	}
	if !uaContact.MatchString(r.Header.Get("User-Agent")) {
		ws.t.Errorf("%s %s: User-Agent %q names no contact", r.Method, r.URL.Path, r.Header.Get("User-Agent"))
	}
	if ws.quota == 0 {
		w.Header().Set("X-Toggl-Quota-Remaining", "0")
		w.Header().Set("X-Toggl-Quota-Resets-In", strconv.Itoa(ws.resetsIn))
		http.Error(w, `"You have hit your hourly limit for API calls."`, http.StatusPaymentRequired)
		return
	}
	if ws.quota > 0 {
		ws.quota--
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v9/me/time_entries":
		ws.meCalls++
		floor := ws.today.AddDate(0, 0, -90).Format("2006-01-02")
		if s := r.URL.Query().Get("start_date"); s != "" && s[:min(10, len(s))] < floor {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "%q", "start_date must not be earlier than "+floor)
			return
		}
		w.Write([]byte("[]"))
	case r.Method == http.MethodGet && r.URL.Path == "/api/v9/workspaces/789/projects":
		ws.names++
		if r.URL.Query().Get("page") != "1" {
			w.Write([]byte("[]"))
			return
		}
		w.Write(apiFixture(ws.t, "toggl_projects.json", ""))
	case r.Method == http.MethodGet && r.URL.Path == "/api/v9/workspaces/789/clients":
		ws.names++
		w.Write(apiFixture(ws.t, "toggl_clients.json", ""))
	case r.Method == http.MethodPost && r.URL.Path == "/reports/api/v3/workspace/789/search/time_entries":
		ws.search(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (ws *togglWorkspace) search(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, `{"error":"invalid JSON body"}`, http.StatusBadRequest)
		return
	}
	ws.searches = append(ws.searches, body)
	for k := range body {
		if !togglSearchFields[k] {
			http.Error(w, fmt.Sprintf(`{"error":"unknown field %s"}`, k), http.StatusBadRequest)
			return
		}
	}
	if ws.badField {
		http.Error(w, `{"error":"workspace has no access to billable filter"}`, http.StatusBadRequest)
		return
	}
	if ws.throttle > 0 {
		ws.throttle--
		w.Header().Set("Retry-After", "2")
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		return
	}
	str := func(k string) string { s, _ := body[k].(string); return s }
	num := func(k string) int {
		n, _ := body[k].(json.Number)
		i, _ := strconv.Atoi(string(n))
		return i
	}
	start, err := time.Parse("2006-01-02", str("start_date"))
	if err != nil {
		http.Error(w, `{"error":"start_date is required"}`, http.StatusBadRequest)
		return
	}
	end := start.AddDate(0, 0, 6)
	if s := str("end_date"); s != "" {
		if end, err = time.Parse("2006-01-02", s); err != nil {
			http.Error(w, `{"error":"end_date is not a date"}`, http.StatusBadRequest)
			return
		}
	}
	if end.Before(start) {
		http.Error(w, `{"error":"end_date must not be before start_date"}`, http.StatusBadRequest)
		return
	}
	if days := int(end.Sub(start).Hours() / 24); days > ws.maxDays {
		b, _ := json.Marshal(body)
		ws.refused = append(ws.refused, string(b))
		http.Error(w, fmt.Sprintf(`{"error":"date range of %d days is longer than the maximum of %d days"}`, days, ws.maxDays), http.StatusBadRequest)
		return
	}
	size := num("page_size")
	if size == 0 {
		size = 50
	}
	first := max(num("first_row_number"), 1)
	var rows []togglFakeEntry
	for _, e := range ws.entries {
		if day := e.start.Truncate(24 * time.Hour); !day.Before(start) && !day.After(end) {
			rows = append(rows, e)
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].start.Equal(rows[j].start) {
			return rows[i].start.Before(rows[j].start)
		}
		return rows[i].id < rows[j].id
	})
	out := []map[string]any{}
	for i := first - 1; i < len(rows) && i < first-1+size; i++ {
		e := rows[i]
		out = append(out, map[string]any{
			"user_id": e.user, "username": e.username, "project_id": e.project, "task_id": nil, "billable": e.billable,
			"description": e.desc, "tag_ids": []int{}, "billable_amount_in_cents": nil, "hourly_rate_in_cents": nil,
			"currency": "USD", "row_number": i + 1,
			"time_entries": []map[string]any{{"id": e.id, "seconds": e.seconds, "start": e.start.Format(time.RFC3339),
				"stop": e.start.Add(time.Duration(e.seconds) * time.Second).Format(time.RFC3339), "at": e.start.Add(time.Hour).Format(time.RFC3339)}},
		})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Page-Size", strconv.Itoa(size))
	h.Set("X-Range-Start", start.Format("2006-01-02"))
	h.Set("X-Range-End", end.Format("2006-01-02"))
	if next := first - 1 + size; next < len(rows) {
		h.Set("X-Next-ID", strconv.FormatInt(rows[next].id, 10))
		h.Set("X-Next-Row-Number", strconv.Itoa(next+1))
		h.Set("X-Next-Timestamp", strconv.FormatInt(rows[next].start.Unix(), 10))
	}
	json.NewEncoder(w).Encode(out)
}

func newTogglAPI(t *testing.T, srv *httptest.Server, rec *sleepRecorder) *TogglAPI {
	t.Helper()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	return &TogglAPI{BaseURL: srv.URL + "/api/v9", ReportsURL: srv.URL + "/reports/api/v3", WorkspaceID: 789,
		Token: apiTestToken, UserAgent: testUserAgent, HTTP: srv.Client(), Sleep: rec.sleep, Agency: ny}
}

// The detailed search lists every member's entries, page by page through
// X-Next-Row-Number, with names from API v9; the window reaches a day
// further each way and keeps the entries dated in it in the agency timezone.
func TestTogglWindowEveryMemberPaged(t *testing.T) {
	ws, srv := newTogglWorkspace(t)
	// 120 entries, one a day from 1 Jan 2026 at 02:00 UTC (21:00 the day
	// before in New York), three users.
	ws.fill(5000, time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC), 120, 2700)
	api := newTogglAPI(t, srv, &sleepRecorder{})
	var got []Entry
	err := api.Window(context.Background(), storetest.Date("2026-02-01"), storetest.Date("2026-02-28"), func(e Entry) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// 1 Feb 02:00Z is 31 Jan in New York; 1 Mar 02:00Z is 28 Feb.
	if len(got) != 28 || got[0].Date != storetest.Date("2026-02-01") || got[0].ExternalID != "5032" || got[27].ExternalID != "5059" {
		t.Fatalf("%d entries, first %+v, last %+v", len(got), got[0], got[len(got)-1])
	}
	users := map[string]int{}
	for _, e := range got {
		users[e.User]++
	}
	if len(users) != 3 {
		t.Errorf("users %v, want three members", users)
	}
	want := Entry{Format: SourceTogglAPI, Date: storetest.Date("2026-02-01"), Seconds: 2700, Client: "Acme Ltd",
		Project: "Retainer 2026", Notes: "task 32", User: "Kim Allen", Billable: true, ExternalID: "5032"}
	if got[0] != want {
		t.Errorf("entry\n got %+v\nwant %+v", got[0], want)
	}
	if e := got[3]; e.Project != "Support (archived)" || e.Client != "Globex Corporation" {
		t.Errorf("archived project and client not named: %+v", e)
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if len(ws.searches) != 1 {
		t.Fatalf("%d searches, want 1 (30 rows fit a page)", len(ws.searches))
	}
	b := ws.searches[0]
	if b["start_date"] != "2026-01-31" || b["end_date"] != "2026-03-01" {
		t.Errorf("search %v, want 2026-01-31..2026-03-01", b)
	}
	if ws.meCalls != 0 || ws.names != 2 {
		t.Errorf("%d calls to /me/time_entries (want 0), %d name requests (want 2)", ws.meCalls, ws.names)
	}
}

func TestTogglWindowPagination(t *testing.T) {
	ws, srv := newTogglWorkspace(t)
	// 120 entries on the same few days: three pages of 50.
	p := int64(201)
	for i := range 120 {
		u := togglUsers[i%3]
		ws.add(togglFakeEntry{id: int64(9000 + i), user: u.id, username: u.name, project: &p, billable: true,
			start: time.Date(2026, 3, 2+i%3, 14, i%60, 0, 0, time.UTC), seconds: 600})
	}
	api := newTogglAPI(t, srv, &sleepRecorder{})
	ids := map[string]bool{}
	err := api.Window(context.Background(), storetest.Date("2026-03-01"), storetest.Date("2026-03-31"), func(e Entry) error {
		if ids[e.ExternalID] {
			t.Errorf("entry %s twice", e.ExternalID)
		}
		ids[e.ExternalID] = true
		return nil
	})
	if err != nil || len(ids) != 120 {
		t.Fatalf("%d entries, %v", len(ids), err)
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var firsts []string
	for _, b := range ws.searches {
		firsts = append(firsts, fmt.Sprint(b["first_row_number"]))
		if _, ok := b["first_id"]; ok {
			t.Errorf("a follow-up sent first_id: %v", b)
		}
		if b["end_date"] == nil {
			t.Errorf("no end_date: the answer would stop six days after start_date")
		}
	}
	if want := []string{"<nil>", "51", "101"}; !reflect.DeepEqual(firsts, want) {
		t.Errorf("first_row_number of the pages = %v, want %v", firsts, want)
	}
}

// The first sync back-fills from import.toggl.since, month by month, each
// month committed with its progress; a 402 (quota) stops the run with a
// clear error, keeps what came before, and the next run goes on from the
// window that failed. The same answers again import nothing new.
func TestSyncTogglBackfillResumesAfterQuota(t *testing.T) {
	ctx := context.Background()
	ws, srv := newTogglWorkspace(t)
	ws.fill(100, time.Date(2025, 11, 3, 15, 0, 0, 0, time.UTC), 130, 3600) // 3 Nov 2025 .. 12 Mar 2026
	im, db, rules, now := apiSyncFixture(t, "Acme Ltd")
	rec := &sleepRecorder{}
	api := newTogglAPI(t, srv, rec)
	api.Since = storetest.Date("2025-11-01")
	// Closed through February: March is the first open period.
	closedThroughFeb := func() Plan {
		return NewPlan(billing.DateAt(*now, api.Agency), storetest.Ptr(billing.NewPeriod(2026, 2)), nil, 2)
	}
	// November's search and the two name requests, December, January; then
	// the hour's quota is used up.
	ws.quota = 5
	res, err := im.SyncToggl(ctx, api, closedThroughFeb())
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusPaymentRequired || se.RetryAfter != 30*time.Minute {
		t.Fatalf("err = %v, want the 402 with its reset", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "quota") || !strings.Contains(msg, "2026-02-01..2026-02-28") || strings.Contains(msg, apiTestToken) {
		t.Errorf("message %q: want the quota, the window, no token", msg)
	}
	if res.Windows != 3 || res.Through != storetest.Date("2026-01-31") || res.Imported != 90 {
		t.Fatalf("first run %+v: want Nov-Jan imported (90 entries)", res)
	}
	if len(rec.recorded()) != 0 {
		t.Errorf("slept %v on a 402", rec.recorded())
	}

	// An hour later the quota is back: the next run starts at February.
	*now = now.Add(time.Hour)
	ws.mu.Lock()
	ws.quota, ws.searches = -1, nil
	ws.mu.Unlock()
	api = newTogglAPI(t, srv, rec)
	api.Since = storetest.Date("2025-11-01")
	res, err = im.SyncToggl(ctx, api, closedThroughFeb())
	if err != nil || res.Imported != 40 || res.Through != storetest.Date("2026-04-30") || !res.Full {
		t.Fatalf("second run %+v, %v", res, err)
	}
	ws.mu.Lock()
	if s := ws.searches[0]["start_date"]; s != "2026-01-31" {
		t.Errorf("the second run starts at %v, want February's window (2026-01-31 with its margin)", s)
	}
	ws.mu.Unlock()
	// 12 March entries: 3 on the Support project (another client), 2 not
	// billable.
	if got := figures(t, db, rules, "2026-03").Used; got != storetest.H(7) {
		t.Errorf("March used %d, want 7 h", got)
	}

	// The same answers again, as `retainer import` asks (the whole range):
	// nothing new.
	plan := closedThroughFeb()
	plan.Full = true
	res, err = im.SyncToggl(ctx, api, plan)
	if err != nil || res.Imported+res.Updated+res.Removed != 0 || res.Unchanged == 0 {
		t.Errorf("same input again %+v, %v", res, err)
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.meCalls != 0 {
		t.Errorf("%d calls to /me/time_entries", ws.meCalls)
	}
}

// Every run lists the open periods again: an entry deleted in Toggl is
// removed at the next run; an edit is taken.
func TestSyncTogglDeletionAndEdit(t *testing.T) {
	ctx := context.Background()
	ws, srv := newTogglWorkspace(t)
	ws.fill(700, time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC), 4, 3600)
	im, db, rules, now := apiSyncFixture(t, "Acme Ltd")
	api := newTogglAPI(t, srv, &sleepRecorder{})
	if res, err := im.SyncToggl(ctx, api, planAt(t, db, *now, api.Agency)); err != nil || res.Imported != 4 {
		t.Fatalf("first sync %+v, %v", res, err)
	}
	ws.remove(701)
	ws.mu.Lock()
	ws.entries[0].seconds = 5400
	ws.mu.Unlock()
	*now = now.Add(15 * time.Minute)
	res, err := im.SyncToggl(ctx, api, planAt(t, db, *now, api.Agency))
	if err != nil || res.Removed != 1 || res.Updated != 1 || res.Full {
		t.Fatalf("second sync %+v, %v", res, err)
	}
	if got := figures(t, db, rules, "2026-03").Used; got != 5400+storetest.H(1) {
		t.Errorf("used %d, want 1.5 h + one more entry (the Support project matches no contract)", got)
	}
}

// A window the reports API refuses for its range is narrowed — halved until
// the API takes it — and the refused request is never sent again as it was.
func TestTogglNarrowsARefusedWindow(t *testing.T) {
	ctx := context.Background()
	ws, srv := newTogglWorkspace(t)
	ws.maxDays = 10
	ws.fill(300, time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC), 31, 1800)
	im, db, _, now := apiSyncFixture(t, "Acme Ltd")
	api := newTogglAPI(t, srv, &sleepRecorder{})
	plan := planAt(t, db, *now, api.Agency)
	plan.FirstOpen, plan.From, plan.To = billing.NewPeriod(2026, 3), storetest.Date("2026-03-01"), storetest.Date("2026-03-31")
	res, err := im.SyncToggl(ctx, api, plan)
	if err != nil || res.Imported != 31 {
		t.Fatalf("sync %+v, %v", res, err)
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if len(ws.refused) == 0 {
		t.Fatal("nothing was refused: the test proves nothing")
	}
	seen := map[string]int{}
	for _, b := range ws.searches {
		k, _ := json.Marshal(b)
		seen[string(k)]++
	}
	for _, r := range ws.refused {
		if seen[r] != 1 {
			t.Errorf("refused request sent %d times: %s", seen[r], r)
		}
	}
}

// A 400 that does not name the dates is not narrowed nor retried: the run
// stops with it.
func TestTogglOtherBadRequestStops(t *testing.T) {
	ws, srv := newTogglWorkspace(t)
	ws.badField = true
	ws.fill(400, time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC), 3, 1800)
	im, db, _, now := apiSyncFixture(t, "Acme Ltd")
	rec := &sleepRecorder{}
	api := newTogglAPI(t, srv, rec)
	_, err := im.SyncToggl(context.Background(), api, planAt(t, db, *now, api.Agency))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest {
		t.Fatalf("err = %v, want the 400", err)
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if len(ws.searches) != 1 || len(rec.recorded()) != 0 {
		t.Errorf("%d searches, %d sleeps: a permanent 400 was asked again", len(ws.searches), len(rec.recorded()))
	}
}

func TestTogglRetryAfter429(t *testing.T) {
	ws, srv := newTogglWorkspace(t)
	ws.throttle = 1
	ws.fill(600, time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC), 2, 1800)
	rec := &sleepRecorder{}
	api := newTogglAPI(t, srv, rec)
	n := 0
	err := api.Window(context.Background(), storetest.Date("2026-03-01"), storetest.Date("2026-03-31"), func(Entry) error { n++; return nil })
	if err != nil || n != 2 {
		t.Fatalf("%d entries, %v", n, err)
	}
	if w := rec.recorded(); !reflect.DeepEqual(w, []time.Duration{2 * time.Second}) {
		t.Errorf("slept %v, want [2s] (Retry-After)", w)
	}
}

// The fake's v9 refusal is the live one, so its zero-call count above
// means something.
func TestTogglFakeRefusesOldV9StartDate(t *testing.T) {
	ws, srv := newTogglWorkspace(t)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v9/me/time_entries?start_date=2025-01-01&end_date=2026-03-20", nil)
	req.SetBasicAuth(apiTestToken, "api_token")
	req.Header.Set("User-Agent", testUserAgent)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var msg string
	if err := json.NewDecoder(resp.Body).Decode(&msg); err != nil || resp.StatusCode != http.StatusBadRequest || msg != "start_date must not be earlier than 2025-12-20" {
		t.Errorf("%d %q %v", resp.StatusCode, msg, err)
	}
	if ws.meCalls != 1 {
		t.Errorf("calls %d", ws.meCalls)
	}
}
