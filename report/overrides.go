package report

import (
	"errors"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"retainer/templates"
)

// The parsing of every message and statement template, embedded or an
// override from templates_dir, so that `retainer check` refuses a broken
// override with the very parser that would fail on it when a statement is
// due.

// parseText parses a text or markdown template as the senders render it.
func parseText(name string, body []byte) (*template.Template, error) {
	return template.New(name).Funcs(funcs).Option("missingkey=error").Parse(string(body))
}

// parseHTML parses an HTML template (the statement email's HTML part).
func parseHTML(name string, body []byte) (*htmltemplate.Template, error) {
	return htmltemplate.New(name).Option("missingkey=error").Parse(string(body))
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

// CheckOverrides parses every file in dir that overrides an embedded
// template, each with the parser it is rendered with; an HTML template is
// also escaped (html/template checks its contexts only then). It returns
// the problems (one *OverrideError per broken file, by file name), and the
// .tmpl files in dir that override nothing, which are likely misspelt.
func CheckOverrides(dir string) (problems []error, unused []string, err error) {
	if dir == "" {
		return nil, nil, nil
	}
	names, err := fs.Glob(templates.FS, "*.tmpl")
	if err != nil {
		return nil, nil, err
	}
	known := map[string]bool{}
	for _, name := range names {
		known[name] = true
		path := filepath.Join(dir, name)
		body, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			problems = append(problems, &OverrideError{File: path, Err: err})
			continue
		}
		if err := parseOverride(name, body); err != nil {
			problems = append(problems, &OverrideError{File: path, Err: err})
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.tmpl"))
	if err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		if !known[filepath.Base(f)] {
			unused = append(unused, f)
		}
	}
	sort.Strings(unused)
	return problems, unused, nil
}

// parseOverride parses one template the way it is rendered.
func parseOverride(name string, body []byte) error {
	if !strings.HasSuffix(name, ".html.tmpl") {
		_, err := parseText(name, body)
		return err
	}
	t, err := parseHTML(name, body)
	if err != nil {
		return err
	}
	// Escaping happens at the first Execute, before any data is read: an
	// escaping problem is an *html/template.Error, anything else comes
	// from executing without data and is not the template's fault.
	var escape *htmltemplate.Error
	if err := t.Execute(io.Discard, nil); errors.As(err, &escape) {
		return err
	}
	return nil
}
