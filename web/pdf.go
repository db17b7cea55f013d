package web

import (
	"cmp"
	"context"
	"errors"
	"mime"
	"net/http"
	"strings"

	"retainer/billing"
	"retainer/jobs"
	"retainer/report"
	"retainer/store"
)

// The PDF invoice of a statement (SPEC §14), downloaded from the portal,
// GET /p/{token}/statements/{invoice}.pdf, and from the dashboard, GET
// /statements/{invoice}.pdf. A ServeMux wildcard fills a whole segment, so
// these paths reach the statement pages' routes, and the handlers below
// send a segment ending in ".pdf" here. The rules are the statement
// pages': the portal serves only its own contract's statements and no
// draft, every other answer the same 404 as an unknown path; the
// dashboard also serves drafts, to review them.

// portalStatementOrPDF is GET /p/{token}/statements/{month}: the
// statement page, or its PDF when the segment is {invoice}.pdf.
func (s *Server) portalStatementOrPDF(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.PathValue("month"), ".pdf") {
		s.portalPDF(w, r)
		return
	}
	s.portalStatement(w, r)
}

// statementPageOrPDF is GET /statements/{invoice}: the statement page, or
// its PDF when the segment is {invoice}.pdf.
func (s *Server) statementPageOrPDF(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	if strings.HasSuffix(r.PathValue("invoice"), ".pdf") {
		s.statementPDF(w, r, a)
		return
	}
	s.statementPage(w, r, a)
}

// portalPDF serves the PDF invoice of one of the token's contract's
// statements, once it is approved.
func (s *Server) portalPDF(w http.ResponseWriter, r *http.Request) {
	env, c, ok := s.portalRequest(w, r)
	if !ok {
		return
	}
	invoice := strings.TrimSuffix(r.PathValue("month"), ".pdf")
	st, ok := s.portalStatementRecord(w, r, env, c, invoice)
	if !ok {
		return
	}
	in, err := statementInput(r.Context(), env, st, billing.DateAt(s.Now(), env.Config.Location))
	if err != nil {
		s.portalError(w, "statement", err, "contract", c.ID, "period", st.Period.String())
		return
	}
	pdf, _, err := report.StatementPDF(report.PDFInput{StatementInput: in, Paper: env.Config.Statements.Paper, Fonts: env.PDFFonts})
	if err != nil {
		s.portalError(w, "render statement pdf", err, "contract", c.ID, "period", st.Period.String())
		return
	}
	w.Header().Set("X-Robots-Tag", "noindex, nofollow")
	writePDF(w, invoice, pdf)
	s.Metrics.Request("portal", "ok")
}

// statementPDF is the dashboard's download of any statement's PDF,
// drafts included. An unknown invoice, or one whose contract is no longer
// configured, is a 404.
func (s *Server) statementPDF(w http.ResponseWriter, r *http.Request, a *adminRequest) {
	invoice := strings.TrimSuffix(r.PathValue("invoice"), ".pdf")
	in, ok := s.adminStatementInput(w, r, a, invoice)
	if !ok {
		return
	}
	pdf, warnings, err := report.StatementPDF(report.PDFInput{StatementInput: in, Paper: a.env.Config.Statements.Paper, Fonts: a.env.PDFFonts})
	if err != nil {
		s.dashboardError(w, "statement pdf", err)
		return
	}
	for _, warning := range warnings {
		s.log().Warn("statement pdf: "+warning, "invoice", invoice)
	}
	writePDF(w, invoice, pdf)
}

// portalStatementRecord finds invoice among the contract's approved
// statements; anything else — unknown, another contract's, under review —
// is answered with the portal's 404 (ok false).
func (s *Server) portalStatementRecord(w http.ResponseWriter, r *http.Request, env *jobs.Env, c *billing.Contract, invoice string) (*store.Statement, bool) {
	st, err := env.DB.StatementByInvoice(r.Context(), invoice)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (st.ContractID != c.ID || st.Status == store.StatusDraft)) {
		s.portalNotFound(w, r)
		return nil, false
	}
	if err != nil {
		s.portalError(w, "statement", err, "contract", c.ID)
		return nil, false
	}
	return st, true
}

// adminStatementInput loads any statement for the dashboard, drafts
// included; an unknown invoice, or one whose contract is no longer
// configured, is answered 404 (ok false).
func (s *Server) adminStatementInput(w http.ResponseWriter, r *http.Request, a *adminRequest, invoice string) (report.StatementInput, bool) {
	st, err := a.env.DB.StatementByInvoice(r.Context(), invoice)
	if err == nil && a.env.Config.Contract(st.ContractID) == nil {
		err = store.ErrNotFound
	}
	var in report.StatementInput
	if err == nil {
		in, err = statementInput(r.Context(), a.env, st, a.today)
	}
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return in, false
	}
	if err != nil {
		s.dashboardError(w, "statement", err)
		return in, false
	}
	return in, true
}

// statementInput is what statement st is rendered from, on the page and
// in its PDF alike: its figures as of today, its currency, the agency's
// invoice details and its Stripe payment link.
func statementInput(ctx context.Context, env *jobs.Env, st *store.Statement, today billing.Date) (report.StatementInput, error) {
	cfg := env.Config
	d, err := env.DB.StatementFor(ctx, env.Rules, st.ContractID, st.Period, today)
	if err != nil {
		return report.StatementInput{}, err
	}
	pay, err := env.DB.PaymentLink(ctx, st.InvoiceNumber)
	if err != nil {
		return report.StatementInput{}, err
	}
	return report.StatementInput{Data: d, Currency: cmp.Or(st.Currency, cfg.Currency), Agency: cfg.Agency.Name,
		Issuer: jobs.Issuer(cfg), AsOf: today, PayURL: pay}, nil
}

// writePDF sends pdf as the download <invoice>.pdf. It is the client's
// invoice: never cached.
func writePDF(w http.ResponseWriter, invoice string, pdf []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": invoice + ".pdf"}))
	h.Set("Cache-Control", "no-store")
	w.Write(pdf)
}
