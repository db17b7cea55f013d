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

// A statement under review (statements.review) is a draft: the dashboard
// shows it with an Approve button (CSRF-protected), the client's portal
// does not show it at all; approving issues it today and queues its email,
// once.
func TestDashboardApprovesDraftPortalHidesIt(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	db := f.env.DB
	ny := f.env.Config.Location
	f.mu.Lock()
	f.now = time.Date(2026, 4, 2, 10, 0, 0, 0, ny)
	f.mu.Unlock()
	march := billing.NewPeriod(2026, time.March)
	if _, err := db.CloseWith(ctx, f.env.Rules, march, store.CloseOptions{Currency: "USD", Location: ny, Review: true}, f.clock()); err != nil {
		t.Fatal(err)
	}
	const invoice = "acme-2026-03"
	queued := func() bool {
		done, err := db.Queued(ctx, []string{store.StatementMessageKey("acme", march)})
		if err != nil {
			t.Fatal(err)
		}
		return done[store.StatementMessageKey("acme", march)]
	}
	if queued() {
		t.Fatal("a draft's email was queued at the close")
	}

	link := portalLink(t, f, "acme")
	if p := portalGet(t, f, link); p.status != http.StatusOK || strings.Contains(p.body, invoice) {
		t.Errorf("the portal lists the draft (%d)", p.status)
	}
	if p := portalGet(t, f, link+"/statements/2026-03"); p.status != http.StatusNotFound {
		t.Errorf("the portal serves the draft: %d", p.status)
	}

	c, csrf := dashLoggedIn(t, f)
	page := dashGet(t, f, c, "/statements").body
	for _, want := range []string{`action="/statements/` + invoice + `/approve"`, `name="month" value="2026-03"`, "2 drafts of 2026-03"} {
		if !strings.Contains(page, want) {
			t.Errorf("/statements lacks %q", want)
		}
	}
	path := "/statements/" + invoice + "/approve"
	for _, form := range []url.Values{{}, {"csrf": {csrf + "x"}}} {
		if resp := dashPost(t, f, c, path, form); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("approve with csrf %q: %d, want 403", form.Get("csrf"), resp.StatusCode)
		}
	}
	if queued() {
		t.Fatal("a refused approval queued the email")
	}
	resp := dashPost(t, f, c, path, url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/statements?approved="+invoice {
		t.Fatalf("approve: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	st, err := db.StatementByInvoice(ctx, invoice)
	if err != nil {
		t.Fatal(err)
	}
	today := billing.DateAt(f.clock(), ny)
	if st.Status != store.StatusPending || st.IssuedOn != today || st.DueOn != today+15 || !queued() {
		t.Errorf("after approval: %+v, queued %v", st, queued())
	}
	// Twice changes nothing; the other draft stays a draft.
	resp = dashPost(t, f, c, path, url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/statements?approved=" {
		t.Errorf("approve again: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if other, _ := db.StatementByInvoice(ctx, "globex-2026-03"); other.Status != store.StatusDraft {
		t.Errorf("globex's draft is %s", other.Status)
	}
	if p := portalGet(t, f, link+"/statements/2026-03"); p.status != http.StatusOK {
		t.Errorf("the approved statement on the portal: %d", p.status)
	}
	// The month's button approves the rest.
	resp = dashPost(t, f, c, "/statements/approve", url.Values{"csrf": {csrf}, "month": {"2026-03"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/statements?approved=globex-2026-03" {
		t.Errorf("approve the month: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// The dashboard says when hours are logged after a contract's end (billed
// at the overage rate) and names the client of hours dated before a
// contract's start (never billed).
func TestDashboardOutsideContractDates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	portalSwapConfig(t, f, func(cfg *config.Config) {
		for _, c := range cfg.Contracts {
			if c.ID == "globex" {
				feb := billing.NewPeriod(2026, time.February)
				c.End = &feb
			}
		}
	})
	if err := f.env.DB.AddEntries(ctx, f.env.Rules, []store.Entry{
		{Source: "log", Client: "Globex", Date: billing.DateOf(2025, 12, 15), Seconds: 3 * 3600, Billable: true},
	}, f.clock()); err != nil {
		t.Fatal(err)
	}
	c, _ := dashLoggedIn(t, f)
	march := dashGet(t, f, c, "/?month=2026-03").body
	if !strings.Contains(march, `<ul id="after-end"><li>globex: 5.00 h logged after the contract ended (2026-02)`) {
		t.Errorf("March does not flag Globex's hours after its end:\n%s", march)
	}
	dec := dashGet(t, f, c, "/?month=2025-12").body
	if !strings.Contains(dec, "<li>Globex: 3.00 h in 1 entry — before the contract starts (globex starts 2026-01): not billed</li>") {
		t.Errorf("December 2025 does not report the hours before Globex's start:\n%s", dec)
	}
}
