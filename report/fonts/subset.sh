#!/usr/bin/env bash
# Makes the two fonts of this directory from Debian's fonts-dejavu-core
# (2.37): DejaVu Sans and DejaVu Sans Bold cut down to the characters an
# invoice needs — Latin (with Vietnamese and IPA letters), Greek, Cyrillic,
# punctuation, currency signs, the few symbols the PDF writes, and □, drawn
# for any other character — without hinting, layout and math tables, which the PDF
# does not use. Fewer glyphs: a smaller binary, and a PDF drawn faster
# (fpdf parses the font for every document). report/pdf.go reads the fonts'
# own character maps, so what is cut here is what it warns about.
#
# Needs pyftsubset (Debian: apt-get install fonttools). Run from anywhere:
#   bash report/fonts/subset.sh
set -euo pipefail
cd "$(dirname "$0")"
src=/usr/share/fonts/truetype/dejavu
unicodes="U+0020-007E,U+00A0-024F,U+0250-02AF,U+02B9-02DD,U+0300-036F,U+0370-03FF,U+0400-052F,U+1E00-1EFF,\
U+2010-2027,U+2030-203A,U+2044,U+20A0-20C0,U+2116,U+2122,U+2190-2193,U+2212,U+2215,U+221E,U+2248,U+2260,U+2264,U+2265,\
U+25A1,U+FFFD"
for font in DejaVuSans DejaVuSans-Bold; do
  pyftsubset "$src/$font.ttf" --unicodes="$unicodes" --layout-features='' --drop-tables+=GSUB,GPOS,GDEF,MATH --no-hinting \
    --name-IDs='*' --name-legacy --name-languages='*' --notdef-outline --output-file="$font.ttf"
done
# The Windows-1252 cuts of the two faces, which a PDF whose text is all
# Western European embeds whole (report/pdffonts.go, winAnsiFonts): cut
# from the faces above, so their glyphs and widths are the same.
cp1252="U+0020-007E,U+00A0-00FF,U+20AC,U+201A,U+0192,U+201E,U+2026,U+2020,U+2021,U+02C6,U+2030,U+0160,U+2039,U+0152,\
U+017D,U+2018,U+2019,U+201C,U+201D,U+2022,U+2013,U+2014,U+02DC,U+2122,U+0161,U+203A,U+0153,U+017E,U+0178"
for font in DejaVuSans DejaVuSans-Bold; do
  pyftsubset "$font.ttf" --unicodes="$cp1252" --layout-features='' --drop-tables+=GSUB,GPOS,GDEF,MATH --no-hinting \
    --name-IDs='*' --name-legacy --name-languages='*' --notdef-outline --output-file="$font-cp1252.ttf"
done
ls -l DejaVuSans.ttf DejaVuSans-Bold.ttf DejaVuSans-cp1252.ttf DejaVuSans-Bold-cp1252.ttf
