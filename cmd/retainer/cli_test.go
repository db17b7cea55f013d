package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// runWith runs one command line with exactly the environment given (no
// RETAINER_CONFIG unless it is there).
func (e *env) runWith(environ []string, args ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	var out, errb bytes.Buffer
	a := &invocation{stdout: &out, stderr: &errb, environ: environ, now: func() time.Time { return e.now }}
	code = a.run(context.Background(), args)
	return code, out.String(), errb.String()
}

func TestGlobalConfigBeforeCommand(t *testing.T) {
	e := newEnv(t)
	cfg := filepath.Join(e.dir, "retainer.yaml")
	missing := []string{"RETAINER_CONFIG=" + filepath.Join(e.dir, "missing.yaml")}
	for _, args := range [][]string{
		{"--config", cfg, "status"},
		{"--config=" + cfg, "status", "acme-001"},
		{"-config", cfg, "check"},
		{"--config", filepath.Join(e.dir, "missing.yaml"), "status", "--config", cfg}, // the command's own wins
	} {
		if code, out, stderr := e.runWith(missing, args...); code != exitOK || out == "" {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, stderr)
		}
	}
	for _, args := range [][]string{
		{"--config"},
		{"--config="},
		{"--config", cfg},
	} {
		if code, _, stderr := e.runWith(missing, args...); code != exitUsage || stderr == "" {
			t.Errorf("%v: exit %d %q, want 2", args, code, stderr)
		}
	}
	// The global --config overrides RETAINER_CONFIG: a missing file is
	// reported by its own name.
	if code, _, stderr := e.run("--config", filepath.Join(e.dir, "other.yaml"), "status"); code != exitUsage || !strings.Contains(stderr, "other.yaml") {
		t.Errorf("global --config vs RETAINER_CONFIG: exit %d %q", code, stderr)
	}
}

// TestUnknownContractExits2: every command given an unknown contract exits
// 2 (bad usage), portal link included.
func TestUnknownContractExits2(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{
		{"portal", "link", "nope"},
		{"status", "nope"},
		{"log", "nope", "1"},
		{"statement", "nope", "--month", "2026-03"},
	} {
		if code, _, stderr := e.run(args...); code != exitUsage || !strings.Contains(stderr, `no contract "nope"`) {
			t.Errorf("%v: exit %d %q, want 2", args, code, stderr)
		}
	}
}

// TestPasswordHashFromPipe: standard input that is a file but not a
// terminal is read as a line, with no prompt.
func TestPasswordHashFromPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := w.WriteString("s3cret-demo\n"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var out, errb bytes.Buffer
	a := &invocation{stdin: r, stdout: &out, stderr: &errb}
	if code := a.run(context.Background(), []string{"password-hash"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if errb.Len() != 0 {
		t.Errorf("prompted on a pipe: %q", errb.String())
	}
	if err := bcrypt.CompareHashAndPassword([]byte(strings.TrimSpace(out.String())), []byte("s3cret-demo")); err != nil {
		t.Error(err)
	}
}

// TestCheckParsesOverrideTemplates: a broken override fails check (exit 2,
// naming the file and the parser's line), not the first statement.
func TestCheckParsesOverrideTemplates(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(e.dir, "templates")
	e.extra = []string{"RETAINER_TEMPLATES_DIR=" + dir}
	e.write("templates/statement.txt.tmpl", "Statement {{.InvoiceNumber}}\n")
	e.write("templates/statment.md.tmpl", "misspelt\n")
	out := e.must("check")
	if !strings.Contains(out, "statment.md.tmpl overrides no template") {
		t.Errorf("no warning about the misspelt override:\n%s", out)
	}
	for _, tc := range []struct {
		file, body, want string
	}{
		{"statement.txt.tmpl", "Statement\n\n{{if .InvoiceNumber}}\n", "statement.txt.tmpl:4: unexpected EOF"},
		{"alert.txt.tmpl", "Subject: {{.Contract.ID}\n", "alert.txt.tmpl:1: "},
		{"statement.md.tmpl", "{{nosuchfunc .X}}\n", `function "nosuchfunc" not defined`},
		// html/template finds this only when it escapes, at the first render.
		{"statement.html.tmpl", "<p>\n{{if .InvoiceNumber}}<a href=\"{{else}}<b>{{end}}\n", "statement.html.tmpl:2"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			e.write("templates/statement.txt.tmpl", "Statement {{.InvoiceNumber}}\n")
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

// TestEnvOverrideOfADashedContract: RETAINER_CONTRACTS__ACME-001__… is not
// a name bash can export, but it reaches retainer through env(1) and works
// (the README shows it so).
func TestEnvOverrideOfADashedContract(t *testing.T) {
	e := newEnv(t)
	e.extra = []string{"RETAINER_CONTRACTS__ACME-001__MONTHLY_HOURS=50"}
	out := e.must("status", "acme-001", "--month", "2026-03", "--json")
	if !strings.Contains(out, `"hours_contracted":50.00`) {
		t.Errorf("the override did not apply:\n%s", out)
	}
}
