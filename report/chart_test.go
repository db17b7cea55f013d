package report

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store/storetest"
)

var march = billing.NewPeriod(2026, time.March)

func mar(day int) billing.Date { return billing.DateOf(2026, time.March, day) }

// marchWeeks: March 2026 (Sunday the 1st, so its weeks are Mar 1, 2–8,
// 9–15, 16–22, 23–29, 30–31) with 1 to 3 hours each business day, 40 h
// available.
func marchWeeks() ([]billing.Week, int64) {
	daily := map[billing.Date]int64{}
	for d := march.FirstDay(); d <= march.LastDay(); d++ {
		if d.IsBusinessDay() {
			daily[d] = int64(d%3+1) * 3600
		}
	}
	available := int64(40 * 3600)
	return billing.Burndown(march, daily, 0, available), available
}

// hoursWeeks is March's weeks with the given hours a week (Mar 1 first).
func hoursWeeks(adjustment int64, hours ...int64) []billing.Week {
	daily := map[billing.Date]int64{}
	starts := []int{1, 2, 9, 16, 23, 30}
	for i, h := range hours {
		daily[mar(starts[i])] = h * 3600
	}
	return billing.Burndown(march, daily, adjustment, 0)
}

// TestBurndownSeries: the remaining line starts at the total available,
// drops at each week's end (or an open period's as-of date) by the hours
// used so far, goes below zero in overage; an open period's projection
// runs from there to available − projected at the month's end.
func TestBurndownSeries(t *testing.T) {
	const h = 3600
	type pt = burndownPoint
	weeks := hoursWeeks(0, 2, 10, 10, 10, 10, 4) // 46 h in all
	for _, tc := range []struct {
		name string
		b    Burndown
		want burndownSeries
	}{
		{"closed: a point at each week's end", Burndown{Period: march, Weeks: weeks, Available: 50 * h},
			burndownSeries{Days: 31, Today: -1, Actual: []pt{{0, 50 * h}, {1, 48 * h}, {8, 38 * h}, {15, 28 * h}, {22, 18 * h}, {29, 8 * h}, {31, 4 * h}}}},
		{"closed in overage: below zero", Burndown{Period: march, Weeks: weeks, Available: 40 * h},
			burndownSeries{Days: 31, Today: -1, Actual: []pt{{0, 40 * h}, {1, 38 * h}, {8, 28 * h}, {15, 18 * h}, {22, 8 * h}, {29, -2 * h}, {31, -6 * h}}}},
		{"a late adjustment counts in the first week", Burndown{Period: march, Weeks: hoursWeeks(3*h, 0, 1), Available: 10 * h},
			burndownSeries{Days: 31, Today: -1, Actual: []pt{{0, 10 * h}, {1, 7 * h}, {8, 6 * h}, {15, 6 * h}, {22, 6 * h}, {29, 6 * h}, {31, 6 * h}}}},
		{"open mid-week: stops at the as-of date", Burndown{Period: march, Weeks: weeks, Available: 50 * h, Open: true, AsOf: mar(18), Projected: 55 * h},
			burndownSeries{Days: 31, Today: 18, Actual: []pt{{0, 50 * h}, {1, 48 * h}, {8, 38 * h}, {15, 28 * h}, {18, 18 * h}},
				Projection: []pt{{18, 18 * h}, {31, -5 * h}}}},
		{"open on a Sunday: the week's end is the as-of date", Burndown{Period: march, Weeks: weeks, Available: 50 * h, Open: true, AsOf: mar(22), Projected: 40 * h},
			burndownSeries{Days: 31, Today: 22, Actual: []pt{{0, 50 * h}, {1, 48 * h}, {8, 38 * h}, {15, 28 * h}, {22, 18 * h}},
				Projection: []pt{{22, 18 * h}, {31, 10 * h}}}},
		{"open on the 1st", Burndown{Period: march, Weeks: weeks, Available: 50 * h, Open: true, AsOf: mar(1), Projected: 2 * h},
			burndownSeries{Days: 31, Today: 1, Actual: []pt{{0, 50 * h}, {1, 48 * h}}, Projection: []pt{{1, 48 * h}, {31, 48 * h}}}},
		{"open on the last day", Burndown{Period: march, Weeks: weeks, Available: 50 * h, Open: true, AsOf: mar(31), Projected: 46 * h},
			burndownSeries{Days: 31, Today: 31, Actual: []pt{{0, 50 * h}, {1, 48 * h}, {8, 38 * h}, {15, 28 * h}, {22, 18 * h}, {29, 8 * h}, {31, 4 * h}},
				Projection: []pt{{31, 4 * h}, {31, 4 * h}}}},
		{"open, as of after the month: drawn whole", Burndown{Period: march, Weeks: weeks, Available: 50 * h, Open: true, AsOf: billing.DateOf(2026, time.April, 2), Projected: 46 * h},
			burndownSeries{Days: 31, Today: -1, Actual: []pt{{0, 50 * h}, {1, 48 * h}, {8, 38 * h}, {15, 28 * h}, {22, 18 * h}, {29, 8 * h}, {31, 4 * h}}}},
		{"open, as of before the month: projection only", Burndown{Period: march, Weeks: hoursWeeks(0), Available: 50 * h, Open: true, AsOf: billing.DateOf(2026, time.February, 20)},
			burndownSeries{Days: 31, Today: -1, Actual: []pt{{0, 50 * h}}, Projection: []pt{{0, 50 * h}, {31, 50 * h}}}},
		{"no weeks", Burndown{Period: march, Available: 8 * h},
			burndownSeries{Days: 31, Today: -1, Actual: []pt{{0, 8 * h}}}},
		{"February 2026: 28 days", Burndown{Period: billing.NewPeriod(2026, time.February), Weeks: billing.Burndown(billing.NewPeriod(2026, time.February), nil, 0, 0)},
			burndownSeries{Days: 28, Today: -1, Actual: []pt{{0, 0}, {1, 0}, {8, 0}, {15, 0}, {22, 0}, {28, 0}}}},
		{"a figure held at the int64 limit stays drawable", Burndown{Period: march, Weeks: []billing.Week{{From: mar(1), To: mar(31), Cumulative: math.MaxInt64}}, Available: math.MaxInt64},
			burndownSeries{Days: 31, Today: -1, Actual: []pt{{0, 1 << 50}, {31, 0}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.b.series(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("series\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestYTicks: round steps, zero and both ends covered, at most seven
// ticks, whole sessions.
func TestYTicks(t *testing.T) {
	const h = 3600
	for _, tc := range []struct {
		lo, hi int64
		unit   billing.Unit
		want   []int64
	}{
		{0, 40 * h, billing.UnitHours, []int64{0, 10 * h, 20 * h, 30 * h, 40 * h}},
		{-6 * h, 40 * h, billing.UnitHours, []int64{-10 * h, 0, 10 * h, 20 * h, 30 * h, 40 * h}},
		{0, 0, billing.UnitHours, []int64{0, h / 4, h / 2, 3 * h / 4, h}},
		{0, 3 * h, billing.UnitHours, []int64{0, h / 2, h, 3 * h / 2, 2 * h, 5 * h / 2, 3 * h}},
		{0, 3 * h, billing.UnitSessions, []int64{0, h, 2 * h, 3 * h}},
		{0, 0, billing.UnitSessions, []int64{0, h}},
		{0, 12 * h, billing.UnitSessions, []int64{0, 2 * h, 4 * h, 6 * h, 8 * h, 10 * h, 12 * h}},
		{0, 1000 * h, billing.UnitHours, []int64{0, 200 * h, 400 * h, 600 * h, 800 * h, 1000 * h}},
		{0, 37 * h, billing.UnitHours, []int64{0, 10 * h, 20 * h, 30 * h, 40 * h}},
		{-1, 10 * h, billing.UnitHours, []int64{-2 * h, 0, 2 * h, 4 * h, 6 * h, 8 * h, 10 * h}},
	} {
		if got := yTicks(tc.lo, tc.hi, tc.unit); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("yTicks(%d, %d, %s) = %v, want %v", tc.lo, tc.hi, tc.unit, got, tc.want)
		}
	}
}

func TestWeekLabel(t *testing.T) {
	for _, tc := range []struct {
		from, to    billing.Date
		label, days string
	}{
		{mar(2), mar(8), "Mar 2–8", "2–8"},
		{mar(30), billing.DateOf(2026, time.April, 5), "Mar 30–Apr 5", "30–5"},
		{mar(31), mar(31), "Mar 31", "31"},
	} {
		if got := weekLabel(tc.from, tc.to); got != tc.label {
			t.Errorf("weekLabel(%v, %v) = %q, want %q", tc.from, tc.to, got, tc.label)
		}
		if got := dayRange(tc.from, tc.to); got != tc.days {
			t.Errorf("dayRange(%v, %v) = %q, want %q", tc.from, tc.to, got, tc.days)
		}
	}
}

// chartCases are the charts the golden files and the PNG checks draw.
func chartCases() map[string]Burndown {
	weeks := hoursWeeks(0, 2, 10, 10, 10, 10, 4)
	return map[string]Burndown{
		"closed": {Period: march, Weeks: weeks, Available: 43 * 3600},
		"open":   {Period: march, Weeks: weeks, Available: 50 * 3600, Open: true, AsOf: mar(18), Projected: 55 * 3600},
	}
}

// TestBurndownSVGGolden: a closed month (whole, in overage at its end) and
// an open one (as of the 18th, projected past its hours). Run with -update
// to rewrite testdata/burndown-*.svg.golden.
func TestBurndownSVGGolden(t *testing.T) {
	for name, b := range chartCases() {
		t.Run(name, func(t *testing.T) {
			svg, err := BurndownSVG(b)
			if err != nil {
				t.Fatal(err)
			}
			storetest.Golden(t, "burndown-"+name+".svg", string(svg))
			if dir := os.Getenv("CHART_OUT"); dir != "" {
				if err := os.WriteFile(filepath.Join(dir, "burndown-"+name+".svg"), svg, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// svgText is one <text> of an SVG: its attributes and content.
type svgText struct {
	attrs map[string]string
	text  string
}

// parseSVG decodes b to EOF as XML, failing on anything an inline SVG must
// not hold, and returns its root element and its texts.
func parseSVG(t *testing.T, b []byte) (root xml.StartElement, texts []svgText) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var in *svgText
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root.Name.Local == "" {
				root = tok.Copy()
			}
			for _, a := range tok.Attr {
				if a.Name.Local == "style" {
					t.Errorf("<%s> has a style attribute: %q", tok.Name.Local, a.Value)
				}
			}
			switch tok.Name.Local {
			case "script", "style", "foreignObject", "image", "a":
				t.Errorf("SVG holds a <%s>", tok.Name.Local)
			case "text":
				in = &svgText{attrs: map[string]string{}}
				for _, a := range tok.Attr {
					in.attrs[a.Name.Local] = a.Value
				}
			}
		case xml.CharData:
			if in != nil {
				in.text += string(tok)
			}
		case xml.EndElement:
			if tok.Name.Local == "text" && in != nil {
				texts = append(texts, *in)
				in = nil
			}
		case xml.ProcInst, xml.Directive, xml.Comment:
			t.Errorf("SVG for inlining holds %T %v", tok, tok)
		}
	}
	return root, texts
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// TestBurndownSVG: well-formed, inlinable (no declaration, no style
// attribute: the pages' CSP drops them), the page's font, the title and
// labels, the legend above the plot, the same bytes twice.
func TestBurndownSVG(t *testing.T) {
	weeks, available := marchWeeks()
	cases := chartCases()
	for _, tc := range []struct {
		name     string
		b        Burndown
		texts    []string
		notTexts []string
	}{
		{"closed", cases["closed"], []string{"Burndown, March 2026", "hours", "Remaining", "Ideal", "Overage", "Mar 2–8", "30–31", "1", "40.00", "-10.00", "0.00"},
			[]string{"Projected", "Today, Mar 18"}},
		{"open", cases["open"], []string{"Burndown, March 2026", "Remaining", "Ideal", "Projected", "Today, Mar 18", "Overage", "50.00"}, nil},
		{"within the hours: no overage", Burndown{Period: march, Weeks: weeks, Available: available + 20*3600}, []string{"Remaining", "60.00"}, []string{"Overage", "Projected"}},
		{"sessions", Burndown{Period: march, Unit: billing.UnitSessions, Weeks: hoursWeeks(0, 1, 2, 3), Available: 10 * 3600}, []string{"sessions", "10", "0"}, []string{"10.00"}},
		{"empty", Burndown{Period: march}, []string{"Burndown, March 2026", "1.00"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := BurndownSVG(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte("<svg ")) {
				t.Errorf("SVG starts %q, want the <svg> element itself", b[:min(len(b), 40)])
			}
			root, texts := parseSVG(t, b)
			if root.Name.Local != "svg" || root.Name.Space != "http://www.w3.org/2000/svg" {
				t.Fatalf("root element %v, want svg", root.Name)
			}
			for name, want := range map[string]string{"viewBox": "0 0 480 240", "font-family": "inherit", "width": "480pt", "height": "240pt", "aria-label": "Burndown, March 2026"} {
				if got := attr(root, name); got != want {
					t.Errorf("root %s=%q, want %q", name, got, want)
				}
			}
			all := map[string]svgText{}
			for _, x := range texts {
				all[x.text] = x
				if f := x.attrs["font-family"]; f != "" {
					t.Errorf("text %q sets its own font %q", x.text, f)
				}
			}
			for _, want := range tc.texts {
				if _, ok := all[want]; !ok {
					t.Errorf("no text %q in %v", want, texts)
				}
			}
			for _, bad := range tc.notTexts {
				if _, ok := all[bad]; ok {
					t.Errorf("text %q should not be drawn", bad)
				}
			}
			if !bytes.Contains(b, []byte(`fill="none"`)) {
				t.Error(`no fill="none": an unfilled line would paint black`)
			}
			again, err := BurndownSVG(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, again) {
				t.Error("two renders of the same input differ")
			}
		})
	}
}

// TestBurndownLegendOutside: every legend entry, the title and the as-of
// label lie above the plot area; every x label below it.
func TestBurndownLegendOutside(t *testing.T) {
	for name, b := range chartCases() {
		t.Run(name, func(t *testing.T) {
			sc, err := burndownScene(b)
			if err != nil {
				t.Fatal(err)
			}
			top, bottom := math.Inf(1), math.Inf(-1)
			for _, m := range sc.Marks {
				if m.Kind == markPath && m.Stroke == chartMuted && m.P[0].X == m.P[1].X { // the y axis
					top, bottom = min(m.P[0].Y, m.P[1].Y), max(m.P[0].Y, m.P[1].Y)
				}
			}
			if math.IsInf(top, 0) {
				t.Fatal("no y axis")
			}
			for _, m := range sc.Marks {
				if m.Kind != markText {
					continue
				}
				y := m.P[0].Y
				switch {
				case m.Text == "Remaining" || m.Text == "Ideal" || m.Text == "Projected" || m.Text == "Overage" || strings.HasPrefix(m.Text, "Burndown") || strings.HasPrefix(m.Text, "Today"):
					if y >= top-2 {
						t.Errorf("%q at y=%v, inside the plot (top %v)", m.Text, y, top)
					}
				case strings.HasPrefix(m.Text, "Mar"):
					if y-m.Size < bottom {
						t.Errorf("%q at y=%v, inside the plot (bottom %v)", m.Text, y, bottom)
					}
				}
			}
		})
	}
}

// decodeChart decodes a PNG chart and checks its size.
func decodeChart(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got := img.Bounds().Size(); got.X != chartWidth || got.Y != chartHeight {
		t.Fatalf("size = %dx%d, want %dx%d", got.X, got.Y, chartWidth, chartHeight)
	}
	return img
}

// colours counts the pixels of each exact colour.
func colours(img image.Image) map[color.RGBA]int {
	out := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			out[color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(bl >> 8), A: uint8(a >> 8)}]++
		}
	}
	return out
}

// TestBurndownPNG: a paletted 640×320 PNG, the same bytes twice, with the
// actual line, the ideal line, the text, and — only where they belong —
// the as-of line and the overage band.
func TestBurndownPNG(t *testing.T) {
	weeks, available := marchWeeks()
	cases := chartCases()
	for _, tc := range []struct {
		name           string
		b              Burndown
		today, overage bool
	}{
		{"closed, in overage", cases["closed"], false, true},
		{"open, projected over", cases["open"], true, true},
		{"closed, within the hours", Burndown{Period: march, Weeks: weeks, Available: available + 20*3600}, false, false},
		{"open, within the hours", Burndown{Period: march, Weeks: weeks, Available: available + 20*3600, Open: true, AsOf: mar(10), Projected: 50 * 3600}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := BurndownPNG(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			img := decodeChart(t, a)
			if _, ok := img.(*image.Paletted); !ok {
				t.Errorf("chart decodes as %T, want a paletted PNG", img)
			}
			again, err := BurndownPNG(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, again) {
				t.Error("two renders of the same input differ")
			}
			got := colours(img)
			for _, c := range []struct {
				name  string
				c     color.RGBA
				least int
				want  bool
			}{
				{"actual line", chartActual, 200, true},
				{"ideal line", chartIdeal, 200, true},
				{"text", chartInk, 30, true},
				{"grid", chartGrid, 500, true},
				{"as-of line", chartToday, 100, tc.today},
				{"overage band", chartOverage, 1000, tc.overage},
			} {
				if n := got[c.c]; c.want && n < c.least {
					t.Errorf("%s: %d pixels of %v, want at least %d", c.name, n, c.c, c.least)
				} else if !c.want && n > 0 {
					t.Errorf("%s: %d pixels of %v, want none", c.name, n, c.c)
				}
			}
			if len(a) > 40_000 {
				t.Errorf("%d bytes: want a small PNG", len(a))
			}
			if dir := os.Getenv("CHART_OUT"); dir != "" {
				if err := os.WriteFile(filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".png"), a, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestBurndownPNGConcurrent: charts drawn at once (the canvases and the
// encoder's buffers are shared through pools) are the bytes of one drawn
// alone.
func TestBurndownPNGConcurrent(t *testing.T) {
	cases := chartCases()
	want := map[string][]byte{}
	for name, b := range cases {
		out, err := BurndownPNG(b)
		if err != nil {
			t.Fatal(err)
		}
		want[name] = out
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		name := []string{"open", "closed"}[i%2]
		wg.Go(func() {
			out, err := BurndownPNG(cases[name])
			if err == nil && !bytes.Equal(out, want[name]) {
				err = fmt.Errorf("%s drawn concurrently differs from drawn alone", name)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestBurndownPNGEdgeCases: odd inputs still draw a chart.
func TestBurndownPNGEdgeCases(t *testing.T) {
	weeks, _ := marchWeeks()
	zero := make([]billing.Week, len(weeks))
	for i, w := range weeks {
		zero[i] = billing.Week{From: w.From, To: w.To}
	}
	for _, tc := range []struct {
		name string
		b    Burndown
	}{
		{"empty", Burndown{Period: march}},
		{"empty with available", Burndown{Period: march, Available: 10 * 3600}},
		{"zero available", Burndown{Period: march, Weeks: weeks}},
		{"all zero", Burndown{Period: march, Weeks: zero}},
		{"one day", Burndown{Period: march, Weeks: weeks[len(weeks)-1:], Available: 3600}},
		{"weeks outside the period", Burndown{Period: billing.NewPeriod(2026, time.April), Weeks: weeks, Available: 3600}},
		{"held at the int64 limit", Burndown{Period: march, Weeks: []billing.Week{{From: mar(1), To: mar(31), Cumulative: math.MaxInt64}}, Available: math.MaxInt64, Open: true, AsOf: mar(9), Projected: math.MaxInt64}},
		{"sessions", Burndown{Period: march, Unit: billing.UnitSessions, Weeks: weeks, Available: 8 * 3600}},
		{"the zero period", Burndown{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := BurndownPNG(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			decodeChart(t, b)
			if _, err := BurndownSVG(tc.b); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDashes: a dashed line is cut into its dashes along its length, also
// across a corner.
func TestDashes(t *testing.T) {
	for _, tc := range []struct {
		pts     []vec
		pattern []float64
		want    [][]vec
	}{
		{[]vec{{0, 0}, {10, 0}}, []float64{3, 2}, [][]vec{{{0, 0}, {3, 0}}, {{5, 0}, {8, 0}}}},
		{[]vec{{0, 0}, {4, 0}, {4, 4}}, []float64{5, 1}, [][]vec{{{0, 0}, {4, 0}, {4, 1}}, {{4, 2}, {4, 4}}}},
		{[]vec{{0, 0}, {2, 0}}, []float64{5, 1}, [][]vec{{{0, 0}, {2, 0}}}},
	} {
		if got := dashes(tc.pts, tc.pattern); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("dashes(%v, %v) = %v, want %v", tc.pts, tc.pattern, got, tc.want)
		}
	}
}

// TestSVGEscapes: the scene's texts are escaped in the SVG.
func TestSVGEscapes(t *testing.T) {
	sc := &scene{Label: `<script>alert("x")</script> & 'co'`}
	sc.text(1, 2, sc.Label, 8, false, anchorStart, chartInk)
	b := sc.svg(`width="1"`)
	if bytes.Contains(b, []byte("<script")) {
		t.Fatalf("unescaped: %s", b)
	}
	_, texts := parseSVG(t, b)
	if len(texts) != 1 || texts[0].text != sc.Label {
		t.Errorf("texts %v, want %q", texts, sc.Label)
	}
}

// TestChartNearest: chartNearest finds the palette entry nearest to any
// colour — every blend of a chart colour with white within one step, the
// chart colours and white exactly, and other colours (a line over the
// overage band) about as near as a search of the whole palette.
func TestChartNearest(t *testing.T) {
	dist := func(a, b color.RGBA) int {
		dr, dg, db := int(a.R)-int(b.R), int(a.G)-int(b.G), int(a.B)-int(b.B)
		return dr*dr + dg*dg + db*db
	}
	exhaustive := func(c color.RGBA) int {
		best := math.MaxInt
		for _, p := range chartColours {
			best = min(best, dist(p, c))
		}
		return best
	}
	if len(chartPalette) > 256 {
		t.Fatalf("%d palette entries", len(chartPalette))
	}
	for _, base := range append([]color.RGBA{chartWhite}, chartBases...) {
		if got := chartColours[chartNearest(base.R, base.G, base.B)]; got != base {
			t.Errorf("chart colour %v became %v, want exact", base, got)
		}
		for a := 0; a < 256; a++ { // base drawn at coverage a over white
			mix := func(v uint8) uint8 { return uint8((int(v)*a + 0xff*(255-a) + 127) / 255) }
			c := color.RGBA{R: mix(base.R), G: mix(base.G), B: mix(base.B), A: 0xff}
			got := chartColours[chartNearest(c.R, c.G, c.B)]
			for _, d := range []int{int(got.R) - int(c.R), int(got.G) - int(c.G), int(got.B) - int(c.B)} {
				if d < -5 || d > 5 {
					t.Fatalf("%v at coverage %d: %v became %v", base, a, c, got)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		c := color.RGBA{R: uint8(rng.IntN(256)), G: uint8(rng.IntN(256)), B: uint8(rng.IntN(256)), A: 0xff}
		// Off the lines from white, rounding leaves a few entries as near
		// as each other: within half a unit of the nearest is near enough.
		if got, want := math.Sqrt(float64(dist(chartColours[chartNearest(c.R, c.G, c.B)], c))), math.Sqrt(float64(exhaustive(c))); got > want+0.5 {
			t.Fatalf("%v: nearest entry at distance %.2f, the palette has one at %.2f", c, got, want)
		}
	}
	var nc nearestCache
	for range 2 {
		for _, c := range []color.RGBA{chartActual, {R: 1, G: 2, B: 3}, chartWhite} {
			if got, want := nc.index(c.R, c.G, c.B), chartNearest(c.R, c.G, c.B); got != want {
				t.Errorf("cached index of %v = %d, want %d", c, got, want)
			}
		}
	}
}

// TestStatementDocument: the CLI's HTML statement is a page of its own with
// the burndown inline as SVG (no cid: image left), sized to its column,
// and the burn rate.
func TestStatementDocument(t *testing.T) {
	db, rules := storetest.WorkedExample(t)
	for _, tc := range []struct {
		period string
		want   []string
	}{
		{"2026-02", []string{"Burndown, February 2026", "<td>Burn rate</td><td align=\"right\">117.5%</td>"}},
		{"2026-03", []string{"Burndown, March 2026", "Today, Mar 18", "Projected"}},
	} {
		t.Run(tc.period, func(t *testing.T) {
			p, _ := billing.ParsePeriod(tc.period)
			d, err := db.StatementFor(context.Background(), rules, "acme-001", p, mar(18))
			if err != nil {
				t.Fatal(err)
			}
			out, err := StatementDocument(StatementInput{Data: d, Currency: "USD", AsOf: mar(18)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out, "<!DOCTYPE html>") || strings.Contains(out, "cid:") || strings.Contains(out, "<img") {
				t.Errorf("not a page of its own with its chart inline:\n%s", out)
			}
			i, j := strings.Index(out, "<svg "), strings.Index(out, "</svg>")
			if i < 0 || j < i {
				t.Fatalf("no inline SVG:\n%s", out)
			}
			root, _ := parseSVG(t, []byte(out[i:j+len("</svg>")]))
			if attr(root, "width") != "100%" || attr(root, "height") != "" {
				t.Errorf("svg width=%q height=%q, want 100%% and none (from the viewBox)", attr(root, "width"), attr(root, "height"))
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("statement lacks %q", w)
				}
			}
		})
	}
}

func BenchmarkBurndownPNG(b *testing.B) {
	bd := chartCases()["open"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BurndownPNG(bd); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBurndownSVG(b *testing.B) {
	bd := chartCases()["open"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BurndownSVG(bd); err != nil {
			b.Fatal(err)
		}
	}
}
