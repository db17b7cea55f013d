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
	invoiceDetails := "    tier: Growth Retainer\n    billing_name: Акме 株式会社\n    billing_address: \"Straße 5\\nZürich\"\n    tax_rate: 20\n"
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
	if !strings.Contains(stderr, `warning: client billing name "Акме 株式会社"`) || !strings.Contains(stderr, "□") {
		t.Errorf("no warning about the CJK the PDF cannot show: %q", stderr)
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
	for _, want := range []string{"INVOICE", "acme-001-2026-03", "Northwind Studio", "Акме □□□□", "Straße 5", "Zürich", "Tax (20%)", "Total due"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}

	if code, _, stderr := e.run("statement", "acme-001", "--month", "2026-03", "--format", "docx"); code != exitUsage ||
		!strings.Contains(stderr, "text, markdown, html or pdf") {
		t.Errorf("unknown format: exit %d, %s", code, stderr)
	}
}
