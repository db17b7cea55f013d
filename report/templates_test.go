package report

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFiles writes files (name relative to dir: body) into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		file := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A page override as the embedded ones are: its "content" in the layout.
const okPage = `{{define "content"}}<p id="custom">{{.Title}}</p>{{end}}`

// TestParseTemplatesRefusesBrokenOverrides: every override that would fail
// at its first render (a parse error, an HTML one that does not escape, a
// file that cannot be read) fails ParseTemplates as an *OverrideError
// naming FILE:LINE; every broken file is listed, each once.
func TestParseTemplatesRefusesBrokenOverrides(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // per broken file (relative to dir): what its error says after the path
	}{
		{"text", map[string]string{"statement.txt.tmpl": "Statement\n\n{{if .InvoiceNumber}}\n"},
			[]string{"statement.txt.tmpl:4: unexpected EOF"}},
		{"unknown function", map[string]string{"statement.md.tmpl": "{{nosuchfunc .X}}\n"},
			[]string{`statement.md.tmpl:1: function "nosuchfunc" not defined`}},
		{"statement HTML that does not escape", map[string]string{"statement.html.tmpl": "<p>\n{{if .InvoiceNumber}}<a href=\"{{else}}<b>{{end}}\n"},
			[]string{"statement.html.tmpl:2:"}},
		{"page", map[string]string{"web/dashboard.html.tmpl": "{{define \"content\"}}\n{{.Data.\n{{end}}"},
			[]string{"web/dashboard.html.tmpl:2: "}},
		{"page without the page helpers", map[string]string{"web/outbox.html.tmpl": "{{define \"content\"}}{{hourz 1 2}}{{end}}"},
			[]string{`web/outbox.html.tmpl:1: function "hourz" not defined`}},
		{"page that does not escape", map[string]string{"web/jobs.html.tmpl": "{{define \"content\"}}\n<a href=\"{{if .Data}}\">{{end}}{{end}}"},
			[]string{"web/jobs.html.tmpl:2:"}},
		{"layout, listed once for every page", map[string]string{"web/layout.html.tmpl": "{{define \"layout\"}}\n{{template \"content\" .}\n{{end}}"},
			[]string{"web/layout.html.tmpl:2: "}},
		{"layout that does not escape with the pages", map[string]string{"web/layout.html.tmpl": "{{define \"layout\"}}<a href=\"{{template \"content\" .}}\">{{end}}"},
			[]string{"web/layout.html.tmpl: html/template:layout: "}}, // the escaper gives no line there
		{"every broken file", map[string]string{
			"alert.txt.tmpl":           "Subject: {{.Contract.ID}\n",
			"web/portal.html.tmpl":     "{{define \"content\"}}{{end}",
			"web/login.html.tmpl":      okPage, // fine
			"digest.txt.tmpl":          "Subject: fine\n\n{{.Title}}\n",
			"web/statements.html.tmpl": "{{define \"content\"}}{{range}}{{end}}{{end}}",
		}, []string{"alert.txt.tmpl:1: ", "web/portal.html.tmpl:1: ", "web/statements.html.tmpl:1: "}},
		{"unreadable", map[string]string{"checkin.txt.tmpl/x": ""}, []string{"checkin.txt.tmpl: read "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			tmpl, err := ParseTemplates(dir)
			if tmpl != nil || err == nil {
				t.Fatalf("ParseTemplates = %v, %v; want an error", tmpl, err)
			}
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var oe *OverrideError
				if !errors.As(e, &oe) {
					t.Fatalf("%v (%T) is not an *OverrideError", e, e)
				}
				rel, _ := filepath.Rel(dir, oe.File)
				if !strings.HasPrefix(e.Error(), oe.File) {
					t.Errorf("%q does not start with its file %s", e, oe.File)
				}
				got = append(got, rel+strings.TrimPrefix(e.Error(), oe.File))
			}
			t.Logf("%s", err)
			if len(got) != len(tc.want) {
				t.Fatalf("errors:\n%s\nwant %d: %q", strings.Join(got, "\n"), len(tc.want), tc.want)
			}
			for i, want := range tc.want {
				if !strings.HasPrefix(got[i], want) {
					t.Errorf("error %d = %q, want %q…", i, got[i], want)
				}
			}
			// check sees the same problems.
			problems, _, err := CheckOverrides(dir)
			if err != nil || len(problems) != len(tc.want) {
				t.Errorf("CheckOverrides = %v, %v", problems, err)
			}
		})
	}
}

// TestParseTemplatesOverrides: each override is used in place of its
// namesake, and only there; the embedded set is parsed once per process
// and a templates_dir shares every template it does not override.
func TestParseTemplatesOverrides(t *testing.T) {
	base, err := ParseTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := ParseTemplates(""); again != base {
		t.Error("the embedded templates were parsed twice")
	}
	for _, tc := range []struct {
		name      string
		files     map[string]string
		text      []string // the top-level templates parsed again, the rest shared
		pages     []string // the pages parsed again, the rest shared
		customCSS bool
	}{
		{"none", nil, nil, nil, false},
		{"unrelated files", map[string]string{"README": "x", "web/notes.txt": "x"}, nil, nil, false},
		{"a message", map[string]string{"alert.txt.tmpl": "Subject: x\n\ny\n"}, []string{"alert.txt.tmpl"}, nil, false},
		{"the statement HTML", map[string]string{"statement.html.tmpl": "<p>{{.InvoiceNumber}}</p>"}, []string{"statement.html.tmpl"}, nil, false},
		{"a page", map[string]string{"web/outbox.html.tmpl": okPage}, nil, []string{"outbox.html.tmpl"}, false},
		{"the layout: every page", map[string]string{"web/layout.html.tmpl": `{{define "layout"}}<main>{{template "content" .}}</main>{{end}}`}, nil,
			[]string{"contract.html.tmpl", "dashboard.html.tmpl", "jobs.html.tmpl", "login.html.tmpl", "outbox.html.tmpl", "portal.html.tmpl",
				"portfolio.html.tmpl", "statements.html.tmpl"}, false},
		{"the stylesheet", map[string]string{"web/app.css": "p {}\n"}, nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			tmpl, err := ParseTemplates(dir)
			if err != nil {
				t.Fatal(err)
			}
			for name, bt := range base.text {
				if (tmpl.text[name] != bt) != slices.Contains(tc.text, name) {
					t.Errorf("%s: parsed again %v, want %v", name, tmpl.text[name] != bt, slices.Contains(tc.text, name))
				}
			}
			for name, bt := range base.html {
				if (tmpl.html[name] != bt) != slices.Contains(tc.text, name) {
					t.Errorf("%s: parsed again %v, want %v", name, tmpl.html[name] != bt, slices.Contains(tc.text, name))
				}
			}
			for name, bp := range base.pages {
				if (tmpl.pages[name] != bp) != slices.Contains(tc.pages, name) {
					t.Errorf("web/%s: parsed again %v, want %v", name, tmpl.pages[name] != bp, slices.Contains(tc.pages, name))
				}
			}
			if custom := !bytes.Equal(tmpl.CSS(), base.CSS()); custom != tc.customCSS {
				t.Errorf("custom app.css %v, want %v", custom, tc.customCSS)
			}
		})
	}
}

// TestTemplatesReadOnce: templates_dir is read by ParseTemplates only:
// with the directory gone, 100 renders of each kind still use what it had.
func TestTemplatesReadOnce(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"statement.md.tmpl":    "custom markdown {{.Period}}",
		"statement.html.tmpl":  "<p>custom html {{.Period}}</p>",
		"web/login.html.tmpl":  okPage,
		"web/layout.html.tmpl": `{{define "layout"}}<main class="custom">{{template "content" .}}</main>{{end}}`,
		"web/app.css":          "/* custom */",
	})
	tmpl, err := ParseTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		for _, tc := range []struct {
			render func(*bytes.Buffer) error
			want   string
		}{
			{func(b *bytes.Buffer) error {
				return tmpl.Execute(b, "statement.md.tmpl", map[string]string{"Period": "2026-02"})
			}, "custom markdown 2026-02"},
			{func(b *bytes.Buffer) error {
				return tmpl.Execute(b, "statement.html.tmpl", map[string]string{"Period": "2026-02"})
			}, "<p>custom html 2026-02</p>"},
			{func(b *bytes.Buffer) error {
				return tmpl.ExecutePage(b, "login.html.tmpl", map[string]string{"Title": "<Log in>"})
			},
				`<main class="custom"><p id="custom">&lt;Log in&gt;</p></main>`},
			{func(b *bytes.Buffer) error { b.Write(tmpl.CSS()); return nil }, "/* custom */"},
		} {
			var b bytes.Buffer
			if err := tc.render(&b); err != nil || b.String() != tc.want {
				t.Fatalf("render %d: %q, %v; want %q", i, b.String(), err, tc.want)
			}
		}
	}
}

// TestCheckOverridesUnused: check warns of every file that overrides
// nothing, in templates_dir and in its web/, and of none that does.
func TestCheckOverridesUnused(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"statement.txt.tmpl":      "Statement {{.InvoiceNumber}}\n",
		"statment.md.tmpl":        "misspelt\n",
		"dashboard.html.tmpl":     okPage, // a page belongs in web/
		"web/dashboard.html.tmpl": okPage,
		"web/dashbord.html.tmpl":  okPage,
		"web/app.css":             "p {}\n",
		"web/style.css":           "p {}\n",
		"web/statement.html.tmpl": "<p></p>", // a statement belongs at the top
		"notes.txt":               "not a template",
	})
	problems, unused, err := CheckOverrides(dir)
	if err != nil || len(problems) > 0 {
		t.Fatalf("CheckOverrides: %v, %v", problems, err)
	}
	var want []string
	for _, name := range []string{"dashboard.html.tmpl", "statment.md.tmpl", "web/dashbord.html.tmpl", "web/statement.html.tmpl", "web/style.css"} {
		want = append(want, filepath.Join(dir, name))
	}
	if !slices.Equal(unused, want) {
		t.Errorf("unused = %q\nwant %q", unused, want)
	}
	if p, u, err := CheckOverrides(""); p != nil || u != nil || err != nil {
		t.Errorf("CheckOverrides(\"\") = %v, %v, %v", p, u, err)
	}
}
