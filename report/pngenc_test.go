package report

import (
	"bytes"
	"context"
	"hash/adler32"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store/storetest"
)

// referencePNG is the chart as image/png writes it (at its fastest
// level, as the chart was written before encodeChartPNG).
func referencePNG(t testing.TB, img *image.Paletted) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&out, img); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// decodePaletted decodes a PNG that must be 8-bit paletted.
func decodePaletted(t *testing.T, b []byte) *image.Paletted {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	p, ok := img.(*image.Paletted)
	if !ok {
		t.Fatalf("decodes as %T, want a paletted image", img)
	}
	return p
}

// samePixels fails unless got has want's size, palette and every pixel.
func samePixels(t *testing.T, what string, got, want *image.Paletted) {
	t.Helper()
	if got.Rect.Size() != want.Rect.Size() {
		t.Fatalf("%s: %v, want %v", what, got.Rect.Size(), want.Rect.Size())
	}
	if len(got.Palette) != len(want.Palette) {
		t.Fatalf("%s: %d palette entries, want %d", what, len(got.Palette), len(want.Palette))
	}
	for i := range got.Palette {
		if got.Palette[i] != want.Palette[i] {
			t.Fatalf("%s: palette entry %d is %v, want %v", what, i, got.Palette[i], want.Palette[i])
		}
	}
	w, h := want.Rect.Dx(), want.Rect.Dy()
	for y := range h {
		g := got.Pix[got.PixOffset(got.Rect.Min.X, got.Rect.Min.Y+y):][:w]
		x := want.Pix[want.PixOffset(want.Rect.Min.X, want.Rect.Min.Y+y):][:w]
		for i := range g {
			if g[i] != x[i] {
				t.Fatalf("%s: pixel (%d, %d) is entry %d, want %d", what, i, y, g[i], x[i])
			}
		}
	}
}

// TestChartPNGPixels: the chart's PNG decodes (with image/png) to the
// canvas drawn, every pixel, as image/png's own encoding of the canvas
// does; it is 8-bit paletted with the same chunks (no tRNS) and about as
// small.
func TestChartPNGPixels(t *testing.T) {
	cases := pixelCases()
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			c := drawnChart(t, b)
			ours := encodeChartPNG(c.img)
			ref := referencePNG(t, c.img)
			samePixels(t, "decoded", decodePaletted(t, ours), c.img)
			samePixels(t, "against image/png's", decodePaletted(t, ours), decodePaletted(t, ref))
			if got, want := chunkTypes(t, ours), chunkTypes(t, ref); !slices.Equal(got, want) {
				t.Errorf("chunks %v, image/png's %v", got, want)
			}
			if len(ours) > len(ref)*21/20 {
				t.Errorf("%d bytes, image/png's %d", len(ours), len(ref))
			}
			t.Logf("%d bytes, image/png's %d", len(ours), len(ref))
		})
	}
}

// chunkTypes lists a PNG's chunks, its IDAT chunks as one.
func chunkTypes(t *testing.T, b []byte) []string {
	t.Helper()
	if !bytes.HasPrefix(b, []byte(pngSignature)) {
		t.Fatal("no PNG signature")
	}
	var out []string
	for b = b[8:]; len(b) >= 12; {
		n := int(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
		typ := string(b[4:8])
		if len(out) == 0 || typ != "IDAT" || out[len(out)-1] != "IDAT" {
			out = append(out, typ)
		}
		b = b[12+n:]
	}
	if len(b) != 0 {
		t.Fatalf("%d bytes after the last chunk", len(b))
	}
	return out
}

// TestChartPNGImages: images unlike a chart — noise (literals only), one
// colour (runs only), rows repeated, runs and matches longer than the
// longest match, sizes down to a pixel — decode to their pixels.
func TestChartPNGImages(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := len(chartColours)
	for _, tc := range []struct {
		name string
		w, h int
		px   func(x, y int) uint8
	}{
		{"one pixel", 1, 1, func(x, y int) uint8 { return 7 }},
		{"white", 640, 320, func(x, y int) uint8 { return 0 }},
		{"one colour", 300, 40, func(x, y int) uint8 { return 200 }},
		{"noise", 640, 64, func(x, y int) uint8 { return uint8(rng.IntN(n)) }},
		{"sparse noise", 640, 64, func(x, y int) uint8 {
			if rng.IntN(20) == 0 {
				return uint8(rng.IntN(n))
			}
			return 0
		}},
		{"a noisy row repeated", 640, 50, func(x, y int) uint8 { return uint8((x*x*31 + x*7) % n) }},
		{"stripes", 640, 100, func(x, y int) uint8 { return uint8((x / 3) % 5) }},
		{"a diagonal", 640, 320, func(x, y int) uint8 {
			if x/2 == y || x/2 == y+1 {
				return 100
			}
			return uint8(min(y/40, 1) * 3)
		}},
		{"narrow", 3, 200, func(x, y int) uint8 { return uint8((x + y/7) % 3) }},
		{"odd width", 257, 9, func(x, y int) uint8 { return uint8(x % 2 * (y % 3)) }},
		{"rows wider than deflate's window", 33000, 3, func(x, y int) uint8 { return uint8(x / 1000 % 4) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := image.NewPaletted(image.Rect(0, 0, tc.w, tc.h), chartPalette)
			for y := range tc.h {
				for x := range tc.w {
					img.Pix[y*img.Stride+x] = tc.px(x, y)
				}
			}
			samePixels(t, "decoded", decodePaletted(t, encodeChartPNG(img)), img)
			// A sub-image: its stride is not its width.
			sub := img.SubImage(image.Rect(tc.w/3, tc.h/3, tc.w, tc.h)).(*image.Paletted)
			if !sub.Rect.Empty() {
				samePixels(t, "sub-image", decodePaletted(t, encodeChartPNG(sub)), sub)
			}
		})
	}
}

// TestStatementPDFChartPixels: the chart the PDF invoice shows, its PNG
// data embedded as it is (with the predictor that undoes the PNG's row
// filters), is the drawing, every pixel, as a PDF reader decodes it
// (poppler's pdfimages, which .ci/run installs with poppler-utils).
func TestStatementPDFChartPixels(t *testing.T) {
	bin, err := exec.LookPath("pdfimages")
	if err != nil {
		t.Fatal("pdfimages is needed to read the PDF's image: apt-get install poppler-utils (.ci/run does)")
	}
	db, rules := storetest.WorkedExample(t)
	p, _ := billing.ParsePeriod("2026-02")
	d, err := db.StatementFor(context.Background(), rules, "acme-001", p, mar(18))
	if err != nil {
		t.Fatal(err)
	}
	chart, err := StatementChart(d)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _, err := StatementPDF(PDFInput{StatementInput: StatementInput{Data: d, Currency: "USD"}, Chart: chart})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "invoice.pdf"), pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-png", filepath.Join(dir, "invoice.pdf"), filepath.Join(dir, "img")).CombinedOutput(); err != nil {
		t.Fatalf("pdfimages: %v\n%s", err, out)
	}
	f, err := os.ReadFile(filepath.Join(dir, "img-000.png"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := png.Decode(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	b := StatementBurndown(d, 0)
	b.Open = false // as StatementChart draws it
	c := drawnChart(t, b)
	if got.Bounds().Size() != c.img.Rect.Size() {
		t.Fatalf("the PDF's image is %v, want %v", got.Bounds().Size(), c.img.Rect.Size())
	}
	for y := range chartHeight {
		for x := range chartWidth {
			r, g, b, _ := got.At(x, y).RGBA()
			want := chartColours[c.img.Pix[y*c.img.Stride+x]]
			if uint8(r>>8) != want.R || uint8(g>>8) != want.G || uint8(b>>8) != want.B {
				t.Fatalf("pixel (%d, %d) is %02x%02x%02x, want %02x%02x%02x", x, y, r>>8, g>>8, b>>8, want.R, want.G, want.B)
			}
		}
	}
}

// TestHuffmanLengths: a code of any frequencies is complete (its lengths'
// Kraft sum is one), none longer than the limit, also for frequencies
// whose optimal code is deeper (a Fibonacci series).
func TestHuffmanLengths(t *testing.T) {
	fib := make([]int32, 40)
	fib[0], fib[1] = 1, 1
	for i := 2; i < len(fib); i++ {
		fib[i] = fib[i-1] + fib[i-2]
	}
	rng := rand.New(rand.NewPCG(7, 8))
	random := make([]int32, 286)
	for i := range random {
		if rng.IntN(3) > 0 {
			random[i] = int32(rng.IntN(100000))
		}
	}
	for _, tc := range []struct {
		name  string
		freq  []int32
		limit int
	}{
		{"two symbols", []int32{0, 5, 0, 1}, 15},
		{"Fibonacci, limit 15", fib, 15},
		{"Fibonacci, limit 7", fib[:19], 7},
		{"random", random, 15},
		{"all equal", slices.Repeat([]int32{3}, 286), 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lengths := make([]uint8, len(tc.freq))
			huffmanLengths(tc.freq, lengths, tc.limit)
			kraft := 0.0
			for s, l := range lengths {
				if (l == 0) != (tc.freq[s] == 0) {
					t.Fatalf("symbol %d of frequency %d has length %d", s, tc.freq[s], l)
				}
				if int(l) > tc.limit {
					t.Fatalf("symbol %d has length %d, limit %d", s, l, tc.limit)
				}
				if l > 0 {
					kraft += 1 / float64(uint64(1)<<l)
				}
			}
			if kraft != 1 {
				t.Errorf("Kraft sum %v, want 1 (a complete code)", kraft)
			}
		})
	}
}

// TestAdler32Sum: the same checksum as hash/adler32, for lengths around
// the word and the reduction's sizes, on white, sparse, full bytes.
func TestAdler32Sum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 4095, 4096, 4097, 5552, 5553, 65535, 65536, 65537, 641 * 320} {
		b := make([]byte, n)
		for _, fill := range []func(int) byte{
			func(int) byte { return 0 },
			func(int) byte { return 0xff },
			func(i int) byte {
				if rng.IntN(3) == 0 {
					return byte(rng.IntN(256))
				}
				return 0
			},
		} {
			for i := range b {
				b[i] = fill(i)
			}
			if got, want := adler32Sum(b), adler32.Checksum(b); got != want {
				t.Errorf("%d bytes: %08x, want %08x", n, got, want)
			}
		}
	}
}

// BenchmarkChartPNGEncoder compares, in one run, the chart written by
// encodeChartPNG with the same canvas written by image/png at its fastest
// level (the encoder before it), drawing included: pairs of 50 charts
// each, interleaved; it reports our time per chart, the ratio of ours to
// image/png's (minimum and median over the pairs) and both sizes.
func BenchmarkChartPNGEncoder(b *testing.B) {
	sc, err := burndownScene(chartCases()["closed"])
	if err != nil {
		b.Fatal(err)
	}
	const batch = 50
	var oursSize, refSize int
	run := func(encode func(*image.Paletted) []byte, size *int) float64 {
		return elapsed(func() {
			for range batch {
				c, err := sc.draw()
				if err != nil {
					b.Fatal(err)
				}
				*size = len(encode(c.img))
				pngCanvases.Put(c)
			}
		}) / batch
	}
	var ours, ratios []float64
	for b.Loop() {
		for range 3 {
			r := run(func(img *image.Paletted) []byte { return referencePNG(b, img) }, &refSize)
			o := run(encodeChartPNG, &oursSize)
			ours = append(ours, o)
			ratios = append(ratios, o/r)
		}
	}
	slices.Sort(ours)
	slices.Sort(ratios)
	b.ReportMetric(ours[len(ours)/2]*1e9, "ns/chart")
	b.ReportMetric(ratios[0], "ratio-min")
	b.ReportMetric(ratios[len(ratios)/2], "ratio-median")
	b.ReportMetric(float64(oursSize), "bytes")
	b.ReportMetric(float64(refSize), "image/png-bytes")
}

// elapsed runs fn and returns the seconds it took, on the monotonic clock:
// what a benchmark compares between its reference and ours in one run.
func elapsed(fn func()) float64 {
	start := time.Now()
	fn()
	return time.Since(start).Seconds()
}

// drawnChart is b drawn on a canvas, as StatementChart draws it before
// encoding; the canvas goes back to its pool when the test ends.
func drawnChart(t *testing.T, b Burndown) *pngCanvas {
	t.Helper()
	sc, err := burndownScene(b)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sc.draw()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pngCanvases.Put(c) })
	return c
}
