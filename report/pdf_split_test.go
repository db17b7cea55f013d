package report

import (
	"strings"
	"testing"

	"codeberg.org/go-pdf/fpdf"
)

// On the fast path a row's text is broken into lines where the UTF-8
// fonts break it: split measures by Windows-1252 code what fpdf's
// SplitText measures by code point, also for the characters of
// Windows-1252 beyond Latin-1 (€, —, …), which SplitText would read as
// missing from a 256-code font.
func TestPDFSplitWinAnsi(t *testing.T) {
	cov, err := pdfCoverage()
	if err != nil {
		t.Fatal(err)
	}
	fonts, err := winAnsiFonts()
	if err != nil {
		t.Fatal(err)
	}
	writer := func(winAnsi bool) *pdfWriter {
		f := fpdf.New("P", "mm", "A4", "")
		if winAnsi {
			f.AddFontFromBytes(pdfFamily, "", fonts[0].def, fonts[0].z)
		} else {
			f.AddUTF8FontFromBytes(pdfFamily, "", dejaVuSans)
		}
		f.SetFont(pdfFamily, "", 9.5)
		return &pdfWriter{f: f, winAnsi: winAnsi, text: &pdfText{cov: cov}}
	}
	fast, ref := writer(true), writer(false)
	tests := []struct {
		text  string
		width float64
	}{
		{"Overage beyond the 40.00 h available", 82},
		{"Overage beyond the 40.00 h available", 30},
		{"Retainer fee — février 2026 … “Œuvre” € 5 000,00", 40},
		{"Rückvergütung für Überstunden im Dezember 2026, inkl. Zuschläge", 25},
		{"EUR 5,000.00/Stunde", 10},
		{"Supercalifragilisticexpialidocious—unbreakable…words€€€", 20},
		{"two\nlines\n\n", 80},
		{"", 80},
	}
	for _, tt := range tests {
		got, want := fast.split(tt.text, tt.width), ref.f.SplitText(tt.text, tt.width)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("split(%q, %v) = %q, want %q", tt.text, tt.width, got, want)
		}
		if fast.other {
			t.Errorf("%q: marked as outside Windows-1252", tt.text)
		}
	}
	// The widths agree with the UTF-8 font's, character by character.
	for c := 0x20; c < 0x100; c++ {
		r, ok := winAnsiRune(byte(c))
		if !ok {
			continue
		}
		if got, want := fast.f.GetStringWidth(fast.enc(string(r))), ref.f.GetStringWidth(string(r)); got != want {
			t.Errorf("width of %q: %v, the UTF-8 font's %v", r, got, want)
		}
	}
}

// enc writes Windows-1252 and marks the document for the UTF-8 fonts at
// the first character outside it or DejaVu Sans.
func TestPDFEncWinAnsi(t *testing.T) {
	cov, err := pdfCoverage()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, want string
		other    bool
	}{
		{"ASCII only\nline two", "ASCII only\nline two", false},
		{"Café € — “x” …", "Caf\xe9 \x80 \x97 \x93x\x94 \x85", false},
		{"Ÿ ž ƒ", "\x9f \x9e \x83", false},
		{"Ёлка", "????", true},
		{"Łódź", "?\xf3d?", true},
		{"□", "?", true},
		{"\u0081", "?", true}, // a C1 control, undefined in Windows-1252
	}
	for _, tt := range tests {
		w := &pdfWriter{winAnsi: true, text: &pdfText{cov: cov}}
		if got := w.enc(tt.in); got != tt.want || w.other != tt.other {
			t.Errorf("enc(%q) = %q, other %v; want %q, %v", tt.in, got, w.other, tt.want, tt.other)
		}
		utf := &pdfWriter{text: &pdfText{cov: cov}}
		if got := utf.enc(tt.in); got != tt.in || utf.other {
			t.Errorf("UTF-8 enc(%q) = %q, other %v", tt.in, got, utf.other)
		}
	}
}
