package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"retainer/billing"
)

func marchWeeks() ([]billing.Week, int64) {
	p := billing.NewPeriod(2026, time.March)
	daily := map[billing.Date]int64{}
	for d := p.FirstDay(); d <= p.LastDay(); d++ {
		if d.IsBusinessDay() {
			daily[d] = int64(d%3+1) * 3600
		}
	}
	available := int64(40 * 3600)
	return billing.Burndown(p, daily, 1800, available), available
}

func decodeChart(t *testing.T, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got := img.Bounds().Size(); got.X != 640 || got.Y != 320 {
		t.Fatalf("size = %dx%d, want 640x320", got.X, got.Y)
	}
}

func TestBurndownPNG(t *testing.T) {
	weeks, available := marchWeeks()
	start := time.Now()
	a, err := BurndownPNG("Acme — March 2026", weeks, available, billing.UnitHours)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("one chart: %v, %d bytes", time.Since(start), len(a))
	decodeChart(t, a)
	if dir := os.Getenv("CHART_OUT"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "burndown.png"), a, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	b, err := BurndownPNG("Acme — March 2026", weeks, available, billing.UnitHours)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two renders of the same input differ")
	}

	s, err := BurndownPNG("Acme — March 2026", weeks, available, billing.UnitSessions)
	if err != nil {
		t.Fatal(err)
	}
	decodeChart(t, s)
}

func TestBurndownPNGEdgeCases(t *testing.T) {
	weeks, _ := marchWeeks()
	zero := make([]billing.Week, len(weeks))
	for i, w := range weeks {
		zero[i] = billing.Week{From: w.From, To: w.To}
	}
	over := append([]billing.Week(nil), weeks...)
	over[0].Hours = -2 * 3600 // a negative correction week
	for _, tc := range []struct {
		name      string
		weeks     []billing.Week
		available int64
	}{
		{"empty", nil, 0},
		{"empty with available", nil, 10 * 3600},
		{"zero available", weeks, 0},
		{"all zero", zero, 0},
		{"negative week", over, 5 * 3600},
		{"one day", weeks[len(weeks)-1:], 3600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := BurndownPNG("", tc.weeks, tc.available, billing.UnitHours)
			if err != nil {
				t.Fatal(err)
			}
			decodeChart(t, b)
		})
	}
}

func TestWeekLabel(t *testing.T) {
	d := billing.DateOf
	for _, tc := range []struct {
		from, to billing.Date
		want     string
	}{
		{d(2026, time.March, 2), d(2026, time.March, 8), "Mar 2–8"},
		{d(2026, time.March, 30), d(2026, time.April, 5), "Mar 30–Apr 5"},
		{d(2026, time.March, 31), d(2026, time.March, 31), "Mar 31"},
	} {
		if got := weekLabel(tc.from, tc.to); got != tc.want {
			t.Errorf("weekLabel(%v, %v) = %q, want %q", tc.from, tc.to, got, tc.want)
		}
	}
}

// TestQuantize: every colour the chart draws, and every blend of one with the
// white background, maps onto the palette within one step; the encoded chart
// is paletted.
func TestQuantize(t *testing.T) {
	bases := []color.RGBA{{R: 0xff, G: 0xff, B: 0xff, A: 0xff}, {A: 0xff}, chartBarColor, chartUsedColor, chartAvailColor}
	src := image.NewRGBA(image.Rect(0, 0, 256, len(bases)))
	for y, b := range bases {
		for a := 0; a < 256; a++ { // b drawn at coverage a over white
			mix := func(v uint8) uint8 { return uint8((int(v)*a + 0xff*(255-a) + 127) / 255) }
			src.SetRGBA(a, y, color.RGBA{R: mix(b.R), G: mix(b.G), B: mix(b.B), A: 0xff})
		}
	}
	dst, ok := quantize(src).(*image.Paletted)
	if !ok {
		t.Fatalf("quantize returned %T, want *image.Paletted", quantize(src))
	}
	for y := range bases {
		for x := 0; x < 256; x++ {
			want := src.RGBAAt(x, y)
			r, g, b, _ := dst.At(x, y).RGBA()
			for _, d := range []int{int(r>>8) - int(want.R), int(g>>8) - int(want.G), int(b>>8) - int(want.B)} {
				if d < -4 || d > 4 {
					t.Fatalf("pixel (%d,%d) %v became %d,%d,%d", x, y, want, r>>8, g>>8, b>>8)
				}
			}
		}
		if got := dst.At(255, y); got != color.Color(bases[y]) {
			t.Errorf("base colour %v became %v, want exact", bases[y], got)
		}
	}

	weeks, available := marchWeeks()
	b, err := BurndownPNG("Acme — March 2026", weeks, available, billing.UnitHours)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := img.(*image.Paletted); !ok {
		t.Fatalf("chart decodes as %T, want a paletted PNG", img)
	}
}

// parseSVG decodes b to EOF as XML and returns its root element's name, its
// attributes and all its text.
func parseSVG(t *testing.T, b []byte) (root xml.StartElement, text string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var sb strings.Builder
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
		case xml.CharData:
			sb.Write(tok)
			sb.WriteByte('\n')
		case xml.ProcInst, xml.Directive:
			t.Errorf("SVG for inlining holds %T %v", tok, tok)
		}
	}
	return root, sb.String()
}

func TestBurndownSVG(t *testing.T) {
	weeks, available := marchWeeks()
	zero := []billing.Week{{From: weeks[0].From, To: weeks[0].To}}
	for _, tc := range []struct {
		name, title string
		weeks       []billing.Week
		available   int64
		unit        billing.Unit
		texts       []string // in the text content, unescaped
	}{
		{"march", "Weekly burndown, March 2026", weeks, available, billing.UnitHours,
			[]string{"Weekly burndown, March 2026", "Mar 2–8", "Mar 30–31", "hours", "available"}},
		{"script title", `<script>alert("x")</script> & co`, weeks, available, billing.UnitHours,
			[]string{`<script>alert("x")</script> & co`}},
		{"sessions", "Sessions", weeks, available, billing.UnitSessions, []string{"sessions"}},
		{"empty", "", nil, 0, billing.UnitHours, nil},
		{"all zero", "zero", zero, 0, billing.UnitHours, []string{"zero"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := BurndownSVG(tc.title, tc.weeks, tc.available, tc.unit)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte("<svg ")) {
				t.Errorf("SVG starts %q, want the <svg> element itself", b[:min(len(b), 40)])
			}
			root, text := parseSVG(t, b)
			if root.Name.Local != "svg" || root.Name.Space != "http://www.w3.org/2000/svg" {
				t.Fatalf("root element %v, want svg", root.Name)
			}
			viewBox := ""
			for _, a := range root.Attr {
				if a.Name.Local == "viewBox" {
					viewBox = a.Value
				}
			}
			if viewBox != "0 0 480 240" {
				t.Errorf("viewBox %q, want 0 0 480 240", viewBox)
			}
			for _, want := range tc.texts {
				if !strings.Contains(text, want) {
					t.Errorf("text lacks %q:\n%s", want, text)
				}
			}
			// Nothing the page's CSP would drop, nothing a browser would run.
			for _, bad := range []string{"<script", " style=", "\tstyle=", "\nstyle=", "<style", "<?xml", "<!--"} {
				if bytes.Contains(b, []byte(bad)) {
					t.Errorf("SVG contains %q", bad)
				}
			}
			if !bytes.Contains(b, []byte(`fill="none"`)) {
				t.Error(`no fill="none": style attributes were not turned into attributes`)
			}

			again, err := BurndownSVG(tc.title, tc.weeks, tc.available, tc.unit)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, again) {
				t.Error("two renders of the same input differ")
			}
		})
	}
	if dir := os.Getenv("CHART_OUT"); dir != "" {
		b, _ := BurndownSVG("Acme — March 2026", weeks, available, billing.UnitHours)
		if err := os.WriteFile(filepath.Join(dir, "burndown.svg"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStyleToAttributes: the conversion keeps every declaration and escapes
// what it writes.
func TestStyleToAttributes(t *testing.T) {
	for in, want := range map[string]string{
		`<path d="M0,0" style="fill:none;stroke:#1F4E8C;stroke-width:2" />`:       `<path d="M0,0" fill="none" stroke="#1F4E8C" stroke-width="2" />`,
		"<text\n\tstyle=\"font-family:Liberation Serif;font-size:10px\">a</text>": "<text\n\tfont-family=\"Liberation Serif\" font-size=\"10px\">a</text>",
		` style="fill:#FFFFFF"`:         ` fill="#FFFFFF"`,
		` style="a:b&c;;bogus"`:         ` a="b&amp;c"`,
		` font-style="normal"`:          ` font-style="normal"`, // already an attribute
		`<text>style="fill:red"</text>`: `<text>style="fill:red"</text>`,
	} {
		if got := string(svgStyleAttr.ReplaceAllFunc([]byte(in), styleToAttributes)); got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
}
