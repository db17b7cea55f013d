package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/store"
)

// TestPortalCacheInvalidation: a kept portal page is served again only
// while nothing changed; after a write through each path — in this
// process or another on the same database — a reload of the config, or a
// new day, the next request shows the new figure.
func TestPortalCacheInvalidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	path := portalLink(t, f, "acme")
	march := billing.NewPeriod(2026, time.March)
	logHours := func(db *store.DB, hours int64) error {
		return db.AddEntries(ctx, f.env.Rules, []store.Entry{{Source: "log", Client: "Acme <script>alert(1)</script>",
			Date: billing.DateOf(2026, 3, 5), Seconds: hours * 3600, Billable: true, User: "ada"}}, f.clock())
	}
	if r := portalGet(t, f, path); r.status != http.StatusOK || !strings.Contains(r.body, portalFigure("Used", "30.00")) {
		t.Fatalf("first page: %d, want Used 30.00", r.status)
	}
	for _, tt := range []struct {
		name  string
		write func() error
		want  string
	}{
		{"nothing written: the kept page", func() error { return nil }, portalFigure("Used", "30.00")},
		{"an hour logged", func() error { return logHours(f.env.DB, 2) }, portalFigure("Used", "32.00")},
		{"another process logs", func() error {
			other, err := store.Open(ctx, f.dbPath)
			if err != nil {
				return err
			}
			defer other.Close()
			return logHours(other, 1)
		}, portalFigure("Used", "33.00")},
		{"an entry deleted", func() error {
			var id int64
			err := f.env.DB.EachEntry(ctx, billing.DateOf(2026, 3, 5), billing.DateOf(2026, 3, 5), func(e store.Entry) error {
				if e.Seconds == 3600 {
					id = e.ID
				}
				return nil
			})
			if err != nil {
				return err
			}
			_, err = f.env.DB.DeleteEntry(ctx, id, f.clock())
			return err
		}, portalFigure("Used", "32.00")},
		{"a note", func() error { return f.env.DB.SetNote(ctx, "acme", march, "NEW-NOTE-TEXT", f.clock()) }, "NEW-NOTE-TEXT"},
		{"a config reload", func() error {
			portalSwapConfig(t, f, func(cfg *config.Config) { cfg.Contracts[0].Tier = "RELOADED-TIER" })
			return nil
		}, "RELOADED-TIER"},
		{"a statement paid", func() error {
			_, err := f.env.DB.MarkPaid(ctx, "acme-2026-02", billing.DateOf(2026, 3, 19))
			return err
		}, ">paid<"},
		{"a new day", func() error { f.advance(24 * time.Hour); return nil }, "as of 2026-03-21"},
	} {
		if err := tt.write(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		r := portalGet(t, f, path)
		if r.status != http.StatusOK || !strings.Contains(r.body, tt.want) {
			t.Errorf("%s: %d, the page lacks %s", tt.name, r.status, tt.want)
		}
		// And it is kept: the next request is the same page.
		if again := portalGet(t, f, path); again.status != http.StatusOK || !strings.Contains(again.body, tt.want) {
			t.Errorf("%s, again: %d, the page lacks %s", tt.name, again.status, tt.want)
		}
	}
	if n, _ := f.s.answers.len(); n != 1 {
		t.Errorf("%d answers kept, want the one page", n)
	}
}

// TestPortalCacheForms: a kept page carries fresh form tokens on every
// answer, each of which records its decision once; the headers are those
// of a page drawn anew.
func TestPortalCacheForms(t *testing.T) {
	f := newFixture(t)
	path := portalLink(t, f, "acme")
	first := portalGet(t, f, path)
	second := portalGet(t, f, path)
	third := portalGet(t, f, path)
	if n, _ := f.s.answers.len(); n != 1 {
		t.Fatalf("%d answers kept, want 1", n)
	}
	for _, h := range []string{"Content-Security-Policy", "Content-Type", "Cache-Control", "X-Robots-Tag", "Referrer-Policy", "X-Frame-Options", "X-Content-Type-Options"} {
		if first.header.Get(h) == "" || first.header.Get(h) != second.header.Get(h) {
			t.Errorf("%s: drawn %q, kept %q", h, first.header.Get(h), second.header.Get(h))
		}
	}
	seen := map[string]bool{}
	for _, r := range []portalResponse{first, second, third} {
		for _, id := range []string{"approve-overage", "request-change", "pause"} {
			tok := decisionCSRF(t, r.body, id)
			if seen[tok] {
				t.Errorf("form token %s served twice", tok)
			}
			seen[tok] = true
		}
	}
	if strings.ReplaceAll(second.body, decisionCSRF(t, second.body, "pause"), "") == second.body {
		t.Fatal("no token to cut")
	}
	tok := decisionCSRF(t, third.body, "approve-overage")
	post := func() int {
		return decisionPost(t, f, path+"/approve-overage", url.Values{"csrf": {tok}, "hours": {"5"}}).status
	}
	if got := post(); got != http.StatusSeeOther {
		t.Fatalf("a kept page's form: %d, want 303", got)
	}
	if got := post(); got != http.StatusConflict {
		t.Errorf("the same form again: %d, want 409", got)
	}
	// The decision is a write: the page shows it at once.
	if r := portalGet(t, f, path); !strings.Contains(r.body, `<p id="approval">Overage approved up to 5.00 h (on 2026-03-20)`) {
		t.Errorf("the page after the decision lacks it:\n%s", r.body)
	}
}

// TestPortalCacheNotFound: a rotated token is a 404 on the next request,
// however recently its page was kept; a wrong token is a 404 and is not
// kept; the rate limit still answers 429 to kept pages.
func TestPortalCacheNotFound(t *testing.T) {
	f := newFixture(t)
	path := portalLink(t, f, "acme")
	portalGet(t, f, path)
	portalGet(t, f, path)
	for _, p := range []string{"/p/wrong-token", path + "x", path + "/months/2026-02x"} {
		if r := portalGet(t, f, p); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.status)
		}
	}
	if n, _ := f.s.answers.len(); n != 1 {
		t.Errorf("%d answers kept, want 1", n)
	}
	limited := false
	for range 70 {
		if r := portalFetch(t, f, path); r.status == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("70 kept pages in one second, never a 429")
	}
	f.advance(time.Minute)
	portalLink(t, f, "acme") // rotated
	if r := portalGet(t, f, path); r.status != http.StatusNotFound {
		t.Errorf("the rotated token: %d, want 404", r.status)
	}
}

// TestAPIStatusCache: /api/v1/status is kept per arguments and drawn again
// after a write or a reload.
func TestAPIStatusCache(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	get := func(q string) string {
		t.Helper()
		resp, body := apiCall(t, f, "GET", "/api/v1/status"+q, "Bearer "+testAPIToken, "", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET status%s: %d %s", q, resp.StatusCode, body)
		}
		return string(body)
	}
	march, feb := get(""), get("?month=2026-02")
	if march == feb || get("") != march {
		t.Fatal("the months' answers are mixed up")
	}
	if !strings.Contains(march, `"hours_used":30`) {
		t.Fatalf("March: %s", march)
	}
	err := f.env.DB.AddEntries(ctx, f.env.Rules, []store.Entry{{Source: "log", Client: "Globex",
		Date: billing.DateOf(2026, 3, 5), Seconds: 3600, Billable: true}}, f.clock())
	if err != nil {
		t.Fatal(err)
	}
	if got := get(""); got == march || !strings.Contains(got, `"hours_used":6`) {
		t.Errorf("after an hour logged: %s", got)
	}
	portalSwapConfig(t, f, func(cfg *config.Config) { cfg.Contracts[1].Client = "Globex Reloaded" })
	if got := get(""); !strings.Contains(got, "Globex Reloaded") {
		t.Errorf("after a reload: %s", got)
	}
	if got := get("?contract=acme"); strings.Contains(got, "Globex") {
		t.Errorf("?contract=acme answered with another's: %s", got)
	}
}

// TestAnswerCacheBounded: the cache keeps at most its bytes, dropping the
// least recently used, and only one generation.
func TestAnswerCacheBounded(t *testing.T) {
	c := newAnswerCache(1000)
	gen := cacheGen{version: 1}
	page := func(n int) *cached {
		return &cached{key: cacheKey("k", string(rune('a'+n))), parts: [][]byte{make([]byte, 300)}}
	}
	for i := range 3 {
		c.put(gen, page(i))
	}
	if _, ok := c.get(gen, page(0).key); !ok { // a is now the most recently used
		t.Fatal("a was dropped too soon")
	}
	c.put(gen, page(3))
	if n, b := c.len(); n != 3 || b > 1000 {
		t.Errorf("%d answers of %d bytes, want 3 within 1000", n, b)
	}
	if _, ok := c.get(gen, page(1).key); ok {
		t.Error("b, the least recently used, is still kept")
	}
	for _, i := range []int{0, 2, 3} {
		if _, ok := c.get(gen, page(i).key); !ok {
			t.Errorf("%c dropped", 'a'+i)
		}
	}
	if _, ok := c.get(cacheGen{version: 2}, page(0).key); ok {
		t.Error("an answer of version 1 served at version 2")
	}
	c.put(cacheGen{version: 2}, page(4))
	if n, _ := c.len(); n != 1 {
		t.Errorf("%d answers after a new generation, want 1", n)
	}
	c.put(gen, &cached{key: cacheKey("big"), parts: [][]byte{make([]byte, 2000)}})
	if _, ok := c.get(gen, cacheKey("big")); ok {
		t.Error("an answer larger than the cache is kept")
	}
}
