package web

import (
	"cmp"
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
	ctx, cfg := r.Context(), env.Config
	invoice := strings.TrimSuffix(r.PathValue("month"), ".pdf")
	st, err := env.DB.StatementByInvoice(ctx, invoice)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (st.ContractID != c.ID || st.Status == store.StatusDraft)) {
		s.portalNotFound(w, r) // unknown, another contract's, or under review
		return
	}
	if err != nil {
		s.portalError(w, "statement", err, "contract", c.ID)
		return
	}
	today := billing.DateAt(s.Now(), cfg.Location)
	d, err := env.DB.StatementFor(ctx, env.Rules, c.ID, st.Period, today)
	if err != nil {
		s.portalError(w, "statement", err, "contract", c.ID, "period", st.Period.String())
		return
	}
	pay, err := env.DB.PaymentLink(ctx, invoice)
	if err != nil {
		s.portalError(w, "statement", err, "contract", c.ID)
		return
	}
	pdf, _, err := report.StatementPDF(report.PDFInput{StatementInput: report.StatementInput{
		Data: d, Currency: cmp.Or(st.Currency, cfg.Currency), Agency: cfg.Agency.Name, Issuer: jobs.Issuer(cfg), AsOf: today, PayURL: pay,
	}, Paper: cfg.Statements.Paper})
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
	ctx, cfg := r.Context(), a.env.Config
	invoice := strings.TrimSuffix(r.PathValue("invoice"), ".pdf")
	st, err := a.env.DB.StatementByInvoice(ctx, invoice)
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.dashboardError(w, "statement", err)
		return
	}
	if cfg.Contract(st.ContractID) == nil {
		http.NotFound(w, r)
		return
	}
	d, err := a.env.DB.StatementFor(ctx, a.env.Rules, st.ContractID, st.Period, a.today)
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.dashboardError(w, "statement", err)
		return
	}
	pay, err := a.env.DB.PaymentLink(ctx, invoice)
	if err != nil {
		s.dashboardError(w, "statement", err)
		return
	}
	pdf, warnings, err := report.StatementPDF(report.PDFInput{StatementInput: report.StatementInput{
		Data: d, Currency: cmp.Or(st.Currency, cfg.Currency), Agency: cfg.Agency.Name, Issuer: jobs.Issuer(cfg), AsOf: a.today, PayURL: pay,
	}, Paper: cfg.Statements.Paper})
	if err != nil {
		s.dashboardError(w, "statement pdf", err)
		return
	}
	for _, warning := range warnings {
		s.log().Warn("statement pdf: "+warning, "invoice", invoice)
	}
	writePDF(w, invoice, pdf)
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
