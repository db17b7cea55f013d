package web

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"retainer/config"
	"retainer/jobs"
	"retainer/report"
)

// writeOverrides writes files (name relative to dir: body) into dir.
func writeOverrides(t *testing.T, dir string, files map[string]string) {
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

// TestTemplatesDirOverridesPages: a reload whose templates_dir has
// web/<page> and web/app.css serves them (with the page helpers and
// escaping of the embedded pages), and its statement.html.tmpl is the
// statement page; the pages it does not override stay the embedded ones;
// a reload without templates_dir brings every embedded page back.
func TestTemplatesDirOverridesPages(t *testing.T) {
	f := newFixture(t)
	admin, _ := dashLoggedIn(t, f)
	acme := portalLink(t, f, "acme")
	dir := t.TempDir()
	writeOverrides(t, dir, map[string]string{
		"web/dashboard.html.tmpl": `{{define "content"}}<p id="custom-dashboard">{{.Data.PeriodName}}</p>{{end}}`,
		"web/portal.html.tmpl":    `{{define "content"}}{{with .Data}}<p id="custom-portal">{{.Client}} used {{hours .Figures.Used .Unit}}</p>{{end}}{{end}}`,
		"web/app.css":             "/* custom stylesheet */\n",
		"statement.html.tmpl":     `<p id="custom-statement">{{.InvoiceNumber}}</p><img src="cid:{{.ChartCID}}">`,
	})

	tests := []struct {
		name, path string
		admin      bool
		embedded   string // in the body without templates_dir
		override   string // in the body with it
	}{
		{"dashboard page", "/", true, `<h1>Burn tracker · March 2026`, `<p id="custom-dashboard">March 2026</p>`},
		{"portal page", acme, false, `<h1>Acme &lt;script&gt;alert(1)&lt;/script&gt;</h1>`,
			`<p id="custom-portal">Acme &lt;script&gt;alert(1)&lt;/script&gt; used 30.00</p>`},
		{"stylesheet", "/static/app.css", false, ".card", "/* custom stylesheet */\n"},
		{"statement page", "/statements/acme-2026-02", true, `<title>Statement acme-2026-02</title>`, `<p id="custom-statement">acme-2026-02</p><img src="data:image/png;base64,`},
		{"page not overridden", "/outbox", true, "<h1>Outbox</h1>", "<h1>Outbox</h1>"},
	}
	get := func(t *testing.T, path string, admin *http.Client) string {
		t.Helper()
		c := admin
		if c == nil {
			f.advance(time.Second) // the portal's rate limit: 2 a second
			c = f.client()
		}
		resp := dashGet(t, f, c, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, resp.body)
		}
		return resp.body
	}
	for _, phase := range []struct {
		name string
		dir  string
	}{{"embedded", ""}, {"templates_dir", dir}, {"reloaded without templates_dir", ""}} {
		portalSwapConfig(t, f, func(cfg *config.Config) { cfg.TemplatesDir = phase.dir })
		for _, tt := range tests {
			t.Run(phase.name+"/"+tt.name, func(t *testing.T) {
				var c *http.Client
				if tt.admin {
					c = admin
				}
				body := get(t, tt.path, c)
				want, notWant := tt.embedded, tt.override
				if phase.dir != "" {
					want, notWant = tt.override, tt.embedded
				}
				if tt.embedded == tt.override {
					notWant = ""
				}
				if !strings.Contains(body, want) || (notWant != "" && strings.Contains(body, notWant)) {
					t.Errorf("GET %s: want %q, not %q, in:\n%.2000s", tt.path, want, notWant, body)
				}
			})
		}
	}
}

// TestTemplatesDirBrokenPageRefused: a config whose web page override does
// not parse (or does not escape) builds no Env, so a reload to it keeps
// the running config and its pages.
func TestTemplatesDirBrokenPageRefused(t *testing.T) {
	f := newFixture(t)
	admin, _ := dashLoggedIn(t, f)
	for _, tc := range []struct{ file, body, want string }{
		{"web/dashboard.html.tmpl", "{{define \"content\"}}\n{{if .Data}}\n", "dashboard.html.tmpl:3: unexpected EOF"},
		{"web/layout.html.tmpl", "{{define \"layout\"}}{{template \"content\" .}}{{end}\n", "layout.html.tmpl:1: "},
		{"web/jobs.html.tmpl", "{{define \"content\"}}<a href=\"{{if .Data}}\">{{end}}{{end}}", "jobs.html.tmpl:1:"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			dir := t.TempDir()
			writeOverrides(t, dir, map[string]string{tc.file: tc.body})
			cfg := *f.env.Config
			cfg.TemplatesDir = dir
			_, err := jobs.NewEnv(context.Background(), &cfg, f.env.DB, f.clock())
			var oe *report.OverrideError
			if !errors.As(err, &oe) || oe.File != filepath.Join(dir, tc.file) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewEnv = %v, want the override error of %s with %q", err, tc.file, tc.want)
			}
			if resp := dashGet(t, f, admin, "/"); resp.StatusCode != http.StatusOK || !strings.Contains(resp.body, "<h1>Burn tracker") {
				t.Errorf("the running config's dashboard: %d\n%s", resp.StatusCode, resp.body)
			}
		})
	}
}
