package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const harvestHeader = "Date,Client,Project,Project Code,Task,Notes,Hours,Hours Rounded,Billable?,Invoiced?,Approved?,First Name,Last Name,Roles,Employee?,Billable Rate,Billable Amount,Cost Rate,Cost Amount,Currency,External Reference URL\n"

func harvestRow(date, client, notes, hours string) string {
	return date + "," + client + ",Website,NW-1,Development,\"" + notes + "\"," + hours + "," + hours + ",Yes,No,No,Ada,Lovelace,,Yes,150.00,,,,US Dollar - USD,\n"
}

func (e *env) write(name, body string) string {
	e.t.Helper()
	path := filepath.Join(e.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

func importJSONOf(t *testing.T, out string) importJSON {
	t.Helper()
	var r importJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r
}

func TestImportCommand(t *testing.T) {
	e := newEnv(t)
	march := e.write("march.csv", "\ufeff"+harvestHeader+
		harvestRow("2026-03-02", "Acme Corp", "design, with a comma", "1.5")+
		harvestRow("2026-03-03", "Acme Corp", "review\nsecond line", "0.5")+
		harvestRow("2026-03-03", "Nobody Inc", "unknown client", "2"))
	out := e.must("import", march, "--json")
	if r := importJSONOf(t, out); r.Files != 1 || r.Imported != 3 || r.Unmatched != 1 || len(r.Rejected) != 0 {
		t.Fatalf("first import %+v", r)
	}
	// The same file again: nothing changes.
	if r := importJSONOf(t, e.must("import", "--json", march)); r.Imported != 0 || r.Unchanged != 3 {
		t.Fatalf("re-import %+v", r)
	}
	st := e.must("status", "acme-001", "--month", "2026-03", "--json")
	if !strings.Contains(st, `"hours_used":2.00`) {
		t.Errorf("status after import:\n%s", st)
	}
	if text := e.must("status", "--month", "2026-03"); !strings.Contains(text, "unmatched hours: 2.00 h") {
		t.Errorf("status lacks the unmatched line:\n%s", text)
	}

	// A file with bad rows is rejected whole, every bad row listed by line.
	bad := e.write("bad.csv", harvestHeader+
		harvestRow("2026-03-05", "Acme Corp", "fine", "1")+
		harvestRow("2026-02-30", "Acme Corp", "bad date", "1")+
		harvestRow("2026-03-06", "Acme Corp", "multi\nline", "-2")+
		harvestRow("2026-03-07", "Acme Corp", "fine", "1"))
	code, out, stderr := e.run("import", bad, "--json")
	if code != exitFailed {
		t.Fatalf("bad file: exit %d", code)
	}
	r := importJSONOf(t, out)
	if len(r.Rejected) != 2 || r.Rejected[0].Line != 3 || r.Rejected[1].Line != 4 {
		t.Errorf("rejected %+v", r.Rejected)
	}
	if !strings.Contains(stderr, bad+":3: ") || !strings.Contains(stderr, bad+":4: ") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if st := e.must("status", "acme-001", "--month", "2026-03", "--json"); !strings.Contains(st, `"hours_used":2.00`) {
		t.Errorf("a rejected file was partly imported:\n%s", st)
	}
	unknown := e.write("unknown.csv", "foo,bar\n1,2\n")
	if code, _, stderr := e.run("import", unknown); code != exitFailed || !strings.Contains(stderr, "harvest") {
		t.Errorf("unknown format: exit %d %s", code, stderr)
	}
}

func TestImportInbox(t *testing.T) {
	e := newEnv(t)
	good := e.write("inbox/good.csv", harvestHeader+harvestRow("2026-03-02", "Acme Corp", "x", "3"))
	bad := e.write("inbox/bad.csv", harvestHeader+harvestRow("2026-03-02", "Acme Corp", "x", "abc"))
	fresh := e.write("inbox/fresh.csv", harvestHeader+harvestRow("2026-03-09", "Acme Corp", "y", "4"))
	old := e.now.Add(-time.Minute)
	for _, p := range []string{good, bad} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(fresh, e.now, e.now); err != nil {
		t.Fatal(err)
	}
	code, out, _ := e.run("import")
	if code != exitFailed || !strings.Contains(out, "1 still being written") {
		t.Fatalf("inbox: exit %d\n%s", code, out)
	}
	for _, p := range []string{"inbox/processed/good.csv", "inbox/failed/bad.csv", "inbox/failed/bad.csv.errors.txt", "inbox/fresh.csv"} {
		if _, err := os.Stat(filepath.Join(e.dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	errs, _ := os.ReadFile(filepath.Join(e.dir, "inbox/failed/bad.csv.errors.txt"))
	if !strings.Contains(string(errs), "bad.csv:2: ") {
		t.Errorf("errors file: %s", errs)
	}
	if st := e.must("status", "acme-001", "--month", "2026-03", "--json"); !strings.Contains(st, `"hours_used":3.00`) {
		t.Errorf("status:\n%s", st)
	}
}

// With a tracker API configured, `retainer import` also syncs it: Toggl
// through the Reports API v3 detailed search (rows shaped as recorded in
// mcordell/toggl_rb spec/vcr_cassettes/search_time_entries_simple_success.yml),
// names through API v9, month by month from the first open period.
func TestImportSyncsTogglAPI(t *testing.T) {
	var mu sync.Mutex
	var uas []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uas = append(uas, r.Header.Get("User-Agent"))
		mu.Unlock()
		if user, _, _ := r.BasicAuth(); user != "toggl-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/reports/api/v3/workspace/789/search/time_entries":
			var body struct {
				StartDate string `json:"start_date"`
				EndDate   string `json:"end_date"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.EndDate == "" {
				http.Error(w, `{"error":"bad body"}`, http.StatusBadRequest)
				return
			}
			if body.StartDate > "2026-03-02" || body.EndDate < "2026-03-02" {
				w.Write([]byte(`[]`))
				return
			}
			w.Write([]byte(`[{"user_id":10658406,"username":"Michael C","project_id":201,"task_id":null,"billable":true,
				"description":"design","tag_ids":[],"billable_amount_in_cents":null,"hourly_rate_in_cents":null,"currency":"USD",
				"time_entries":[{"id":11,"seconds":5400,"start":"2026-03-02T14:00:00+00:00","stop":"2026-03-02T15:30:00+00:00",
				"at":"2026-03-02T16:00:00+00:00"}],"row_number":1}]`))
		case "/api/v9/workspaces/789/projects":
			if r.URL.Query().Get("page") > "1" {
				w.Write([]byte(`[]`))
				return
			}
			w.Write([]byte(`[{"id": 201, "workspace_id": 789, "client_id": 401, "name": "Web", "active": true}]`))
		case "/api/v9/workspaces/789/clients":
			w.Write([]byte(`[{"id": 401, "wid": 789, "name": "Acme Corp"}]`))
		default:
			http.NotFound(w, r) // /me/time_entries included: the import never needs it
		}
	}))
	defer ts.Close()
	e := newEnv(t)
	e.extra = []string{"RETAINER_IMPORT__TOGGL__WORKSPACE_ID=789", "RETAINER_IMPORT__TOGGL__TOKEN=toggl-token",
		"RETAINER_IMPORT__TOGGL__BASE_URL=" + ts.URL + "/api/v9", "RETAINER_IMPORT__TOGGL__REPORTS_URL=" + ts.URL + "/reports/api/v3"}
	out := e.must("import")
	if !strings.Contains(out, "api-toggl: 1 imported") || !strings.Contains(out, "deletions upstream are removed") {
		t.Fatalf("import:\n%s", out)
	}
	if strings.Contains(out, "toggl-token") {
		t.Errorf("the token leaked into the output")
	}
	if st := e.must("status", "acme-001", "--month", "2026-03", "--json"); !strings.Contains(st, `"hours_used":1.50`) {
		t.Errorf("status:\n%s", st)
	}
	// The same answers again: nothing new.
	if out := e.must("import"); !strings.Contains(out, "api-toggl: 0 imported, 0 updated, 1 unchanged, 0 removed") {
		t.Errorf("second import:\n%s", out)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, ua := range uas {
		if ua != "retainer (owner@northwind.example)" {
			t.Fatalf("User-Agent %q, want the agency email as contact", ua)
		}
	}
}

// Clockify through its detailed report (answer shaped as a recorded one:
// timeentries with timeInterval.duration in seconds and type); a break is
// left out and said so.
func TestImportSyncsClockifyAPI(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "clockify-key" || r.URL.Path != "/v1/workspaces/5b715448b079875110792222/reports/detailed" {
			http.Error(w, `{"message":"no","code":1000}`, http.StatusUnauthorized)
			return
		}
		var body struct {
			DateRangeStart string `json:"dateRangeStart"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		if !strings.HasPrefix(body.DateRangeStart, "2026-03-01") {
			w.Write([]byte(`{"totals":[],"timeentries":[]}`))
			return
		}
		w.Write([]byte(`{"totals":[{"_id":"","totalTime":10440,"entriesCount":2}],"timeentries":[
			{"_id":"63b03060b01ebfad292c61ed","description":"Description","userId":"b4de890ff78038db26859c0a","billable":true,
			 "timeInterval":{"start":"2026-03-03T15:48:00Z","end":"2026-03-03T18:42:00Z","duration":10440},
			 "projectId":"97210bf336f73c996f45f6e1","projectName":"Project","clientName":"Acme Corp","taskName":"Consulting",
			 "userName":"Luke","type":"REGULAR","isLocked":false},
			{"_id":"63b03060b01ebfad292c61ee","description":"","userId":"b4de890ff78038db26859c0a","billable":false,
			 "timeInterval":{"start":"2026-03-03T12:00:00Z","end":"2026-03-03T12:30:00Z","duration":1800},
			 "projectName":null,"clientName":null,"userName":"Luke","type":"BREAK","isLocked":false}]}`))
	}))
	defer ts.Close()
	e := newEnv(t)
	e.extra = []string{"RETAINER_IMPORT__CLOCKIFY__WORKSPACE_ID=5b715448b079875110792222", "RETAINER_IMPORT__CLOCKIFY__TOKEN=clockify-key",
		"RETAINER_IMPORT__CLOCKIFY__REPORTS_URL=" + ts.URL + "/v1"}
	out := e.must("import")
	if !strings.Contains(out, "api-clockify: 1 imported") || !strings.Contains(out, "1 entry left out (breaks, holidays, time off)") {
		t.Fatalf("import:\n%s", out)
	}
	if st := e.must("status", "acme-001", "--month", "2026-03", "--json"); !strings.Contains(st, `"hours_used":2.90`) {
		t.Errorf("status:\n%s", st)
	}
}

// harvestRowBy is a Harvest row of one person's work on a project.
func harvestRowBy(date, client, project, person, notes, hours string) string {
	first, last, _ := strings.Cut(person, " ")
	return date + "," + client + "," + project + ",NW-1,Development,\"" + notes + "\"," + hours + "," + hours +
		",Yes,No,No," + first + "," + last + ",,Yes,150.00,,,,US Dollar - USD,\n"
}

// An export filtered to one person replaces only that person's entries
// (SPEC §13 "Reconcile scope"), and `import --json` counts what it removed.
func TestImportReconcileScopeJSON(t *testing.T) {
	e := newEnv(t)
	ada := []string{
		harvestRowBy("2026-03-02", "Acme Corp", "Website", "Ada Lovelace", "design", "2.5"),
		harvestRowBy("2026-03-03", "Acme Corp", "Website", "Ada Lovelace", "review", "1"),
		harvestRowBy("2026-03-04", "Acme Corp", "Website", "Ada Lovelace", "build", "3"),
	}
	bob := []string{
		harvestRowBy("2026-03-02", "Acme Corp", "Website", "Bob Babbage", "design", "4"),
		harvestRowBy("2026-03-03", "Acme Corp", "App", "Bob Babbage", "build", "2.25"),
	}
	hoursUsed := func() string {
		t.Helper()
		var st struct {
			Contracts []struct {
				HoursUsed json.Number `json:"hours_used"`
			} `json:"contracts"`
		}
		out := e.must("status", "acme-001", "--month", "2026-03", "--json")
		if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Contracts) != 1 {
			t.Fatalf("status: %v\n%s", err, out)
		}
		return st.Contracts[0].HoursUsed.String()
	}
	steps := []struct {
		name      string
		rows      []string
		want      importJSON
		hoursUsed string
	}{
		{"the whole team", append(append([]string{}, ada...), bob...), importJSON{Files: 1, Imported: 5}, "12.75"},
		{"Ada's export: Bob keeps his hours", ada, importJSON{Files: 1, Unchanged: 3}, "12.75"},
		{"Ada deleted her review upstream", []string{ada[0], ada[2]}, importJSON{Files: 1, Unchanged: 2, Removed: 1}, "11.75"},
		{"the client spelled another way", []string{strings.Replace(ada[0], "Acme Corp", "acme  corp", 1), ada[2]},
			importJSON{Files: 1, Updated: 1, Unchanged: 1}, "11.75"},
		{"Bob's export, filtered to the app", []string{bob[1]}, importJSON{Files: 1, Unchanged: 1}, "11.75"},
	}
	for i, s := range steps {
		path := e.write(fmt.Sprintf("export-%d.csv", i), harvestHeader+strings.Join(s.rows, ""))
		out := e.must("import", path, "--json")
		var keys map[string]json.RawMessage
		if err := json.Unmarshal([]byte(out), &keys); err != nil {
			t.Fatalf("%s: %v\n%s", s.name, err, out)
		}
		if len(keys) != 7 || keys["removed"] == nil {
			t.Errorf("%s: want files, imported, updated, unchanged, unmatched, removed, rejected:\n%s", s.name, out)
		}
		got := importJSONOf(t, out)
		got.Rejected = nil
		if !reflect.DeepEqual(got, s.want) {
			t.Errorf("%s: %+v, want %+v", s.name, got, s.want)
		}
		if h := hoursUsed(); h != s.hoursUsed {
			t.Errorf("%s: hours used %s, want %s", s.name, h, s.hoursUsed)
		}
	}
}

// The text summary: singular and plural, and the unmatched entries by
// client, most hours first, ten at most.
func TestImportSummaryText(t *testing.T) {
	e := newEnv(t)
	one := e.write("one.csv", "date,client,hours\n2026-03-02,Acme Corp,1\n")
	var many strings.Builder
	many.WriteString("date,client,hours,notes\n")
	for i := 1; i <= 12; i++ { // client i has i hours of unmatched work
		fmt.Fprintf(&many, "2026-03-%02d,Prospect %02d,%d,\n", i, i, i)
	}
	many.WriteString("2026-03-05,,0.5,solo work\n2026-03-06,,0.25,solo work\n")
	many.WriteString("2026-03-07,prospect  12,1.5,\n") // the same client, spelled another way
	manyPath := e.write("many.csv", many.String())
	for _, tc := range []struct {
		name    string
		path    string
		want    []string
		notWant []string
	}{
		{"one row", one, []string{"one.csv: generic, 1 row: 1 imported, 0 updated, 0 unchanged, 0 removed\n"},
			[]string{"rows", "unmatched"}},
		{"the same row again", one, []string{"1 row: 0 imported, 0 updated, 1 unchanged, 0 removed\n"}, nil},
		{"unmatched clients", manyPath, []string{
			"many.csv: generic, 15 rows: 15 imported, 0 updated, 0 unchanged, 0 removed, 15 unmatched\n",
			"15 unmatched entries (80.25 h) matched no contract",
			"\n  Prospect 12: 13.50 h, 2 entries\n  Prospect 11: 11.00 h, 1 entry\n",
			"\n  Prospect 03: 3.00 h, 1 entry\n  and 3 more\n",
		}, []string{"Prospect 02", "(no client)", "1 entries"}},
	} {
		out := e.must("import", tc.path)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, out)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(out, w) {
				t.Errorf("%s: output has %q:\n%s", tc.name, w, out)
			}
		}
	}
	// A few unmatched clients, one entry with none.
	few := e.write("few.csv", "date,client,hours\n2026-03-09,,0.5\n2026-03-09,Prospect 99,0.25\n")
	out := e.must("import", few)
	want := "2 unmatched entries (0.75 h) matched no contract; add the client or project to a contract's match list (see `retainer status`):\n" +
		"  (no client): 0.50 h, 1 entry\n  Prospect 99: 0.25 h, 1 entry\n"
	if !strings.HasSuffix(out, want) {
		t.Errorf("output:\n%s\nwant it to end with:\n%s", out, want)
	}
	one2 := e.write("single.csv", "date,client,hours\n2026-03-10,Prospect 98,2\n")
	if out := e.must("import", one2); !strings.Contains(out, "1 unmatched entry (2.00 h) matched no contract") {
		t.Errorf("output:\n%s", out)
	}
}
