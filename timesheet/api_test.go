package timesheet

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"retainer/billing"
)

const (
	apiTestToken   = "s3cr3t-token-7f2a"
	apiTestAccount = "123456"
)

// apiFixture reads testdata/api/name with {{BASE}} replaced by base.
func apiFixture(t *testing.T, name, base string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "api", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.ReplaceAll(string(b), "{{BASE}}", base))
}

// sleepRecorder stands in for the real sleep: it records and returns at once.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func (s *sleepRecorder) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// requestLog records the requests a test server saw.
type requestLog struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (l *requestLog) add(r *http.Request) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r.Clone(context.Background()))
	return len(l.reqs)
}

func (l *requestLog) all() []*http.Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*http.Request(nil), l.reqs...)
}

func apiDate(t *testing.T, s string) billing.Date {
	t.Helper()
	d, err := billing.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func apiTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// harvestServer serves the three fixture pages: page 1 at page=1, page 2 at
// the cursor URL of page 1's links.next, page 3 at page=3 (page 2 only gives
// next_page). fail, when set, may answer a request instead (n counts from 1).
func harvestServer(t *testing.T, fail func(w http.ResponseWriter, r *http.Request, n int) bool) (*httptest.Server, *requestLog) {
	t.Helper()
	log := &requestLog{}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := log.add(r)
		if fail != nil && fail(w, r, n) {
			return
		}
		if r.URL.Path != "/v2/time_entries" {
			http.NotFound(w, r)
			return
		}
		base := srv.URL + "/v2"
		q := r.URL.Query()
		var name string
		switch {
		case q.Get("cursor") == "eyJhZnRlciI6eyJpZCI61fX0":
			name = "harvest_page2.json"
		case q.Get("page") == "3":
			name = "harvest_page3.json"
		case q.Get("page") == "1":
			name = "harvest_page1.json"
		default:
			http.Error(w, `{"error":"bad page"}`, http.StatusUnprocessableEntity)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(apiFixture(t, name, base))
	}))
	t.Cleanup(srv.Close)
	return srv, log
}

func newHarvest(srv *httptest.Server, rec *sleepRecorder) *HarvestAPI {
	return &HarvestAPI{
		BaseURL:   srv.URL + "/v2",
		AccountID: apiTestAccount,
		Token:     apiTestToken,
		HTTP:      srv.Client(),
		Sleep:     rec.sleep,
		UserAgent: "retainer-test (ops@example.com)",
	}
}

func collectChanges(t *testing.T, changes func(context.Context, time.Time, func(Change) error) (time.Time, error), since time.Time) ([]Change, time.Time, error) {
	t.Helper()
	var got []Change
	cursor, err := changes(context.Background(), since, func(c Change) error {
		got = append(got, c)
		return nil
	})
	return got, cursor, err
}

func externalIDs(cs []Change) []string {
	var ids []string
	for _, c := range cs {
		id := c.Entry.ExternalID
		if c.Deleted {
			id = "-" + id
		}
		ids = append(ids, id)
	}
	return ids
}

// 636709200 is a running timer: it comes with the hours it shows.
var harvestWantIDs = []string{"636709355", "636708723", "636709100", "636709200", "636709300"}

func TestHarvestChangesPagesHeadersAndEntries(t *testing.T) {
	srv, log := harvestServer(t, nil)
	rec := &sleepRecorder{}
	since := time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600))
	got, cursor, err := collectChanges(t, newHarvest(srv, rec).Changes, since)
	if err != nil {
		t.Fatal(err)
	}
	if ids := externalIDs(got); !reflect.DeepEqual(ids, harvestWantIDs) {
		t.Errorf("ids = %v, want %v", ids, harvestWantIDs)
	}
	if want := apiTime(t, "2026-03-06T08:00:00Z"); !cursor.Equal(want) {
		t.Errorf("cursor = %v, want %v (max updated_at)", cursor, want)
	}
	reqs := log.all()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if h := r.Header.Get("Authorization"); h != "Bearer "+apiTestToken {
			t.Errorf("request %d: Authorization = %q", i, h)
		}
		if h := r.Header.Get("Harvest-Account-Id"); h != apiTestAccount {
			t.Errorf("request %d: Harvest-Account-Id = %q", i, h)
		}
		if h := r.Header.Get("User-Agent"); h != "retainer-test (ops@example.com)" {
			t.Errorf("request %d: User-Agent = %q", i, h)
		}
	}
	q := reqs[0].URL.Query()
	if v := q.Get("updated_since"); v != "2026-02-28T23:00:00Z" {
		t.Errorf("updated_since = %q, want UTC RFC 3339", v)
	}
	if v := q.Get("per_page"); v != "2000" {
		t.Errorf("per_page = %q, want 2000", v)
	}
	if q.Has("from") || q.Has("to") {
		t.Errorf("Changes sent a window: %v", q)
	}
	if v := reqs[2].URL.Query().Get("updated_since"); v != "2026-02-28T23:00:00Z" {
		t.Errorf("the next_page request lost updated_since: %q", reqs[2].URL.RawQuery)
	}

	want := []Entry{{
		Format: SourceHarvestAPI, Date: apiDate(t, "2026-03-02"), Seconds: 7596, // 2.11 h
		Client: "ABC Corp", Project: "Marketing Website", ProjectCode: "MW", Task: "Graphic Design",
		Notes: "Adding CSS styling", User: "Kim Allen", Billable: true, ExternalID: "636709355",
	}, {
		Format: SourceHarvestAPI, Date: apiDate(t, "2026-03-02"), Seconds: 4444, // 1.2345 h = 4444.2 s
		Client: "ABC Corp", Project: "Marketing Website", ProjectCode: "MW", Task: "Programming",
		User: "Kim Allen", Billable: true, ExternalID: "636708723",
	}, {
		Format: SourceHarvestAPI, Date: apiDate(t, "2026-03-03"), Seconds: 1800,
		Client: "123 Industries", Project: "Online Store - Phase 1", Task: "Project Management",
		Notes: "Call with client", User: "Jane Doe", Billable: false, ExternalID: "636709100",
	}, {
		Format: SourceHarvestAPI, Date: apiDate(t, "2026-03-04"), Seconds: 576, // 0.16 h, running
		Client: "ABC Corp", Project: "Marketing Website", ProjectCode: "MW", Task: "Programming",
		Notes: "running now", User: "Jane Doe", Billable: true, ExternalID: "636709200",
	}, {
		Format: SourceHarvestAPI, Date: apiDate(t, "2026-03-04"), Seconds: 10800,
		Client: "123 Industries", Project: "Online Store - Phase 1", Task: "Programming",
		Notes: `Review, then "fix"`, User: "Jane Doe", Billable: true, ExternalID: "636709300",
	}}
	for i, c := range got {
		if c.Deleted {
			t.Errorf("change %d marked deleted", i)
		}
		if i < len(want) && c.Entry != want[i] {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, c.Entry, want[i])
		}
	}
	if w := rec.recorded(); len(w) != 0 {
		t.Errorf("slept %v without a reason", w)
	}
}

func TestHarvestChangesSinceZeroAndEmpty(t *testing.T) {
	srv, log := harvestServer(t, nil)
	_, cursor, err := collectChanges(t, newHarvest(srv, &sleepRecorder{}).Changes, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if q := log.all()[0].URL.Query(); q.Has("updated_since") {
		t.Errorf("since zero sent updated_since: %v", q)
	}
	if want := apiTime(t, "2026-03-06T08:00:00Z"); !cursor.Equal(want) {
		t.Errorf("cursor = %v", cursor)
	}

	// Nothing new: the cursor stays where it was.
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"time_entries":[],"per_page":2000,"total_pages":0,"total_entries":0,"next_page":null,"previous_page":null,"page":1,"links":{"first":null,"next":null,"previous":null,"last":null}}`))
	}))
	defer empty.Close()
	since := apiTime(t, "2026-03-10T00:00:00Z")
	got, cursor, err := collectChanges(t, newHarvest(empty, &sleepRecorder{}).Changes, since)
	if err != nil || len(got) != 0 || !cursor.Equal(since) {
		t.Errorf("empty: %d changes, cursor %v, err %v; want 0, %v, nil", len(got), cursor, err, since)
	}
}

func TestHarvestRetryAfter429(t *testing.T) {
	throttled := false
	srv, log := harvestServer(t, func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Query().Get("cursor") != "" && !throttled { // page 2, once
			throttled = true
			w.Header().Set("Retry-After", "7")
			http.Error(w, `{"message":"Too Many Requests"}`, http.StatusTooManyRequests)
			return true
		}
		return false
	})
	rec := &sleepRecorder{}
	got, _, err := collectChanges(t, newHarvest(srv, rec).Changes, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if ids := externalIDs(got); !reflect.DeepEqual(ids, harvestWantIDs) {
		t.Errorf("ids = %v, want each exactly once: %v", ids, harvestWantIDs)
	}
	if w := rec.recorded(); !reflect.DeepEqual(w, []time.Duration{7 * time.Second}) {
		t.Errorf("slept %v, want [7s]", w)
	}
	if n := len(log.all()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestHarvestRetries5xxWithBackoff(t *testing.T) {
	srv, _ := harvestServer(t, func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n <= 2 {
			http.Error(w, "upstream down", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	rec := &sleepRecorder{}
	got, _, err := collectChanges(t, newHarvest(srv, rec).Changes, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if ids := externalIDs(got); !reflect.DeepEqual(ids, harvestWantIDs) {
		t.Errorf("ids = %v", ids)
	}
	w := rec.recorded()
	if len(w) != 2 {
		t.Fatalf("slept %v, want 2 waits", w)
	}
	for i, d := range w {
		lo, hi := backoffBase<<i/2, backoffBase<<i
		if d < lo || d >= hi {
			t.Errorf("wait %d = %v, want in [%v, %v)", i, d, lo, hi)
		}
	}
}

func TestHarvestPermanentErrors(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv, log := harvestServer(t, func(w http.ResponseWriter, r *http.Request, n int) bool {
				// A server that echoes the credential must not leak it either.
				http.Error(w, `{"error":"invalid_token","error_description":"bad `+r.Header.Get("Authorization")+`"}`, status)
				return true
			})
			rec := &sleepRecorder{}
			_, _, err := collectChanges(t, newHarvest(srv, rec).Changes, time.Time{})
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), apiTestToken) {
				t.Errorf("error contains the token: %v", err)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Status != status || !se.Permanent() {
				t.Errorf("err = %v, want a permanent *StatusError %d", err, status)
			}
			if !strings.Contains(err.Error(), http.StatusText(status)) {
				t.Errorf("error does not say which: %v", err)
			}
			if n := len(log.all()); n != 1 || len(rec.recorded()) != 0 {
				t.Errorf("%d requests, %d sleeps: a permanent error was retried", n, len(rec.recorded()))
			}
		})
	}
}

func TestHarvestWindow(t *testing.T) {
	srv, log := harvestServer(t, nil)
	var got []string
	latest, err := newHarvest(srv, &sleepRecorder{}).Window(context.Background(), apiDate(t, "2026-03-01"), apiDate(t, "2026-03-31"), func(e Entry) error {
		got = append(got, e.ExternalID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := apiTime(t, "2026-03-06T08:00:00Z"); !latest.Equal(want) {
		t.Errorf("latest updated_at = %v, want %v", latest, want)
	}
	if !reflect.DeepEqual(got, harvestWantIDs) {
		t.Errorf("ids = %v, want %v", got, harvestWantIDs)
	}
	q := log.all()[0].URL.Query()
	if q.Get("from") != "2026-03-01" || q.Get("to") != "2026-03-31" || q.Has("updated_since") {
		t.Errorf("query = %v, want from/to only", q)
	}
}

func TestHarvestRefusesForeignNextLink(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"time_entries":[],"page":1,"total_pages":2,"next_page":2,"links":{"next":"https://evil.example/v2/time_entries?page=2"}}`))
	}))
	defer srv.Close()
	_, _, err := collectChanges(t, newHarvest(srv, &sleepRecorder{}).Changes, time.Time{})
	if err == nil || !strings.Contains(err.Error(), "another host") {
		t.Errorf("err = %v, want a refusal", err)
	}
}

// TestRetryExhaustion is the table every tracker client must pass: when
// retries run out, the error names the last status and wraps
// ErrRetriesExhausted, after MaxRetries waits.
func TestRetryExhaustion(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		run    func(srv *httptest.Server, rec *sleepRecorder) error
	}{
		{"harvest 503", http.StatusServiceUnavailable, func(srv *httptest.Server, rec *sleepRecorder) error {
			h := newHarvest(srv, rec)
			h.MaxRetries = 3
			_, _, err := collectChanges(t, h.Changes, time.Time{})
			return err
		}},
		{"harvest 429 without Retry-After", http.StatusTooManyRequests, func(srv *httptest.Server, rec *sleepRecorder) error {
			h := newHarvest(srv, rec)
			h.MaxRetries = 3
			_, _, err := collectChanges(t, h.Changes, time.Time{})
			return err
		}},
		{"toggl 502", http.StatusBadGateway, func(srv *httptest.Server, rec *sleepRecorder) error {
			tg := &TogglAPI{BaseURL: srv.URL + "/api/v9", ReportsURL: srv.URL + "/reports/api/v3", WorkspaceID: 789,
				Token: apiTestToken, HTTP: srv.Client(), Sleep: rec.sleep, MaxRetries: 3}
			return tg.Window(context.Background(), apiDate(t, "2026-03-01"), apiDate(t, "2026-03-31"), func(Entry) error { return nil })
		}},
		{"clockify 504", http.StatusGatewayTimeout, func(srv *httptest.Server, rec *sleepRecorder) error {
			c := &ClockifyAPI{ReportsURL: srv.URL + "/v1", WorkspaceID: clockifyTestWorkspace,
				Token: apiTestToken, HTTP: srv.Client(), Sleep: rec.sleep, MaxRetries: 3}
			return c.Window(context.Background(), apiDate(t, "2026-03-01"), apiDate(t, "2026-03-31"), func(Entry) error { return nil })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				calls++
				mu.Unlock()
				http.Error(w, "nope "+r.Header.Get("Authorization"), tc.status)
			}))
			defer srv.Close()
			rec := &sleepRecorder{}
			err := tc.run(srv, rec)
			if !errors.Is(err, ErrRetriesExhausted) {
				t.Fatalf("err = %v, want ErrRetriesExhausted", err)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Status != tc.status {
				t.Errorf("err = %v, want the status %d inside", err, tc.status)
			}
			if msg := err.Error(); !strings.Contains(msg, http.StatusText(tc.status)) || strings.Contains(msg, apiTestToken) {
				t.Errorf("message = %q: want the status named and no token", msg)
			}
			mu.Lock()
			defer mu.Unlock()
			if calls != 4 || len(rec.recorded()) != 3 {
				t.Errorf("%d calls, %d waits; want 4 and 3", calls, len(rec.recorded()))
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"", 0, false},
		{"-3", 0, false},
		{"soon", 0, false},
		{"999999", time.Hour, true},
		{"Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Sun, 01 Mar 2026 11:00:00 GMT", 0, true},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	// A date is read against the response's own Date: without one it is unknown.
	if got, ok := parseRetryAfter("Sun, 01 Mar 2026 12:00:30 GMT", time.Time{}); ok || got != 0 {
		t.Errorf("a date with no Date header: %v, %v", got, ok)
	}
	if got, _ := parseRetryAfter("Sun, 01 Mar 2026 18:00:00 GMT", now); got != time.Hour {
		t.Errorf("a date six hours on: %v, want the 1 h cap", got)
	}
}
