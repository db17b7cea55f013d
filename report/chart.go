package report

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"strconv"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"

	"retainer/billing"
)

// The burndown chart is one drawing (a scene: rectangles, lines, dots and
// text, in a 480×240 space) made once from the figures, then written out as
// SVG for pages and rasterized to a PNG for emails and the PDF.

// Chart geometry: the PNG is chartWidth×chartHeight pixels, the scene (and
// the SVG's viewBox) sceneWidth×sceneHeight units.
const (
	chartWidth   = 640
	chartHeight  = 320
	sceneWidth   = 480
	sceneHeight  = 240
	chartPNGUnit = float64(chartWidth) / sceneWidth // pixels per scene unit
)

// The chart's colours: the pages' ink, muted text, accent and warning.
var (
	chartInk         = color.RGBA{R: 0x1d, G: 0x27, B: 0x33, A: 0xff}
	chartMuted       = color.RGBA{R: 0x5b, G: 0x68, B: 0x78, A: 0xff}
	chartGrid        = color.RGBA{R: 0xe1, G: 0xe6, B: 0xec, A: 0xff}
	chartActual      = color.RGBA{R: 0x1f, G: 0x4e, B: 0x8c, A: 0xff}
	chartIdeal       = color.RGBA{R: 0x9a, G: 0xa5, B: 0xb1, A: 0xff}
	chartToday       = color.RGBA{R: 0xb2, G: 0x6a, B: 0x00, A: 0xff}
	chartOverage     = color.RGBA{R: 0xfd, G: 0xec, B: 0xea, A: 0xff}
	chartOverageEdge = color.RGBA{R: 0xc0, G: 0x39, B: 0x2b, A: 0xff}
	chartWhite       = color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
)

// Burndown is what a burndown chart is drawn from: a period's weekly rows,
// its hours available and, for an open period, the as-of date and the
// projected hours used by the month's end.
type Burndown struct {
	Period    billing.Period
	Unit      billing.Unit
	Weeks     []billing.Week // billing.Burndown's rows, clipped to Period
	Available int64          // seconds available in the period
	// Open: the period is still open, its figures as of AsOf. With AsOf
	// inside the period the actual line stops there, a projection runs on
	// to the month's end, and the date is marked. An open period whose
	// as-of date is past its end is drawn whole, as a closed one.
	Open      bool
	AsOf      billing.Date
	Projected int64 // seconds used by the month's end, as projected (billing.Figures.Projected)
}

// Title is the chart's title: "Burndown, March 2026".
func (b Burndown) Title() string { return "Burndown, " + b.Period.Name() }

// burndownPoint is a point of a burndown line: Day counts days from the
// period's start (0 is the 1st at midnight, the period's length the end of
// its last day); Remaining is the seconds available less those used by
// then, below zero in overage.
type burndownPoint struct {
	Day       int
	Remaining int64
}

// burndownSeries is what the chart plots.
type burndownSeries struct {
	Days int // the period's length in days
	// Actual runs from the total available at the start through the end
	// of each week, or, in an open period, up to the as-of date.
	Actual []burndownPoint
	// Projection runs from the last actual point to the month's end at
	// available − projected; nil for a closed period.
	Projection []burndownPoint
	// Today is the end of the as-of date, in days; -1 when none is marked.
	Today int
}

// series computes the lines of b. An open period's actual line ends at the
// as-of date with the used figure of the week that holds it (hours dated
// later in that week included: the week is the finest grain the statement
// keeps).
func (b Burndown) series() burndownSeries {
	first, last := b.Period.FirstDay(), b.Period.LastDay()
	s := burndownSeries{Days: int(last-first) + 1, Today: -1}
	avail := clampSeconds(b.Available)
	s.Actual = []burndownPoint{{0, avail}}
	open := b.Open && b.AsOf <= last
	if open && b.AsOf >= first {
		s.Today = int(b.AsOf-first) + 1
	}
	for _, w := range b.Weeks {
		from, to := max(w.From, first), min(w.To, last)
		if from > to {
			continue
		}
		rem := avail - clampSeconds(w.Cumulative)
		end := int(to-first) + 1
		if open && to > b.AsOf {
			if from <= b.AsOf {
				s.Actual = append(s.Actual, burndownPoint{s.Today, rem})
			}
			break
		}
		s.Actual = append(s.Actual, burndownPoint{end, rem})
	}
	if open {
		s.Projection = []burndownPoint{s.Actual[len(s.Actual)-1], {s.Days, avail - clampSeconds(b.Projected)}}
	}
	return s
}

// clampSeconds keeps a figure held at the int64 limits (billing's
// Overflow) to a range the chart can subtract and scale: a picture, not a
// figure.
func clampSeconds(v int64) int64 {
	const limit = 1 << 50
	return min(max(v, -limit), limit)
}

// BurndownPNG draws b as a PNG of chartWidth×chartHeight pixels: the same
// drawing as BurndownSVG, in DejaVu Sans. The same input gives the same
// bytes.
func BurndownPNG(b Burndown) ([]byte, error) {
	sc, err := burndownScene(b)
	if err != nil {
		return nil, err
	}
	out, err := sc.png()
	if err != nil {
		return nil, fmt.Errorf("burndown chart: %w", err)
	}
	return out, nil
}

// BurndownSVG draws b as an SVG element to be inlined in an HTML page: no
// XML declaration before the <svg> root, a viewBox (so CSS can scale it),
// every text escaped, the page's font (font-family="inherit"), and
// presentation attributes only, never a style attribute, which a page
// whose Content-Security-Policy has no 'unsafe-inline' drops.
func BurndownSVG(b Burndown) ([]byte, error) {
	sc, err := burndownScene(b)
	if err != nil {
		return nil, err
	}
	return sc.svg(`width="480pt" height="240pt"`), nil
}

// burndownSVGFluid is BurndownSVG sized to its container's width, its
// height from the viewBox's ratio: for a page with no stylesheet to size it.
func burndownSVGFluid(b Burndown) ([]byte, error) {
	sc, err := burndownScene(b)
	if err != nil {
		return nil, err
	}
	return sc.svg(`width="100%"`), nil
}

// ---- the scene ----

type vec struct{ X, Y float64 }

type markKind uint8

const (
	markRect   markKind = iota // P[0] the top left corner, P[1] the bottom right one; Fill
	markPath                   // a polyline through P; Stroke, Width, Dash
	markCircle                 // centre P[0], radius R; Fill
	markText                   // baseline start, middle or end at P[0]; Fill, Size, Bold, Anchor
)

type anchor uint8

const (
	anchorStart anchor = iota
	anchorMiddle
	anchorEnd
)

// mark is one element of the scene.
type mark struct {
	Kind         markKind
	P            []vec
	R            float64
	Fill, Stroke color.RGBA
	Width        float64
	Dash         []float64 // on, off, … in scene units; nil: solid
	Text         string
	Size         float64
	Bold         bool
	Anchor       anchor
}

// scene is a drawing in a sceneWidth×sceneHeight space, y down.
type scene struct {
	Label string // the accessible name
	Marks []mark
}

func (sc *scene) rect(x0, y0, x1, y1 float64, fill color.RGBA) {
	sc.Marks = append(sc.Marks, mark{Kind: markRect, P: []vec{{x0, y0}, {x1, y1}}, Fill: fill})
}

func (sc *scene) path(stroke color.RGBA, width float64, dash []float64, pts ...vec) {
	sc.Marks = append(sc.Marks, mark{Kind: markPath, P: pts, Stroke: stroke, Width: width, Dash: dash})
}

func (sc *scene) circle(c vec, r float64, fill color.RGBA) {
	sc.Marks = append(sc.Marks, mark{Kind: markCircle, P: []vec{c}, R: r, Fill: fill})
}

func (sc *scene) text(x, y float64, s string, size float64, bold bool, a anchor, fill color.RGBA) {
	sc.Marks = append(sc.Marks, mark{Kind: markText, P: []vec{{x, y}}, Text: s, Size: size, Bold: bold, Anchor: a, Fill: fill})
}

// Text sizes and line widths, in scene units.
const (
	titleSize  = 11
	labelSize  = 8
	legendSize = 8
	actualW    = 2
	idealW     = 1.25
	gridW      = 0.75
)

var projectionDash = []float64{5, 3}

// burndownScene lays out b's chart: the title and, beside it or on a row
// of its own, the legend; the hours (or sessions) axis on the left; the
// weeks along the bottom; then the overage band below zero, the ideal line
// from available to zero, the actual remaining line with a dot at each
// week's end and, for an open period, the dashed projection and the as-of
// date.
func burndownScene(b Burndown) (*scene, error) {
	fonts, err := chartFonts()
	if err != nil {
		return nil, fmt.Errorf("burndown chart: %w", err)
	}
	var buf sfnt.Buffer
	width := func(s string, size float64, bold bool) float64 { return fonts.width(&buf, s, size, bold) }

	s := b.series()
	sc := &scene{Label: b.Title()}

	// The y range: zero, the total available and every point, in whole
	// ticks.
	lo, hi := int64(0), clampSeconds(b.Available)
	for _, line := range [][]burndownPoint{s.Actual, s.Projection} {
		for _, p := range line {
			lo, hi = min(lo, p.Remaining), max(hi, p.Remaining)
		}
	}
	ticks := yTicks(lo, hi, b.Unit)
	lo, hi = ticks[0], ticks[len(ticks)-1]
	labels := make([]string, len(ticks))
	labelW := 0.0
	for i, t := range ticks {
		labels[i] = billing.FormatQuantity(t, b.Unit)
		labelW = max(labelW, width(labels[i], labelSize, false))
	}

	// Rows above the plot: title (and legend when both fit), then the
	// unit and the as-of label.
	const margin = 8
	type legendItem struct {
		name  string
		color color.RGBA
		dash  []float64
		w     float64 // line width; 0: a filled swatch
	}
	legend := []legendItem{{"Remaining", chartActual, nil, actualW}, {"Ideal", chartIdeal, nil, idealW}}
	if s.Projection != nil {
		legend = append(legend, legendItem{"Projected", chartActual, projectionDash, actualW})
	}
	if lo < 0 {
		legend = append(legend, legendItem{"Overage", chartOverage, nil, 0})
	}
	const swatch, swatchGap, itemGap = 14.0, 4.0, 12.0
	legendW := 0.0
	for i, it := range legend {
		if i > 0 {
			legendW += itemGap
		}
		legendW += swatch + swatchGap + width(it.name, legendSize, false)
	}
	const titleY = 15.0
	legendX, legendY, top := sceneWidth-margin-legendW, titleY, 36.0
	if margin+width(sc.Label, titleSize, true)+16 > legendX {
		legendX, legendY, top = margin, titleY+15, 50
	}
	left := math.Round(margin + labelW + 6)
	right, bottom := float64(sceneWidth-margin-2), float64(sceneHeight-22)

	x := func(day int) float64 { return left + (right-left)*float64(day)/float64(s.Days) }
	y := func(sec int64) float64 { return bottom - (bottom-top)*float64(sec-lo)/float64(hi-lo) }
	pts := func(line []burndownPoint) []vec {
		out := make([]vec, len(line))
		for i, p := range line {
			out[i] = vec{x(p.Day), y(p.Remaining)}
		}
		return out
	}

	sc.rect(0, 0, sceneWidth, sceneHeight, chartWhite)
	if lo < 0 {
		sc.rect(left, y(0), right, bottom, chartOverage)
	}
	for _, t := range ticks {
		if t != 0 {
			sc.path(chartGrid, gridW, nil, vec{left, y(t)}, vec{right, y(t)})
		}
	}
	first := b.Period.FirstDay()
	weeks := weekSpans(b.Weeks, b.Period)
	for _, w := range weeks[1:] {
		d := x(int(w.From - first))
		sc.path(chartGrid, gridW, nil, vec{d, top}, vec{d, bottom})
	}
	sc.path(chartMuted, gridW, nil, vec{left, top}, vec{left, bottom})
	sc.path(chartMuted, gridW, nil, vec{left, y(0)}, vec{right, y(0)})
	if lo < 0 {
		sc.path(chartOverageEdge, gridW, nil, vec{left, bottom}, vec{right, bottom})
	}
	if s.Today >= 0 {
		sc.path(chartToday, 1, nil, vec{x(s.Today), top - 2}, vec{x(s.Today), bottom})
	}
	sc.path(chartIdeal, idealW, nil, vec{x(0), y(clampSeconds(b.Available))}, vec{x(s.Days), y(0)})
	if s.Projection != nil {
		sc.path(chartActual, actualW, projectionDash, pts(s.Projection)...)
	}
	sc.path(chartActual, actualW, nil, pts(s.Actual)...)
	for _, p := range pts(s.Actual)[1:] {
		sc.circle(p, 2.25, chartActual)
	}

	// The axes' text.
	for i, t := range ticks {
		sc.text(left-5, y(t)+2.75, labels[i], labelSize, false, anchorEnd, chartMuted)
	}
	sc.text(left-5, top-6, axisUnit(b.Unit), labelSize, false, anchorEnd, chartMuted)
	for _, w := range weeks {
		x0, x1 := x(int(w.From-first)), x(int(w.To-first)+1)
		for _, l := range []string{weekLabel(w.From, w.To), dayRange(w.From, w.To)} {
			if width(l, labelSize, false) <= x1-x0-3 {
				sc.text((x0+x1)/2, bottom+12, l, labelSize, false, anchorMiddle, chartMuted)
				break
			}
		}
	}
	if s.Today >= 0 {
		l := "Today, " + b.AsOf.Time().Format("Jan 2")
		lx, a, lw := x(s.Today), anchorMiddle, width(l, labelSize, true)
		switch {
		case lx-lw/2 < left:
			lx, a = max(lx-3, left), anchorStart
		case lx+lw/2 > right:
			lx, a = min(lx+3, right), anchorEnd
		}
		sc.text(lx, top-6, l, labelSize, true, a, chartToday)
	}

	sc.text(margin, titleY, sc.Label, titleSize, true, anchorStart, chartInk)
	lx := legendX
	for _, it := range legend {
		mid := legendY - 3
		if it.w == 0 {
			sc.rect(lx+2, mid-4, lx+swatch-2, mid+4, it.color)
			sc.path(chartOverageEdge, gridW, nil, vec{lx + 2, mid + 4}, vec{lx + swatch - 2, mid + 4})
		} else {
			sc.path(it.color, it.w, it.dash, vec{lx, mid}, vec{lx + swatch, mid})
		}
		lx += swatch + swatchGap
		sc.text(lx, legendY, it.name, legendSize, false, anchorStart, chartMuted)
		lx += width(it.name, legendSize, false) + itemGap
	}
	return sc, nil
}

// axisUnit names the chart's y axis: "hours" or "sessions".
func axisUnit(u billing.Unit) string {
	if u == billing.UnitSessions {
		return "sessions"
	}
	return "hours"
}

// weekSpans is the period's weeks from ws, clipped to it; the whole period
// as one span when ws has none.
func weekSpans(ws []billing.Week, p billing.Period) []billing.Week {
	first, last := p.FirstDay(), p.LastDay()
	var out []billing.Week
	for _, w := range ws {
		if from, to := max(w.From, first), min(w.To, last); from <= to {
			out = append(out, billing.Week{From: from, To: to})
		}
	}
	if len(out) == 0 {
		out = []billing.Week{{From: first, To: last}}
	}
	return out
}

// yTicks returns the y axis' ticks, in seconds, lowest first: a round
// step (a quarter, half, 1, 2 or 5 hours times a power of ten; whole
// sessions) from at or below lo to at or above hi, at most six intervals,
// and never a range of zero.
func yTicks(lo, hi int64, u billing.Unit) []int64 {
	if hi <= lo {
		hi = lo + 3600
	}
	steps := []int64{900, 1800, 3600, 7200, 18000}
	if u == billing.UnitSessions {
		steps = []int64{billing.SessionSeconds, 2 * billing.SessionSeconds, 5 * billing.SessionSeconds}
	}
	const most = 6
	step := steps[0]
	for i := 0; float64(hi-lo) > float64(step)*most; i++ {
		if i < len(steps) {
			step = steps[i]
		} else {
			step = steps[len(steps)-3+(i-len(steps))%3] * pow10((i-len(steps))/3+1)
		}
	}
	from := floorDiv(lo, step) * step
	var out []int64
	for t := from; ; t += step {
		out = append(out, t)
		if t >= hi {
			break
		}
	}
	return out
}

func pow10(n int) int64 {
	p := int64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// weekLabel formats a week's range: "Mar 2–8", "Mar 30–Apr 5", or "Mar 31"
// for a single day.
func weekLabel(from, to billing.Date) string {
	f, t := from.Time(), to.Time()
	switch {
	case from == to:
		return f.Format("Jan 2")
	case f.Month() == t.Month() && f.Year() == t.Year():
		return f.Format("Jan 2") + "–" + t.Format("2")
	default:
		return f.Format("Jan 2") + "–" + t.Format("Jan 2")
	}
}

// dayRange is a week's range by day numbers alone, for a week too narrow
// for weekLabel: "30–31", "1".
func dayRange(from, to billing.Date) string {
	if from == to {
		return from.Time().Format("2")
	}
	return from.Time().Format("2") + "–" + to.Time().Format("2")
}

// ---- fonts ----

// chartFontSet is DejaVu Sans and DejaVu Sans Bold (the PDF's fonts),
// parsed once. A *sfnt.Font is safe for concurrent use with a Buffer per
// goroutine.
type chartFontSet struct{ regular, bold *sfnt.Font }

var chartFonts = sync.OnceValues(func() (*chartFontSet, error) {
	r, err := sfnt.Parse(dejaVuSans)
	if err != nil {
		return nil, fmt.Errorf("chart font: %w", err)
	}
	b, err := sfnt.Parse(dejaVuSansBold)
	if err != nil {
		return nil, fmt.Errorf("chart bold font: %w", err)
	}
	return &chartFontSet{r, b}, nil
})

func (fs *chartFontSet) face(bold bool) *sfnt.Font {
	if bold {
		return fs.bold
	}
	return fs.regular
}

// width is the advance of s at size, in the same units, kerned as the PNG
// draws it.
func (fs *chartFontSet) width(buf *sfnt.Buffer, s string, size float64, bold bool) float64 {
	f := fs.face(bold)
	upem := fixed.Int26_6(f.UnitsPerEm())
	var total fixed.Int26_6
	prev := sfnt.GlyphIndex(0)
	for _, r := range s {
		gi, _ := f.GlyphIndex(buf, r)
		if prev != 0 {
			if k, err := f.Kern(buf, prev, gi, upem, font.HintingNone); err == nil {
				total += k
			}
		}
		adv, _ := f.GlyphAdvance(buf, gi, upem, font.HintingNone)
		total += adv
		prev = gi
	}
	return float64(total) / float64(upem) * size
}

// ---- SVG ----

// svg writes the scene as an <svg> element with size, its width and
// height attributes. Numbers have at most two decimals, so the same scene
// gives the same text.
func (sc *scene) svg(size string) []byte {
	var b bytes.Buffer
	b.Grow(4096)
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" ` + size + ` viewBox="0 0 480 240" font-family="inherit" role="img" aria-label="`)
	escapeXML(&b, sc.Label)
	b.WriteString("\">\n<title>")
	escapeXML(&b, sc.Label)
	b.WriteString("</title>\n")
	for _, m := range sc.Marks {
		switch m.Kind {
		case markRect:
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`,
				num(m.P[0].X), num(m.P[0].Y), num(m.P[1].X-m.P[0].X), num(m.P[1].Y-m.P[0].Y), hex(m.Fill))
		case markPath:
			b.WriteString(`<path d="`)
			for i, p := range m.P {
				if i == 0 {
					b.WriteByte('M')
				} else {
					b.WriteByte('L')
				}
				b.WriteString(num(p.X) + "," + num(p.Y))
			}
			fmt.Fprintf(&b, `" fill="none" stroke="%s" stroke-width="%s"`, hex(m.Stroke), num(m.Width))
			if len(m.P) > 2 {
				b.WriteString(` stroke-linejoin="round"`)
			}
			if m.Dash != nil {
				b.WriteString(` stroke-dasharray="`)
				for i, d := range m.Dash {
					if i > 0 {
						b.WriteByte(' ')
					}
					b.WriteString(num(d))
				}
				b.WriteByte('"')
			}
			b.WriteString("/>")
		case markCircle:
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="%s" fill="%s"/>`, num(m.P[0].X), num(m.P[0].Y), num(m.R), hex(m.Fill))
		case markText:
			fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="%s" fill="%s"`, num(m.P[0].X), num(m.P[0].Y), num(m.Size), hex(m.Fill))
			switch m.Anchor {
			case anchorMiddle:
				b.WriteString(` text-anchor="middle"`)
			case anchorEnd:
				b.WriteString(` text-anchor="end"`)
			}
			if m.Bold {
				b.WriteString(` font-weight="bold"`)
			}
			b.WriteByte('>')
			escapeXML(&b, m.Text)
			b.WriteString("</text>")
		}
		b.WriteByte('\n')
	}
	b.WriteString("</svg>")
	return b.Bytes()
}

func num(v float64) string {
	v = math.Round(v*100) / 100
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func hex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func escapeXML(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&#34;")
		case '\'':
			b.WriteString("&#39;")
		default:
			b.WriteRune(r)
		}
	}
}

// ---- PNG ----

// pngCanvas is what rasterizing a scene needs, reused across charts: the
// paletted image drawn into, the rasterizer and its alpha mask, the
// nearest-colour table and the glyphs.
type pngCanvas struct {
	img  *image.Paletted
	z    *vector.Rasterizer
	mask image.Alpha // paint's
	buf  sfnt.Buffer
	near nearestCache
	// glyphs are the glyphs drawn so far, rasterized.
	glyphs map[glyphKey]*glyphMask
	// polys and boxes are fill's scratch space.
	polys [][]vec
	boxes []image.Rectangle
	// overWhite are, for each palette entry drawn with so far, its
	// blends over white (entry 0) at each coverage: most edge pixels.
	overWhite [256]*[256]uint8
}

var pngCanvases = sync.Pool{New: func() any {
	return &pngCanvas{
		img: image.NewPaletted(image.Rect(0, 0, chartWidth, chartHeight), chartPalette),
		z:   vector.NewRasterizer(1, 1), glyphs: map[glyphKey]*glyphMask{},
	}
}}

// png rasterizes the scene at chartPNGUnit pixels a unit, straight into a
// paletted image (a third of the bytes of RGBA to deflate, no per-row
// filter search, no quantizing pass): rectangles and horizontal or
// vertical lines on whole pixels, so they stay sharp; slanted lines, dots
// and DejaVu Sans text antialiased by x/image/vector, each edge pixel
// blended with what is under it and mapped to the nearest palette entry.
// The image is written by encodeChartPNG (pngenc.go).
func (sc *scene) png() ([]byte, error) {
	c, err := sc.draw()
	if err != nil {
		return nil, err
	}
	defer pngCanvases.Put(c)
	return encodeChartPNG(c.img), nil
}

// draw rasterizes the scene into a canvas of pngCanvases, which the
// caller puts back when done with its image.
func (sc *scene) draw() (*pngCanvas, error) {
	fonts, err := chartFonts()
	if err != nil {
		return nil, err
	}
	c := pngCanvases.Get().(*pngCanvas)
	clear(c.img.Pix) // entry 0: white
	for _, m := range sc.Marks {
		switch m.Kind {
		case markRect:
			c.rect(image.Rect(px(m.P[0].X), px(m.P[0].Y), px(m.P[1].X), px(m.P[1].Y)), m.Fill)
		case markPath:
			c.stroke(m)
		case markCircle:
			c.circle(m)
		case markText:
			c.text(fonts, m)
		}
	}
	return c, nil
}

// rect fills r with col.
func (c *pngCanvas) rect(r image.Rectangle, col color.RGBA) {
	r = r.Intersect(c.img.Rect)
	if r.Empty() {
		return
	}
	first := c.img.Pix[r.Min.Y*c.img.Stride+r.Min.X : r.Min.Y*c.img.Stride+r.Max.X]
	first[0] = c.near.index(col.R, col.G, col.B)
	for n := 1; n < len(first); n *= 2 {
		copy(first[n:], first[:n])
	}
	for y := r.Min.Y + 1; y < r.Max.Y; y++ {
		copy(c.img.Pix[y*c.img.Stride+r.Min.X:], first)
	}
}

// px is a scene coordinate's nearest pixel edge.
func px(v float64) int { return int(math.Round(v * chartPNGUnit)) }

// stroke draws a polyline, solid or dashed.
func (c *pngCanvas) stroke(m mark) {
	w := m.Width * chartPNGUnit
	pieces := [][]vec{m.P}
	if m.Dash != nil {
		pieces = dashes(m.P, m.Dash)
	}
	// A horizontal or vertical line is a run of whole pixels.
	if len(m.P) == 2 && (m.P[0].X == m.P[1].X || m.P[0].Y == m.P[1].Y) {
		t := max(1, int(math.Round(w)))
		for _, p := range pieces {
			a, b := p[0], p[len(p)-1]
			var r image.Rectangle
			if a.Y == b.Y {
				y0 := int(math.Floor(a.Y*chartPNGUnit - float64(t)/2 + 0.5))
				r = image.Rect(px(min(a.X, b.X)), y0, px(max(a.X, b.X)), y0+t)
			} else {
				x0 := int(math.Floor(a.X*chartPNGUnit - float64(t)/2 + 0.5))
				r = image.Rect(x0, px(min(a.Y, b.Y)), x0+t, px(max(a.Y, b.Y)))
			}
			c.rect(r, m.Stroke)
		}
		return
	}
	// Otherwise each segment is a quadrilateral, cut in lengths of at
	// most a tile so that fill rasterizes only the tiles the line crosses
	// (pieces that abut along a straight cut cover it exactly once), with a
	// disc at each corner.
	h := w / 2
	polys := c.polys[:0]
	for _, p := range pieces {
		for i := 1; i < len(p); i++ {
			a, b := scale(p[i-1]), scale(p[i])
			dx, dy := b.X-a.X, b.Y-a.Y
			l := math.Hypot(dx, dy)
			if l == 0 {
				continue
			}
			nx, ny := -dy/l*h, dx/l*h
			n := int(math.Ceil(l / (chartTile * 0.75)))
			for k := 0; k < n; k++ {
				t0, t1 := float64(k)/float64(n), float64(k+1)/float64(n)
				p0 := vec{a.X + dx*t0, a.Y + dy*t0}
				p1 := vec{a.X + dx*t1, a.Y + dy*t1}
				polys = append(polys, orient([]vec{{p0.X + nx, p0.Y + ny}, {p1.X + nx, p1.Y + ny}, {p1.X - nx, p1.Y - ny}, {p0.X - nx, p0.Y - ny}}))
			}
		}
		for i := 1; i < len(p)-1; i++ { // round joins
			polys = append(polys, discPoly(scale(p[i]), h))
		}
	}
	c.polys = polys
	c.fill(polys, m.Stroke)
}

func (c *pngCanvas) circle(m mark) {
	c.polys = append(c.polys[:0], discPoly(scale(m.P[0]), m.R*chartPNGUnit))
	c.fill(c.polys, m.Fill)
}

// chartTile is the side of the square tiles fill rasterizes, in pixels.
const chartTile = 32

// fill paints the union of polys (in pixels, all wound alike) in col,
// antialiased, one tile at a time and only the tiles some polygon's
// bounds reach: a long slanted line costs its length, not its bounding
// box. Each pixel is in one tile, so none is painted twice.
func (c *pngCanvas) fill(polys [][]vec, col color.RGBA) {
	img := image.Rect(0, 0, chartWidth, chartHeight)
	boxes := c.boxes[:0]
	var all image.Rectangle
	for _, p := range polys {
		x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, v := range p {
			x0, y0, x1, y1 = min(x0, v.X), min(y0, v.Y), max(x1, v.X), max(y1, v.Y)
		}
		r := image.Rect(int(math.Floor(x0))-1, int(math.Floor(y0))-1, int(math.Ceil(x1))+1, int(math.Ceil(y1))+1).Intersect(img)
		boxes = append(boxes, r)
		all = all.Union(r)
	}
	c.boxes = boxes
	z := c.z
	for ty := all.Min.Y; ty < all.Max.Y; ty += chartTile {
		for tx := all.Min.X; tx < all.Max.X; tx += chartTile {
			tile := image.Rect(tx, ty, tx+chartTile, ty+chartTile).Intersect(all)
			used := false
			for i, p := range polys {
				if !boxes[i].Overlaps(tile) {
					continue
				}
				if !used {
					z.Reset(tile.Dx(), tile.Dy())
					used = true
				}
				ox, oy := float32(tile.Min.X), float32(tile.Min.Y)
				z.MoveTo(float32(p[0].X)-ox, float32(p[0].Y)-oy)
				for _, v := range p[1:] {
					z.LineTo(float32(v.X)-ox, float32(v.Y)-oy)
				}
				z.ClosePath()
			}
			if used {
				c.paint(tile, col)
			}
		}
	}
}

// text draws one line of text in DejaVu Sans, kerned and advanced as
// chartFontSet.width measures it, on a baseline snapped to a whole pixel
// and with each glyph placed to a quarter of a pixel across.
func (c *pngCanvas) text(fonts *chartFontSet, m mark) {
	f := fonts.face(m.Bold)
	size := m.Size * chartPNGUnit
	pen := m.P[0].X * chartPNGUnit
	switch m.Anchor {
	case anchorMiddle:
		pen -= fonts.width(&c.buf, m.Text, size, m.Bold) / 2
	case anchorEnd:
		pen -= fonts.width(&c.buf, m.Text, size, m.Bold)
	}
	base := int(math.Round(m.P[0].Y * chartPNGUnit))
	ppem := fixed.Int26_6(math.Round(size * 64))
	upem := fixed.Int26_6(f.UnitsPerEm())
	solid := c.near.index(m.Fill.R, m.Fill.G, m.Fill.B)
	prev := sfnt.GlyphIndex(0)
	for _, r := range m.Text {
		gi, _ := f.GlyphIndex(&c.buf, r)
		if prev != 0 {
			if k, err := f.Kern(&c.buf, prev, gi, upem, font.HintingNone); err == nil {
				pen += float64(k) / float64(upem) * size
			}
		}
		x := math.Floor(pen)
		if g := c.glyph(glyphKey{m.Bold, gi, ppem, uint8((pen - x) * 4)}, f); g != nil {
			at := image.Pt(int(x)+g.at.X, base+g.at.Y)
			c.blend(image.Rectangle{at, at.Add(g.mask.Rect.Size())}, g.mask.Pix, m.Fill, solid)
		}
		adv, _ := f.GlyphAdvance(&c.buf, gi, upem, font.HintingNone)
		pen += float64(adv) / float64(upem) * size
		prev = gi
	}
}

// glyphKey is one glyph as text draws it: its font, size and place across
// a pixel in quarters.
type glyphKey struct {
	bold    bool
	index   sfnt.GlyphIndex
	ppem    fixed.Int26_6
	quarter uint8
}

// segmentArgs is the number of points of each kind of outline segment.
var segmentArgs = [...]int{sfnt.SegmentOpMoveTo: 1, sfnt.SegmentOpLineTo: 1, sfnt.SegmentOpQuadTo: 2, sfnt.SegmentOpCubeTo: 3}

// glyphMask is a glyph's coverage, its top left corner at from the pen's
// pixel on the baseline.
type glyphMask struct {
	at   image.Point
	mask *image.Alpha
}

// glyph returns the coverage of glyph k of f, rasterized once per canvas
// (a chart's text is a few dozen distinct glyphs); nil for a glyph with no
// outline, or none the font can load.
func (c *pngCanvas) glyph(k glyphKey, f *sfnt.Font) *glyphMask {
	if g, ok := c.glyphs[k]; ok {
		return g
	}
	segs, err := f.LoadGlyph(&c.buf, k.index, k.ppem, nil)
	if err != nil || len(segs) == 0 {
		c.glyphs[k] = nil
		return nil
	}
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, s := range segs {
		for _, a := range s.Args[:segmentArgs[s.Op]] {
			x, y := float64(a.X)/64, float64(a.Y)/64
			x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
		}
	}
	off := float64(k.quarter) / 4
	r := image.Rect(int(math.Floor(x0+off)), int(math.Floor(y0)), int(math.Ceil(x1+off))+1, int(math.Ceil(y1))+1)
	z := c.z
	z.Reset(r.Dx(), r.Dy())
	ox, oy := float32(off-float64(r.Min.X)), float32(-r.Min.Y)
	p := func(a fixed.Point26_6) (float32, float32) { return ox + float32(a.X)/64, oy + float32(a.Y)/64 }
	open := false
	for _, s := range segs {
		a := s.Args
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			if open {
				z.ClosePath()
			}
			z.MoveTo(p(a[0]))
			open = true
		case sfnt.SegmentOpLineTo:
			z.LineTo(p(a[0]))
		case sfnt.SegmentOpQuadTo:
			bx, by := p(a[0])
			cx, cy := p(a[1])
			z.QuadTo(bx, by, cx, cy)
		case sfnt.SegmentOpCubeTo:
			bx, by := p(a[0])
			cx, cy := p(a[1])
			dx, dy := p(a[2])
			z.CubeTo(bx, by, cx, cy, dx, dy)
		}
	}
	if open {
		z.ClosePath()
	}
	g := &glyphMask{at: r.Min, mask: image.NewAlpha(image.Rect(0, 0, r.Dx(), r.Dy()))}
	z.DrawOp = draw.Src
	z.Draw(g.mask, g.mask.Rect, image.Opaque, image.Point{})
	c.glyphs[k] = g
	return g
}

// paint blends col into the image at r through the coverage the
// rasterizer holds (of r's size).
func (c *pngCanvas) paint(r image.Rectangle, col color.RGBA) {
	n := r.Dx() * r.Dy()
	if cap(c.mask.Pix) < n {
		c.mask.Pix = make([]uint8, n)
	}
	c.mask.Pix, c.mask.Stride, c.mask.Rect = c.mask.Pix[:n], r.Dx(), image.Rect(0, 0, r.Dx(), r.Dy())
	c.z.DrawOp = draw.Src
	c.z.Draw(&c.mask, c.mask.Rect, image.Opaque, image.Point{})
	c.blend(r, c.mask.Pix, col, c.near.index(col.R, col.G, col.B))
}

// blend paints col (palette entry solid) into the image at r through cov,
// r's coverage row by row, clipped to the image: pixels it does not cover
// are skipped (eight at a time: most of a tile a thin line crosses),
// fully covered ones take col, and an edge pixel takes the blend of col
// and the colour under it.
func (c *pngCanvas) blend(r image.Rectangle, cov []uint8, col color.RGBA, solid uint8) {
	w := r.Dx()
	vis := r.Intersect(c.img.Rect)
	white := c.blendsOverWhite(col, solid)
	for y := vis.Min.Y; y < vis.Max.Y; y++ {
		row := cov[(y-r.Min.Y)*w+vis.Min.X-r.Min.X : (y-r.Min.Y)*w+vis.Max.X-r.Min.X]
		dst := c.img.Pix[y*c.img.Stride+vis.Min.X:]
		for x := 0; x < len(row); x++ {
			if len(row)-x >= 8 && binary.LittleEndian.Uint64(row[x:]) == 0 {
				x += 7
				continue
			}
			switch a := row[x]; {
			case a == 0:
			case a == 0xff:
				dst[x] = solid
			case dst[x] == 0 && white != nil:
				dst[x] = white[a]
			default:
				dst[x] = c.blendOver(col, chartColours[dst[x]], a)
			}
		}
	}
}

// blendOver is the palette entry of col at coverage a over under.
func (c *pngCanvas) blendOver(col, under color.RGBA, a uint8) uint8 {
	mix := func(v, u uint8) uint8 { return uint8((int(v)*int(a) + int(u)*(0xff-int(a)) + 0x7f) / 0xff) }
	return c.near.index(mix(col.R, under.R), mix(col.G, under.G), mix(col.B, under.B))
}

// blendsOverWhite is blendOver of col over white at each coverage, made
// once per canvas; nil when col is not palette entry solid.
func (c *pngCanvas) blendsOverWhite(col color.RGBA, solid uint8) *[256]uint8 {
	if chartColours[solid] != col {
		return nil
	}
	t := c.overWhite[solid]
	if t == nil {
		t = new([256]uint8)
		for a := range t {
			t[a] = c.blendOver(col, chartWhite, uint8(a))
		}
		c.overWhite[solid] = t
	}
	return t
}

// scale maps a scene point to pixels.
func scale(p vec) vec { return vec{p.X * chartPNGUnit, p.Y * chartPNGUnit} }

// orient winds a polygon one way (the rasterizer sums coverage: parts of
// one fill that overlap then saturate instead of cancelling).
func orient(pts []vec) []vec {
	area := 0.0
	for i, p := range pts {
		q := pts[(i+1)%len(pts)]
		area += p.X*q.Y - q.X*p.Y
	}
	if area > 0 {
		for i, j := 0, len(pts)-1; i < j; i, j = i+1, j-1 {
			pts[i], pts[j] = pts[j], pts[i]
		}
	}
	return pts
}

// discPoly is a 16-sided disc of radius r at c.
func discPoly(c vec, r float64) []vec {
	const n = 16
	pts := make([]vec, n)
	for i := range pts {
		a := 2 * math.Pi * float64(i) / n
		pts[i] = vec{c.X + r*math.Cos(a), c.Y + r*math.Sin(a)}
	}
	return orient(pts)
}

// dashes cuts a polyline into its dashes: on, off, on, … along its length.
func dashes(pts []vec, pattern []float64) [][]vec {
	var out [][]vec
	cur := []vec{pts[0]}
	i, left, on := 0, pattern[0], true
	for k := 1; k < len(pts); k++ {
		a, b := pts[k-1], pts[k]
		seg := math.Hypot(b.X-a.X, b.Y-a.Y)
		pos := 0.0
		for seg-pos > left {
			pos += left
			t := pos / seg
			p := vec{a.X + (b.X-a.X)*t, a.Y + (b.Y-a.Y)*t}
			if on {
				out = append(out, append(cur, p))
				cur = nil
			} else {
				cur = []vec{p}
			}
			on = !on
			i = (i + 1) % len(pattern)
			left = pattern[i]
		}
		left -= seg - pos
		if on {
			cur = append(cur, b)
		}
	}
	if on && len(cur) > 1 {
		out = append(out, cur)
	}
	return out
}

// chartBases are the colours the chart draws with, besides white.
var chartBases = []color.RGBA{chartInk, chartMuted, chartGrid, chartActual, chartIdeal, chartToday, chartOverage, chartOverageEdge}

// chartSteps is the number of blends of each base with white in
// chartPalette: 8 bases × 31 steps + white = 249 entries.
const chartSteps = 31

// chartColours are chartPalette's entries: white, then each base blended
// with white in even steps, so every pixel the chart draws is one of them
// or an antialiased edge between one of them and the white background,
// the nearest entry exact or within one step. Entry 1+k×chartSteps+i-1 is
// base k at step i of chartSteps.
var chartColours = func() []color.RGBA {
	p := []color.RGBA{chartWhite}
	for _, b := range chartBases {
		for i := 1; i <= chartSteps; i++ {
			mix := func(v uint8) uint8 { return uint8((int(v)*i + 0xff*(chartSteps-i) + chartSteps/2) / chartSteps) }
			p = append(p, color.RGBA{R: mix(b.R), G: mix(b.G), B: mix(b.B), A: 0xff})
		}
	}
	return p
}()

// chartPalette is the PNG's palette, chartColours.
var chartPalette = func() color.Palette {
	p := make(color.Palette, len(chartColours))
	for i, c := range chartColours {
		p[i] = c
	}
	return p
}()

// chartNearest is the index of the chartPalette entry nearest to the
// colour r, g, b. The entries lie on lines from white to each base, and the
// nearest step of a line is next to the colour's projection onto it (the
// entries' rounding moves it by a step or two on the short lines of the
// light colours), so seven steps a base are tried instead of the whole
// palette.
func chartNearest(r, g, b uint8) uint8 {
	dist := func(c color.RGBA) int {
		dr, dg, db := int(c.R)-int(r), int(c.G)-int(g), int(c.B)-int(b)
		return dr*dr + dg*dg + db*db
	}
	best, bestD := 0, dist(chartWhite)
	vr, vg, vb := int(r)-0xff, int(g)-0xff, int(b)-0xff
	for k, base := range chartBases {
		dr, dg, db := int(base.R)-0xff, int(base.G)-0xff, int(base.B)-0xff
		dd := dr*dr + dg*dg + db*db
		if dd == 0 {
			continue
		}
		t := (vr*dr + vg*dg + vb*db) * chartSteps
		i := min(max((t+dd/2)/dd, 1), chartSteps) // past either end: the end
		if t < 0 {
			i = 1
		}
		for j := i - 3; j <= i+3; j++ {
			if j < 1 || j > chartSteps {
				continue
			}
			idx := 1 + k*chartSteps + j - 1
			if d := dist(chartColours[idx]); d < bestD {
				best, bestD = idx, d
			}
		}
	}
	return uint8(best)
}

// nearestCache remembers chartNearest of the colours met lately, in a
// table indexed by a hash of the colour: a chart has a few thousand
// distinct blends, most of them the same from one chart to the next.
type nearestCache [1 << 14]struct {
	rgb uint32 // 1<<24 | r<<16 | g<<8 | b; 0 for an empty slot
	idx uint8
}

// index is chartNearest(r, g, b).
func (nc *nearestCache) index(r, g, b uint8) uint8 {
	key := 1<<24 | uint32(r)<<16 | uint32(g)<<8 | uint32(b)
	slot := &nc[(key*0x9e3779b1)>>18]
	if slot.rgb != key {
		slot.rgb, slot.idx = key, chartNearest(r, g, b)
	}
	return slot.idx
}
