package web

import (
	"bytes"
	"io"
	"net/http"
	"path"

	"retainer/report"
)

// page is what every page template gets: the layout's fields and the
// page's own Data.
type page struct {
	Title  string
	Agency string
	Admin  bool   // the dashboard's navigation and logout form
	CSRF   string // the session's CSRF token, for every form
	Data   any
}

// render writes page name (a file in templates/web, or its override in
// templates_dir/web) with status, from the templates of the config in
// force, so that a reload's templates_dir takes effect. Pages are private
// to their viewer: never cached.
func (s *Server) render(w http.ResponseWriter, status int, name string, p page) {
	var buf bytes.Buffer
	err := s.Env().Templates.ExecutePage(&buf, name, p)
	if err == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		buf.WriteTo(w)
		return
	}
	s.log().Error("render page", "page", name, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// statementCSP is the policy of a statement page: the statement is the
// email's HTML, styled with inline style attributes, its chart a data: PNG.
// No script, no <style> element, no form.
const statementCSP = "default-src 'none'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// writeStatement serves a statement as a page of its own (see
// report.StatementPage) rendered from tmpl, the config's templates, under
// its own policy.
func writeStatement(w http.ResponseWriter, in report.StatementInput, tmpl *report.Templates) error {
	body, err := report.StatementPage(in, tmpl)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Security-Policy", statementCSP)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, err = io.WriteString(w, body)
	return err
}

// serveStatic serves the pages' stylesheet, app.css (templates/web, or its
// override in templates_dir/web), of the config in force.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	if path.Clean(r.URL.Path) != "app.css" {
		http.NotFound(w, r)
		return
	}
	body := s.Env().Templates.CSS()
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(body)
}
