package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/jobs"
	"retainer/report"
	"retainer/store"
)

const apiBearer = "Bearer " + testAPIToken

// apiCall sends one request to the fixture's server; auth is the whole
// Authorization header ("" for none).
func apiCall(t *testing.T, f *fixture, method, path, auth, contentType, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := f.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// apiPostEntries posts a JSON body to /api/v1/entries with the valid token.
func apiPostEntries(t *testing.T, f *fixture, body string) (*http.Response, []byte) {
	t.Helper()
	return apiCall(t, f, "POST", "/api/v1/entries", apiBearer, "application/json", body)
}

// apiWantStatus is what `retainer status --json --month p` prints on the
// fixture's store today.
func apiWantStatus(t *testing.T, f *fixture, rules *store.Rules, p billing.Period) []byte {
	t.Helper()
	asOf := billing.DateAt(f.clock(), f.env.Config.Location)
	v, err := f.env.DB.Status(context.Background(), rules, p, asOf)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.StatusJSON(v, f.env.Config.Currency, asOf).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func apiWantError(t *testing.T, resp *http.Response, body []byte, status int, prefix string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if !strings.HasPrefix(e.Error, prefix) {
		t.Errorf("error %q, want it to start with %q", e.Error, prefix)
	}
}

func TestAPIAuth(t *testing.T) {
	f := newFixture(t)
	paths := []struct{ method, path string }{
		{"GET", "/api/v1/status"}, {"GET", "/api/v1/statements"}, {"POST", "/api/v1/entries"},
		{"GET", "/api/v1/nothing"}, {"DELETE", "/api/v1/status"},
	}
	for _, tc := range []struct {
		name, auth string
	}{
		{"missing", ""},
		{"wrong token", "Bearer not-the-token"},
		{"token prefix", "Bearer " + testAPIToken[:len(testAPIToken)-1]},
		{"token and more", "Bearer " + testAPIToken + "x"},
		{"basic", "Basic " + testAPIToken},
		{"no scheme", testAPIToken},
		{"empty apiBearer", "Bearer "},
	} {
		for _, p := range paths {
			t.Run(tc.name+" "+p.method+" "+p.path, func(t *testing.T) {
				resp, body := apiCall(t, f, p.method, p.path, tc.auth, "application/json", `{"entries":[]}`)
				apiWantError(t, resp, body, http.StatusUnauthorized, "unauthorized")
				if got := resp.Header.Get("WWW-Authenticate"); got != "Bearer" {
					t.Errorf("WWW-Authenticate %q", got)
				}
				if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control %q", cc)
				}
			})
		}
	}

	// The scheme is case-insensitive (RFC 7235).
	if resp, body := apiCall(t, f, "GET", "/api/v1/statements", "bearer "+testAPIToken, "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("lower-case scheme: %d %s", resp.StatusCode, body)
	}
	// Any of several configured tokens is accepted.
	cfg := *f.env.Config
	cfg.HTTP.APITokens = append(cfg.HTTP.APITokens[:0:0], "other-token", testAPIToken, "")
	h := f.apiServerWith(t, &cfg, nil)
	for _, tc := range []struct {
		auth string
		want int
	}{{"Bearer other-token", 200}, {apiBearer, 200}, {"Bearer ", 401}, {"Bearer third", 401}} {
		if rec := apiServe(h, "GET", "/api/v1/statements", tc.auth, "", ""); rec.Code != tc.want {
			t.Errorf("%q: %d, want %d", tc.auth, rec.Code, tc.want)
		}
	}

	// With no token configured, nothing gets in.
	cfg.HTTP.APITokens = nil
	h = f.apiServerWith(t, &cfg, nil)
	for _, auth := range []string{"", "Bearer ", apiBearer, "Bearer x"} {
		rec := apiServe(h, "GET", "/api/v1/status", auth, "", "")
		if rec.Code != http.StatusUnauthorized || rec.Body.String() != `{"error":"unauthorized"}`+"\n" ||
			rec.Header().Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("no tokens configured, %q: %d %q", auth, rec.Code, rec.Body)
		}
	}
}

// apiServerWith returns the handler of a second server over the fixture's
// store with cfg (and log, when not nil). Requests go straight to the
// handler, so no server goroutine shares the fixture's fields.
func (f *fixture) apiServerWith(t *testing.T, cfg *config.Config, log *logBuffer) http.Handler {
	t.Helper()
	env, err := jobs.NewEnv(context.Background(), cfg, f.env.DB, f.clock())
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{DB: f.env.DB, Env: func() *jobs.Env { return env }, Now: f.clock}
	if log != nil {
		s.Log = slog.New(slog.NewTextHandler(log, nil))
	}
	return s.Handler()
}

// serve runs one request through h from 192.0.2.1.
func apiServe(h http.Handler, method, path, auth, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAPIStatus(t *testing.T) {
	f := newFixture(t)
	march, feb := billing.NewPeriod(2026, time.March), billing.NewPeriod(2026, time.February)
	for _, tc := range []struct {
		name, query string
		want        []byte
	}{
		{"default month", "", apiWantStatus(t, f, f.env.Rules, march)},
		{"open month", "?month=2026-03", apiWantStatus(t, f, f.env.Rules, march)},
		{"closed month", "?month=2026-02", apiWantStatus(t, f, f.env.Rules, feb)},
		{"one contract", "?month=2026-03&contract=globex",
			apiWantStatus(t, f, store.NewRules([]*billing.Contract{f.env.Config.Contract("globex")}), march)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := apiCall(t, f, "GET", "/api/v1/status"+tc.query, apiBearer, "", "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if !bytes.Equal(body, tc.want) {
				t.Errorf("body differs from status --json:\n%s\nwant\n%s", body, tc.want)
			}
		})
	}

	// The SPEC §11 keys, and the figures of the fixture.
	_, body := apiCall(t, f, "GET", "/api/v1/status?month=2026-02", apiBearer, "", "")
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		t.Fatal(err)
	}
	apiWantKeys(t, "status", obj, "period", "currency", "contracts", "summary")
	var contracts []map[string]json.RawMessage
	if err := json.Unmarshal(obj["contracts"], &contracts); err != nil || len(contracts) != 2 {
		t.Fatalf("contracts: %v %s", err, obj["contracts"])
	}
	for _, c := range contracts {
		apiWantKeys(t, "contract", c, "contract_id", "client", "tier", "period", "closed", "unit", "hours_contracted",
			"hours_banked", "total_available", "hours_used", "hours_remaining", "overage_hours", "overage_rate",
			"overage_fee", "retainer_fee", "total_invoiced", "tax", "utilization_pct", "burn_rate_pct", "projected_hours",
			"invoice_status", "notes", "currency")
	}
	var summary map[string]json.RawMessage
	if err := json.Unmarshal(obj["summary"], &summary); err != nil {
		t.Fatal(err)
	}
	apiWantKeys(t, "summary", summary, "hours_contracted", "hours_used", "overage_hours", "overage_fee", "retainer_fee",
		"total_invoiced", "average_burn_rate_pct")
	if s := string(obj["period"]) + string(contracts[0]["contract_id"]) + string(contracts[0]["hours_used"]) +
		string(contracts[0]["closed"]) + string(contracts[0]["invoice_status"]); s != `"2026-02""acme"47.00true"pending"` {
		t.Errorf("February, acme: %s", s)
	}

	for _, tc := range []struct {
		query  string
		status int
		prefix string
	}{
		{"?month=2026-13", 400, "month: "},
		{"?month=March", 400, "month: "},
		{"?as_of=2026-02-30", 400, "as_of: "},
		{"?contract=initech", 404, `no contract "initech"`},
	} {
		resp, body := apiCall(t, f, "GET", "/api/v1/status"+tc.query, apiBearer, "", "")
		apiWantError(t, resp, body, tc.status, tc.prefix)
	}
}

func apiWantKeys(t *testing.T, what string, obj map[string]json.RawMessage, keys ...string) {
	t.Helper()
	var got []string
	for k := range obj {
		got = append(got, k)
	}
	sort.Strings(got)
	keys = slices.Clone(keys)
	sort.Strings(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("%s keys %v, want %v", what, got, keys)
	}
}

func TestAPIStatements(t *testing.T) {
	f := newFixture(t)
	type statement struct {
		InvoiceNumber string `json:"invoice_number"`
		ContractID    string `json:"contract_id"`
		Period        string `json:"period"`
		Currency      string `json:"currency"`
		Subtotal      string `json:"subtotal"`
		TaxRate       string `json:"tax_rate"`
		Tax           string `json:"tax"`
		Total         string `json:"total"`
		IssuedOn      string `json:"issued_on"`
		DueOn         string `json:"due_on"`
		Status        string `json:"status"`
	}
	list := func(query string) []statement {
		t.Helper()
		resp, body := apiCall(t, f, "GET", "/api/v1/statements"+query, apiBearer, "", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		var out struct {
			Statements []statement `json:"statements"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&out); err != nil || out.Statements == nil {
			t.Fatalf("%v: %s", err, body)
		}
		for i := range out.Statements {
			if out.Statements[i].InvoiceNumber == "" {
				t.Errorf("statement %d has no invoice number", i)
			}
			out.Statements[i].InvoiceNumber = ""
		}
		return out.Statements
	}
	// Closed on March 1st; due after the contracts' 15 days; not yet sent.
	jan := func(id, total string) statement {
		return statement{"", id, "2026-01", "USD", total, "0", "0.00", total, "2026-03-01", "2026-03-16", "pending"}
	}
	feb := func(id, total string) statement {
		return statement{"", id, "2026-02", "USD", total, "0", "0.00", total, "2026-03-01", "2026-03-16", "pending"}
	}
	for _, tc := range []struct {
		query string
		want  []statement
	}{
		// Newest period first. Acme's February fits its 40 h plus the 10 h
		// banked from January; Globex's 5 h over are not billable.
		{"", []statement{feb("acme", "5000.00"), feb("globex", "2800.00"), jan("acme", "5000.00"), jan("globex", "2800.00")}},
		{"?contract=globex", []statement{feb("globex", "2800.00"), jan("globex", "2800.00")}},
		{"?contract=initech", []statement{}},
	} {
		if got := list(tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("statements%s:\n%+v\nwant\n%+v", tc.query, got, tc.want)
		}
	}
	// Every contract's list is paged: following the Link header's next page
	// from the first gives the whole list, in order, each once; the last
	// page has no Link.
	whole := list("")
	for _, limit := range []int{1, 3, 4, 1000} {
		var got []statement
		next, pages := fmt.Sprintf("/api/v1/statements?limit=%d", limit), 0
		for next != "" {
			resp, body := apiCall(t, f, "GET", next, apiBearer, "", "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d %s", next, resp.StatusCode, body)
			}
			var out struct {
				Statements []statement `json:"statements"`
			}
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatal(err)
			}
			if len(out.Statements) > limit {
				t.Fatalf("%s: %d statements, limit %d", next, len(out.Statements), limit)
			}
			for _, st := range out.Statements {
				st.InvoiceNumber = ""
				got = append(got, st)
			}
			next, pages = "", pages+1
			if link := resp.Header.Get("Link"); link != "" {
				u, ok := strings.CutSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
				if !ok || !strings.HasPrefix(u, "/api/v1/statements?") {
					t.Fatalf("Link %q", link)
				}
				next = u
			}
			if pages > 10 {
				t.Fatal("paging does not end")
			}
		}
		if !slices.Equal(got, whole) {
			t.Errorf("limit=%d: paged\n%+v\nwhole\n%+v", limit, got, whole)
		}
		if want := (len(whole) + limit - 1) / limit; pages != max(want, 1) {
			t.Errorf("limit=%d: %d pages, want %d", limit, pages, want)
		}
	}
	for _, q := range []string{"?limit=0", "?limit=1001", "?limit=x", "?before=acme", "?before=acme-2026-13"} {
		if resp, body := apiCall(t, f, "GET", "/api/v1/statements"+q, apiBearer, "", ""); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", q, resp.StatusCode, body)
		}
	}
}

// apiEntriesResult is the answer of POST /api/v1/entries.
type apiEntriesResult struct {
	Imported  int `json:"imported"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Unmatched int `json:"unmatched"`
	Rejected  []struct {
		Index  int    `json:"index"`
		Reason string `json:"reason"`
	} `json:"rejected"`
}

func apiEntriesBody(entries ...string) string {
	return `{"entries":[` + strings.Join(entries, ",") + `]}`
}

// entry is one posted entry with fields replaced or added by extra, e.g.
// `"hours":"2"`.
func apiEntryJSON(id, client, date, amount string, extra ...string) string {
	fields := []string{}
	if id != "" {
		fields = append(fields, fmt.Sprintf(`"id":%q`, id))
	}
	fields = append(fields, fmt.Sprintf(`"client":%q`, client), fmt.Sprintf(`"date":%q`, date))
	if amount != "" {
		fields = append(fields, amount)
	}
	fields = append(fields, `"billable":true`, `"project":"Website"`, `"task":"Design"`, `"notes":"from the API"`, `"user":"ada"`)
	return "{" + strings.Join(append(fields, extra...), ",") + "}"
}

func TestAPIEntries(t *testing.T) {
	f := newFixture(t)
	acme := "Acme <script>alert(1)</script>"
	first := apiEntryJSON("tt-1", acme, "2026-03-02", `"hours":"1.5"`)
	second := apiEntryJSON("tt-2", "Globex", "2026-03-03", `"seconds":5400`)

	// usedInMarch returns hours_used per contract in the API's status.
	usedInMarch := func() map[string]string {
		t.Helper()
		_, body := apiCall(t, f, "GET", "/api/v1/status?month=2026-03", apiBearer, "", "")
		var obj report.StatusObject
		if err := json.Unmarshal(body, &obj); err != nil {
			t.Fatal(err)
		}
		used := map[string]string{}
		for _, c := range obj.Contracts {
			used[c.ContractID] = c.Used.String()
		}
		return used
	}
	if got := usedInMarch(); got["acme"] != "30.00" || got["globex"] != "5.00" {
		t.Fatalf("before: %v", got)
	}

	for _, step := range []struct {
		name string
		body string
		want apiEntriesResult
	}{
		{"new", apiEntriesBody(first, second), apiEntriesResult{Imported: 2}},
		{"the same again", apiEntriesBody(first, second), apiEntriesResult{Unchanged: 2}},
		{"hours changed", apiEntriesBody(apiEntryJSON("tt-1", acme, "2026-03-02", `"hours":"2:30"`), second), apiEntriesResult{Updated: 1, Unchanged: 1}},
		{"unmatched client", apiEntriesBody(apiEntryJSON("tt-3", "Hooli", "2026-03-05", `"hours":"2h"`)), apiEntriesResult{Imported: 1, Unmatched: 1}},
		{"nothing", apiEntriesBody(), apiEntriesResult{}},
	} {
		resp, body := apiPostEntries(t, f, step.body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", step.name, resp.StatusCode, body)
		}
		var got apiEntriesResult
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Rejected == nil || len(got.Rejected) != 0 {
			t.Errorf("%s: rejected %s, want []", step.name, body)
		}
		got.Rejected = nil
		if fmt.Sprint(got) != fmt.Sprint(step.want) {
			t.Errorf("%s: %s, want %+v", step.name, body, step.want)
		}
	}
	// 30 h + 2:30, and 5 h + 1.5 h.
	if got := usedInMarch(); got["acme"] != "32.50" || got["globex"] != "6.50" {
		t.Errorf("after: %v", got)
	}

	// An invalid entry rejects the whole request: nothing is stored.
	before := apiWantStatus(t, f, f.env.Rules, billing.NewPeriod(2026, time.March))
	fresh := apiEntryJSON("tt-new", "Globex", "2026-03-06", `"hours":"1"`)
	for _, tc := range []struct {
		name   string
		bad    string
		reason string
	}{
		{"bad date", apiEntryJSON("tt-9", "Globex", "2026-02-30", `"hours":"1"`), "date: "},
		{"slashed date", apiEntryJSON("tt-9", "Globex", "03/06/2026", `"hours":"1"`), "date: "},
		{"no date", `{"id":"tt-9","client":"Globex","hours":"1"}`, "date: required"},
		{"missing id", apiEntryJSON("", "Globex", "2026-03-06", `"hours":"1"`), "id: required"},
		{"blank id", apiEntryJSON(" ", "Globex", "2026-03-06", `"hours":"1"`), "id: required"},
		{"long id", apiEntryJSON(strings.Repeat("x", 256), "Globex", "2026-03-06", `"hours":"1"`), "id: longer"},
		{"duplicate id", apiEntryJSON("tt-new", "Globex", "2026-03-07", `"hours":"1"`), `id "tt-new": also the id of entry 0`},
		{"hours and seconds", apiEntryJSON("tt-9", "Globex", "2026-03-06", `"hours":"1","seconds":3600`), "give hours or seconds, not both"},
		{"no amount", apiEntryJSON("tt-9", "Globex", "2026-03-06", ""), "hours or seconds: required"},
		{"negative hours", apiEntryJSON("tt-9", "Globex", "2026-03-06", `"hours":"-1.5"`), "hours \"-1.5\": must be more than zero"},
		{"zero hours", apiEntryJSON("tt-9", "Globex", "2026-03-06", `"hours":"0:00"`), "must be more than zero"},
		{"negative seconds", apiEntryJSON("tt-9", "Globex", "2026-03-06", `"seconds":-60`), "seconds -60: must be more than zero"},
		{"zero seconds", apiEntryJSON("tt-9", "Globex", "2026-03-06", `"seconds":0`), "seconds 0: must be more than zero"},
		{"unparsable hours", apiEntryJSON("tt-9", "Globex", "2026-03-06", `"hours":"two"`), `hours: amount "two": want decimal hours`},
		{"huge hours", apiEntryJSON("tt-9", "Globex", "2026-03-06", `"hours":"99999999999"`), "more than a month of hours"},
		{"huge seconds", apiEntryJSON("tt-9", "Globex", "2026-03-06", `"seconds":99999999999999`), "more than a month of hours"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := apiPostEntries(t, f, apiEntriesBody(fresh, tc.bad))
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			var got apiEntriesResult
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Rejected) != 1 || got.Rejected[0].Index != 1 || !strings.Contains(got.Rejected[0].Reason, tc.reason) {
				t.Errorf("rejected %s, want index 1 with %q", body, tc.reason)
			}
			if got.Imported+got.Updated+got.Unchanged+got.Unmatched != 0 {
				t.Errorf("counts in %s", body)
			}
		})
	}
	if after := apiWantStatus(t, f, f.env.Rules, billing.NewPeriod(2026, time.March)); !bytes.Equal(before, after) {
		t.Errorf("a rejected request changed the status:\n%s\nwas\n%s", after, before)
	}
	// Every bad entry is listed, each once.
	resp, body := apiPostEntries(t, f, apiEntriesBody(
		apiEntryJSON("", "Globex", "x", `"seconds":1`), fresh, apiEntryJSON("tt-9", "Globex", "2026-03-06", `"hours":"-1"`)))
	var got apiEntriesResult
	if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 422 || len(got.Rejected) != 2 ||
		got.Rejected[0].Index != 0 || got.Rejected[1].Index != 2 ||
		!strings.Contains(got.Rejected[0].Reason, "id: required") || !strings.Contains(got.Rejected[0].Reason, "date: ") {
		t.Errorf("several bad entries: %d %s", resp.StatusCode, body)
	}
	// The fresh entry of the rejected requests was never stored.
	if resp, body := apiPostEntries(t, f, apiEntriesBody(fresh)); resp.StatusCode != 200 || !strings.HasPrefix(string(body), `{"imported":1,`) {
		t.Errorf("fresh entry afterwards: %d %s", resp.StatusCode, body)
	}

	// Imported and updated entries are counted; the request outcomes too.
	families := scrape(t, f.srv.URL)
	if m := find(families, "retainer_entries_imported_total"); m == nil || m.GetCounter().GetValue() != 5 {
		t.Errorf("retainer_entries_imported_total = %v, want 5 (2 + 1 updated + 1 + 1)", m)
	}
	for outcome, want := range map[string]float64{"ok": 8, "bad_request": 17} {
		if m := find(families, "retainer_http_requests_total", "area", "api", "outcome", outcome); m == nil || m.GetCounter().GetValue() != want {
			t.Errorf("api %s requests = %v, want %v", outcome, m, want)
		}
	}
}

func TestAPIEntriesBadRequests(t *testing.T) {
	f := newFixture(t)
	ok := apiEntriesBody(apiEntryJSON("tt-1", "Globex", "2026-03-02", `"hours":"1"`))
	tooMany := make([]string, maxAPIEntries+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf(`{"id":"%d","date":"2026-03-02","seconds":60}`, i)
	}
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		prefix                  string
	}{
		{"no content type", "", ok, 415, "content type must be application/json"},
		{"text", "text/plain", ok, 415, "content type must be application/json"},
		{"form", "application/x-www-form-urlencoded", ok, 415, "content type must be application/json"},
		{"unknown entry field", "application/json", apiEntriesBody(apiEntryJSON("tt-1", "Globex", "2026-03-02", `"hours":"1"`, `"minutes":3`)), 400, `body: unknown field "minutes"`},
		{"unknown top field", "application/json", `{"entries":[],"dry_run":true}`, 400, `body: unknown field "dry_run"`},
		{"hours as a number", "application/json", apiEntriesBody(`{"id":"a","date":"2026-03-02","hours":1.5}`), 400, "entries.hours: want a string"},
		{"fractional seconds", "application/json", apiEntriesBody(`{"id":"a","date":"2026-03-02","seconds":1.5}`), 400, "entries.seconds: want an integer"},
		{"not an object", "application/json", `[1,2]`, 400, "body: want an object"},
		{"empty", "application/json", ``, 400, "body: empty"},
		{"no entries", "application/json", `{}`, 400, `body: want {"entries": [...]}`},
		{"truncated", "application/json", `{"entries":[`, 400, "body: the JSON ends too early"},
		{"syntax", "application/json", `{"entries":[}`, 400, "body: invalid JSON at byte"},
		{"trailing data", "application/json", ok + `{"entries":[]}`, 400, "body: unexpected data after the JSON object"},
		{"too many entries", "application/json", apiEntriesBody(tooMany...), 413, "10001 entries: at most 10000 in one request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := apiCall(t, f, "POST", "/api/v1/entries", apiBearer, tc.contentType, tc.body)
			apiWantError(t, resp, body, tc.status, tc.prefix)
		})
	}
	// A JSON content type with parameters is fine.
	if resp, body := apiCall(t, f, "POST", "/api/v1/entries", apiBearer, "application/json; charset=utf-8", ok); resp.StatusCode != 200 {
		t.Errorf("with charset: %d %s", resp.StatusCode, body)
	}

	// A body past the 8 MiB limit is refused before it is all read. (Straight
	// to the handler: over the network the client may see the connection
	// close before the answer.)
	big := apiEntriesBody(apiEntryJSON("tt-big", "Globex", "2026-03-02", `"hours":"1"`, `"project_code":"`+strings.Repeat("x", maxEntriesBody)+`"`))
	rec := apiServe(f.srv.Config.Handler, "POST", "/api/v1/entries", apiBearer, "application/json", big)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.HasPrefix(rec.Body.String(), `{"error":"body: larger than 8388608 bytes"}`) {
		t.Errorf("oversized body: %d %s", rec.Code, rec.Body)
	}
	// Just under the limit is read.
	fits := apiEntriesBody(apiEntryJSON("tt-big", "Globex", "2026-03-02", `"hours":"1"`, `"notes":"`+strings.Repeat("x", maxEntriesBody-200)+`"`))
	if rec := apiServe(f.srv.Config.Handler, "POST", "/api/v1/entries", apiBearer, "application/json", fits); rec.Code != http.StatusOK {
		t.Errorf("a body just under the limit: %d %.200s", rec.Code, rec.Body)
	}

	// Other methods and paths under /api/ answer in JSON too.
	for _, tc := range []struct {
		method, path string
		status       int
		prefix       string
		allow        string
	}{
		{"GET", "/api/v1/entries", 405, "method GET not allowed: use POST", "POST"},
		{"POST", "/api/v1/status", 405, "method POST not allowed", "GET, HEAD"},
		{"GET", "/api/v1/statements/2026-02", 404, "not found", ""},
		{"GET", "/api/v2/status", 404, "not found", ""},
	} {
		resp, body := apiCall(t, f, tc.method, tc.path, apiBearer, "application/json", "{}")
		apiWantError(t, resp, body, tc.status, tc.prefix)
		if got := resp.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, got)
		}
	}
}

func TestAPIRateLimit(t *testing.T) {
	f := newFixture(t)
	h := f.srv.Config.Handler // from 192.0.2.1: its own bucket
	n := 0
	for ; n < 1000; n++ {
		if rec := apiServe(h, "GET", "/api/v1/statements", "Bearer wrong", "", ""); rec.Code != http.StatusUnauthorized {
			break
		}
	}
	if n != 200 {
		t.Fatalf("%d guesses before the limit, want the burst of 200", n)
	}
	// Limited before the token is looked at: a valid one waits too.
	rec := apiServe(h, "GET", "/api/v1/statements", apiBearer, "", "")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" ||
		rec.Body.String() != `{"error":"too many requests"}`+"\n" {
		t.Errorf("over the limit: %d %v %q", rec.Code, rec.Header(), rec.Body)
	}
	// Another client is not limited.
	if resp, body := apiCall(t, f, "GET", "/api/v1/statements", apiBearer, "", ""); resp.StatusCode != 200 {
		t.Errorf("another client: %d %s", resp.StatusCode, body)
	}
	f.advance(time.Second) // 20 tokens back
	if rec := apiServe(h, "GET", "/api/v1/statements", apiBearer, "", ""); rec.Code != http.StatusOK {
		t.Errorf("a second later: %d %s", rec.Code, rec.Body)
	}
	if m := find(scrape(t, f.srv.URL), "retainer_http_requests_total", "area", "api", "outcome", "limited"); m == nil || m.GetCounter().GetValue() != 2 {
		t.Errorf("limited requests: %v", m)
	}
}

func TestAPIInternalError(t *testing.T) {
	f := newFixture(t)
	log := &logBuffer{}
	h := f.apiServerWith(t, f.env.Config, log)
	f.env.DB.Close()
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/api/v1/status", ""},
		{"GET", "/api/v1/statements", ""},
		{"POST", "/api/v1/entries", apiEntriesBody(apiEntryJSON("tt-1", "Globex", "2026-03-02", `"hours":"1"`))},
	} {
		rec := apiServe(h, tc.method, tc.path, apiBearer, "application/json", tc.body)
		if rec.Code != http.StatusInternalServerError || rec.Body.String() != `{"error":"internal error"}`+"\n" {
			t.Errorf("%s %s with the database closed: %d %q", tc.method, tc.path, rec.Code, rec.Body)
		}
	}
	if logs := log.String(); strings.Count(logs, "api request failed") != 3 || !strings.Contains(logs, "closed") {
		t.Errorf("log:\n%s", logs)
	}
}
