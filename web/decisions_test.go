package web

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// decisionForm reads the csrf field of form id (approve-overage,
// request-change, pause) off a portal page.
func decisionCSRF(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + id + `"[^>]*>[\s\S]*?name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form %s with a csrf field in:\n%s", id, page)
	}
	return m[1]
}

// decisionPost posts form to path, a minute after the last request so that
// neither rate limit bites (TestDecisionRateLimit tests them).
func decisionPost(t *testing.T, f *fixture, path string, form url.Values) portalResponse {
	t.Helper()
	f.advance(decisionEvery * time.Second)
	return decisionPostNow(t, f, path, form)
}

// decisionPostNow posts without moving the clock.
func decisionPostNow(t *testing.T, f *fixture, path string, form url.Values) portalResponse {
	t.Helper()
	resp := dashDo(t, f.client(), http.MethodPost, f.srv.URL+path, form)
	return portalResponse{resp.StatusCode, resp.Header, resp.body}
}

// decisionsOf returns contract id's decisions of March 2026, the
// fixture's month.
func decisionsOf(t *testing.T, f *fixture, id string) []store.Decision {
	t.Helper()
	ds, err := f.env.DB.Decisions(context.Background(), id, billing.NewPeriod(2026, time.March))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestDecisionPosts: what each form accepts, and what is refused — a
// missing, forged or other contract's form token (403), another portal's
// path, bad input (422, the message on the page) — recording nothing.
func TestDecisionPosts(t *testing.T) {
	f := newFixture(t)
	acme, globex := portalLink(t, f, "acme"), portalLink(t, f, "globex")
	acmePage, globexPage := portalGet(t, f, acme).body, portalGet(t, f, globex).body
	// A fresh page for each: every token's nonce is used once.
	acmeTok := func(id string) string { return decisionCSRF(t, portalGet(t, f, acme).body, id) }
	globexTok := decisionCSRF(t, globexPage, "approve-overage")
	forged := base64.RawURLEncoding.EncodeToString(make([]byte, 56))

	tests := []struct {
		name     string
		path     string
		form     url.Values
		status   int
		recorded store.Decision // Kind "": nothing recorded
		body     string         // in the answer
	}{
		{"approve overage", acme + "/approve-overage", url.Values{"csrf": {acmeTok("approve-overage")}, "hours": {"10"}}, http.StatusSeeOther,
			store.Decision{Kind: store.DecisionOverage, Seconds: 10 * 3600}, ""},
		{"ask for more hours", acme + "/request-change", url.Values{"csrf": {acmeTok("request-change")}, "hours": {"55.5"}, "message": {"Launch in April.\r\nThanks!"}},
			http.StatusSeeOther, store.Decision{Kind: store.DecisionChange, Seconds: 55*3600 + 1800, Message: "Launch in April.\nThanks!"}, ""},
		{"pause", acme + "/pause", url.Values{"csrf": {acmeTok("pause")}}, http.StatusSeeOther, store.Decision{Kind: store.DecisionPause}, ""},
		{"no form token", acme + "/approve-overage", url.Values{"hours": {"10"}}, http.StatusForbidden, store.Decision{}, "forbidden"},
		{"a forged form token", acme + "/approve-overage", url.Values{"csrf": {forged}, "hours": {"10"}}, http.StatusForbidden, store.Decision{}, "forbidden"},
		{"globex's form token on acme's portal", acme + "/approve-overage", url.Values{"csrf": {globexTok}, "hours": {"10"}}, http.StatusForbidden, store.Decision{}, "forbidden"},
		{"acme's form token on globex's portal", globex + "/approve-overage", url.Values{"csrf": {decisionCSRF(t, acmePage, "approve-overage")}, "hours": {"10"}},
			http.StatusForbidden, store.Decision{}, "forbidden"},
		{"a form token for another form", acme + "/pause", url.Values{"csrf": {acmeTok("approve-overage")}}, http.StatusSeeOther,
			store.Decision{Kind: store.DecisionPause}, ""}, // the token is the portal's; its nonce is used once, whichever form
		{"an unknown portal", "/p/nope/approve-overage", url.Values{"csrf": {acmeTok("request-change")}, "hours": {"10"}}, http.StatusNotFound, store.Decision{}, ""},
		{"no hours", acme + "/approve-overage", url.Values{"csrf": {acmeTok("request-change")}, "hours": {""}}, http.StatusUnprocessableEntity,
			store.Decision{}, "Enter the number of hours."},
		{"zero hours", acme + "/approve-overage", url.Values{"csrf": {acmeTok("request-change")}, "hours": {"0"}}, http.StatusUnprocessableEntity,
			store.Decision{}, "Enter more than 0 hours."},
		{"negative hours", acme + "/approve-overage", url.Values{"csrf": {acmeTok("request-change")}, "hours": {"-3"}}, http.StatusUnprocessableEntity,
			store.Decision{}, "Enter more than 0 hours."},
		{"not a number", acme + "/approve-overage", url.Values{"csrf": {acmeTok("request-change")}, "hours": {"ten<script>"}}, http.StatusUnprocessableEntity,
			store.Decision{}, "is not a number of hours"},
		{"more than a month of overage", acme + "/approve-overage", url.Values{"csrf": {acmeTok("request-change")}, "hours": {"744.01"}}, http.StatusUnprocessableEntity,
			store.Decision{}, "That is more than 744.00 h"},
		{"the retainer as it is", acme + "/request-change", url.Values{"csrf": {acmeTok("request-change")}, "hours": {"40"}}, http.StatusUnprocessableEntity,
			store.Decision{}, "That is the retainer now (40.00 h a month)"},
		{"a message too long", acme + "/pause", url.Values{"csrf": {acmeTok("request-change")}, "message": {strings.Repeat("x", store.MaxDecisionMessage+1)}},
			http.StatusUnprocessableEntity, store.Decision{}, "at most 2000"},
		{"a message that reads backwards", acme + "/pause", url.Values{"csrf": {acmeTok("request-change")}, "message": {"ok\u202eko"}},
			http.StatusUnprocessableEntity, store.Decision{}, "invisible formatting character (U&#43;202E)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(decisionsOf(t, f, "acme")) + len(decisionsOf(t, f, "globex"))
			resp := decisionPost(t, f, tt.path, tt.form)
			if resp.status != tt.status {
				t.Fatalf("status %d, want %d:\n%s", resp.status, tt.status, resp.body)
			}
			if !strings.Contains(resp.body, tt.body) {
				t.Errorf("answer lacks %q:\n%s", tt.body, resp.body)
			}
			ds := decisionsOf(t, f, "acme")
			after := len(ds) + len(decisionsOf(t, f, "globex"))
			if tt.recorded.Kind == "" {
				if after != before {
					t.Fatalf("%d decisions recorded by a refused post", after-before)
				}
				return
			}
			if after != before+1 {
				t.Fatalf("%d decisions recorded, want 1", after-before)
			}
			got := ds[len(ds)-1]
			if got.Kind != tt.recorded.Kind || got.Seconds != tt.recorded.Seconds || got.Message != tt.recorded.Message ||
				got.On != billing.DateOf(2026, 3, 20) || got.Period != billing.NewPeriod(2026, time.March) {
				t.Fatalf("recorded %+v, want %+v", got, tt.recorded)
			}
			if loc := resp.header.Get("Location"); loc != tt.path[:strings.LastIndex(tt.path, "/")]+"#decisions" {
				t.Errorf("redirected to %q", loc)
			}
			// Queued to the agency (email: the fixture has no Slack) in the same transaction.
			msgs, err := f.env.DB.Outbox(context.Background())
			if err != nil || len(msgs) == 0 || msgs[0].Key != got.Key().String() || msgs[0].To[0] != "owner@northwind.example" {
				t.Fatalf("outbox %+v, %v", msgs, err)
			}
		})
	}
	// A refused input shows the form again with what was typed.
	resp := decisionPost(t, f, acme+"/request-change", url.Values{"csrf": {decisionCSRF(t, portalGet(t, f, acme).body, "request-change")},
		"hours": {"40"}, "message": {"keep <this>"}})
	if !strings.Contains(resp.body, `value="40"`) || !strings.Contains(resp.body, "keep &lt;this&gt;</textarea>") {
		t.Errorf("the refused form lost its values:\n%s", resp.body)
	}
}

// TestDecisionReplay: a form sent twice records once; the second post is
// refused (409) and says the decision is recorded.
func TestDecisionReplay(t *testing.T) {
	f := newFixture(t)
	acme := portalLink(t, f, "acme")
	form := url.Values{"csrf": {decisionCSRF(t, portalGet(t, f, acme).body, "approve-overage")}, "hours": {"5"}}
	if resp := decisionPost(t, f, acme+"/approve-overage", form); resp.status != http.StatusSeeOther {
		t.Fatalf("first post: %d\n%s", resp.status, resp.body)
	}
	resp := decisionPost(t, f, acme+"/approve-overage", form)
	if resp.status != http.StatusConflict || !strings.Contains(resp.body, "That form was sent already") {
		t.Fatalf("replay: %d\n%s", resp.status, resp.body)
	}
	if ds := decisionsOf(t, f, "acme"); len(ds) != 1 {
		t.Fatalf("%d decisions after a replay", len(ds))
	}
	msgs, err := f.env.DB.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if strings.HasPrefix(m.Key, "decision/") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d decision messages after a replay", n)
	}
}

// TestDecisionFormExpiry: a form left open past its time is refused with
// the page shown again, fresh forms and what was typed; a form of a portal
// token rotated since is refused.
func TestDecisionFormExpiry(t *testing.T) {
	f := newFixture(t)
	acme := portalLink(t, f, "acme")
	tok := decisionCSRF(t, portalGet(t, f, acme).body, "approve-overage")
	f.advance(store.FormTokenTTL)
	resp := decisionPost(t, f, acme+"/approve-overage", url.Values{"csrf": {tok}, "hours": {"7"}})
	if resp.status != http.StatusForbidden || !strings.Contains(resp.body, "has expired") || !strings.Contains(resp.body, `value="7"`) ||
		decisionCSRF(t, resp.body, "approve-overage") == tok {
		t.Fatalf("expired: %d\n%s", resp.status, resp.body)
	}
	fresh := decisionCSRF(t, resp.body, "approve-overage")
	rotated := portalLink(t, f, "acme")
	if resp := decisionPost(t, f, rotated+"/approve-overage", url.Values{"csrf": {fresh}, "hours": {"7"}}); resp.status != http.StatusForbidden {
		t.Fatalf("a form of the rotated token: %d\n%s", resp.status, resp.body)
	}
	if resp := decisionPost(t, f, acme+"/approve-overage", url.Values{"csrf": {fresh}, "hours": {"7"}}); resp.status != http.StatusNotFound {
		t.Fatalf("the rotated token's portal: %d", resp.status)
	}
	if ds := decisionsOf(t, f, "acme"); len(ds) != 0 {
		t.Fatalf("%d decisions recorded", len(ds))
	}
}

// TestDecisionRateLimit: each portal may post decisionBurst times at once,
// then one every decisionEvery seconds, refused posts included; another
// contract's portal is not held back.
func TestDecisionRateLimit(t *testing.T) {
	f := newFixture(t)
	acme, globex := portalLink(t, f, "acme"), portalLink(t, f, "globex")
	acmePage, globexPage := portalGet(t, f, acme).body, portalGet(t, f, globex).body
	bad := url.Values{"csrf": {decisionCSRF(t, acmePage, "approve-overage")}, "hours": {"0"}}
	for i := 0; i < decisionBurst; i++ {
		if resp := decisionPostNow(t, f, acme+"/approve-overage", bad); resp.status != http.StatusUnprocessableEntity {
			t.Fatalf("post %d: %d", i+1, resp.status)
		}
	}
	good := url.Values{"csrf": {decisionCSRF(t, acmePage, "pause")}}
	if resp := decisionPostNow(t, f, acme+"/pause", good); resp.status != http.StatusTooManyRequests || resp.header.Get("Retry-After") == "" {
		t.Fatalf("post %d: %d, want 429", decisionBurst+1, resp.status)
	}
	if resp := decisionPostNow(t, f, globex+"/pause", url.Values{"csrf": {decisionCSRF(t, globexPage, "pause")}}); resp.status != http.StatusSeeOther {
		t.Fatalf("globex held back by acme's posts: %d", resp.status)
	}
	if len(decisionsOf(t, f, "acme")) != 0 {
		t.Fatal("a limited post was recorded")
	}
	f.advance(decisionEvery * time.Second)
	if resp := decisionPostNow(t, f, acme+"/pause", good); resp.status != http.StatusSeeOther {
		t.Fatalf("after %d s: %d", decisionEvery, resp.status)
	}
}

// TestDecisionsShown: the portal lists the month's decisions with the
// approval in force; the agency's dashboard shows each contract's; another
// contract's portal shows none of them.
func TestDecisionsShown(t *testing.T) {
	f := newFixture(t)
	acme, globex := portalLink(t, f, "acme"), portalLink(t, f, "globex")
	page := portalGet(t, f, acme).body
	for _, want := range []string{`id="decisions"`, "No decisions yet this month.", `action="` + acme + `/approve-overage"`,
		`action="` + acme + `/request-change"`, `action="` + acme + `/pause"`, "The retainer is 40.00 h a month now", "billed at USD 175.00/h"} {
		if !strings.Contains(page, want) {
			t.Errorf("portal lacks %q", want)
		}
	}
	post := func(form, hours, message string) {
		t.Helper()
		body := portalGet(t, f, acme).body
		resp := decisionPost(t, f, acme+"/"+form, url.Values{"csrf": {decisionCSRF(t, body, form)}, "hours": {hours}, "message": {message}})
		if resp.status != http.StatusSeeOther {
			t.Fatalf("%s: %d\n%s", form, resp.status, resp.body)
		}
	}
	post("approve-overage", "10", "")
	post("request-change", "60", "Launch <soon>")
	page = portalGet(t, f, acme).body
	for _, want := range []string{
		"<li>Overage up to 10.00 h approved on 2026-03-20</li>",
		"<li>Retainer change requested on 2026-03-20: 60.00 h a month instead of 40.00 h: “Launch &lt;soon&gt;”</li>",
		`<p id="approval">Overage approved up to 10.00 h (on 2026-03-20): 10.00 h of it left.</p>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("portal lacks %q", want)
		}
	}
	if other := portalGet(t, f, globex).body; strings.Contains(other, "Overage up to") || !strings.Contains(other, "No decisions yet this month.") {
		t.Error("globex's portal shows acme's decisions")
	}
	c, _ := dashLoggedIn(t, f)
	dash := dashGet(t, f, c, "/?month=2026-03").body
	for _, want := range []string{"<h2>Client decisions</h2>", "<li>acme: Overage up to 10.00 h approved on 2026-03-20</li>",
		"<li>acme: Retainer change requested on 2026-03-20: 60.00 h a month instead of 40.00 h: “Launch &lt;soon&gt;”</li>"} {
		if !strings.Contains(dash, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if feb := dashGet(t, f, c, "/?month=2026-02").body; strings.Contains(feb, "Client decisions") {
		t.Error("February's dashboard shows March's decisions")
	}
}

// TestPortalCheckinLink: a check-in email's link opens the portal of its
// contract during its month — the page, the statements, the forms — and
// nothing after the month or after the portal token is rotated.
func TestPortalCheckinLink(t *testing.T) {
	f := newFixture(t)
	portalLink(t, f, "acme")
	ctx := context.Background()
	cred, err := f.env.DB.CheckinLink(ctx, "acme", billing.NewPeriod(2026, time.March))
	if err != nil {
		t.Fatal(err)
	}
	link := "/p/" + cred
	page := portalGet(t, f, link)
	if page.status != http.StatusOK || !strings.Contains(page.body, `action="`+link+`/approve-overage"`) {
		t.Fatalf("the check-in link: %d\n%s", page.status, page.body)
	}
	if st := portalGet(t, f, link+"/statements/2026-02"); st.status != http.StatusOK {
		t.Fatalf("a statement through the link: %d", st.status)
	}
	resp := decisionPost(t, f, link+"/approve-overage", url.Values{"csrf": {decisionCSRF(t, page.body, "approve-overage")}, "hours": {"5"}})
	if resp.status != http.StatusSeeOther || resp.header.Get("Location") != link+"#decisions" {
		t.Fatalf("a decision through the link: %d %q\n%s", resp.status, resp.header.Get("Location"), resp.body)
	}
	if ds := decisionsOf(t, f, "acme"); len(ds) != 1 || ds[0].Seconds != 5*3600 {
		t.Fatalf("decisions %+v", ds)
	}
	// Another contract's name on acme's signature opens nothing.
	if r := portalGet(t, f, "/p/globex"+cred[len("acme"):]); r.status != http.StatusNotFound {
		t.Fatalf("a forged link: %d", r.status)
	}
	// Rotated: dead.
	portalLink(t, f, "acme")
	if r := portalGet(t, f, link); r.status != http.StatusNotFound {
		t.Fatalf("after rotation: %d", r.status)
	}
	// April: dead.
	fresh, err := f.env.DB.CheckinLink(ctx, "acme", billing.NewPeriod(2026, time.March))
	if err != nil {
		t.Fatal(err)
	}
	if r := portalGet(t, f, "/p/"+fresh); r.status != http.StatusOK {
		t.Fatalf("the new link: %d", r.status)
	}
	f.advance(12 * 24 * time.Hour) // 2026-04-01 in New York
	if r := portalGet(t, f, "/p/"+fresh); r.status != http.StatusNotFound {
		t.Fatalf("the link after its month: %d", r.status)
	}
}
