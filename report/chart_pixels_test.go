package report

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"image"
	"image/png"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store/storetest"
)

// TestBurndownPNGPixelsGolden: the charts' pixels, as a PNG reader decodes
// them, stay what they are — a faster drawing or encoder must not move
// one. testdata/burndown-pixels.golden holds a SHA-256 of each chart's
// decoded pixels (palette indices) and of its palette; run with -update
// to rewrite it after a change meant to alter the drawing.
func TestBurndownPNGPixelsGolden(t *testing.T) {
	cases := pixelCases()
	weeks, _ := marchWeeks()
	cases["one day"] = Burndown{Period: march, Weeks: weeks[len(weeks)-1:], Available: 3600}
	cases["held at the int64 limit"] = Burndown{Period: march, Weeks: []billing.Week{{From: mar(1), To: mar(31), Cumulative: math.MaxInt64}}, Available: math.MaxInt64, Open: true, AsOf: mar(9), Projected: math.MaxInt64}
	cases["February"] = Burndown{Period: billing.NewPeriod(2026, time.February), Weeks: billing.Burndown(billing.NewPeriod(2026, time.February), nil, 0, 0), Available: 10 * 3600}
	var out strings.Builder
	for _, name := range slices.Sorted(maps.Keys(cases)) {
		b, err := BurndownPNG(cases[name])
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		p, ok := img.(*image.Paletted)
		if !ok {
			t.Fatalf("%s decodes as %T", name, img)
		}
		h := sha256.New()
		h.Write(p.Pix)
		for _, c := range p.Palette {
			r, g, b, a := c.RGBA()
			fmt.Fprintf(h, "%04x%04x%04x%04x", r, g, b, a)
		}
		fmt.Fprintf(&out, "%s: %x\n", name, h.Sum(nil))
	}
	storetest.Golden(t, "burndown-pixels", out.String())
}

// pixelCases are the charts whose pixels the PNG tests check: the chart
// tests' cases, and within the hours, open, in sessions, empty.
func pixelCases() map[string]Burndown {
	weeks, available := marchWeeks()
	cases := chartCases()
	cases["within the hours"] = Burndown{Period: march, Weeks: weeks, Available: available + 20*3600}
	cases["open, within the hours"] = Burndown{Period: march, Weeks: weeks, Available: available + 20*3600, Open: true, AsOf: mar(10), Projected: 50 * 3600}
	cases["sessions"] = Burndown{Period: march, Unit: billing.UnitSessions, Weeks: weeks, Available: 8 * 3600}
	cases["empty"] = Burndown{Period: march}
	return cases
}
