package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// `statement --format pdf` writes the PDF invoice to standard output, and
// says on standard error what its font could not show.
func TestStatementPDF(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "retainer.yaml")
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	invoiceDetails := "    tier: Growth Retainer\n    billing_name: Акме 株式会社 😀\n    billing_address: \"Straße 5\\nZürich\"\n    tax_rate: 20\n"
	patched := strings.Replace(string(body), "    tier: Growth Retainer\n", invoiceDetails, 1)
	if patched == string(body) {
		t.Fatal("the example's acme-001 has no tier line to add invoice details after")
	}
	if err := os.WriteFile(path, []byte(patched), 0o644); err != nil {
		t.Fatal(err)
	}
	e.must("log", "acme-001", "45", "--date", "2026-03-31")
	e.must("close", "--month", "2026-03")

	code, out, stderr := e.run("statement", "acme-001", "--month", "2026-03", "--format", "pdf")
	if code != 0 || !strings.HasPrefix(out, "%PDF-") {
		t.Fatalf("exit %d, stdout %.20q, stderr %s", code, out, stderr)
	}
	// CJK is drawn with the bundled fallback font; only the emoji, which
	// no font of the PDF has, is drawn as □ with a warning.
	if !strings.Contains(stderr, `warning: client billing name "Акме 株式会社 😀": no font of the PDF can show 1 of its characters (😀 U+1F600)`) {
		t.Errorf("no warning about the character the PDF cannot show: %q", stderr)
	}
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext is needed to read the PDF's text: apt-get install poppler-utils (.ci/run does)")
	}
	file := filepath.Join(e.dir, "acme-001-2026-03.pdf")
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command(bin, "-enc", "UTF-8", file, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, text)
	}
	for _, want := range []string{"INVOICE", "acme-001-2026-03", "Northwind Studio", "Акме 株式会社 □", "Straße 5", "Zürich", "Tax (20%)", "Total due"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}

	if code, _, stderr := e.run("statement", "acme-001", "--month", "2026-03", "--format", "docx"); code != exitUsage ||
		!strings.Contains(stderr, "text, markdown, html or pdf") {
		t.Errorf("unknown format: exit %d, %s", code, stderr)
	}

	// statements.pdf_fonts: a missing file and a file that is no TrueType
	// font are an invalid config (exit 2) naming the key, for `check` and
	// for the commands that would draw with it.
	if err := os.WriteFile(filepath.Join(e.dir, "notes.ttf"), []byte("not a font"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ fonts, want string }{
		{"[fonts/missing.ttf]", "statements.pdf_fonts[0]: cannot use " + filepath.Join(e.dir, "fonts", "missing.ttf")},
		{"[notes.ttf]", "statements.pdf_fonts[0]: " + filepath.Join(e.dir, "notes.ttf") + ": not a TrueType font file"},
	} {
		withFonts := strings.Replace(patched, "statements:\n", "statements:\n  pdf_fonts: "+tt.fonts+"\n", 1)
		if withFonts == patched {
			withFonts = patched + "statements:\n  pdf_fonts: " + tt.fonts + "\n"
		}
		if err := os.WriteFile(path, []byte(withFonts), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"check"}, {"statement", "acme-001", "--month", "2026-03", "--format", "pdf"}} {
			if code, _, stderr := e.run(args...); code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("%s with pdf_fonts %s: exit %d, stderr %q, want %d and %q", args[0], tt.fonts, code, stderr, exitUsage, tt.want)
			}
		}
	}
}
