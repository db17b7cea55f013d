package web

import (
	"bytes"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"sync"

	"retainer/billing"
	"retainer/report"
	"retainer/templates"
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

// funcs are the helpers every page may use; figures are formatted exactly
// as on the statements.
var funcs = template.FuncMap{
	"hours": func(seconds int64, unit billing.Unit) string { return billing.FormatQuantity(seconds, unit) },
	"money": func(m billing.Money, currency string) string { return m.Format(currency) },
	"pct":   func(p billing.Pct) string { return p.String() },
}

// pageCache holds the parsed page templates of one server.
type pageCache struct {
	mu    sync.Mutex
	pages map[string]*template.Template
}

// pageTemplate parses templates/web/layout.html.tmpl with the page's file,
// once.
func (s *Server) pageTemplate(name string) (*template.Template, error) {
	c := &s.pageCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.pages[name]; ok {
		return t, nil
	}
	t, err := template.New(name).Funcs(funcs).ParseFS(templates.FS, "web/layout.html.tmpl", "web/"+name)
	if err != nil {
		return nil, err
	}
	if c.pages == nil {
		c.pages = map[string]*template.Template{}
	}
	c.pages[name] = t
	return t, nil
}

// render writes page name (a file in templates/web) with status. Pages are
// private to their viewer: never cached.
func (s *Server) render(w http.ResponseWriter, status int, name string, p page) {
	t, err := s.pageTemplate(name)
	if err == nil {
		var buf bytes.Buffer
		if err = t.ExecuteTemplate(&buf, "layout", p); err == nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(status)
			buf.WriteTo(w)
			return
		}
	}
	s.log().Error("render page", "page", name, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// statementCSP is the policy of a statement page: the statement is the
// email's HTML, styled with inline style attributes, its chart a data: PNG.
// No script, no <style> element, no form.
const statementCSP = "default-src 'none'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// writeStatement serves a statement as a page of its own (see
// report.StatementPage), under its own policy.
func writeStatement(w http.ResponseWriter, in report.StatementInput, templatesDir string) error {
	body, err := report.StatementPage(in, templatesDir)
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

// serveStatic serves the embedded stylesheet (templates/web/*.css).
func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := path.Clean(r.URL.Path)
	if path.Ext(name) != ".css" {
		http.NotFound(w, r)
		return
	}
	body, err := fs.ReadFile(templates.FS, "web/"+name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(body)
}
