package web

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"retainer/billing"
	"retainer/jobs"
	"retainer/report"
	"retainer/store"
)

// The agency dashboard: the burn tracker of one month (the CLI's status
// table, the figures a day's work is steered by, with each contract's
// 12-month burn band), each contract's page (the whole row and its burn
// history), the portfolio (contracts and fees per pricing band), the
// statements, the outbox and the scheduled jobs. Every page needs a login
// (session.go); every figure comes from the same store calls and
// formatting as the CLI, money with its currency.

// dashMaxMonthsAhead bounds the month picker: a period far in the future
// costs a computation per month in between.
const dashMaxMonthsAhead = 120

// dashboardRoutes registers the agency dashboard and its login.
func (s *Server) dashboardRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /{$}", s.requireAdmin(s.burnPage))
	mux.HandleFunc("GET /contracts/{id}", s.requireAdmin(s.contractPage))
	mux.HandleFunc("GET /portfolio", s.requireAdmin(s.portfolioPage))
	mux.HandleFunc("GET /statements", s.requireAdmin(s.statementsPage))
	mux.HandleFunc("GET /statements/{invoice}", s.requireAdmin(s.statementPageOrPDF)) // and {invoice}.pdf (web/pdf.go)
	mux.HandleFunc("POST /statements/{invoice}/approve", s.requireAdmin(s.statementApprove))
	mux.HandleFunc("POST /statements/approve", s.requireAdmin(s.statementApprove))
	mux.HandleFunc("GET /outbox", s.requireAdmin(s.outboxPage))
	mux.HandleFunc("POST /outbox/{id}/retry", s.requireAdmin(s.outboxRetry))
	mux.HandleFunc("GET /jobs", s.requireAdmin(s.jobsPage))
}

// dashboardError logs err and answers a plain 500: store errors can name
// files and hosts, and stay out of the page.
func (s *Server) dashboardError(w http.ResponseWriter, what string, err error) {
	s.log().Error("dashboard "+what, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// ---- the burn tracker ----

// dashBurnRow is one contract's burn tracker row, every figure formatted as
// `retainer status` prints it, money with its currency.
type dashBurnRow struct {
	report.StatusLine        // the figures as `retainer status` shows them
	ContractID, Client, Tier string
	Flag                     string // why the row is flagged; "" when it is not
	Over                     bool   // used more than available
	ProjectedOver            bool
	Invoice                  string // closed periods only
	// Money is the row's money with its currency ("USD 5,350.00").
	Money dashMoney
	// History is the contract's burn over the 12 months before today's;
	// nil until the page attaches it.
	History *dashHistoryCell
	// Decisions are the client's decisions of the month on the portal
	// (SPEC §12), in the order they were taken.
	Decisions []report.DecisionView
}

// dashLine is a note or late adjustment of one contract.
type dashLine struct{ ContractID, Text string }

// dashBurnView is the burn tracker page's Data.
type dashBurnView struct {
	Period, PeriodName, Prev, Next string // Next is "" past the picker's range
	Closed                         bool
	AsOf, Currency                 string
	Threshold                      int // the lowest alert threshold; 0: none
	Rows                           []dashBurnRow
	Flagged                        int
	// Summaries has one summary row per currency (SPEC §14), the config's
	// first; Mixed says there are several.
	Summaries              []dashSummary
	Mixed                  bool
	HistoryFrom, HistoryTo string // the months of the rows' History
	Late, Notes, AfterEnd  []dashLine
	Unmatched              string // hours of entries matching no contract; "" when none
	UnmatchedEntries       int64
	UnmatchedLines         []string // by client, hours before a contract's start named
	NonBillable            []string // contracts whose hours were all non-billable
	Error                  string   // a bad ?month
}

// dashMoney is a row's money, each amount with its currency.
type dashMoney struct {
	Rate, OverageFee, RetainerFee, Total, Tax, TotalWithTax string
}

// dashMoneyOf formats a row's money in its currency.
func dashMoneyOf(f billing.Figures, bill billing.Invoice, currency string) dashMoney {
	return dashMoney{Rate: f.OverageRate.Format(currency), OverageFee: f.OverageFee.Format(currency),
		RetainerFee: f.RetainerFee.Format(currency), Total: f.TotalInvoiced.Format(currency),
		Tax: bill.Tax.Format(currency), TotalWithTax: bill.Total.Format(currency)}
}

// dashSummary is the summary row of the contracts in one currency.
type dashSummary struct {
	report.StatusTotals
	Count string    // "2 contracts"
	Money dashMoney // Rate is empty
}

// dashFlag says why a row needs the agency's eye (billing.Flagged), or "".
func dashFlag(f billing.Figures, thresholds []int, asOf billing.Date) string {
	switch billing.Flagged(f, thresholds, asOf) {
	case billing.FlagOver:
		return "over: more used than available"
	case billing.FlagThreshold:
		return fmt.Sprintf("at or over %d%% used", billing.LowestThreshold(thresholds))
	case billing.FlagProjected:
		return "projected to go over"
	}
	return ""
}

// dashBurnTracker lays out period v as the burn tracker: flagged contracts
// first, then the rest, each by contract id; the summary row; late
// adjustments, notes and unmatched hours as `retainer status` lists them.
func dashBurnTracker(v *store.View, currency string, thresholds []int, asOf billing.Date) dashBurnView {
	out := dashBurnView{Period: v.Period.String(), PeriodName: v.Period.Name(), Prev: (v.Period - 1).String(),
		Next: (v.Period + 1).String(), Closed: v.Closed, AsOf: asOf.String(), Currency: currency}
	out.Threshold = billing.LowestThreshold(thresholds)
	lines, t := report.StatusLines(v, currency, asOf)
	for _, l := range lines {
		f := l.Row.Figures
		row := dashBurnRow{StatusLine: l,
			ContractID: l.Row.Contract.ID, Client: l.Row.Contract.Client, Tier: l.Row.Contract.Tier, Flag: dashFlag(f, thresholds, asOf),
			Over: f.Over(), ProjectedOver: f.ProjectedOver(asOf), Money: dashMoneyOf(f, l.Row.Bill, l.Currency),
		}
		if l.Row.Invoice != nil {
			row.Invoice = l.Row.Invoice.InvoiceNumber
		}
		if row.Flag != "" {
			out.Flagged++
		}
		out.Rows = append(out.Rows, row)
		if l.Note != "" {
			out.Notes = append(out.Notes, dashLine{l.Row.Contract.ID, l.Note})
		}
		if l.Late != "" {
			out.Late = append(out.Late, dashLine{l.Row.Contract.ID, l.Late})
		}
		if l.AfterEnd != "" {
			out.AfterEnd = append(out.AfterEnd, dashLine{l.Row.Contract.ID, l.AfterEnd})
		}
	}
	sort.SliceStable(out.Rows, func(i, j int) bool {
		fi, fj := out.Rows[i].Flag != "", out.Rows[j].Flag != ""
		if fi != fj {
			return fi
		}
		return out.Rows[i].ContractID < out.Rows[j].ContractID
	})
	for _, st := range t {
		sum := st.Sum
		out.Summaries = append(out.Summaries, dashSummary{StatusTotals: st, Count: report.Count(st.Contracts, "contract", "contracts"), Money: dashMoney{
			OverageFee: sum.OverageFee.Format(st.Currency), RetainerFee: sum.RetainerFee.Format(st.Currency),
			Total: sum.TotalInvoiced.Format(st.Currency), Tax: st.TaxSum.Format(st.Currency),
			TotalWithTax: (sum.TotalInvoiced + st.TaxSum).Format(st.Currency)}})
	}
	out.Mixed = len(t) > 1
	if out.Mixed {
		codes := make([]string, len(t))
		for i, s := range t {
			codes[i] = s.Currency
		}
		out.Currency = "each contract's currency (" + strings.Join(codes, ", ") + ")"
	} else {
		out.Currency = t[0].Currency
	}
	out.NonBillable = report.NonBillableLines(v.NonBillable, v.Period)
	if v.UnmatchedEntries > 0 {
		out.Unmatched, out.UnmatchedEntries = billing.FormatQuantity(v.UnmatchedSeconds, billing.UnitHours), v.UnmatchedEntries
		out.UnmatchedLines = report.UnmatchedLines(v.Unmatched, 10)
	}
	return out
}

// dashMonth reads ?month: YYYY-MM, at most dashMaxMonthsAhead after today's
// period; empty is today's period.
func dashMonth(s string, today billing.Date) (billing.Period, error) {
	if s == "" {
		return today.Period(), nil
	}
	p, err := billing.ParsePeriod(s)
	if err != nil {
		return 0, errors.New("the month must be YYYY-MM, such as " + today.Period().String())
	}
	if p > today.Period()+dashMaxMonthsAhead {
		return 0, fmt.Errorf("the month must be at most %d years ahead", dashMaxMonthsAhead/12)
	}
	return p, nil
}

// burnPage is GET /: the burn tracker of ?month (default: today's period),
// as of today — the same as `retainer status --month`, so a past month's
// projection is its usage and its invoices show today's status.
func (s *Server) burnPage(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	cfg := a.env.Config
	p, err := dashMonth(r.URL.Query().Get("month"), a.today)
	if err != nil {
		cur := a.today.Period()
		s.render(w, http.StatusBadRequest, "dashboard.html.tmpl", a.page("Burn tracker", dashBurnView{
			Period: cur.String(), PeriodName: cur.Name(), Prev: (cur - 1).String(), Next: (cur + 1).String(),
			Currency: cfg.Currency, AsOf: a.today.String(), Error: err.Error()}))
		return
	}
	v, err := a.env.DB.Status(r.Context(), a.env.Rules, p, a.today)
	if err != nil {
		s.dashboardError(w, "status", err)
		return
	}
	view := dashBurnTracker(v, cfg.Currency, cfg.Alerts.Thresholds, a.today)
	if err := dashDecisions(r.Context(), a.env, p, &view); err != nil {
		s.dashboardError(w, "decisions", err)
		return
	}
	// Each row's band comes from the months before today's, whatever the
	// month shown: it says how the retainer is priced now.
	hs, err := a.env.DB.BurnHistory(r.Context(), a.env.Rules, a.today)
	if err != nil {
		s.dashboardError(w, "burn history", err)
		return
	}
	dashAttachHistory(&view, hs)
	if p+1 > a.today.Period()+dashMaxMonthsAhead {
		view.Next = ""
	}
	s.render(w, http.StatusOK, "dashboard.html.tmpl", a.page("Burn tracker "+p.String(), view))
}

// ---- burn history: each contract's page, the portfolio ----

// dashBand is a pricing band as the pages show it.
type dashBand struct {
	Label, Key, Range string
	Wrong             bool // over-sold or under-priced: the price wants changing
}

func dashBandOf(v billing.Verdict) dashBand {
	return dashBand{Label: v.Label(), Key: v.Key(), Range: v.Range(), Wrong: v.PricedWrong()}
}

// dashHistoryCell is a contract's burn history on the burn tracker: the
// band of its average.
type dashHistoryCell struct {
	AvgBurn string // "93.8%", or "—" with no hours contracted
	Band    dashBand
	Months  int
}

// dashPercent is a percentage with its sign, or "—".
func dashPercent(p billing.Pct) string {
	if !p.Valid {
		return p.String()
	}
	return p.String() + "%"
}

// dashAttachHistory gives each row of the burn tracker its contract's
// burn history cell.
func dashAttachHistory(view *dashBurnView, hs *store.Histories) {
	view.HistoryFrom, view.HistoryTo = hs.From.String(), hs.To.String()
	for i := range view.Rows {
		if h := hs.Of(view.Rows[i].ContractID); h != nil {
			view.Rows[i].History = &dashHistoryCell{AvgBurn: dashPercent(h.AvgBurn), Band: dashBandOf(h.Band()), Months: len(h.Months)}
		}
	}
}

// dashHistoryMonth is one month of a contract's burn history.
type dashHistoryMonth struct {
	Period, Name           string
	Used, Contracted, Burn string
	Over                   bool // more used than contracted
	Invoiced               string
	Closed                 bool
	Invoice                string // the month's statement; "" when none
}

// dashChartBar is one month's bars of the burn history chart, in the
// SVG's units: the used hours (their part over the contracted ones apart)
// and the contracted hours as a mark.
type dashChartBar struct {
	X, Width           int64
	UsedY, UsedH       int64
	OverY, OverH       int64 // 0 high when within the contracted hours
	TargetY            int64 // the contracted hours' mark; -1 when none
	TargetX1, TargetX2 int64
	Title              string
}

// dashChartLabel is a month's name under its slot of the chart.
type dashChartLabel struct {
	X     int64
	Label string
}

// The burn history chart's geometry, in SVG units (the chart scales to its
// box): a bar slot per month of the window.
const (
	chartWidth, chartHeight = 600, 200
	chartLeft, chartTop     = 44, 10
	chartPlot               = 160 // the plot's height
	chartSlot               = (chartWidth - chartLeft) / store.HistoryMonths
	chartBar                = 30
)

// dashHistoryView is a contract's burn history on its page.
type dashHistoryView struct {
	From, To         string
	Months           []dashHistoryMonth
	AvgBurn          string
	Used, Contracted string
	Unit             string // "h" or "sessions", after a quantity
	UnitWord         string // "hours" or "sessions"
	Band             dashBand
	Advice           string
	Bars             []dashChartBar
	Labels           []dashChartLabel // every month of the window
	LabelY           int64
	Max              string // the chart's top, in hours
	Width, Height    int
	Baseline, TopY   int64 // the chart's zero line and its top
	AxisX, AxisRight int64
	TickX            int64 // where the axis labels end
}

// dashHistory lays out a contract's burn history: the table, the chart and
// the band of the average.
func dashHistory(h *store.History, hs *store.Histories, currency string, statements map[billing.Period]string) dashHistoryView {
	u := h.Contract.Unit
	q := func(s int64) string { return billing.FormatQuantity(s, u) }
	rec := h.Recommendation
	out := dashHistoryView{From: hs.From.String(), To: hs.To.String(), AvgBurn: dashPercent(h.AvgBurn),
		Used: q(h.Used), Contracted: q(h.Contracted), Unit: report.UnitName(u), UnitWord: "hours", Band: dashBandOf(rec.Verdict), Advice: rec.Advice,
		Width: chartWidth, Height: chartHeight, Baseline: chartTop + chartPlot, TopY: chartTop, AxisX: chartLeft, AxisRight: chartWidth,
		TickX: chartLeft - 6}
	var top int64
	for _, m := range h.Months {
		top = max(top, m.Used, m.Contracted)
		cur := m.Currency
		if cur == "" {
			cur = currency
		}
		out.Months = append(out.Months, dashHistoryMonth{Period: m.Period.String(), Name: m.Period.Name(),
			Used: q(m.Used), Contracted: q(m.Contracted), Burn: dashPercent(m.BurnRate), Over: m.Used > m.Contracted,
			Invoiced: m.TotalInvoiced.Format(cur), Closed: m.Closed, Invoice: statements[m.Period]})
	}
	if u == billing.UnitSessions {
		out.UnitWord = "sessions"
	}
	if top == 0 {
		return out
	}
	out.Max, out.LabelY = q(top), out.Baseline+18
	for p := hs.From; p <= hs.To; p++ {
		out.Labels = append(out.Labels, dashChartLabel{X: chartLeft + int64(p-hs.From)*chartSlot + chartSlot/2, Label: p.Month().String()[:3]})
	}
	scale := func(v int64) int64 { return billing.MulDivRound(v, chartPlot, top) }
	for _, m := range h.Months {
		slot := int64(m.Period - hs.From)
		x := chartLeft + slot*chartSlot + (chartSlot-chartBar)/2
		within := min(m.Used, m.Contracted)
		if m.Contracted == 0 {
			within = m.Used
		}
		bar := dashChartBar{X: x, Width: chartBar, UsedH: scale(within), TargetY: -1, TargetX1: x - 4, TargetX2: x + chartBar + 4,
			Title: fmt.Sprintf("%s: %s of %s %s used", m.Period, q(m.Used), q(m.Contracted), report.UnitName(u))}
		bar.UsedY = out.Baseline - bar.UsedH
		if over := m.Used - within; over > 0 {
			bar.OverH = scale(m.Used) - bar.UsedH
			bar.OverY = bar.UsedY - bar.OverH
		}
		if m.Contracted > 0 {
			bar.TargetY = out.Baseline - scale(m.Contracted)
		}
		out.Bars = append(out.Bars, bar)
	}
	return out
}

// dashContractView is a contract's page: its terms, the month's whole
// burn tracker row, and its burn history.
type dashContractView struct {
	ID, Client, Tier, Unit, Currency string
	Terms, Dates, Rollover           string
	Period, PeriodName, Prev, Next   string
	Closed, Listed                   bool
	AsOf                             string
	Flag                             string
	Figures                          []dashFigure
	Note, Late, AfterEnd             string
	Invoice, InvoiceStatus           string
	History                          dashHistoryView
	Error                            string // a bad ?month
}

// dashFigure is one figure of a contract's month.
type dashFigure struct {
	ID, Label, Value string
	Over             bool
}

// dashTerms describes a contract's terms in period p.
func dashTerms(c *billing.Contract, p billing.Period, currency string) (terms, dates, rollover string) {
	t := c.TermsAt(p)
	u := report.UnitName(c.Unit)
	terms = fmt.Sprintf("%s %s a month for %s; overage %s per %s", billing.FormatQuantity(t.MonthlyHours, c.Unit), u,
		t.MonthlyFee.Format(currency), t.OverageRate.Format(currency), strings.TrimSuffix(u, "s"))
	if !c.OverageBillable {
		terms += " (recorded, not billed)"
	}
	from, to := "the first month with hours", "no end"
	if c.Start != nil {
		from = c.Start.String()
	}
	if c.End != nil {
		to = c.End.String()
	}
	dates = from + " to " + to
	switch {
	case !c.Rollover:
		rollover = "no rollover"
	default:
		rollover = "rollover"
		if c.MaxRollover != nil {
			rollover += ", cap " + billing.FormatQuantity(*c.MaxRollover, c.Unit) + " " + u
		}
		if c.ExpiresAfter > 0 {
			rollover += fmt.Sprintf(", expires after %d mo", c.ExpiresAfter)
		}
	}
	return terms, dates, rollover
}

// contractPage is GET /contracts/{id}: one contract's month (?month,
// default today's) with every figure of its row, and its burn history over
// the 12 months before today's with the band of their average. An unknown
// contract is a 404.
func (s *Server) contractPage(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	c := a.env.Rules.Contract(r.PathValue("id"))
	if c == nil {
		http.NotFound(w, r)
		return
	}
	currency := cmp.Or(c.Currency, a.env.Config.Currency)
	view := dashContractView{ID: c.ID, Client: c.Client, Tier: c.Tier, Unit: report.UnitName(c.Unit), Currency: currency,
		AsOf: a.today.String()}
	p, err := dashMonth(r.URL.Query().Get("month"), a.today)
	status := http.StatusOK
	if err != nil {
		p, view.Error, status = a.today.Period(), err.Error(), http.StatusBadRequest
	}
	view.Terms, view.Dates, view.Rollover = dashTerms(c, p, currency)
	view.Period, view.PeriodName, view.Prev, view.Next = p.String(), p.Name(), (p - 1).String(), (p + 1).String()
	if p+1 > a.today.Period()+dashMaxMonthsAhead {
		view.Next = ""
	}
	one := store.NewRules([]*billing.Contract{c})
	v, err := a.env.DB.Status(r.Context(), one, p, a.today)
	if err != nil {
		s.dashboardError(w, "status", err)
		return
	}
	view.Closed = v.Closed
	lines, _ := report.StatusLines(v, a.env.Config.Currency, a.today)
	for _, l := range lines {
		f := l.Row.Figures
		money := dashMoneyOf(f, l.Row.Bill, l.Currency)
		view.Listed, view.Note, view.Late, view.AfterEnd = true, l.Note, l.Late, l.AfterEnd
		view.Flag = dashFlag(f, a.env.Config.Alerts.Thresholds, a.today)
		projected, overageFee := "Projected by month end", "Overage fee"
		if v.Closed {
			projected = "Final"
		}
		if l.NotBillable {
			overageFee = "Overage fee (not billed)"
		}
		view.Figures = []dashFigure{
			{"contracted", "Contracted", l.Contracted, false}, {"banked", "Banked (rollover in)", l.Banked, false},
			{"available", "Available", l.Available, false}, {"used", "Used", l.Used, f.Over()},
			{"remaining", "Remaining", l.Remaining, false}, {"overage", "Overage", l.Overage, f.Over()},
			{"utilization", "Utilization", dashPercent(f.Utilization), f.Over()}, {"burn", "Burn rate", dashPercent(f.BurnRate), false},
			{"projected", projected, l.Projected, f.ProjectedOver(a.today)},
			{"rate", "Overage rate", money.Rate, false}, {"overage-fee", overageFee, money.OverageFee, false},
			{"retainer-fee", "Retainer fee", money.RetainerFee, false}, {"total", "Total invoiced", money.Total, false},
		}
		if l.Row.Bill.TaxRate != 0 || l.Row.Bill.Tax != 0 {
			view.Figures = append(view.Figures, dashFigure{"tax", "Tax", money.Tax, false}, dashFigure{"total-with-tax", "Total with tax", money.TotalWithTax, false})
		}
		if l.Row.Invoice != nil {
			view.Invoice, view.InvoiceStatus = l.Row.Invoice.InvoiceNumber, l.InvoiceStatus
		}
	}
	hs, err := a.env.DB.BurnHistory(r.Context(), one, a.today)
	if err != nil {
		s.dashboardError(w, "burn history", err)
		return
	}
	sts, err := a.env.DB.Statements(r.Context(), c.ID)
	if err != nil {
		s.dashboardError(w, "statements", err)
		return
	}
	invoices := map[billing.Period]string{}
	for _, st := range sts {
		invoices[st.Period] = st.InvoiceNumber
	}
	view.History = dashHistory(hs.Of(c.ID), hs, currency, invoices)
	s.render(w, status, "contract.html.tmpl", a.page(c.Client+" · "+c.ID, view))
}

// dashPortfolioBand is one pricing band of the portfolio.
type dashPortfolioBand struct {
	Band      dashBand
	Advice    string
	Count     int
	Fees      []string // the monthly fees of this month's terms, one per currency
	Invoiced  []string // invoiced over the history's months, one per currency
	Contracts []dashPortfolioContract
}

// dashPortfolioContract is one contract in its band.
type dashPortfolioContract struct{ ID, Client, AvgBurn string }

// dashPortfolioView is the portfolio page's Data.
type dashPortfolioView struct {
	AsOf, From, To string
	Bands          []dashPortfolioBand
	Contracts      int
	PricedWrong    int
	Fees           []string // every band's, one per currency
}

// dashSums adds money per currency and formats it, the currency first
// (primary) then by code.
type dashSums struct {
	primary string
	by      map[string]billing.Money
}

func (d *dashSums) add(currency string, m billing.Money) {
	if d.by == nil {
		d.by = map[string]billing.Money{}
	}
	d.by[currency] += m
}

func (d *dashSums) lines() []string {
	codes := make([]string, 0, len(d.by))
	for c := range d.by {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if pi, pj := codes[i] == d.primary, codes[j] == d.primary; pi != pj {
			return pi
		}
		return codes[i] < codes[j]
	})
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = d.by[c].Format(c)
	}
	return out
}

// dashPortfolio counts the contracts in each pricing band, with the monthly
// fees of their terms in period p and what they were invoiced over the
// history's months, per currency. A contract is in the portfolio while it
// is active in p or has months in its history.
func dashPortfolio(hs *store.Histories, p billing.Period, currency string, asOf billing.Date) dashPortfolioView {
	out := dashPortfolioView{AsOf: asOf.String(), From: hs.From.String(), To: hs.To.String()}
	bands := map[billing.Verdict]*dashPortfolioBand{}
	fees, invoiced := map[billing.Verdict]*dashSums{}, map[billing.Verdict]*dashSums{}
	all := dashSums{primary: currency}
	for _, v := range billing.Verdicts {
		bands[v] = &dashPortfolioBand{Band: dashBandOf(v), Advice: v.Advice()}
		fees[v], invoiced[v] = &dashSums{primary: currency}, &dashSums{primary: currency}
	}
	for i := range hs.Contracts {
		h := &hs.Contracts[i]
		c := h.Contract
		if !c.Active(p) && len(h.Months) == 0 {
			continue
		}
		v := h.Band()
		b := bands[v]
		b.Count++
		out.Contracts++
		if v.PricedWrong() {
			out.PricedWrong++
		}
		b.Contracts = append(b.Contracts, dashPortfolioContract{ID: c.ID, Client: c.Client, AvgBurn: dashPercent(h.AvgBurn)})
		cur := cmp.Or(c.Currency, currency)
		if c.Active(p) {
			fee := c.TermsAt(p).MonthlyFee
			fees[v].add(cur, fee)
			all.add(cur, fee)
		}
		for _, m := range h.Months {
			invoiced[v].add(cmp.Or(m.Currency, cur), m.TotalInvoiced)
		}
	}
	for _, v := range billing.Verdicts {
		b := bands[v]
		b.Fees, b.Invoiced = fees[v].lines(), invoiced[v].lines()
		out.Bands = append(out.Bands, *b)
	}
	out.Fees = all.lines()
	return out
}

// portfolioPage is GET /portfolio: the contracts counted per pricing band
// of their 12-month burn, with the monthly fees and the invoiced revenue in
// each band, per currency.
func (s *Server) portfolioPage(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	hs, err := a.env.DB.BurnHistory(r.Context(), a.env.Rules, a.today)
	if err != nil {
		s.dashboardError(w, "burn history", err)
		return
	}
	view := dashPortfolio(hs, a.today.Period(), a.env.Config.Currency, a.today)
	s.render(w, http.StatusOK, "portfolio.html.tmpl", a.page("Portfolio", view))
}

// ---- statements ----

// dashStatement is one row of the statements page.
type dashStatement struct {
	Invoice, ContractID, Client, Period string
	Total, IssuedOn, DueOn, Status      string
	Draft                               bool // under review: the row has an Approve button
}

// dashStatementsView is the statements page's Data.
type dashStatementsView struct {
	Rows     []dashStatement
	Drafts   []dashDraftMonth // months with drafts, oldest first: "Approve all" buttons
	Approved string           // what was just approved, from ?approved
	Older    string           // the next page's ?before cursor; "" on the last page
	Paged    bool             // this is not the first page: a link back to it
}

// dashPageSize is how many rows a page of a history list (statements,
// outbox) shows: each page is read from where the one before ended, so
// every page costs the same after years of history.
const dashPageSize = 100

// pageSize is the server's page size of the history lists.
func (s *Server) pageSize() int {
	if s.PageSize > 0 {
		return s.PageSize
	}
	return dashPageSize
}

// dashDraftMonth is one month's drafts.
type dashDraftMonth struct {
	Period string
	Count  int
}

// statementsPage is GET /statements[?before=INVOICE]: the statements,
// newest period first, a page at a time; ?before is the last invoice of the
// page before.
func (s *Server) statementsPage(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	var after store.StatementCursor
	if v := r.URL.Query().Get("before"); v != "" {
		var err error
		if after, err = store.ParseStatementCursor(v); err != nil {
			http.Error(w, "before: want the invoice number a page ended with, as the Older link gives it", http.StatusBadRequest)
			return
		}
	}
	pg, err := a.env.DB.StatementsPage(r.Context(), after, s.pageSize())
	if err != nil {
		s.dashboardError(w, "statements", err)
		return
	}
	months, err := a.env.DB.DraftMonths(r.Context())
	if err != nil {
		s.dashboardError(w, "statements", err)
		return
	}
	sts := pg.Statements
	rows := make([]dashStatement, 0, len(sts))
	for i := range sts {
		st := &sts[i]
		client := ""
		if c := a.env.Config.Contract(st.ContractID); c != nil {
			client = c.Client
		}
		currency := st.Currency
		if currency == "" {
			currency = a.env.Config.Currency
		}
		rows = append(rows, dashStatement{Invoice: st.InvoiceNumber, ContractID: st.ContractID, Client: client,
			Period: st.Period.String(), Total: st.TotalWithTax().Format(currency), IssuedOn: st.IssuedOn.String(),
			DueOn: st.DueOn.String(), Status: st.StatusAt(a.today), Draft: st.Status == store.StatusDraft})
		if st.Status == store.StatusDraft {
			rows[len(rows)-1].IssuedOn = "on approval"
		}
	}
	view := dashStatementsView{Rows: rows, Approved: r.URL.Query().Get("approved"), Older: pg.Next.String(), Paged: !after.IsZero()}
	for _, m := range months {
		view.Drafts = append(view.Drafts, dashDraftMonth{m.Period.String(), m.Drafts})
	}
	s.render(w, http.StatusOK, "statements.html.tmpl", a.page("Statements", view))
}

// statementApprove is POST /statements/{invoice}/approve, or POST
// /statements/approve with a month: `retainer statement approve` from the
// dashboard. The statement becomes pending, is issued today and its email
// is queued; approving twice changes nothing.
func (s *Server) statementApprove(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	var invoices []string
	var p billing.Period
	if inv := r.PathValue("invoice"); inv != "" {
		invoices = []string{inv}
	} else {
		var err error
		if p, err = billing.ParsePeriod(r.PostFormValue("month")); err != nil {
			http.Error(w, "want a month YYYY-MM", http.StatusBadRequest)
			return
		}
	}
	res, err := a.env.DB.ApproveStatements(r.Context(), a.env.Rules, invoices, p, a.today, a.now)
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.dashboardError(w, "approve", err)
		return
	}
	var done []string
	for _, ap := range res {
		if ap.Approved {
			done = append(done, ap.Statement.InvoiceNumber)
			s.log().Info("statement approved from the dashboard", "invoice", ap.Statement.InvoiceNumber)
		}
	}
	http.Redirect(w, r, "/statements?approved="+url.QueryEscape(strings.Join(done, " ")), http.StatusSeeOther)
}

// statementPage is GET /statements/{invoice}: the statement as its email
// shows it, with the burndown chart inline as a data: PNG. An unknown
// invoice, or one whose contract is no longer configured, is a 404.
func (s *Server) statementPage(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	in, ok := s.adminStatementInput(w, r, a, r.PathValue("invoice"))
	if !ok {
		return
	}
	if err := writeStatement(w, in, a.env.Templates); err != nil {
		s.dashboardError(w, "statement", err)
	}
}

// ---- outbox ----

// dashOutboxRow is one outbox message.
type dashOutboxRow struct {
	ID                           int64
	Key, Channel, To, Status     string
	Attempts                     int
	LastError, CreatedAt, SentAt string
	Retryable                    bool // failed or unknown: an operator decides
}

// dashOutboxView is the outbox page's Data.
type dashOutboxView struct {
	Messages []dashOutboxRow
	Retried  string // the id just put back to pending, from ?retried
	Older    string // the next page's ?before cursor; "" on the last page
	Paged    bool   // this is not the first page: a link back to it
}

// outboxPage is GET /outbox[?before=CURSOR]: the messages, failed and
// unknown first, then the others, each newest first, a page at a time.
func (s *Server) outboxPage(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	var after store.OutboxCursor
	if v := r.URL.Query().Get("before"); v != "" {
		var err error
		if after, err = store.ParseOutboxCursor(v); err != nil {
			http.Error(w, "before: want the cursor a page ended with, as the Older link gives it", http.StatusBadRequest)
			return
		}
	}
	pg, err := a.env.DB.OutboxPageAfter(r.Context(), after, s.pageSize())
	if err != nil {
		s.dashboardError(w, "outbox", err)
		return
	}
	msgs := pg.Messages
	loc := a.env.Config.Location
	view := dashOutboxView{Messages: make([]dashOutboxRow, 0, len(msgs))}
	for _, m := range msgs {
		row := dashOutboxRow{ID: m.ID, Key: m.Key, Channel: m.Channel, To: strings.Join(m.To, ", "), Status: m.Status,
			Attempts: m.Attempts, LastError: m.LastError, CreatedAt: dashTime(m.CreatedAt, loc),
			Retryable: m.Status == store.OutboxFailed || m.Status == store.OutboxUnknown}
		if m.SentAt != nil {
			row.SentAt = dashTime(*m.SentAt, loc)
		}
		view.Messages = append(view.Messages, row)
	}
	view.Older, view.Paged = pg.Next.String(), !after.IsZero()
	if id, err := strconv.ParseInt(r.URL.Query().Get("retried"), 10, 64); err == nil && id > 0 {
		view.Retried = strconv.FormatInt(id, 10)
	}
	s.render(w, http.StatusOK, "outbox.html.tmpl", a.page("Outbox", view))
}

// outboxRetry is POST /outbox/{id}/retry: a failed or unknown message goes
// back to pending, due now (the `retainer outbox retry` of the CLI).
func (s *Server) outboxRetry(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		http.NotFound(w, r)
		return
	}
	if err := a.env.DB.Retry(r.Context(), id, a.now); errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no failed or unknown message with that id", http.StatusNotFound)
		return
	} else if err != nil {
		s.dashboardError(w, "outbox retry", err)
		return
	}
	s.log().Info("outbox message retried from the dashboard", "id", id)
	http.Redirect(w, r, "/outbox?retried="+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// ---- jobs ----

// dashJob is one scheduled job.
type dashJob struct {
	Name, Schedule                  string
	Enabled                         bool
	LastRun, Outcome, Ended, Counts string
	Failed                          bool // the last run failed, panicked or was interrupted
	NextRun                         string
	LastFailure, FailureError       string
}

// jobsPage is GET /jobs: `retainer jobs` — each job's last run, next run
// and last failure.
func (s *Server) jobsPage(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	st, err := a.env.DB.Jobs(r.Context())
	if err != nil {
		s.dashboardError(w, "jobs", err)
		return
	}
	s.render(w, http.StatusOK, "jobs.html.tmpl", a.page("Jobs", dashJobs(a.env, st, a.now)))
}

// dashJobs lays out every job in jobs.Names order.
func dashJobs(env *jobs.Env, st map[string]store.JobStatus, now time.Time) []dashJob {
	cfg := env.Config
	loc := cfg.Location
	exprs := cfg.Schedule.Expressions()
	out := make([]dashJob, 0, len(jobs.Names))
	for _, name := range jobs.Names {
		j := dashJob{Name: name, Schedule: exprs[name]}
		if last := st[name].Last; last != nil {
			j.LastRun, j.Outcome = dashTime(last.StartedAt, loc), last.Outcome
			if last.EndedAt != nil {
				j.Ended = dashTime(*last.EndedAt, loc)
			}
			j.Counts = dashCounts(last.Counts)
			j.Failed = last.Outcome == store.JobFailed || last.Outcome == store.JobPanic || last.Outcome == store.JobInterrupted
		}
		if f := st[name].LastFailure; f != nil {
			j.LastFailure, j.FailureError = dashTime(f.StartedAt, loc), strings.Join(strings.Fields(f.Error), " ")
		}
		if sched, ok := env.Schedules[name]; ok {
			j.Enabled, j.NextRun = true, dashTime(sched.Next(now), loc)
		}
		out = append(out, j)
	}
	return out
}

// dashCounts shows a run's counts as "a=1, b=2", by name.
func dashCounts(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Itoa(counts[k])
	}
	return strings.Join(parts, ", ")
}

// dashTime shows an instant in the agency timezone.
func dashTime(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}
