package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckWebPageOverrides: a web page override in templates_dir/web is
// parsed with the layout as it will be rendered, so that a broken one fails
// check (exit 2, naming FILE:LINE) rather than the dashboard; a misspelt
// one is a warning.
func TestCheckWebPageOverrides(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(e.dir, "templates")
	e.extra = []string{"RETAINER_TEMPLATES_DIR=" + dir}
	e.write("templates/web/dashboard.html.tmpl", `{{define "content"}}<h1>{{.Title}}</h1>{{end}}`)
	e.write("templates/web/portl.html.tmpl", `{{define "content"}}{{end}}`)
	out := e.must("check")
	if !strings.Contains(out, "web/portl.html.tmpl overrides no template") || strings.Contains(out, "dashboard.html.tmpl overrides no template") {
		t.Errorf("the misspelt page is not (or the right one is) warned of:\n%s", out)
	}
	for _, tc := range []struct {
		file, body, want string
	}{
		{"web/dashboard.html.tmpl", "{{define \"content\"}}\n<h1>{{.Title}</h1>{{end}}\n", "dashboard.html.tmpl:2: "},
		{"web/portal.html.tmpl", "{{define \"content\"}}{{hourz .Data}}{{end}}\n", `portal.html.tmpl:1: function "hourz" not defined`},
		{"web/layout.html.tmpl", "{{define \"layout\"}}\n\n{{template \"content\" .}}{{end}\n", "layout.html.tmpl:3: "},
		// html/template finds this only when it escapes, at the first render.
		{"web/jobs.html.tmpl", "{{define \"content\"}}\n{{if .Data}}<a href=\"{{end}}\">{{end}}\n", "jobs.html.tmpl:2:"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			e.write("templates/web/dashboard.html.tmpl", `{{define "content"}}<h1>{{.Title}}</h1>{{end}}`)
			path := e.write("templates/"+tc.file, tc.body)
			code, out, stderr := e.run("check")
			if code != exitUsage || !strings.Contains(stderr, path) || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 naming %s and %q", code, stderr, path, tc.want)
			}
			if strings.Contains(out, ": ok") {
				t.Errorf("check said ok: %s", out)
			}
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestStatementAndDigestTemplatesDir: the statement and digest commands
// render from templates_dir; with a broken override they refuse to run,
// naming it, rather than render half of the templates.
func TestStatementAndDigestTemplatesDir(t *testing.T) {
	e := newEnv(t)
	e.extra = []string{"RETAINER_TEMPLATES_DIR=" + filepath.Join(e.dir, "templates")}
	e.write("templates/statement.txt.tmpl", "custom statement {{.InvoiceNumber}}\n")
	e.write("templates/digest.txt.tmpl", "Subject: custom\n\ncustom digest {{.Period}}\n")
	if out := e.must("statement", "acme-001", "--month", "2026-11"); out != "custom statement acme-001-2026-11\n" {
		t.Errorf("statement = %q", out)
	}
	if out := e.must("digest"); out != "custom digest 2026-11\n" {
		t.Errorf("digest = %q", out)
	}
	path := e.write("templates/web/login.html.tmpl", "{{define \"content\"}}{{.CSRF}\n")
	for _, args := range [][]string{{"statement", "acme-001", "--month", "2026-11"}, {"digest"}} {
		code, out, stderr := e.run(args...)
		if code == exitOK || out != "" || !strings.Contains(stderr, path+":1: ") {
			t.Errorf("%v with a broken override: exit %d, %q, stderr %q", args, code, out, stderr)
		}
	}
}
