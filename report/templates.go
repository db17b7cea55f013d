package report

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/template"

	"retainer/billing"
	"retainer/templates"
)

// Templates is every template of one config, each read and parsed once:
// the embedded defaults, any of them replaced by the file of the same name
// in templates_dir (messages and statements at its top, the web pages and
// app.css in its web/). A config is loaded with its Templates, so an
// override is read at a start or a reload, never per message or page; one
// that does not parse refuses the config.
//
// A Templates is never changed once built, and is safe for concurrent use.
// A nil *Templates is the embedded set.
type Templates struct {
	text  map[string]*template.Template     // top-level *.txt.tmpl and *.md.tmpl
	html  map[string]*htmltemplate.Template // top-level *.html.tmpl
	pages map[string]*htmltemplate.Template // each web page, parsed with the layout
	css   []byte                            // the pages' stylesheet
}

// The web pages and their stylesheet live in web/, embedded and in
// templates_dir alike; every page is the layout with the page's "content".
const (
	webDir     = "web"
	layoutFile = "layout.html.tmpl"
	cssFile    = "app.css"
)

// pageFuncs are the helpers every web page may use; figures are formatted
// exactly as on the statements.
var pageFuncs = htmltemplate.FuncMap{
	"hours": func(seconds int64, unit billing.Unit) string { return billing.FormatQuantity(seconds, unit) },
	"money": func(m billing.Money, currency string) string { return m.Format(currency) },
	"pct":   func(p billing.Pct) string { return p.String() },
}

// embedded is the set without overrides: parsed at its first use, once per
// process, and shared by every config without templates_dir and by every
// name a templates_dir does not override.
var embedded = sync.OnceValues(parseEmbedded)

// ParseTemplates reads and parses every template: the embedded ones, each
// replaced by its override in dir ("" = none). An override that does not
// parse, or an HTML one that does not escape, makes it fail: the error
// joins one *OverrideError per broken file.
func ParseTemplates(dir string) (*Templates, error) {
	t, problems, err := parseTemplates(dir)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return t, nil
}

// CheckOverrides parses dir as ParseTemplates does and returns its problems
// one by one (a *OverrideError per broken file, in file name order), and
// the files in dir and dir/web that override nothing, which are likely
// misspelt.
func CheckOverrides(dir string) (problems []error, unused []string, err error) {
	if dir == "" {
		return nil, nil, nil
	}
	if _, problems, err = parseTemplates(dir); err != nil {
		return nil, nil, err
	}
	if unused, err = unusedOverrides(dir); err != nil {
		return nil, nil, err
	}
	return problems, unused, nil
}

// Execute renders the top-level template name (a message, or a statement
// in text, markdown or HTML) with data.
func (t *Templates) Execute(w io.Writer, name string, data any) error {
	t, err := t.orEmbedded()
	if err != nil {
		return err
	}
	if tt, ok := t.text[name]; ok {
		err = tt.Execute(w, data)
	} else if ht, ok := t.html[name]; ok {
		err = ht.Execute(w, data)
	} else {
		return fmt.Errorf("template %s: no such template", name)
	}
	if err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	return nil
}

// ExecutePage renders the web page name (a file in templates/web) inside
// the layout with p.
func (t *Templates) ExecutePage(w io.Writer, name string, p any) error {
	t, err := t.orEmbedded()
	if err != nil {
		return err
	}
	pt, ok := t.pages[name]
	if !ok {
		return fmt.Errorf("page %s: no such template", name)
	}
	if err := pt.ExecuteTemplate(w, "layout", p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	return nil
}

// CSS is the web pages' stylesheet, app.css.
func (t *Templates) CSS() []byte {
	t, err := t.orEmbedded()
	if err != nil {
		return nil
	}
	return t.css
}

func (t *Templates) orEmbedded() (*Templates, error) {
	if t != nil {
		return t, nil
	}
	return embedded()
}

// parseTemplates is ParseTemplates with the broken overrides listed rather
// than joined; err is anything else.
func parseTemplates(dir string) (t *Templates, problems []error, err error) {
	base, err := embedded()
	if err != nil || dir == "" {
		return base, nil, err
	}
	return base.override(dir)
}

// topNames and pageNames list the embedded templates: every top-level
// *.tmpl, and every web page but the layout.
func topNames() ([]string, error) { return fs.Glob(templates.FS, "*.tmpl") }

func pageNames() ([]string, error) {
	files, err := fs.Glob(templates.FS, webDir+"/*.html.tmpl")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		if name := path.Base(f); name != layoutFile {
			names = append(names, name)
		}
	}
	return names, nil
}

func parseEmbedded() (*Templates, error) {
	t := &Templates{text: map[string]*template.Template{}, html: map[string]*htmltemplate.Template{}, pages: map[string]*htmltemplate.Template{}}
	names, err := topNames()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		body, err := templates.FS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if err := t.add(name, body); err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
	}
	layout, err := templates.FS.ReadFile(webDir + "/" + layoutFile)
	if err != nil {
		return nil, err
	}
	pages, err := pageNames()
	if err != nil {
		return nil, err
	}
	for _, name := range pages {
		body, err := templates.FS.ReadFile(webDir + "/" + name)
		if err != nil {
			return nil, err
		}
		if t.pages[name], err = parsePage(name, layout, body); err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
	}
	if t.css, err = templates.FS.ReadFile(webDir + "/" + cssFile); err != nil {
		return nil, err
	}
	return t, nil
}

// override returns a copy of base with every template that dir overrides
// read and parsed from there; the rest stay base's, parsed once.
func (base *Templates) override(dir string) (*Templates, []error, error) {
	t := &Templates{text: maps.Clone(base.text), html: maps.Clone(base.html), pages: maps.Clone(base.pages), css: base.css}
	var problems []error
	broken := map[string]bool{} // a file is listed once, however many pages it breaks
	fail := func(file string, err error) {
		if !broken[file] {
			broken[file] = true
			problems = append(problems, &OverrideError{File: file, Err: err})
		}
	}

	names, err := topNames()
	if err != nil {
		return nil, nil, err
	}
	for _, name := range names {
		file := filepath.Join(dir, name)
		body, ok, err := readOverride(file)
		if err != nil {
			fail(file, err)
		} else if ok {
			if err := t.add(name, body); err != nil {
				fail(file, err)
			}
		}
	}

	// A page is parsed again when the page or the layout is overridden.
	layout, err := templates.FS.ReadFile(webDir + "/" + layoutFile)
	if err != nil {
		return nil, nil, err
	}
	layoutPath := filepath.Join(dir, webDir, layoutFile)
	layoutOverride := ""
	if body, ok, err := readOverride(layoutPath); err != nil {
		fail(layoutPath, err)
	} else if ok {
		// Alone, so that its syntax errors are its own; with a broken
		// layout the pages are still checked, against the embedded one.
		if _, err := htmltemplate.New(layoutFile).Funcs(pageFuncs).Parse(string(body)); err != nil {
			fail(layoutPath, err)
		} else {
			layout, layoutOverride = body, layoutPath
		}
	}
	pages, err := pageNames()
	if err != nil {
		return nil, nil, err
	}
	for _, name := range pages {
		file := filepath.Join(dir, webDir, name)
		body, ok, err := readOverride(file)
		if err != nil {
			fail(file, err)
			continue
		}
		pageOverride := ""
		switch {
		case ok:
			pageOverride = file
		case layoutOverride == "":
			continue // the embedded page as parsed once
		default: // the embedded page in the overriding layout
			if body, err = templates.FS.ReadFile(webDir + "/" + name); err != nil {
				return nil, nil, err
			}
		}
		p, err := parsePage(name, layout, body)
		if err != nil {
			fail(blame(err, pageOverride, layoutOverride), err)
			continue
		}
		t.pages[name] = p
	}

	cssPath := filepath.Join(dir, webDir, cssFile)
	if body, ok, err := readOverride(cssPath); err != nil {
		fail(cssPath, err)
	} else if ok {
		t.css = body
	}
	if len(problems) > 0 {
		return nil, problems, nil
	}
	return t, nil, nil
}

// blame is the override a page's problem comes from: the layout's when
// the parser or the escaper names the layout file, else the page's own,
// else (the page is embedded) the layout's.
func blame(err error, pageOverride, layoutOverride string) string {
	msg := err.Error()
	inLayout := strings.HasPrefix(msg, "template: "+layoutFile+":") || strings.HasPrefix(msg, "html/template:"+layoutFile+":")
	if pageOverride != "" && !(inLayout && layoutOverride != "") {
		return pageOverride
	}
	return layoutOverride
}

// readOverride reads an override file; ok is false when there is none.
func readOverride(file string) (body []byte, ok bool, err error) {
	body, err = os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	return body, err == nil, err
}

// unusedOverrides lists the .tmpl files in dir, and the .tmpl and .css
// files in dir/web, that have no embedded namesake.
func unusedOverrides(dir string) ([]string, error) {
	top, err := topNames()
	if err != nil {
		return nil, err
	}
	pages, err := pageNames()
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, name := range top {
		known[name] = true
	}
	knownWeb := map[string]bool{layoutFile: true, cssFile: true}
	for _, name := range pages {
		knownWeb[name] = true
	}
	var unused []string
	for _, d := range []struct {
		dir   string
		known map[string]bool
		exts  []string
	}{
		{dir, known, []string{".tmpl"}},
		{filepath.Join(dir, webDir), knownWeb, []string{".tmpl", ".css"}},
	} {
		entries, err := os.ReadDir(d.dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			name := e.Name()
			if !e.IsDir() && slices.Contains(d.exts, filepath.Ext(name)) && !d.known[name] {
				unused = append(unused, filepath.Join(d.dir, name))
			}
		}
	}
	sort.Strings(unused)
	return unused, nil
}
