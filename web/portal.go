package web

import (
	"bytes"
	"cmp"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"sync"
	"time"

	"retainer/billing"
	"retainer/jobs"
	"retainer/report"
	"retainer/store"
)

// The client portal: /p/<token> shows one contract's current period,
// /p/<token>/months/<YYYY-MM> one of its past months (figures, burndown,
// work, decisions), and /p/<token>/statements/<YYYY-MM> its statement of a
// closed month; the
// client's decisions are posted to /p/<token>/approve-overage,
// /request-change and /pause (web/decisions.go). The token is the only
// credential — or, from a check-in email, the check-in link that stands
// for it during its month (store.OpenPortal). A wrong, rotated or orphaned
// token (its contract gone from the config) gets the same plain 404 as any
// unknown path, and no handler logs a path, so no token reaches a log.

// portalRoutes registers the client portal.
func (s *Server) portalRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /p/{token}", s.portalPage)
	mux.HandleFunc("GET /p/{token}/months/{month}", s.portalMonth)
	mux.HandleFunc("GET /p/{token}/statements/{month}", s.portalStatementOrPDF) // and {invoice}.pdf (web/pdf.go)
	s.decisionRoutes(mux)
}

// portalData is the portal page's Data.
type portalData struct {
	Token       string // the page's own token, for its links
	Past        bool   // a past month's page (/months/<YYYY-MM>): no decision forms
	Month       string // the page's month, YYYY-MM
	Prev, Next  string // the months before and after it the portal shows, YYYY-MM; "" when none
	NextCurrent bool   // Next is the current month (its page is /p/<token>)
	Current     string // the current month's name, for the link back to it
	Client      string
	Tier        string
	PeriodName  string // "March 2026"
	AsOf        billing.Date
	Closed      bool
	Unit        billing.Unit
	UnitName    string // "hours" or "sessions"
	Currency    string
	Figures     billing.Figures
	Billable    bool          // overage is charged
	Chart       template.HTML // the burndown as inline SVG, from report.BurndownSVG
	Weeks       []billing.Week
	Note        string
	ShowWork    bool // the contract says portal_entries: true
	Work        []store.WorkLine
	Statements  []portalStatement

	// The client's decisions of the month (SPEC §12) and their forms.
	Decisions   []report.DecisionView
	Approval    string // the overage approval in force and what is left of it; "" when none
	Monthly     string // the retainer's hours a month now, for the change form
	OverageRate string // the overage rate when overage is billed, "" otherwise
	Forms       decisionForms
}

// portalStatement is one row of the portal's statement list.
type portalStatement struct {
	InvoiceNumber string
	Month         string // YYYY-MM, the link's last segment
	MonthName     string
	Total         billing.Money
	Currency      string
	DueOn         billing.Date
	Status        string
}

// portalRequest is what every portal handler starts from: the rate limit,
// then the token. ok is false when the answer (429 or 404) is already
// written.
func (s *Server) portalRequest(w http.ResponseWriter, r *http.Request) (env *jobs.Env, c *billing.Contract, ok bool) {
	env, _, c, ok = s.openPortal(w, r)
	return env, c, ok
}

// openPortal is portalRequest that also returns the request's credential,
// resolved: a portal token, or a check-in link during its month.
func (s *Server) openPortal(w http.ResponseWriter, r *http.Request) (env *jobs.Env, a *store.PortalAccess, c *billing.Contract, ok bool) {
	if !s.limits.portal.allow(clientKey(r)) {
		s.Metrics.Request("portal", "limited")
		tooMany(w)
		return nil, nil, nil, false
	}
	env = s.Env()
	a, c, ok = s.resolvePortal(w, r, env)
	return env, a, c, ok
}

// resolvePortal resolves the request's portal credential under env, or
// answers 404 (500 on a database error).
func (s *Server) resolvePortal(w http.ResponseWriter, r *http.Request, env *jobs.Env) (a *store.PortalAccess, c *billing.Contract, ok bool) {
	a, err := env.DB.OpenPortal(r.Context(), r.PathValue("token"), billing.DateAt(s.Now(), env.Config.Location))
	if err == nil {
		c = env.Rules.Contract(a.Contract)
	}
	if c == nil {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.portalError(w, "look up portal token", err)
			return nil, nil, false
		}
		s.portalNotFound(w, r)
		return nil, nil, false
	}
	return a, c, true
}

// portalNotFound answers exactly as an unknown path does.
func (s *Server) portalNotFound(w http.ResponseWriter, r *http.Request) {
	s.Metrics.Request("portal", "not_found")
	http.NotFound(w, r)
}

// portalError logs err (never the path: it holds the token) and answers a
// plain 500.
func (s *Server) portalError(w http.ResponseWriter, what string, err error, attrs ...any) {
	s.Metrics.Request("portal", "error")
	s.log().Error("portal: "+what, append(attrs, "err", err)...)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// portalPage shows the contract's current period.
func (s *Server) portalPage(w http.ResponseWriter, r *http.Request) {
	s.portalCached(w, r, 0)
}

// portalMonth is the portal page of one past month of the contract: from
// its first month (its start, else its first statement) to the month
// before the current one; any other month is a 404.
func (s *Server) portalMonth(w http.ResponseWriter, r *http.Request) {
	if !s.limits.portal.allow(clientKey(r)) {
		s.Metrics.Request("portal", "limited")
		tooMany(w)
		return
	}
	p, ok := pathMonth(r)
	if !ok {
		s.portalNotFound(w, r) // as for a wrong token: the same 404
		return
	}
	s.portalCachedAllowed(w, r, p)
}

// portalCached serves the portal page of month p (0: the current one) from
// the answer cache (web/cache.go) when it holds it for the config, data
// version and day in force, with fresh form tokens; else draws it and keeps
// it. The rate limit runs first, as for every portal request.
func (s *Server) portalCached(w http.ResponseWriter, r *http.Request, p billing.Period) {
	if !s.limits.portal.allow(clientKey(r)) {
		s.Metrics.Request("portal", "limited")
		tooMany(w)
		return
	}
	s.portalCachedAllowed(w, r, p)
}

// portalCachedAllowed is portalCached past the rate limit.
func (s *Server) portalCachedAllowed(w http.ResponseWriter, r *http.Request, p billing.Period) {
	env, now := s.Env(), s.Now()
	version, err := env.DB.DataVersion(r.Context())
	if err != nil { // draw it, keep nothing
		s.log().Warn("portal: data version", "err", err)
		if a, c, ok := s.resolvePortal(w, r, env); ok {
			s.showPortal(w, r, env, a, c, p, http.StatusOK, decisionForms{})
		}
		return
	}
	gen := cacheGen{env: env, version: version, today: billing.DateAt(now, env.Config.Location)}
	key := cacheKey("portal", r.PathValue("token"), p.String())
	if hit, ok := s.answers.get(gen, key); ok {
		s.writePortalCached(w, hit, now)
		return
	}
	a, c, ok := s.resolvePortal(w, r, env)
	if !ok {
		return
	}
	rec := newRecorder()
	tokens := s.showPortalTo(rec, r, env, a, c, p, http.StatusOK, decisionForms{})
	if rec.status == http.StatusOK && tokens != nil {
		v := &cached{key: key, header: rec.header.Clone(), access: a}
		v.parts, v.tokens = cutAt(rec.body.Bytes(), tokens)
		s.answers.put(gen, v)
	}
	rec.writeTo(w)
}

// writePortalCached answers with a kept portal page, a fresh form token
// in place of each of its forms' tokens. The page is put together in one
// buffer and written once with its length: written part by part, a page
// over net/http's 2 KB went out chunked, in several writes.
func (s *Server) writePortalCached(w http.ResponseWriter, hit *cached, now time.Time) {
	a := hit.access.(*store.PortalAccess)
	fresh := map[int]string{}
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer pageBuffers.Put(buf)
	buf.Reset()
	for i, part := range hit.parts {
		buf.Write(part)
		if i >= len(hit.tokens) {
			continue
		}
		tok, ok := fresh[hit.tokens[i]]
		if !ok {
			var err error
			if tok, err = a.FormToken(now); err != nil {
				s.portalError(w, "form token", err, "contract", a.Contract)
				return
			}
			fresh[hit.tokens[i]] = tok
		}
		buf.WriteString(tok)
	}
	copyHeader(w.Header(), hit.header)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	s.Metrics.Request("portal", "ok")
}

// pageBuffers are the buffers kept pages are put together in.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// pathMonth is the request's {month}, written exactly as YYYY-MM.
func pathMonth(r *http.Request) (billing.Period, bool) {
	month := r.PathValue("month")
	p, err := billing.ParsePeriod(month)
	return p, err == nil && p.String() == month
}

// portalFirstMonth is the first month the portal shows of contract c: its
// start, else the month of its first statement, else the current one.
func portalFirstMonth(c *billing.Contract, sts []store.Statement, current billing.Period) billing.Period {
	first := current
	if c.Start != nil {
		return min(*c.Start, current)
	}
	for _, st := range sts {
		first = min(first, st.Period)
	}
	return first
}

// showPortal renders the portal page of contract c for month p (0: the
// current month) with status, its decision forms in the state forms says
// (errors, values, a notice); a past month's page has no forms.
func (s *Server) showPortal(w http.ResponseWriter, r *http.Request, env *jobs.Env, a *store.PortalAccess, c *billing.Contract, p billing.Period, status int, forms decisionForms) {
	s.showPortalTo(w, r, env, a, c, p, status, forms)
}

// showPortalTo is showPortal that returns the form tokens the page was
// drawn with (nil when it was not drawn), for the answer cache to cut out.
func (s *Server) showPortalTo(w http.ResponseWriter, r *http.Request, env *jobs.Env, a *store.PortalAccess, c *billing.Contract, p billing.Period, status int, forms decisionForms) []string {
	ctx, cfg := r.Context(), env.Config
	today := billing.DateAt(s.Now(), cfg.Location)
	current := today.Period()
	sts, err := env.DB.Statements(ctx, c.ID)
	if err != nil {
		s.portalError(w, "statements", err, "contract", c.ID)
		return nil
	}
	first := portalFirstMonth(c, sts, current)
	past := p != 0
	if !past {
		p = current
	} else if p >= current || p < first {
		s.portalNotFound(w, r)
		return nil
	}
	d, err := env.DB.StatementFor(ctx, env.Rules, c.ID, p, today)
	if err != nil {
		s.portalError(w, "figures", err, "contract", c.ID, "period", p.String())
		return nil
	}
	periodName := p.Name()
	svg, err := report.BurndownSVG(report.StatementBurndown(d, today))
	if err != nil {
		s.portalError(w, "chart", err, "contract", c.ID, "period", p.String())
		return nil
	}
	data := portalData{
		Token: r.PathValue("token"), Past: past, Month: p.String(), Current: current.Name(), Client: c.Client, Tier: c.Tier, PeriodName: periodName, AsOf: today,
		Closed: d.Closed, Unit: c.Unit, UnitName: string(c.Unit), Currency: cmp.Or(d.Currency, cfg.Currency), Figures: d.Figures,
		Billable: c.OverageBillable, Weeks: d.Weeks, Note: d.Note, ShowWork: c.PortalEntries,
		// The one piece of trusted markup on the page: drawn by notify from
		// numbers and fixed labels, every text in it escaped.
		Chart: template.HTML(svg),
	}
	if p > first {
		data.Prev = (p - 1).String()
	}
	if past {
		data.Next, data.NextCurrent = (p + 1).String(), p+1 == current
	}
	if err := s.portalDecisions(&data, a, c, d, forms); err != nil {
		s.portalError(w, "decision forms", err, "contract", c.ID)
		return nil
	}
	if c.PortalEntries {
		if data.Work, err = env.DB.Breakdown(ctx, c.ID, p); err != nil {
			s.portalError(w, "work", err, "contract", c.ID, "period", p.String())
			return nil
		}
	}
	for _, st := range sts {
		if st.ContractID != c.ID { // Statements filters already; a portal must never show another client's
			continue
		}
		if st.Status == store.StatusDraft { // under review: the client sees it once approved
			continue
		}
		data.Statements = append(data.Statements, portalStatement{
			InvoiceNumber: st.InvoiceNumber, Month: st.Period.String(), MonthName: st.Period.Name(),
			Total: st.TotalWithTax(), Currency: st.Currency, DueOn: st.DueOn, Status: st.StatusAt(today),
		})
	}
	if status == http.StatusOK {
		s.Metrics.Request("portal", "ok")
	}
	w.Header().Set("X-Robots-Tag", "noindex, nofollow")
	s.render(w, status, "portal.html.tmpl", page{
		Title: c.Client + " — " + periodName, Agency: cfg.Agency.Name, Data: data,
	})
	return []string{data.Forms.Overage.CSRF, data.Forms.Change.CSRF, data.Forms.Pause.CSRF}
}

// portalStatement serves the statement of one closed month of the contract:
// the statement email's HTML, as a document of its own.
func (s *Server) portalStatement(w http.ResponseWriter, r *http.Request) {
	env, c, ok := s.portalRequest(w, r)
	if !ok {
		return
	}
	p, ok := pathMonth(r)
	if !ok {
		s.portalNotFound(w, r)
		return
	}
	st, ok := s.portalStatementRecord(w, r, env, c, store.InvoiceNumber(c.ID, p)) // open, outside the contract, or under review: 404
	if !ok {
		return
	}
	in, err := statementInput(r.Context(), env, st, billing.DateAt(s.Now(), env.Config.Location))
	if err != nil {
		s.portalError(w, "statement", err, "contract", c.ID, "period", p.String())
		return
	}
	w.Header().Set("X-Robots-Tag", "noindex, nofollow")
	if err := writeStatement(w, in, env.Templates); err != nil {
		s.portalError(w, "render statement", err, "contract", c.ID, "period", p.String())
		return
	}
	s.Metrics.Request("portal", "ok")
}
