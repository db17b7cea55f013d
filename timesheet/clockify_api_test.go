package timesheet

import (
	"context"
	"encoding/json"
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

	"retainer/store/storetest"
)

const clockifyTestWorkspace = "5b715448b079875110792222"

// clockifyWorkspace is a Clockify workspace's detailed report served as the
// reports host serves it (apet97/clockify-ts-sdk
// spec/corrected/clockify.corrected.openapi.yaml, "Generate a detailed
// report": DetailedReportRequest with additionalProperties false, its
// DetailedFilter, DetailedReportResponse; the answer's shape as recorded
// in a public "Clockify notes" file): X-Api-Key, dateRangeStart,
// dateRangeEnd and detailedFilter required, only documented body fields
// taken, the range read in timeZone, a Free plan's report at most 31 days
// ("limited to a maximum interval length of one month (31 days)"),
// pageSize at most 1000 (the SDK's "max 1000"), page numbers from 1;
// timeentries with _id, description, userId, userName, billable,
// projectName, clientName, taskName, type (REGULAR, BREAK, HOLIDAY,
// TIME_OFF) and timeInterval {start, end, duration in seconds}, start and
// end with the report timezone's offset; a running entry has no end nor
// duration. 429 with Retry-After when throttled (50 requests a second on
// paid plans: clockify.me/help/getting-started/webhook-and-api-limitations).
// The texts of its refusals are not documented; they name what they refuse.
type clockifyWorkspace struct {
	t        *testing.T
	mu       sync.Mutex
	entries  []clockifyFakeEntry
	freePlan bool
	pageCap  int // a host that serves at most this many per page (0 = as asked)
	throttle int
	bodies   []map[string]any
}

type clockifyFakeEntry struct {
	id       string
	user     string
	client   string
	project  string
	task     string
	typ      string
	billable bool
	start    time.Time
	seconds  int64
	running  bool
}

var clockifyBodyFields = map[string]bool{"amountShown": true, "amounts": true, "approvalState": true, "archived": true,
	"billable": true, "clients": true, "currency": true, "customFields": true, "dateFormat": true, "dateRangeEnd": true,
	"dateRangeStart": true, "dateRangeType": true, "description": true, "detailedFilter": true, "exportType": true,
	"invoicingState": true, "projects": true, "rounding": true, "sortOrder": true, "tags": true, "tasks": true,
	"timeFormat": true, "timeZone": true, "userCustomFields": true, "userGroups": true, "userLocale": true, "users": true,
	"weekStart": true, "withoutDescription": true, "zoomLevel": true}

var clockifyFilterFields = map[string]bool{"auditFilter": true, "options": true, "page": true, "pageSize": true, "sortColumn": true}

func newClockifyWorkspace(t *testing.T) (*clockifyWorkspace, *httptest.Server) {
	ws := &clockifyWorkspace{t: t}
	srv := httptest.NewServer(ws)
	t.Cleanup(srv.Close)
	return ws, srv
}

func (ws *clockifyWorkspace) add(e clockifyFakeEntry) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.entries = append(ws.entries, e)
}

func (ws *clockifyWorkspace) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if r.Header.Get("X-Api-Key") != apiTestToken {
		http.Error(w, `{"message":"Full authentication is required to access this resource","code":1000}`, http.StatusUnauthorized)
		return
	}
	if !uaContact.MatchString(r.Header.Get("User-Agent")) {
		ws.t.Errorf("User-Agent %q names no contact", r.Header.Get("User-Agent"))
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/workspaces/"+clockifyTestWorkspace+"/reports/detailed" {
		http.NotFound(w, r)
		return
	}
	bad := func(msg string) { http.Error(w, `{"message":"`+msg+`","code":501}`, http.StatusBadRequest) }
	var body map[string]any
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		bad("invalid body")
		return
	}
	ws.bodies = append(ws.bodies, body)
	for k := range body {
		if !clockifyBodyFields[k] {
			bad("unknown field " + k)
			return
		}
	}
	filter, ok := body["detailedFilter"].(map[string]any)
	if !ok {
		bad("detailedFilter is required")
		return
	}
	for k := range filter {
		if !clockifyFilterFields[k] {
			bad("unknown detailedFilter field " + k)
			return
		}
	}
	if ws.throttle > 0 {
		ws.throttle--
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"message":"Too many requests","code":429}`, http.StatusTooManyRequests)
		return
	}
	loc := time.UTC
	if tz, _ := body["timeZone"].(string); tz != "" {
		var err error
		if loc, err = time.LoadLocation(tz); err != nil {
			bad("timeZone")
			return
		}
	}
	parse := func(k string) (time.Time, bool) {
		s, _ := body[k].(string)
		for _, layout := range []string{"2006-01-02T15:04:05.000", "2006-01-02T15:04:05", time.RFC3339Nano} {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return t, true
			}
		}
		return time.Time{}, false
	}
	start, ok1 := parse("dateRangeStart")
	end, ok2 := parse("dateRangeEnd")
	if !ok1 || !ok2 || end.Before(start) {
		bad("dateRangeStart and dateRangeEnd are required, start before end")
		return
	}
	if ws.freePlan && end.Sub(start) > 31*24*time.Hour {
		bad("Detailed report data on FREE subscription plan is limited to a maximum interval length of one month (31 days)")
		return
	}
	num := func(k string, def int) int {
		n, ok := filter[k].(json.Number)
		if !ok {
			return def
		}
		i, _ := strconv.Atoi(string(n))
		return i
	}
	page, size := num("page", 1), num("pageSize", 50)
	if page < 1 || size < 1 || size > 1000 {
		bad("page from 1, pageSize 1..1000")
		return
	}
	if ws.pageCap > 0 {
		size = min(size, ws.pageCap)
	}
	var list []clockifyFakeEntry
	for _, e := range ws.entries {
		if !e.start.Before(start) && !e.start.After(end) {
			list = append(list, e)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	out := []map[string]any{}
	for i := (page - 1) * size; i < len(list) && i < page*size; i++ {
		e := list[i]
		ti := map[string]any{"start": e.start.In(loc).Format(time.RFC3339), "end": nil, "duration": nil}
		if !e.running {
			ti["end"] = e.start.Add(time.Duration(e.seconds) * time.Second).In(loc).Format(time.RFC3339)
			ti["duration"] = e.seconds
		}
		out = append(out, map[string]any{"_id": e.id, "description": "work on " + e.project, "userId": "u-" + e.user,
			"userName": e.user, "userEmail": strings.ToLower(strings.Fields(e.user)[0]) + "@northwind.example",
			"billable": e.billable, "projectId": "p-" + e.project, "projectName": e.project, "projectColor": "#9C27B0",
			"clientId": "c-" + e.client, "clientName": e.client, "taskId": nil, "taskName": e.task, "tagIds": []string{},
			"approvalRequestId": nil, "type": e.typ, "isLocked": false, "timeInterval": ti})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"totals": []map[string]any{{"_id": "", "totalTime": 0, "entriesCount": len(list)}},
		"timeentries": out})
}

func newClockifyAPI(t *testing.T, srv *httptest.Server, rec *sleepRecorder) *ClockifyAPI {
	t.Helper()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	return &ClockifyAPI{BaseURL: srv.URL + "/api/v1", ReportsURL: srv.URL + "/v1", WorkspaceID: clockifyTestWorkspace,
		Token: apiTestToken, UserAgent: testUserAgent, HTTP: srv.Client(), Sleep: rec.sleep, Agency: ny}
}

var clockifyPeople = []string{"Luke Ramljak", "Ana Souza", "Kim Allen"}

// fill adds n REGULAR entries from first, every 90 minutes, three people,
// ids from id.
func (ws *clockifyWorkspace) fill(id int, first time.Time, n int, seconds int64) {
	for i := range n {
		ws.add(clockifyFakeEntry{id: fmt.Sprintf("64f0000000000000%08d", id+i), user: clockifyPeople[i%3], client: "Acme Corp",
			project: "Website", task: "Consulting", typ: "REGULAR", billable: true,
			start: first.Add(time.Duration(i) * 90 * time.Minute), seconds: seconds})
	}
}

// The detailed report lists every member's work, page by page; breaks,
// holidays and time off are left out and counted, running entries too.
func TestClockifyWindowPagesExcludesBreaks(t *testing.T) {
	ws, srv := newClockifyWorkspace(t)
	ws.fill(1, time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC), 450, 1800) // 2 Mar .. 30 Mar
	mar := time.Date(2026, 3, 31, 14, 0, 0, 0, time.UTC)
	for i, typ := range []string{"BREAK", "BREAK", "HOLIDAY", "TIME_OFF"} {
		ws.add(clockifyFakeEntry{id: fmt.Sprintf("64f1000000000000%08d", i), user: "Kim Allen", client: "", project: "",
			typ: typ, start: mar.Add(time.Duration(i) * time.Hour), seconds: 3600})
	}
	ws.add(clockifyFakeEntry{id: "64f2000000000000aaaaaaaa", user: "Ana Souza", client: "Acme Corp", project: "Website",
		typ: "REGULAR", start: mar, running: true})
	api := newClockifyAPI(t, srv, &sleepRecorder{})
	var got []Entry
	err := api.Window(context.Background(), storetest.Date("2026-03-01"), storetest.Date("2026-03-31"), func(e Entry) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 450 || api.Excluded != 4 || api.Running != 1 {
		t.Fatalf("%d entries, %d excluded, %d running; want 450, 4, 1", len(got), api.Excluded, api.Running)
	}
	want := Entry{Format: SourceClockifyAPI, Date: storetest.Date("2026-03-02"), Seconds: 1800, Client: "Acme Corp",
		Project: "Website", Task: "Consulting", Notes: "work on Website", User: "Luke Ramljak", Billable: true,
		ExternalID: "64f000000000000000000001"}
	if got[0] != want {
		t.Errorf("entry\n got %+v\nwant %+v", got[0], want)
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var pages []string
	for _, b := range ws.bodies {
		f := b["detailedFilter"].(map[string]any)
		pages = append(pages, fmt.Sprint(f["page"]))
		if b["timeZone"] != "America/New_York" || b["dateRangeStart"] != "2026-03-01T00:00:00.000" || b["dateRangeEnd"] != "2026-03-31T23:59:59.999" {
			t.Errorf("body %v", b)
		}
	}
	if !reflect.DeepEqual(pages, []string{"1", "2", "3"}) {
		t.Errorf("pages %v, want 1, 2, 3", pages)
	}
}

// A host that serves smaller pages than asked does not end the report
// early: its totals say how many entries there are.
func TestClockifyPagesShorterThanAsked(t *testing.T) {
	ws, srv := newClockifyWorkspace(t)
	ws.pageCap = 50
	ws.fill(1, time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC), 120, 1800)
	api := newClockifyAPI(t, srv, &sleepRecorder{})
	n := 0
	err := api.Window(context.Background(), storetest.Date("2026-03-01"), storetest.Date("2026-03-31"), func(Entry) error { n++; return nil })
	if err != nil || n != 120 {
		t.Errorf("%d entries, %v; want 120", n, err)
	}
}

// Windows are months, within a Free plan's 31 days; a second run with the
// same answers imports nothing new; an entry deleted upstream goes at the
// next run; a 429 is waited out.
func TestSyncClockify(t *testing.T) {
	ctx := context.Background()
	ws, srv := newClockifyWorkspace(t)
	ws.freePlan = true
	ws.fill(1, time.Date(2026, 1, 5, 14, 0, 0, 0, time.UTC), 60, 3600) // 5 Jan .. 8 Jan
	ws.fill(100, time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC), 10, 3600)
	ws.add(clockifyFakeEntry{id: "64f1000000000000000000b1", user: "Kim Allen", typ: "BREAK",
		start: time.Date(2026, 3, 3, 17, 0, 0, 0, time.UTC), seconds: 3600})
	ws.throttle = 1
	im, db, rules, now := apiSyncFixture(t, "Acme Corp")
	rec := &sleepRecorder{}
	api := newClockifyAPI(t, srv, rec)
	res, err := im.SyncClockify(ctx, api, planAt(t, db, *now, api.Agency))
	if err != nil || res.Imported != 70 || res.Excluded != 1 || res.Windows != 4 || !res.Full {
		t.Fatalf("first sync %+v, %v", res, err)
	}
	if w := rec.recorded(); !reflect.DeepEqual(w, []time.Duration{time.Second}) {
		t.Errorf("slept %v, want [1s] (Retry-After)", w)
	}
	if got := figures(t, db, rules, "2026-03").Used; got != storetest.H(10) {
		t.Errorf("March used %d, want 10 h (the break does not count)", got)
	}

	ws.mu.Lock()
	ws.entries = ws.entries[:len(ws.entries)-2] // the last March entry is deleted (and the break)
	ws.mu.Unlock()
	*now = now.Add(15 * time.Minute)
	api = newClockifyAPI(t, srv, rec)
	res, err = im.SyncClockify(ctx, api, planAt(t, db, *now, api.Agency))
	if err != nil || res.Removed != 1 || res.Imported+res.Updated != 0 {
		t.Fatalf("second sync %+v, %v", res, err)
	}
	res, err = im.SyncClockify(ctx, api, planAt(t, db, *now, api.Agency))
	if err != nil || res.Imported+res.Updated+res.Removed != 0 {
		t.Errorf("same input again %+v, %v", res, err)
	}
}

// A Clockify id is a path segment: one that could change the path is refused
// before any request.
func TestClockifyWorkspaceIDIsAPathSegment(t *testing.T) {
	_, srv := newClockifyWorkspace(t)
	api := newClockifyAPI(t, srv, &sleepRecorder{})
	api.WorkspaceID = "../../admin"
	err := api.Window(context.Background(), storetest.Date("2026-03-01"), storetest.Date("2026-03-31"), func(Entry) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "workspace_id") {
		t.Errorf("err = %v", err)
	}
}
