package report

import (
	"bytes"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"math"
	"regexp"
	"sync"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"retainer/billing"
)

// Chart geometry: the PNG is chartWidth×chartHeight pixels at chartDPI.
const (
	chartWidth  = 640
	chartHeight = 320
	chartDPI    = 96
)

var (
	chartBarColor   = color.RGBA{R: 0x7f, G: 0xa7, B: 0xd9, A: 0xff}
	chartUsedColor  = color.RGBA{R: 0x1f, G: 0x4e, B: 0x8c, A: 0xff}
	chartAvailColor = color.RGBA{R: 0xc0, G: 0x39, B: 0x2b, A: 0xff}
)

// BurndownPNG draws a period's weekly burndown as a PNG, 640×320: bars of each week's hours, a line of the
// cumulative hours used, and a horizontal line at the hours available; x labels are the week ranges ("Mar 2–8"),
// the y axis is hours (or sessions for billing.UnitSessions: seconds/3600). Title: title. Values are converted
// from seconds to hours only for drawing (float is fine here: it is a picture, not a figure).
func BurndownPNG(title string, weeks []billing.Week, available int64, unit billing.Unit) ([]byte, error) {
	p, err := burndownPlot(title, weeks, available, unit)
	if err != nil {
		return nil, err
	}
	c := vgimg.NewWith(
		vgimg.UseWH(chartWidth*vg.Inch/chartDPI, chartHeight*vg.Inch/chartDPI),
		vgimg.UseDPI(chartDPI),
	)
	p.Draw(draw.New(c))
	// Encoding was most of the cost of a chart. A paletted image is a third
	// of the bytes to deflate and needs no per-row filter search, and the
	// encoder's buffers are reused across charts.
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &chartBuffers}
	if err := enc.Encode(&buf, quantize(c.Image())); err != nil {
		return nil, fmt.Errorf("burndown chart: %w", err)
	}
	return buf.Bytes(), nil
}

// BurndownSVG draws the same chart as BurndownPNG as an SVG element to be
// inlined in an HTML page: no XML declaration or comment before the <svg>
// root, a viewBox (so CSS can scale it), every text escaped, and presentation
// attributes instead of style attributes, because a page whose
// Content-Security-Policy has no 'unsafe-inline' drops style attributes —
// and with them every fill:none, which would paint the chart black.
func BurndownSVG(title string, weeks []billing.Week, available int64, unit billing.Unit) ([]byte, error) {
	p, err := burndownPlot(title, weeks, available, unit)
	if err != nil {
		return nil, err
	}
	c := vgsvg.NewWith(vgsvg.UseWH(chartWidth*vg.Inch/chartDPI, chartHeight*vg.Inch/chartDPI))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("burndown chart: %w", err)
	}
	out := buf.Bytes()
	// vgsvg starts with an XML declaration and a comment: an HTML page
	// wants the element alone.
	if i := bytes.Index(out, []byte("<svg")); i >= 0 {
		out = out[i:]
	}
	end := bytes.IndexByte(out, '>')
	if !bytes.HasPrefix(out, []byte("<svg")) || end < 0 || !bytes.Contains(out[:end], []byte(" viewBox=")) {
		return nil, fmt.Errorf("burndown chart: vgsvg wrote no <svg> root with a viewBox")
	}
	return svgStyleAttr.ReplaceAllFunc(out, styleToAttributes), nil
}

// svgStyleAttr is one style attribute as vgsvg writes it, with the space
// before it. Text content never matches: vgsvg escapes its quotes.
var svgStyleAttr = regexp.MustCompile(`(\s)style="([^"<>]*)"`)

// styleToAttributes turns style="fill:none;stroke:#000000" into
// fill="none" stroke="#000000". vgsvg only writes properties (fill, stroke,
// stroke-*, fill-opacity, font-*) that SVG also takes as attributes.
func styleToAttributes(attr []byte) []byte {
	m := svgStyleAttr.FindSubmatch(attr)
	out := append([]byte(nil), m[1]...) // the space before style=
	for _, decl := range bytes.Split(m[2], []byte(";")) {
		name, value, ok := bytes.Cut(decl, []byte(":"))
		name, value = bytes.TrimSpace(name), bytes.TrimSpace(value)
		if !ok || len(name) == 0 {
			continue
		}
		if len(out) > len(m[1]) {
			out = append(out, ' ')
		}
		out = append(out, name...)
		out = append(out, '=', '"')
		out = append(out, html.EscapeString(string(value))...)
		out = append(out, '"')
	}
	return out
}

// burndownPlot builds the burndown plot that BurndownPNG and BurndownSVG
// draw.
func burndownPlot(title string, weeks []billing.Week, available int64, unit billing.Unit) (*plot.Plot, error) {
	per, yLabel := 3600.0, "hours"
	if unit == billing.UnitSessions {
		per, yLabel = billing.SessionSeconds, "sessions"
	}
	scale := func(seconds int64) float64 { return float64(seconds) / per }

	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = yLabel

	n := len(weeks)
	if n > 0 {
		hours := make(plotter.Values, n)
		used := make(plotter.XYs, n)
		labels := make([]string, n)
		for i, w := range weeks {
			hours[i] = scale(w.Hours)
			used[i] = plotter.XY{X: float64(i), Y: scale(w.Cumulative)}
			labels[i] = weekLabel(w.From, w.To)
		}

		// About half of each week's slot, in points (the plot area is a bit
		// under 480pt wide).
		width := math.Min(40, 200/float64(n))
		bars, err := plotter.NewBarChart(hours, vg.Points(width))
		if err != nil {
			return nil, fmt.Errorf("burndown chart: %w", err)
		}
		bars.Color = chartBarColor
		bars.LineStyle.Width = 0

		line, err := plotter.NewLine(used)
		if err != nil {
			return nil, fmt.Errorf("burndown chart: %w", err)
		}
		line.Color = chartUsedColor
		line.Width = vg.Points(2)

		p.Add(bars, line)
		p.Legend.Add("week", bars)
		p.Legend.Add("used", line)
		p.NominalX(labels...)
	} else {
		p.HideX()
	}

	// The available line spans the whole x range, edge to edge of the bars.
	x0, x1 := -0.5, math.Max(float64(n)-0.5, 0.5)
	avail, err := plotter.NewLine(plotter.XYs{{X: x0, Y: scale(available)}, {X: x1, Y: scale(available)}})
	if err != nil {
		return nil, fmt.Errorf("burndown chart: %w", err)
	}
	avail.Color = chartAvailColor
	avail.Width = vg.Points(1.5)
	avail.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	p.Add(avail)
	p.Legend.Add("available", avail)
	p.Legend.Top = true
	p.Legend.Left = true

	p.X.Min, p.X.Max = x0, x1
	// Zero is always on the y axis; leave headroom above the highest value for
	// the legend, and give an all-zero chart a unit range.
	p.Y.Min = math.Min(p.Y.Min, 0)
	if p.Y.Max <= 0 {
		p.Y.Max = 1
	} else {
		p.Y.Max *= 1.25
	}
	return p, nil
}

// chartPalette holds the chart's own colours, each blended with white in
// even steps: every pixel the plot draws is one of them or an antialiased
// edge between one of them and the white background, so the nearest entry
// is exact or within one step.
var chartPalette = func() color.Palette {
	bases := []color.RGBA{{A: 0xff}, chartBarColor, chartUsedColor, chartAvailColor}
	const steps = 63 // 4 bases × 63 steps + white = 253 entries
	p := color.Palette{color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}}
	for _, b := range bases {
		for i := 1; i <= steps; i++ {
			mix := func(v uint8) uint8 { return uint8((int(v)*i + 0xff*(steps-i) + steps/2) / steps) }
			p = append(p, color.RGBA{R: mix(b.R), G: mix(b.G), B: mix(b.B), A: 0xff})
		}
	}
	return p
}()

// quantize maps an opaque RGBA image onto chartPalette. The chart has a few
// hundred distinct colours, so each is looked up once and remembered; long
// runs of one colour (the background) cost one comparison a pixel.
func quantize(img image.Image) image.Image {
	src, ok := img.(*image.RGBA)
	if !ok {
		return img
	}
	b := src.Bounds()
	dst := image.NewPaletted(b, chartPalette)
	seen := make(map[uint32]uint8, 1024)
	last, lastIdx := uint32(0xffffffff), uint8(0) // white is entry 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := src.Pix[(y-b.Min.Y)*src.Stride : (y-b.Min.Y)*src.Stride+b.Dx()*4]
		out := dst.Pix[(y-b.Min.Y)*dst.Stride : (y-b.Min.Y)*dst.Stride+b.Dx()]
		for x := range out {
			px := row[x*4 : x*4+4 : x*4+4]
			key := uint32(px[0])<<24 | uint32(px[1])<<16 | uint32(px[2])<<8 | uint32(px[3])
			if key != last {
				idx, ok := seen[key]
				if !ok {
					idx = uint8(chartPalette.Index(color.RGBA{R: px[0], G: px[1], B: px[2], A: px[3]}))
					seen[key] = idx
				}
				last, lastIdx = key, idx
			}
			out[x] = lastIdx
		}
	}
	return dst
}

// chartBuffers reuses the PNG encoder's buffers (its deflate state is about
// a megabyte) across charts.
var chartBuffers pngBuffers

type pngBuffers struct{ pool sync.Pool }

func (p *pngBuffers) Get() *png.EncoderBuffer {
	b, _ := p.pool.Get().(*png.EncoderBuffer)
	return b
}

func (p *pngBuffers) Put(b *png.EncoderBuffer) { p.pool.Put(b) }

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
