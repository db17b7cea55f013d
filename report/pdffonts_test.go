package report_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"retainer/report"
	"retainer/store/storetest"
)

// pdfFonts lists the fonts a PDF embeds, as poppler's pdffonts names them
// (fpdf's "utf8" + family + style for a UTF-8 font, the PostScript name
// for a Windows-1252 one).
func pdfFonts(t *testing.T, pdf []byte) []string {
	t.Helper()
	bin, err := exec.LookPath("pdffonts")
	if err != nil {
		t.Fatal("pdffonts is needed to list the PDF's fonts: apt-get install poppler-utils (.ci/run does)")
	}
	path := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdffonts: %v\n%s", err, out)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n")[2:] {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	sort.Strings(names)
	return names
}

// Each character is drawn in the first font that has it: DejaVu Sans,
// then the configured fonts, then the bundled Droid Sans Fallback (kanji,
// kana) and NanumSquare (Hangul); a PDF embeds only the fonts it draws
// with, and a Latin-only invoice none of the fallbacks.
func TestPDFFontFallbackOrder(t *testing.T) {
	// A configured font: the bundled Korean one under another name.
	korean := filepath.Join(t.TempDir(), "MyKorean.ttf")
	data, err := os.ReadFile("fonts/NanumSquareR.ttf")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(korean, data, 0o644); err != nil {
		t.Fatal(err)
	}
	configured, err := report.LoadPDFFonts([]string{korean})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, billingName string
		fonts             []*report.PDFFont
		want              []string
	}{
		// The Windows-1252 fast path: DejaVu Sans as simple fonts.
		{"Latin only", "Acme Corporation Ltd", nil, []string{"DejaVuSans", "DejaVuSans-Bold"}},
		{"kanji and kana: Droid", "株式会社アクメ", nil, []string{"utf8dejavu", "utf8dejavuB", "utf8fallback0B"}},
		{"kanji and Hangul: Droid and Nanum", "株式会社 한국", nil, []string{"utf8dejavu", "utf8dejavuB", "utf8fallback0B", "utf8fallback1B"}},
		{"Hangul: the bundled Nanum, after Droid", "한국 디자인", nil, []string{"utf8dejavu", "utf8dejavuB", "utf8fallback1B"}},
		{"Hangul: a configured font comes first", "한국 디자인", configured, []string{"utf8dejavu", "utf8dejavuB", "utf8fallback0B"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := taxedAcme()
			c.BillingName = tt.billingName
			d := invoiceFixture(t, c, "USD", 40, "")
			pdf, warnings := renderPDF(t, report.PDFInput{StatementInput: report.StatementInput{Data: d, Issuer: northwind, Currency: "USD", AsOf: storetest.Date("2026-03-01")}, Fonts: tt.fonts})
			if len(warnings) > 0 {
				t.Errorf("warnings: %q", warnings)
			}
			got := pdfFonts(t, pdf)
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("fonts %q, want %q", got, tt.want)
			}
			if text := pdfText(t, pdf); !strings.Contains(text, tt.billingName) {
				t.Errorf("PDF text lacks %q:\n%s", tt.billingName, text)
			}
		})
	}
}

// A font statements.pdf_fonts names that the PDF cannot embed is refused
// with the config path and the file named.
func TestLoadPDFFontsRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := "fonts/DejaVuSans.ttf"
	tests := []struct {
		name  string
		paths []string
		want  string // regexp
	}{
		{"missing file", []string{good, filepath.Join(dir, "nope.ttf")}, `^statements\.pdf_fonts\[1\]: open .*nope\.ttf: no such file`},
		{"collection", []string{write("cjk.ttc", append([]byte("ttcf"), make([]byte, 64)...))}, `^statements\.pdf_fonts\[0\]: .*cjk\.ttc: a font collection \(\.ttc\)`},
		{"CFF OpenType", []string{write("cjk.otf", append([]byte("OTTO"), make([]byte, 64)...))}, `^statements\.pdf_fonts\[0\]: .*cjk\.otf: an OpenType font with CFF outlines`},
		{"not a font", []string{write("notes.ttf", []byte("hello, this is text"))}, `^statements\.pdf_fonts\[0\]: .*notes\.ttf: not a TrueType font file`},
		{"empty file", []string{write("empty.ttf", nil)}, `^statements\.pdf_fonts\[0\]: .*empty\.ttf: not a font file`},
		{"truncated TrueType", []string{write("cut.ttf", []byte{0, 1, 0, 0, 0, 9})}, `^statements\.pdf_fonts\[0\]: .*cut\.ttf: not a readable TrueType font`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fonts, err := report.LoadPDFFonts(tt.paths)
			if err == nil {
				t.Fatalf("loaded %d fonts, want an error", len(fonts))
			}
			if !regexp.MustCompile(tt.want).MatchString(err.Error()) {
				t.Errorf("error %q, want %s", err, tt.want)
			}
		})
	}
	if fonts, err := report.LoadPDFFonts([]string{good}); err != nil || len(fonts) != 1 || fonts[0].Name != "DejaVuSans.ttf" {
		t.Errorf("LoadPDFFonts(%s) = %v, %v", good, fonts, err)
	}
}
