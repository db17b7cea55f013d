package report

import (
	"bytes"
	"compress/zlib"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"unicode/utf8"

	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/encoding/charmap"
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

// The invoice's fast path: an invoice whose every character is in
// Windows-1252 (Western European) is drawn with DejaVu Sans as simple
// TrueType fonts in that encoding, whose definitions are made once per
// process. A UTF-8 font costs every document a parse of the whole font,
// a hash of its 65,536 widths and a subset; a simple font costs a lookup
// in 256 widths, but embeds the whole font file where the UTF-8 font
// embeds only the glyphs drawn: the faces' Windows-1252 cuts
// (fonts/DejaVuSans-cp1252.ttf, DejaVuSans-Bold-cp1252.ttf, made by
// fonts/subset.sh), about 20 KB compressed each.

// winAnsiFont is one face of DejaVu Sans as fpdf's AddFontFromBytes takes
// it: the definition (JSON, as fpdf's makefont writes it) and the font
// file, zlib-compressed.
type winAnsiFont struct {
	def, z []byte
}

// winAnsiFonts are the regular and the bold face, made once.
var winAnsiFonts = sync.OnceValues(func() ([2]winAnsiFont, error) {
	var out [2]winAnsiFont
	for i, face := range []struct {
		file string
		data []byte
		bold bool
	}{{"DejaVuSans", dejaVuSansCP1252, false}, {"DejaVuSans-Bold", dejaVuSansBoldCP1252, true}} {
		def, err := winAnsiDefinition(face.file, face.data, face.bold)
		if err != nil {
			return out, fmt.Errorf("pdf font %s.ttf: %w", face.file, err)
		}
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		if _, err := zw.Write(face.data); err != nil {
			return out, err
		}
		if err := zw.Close(); err != nil {
			return out, err
		}
		out[i] = winAnsiFont{def: def, z: z.Bytes()}
	}
	return out, nil
})

// winAnsiDefinition is the definition of a TrueType font drawn in
// Windows-1252 as fpdf's makefont makes it: metrics in thousandths of the
// em, the width of each of the 256 codes (the missing glyph's for a code
// the font or the encoding lacks).
func winAnsiDefinition(name string, data []byte, bold bool) ([]byte, error) {
	font, err := sfnt.Parse(data)
	if err != nil {
		return nil, err
	}
	var buf sfnt.Buffer
	upem := font.UnitsPerEm()
	ppem := fixed.I(int(upem)) // one pixel per font unit: metrics in font units
	scale := func(v fixed.Int26_6) int {
		return int(math.Round(float64(v) / 64 * 1000 / float64(upem)))
	}
	advance := func(gi sfnt.GlyphIndex) (int, error) {
		a, err := font.GlyphAdvance(&buf, gi, ppem, xfont.HintingNone)
		return scale(a), err
	}
	missing, err := advance(0)
	if err != nil {
		return nil, err
	}
	widths := make([]int, 256)
	for c := range widths {
		widths[c] = missing
		r, ok := winAnsiRune(byte(c))
		if !ok {
			continue
		}
		gi, err := font.GlyphIndex(&buf, r)
		if err != nil || gi == 0 {
			continue
		}
		if widths[c], err = advance(gi); err != nil {
			return nil, err
		}
	}
	psName, err := font.Name(&buf, sfnt.NameIDPostScript)
	if err != nil {
		return nil, err
	}
	m, err := font.Metrics(&buf, ppem, xfont.HintingNone)
	if err != nil {
		return nil, err
	}
	bounds, err := font.Bounds(&buf, ppem, xfont.HintingNone)
	if err != nil {
		return nil, err
	}
	post := font.PostTable()
	if post == nil {
		return nil, fmt.Errorf("no post table")
	}
	// PDF font flags: nonsymbolic (32), fixed pitch (1).
	flags, stemV := 32, 70
	if post.IsFixedPitch {
		flags |= 1
	}
	if bold {
		stemV = 120
	}
	type box struct{ Xmin, Ymin, Xmax, Ymax int }
	type desc struct {
		Ascent, Descent, CapHeight, Flags int
		FontBBox                          box
		ItalicAngle, StemV, MissingWidth  int
	}
	return json.Marshal(struct {
		Tp, Name     string
		Desc         desc
		Up, Ut       int
		Cw           []int
		Enc, Diff    string
		File         string
		OriginalSize int
	}{
		Tp: "TrueType", Name: psName,
		Desc: desc{
			Ascent: scale(m.Ascent), Descent: -scale(m.Descent), CapHeight: scale(m.CapHeight), Flags: flags,
			// sfnt's y axis points down, the PDF's up.
			FontBBox:    box{scale(bounds.Min.X), -scale(bounds.Max.Y), scale(bounds.Max.X), -scale(bounds.Min.Y)},
			ItalicAngle: int(post.ItalicAngle), StemV: stemV, MissingWidth: missing,
		},
		Up: int(math.Round(float64(post.UnderlinePosition) * 1000 / float64(upem))),
		Ut: int(math.Round(float64(post.UnderlineThickness) * 1000 / float64(upem))),
		Cw: widths, Enc: "cp1252", File: name + ".z", OriginalSize: len(data),
	})
}

// winAnsiRune is the character code c stands for in Windows-1252; false
// for the five codes it leaves undefined and for control codes.
func winAnsiRune(c byte) (rune, bool) {
	r := charmap.Windows1252.DecodeByte(c)
	if r < 0x20 || (r >= 0x7f && r < 0xa0) || r == utf8.RuneError {
		return 0, false
	}
	return r, true
}

// winAnsiByte is r's code in Windows-1252.
func winAnsiByte(r rune) (byte, bool) {
	if r < 0x20 || (r >= 0x7f && r < 0xa0) {
		return 0, false
	}
	return charmap.Windows1252.EncodeRune(r)
}
