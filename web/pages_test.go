package web

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"slices"
	"testing"

	"retainer/store"
)

// dashWalk follows a history list's "Older" links from path and returns
// what rowRE matches on each page, in order.
func dashWalk(t *testing.T, f *fixture, path string, rowRE *regexp.Regexp) [][]string {
	t.Helper()
	c, _ := dashLoggedIn(t, f)
	olderRE := regexp.MustCompile(`<a href="([^"]+)" rel="next" id="older">`)
	var pages [][]string
	for next := path; next != ""; {
		resp := dashGet(t, f, c, next)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", next, resp.StatusCode)
		}
		var rows []string
		for _, m := range rowRE.FindAllStringSubmatch(resp.body, -1) {
			rows = append(rows, m[1])
		}
		pages = append(pages, rows)
		if first := len(pages) == 1; first == regexp.MustCompile(`>Newest</a>`).MatchString(resp.body) {
			t.Errorf("GET %s: a link to the newest page on page %d", next, len(pages))
		}
		next = ""
		if m := olderRE.FindStringSubmatch(resp.body); m != nil {
			next = html.UnescapeString(m[1])
		}
		if len(pages) > 20 {
			t.Fatal("no last page")
		}
	}
	return pages
}

// TestDashboardStatementsPaged: /statements shows a page at a time, newest
// first; the Older links walk every statement once, in the order of the
// full list, and the last page has no Older link.
func TestDashboardStatementsPaged(t *testing.T) {
	f := newFixture(t)
	all, err := f.env.DB.Statements(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, st := range all {
		want = append(want, st.InvoiceNumber)
	}
	rowRE := regexp.MustCompile(`<a href="/statements/([^".]+)">`)
	for _, tt := range []struct {
		size  int
		pages []int
	}{
		{1, []int{1, 1, 1, 1}}, {3, []int{3, 1}}, {4, []int{4}}, {0, []int{4}},
	} {
		f.s.PageSize = tt.size
		pages := dashWalk(t, f, "/statements", rowRE)
		var sizes []int
		for _, p := range pages {
			sizes = append(sizes, len(p))
		}
		if !slices.Equal(sizes, tt.pages) {
			t.Errorf("size %d: pages of %v rows, want %v", tt.size, sizes, tt.pages)
		}
		if got := slices.Concat(pages...); !slices.Equal(got, want) {
			t.Errorf("size %d: the pages list %v, want %v", tt.size, got, want)
		}
	}
}

// TestDashboardOutboxPaged: /outbox shows a page at a time, the failed
// message first on the first page; the Older links walk every message once.
func TestDashboardOutboxPaged(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	db := f.env.DB
	all, err := db.Outbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 3 {
		t.Fatalf("the fixture queued %d messages, want 3 or more", len(all))
	}
	oldest := all[len(all)-1]
	claimed, err := db.ClaimDue(ctx, f.clock(), true, 1)
	if err != nil || len(claimed) != 1 || claimed[0].ID != oldest.ID {
		t.Fatalf("claim: %v %v, want message %d", claimed, err, oldest.ID)
	}
	if err := db.Delivered(ctx, oldest.ID, store.OutboxFailed, "smtp", "550 no", f.clock(), f.clock()); err != nil {
		t.Fatal(err)
	}
	want := []string{oldest.Key}
	for _, m := range all[:len(all)-1] {
		want = append(want, m.Key)
	}
	rowRE := regexp.MustCompile(`<tr(?: class="flagged")?>\n<td>([^<]+)</td>`)
	for _, size := range []int{1, 2, len(all), len(all) + 1} {
		f.s.PageSize = size
		pages := dashWalk(t, f, "/outbox", rowRE)
		if got := slices.Concat(pages...); !slices.Equal(got, want) {
			t.Errorf("size %d: the pages list %v, want %v", size, got, want)
		}
		if n := (len(all) + size - 1) / size; len(pages) != n {
			t.Errorf("size %d: %d pages, want %d", size, len(pages), n)
		}
	}
}

// TestDashboardPagesBadCursor: a ?before that no Older link makes is a 400
// that says what it wants.
func TestDashboardPagesBadCursor(t *testing.T) {
	f := newFixture(t)
	c, _ := dashLoggedIn(t, f)
	for _, path := range []string{"/statements?before=acme", "/statements?before=acme-2026-13", "/outbox?before=x", "/outbox?before=-3"} {
		resp := dashGet(t, f, c, path)
		if resp.StatusCode != http.StatusBadRequest || !regexp.MustCompile(`before: want`).MatchString(resp.body) {
			t.Errorf("GET %s: %d %q, want 400 naming before", path, resp.StatusCode, resp.body)
		}
	}
}
