package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/image/font/sfnt"
)

// The bundled fallback fonts, unmodified from Debian: Droid Sans Fallback
// (fonts-droid-fallback 6.0.1r16, Apache License 2.0,
// fonts/LICENSE.DroidSansFallback) for Chinese and Japanese (kanji, kana)
// and many symbols; NanumSquare (fonts-nanum 20200506, SIL Open Font
// License 1.1, fonts/LICENSE.NanumSquare) for Korean (all 11,172 Hangul
// syllables, which Droid Sans Fallback lacks). The PDF draws with them
// only the characters DejaVu Sans has no glyph for, and only a PDF that
// has such characters parses one (about 0.1 s); each PDF embeds only the
// glyphs it uses.
var (
	//go:embed fonts/DroidSansFallbackFull.ttf
	droidSansFallback []byte
	//go:embed fonts/NanumSquareR.ttf
	nanumSquare []byte
)

// PDFFont is a TrueType font the PDF invoice draws the characters its own
// font (DejaVu Sans) lacks with: the fonts of config statements.pdf_fonts,
// in their order, then the bundled Droid Sans Fallback and NanumSquare.
type PDFFont struct {
	Name string // the file's name, or the bundled font's
	data []byte
	cov  *coverage
}

// bundledFallbacks are the bundled fonts, read once.
var bundledFallbacks = sync.OnceValues(func() ([]*PDFFont, error) {
	droid, err := newPDFFont("Droid Sans Fallback", droidSansFallback)
	if err != nil {
		return nil, fmt.Errorf("pdf font DroidSansFallbackFull.ttf: %w", err)
	}
	nanum, err := newPDFFont("NanumSquare", nanumSquare)
	if err != nil {
		return nil, fmt.Errorf("pdf font NanumSquareR.ttf: %w", err)
	}
	return []*PDFFont{droid, nanum}, nil
})

// LoadPDFFonts reads the fonts of statements.pdf_fonts: TrueType files
// (.ttf; a collection, .ttc, or a CFF OpenType font, .otf, is refused:
// the PDF writer embeds TrueType outlines only). An error names the file.
func LoadPDFFonts(paths []string) ([]*PDFFont, error) {
	fonts := make([]*PDFFont, 0, len(paths))
	for i, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("statements.pdf_fonts[%d]: %w", i, err)
		}
		f, err := newPDFFont(filepath.Base(p), data)
		if err != nil {
			return nil, fmt.Errorf("statements.pdf_fonts[%d]: %s: %w", i, p, err)
		}
		fonts = append(fonts, f)
	}
	return fonts, nil
}

// newPDFFont checks data is one TrueType font and reads which characters
// of the Basic Multilingual Plane it has glyphs for.
func newPDFFont(name string, data []byte) (*PDFFont, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("not a font file")
	}
	switch magic := data[:4]; {
	case bytes.Equal(magic, []byte("ttcf")):
		return nil, fmt.Errorf("a font collection (.ttc) holds several fonts; give one TrueType font (.ttf)")
	case bytes.Equal(magic, []byte("OTTO")):
		return nil, fmt.Errorf("an OpenType font with CFF outlines (.otf) cannot be embedded; give a TrueType font (.ttf)")
	case !bytes.Equal(magic, []byte{0, 1, 0, 0}) && !bytes.Equal(magic, []byte("true")):
		return nil, fmt.Errorf("not a TrueType font file")
	}
	font, err := sfnt.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("not a readable TrueType font: %w", err)
	}
	var cov coverage
	var buf sfnt.Buffer
	for r := rune(0); r < 0x10000; r++ {
		if gi, err := font.GlyphIndex(&buf, r); err == nil && gi != 0 {
			cov[r/64] |= 1 << (r % 64)
		}
	}
	return &PDFFont{Name: name, data: data, cov: &cov}, nil
}

// fallbacks is the fonts a PDF may need beyond DejaVu Sans: the
// configured ones, then the bundled ones.
func fallbacks(configured []*PDFFont) ([]*PDFFont, error) {
	bundled, err := bundledFallbacks()
	if err != nil {
		return nil, err
	}
	return append(append(make([]*PDFFont, 0, len(configured)+len(bundled)), configured...), bundled...), nil
}
