package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/jobs"
	"retainer/store"
)

// portalResponse is one answer of the portal.
type portalResponse struct {
	status int
	header http.Header
	body   string
}

// portalGet requests path from the fixture's server, one second after the
// previous request so that the portal's rate limit (2 a second) never bites;
// TestPortalRateLimit tests it.
func portalGet(t *testing.T, f *fixture, path string) portalResponse {
	t.Helper()
	f.advance(time.Second)
	return portalFetch(t, f, path)
}

// portalFetch requests path without moving the clock.
func portalFetch(t *testing.T, f *fixture, path string) portalResponse {
	t.Helper()
	resp, err := f.client().Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return portalResponse{resp.StatusCode, resp.Header, string(body)}
}

// portalLink rotates contract id's token and returns its portal path.
func portalLink(t *testing.T, f *fixture, id string) string {
	t.Helper()
	token, err := f.env.DB.RotatePortalToken(context.Background(), id, f.clock())
	if err != nil {
		t.Fatal(err)
	}
	return "/p/" + token
}

// portalSwapConfig gives the server a config changed by edit, over the same
// database, as a reload would.
func portalSwapConfig(t *testing.T, f *fixture, edit func(cfg *config.Config)) {
	t.Helper()
	cfg := *f.env.Config
	cfg.Contracts = nil
	for _, c := range f.env.Config.Contracts {
		c := *c
		cfg.Contracts = append(cfg.Contracts, &c)
	}
	edit(&cfg)
	env, err := jobs.NewEnv(context.Background(), &cfg, f.env.DB, f.clock())
	if err != nil {
		t.Fatal(err)
	}
	f.env = env
}

// portalFigure is how the page shows one figure: its value carries an id
// (the label in lower case, up to a space) for scripts that read the page.
func portalFigure(label, value string) string {
	id, _, _ := strings.Cut(strings.ToLower(label), " ")
	return `<div class="label">` + label + `</div><div class="value" id="` + id + `">` + value + `</div>`
}

func TestPortalPage(t *testing.T) {
	f := newFixture(t)
	portalSwapConfig(t, f, func(cfg *config.Config) {
		for _, c := range cfg.Contracts {
			c.PortalEntries = true
		}
	})
	acme, globex := portalLink(t, f, "acme"), portalLink(t, f, "globex")

	tests := []struct {
		name    string
		path    string
		entries bool // portal_entries of both contracts
		want    []string
		notWant []string
	}{
		{
			name: "acme", path: acme, entries: true,
			want: []string{
				"<h1>Acme &lt;script&gt;alert(1)&lt;/script&gt;</h1>",
				"<title>Acme &lt;script&gt;alert(1)&lt;/script&gt; — March 2026 · Northwind Studio</title>",
				"as of 2026-03-20",
				// SPEC §4's worked example, with 30 h used by the 20th of March.
				portalFigure("Contracted", "40.00"), portalFigure("Banked (rollover in)", "3.00"),
				portalFigure("Available", "43.00"), portalFigure("Used", "30.00"),
				portalFigure("Remaining", "13.00"), portalFigure("Utilization", "69.8%"),
				portalFigure("Projected by month end", "44.00"),
				`<div class="chart" role="img"`, `<svg xmlns="http://www.w3.org/2000/svg" width="480pt" height="240pt" viewBox="0 0 480 240"`,
				"Burndown, March 2026",
				`<td>2026-03-02 – 2026-03-08</td><td class="num">30.00</td><td class="num">30.00</td><td class="num">13.00</td>`,
				"&lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt;",
				"Work this month", `<td>Website</td>`,
				`<a href="` + acme + `/statements/2026-02">acme-2026-02</a></td><td><a href="` + acme + `/months/2026-02">February 2026</a></td><td class="num">USD 5,000.00</td><td>2026-03-16</td><td>pending</td>`,
				`<a href="` + acme + `/statements/2026-01">acme-2026-01</a>`,
			},
			notWant: []string{"Globex", "globex", "GLOBEX-SECRET-NOTE", "Support", portalFigure("Contracted", "20.00"), globex[3:],
				`<div class="label">Overage`, "<b>bold</b>"},
		},
		{
			name: "globex", path: globex, entries: true,
			want: []string{
				"<h1>Globex</h1>",
				portalFigure("Contracted", "20.00"), portalFigure("Banked (rollover in)", "0.00"),
				portalFigure("Used", "5.00"), portalFigure("Remaining", "15.00"), portalFigure("Utilization", "25.0%"),
				portalFigure("Projected by month end", "7.33"),
				"<svg ", "Work this month", `<td>Support</td>`,
				`<a href="` + globex + `/statements/2026-02">globex-2026-02</a></td><td><a href="` + globex + `/months/2026-02">February 2026</a></td><td class="num">USD 2,800.00</td>`,
			},
			notWant: []string{"Acme", "acme", "Website", "alert(", portalFigure("Contracted", "40.00"), acme[3:], "<h2>Note</h2>"},
		},
		{
			name: "acme without portal_entries", path: acme,
			want:    []string{portalFigure("Remaining", "13.00"), "<svg "},
			notWant: []string{"Work this month", "Website", "Globex"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			portalSwapConfig(t, f, func(cfg *config.Config) {
				for _, c := range cfg.Contracts {
					c.PortalEntries = tt.entries
				}
			})
			r := portalGet(t, f, tt.path)
			if r.status != http.StatusOK {
				t.Fatalf("GET = %d\n%s", r.status, r.body)
			}
			for k, v := range map[string]string{
				"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
				"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
			} {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
				t.Errorf("CSP %q", csp)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(r.body, w) {
					t.Errorf("page holds %q", w)
				}
			}
			// The page runs nothing: no script element, no handler
			// attribute, no javascript: URL — escaped names and notes
			// included.
			if m := regexp.MustCompile(`(?i)<script|\son[a-z]+=|javascript:`).FindString(r.body); m != "" {
				t.Errorf("page holds %q", m)
			}
			if t.Failed() {
				t.Logf("body:\n%s", r.body)
			}
		})
	}
}

// TestPortalNotFound: every token or path that does not lead to a page of
// the token's own contract answers exactly as an unknown path does.
func TestPortalNotFound(t *testing.T) {
	f := newFixture(t)
	log, logs := newLogger()
	f.s.Log = log
	old := portalLink(t, f, "acme")
	acme := portalLink(t, f, "acme") // rotates: old stops working
	globex := portalLink(t, f, "globex")

	ref := portalGet(t, f, "/nonexistent")
	if ref.status != http.StatusNotFound {
		t.Fatalf("GET /nonexistent = %d", ref.status)
	}
	same := func(t *testing.T, path string) {
		t.Helper()
		r := portalGet(t, f, path)
		if r.status != ref.status || r.body != ref.body {
			t.Errorf("GET %s = %d %q, want %d %q", path, r.status, r.body, ref.status, ref.body)
		}
		for _, k := range []string{"Content-Type", "Cache-Control", "X-Robots-Tag", "Content-Security-Policy", "X-Content-Type-Options", "Retry-After"} {
			if r.header.Get(k) != ref.header.Get(k) {
				t.Errorf("GET %s: %s %q, want %q", path, k, r.header.Get(k), ref.header.Get(k))
			}
		}
	}
	for _, tt := range []struct{ name, path string }{
		{"wrong token", "/p/" + strings.Repeat("A", 43)},
		{"short token", "/p/x"},
		{"rotated token", old},
		{"rotated token, statement", old + "/statements/2026-02"},
		{"wrong token, statement", "/p/nope/statements/2026-02"},
		{"trailing slash", acme + "/"},
		{"open month", acme + "/statements/2026-03"},
		{"month before any statement", acme + "/statements/2025-12"},
		{"month not YYYY-MM", acme + "/statements/2026-2"},
		{"month 13", acme + "/statements/2026-13"},
		{"another contract's invoice number", acme + "/statements/globex-2026-02"},
		{"statements list", acme + "/statements"},
		{"nested", acme + "/statements/2026-02/x"},
	} {
		t.Run(tt.name, func(t *testing.T) { same(t, tt.path) })
	}

	// A contract no longer in the config: its link dies with it, the other
	// contract's keeps working.
	t.Run("contract removed from config", func(t *testing.T) {
		portalSwapConfig(t, f, func(cfg *config.Config) {
			cfg.Contracts = cfg.Contracts[1:] // globex only
		})
		same(t, acme)
		same(t, acme+"/statements/2026-02")
		if r := portalGet(t, f, globex); r.status != http.StatusOK {
			t.Errorf("globex after acme left: %d", r.status)
		}
	})

	if strings.Contains(logs.String(), acme[3:]) || strings.Contains(logs.String(), old[3:]) {
		t.Errorf("a token reached the log:\n%s", logs)
	}
}

func TestPortalStatement(t *testing.T) {
	f := newFixture(t)
	acme, globex := portalLink(t, f, "acme"), portalLink(t, f, "globex")
	tests := []struct {
		name, path string
		want       []string
		notWant    []string
	}{
		{"acme February", acme + "/statements/2026-02",
			[]string{"Statement acme-2026-02", "Acme &lt;script&gt;alert(1)&lt;/script&gt;", "February 2026",
				"Issued 2026-03-01", "<strong>2026-03-16</strong>", "USD 5,000.00", "In: earned 2026-01"},
			[]string{"Globex", "globex", "(preview)"}},
		{"acme January", acme + "/statements/2026-01",
			[]string{"Statement acme-2026-01", "January 2026"},
			[]string{"Globex", "acme-2026-02"}},
		{"globex February", globex + "/statements/2026-02",
			[]string{"Statement globex-2026-02", "Globex", "USD 2,800.00", "(not billable)"},
			[]string{"Acme", "acme", "alert("}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := portalGet(t, f, tt.path)
			if r.status != http.StatusOK {
				t.Fatalf("GET = %d\n%s", r.status, r.body)
			}
			if ct, cc := r.header.Get("Content-Type"), r.header.Get("Cache-Control"); ct != "text/html; charset=utf-8" || cc != "no-store" {
				t.Errorf("Content-Type %q, Cache-Control %q", ct, cc)
			}
			// The email's HTML is styled by attributes: its policy allows
			// inline style and data: images, and still no script at all.
			csp := r.header.Get("Content-Security-Policy")
			for _, w := range []string{"default-src 'none'", "img-src data:", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, w) {
					t.Errorf("CSP %q lacks %q", csp, w)
				}
			}
			if strings.Contains(csp, "script") {
				t.Errorf("CSP %q names scripts", csp)
			}
			if !strings.HasPrefix(r.body, "<!DOCTYPE html>") {
				t.Errorf("not a document of its own: %.60q", r.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("statement lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(r.body, w) {
					t.Errorf("statement holds %q", w)
				}
			}
			if strings.Contains(strings.ToLower(r.body), "<script") || strings.Contains(r.body, "cid:") {
				t.Error("statement holds a script or a cid: reference")
			}
			// The chart is the email's PNG, inline.
			m := regexp.MustCompile(`<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"`).FindStringSubmatch(r.body)
			if m == nil {
				t.Fatal("no inline chart")
			}
			raw, err := base64.StdEncoding.DecodeString(m[1])
			if err != nil {
				t.Fatal(err)
			}
			if img, err := png.Decode(bytes.NewReader(raw)); err != nil || img.Bounds().Dx() != 640 {
				t.Errorf("chart: %v", err)
			}
		})
	}
}

// TestPortalRateLimit: a burst of 60 portal requests from one address, then
// 429 — before the token is even looked up — until time refills the bucket.
func TestPortalRateLimit(t *testing.T) {
	f := newFixture(t)
	acme := portalLink(t, f, "acme")
	for i := 0; i < 60; i++ {
		path := "/p/guess" + string(rune('a'+i%26))
		if i%2 == 0 {
			path = acme
		}
		if r := portalFetch(t, f, path); r.status == http.StatusTooManyRequests {
			t.Fatalf("request %d limited", i+1)
		}
	}
	for _, path := range []string{"/p/guess", acme, acme + "/statements/2026-02"} {
		r := portalFetch(t, f, path)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Errorf("GET %s after the burst = %d, Retry-After %q; want 429", path, r.status, r.header.Get("Retry-After"))
		}
	}
	// Other areas have limits of their own.
	if r := portalFetch(t, f, "/healthz"); r.status != http.StatusOK {
		t.Errorf("/healthz = %d", r.status)
	}
	f.advance(time.Second) // two more
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
		if r := portalFetch(t, f, acme); r.status != want {
			t.Errorf("request %d after a second = %d, want %d", i+1, r.status, want)
		}
	}
	if got := portalCount(t, f, "limited"); got != 4 {
		t.Errorf("limited = %d, want 4", got)
	}
}

// portalCount scrapes the fixture's metrics for the portal's count of
// outcome.
func portalCount(t *testing.T, f *fixture, outcome string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	f.s.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	re := regexp.MustCompile(`(?m)^retainer_http_requests_total\{area="portal",outcome="` + outcome + `"\} (\d+)$`)
	m := re.FindStringSubmatch(rec.Body.String())
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPortalMetrics(t *testing.T) {
	f := newFixture(t)
	acme := portalLink(t, f, "acme")
	for _, path := range []string{acme, acme + "/statements/2026-02", "/p/nope", acme + "/statements/2026-03", "/p/nope/statements/2026-02"} {
		portalGet(t, f, path)
	}
	portalGet(t, f, "/nonexistent") // not the portal's
	for outcome, want := range map[string]int{"ok": 2, "not_found": 3, "limited": 0, "error": 0} {
		if got := portalCount(t, f, outcome); got != want {
			t.Errorf("portal %s = %d, want %d", outcome, got, want)
		}
	}
}

// TestPortalInternalError: a failing database is a plain 500, counted, and
// logged without the token.
func TestPortalInternalError(t *testing.T) {
	f := newFixture(t)
	log, logs := newLogger()
	f.s.Log = log
	acme := portalLink(t, f, "acme")
	f.env.DB.Close()
	r := portalGet(t, f, acme)
	if r.status != http.StatusInternalServerError || r.body != "internal error\n" {
		t.Errorf("GET = %d %q", r.status, r.body)
	}
	if !strings.Contains(logs.String(), "portal") || strings.Contains(logs.String(), acme[3:]) {
		t.Errorf("log:\n%s", logs)
	}
	if got := portalCount(t, f, "error"); got != 1 {
		t.Errorf("error = %d, want 1", got)
	}
}

// TestPortalOverage: SPEC §4's worked example for March — 45 h used of 43
// available — shows the overage and its fee.
func TestPortalOverage(t *testing.T) {
	f := newFixture(t)
	more := store.Entry{Source: "log", Client: "Acme <script>alert(1)</script>", Date: billing.DateOf(2026, time.March, 10),
		Seconds: 15 * 3600, Billable: true, Project: "Website", User: "ada"}
	if err := f.env.DB.AddEntries(context.Background(), f.env.Rules, []store.Entry{more}, f.clock()); err != nil {
		t.Fatal(err)
	}
	r := portalGet(t, f, portalLink(t, f, "acme"))
	for _, w := range []string{
		portalFigure("Used", "45.00"), portalFigure("Remaining", "0.00"), portalFigure("Utilization", "104.7%"),
		`<div class="label">Overage</div><div class="value over" id="overage">2.00</div>`,
		`<div class="value over" id="overage-fee">USD 350.00</div>`,
	} {
		if !strings.Contains(r.body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

// A past month has its own portal page — figures, burndown, work,
// decisions, no forms — linked from the month before and after it and from
// its statement's row; the current month and months outside the
// contract's life are not past months (404).
func TestPortalPastMonths(t *testing.T) {
	f := newFixture(t)
	portalSwapConfig(t, f, func(cfg *config.Config) {
		for _, c := range cfg.Contracts {
			c.PortalEntries = true
		}
	})
	acme, globex := portalLink(t, f, "acme"), portalLink(t, f, "globex")

	cur := portalGet(t, f, acme)
	for _, want := range []string{
		`<a href="` + acme + `/months/2026-02" id="prev-month">← 2026-02</a>`,
		`<td><a href="` + acme + `/months/2026-02">February 2026</a></td>`,
		`id="approve-overage"`, "Work this month",
	} {
		if !strings.Contains(cur.body, want) {
			t.Errorf("current month's page lacks %q", want)
		}
	}

	feb := portalGet(t, f, acme+"/months/2026-02")
	if feb.status != http.StatusOK {
		t.Fatalf("GET February = %d\n%s", feb.status, feb.body)
	}
	for _, want := range []string{
		"<title>Acme &lt;script&gt;alert(1)&lt;/script&gt; — February 2026 · Northwind Studio</title>",
		"Burndown, February 2026", "Work in February 2026", "No decisions in February 2026.",
		`<a href="` + acme + `/months/2026-01" id="prev-month">← 2026-01</a>`,
		`<a href="` + acme + `" id="next-month">2026-03 →</a>`,
		`<a href="` + acme + `" id="current-month">March 2026</a>`,
		`<a href="` + acme + `/statements/2026-02">acme-2026-02</a>`,
	} {
		if !strings.Contains(feb.body, want) {
			t.Errorf("February's page lacks %q", want)
		}
	}
	for _, notWant := range []string{`id="approve-overage"`, `id="request-change"`, `id="pause"`, "Globex", "still open"} {
		if strings.Contains(feb.body, notWant) {
			t.Errorf("February's page has %q", notWant)
		}
	}
	if jan := portalGet(t, f, acme+"/months/2026-01"); jan.status != http.StatusOK ||
		!strings.Contains(jan.body, `<a href="`+acme+`/months/2026-02" id="next-month">2026-02 →</a>`) {
		t.Errorf("January: %d, or no link to February", jan.status)
	}
	if g := portalGet(t, f, globex+"/months/2026-02"); g.status != http.StatusOK || strings.Contains(g.body, "Acme") ||
		!strings.Contains(g.body, "<h1>Globex</h1>") {
		t.Errorf("globex February: %d", g.status)
	}

	for _, path := range []string{
		acme + "/months/2026-03", // the current month lives at /p/<token>
		acme + "/months/2026-04", // the future
		acme + "/months/2025-06", // before the contract's first month
		acme + "/months/2026-2", acme + "/months/february", acme + "/months/",
		"/p/" + strings.Repeat("0", 32) + "/months/2026-02",
	} {
		if r := portalGet(t, f, path); r.status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, r.status)
		}
	}
}
