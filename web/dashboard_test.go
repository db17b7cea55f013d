package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/jobs"
	"retainer/store"
)

// dashResponse is one dashboard response, its body read.
type dashResponse struct {
	*http.Response
	body string
}

// dashDo sends one request with c and reads the answer.
func dashDo(t *testing.T, c *http.Client, method, u string, form url.Values) dashResponse {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return dashResponse{resp, string(b)}
}

func dashGet(t *testing.T, f *fixture, c *http.Client, path string) dashResponse {
	t.Helper()
	return dashDo(t, c, http.MethodGet, f.srv.URL+path, nil)
}

func dashPost(t *testing.T, f *fixture, c *http.Client, path string, form url.Values) dashResponse {
	t.Helper()
	return dashDo(t, c, http.MethodPost, f.srv.URL+path, form)
}

var dashCSRFField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// dashCSRF returns the csrf field of the first form of a page.
func dashCSRF(t *testing.T, body string) string {
	t.Helper()
	m := dashCSRFField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in:\n%s", body)
	}
	return m[1]
}

// dashLogin logs c in with password and returns the login response.
func dashLogin(t *testing.T, f *fixture, c *http.Client, password, next string) dashResponse {
	t.Helper()
	form := dashGet(t, f, c, "/login")
	if form.StatusCode != http.StatusOK {
		t.Fatalf("GET /login: %d", form.StatusCode)
	}
	v := url.Values{"csrf": {dashCSRF(t, form.body)}, "password": {password}}
	if next != "" {
		v.Set("next", next)
	}
	return dashPost(t, f, c, "/login", v)
}

// dashLoggedIn returns a client with a session, and the session's CSRF
// token.
func dashLoggedIn(t *testing.T, f *fixture) (*http.Client, string) {
	t.Helper()
	c := f.client()
	if resp := dashLogin(t, f, c, testPassword, ""); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), resp.body)
	}
	home := dashGet(t, f, c, "/")
	if home.StatusCode != http.StatusOK {
		t.Fatalf("GET / after login: %d", home.StatusCode)
	}
	return c, dashCSRF(t, home.body)
}

func dashCookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// dashLoginCount scrapes the login request counter of outcome.
func dashLoginCount(t *testing.T, f *fixture, outcome string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	f.s.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	m := regexp.MustCompile(`(?m)^retainer_http_requests_total\{area="login",outcome="` + outcome + `"\} (\d+)$`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// dashPages are the dashboard's pages; none shows anything without a
// session.
var dashPages = []string{"/", "/?month=2026-02", "/contracts/acme", "/contracts/acme?month=2026-02", "/portfolio",
	"/statements", "/statements/acme-2026-02", "/outbox", "/jobs"}

// dashSecrets are strings of the fixture's data that no page may show to
// someone not logged in.
var dashSecrets = []string{"Acme", "acme", "Globex", "globex", "GLOBEX", "Growth", "5000", "alert("}

func TestDashboardNeedsLogin(t *testing.T) {
	f := newFixture(t)
	forged := func() *http.Client {
		c := f.client()
		u, _ := url.Parse(f.srv.URL)
		c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", Path: "/"}})
		return c
	}
	check := func(t *testing.T, client func() *http.Client, clearsCookie bool) {
		t.Helper()
		for _, path := range dashPages {
			resp := dashGet(t, f, client(), path)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next="+url.QueryEscape(path) {
				t.Errorf("GET %s: %d %q, want 303 to the login with next", path, resp.StatusCode, resp.Header.Get("Location"))
			}
			for _, s := range dashSecrets {
				// The redirect names the path asked for, nothing more.
				if !strings.Contains(path, s) && strings.Contains(resp.body, s) {
					t.Errorf("GET %s without a session shows %q", path, s)
				}
			}
			if clearsCookie {
				if ck := dashCookie(resp.Response, sessionCookie); ck == nil || ck.MaxAge >= 0 {
					t.Errorf("GET %s: the dead session cookie is not cleared: %v", path, ck)
				}
			}
		}
		resp := dashPost(t, f, client(), "/outbox/1/retry", url.Values{"csrf": {"x"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST retry without a session: %d, want 403", resp.StatusCode)
		}
	}
	t.Run("no cookie", func(t *testing.T) { check(t, f.client, false) })
	t.Run("forged cookie", func(t *testing.T) { check(t, forged, true) })
	t.Run("expired session", func(t *testing.T) {
		c, _ := dashLoggedIn(t, f)
		for _, path := range dashPages {
			if resp := dashGet(t, f, c, path); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s logged in: %d", path, resp.StatusCode)
			}
		}
		f.advance(13 * time.Hour)
		// The jar still sends the cookie (it keeps real time); the
		// server's clock says the session is over.
		for _, path := range dashPages {
			resp := dashGet(t, f, c, path)
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("GET %s 13 h after the login: %d, want 303", path, resp.StatusCode)
			}
		}
	})
}

func TestDashboardLogin(t *testing.T) {
	f := newFixture(t)

	t.Run("the form", func(t *testing.T) {
		resp := dashGet(t, f, f.client(), "/login?next=%2Fjobs")
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.body, `type="password"`) ||
			!strings.Contains(resp.body, `name="next" value="/jobs"`) {
			t.Fatalf("GET /login: %d\n%s", resp.StatusCode, resp.body)
		}
		ck := dashCookie(resp.Response, loginCSRFCookie)
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.MaxAge <= 0 || ck.Value != dashCSRF(t, resp.body) {
			t.Fatalf("login CSRF cookie: %+v", ck)
		}
		if ck.Secure {
			t.Fatal("Secure cookie over plain http with an http base_url")
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		denied := dashLoginCount(t, f, "denied")
		c := f.client()
		resp := dashLogin(t, f, c, "not the password", "")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.body, `class="error"`) ||
			!strings.Contains(resp.body, `type="password"`) {
			t.Fatalf("wrong password: %d\n%s", resp.StatusCode, resp.body)
		}
		if ck := dashCookie(resp.Response, sessionCookie); ck != nil {
			t.Fatalf("a wrong password set a session cookie: %+v", ck)
		}
		if got := dashGet(t, f, c, "/"); got.StatusCode != http.StatusSeeOther {
			t.Fatalf("GET / after a wrong password: %d", got.StatusCode)
		}
		if got := dashLoginCount(t, f, "denied"); got != denied+1 {
			t.Fatalf("denied logins counted %d, want %d", got, denied+1)
		}
	})

	t.Run("login CSRF", func(t *testing.T) {
		// No form was fetched: no cookie, and a token made up.
		c := f.client()
		resp := dashPost(t, f, c, "/login", url.Values{"csrf": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "password": {testPassword}})
		if resp.StatusCode != http.StatusForbidden || dashCookie(resp.Response, sessionCookie) != nil {
			t.Errorf("login without the CSRF cookie: %d", resp.StatusCode)
		}
		// The refusal is a fresh form: a person (not a forging site, which
		// cannot read it) can log in from there.
		again := dashPost(t, f, c, "/login", url.Values{"csrf": {dashCSRF(t, resp.body)}, "password": {testPassword}})
		if again.StatusCode != http.StatusSeeOther || dashCookie(again.Response, sessionCookie) == nil {
			t.Errorf("login from the form of the refusal: %d", again.StatusCode)
		}
		// The cookie, but no field or another value.
		for _, field := range []string{"", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
			c := f.client()
			dashGet(t, f, c, "/login")
			v := url.Values{"password": {testPassword}}
			if field != "" {
				v.Set("csrf", field)
			}
			resp := dashPost(t, f, c, "/login", v)
			if resp.StatusCode != http.StatusForbidden || dashCookie(resp.Response, sessionCookie) != nil {
				t.Errorf("login with csrf field %q: %d", field, resp.StatusCode)
			}
		}
	})

	t.Run("right password", func(t *testing.T) {
		ok := dashLoginCount(t, f, "ok")
		c := f.client()
		resp := dashLogin(t, f, c, testPassword, "")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		ck := dashCookie(resp.Response, sessionCookie)
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure ||
			ck.MaxAge != int(sessionTTL/time.Second) {
			t.Fatalf("session cookie: %+v", ck)
		}
		raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
		if err != nil || len(raw) != 32 {
			t.Fatalf("session id %q is not 32 random bytes", ck.Value)
		}
		if lc := dashCookie(resp.Response, loginCSRFCookie); lc == nil || lc.MaxAge >= 0 {
			t.Fatalf("the login CSRF cookie is not cleared: %+v", lc)
		}
		if got := dashLoginCount(t, f, "ok"); got != ok+1 {
			t.Fatalf("ok logins counted %d, want %d", got, ok+1)
		}
		// Logged in, the login form sends the browser on.
		if got := dashGet(t, f, c, "/login?next=%2Fjobs"); got.StatusCode != http.StatusSeeOther || got.Header.Get("Location") != "/jobs" {
			t.Fatalf("GET /login logged in: %d %q", got.StatusCode, got.Header.Get("Location"))
		}
	})

	t.Run("next", func(t *testing.T) {
		for next, want := range map[string]string{
			"/statements":          "/statements",
			"/?month=2026-02":      "/?month=2026-02",
			"//evil.example/x":     "/",
			`/\evil.example`:       "/",
			"https://evil.example": "/",
			"statements":           "/",
			"/\x00x":               "/",
		} {
			f.advance(10 * time.Second) // a token of the login rate limit
			resp := dashLogin(t, f, f.client(), testPassword, next)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
				t.Errorf("next %q: %d %q, want %q", next, resp.StatusCode, resp.Header.Get("Location"), want)
			}
		}
	})

	t.Run("secure cookies behind https", func(t *testing.T) {
		cfg := *f.env.Config
		cfg.HTTP.BaseURL = "https://retainer.example"
		env, err := jobs.NewEnv(context.Background(), &cfg, f.env.DB, f.clock())
		if err != nil {
			t.Fatal(err)
		}
		s := &Server{DB: env.DB, Env: func() *jobs.Env { return env }, Now: f.clock}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
		ck := dashCookie(&http.Response{Header: rec.Header()}, loginCSRFCookie)
		if ck == nil || !ck.Secure {
			t.Fatalf("login CSRF cookie with an https base_url: %+v", ck)
		}
	})
}

func TestDashboardSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/jobs", "/jobs"},
		{"/?month=2026-02", "/?month=2026-02"},
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{`/\evil.example`, "/"},
		{"/\tevil", "/"},
		{"http://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"jobs", "/"},
		{"/" + strings.Repeat("a", 3000), "/"},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDashboardLoginRateLimit(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	form := dashGet(t, f, c, "/login")
	token := dashCSRF(t, form.body)
	wrong := url.Values{"csrf": {token}, "password": {"guess"}}
	for i := 0; i < 10; i++ {
		if resp := dashPost(t, f, c, "/login", wrong); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("try %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	// The clock is frozen: no token comes back, even for the right password.
	right := url.Values{"csrf": {token}, "password": {testPassword}}
	resp := dashPost(t, f, c, "/login", right)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || dashCookie(resp.Response, sessionCookie) != nil {
		t.Fatalf("try 11: %d %v", resp.StatusCode, resp.Header)
	}
	if n := dashLoginCount(t, f, "limited"); n != 1 {
		t.Fatalf("limited logins counted %d, want 1", n)
	}
	if n := dashLoginCount(t, f, "denied"); n != 10 {
		t.Fatalf("denied logins counted %d, want 10", n)
	}
	f.advance(10 * time.Second) // one try a 10 s
	if resp := dashPost(t, f, c, "/login", right); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after 10 s: %d, want 303", resp.StatusCode)
	}
}

// dashRow returns the burn tracker row of contract id.
func dashRow(t *testing.T, body, id string) string {
	t.Helper()
	for _, row := range strings.Split(body, "<tr") {
		if strings.Contains(row, `href="/contracts/`+id+`"`) {
			return "<tr" + row
		}
	}
	t.Fatalf("no row for %s in:\n%s", id, body)
	return ""
}

func TestDashboardBurnTracker(t *testing.T) {
	f := newFixture(t)
	c, _ := dashLoggedIn(t, f)

	t.Run("current month", func(t *testing.T) {
		resp := dashGet(t, f, c, "/")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /: %d", resp.StatusCode)
		}
		b := resp.body
		for _, want := range []string{
			"March 2026", "(open)", "As of 2026-03-20", "money in USD",
			`<input type="month" id="month" name="month" value="2026-03"`, `href="/?month=2026-02"`, `href="/?month=2026-04"`,
			`<tr class="summary">`, "2 contracts",
			// acme: 40 + 3 banked from February, 30 used; projected
			// 30 / 15 business days × 22 = 44 > 43.
			`title="40.00 contracted, 3.00 banked">43.00</td>`, "<td class=\"num\">30.00</td>", `<td class="num flag">44.00</td>`,
			// Money with its currency.
			">USD 5,000.00</td>", ">USD 2,800.00</td>",
			// The summary: 60 contracted, 35 used, 7,800 in fees,
			// 35 / 60 = 58.3%.
			`<td class="num">35.00<span class="sub">of 60.00</span></td>`, `<td class="num">USD 7,800.00</td>`, "avg 58.3",
			// The 12 months before March: acme 75 of 80 h (93.8%),
			// globex 37 of 40 h (92.5%), both a little under-used.
			"12 months: the pricing band of the average burn 2025-03 to 2026-02",
			`<span class="band band-under-used" title="70–95%">under-used</span><span class="sub">93.8% over 2 mo</span>`,
			`<span class="sub">92.5% over 2 mo</span>`,
			// The client name and the note, escaped.
			"Acme &lt;script&gt;alert(1)&lt;/script&gt;", "acme: &lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt;",
		} {
			if !strings.Contains(b, want) {
				t.Errorf("GET / lacks %q", want)
			}
		}
		if strings.Contains(strings.ToLower(b), "<script") {
			t.Errorf("GET / has a literal <script>:\n%s", b)
		}
		acme, globex := dashRow(t, b, "acme"), dashRow(t, b, "globex")
		if !strings.HasPrefix(acme, `<tr class="flagged">`) || !strings.Contains(acme, `<span class="flag"`) {
			t.Errorf("acme is not flagged: %s", acme)
		}
		if strings.Contains(globex, "flag") {
			t.Errorf("globex is flagged: %s", globex)
		}
		if strings.Index(b, acme) > strings.Index(b, globex) {
			t.Error("the flagged contract is not first")
		}
		if strings.Contains(acme, "/statements/") {
			t.Error("an open month links to a statement")
		}
		// The columns that moved to the contract's page.
		for _, gone := range []string{">Tier<", ">Banked<", ">Rate<", ">Overage fee<", ">Retainer fee<", "5000.00<"} {
			if strings.Contains(b, gone) {
				t.Errorf("the burn tracker still has %q", gone)
			}
		}
	})

	t.Run("a closed month", func(t *testing.T) {
		resp := dashGet(t, f, c, "/?month=2026-02")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /?month=2026-02: %d", resp.StatusCode)
		}
		for _, want := range []string{"February 2026", "(closed)", `href="/statements/acme-2026-02"`, `href="/statements/globex-2026-02"`,
			`<td class="num">47.00</td>`, "pending"} {
			if !strings.Contains(resp.body, want) {
				t.Errorf("February lacks %q", want)
			}
		}
	})

	t.Run("bad months", func(t *testing.T) {
		for _, m := range []string{"2026-13", "2026-2", "march", "0000-01", "2026-03-01", "9999-12"} {
			resp := dashGet(t, f, c, "/?month="+url.QueryEscape(m))
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.body, `class="error"`) {
				t.Errorf("month %q: %d, want 400", m, resp.StatusCode)
			}
		}
	})

	t.Run("only the root", func(t *testing.T) {
		if resp := dashGet(t, f, c, "/nothing-here"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /nothing-here: %d, want 404", resp.StatusCode)
		}
	})
}

func TestDashboardFlagOrder(t *testing.T) {
	start := billing.NewPeriod(2026, time.March)
	k := func(id string) *billing.Contract {
		return &billing.Contract{ID: id, Client: id, Unit: billing.UnitHours, OverageBillable: true, Start: &start}
	}
	fig := func(used, available, projected int64) billing.Figures {
		return billing.Figures{Period: start, Contracted: available, Available: available, Used: used, Projected: projected,
			Remaining: max(available-used, 0), Overage: max(used-available, 0),
			Utilization: billing.Percent(used, available), BurnRate: billing.Percent(used, available)}
	}
	h := func(n int64) int64 { return n * 3600 }
	v := &store.View{Period: start, Rows: []store.Row{
		{Contract: k("a-calm"), Figures: fig(h(10), h(40), h(20))},
		{Contract: k("b-hot"), Figures: fig(h(36), h(40), h(36))},       // 90% exactly
		{Contract: k("c-projected"), Figures: fig(h(10), h(40), h(41))}, // projected over
		{Contract: k("d-over"), Figures: fig(h(41), h(40), h(41))},
		{Contract: k("e-calm"), Figures: fig(h(35), h(40), h(40))}, // 87.5%, projected exactly at available
		{Contract: k("f-ended"), Figures: fig(0, 0, 0)},            // nothing available, nothing used
	}}
	view := dashBurnTracker(v, "USD", []int{100, 90}, billing.DateOf(2026, time.March, 20))
	var order, flags []string
	for _, r := range view.Rows {
		order = append(order, r.ContractID)
		flags = append(flags, r.Flag)
	}
	if want := "b-hot c-projected d-over a-calm e-calm f-ended"; strings.Join(order, " ") != want {
		t.Fatalf("order %v, want %s", order, want)
	}
	if view.Flagged != 3 || view.Threshold != 90 {
		t.Fatalf("flagged %d, threshold %d", view.Flagged, view.Threshold)
	}
	for i, want := range []string{"at or over 90% used", "projected to go over", "over: more used than available", "", "", ""} {
		if flags[i] != want {
			t.Errorf("%s: flag %q, want %q", order[i], flags[i], want)
		}
	}
	if len(view.Summaries) != 1 || view.Summaries[0].Contracts != 6 || view.Summaries[0].Used != "132.00" {
		t.Errorf("summary %+v", view.Summaries)
	}
}

// The dashboard flags by the digest's rule (billing.Flagged): a projection
// counts from the 6th business day of the period, as projected_overage does.
func TestDashboardFlagProjectionFromSixthBusinessDay(t *testing.T) {
	mar := billing.NewPeriod(2026, time.March) // 1 March is a Sunday: the 6th business day is the 9th
	c := &billing.Contract{ID: "c-projected", Client: "c", Unit: billing.UnitHours, Start: &mar}
	f := billing.Figures{Period: mar, Contracted: 40 * 3600, Available: 40 * 3600, Used: 8 * 3600, Projected: 44 * 3600, Remaining: 32 * 3600}
	v := &store.View{Period: mar, Rows: []store.Row{{Contract: c, Figures: f}}}
	for _, tt := range []struct {
		asOf billing.Date
		flag string
	}{
		{billing.DateOf(2026, time.March, 6), ""},
		{billing.DateOf(2026, time.March, 9), "projected to go over"},
	} {
		view := dashBurnTracker(v, "USD", []int{90, 100}, tt.asOf)
		if r := view.Rows[0]; r.Flag != tt.flag || r.ProjectedOver != (tt.flag != "") {
			t.Errorf("%s: flag %q, projected over %t; want %q", tt.asOf, r.Flag, r.ProjectedOver, tt.flag)
		}
	}
}

func TestDashboardStatements(t *testing.T) {
	f := newFixture(t)
	c, _ := dashLoggedIn(t, f)

	resp := dashGet(t, f, c, "/statements")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /statements: %d", resp.StatusCode)
	}
	for _, inv := range []string{"acme-2026-02", "globex-2026-02", "acme-2026-01", "globex-2026-01"} {
		if !strings.Contains(resp.body, `<a href="/statements/`+inv+`">`+inv+`</a>`) {
			t.Errorf("/statements has no link to %s", inv)
		}
	}
	if !strings.Contains(resp.body, "2026-03-01") || !strings.Contains(resp.body, "2026-03-16") || !strings.Contains(resp.body, "USD 5,000.00") {
		t.Errorf("/statements lacks the issue date, due date or total:\n%s", resp.body)
	}
	if strings.Contains(strings.ToLower(resp.body), "<script") {
		t.Error("/statements has a literal <script>")
	}

	st := dashGet(t, f, c, "/statements/acme-2026-02")
	if st.StatusCode != http.StatusOK || !strings.HasPrefix(st.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /statements/acme-2026-02: %d %s", st.StatusCode, st.Header.Get("Content-Type"))
	}
	if !strings.Contains(st.body, "Statement acme-2026-02") || !strings.Contains(st.body, "47.00") {
		t.Errorf("the statement lacks its invoice number or figures:\n%s", st.body)
	}
	if strings.Contains(st.body, "cid:") {
		t.Error("the statement still refers to its email attachment")
	}
	m := regexp.MustCompile(`src="data:image/png;base64,([A-Za-z0-9+/=]+)"`).FindStringSubmatch(st.body)
	if m == nil {
		t.Fatal("the statement has no data: PNG")
	}
	png, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("the chart is not a PNG (%v)", err)
	}
	if csp := st.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src data:") || strings.Contains(csp, "script") {
		t.Errorf("statement CSP %q", csp)
	}
	if strings.Contains(strings.ToLower(st.body), "<script") {
		t.Error("the statement has a literal <script>")
	}

	for _, inv := range []string{"nobody-2026-02", "acme-2026-03", "acme-2026-02x"} {
		if resp := dashGet(t, f, c, "/statements/"+inv); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /statements/%s: %d, want 404", inv, resp.StatusCode)
		}
	}
}

func TestDashboardOutbox(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	db := f.env.DB
	// The close queued one statement email per contract and period; fail
	// the oldest.
	claimed, err := db.ClaimDue(ctx, f.clock(), true, 1)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	failed := claimed[0]
	if err := db.Delivered(ctx, failed.ID, store.OutboxFailed, "smtp", "550 mailbox <b>unavailable</b>", f.clock(), f.clock()); err != nil {
		t.Fatal(err)
	}
	c, csrf := dashLoggedIn(t, f)

	resp := dashGet(t, f, c, "/outbox")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /outbox: %d", resp.StatusCode)
	}
	body := resp.body
	if !strings.Contains(body, "550 mailbox &lt;b&gt;unavailable&lt;/b&gt;") || !strings.Contains(body, "ap@acme.example") {
		t.Errorf("/outbox lacks the failure or a recipient:\n%s", body)
	}
	first := strings.Index(body, "<td>statement/")
	if first < 0 || !strings.HasPrefix(body[first:], "<td>"+failed.Key+"</td>") {
		t.Errorf("the failed message %s is not first", failed.Key)
	}
	action := `action="/outbox/` + strconv.FormatInt(failed.ID, 10) + `/retry"`
	if strings.Count(body, "/retry") != 1 || !strings.Contains(body, action) {
		t.Errorf("want one retry form, for the failed message")
	}

	path := "/outbox/" + strconv.FormatInt(failed.ID, 10) + "/retry"
	if resp := dashPost(t, f, c, path, url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("retry without csrf: %d, want 403", resp.StatusCode)
	}
	if resp := dashPost(t, f, c, path, url.Values{"csrf": {csrf + "x"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("retry with a wrong csrf: %d, want 403", resp.StatusCode)
	}
	resp = dashPost(t, f, c, path, url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/outbox?retried="+strconv.FormatInt(failed.ID, 10) {
		t.Fatalf("retry: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	msgs, err := db.Outbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.ID == failed.ID && m.Status != store.OutboxPending {
			t.Fatalf("after the retry the message is %s", m.Status)
		}
	}
	// A pending message is not retried.
	if resp := dashPost(t, f, c, path, url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("retry of a pending message: %d, want 404", resp.StatusCode)
	}
}

func TestDashboardJobs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	db := f.env.DB
	id, err := db.StartJob(ctx, jobs.Import, f.clock().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.FinishJob(ctx, id, store.JobFailed, map[string]int{"entries": 3, "errors": 1}, "toggl: 401 <unauthorized>", f.clock().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if id, err = db.StartJob(ctx, jobs.Alerts, f.clock().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishJob(ctx, id, store.JobOK, map[string]int{"queued": 2}, "", f.clock()); err != nil {
		t.Fatal(err)
	}
	c, _ := dashLoggedIn(t, f)
	resp := dashGet(t, f, c, "/jobs")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /jobs: %d", resp.StatusCode)
	}
	nextClose := dashTime(f.env.Schedules[jobs.Close].Next(f.clock()), f.env.Config.Location)
	for _, want := range []string{
		"2026-03-20 11:00 EDT", `<span class="over">failed</span>`, "entries=3, errors=1",
		"toggl: 401 &lt;unauthorized&gt;", "queued=2", nextClose, "2026-04-01 06:00 EDT", "<code>0 6 1 * *</code>",
	} {
		if !strings.Contains(resp.body, want) {
			t.Errorf("/jobs lacks %q", want)
		}
	}
	for _, name := range jobs.Names {
		if !strings.Contains(resp.body, "<td>"+name+"</td>") {
			t.Errorf("/jobs lacks job %s", name)
		}
	}
}

func TestDashboardLogout(t *testing.T) {
	f := newFixture(t)
	c, csrf := dashLoggedIn(t, f)
	u, _ := url.Parse(f.srv.URL)
	var id string
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			id = ck.Value
		}
	}

	for _, form := range []url.Values{{}, {"csrf": {"forged"}}} {
		if resp := dashPost(t, f, c, "/logout", form); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("logout with %v: %d, want 403", form, resp.StatusCode)
		}
	}
	if resp := dashGet(t, f, c, "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a refused logout ended the session: %d", resp.StatusCode)
	}

	resp := dashPost(t, f, c, "/logout", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if ck := dashCookie(resp.Response, sessionCookie); ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("logout does not clear the cookie: %+v", ck)
	}
	if resp := dashGet(t, f, c, "/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET / after logout: %d", resp.StatusCode)
	}
	// The session is gone on the server too: the old cookie, replayed,
	// opens nothing.
	replay := f.client()
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: id, Path: "/"}})
	if resp := dashGet(t, f, replay, "/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the logged-out session still works: %d", resp.StatusCode)
	}
}

func TestDashboardOff(t *testing.T) {
	f := newFixture(t)
	loggedIn, csrf := dashLoggedIn(t, f) // a session made while the dashboard was on

	cfg := *f.env.Config
	cfg.HTTP.AdminPasswordHash = ""
	env, err := jobs.NewEnv(context.Background(), &cfg, f.env.DB, f.clock())
	if err != nil {
		t.Fatal(err)
	}
	off := &Server{DB: env.DB, Env: func() *jobs.Env { return env }, Now: f.clock}
	srv := httptest.NewServer(off.Handler())
	defer srv.Close()

	// A session cookie from before changes nothing.
	u, _ := url.Parse(f.srv.URL)
	o, _ := url.Parse(srv.URL)
	loggedIn.Jar.SetCookies(o, loggedIn.Jar.Cookies(u))

	unknown := dashDo(t, loggedIn, http.MethodGet, srv.URL+"/no-such-page", nil)
	if unknown.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path: %d", unknown.StatusCode)
	}
	routes := []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/?month=2026-02"}, {"GET", "/login"}, {"POST", "/login"}, {"POST", "/logout"},
		{"GET", "/statements"}, {"GET", "/statements/acme-2026-02"}, {"GET", "/outbox"}, {"POST", "/outbox/1/retry"}, {"GET", "/jobs"},
	}
	for _, c := range []*http.Client{f.client(), loggedIn} {
		for _, r := range routes {
			var form url.Values
			if r.method == "POST" {
				form = url.Values{"csrf": {csrf}, "password": {testPassword}}
			}
			resp := dashDo(t, c, r.method, srv.URL+r.path, form)
			if resp.StatusCode != http.StatusNotFound || resp.body != unknown.body || len(resp.Cookies()) > 0 {
				t.Errorf("%s %s with the dashboard off: %d %q %v, want the plain 404", r.method, r.path, resp.StatusCode, resp.body, resp.Cookies())
			}
		}
	}
}
