package web

import (
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
// table), the statements, the outbox and the scheduled jobs. Every page
// needs a login (session.go); every figure comes from the same store calls
// and formatting as the CLI.

// dashMaxMonthsAhead bounds the month picker: a period far in the future
// costs a computation per month in between.
const dashMaxMonthsAhead = 120

// dashboardRoutes registers the agency dashboard and its login.
func (s *Server) dashboardRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /{$}", s.requireAdmin(s.burnPage))
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
// `retainer status` prints it.
type dashBurnRow struct {
	report.StatusLine        // the figures as `retainer status` shows them
	ContractID, Client, Tier string
	Flag                     string // why the row is flagged; "" when it is not
	Over                     bool   // used more than available
	ProjectedOver            bool
	Invoice                  string // closed periods only
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
	// first; Mixed says there are several, and each row names its currency.
	Summaries             []report.StatusTotals
	Mixed                 bool
	Late, Notes, AfterEnd []dashLine
	Unmatched             string // hours of entries matching no contract; "" when none
	UnmatchedEntries      int64
	UnmatchedLines        []string // by client, hours before a contract's start named
	NonBillable           []string // contracts whose hours were all non-billable
	Error                 string   // a bad ?month
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
			Over: f.Over(), ProjectedOver: f.ProjectedOver(asOf),
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
	out.Summaries, out.Mixed = t, len(t) > 1
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
	if p+1 > a.today.Period()+dashMaxMonthsAhead {
		view.Next = ""
	}
	s.render(w, http.StatusOK, "dashboard.html.tmpl", a.page("Burn tracker "+p.String(), view))
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
}

// dashDraftMonth is one month's drafts.
type dashDraftMonth struct {
	Period string
	Count  int
}

// statementsPage is GET /statements: every statement, newest period first.
func (s *Server) statementsPage(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	sts, err := a.env.DB.Statements(r.Context(), "")
	if err != nil {
		s.dashboardError(w, "statements", err)
		return
	}
	rows := make([]dashStatement, 0, len(sts))
	drafts := map[string]int{}
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
			drafts[st.Period.String()]++
		}
	}
	view := dashStatementsView{Rows: rows, Approved: r.URL.Query().Get("approved")}
	for p, n := range drafts {
		view.Drafts = append(view.Drafts, dashDraftMonth{p, n})
	}
	sort.Slice(view.Drafts, func(i, j int) bool { return view.Drafts[i].Period < view.Drafts[j].Period })
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
}

// outboxPage is GET /outbox: every message, failed and unknown first, then
// newest first.
func (s *Server) outboxPage(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	msgs, err := a.env.DB.Outbox(r.Context())
	if err != nil {
		s.dashboardError(w, "outbox", err)
		return
	}
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
	sort.SliceStable(view.Messages, func(i, j int) bool { return view.Messages[i].Retryable && !view.Messages[j].Retryable })
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
