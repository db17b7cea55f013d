package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"retainer/billing"
	"retainer/jobs"
	"retainer/report"
	"retainer/store"
)

// The client's decisions on the portal (SPEC §12): three small forms on the
// portal page, each posting under /p/<token>/ — approve up to N overage
// hours this month, ask for a retainer change, pause non-urgent work. No
// script is needed.
//
// A post is taken in this order, and each step refuses it on its own:
// the portal's rate limit per address and the token (404, as for a page);
// the decisions' rate limit per portal (429); the form token
// (store.PortalAccess.CheckFormToken: missing, forged, another contract's
// or a rotated token's is 403, an expired one shows the page again with
// fresh forms); the input (422, the page again with the message and the
// values); then the decision is recorded and queued to the agency in one
// transaction, and the browser is sent back to the portal page (303). A
// replayed form finds its nonce taken and records nothing (409).

// Decision posts per portal: a burst of decisionBurst, then one every
// decisionEvery seconds. A client takes a few decisions a month; this only
// stops a script.
const (
	decisionBurst = 5
	decisionEvery = 60
)

// decisionRoutes registers the decision forms' posts.
func (s *Server) decisionRoutes(mux *http.ServeMux) {
	d := &decisionPosts{s: s, limit: newLimiter(1.0/decisionEvery, decisionBurst, s.Now)}
	mux.HandleFunc("POST /p/{token}/approve-overage", d.post(store.DecisionOverage))
	mux.HandleFunc("POST /p/{token}/request-change", d.post(store.DecisionChange))
	mux.HandleFunc("POST /p/{token}/pause", d.post(store.DecisionPause))
}

// decisionPosts takes the decision forms' posts.
type decisionPosts struct {
	s     *Server
	limit *limiter // per contract: a portal token and its check-in links share it
}

// decisionForms is the state of the portal's three forms.
type decisionForms struct {
	Open     bool   // the forms are shown
	UnitName string // "hours" or "sessions"
	Step     string // the hours inputs' step: "any", or "1" for sessions
	Notice   string // what happened to the last post, when it is worth saying
	Overage  decisionForm
	Change   decisionForm
	Pause    decisionForm
}

// decisionForm is one form: its token, and after a refused post the
// message and what was typed.
type decisionForm struct {
	CSRF           string
	Error          string
	Hours, Message string
}

// form returns kind's form.
func (f *decisionForms) form(kind store.DecisionKind) *decisionForm {
	switch kind {
	case store.DecisionOverage:
		return &f.Overage
	case store.DecisionChange:
		return &f.Change
	}
	return &f.Pause
}

// portalDecisions fills the portal page's decisions and forms: the month's
// decisions, the approval in force, and a fresh form token per form.
func (s *Server) portalDecisions(data *portalData, a *store.PortalAccess, c *billing.Contract, d *store.StatementData, forms decisionForms) error {
	p := d.Figures.Period
	data.Decisions = report.Decisions(d.Decisions, c)
	u := c.Unit
	q := func(secs int64) string { return billing.FormatQuantity(secs, u) + " " + report.UnitName(u) }
	if ap, ok := store.OverageApproval(d.Decisions); ok {
		data.Approval = fmt.Sprintf("Overage approved up to %s (on %s): %s of it left.", q(ap.Seconds), ap.On,
			q(store.ApprovalLeft(ap.Seconds, d.Figures.Overage)))
	}
	data.Monthly = q(c.TermsAt(p).MonthlyHours)
	if c.OverageBillable {
		data.OverageRate = d.Figures.OverageRate.Format(data.Currency) + "/" + strings.TrimSuffix(report.UnitName(u), "s")
	}
	forms.Open = !d.Closed && !data.Past // decisions are for the current month only
	forms.UnitName, forms.Step = string(u), "any"
	if u == billing.UnitSessions {
		forms.Step = "1"
	}
	now := s.Now()
	for _, kind := range []store.DecisionKind{store.DecisionOverage, store.DecisionChange, store.DecisionPause} {
		tok, err := a.FormToken(now)
		if err != nil {
			return err
		}
		forms.form(kind).CSRF = tok
	}
	data.Forms = forms
	return nil
}

// post takes one decision form's post.
func (d *decisionPosts) post(kind store.DecisionKind) http.HandlerFunc {
	s := d.s
	return func(w http.ResponseWriter, r *http.Request) {
		env, a, c, ok := s.openPortal(w, r)
		if !ok {
			return
		}
		if !d.limit.allow(a.Contract) {
			s.Metrics.Request("portal", "decision_limited")
			tooMany(w)
			return
		}
		if err := r.ParseForm(); err != nil {
			s.Metrics.Request("portal", "bad_request")
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		now := s.Now()
		nonce, err := a.CheckFormToken(r.PostForm.Get("csrf"), now)
		switch {
		case errors.Is(err, store.ErrFormExpired):
			s.Metrics.Request("portal", "decision_expired")
			var forms decisionForms
			forms.form(kind).Error = "This form was open too long and has expired: nothing was recorded. Please send it again."
			forms.form(kind).Hours, forms.form(kind).Message = r.PostForm.Get("hours"), r.PostForm.Get("message")
			s.showPortal(w, r, env, a, c, 0, http.StatusForbidden, forms)
			return
		case err != nil:
			s.Metrics.Request("portal", "decision_denied")
			http.Error(w, "forbidden: the form is not this portal's, or the portal link has changed; reload the page", http.StatusForbidden)
			return
		}
		today := billing.DateAt(now, env.Config.Location)
		dec, problem := readDecision(kind, c, today.Period(), r.PostForm.Get("hours"), r.PostForm.Get("message"))
		if problem != "" {
			s.Metrics.Request("portal", "decision_invalid")
			var forms decisionForms
			f := forms.form(kind)
			f.Error, f.Hours, f.Message = problem, r.PostForm.Get("hours"), r.PostForm.Get("message")
			s.showPortal(w, r, env, a, c, 0, http.StatusUnprocessableEntity, forms)
			return
		}
		dec.On = today
		rec, err := env.DB.RecordDecision(r.Context(), dec, nonce, jobs.AgencyMessages(env.Config, ""), now)
		switch {
		case errors.Is(err, store.ErrReplayed):
			s.Metrics.Request("portal", "decision_replayed")
			s.showPortal(w, r, env, a, c, 0, http.StatusConflict, decisionForms{
				Notice: "That form was sent already: the decision was recorded once, and is listed here."})
			return
		case errors.Is(err, store.ErrPeriodClosed):
			s.Metrics.Request("portal", "decision_closed")
			s.showPortal(w, r, env, a, c, 0, http.StatusConflict, decisionForms{
				Notice: "The month is closed: nothing was recorded."})
			return
		case err != nil:
			s.portalError(w, "record decision", err, "contract", c.ID, "period", dec.Period.String())
			return
		}
		s.log().Info("portal decision", "contract", c.ID, "period", rec.Period.String(), "kind", string(rec.Kind), "key", rec.Key().String())
		s.Metrics.Request("portal", "decision")
		http.Redirect(w, r, "/p/"+url.PathEscape(r.PathValue("token"))+"#decisions", http.StatusSeeOther)
	}
}

// readDecision reads a decision form's fields for contract c in period p:
// the decision, or a message for the client saying what to fix.
func readDecision(kind store.DecisionKind, c *billing.Contract, p billing.Period, hours, message string) (store.Decision, string) {
	d := store.Decision{ContractID: c.ID, Period: p, Kind: kind}
	message = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(message, "\r\n", "\n"), "\r", "\n"))
	if n := utf8.RuneCountInString(message); n > store.MaxDecisionMessage {
		return d, fmt.Sprintf("The message is %d characters long: at most %d, please.", n, store.MaxDecisionMessage)
	}
	if err := billing.CheckText(message, true); err != nil {
		return d, "The message " + err.Error() + ": please type it again without it."
	}
	d.Message = message
	if kind == store.DecisionPause {
		return d, ""
	}
	limit := int64(billing.MaxEntrySeconds) // overage of one month
	if kind == store.DecisionChange {
		limit = billing.MaxQuantitySeconds
	}
	secs, problem := readQuantity(hours, c.Unit, limit)
	if problem != "" {
		return d, problem
	}
	if kind == store.DecisionChange && secs == c.TermsAt(p).MonthlyHours {
		return d, fmt.Sprintf("That is the retainer now (%s a month): enter more or fewer.", quantity(secs, c.Unit))
	}
	d.Seconds = secs
	return d, ""
}

// readQuantity reads a number of hours (decimal hours, H:MM, or 2h30m) or,
// for a sessions contract, of whole sessions: more than 0 and at most
// limit seconds.
func readQuantity(s string, u billing.Unit, limit int64) (int64, string) {
	s = strings.TrimSpace(s)
	what := "hours"
	if u == billing.UnitSessions {
		what = "sessions"
	}
	if s == "" {
		return 0, "Enter the number of " + what + "."
	}
	var secs int64
	var err error
	if u == billing.UnitSessions {
		secs, err = billing.ParseHours(s)
		if err == nil && secs%billing.SessionSeconds != 0 {
			return 0, "Enter a whole number of sessions."
		}
	} else {
		secs, err = billing.ParseAmount(s)
	}
	switch {
	case err != nil:
		return 0, fmt.Sprintf("%q is not a number of %s: write it as 10 or 7.5.", s, what)
	case secs <= 0:
		return 0, "Enter more than 0 " + what + "."
	case secs > limit:
		return 0, fmt.Sprintf("That is more than %s: enter at most that.", quantity(limit, u))
	}
	return secs, ""
}

// quantity is seconds in unit u with its label: "10.00 h", "4 sessions".
func quantity(secs int64, u billing.Unit) string {
	return billing.FormatQuantity(secs, u) + " " + report.UnitName(u)
}

// dashDecisions adds the clients' decisions of period p to the burn
// tracker's rows (one query for every contract).
func dashDecisions(ctx context.Context, env *jobs.Env, p billing.Period, view *dashBurnView) error {
	ds, err := env.DB.PeriodDecisions(ctx, p)
	if err != nil || len(ds) == 0 {
		return err
	}
	for i := range view.Rows {
		row := &view.Rows[i]
		row.Decisions = report.Decisions(ds[row.ContractID], env.Rules.Contract(row.ContractID))
	}
	return nil
}
