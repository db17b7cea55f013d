package web

import (
	"cmp"
	"errors"
	"html/template"
	"net/http"

	"retainer/billing"
	"retainer/jobs"
	"retainer/report"
	"retainer/store"
)

// The client portal: /p/<token> shows one contract's current period, and
// /p/<token>/statements/<YYYY-MM> its statement of a closed month. The token
// is the only credential. A wrong, rotated or orphaned token (its contract
// gone from the config) gets the same plain 404 as any unknown path, and no
// handler logs a path, so no token reaches a log.

// portalRoutes registers the client portal.
func (s *Server) portalRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /p/{token}", s.portalPage)
	mux.HandleFunc("GET /p/{token}/statements/{month}", s.portalStatementOrPDF) // and {invoice}.pdf (web/pdf.go)
}

// portalData is the portal page's Data.
type portalData struct {
	Token      string // the page's own token, for its links
	Client     string
	Tier       string
	PeriodName string // "March 2026"
	AsOf       billing.Date
	Closed     bool
	Unit       billing.Unit
	UnitName   string // "hours" or "sessions"
	Currency   string
	Figures    billing.Figures
	Billable   bool          // overage is charged
	Chart      template.HTML // the burndown as inline SVG, from report.BurndownSVG
	Weeks      []billing.Week
	Note       string
	ShowWork   bool // the contract says portal_entries: true
	Work       []store.WorkLine
	Statements []portalStatement
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
	if !s.limits.portal.allow(clientKey(r)) {
		s.Metrics.Request("portal", "limited")
		tooMany(w)
		return nil, nil, false
	}
	env = s.Env()
	id, err := env.DB.PortalContract(r.Context(), r.PathValue("token"))
	if err == nil {
		c = env.Rules.Contract(id)
	}
	if c == nil {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.portalError(w, "look up portal token", err)
			return nil, nil, false
		}
		s.portalNotFound(w, r)
		return nil, nil, false
	}
	return env, c, true
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
	env, c, ok := s.portalRequest(w, r)
	if !ok {
		return
	}
	ctx, cfg := r.Context(), env.Config
	today := billing.DateAt(s.Now(), cfg.Location)
	p := today.Period()
	d, err := env.DB.StatementFor(ctx, env.Rules, c.ID, p, today)
	if err != nil {
		s.portalError(w, "figures", err, "contract", c.ID, "period", p.String())
		return
	}
	periodName := p.Name()
	svg, err := report.BurndownSVG("Weekly burndown, "+periodName, d.Weeks, d.Figures.Available, c.Unit)
	if err != nil {
		s.portalError(w, "chart", err, "contract", c.ID, "period", p.String())
		return
	}
	data := portalData{
		Token: r.PathValue("token"), Client: c.Client, Tier: c.Tier, PeriodName: periodName, AsOf: today,
		Closed: d.Closed, Unit: c.Unit, UnitName: string(c.Unit), Currency: cmp.Or(d.Currency, cfg.Currency), Figures: d.Figures,
		Billable: c.OverageBillable, Weeks: d.Weeks, Note: d.Note, ShowWork: c.PortalEntries,
		// The one piece of trusted markup on the page: drawn by notify from
		// numbers and fixed labels, every text in it escaped.
		Chart: template.HTML(svg),
	}
	if c.PortalEntries {
		if data.Work, err = env.DB.Breakdown(ctx, c.ID, p); err != nil {
			s.portalError(w, "work", err, "contract", c.ID, "period", p.String())
			return
		}
	}
	sts, err := env.DB.Statements(ctx, c.ID)
	if err != nil {
		s.portalError(w, "statements", err, "contract", c.ID)
		return
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
	s.Metrics.Request("portal", "ok")
	w.Header().Set("X-Robots-Tag", "noindex, nofollow")
	s.render(w, http.StatusOK, "portal.html.tmpl", page{
		Title: c.Client + " — " + periodName, Agency: cfg.Agency.Name, Data: data,
	})
}

// portalStatement serves the statement of one closed month of the contract:
// the statement email's HTML, as a document of its own.
func (s *Server) portalStatement(w http.ResponseWriter, r *http.Request) {
	env, c, ok := s.portalRequest(w, r)
	if !ok {
		return
	}
	month := r.PathValue("month")
	p, err := billing.ParsePeriod(month)
	if err != nil || p.String() != month {
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
