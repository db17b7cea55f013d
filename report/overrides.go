package report

import (
	"errors"
	htmltemplate "html/template"
	"io"
	"path/filepath"
	"strings"
	"text/template"
)

// The parsing of every template, embedded or an override from
// templates_dir, so that a config whose override is broken is refused when
// it is loaded (and by `retainer check`), with the very parser that would
// fail on it when a statement is due.

// parseText parses a text or markdown template as the senders render it.
func parseText(name string, body []byte) (*template.Template, error) {
	return template.New(name).Funcs(funcs).Option("missingkey=error").Parse(string(body))
}

// parseHTML parses an HTML template (the statement email's HTML part).
func parseHTML(name string, body []byte) (*htmltemplate.Template, error) {
	return htmltemplate.New(name).Option("missingkey=error").Parse(string(body))
}

// parsePage parses web page name with the layout, as one template set
// whose "layout" is rendered.
func parsePage(name string, layout, body []byte) (*htmltemplate.Template, error) {
	t := htmltemplate.New(name).Funcs(pageFuncs)
	if _, err := t.New(layoutFile).Parse(string(layout)); err != nil {
		return nil, err
	}
	if _, err := t.Parse(string(body)); err != nil {
		return nil, err
	}
	if err := escape(t, "layout"); err != nil {
		return nil, err
	}
	return t, nil
}

// add parses the top-level template name, text or HTML by its name, into t.
func (t *Templates) add(name string, body []byte) error {
	if !strings.HasSuffix(name, ".html.tmpl") {
		tt, err := parseText(name, body)
		if err != nil {
			return err
		}
		t.text[name] = tt
		return nil
	}
	ht, err := parseHTML(name, body)
	if err != nil {
		return err
	}
	if err := escape(ht, name); err != nil {
		return err
	}
	t.html[name] = ht
	return nil
}

// escape escapes template name of t and every template it calls now, as
// its first render would: html/template checks its contexts only then.
// An escaping problem is an *html/template.Error; anything else comes from
// executing without data and is not the template's fault. Once escaped, a
// template is never escaped again, so renders share it without a lock.
func escape(t *htmltemplate.Template, name string) error {
	var escapeErr *htmltemplate.Error
	if err := t.ExecuteTemplate(io.Discard, name, nil); errors.As(err, &escapeErr) {
		return err
	}
	return nil
}

// OverrideError is an override template that does not parse.
type OverrideError struct {
	File string // the file in templates_dir
	Err  error  // the parser's error, with its line when it gives one
}

// Error reads FILE:LINE: problem when the parser names the line; its own
// "template: NAME:" prefix would only repeat the file.
func (e *OverrideError) Error() string {
	msg, name := e.Err.Error(), filepath.Base(e.File)
	for _, prefix := range []string{"template: " + name + ":", "html/template:" + name + ":"} {
		if rest, ok := strings.CutPrefix(msg, prefix); ok {
			return e.File + ":" + rest
		}
	}
	return e.File + ": " + msg
}

func (e *OverrideError) Unwrap() error { return e.Err }
