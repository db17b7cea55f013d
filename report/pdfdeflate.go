package report

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"slices"
	"strconv"
	"sync"
)

// fpdf compresses a page's content and an indexed image's palette with a
// new zlib writer each (about 1.1 MB allocated and cleared per writer,
// two per invoice: most of an invoice's allocations, and the collections
// they cause). The invoice is therefore written by fpdf uncompressed and
// those streams compressed here, with writers kept between documents: the
// same compressor at the same level (zlib, best speed) over the same bytes,
// so the file is byte for byte what fpdf's own compression writes. The
// chart's palette, the same in every invoice, is compressed once.

// zlibWriters are best-speed zlib writers, reset for each stream.
var zlibWriters = sync.Pool{New: func() any {
	w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed) // a valid level: no error
	return w
}}

// chartPaletteZ is the chart's palette (chartPLTE: the palette stream
// fpdf writes for the chart's PNG, the same in every invoice) compressed
// as deflatePDF compresses a stream, made once.
var chartPaletteZ = sync.OnceValue(func() []byte {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed) // a valid level: no error
	zw.Write(chartPLTE)                              // into memory: no error
	zw.Close()
	return z.Bytes()
})

// deflatePDF compresses the streams of pdf, a document fpdf wrote with
// compression off, that fpdf would have compressed — the pages' contents
// and the indexed images' palettes, found by the references of the pages
// and images to them — and writes the cross-reference table again for the
// new offsets. The objects are found through the document's own
// cross-reference table, a stream's bytes by its length, and references
// only in the dictionaries, never in a stream's bytes.
func deflatePDF(pdf []byte) ([]byte, error) {
	offsets, order, xref, err := pdfObjects(pdf)
	if err != nil {
		return nil, err
	}
	zw := zlibWriters.Get().(*zlib.Writer)
	defer zlibWriters.Put(zw)
	out := bytes.NewBuffer(make([]byte, 0, len(pdf)))
	object := func(k int) []byte {
		end := xref
		if k+1 < len(order) {
			end = offsets[order[k+1]]
		}
		return pdf[offsets[order[k]]:end]
	}
	// The streams fpdf compresses: each page's /Contents, each indexed
	// image's palette (/ColorSpace [/Indexed /DeviceRGB hival n 0 R]).
	deflate := map[int]bool{}
	for k := range order {
		dict, _, _ := bytes.Cut(object(k), []byte("\nstream\n"))
		for _, ref := range []string{"/Contents ", "/Indexed /DeviceRGB "} {
			_, after, found := bytes.Cut(dict, []byte(ref))
			if !found {
				continue
			}
			fields := bytes.Fields(after)
			if ref != "/Contents " && len(fields) > 0 {
				fields = fields[1:] // hival
			}
			if len(fields) >= 3 && string(fields[1]) == "0" && bytes.HasPrefix(fields[2], []byte("R")) {
				if n, err := strconv.Atoi(string(fields[0])); err == nil {
					deflate[n] = true
				}
			}
		}
	}
	out.Write(pdf[:offsets[order[0]]]) // the header
	moved := make([]int, len(offsets))
	var z bytes.Buffer
	for k, i := range order {
		moved[i] = out.Len()
		obj := object(k)
		head := "<</Length "
		num := strconv.Itoa(i+1) + " 0 obj\n"
		if !deflate[i+1] || !bytes.HasPrefix(obj, []byte(num+head)) {
			out.Write(obj)
			continue
		}
		rest := obj[len(num)+len(head):]
		digits := bytes.IndexByte(rest, '>')
		n, err := strconv.Atoi(string(rest[:max(digits, 0)]))
		const open, close = ">>\nstream\n", "\nendstream\nendobj\n"
		if digits < 0 || err != nil || !bytes.HasPrefix(rest[digits:], []byte(open)) ||
			len(rest) != digits+len(open)+n+len(close) || !bytes.HasSuffix(rest, []byte(close)) {
			out.Write(obj) // not a bare stream: as it is
			continue
		}
		data := rest[digits+len(open) : digits+len(open)+n]
		compressed := chartPaletteZ()
		if !bytes.Equal(data, chartPLTE) {
			z.Reset()
			zw.Reset(&z)
			if _, err := zw.Write(data); err != nil {
				return nil, err
			}
			if err := zw.Close(); err != nil {
				return nil, err
			}
			compressed = z.Bytes()
		}
		out.WriteString(num)
		out.WriteString("<</Filter /FlateDecode /Length ")
		out.WriteString(strconv.Itoa(len(compressed)))
		out.WriteString(open)
		out.Write(compressed)
		out.WriteString(close)
	}
	// The cross-reference table and trailer, as fpdf writes them (enddoc),
	// with the new offsets.
	start := out.Len()
	fmt.Fprintf(out, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, off := range moved {
		fmt.Fprintf(out, "%010d 00000 n \n", off)
	}
	tail := pdf[xref:]
	trailer := bytes.Index(tail, []byte("trailer\n"))
	startxref := bytes.LastIndex(tail, []byte("startxref\n"))
	if trailer < 0 || startxref < trailer {
		return nil, fmt.Errorf("pdf: no trailer")
	}
	out.Write(tail[trailer : startxref+len("startxref\n")])
	fmt.Fprintf(out, "%d\n%%%%EOF\n", start)
	return out.Bytes(), nil
}

// pdfObjects reads the cross-reference table of a PDF fpdf wrote (one
// section, from object 0): the offset of object i+1 at offsets[i], the
// objects in the order they are written (fpdf writes objects 1 and 2,
// the page tree and the resources, after others), and the table's offset.
func pdfObjects(pdf []byte) (offsets, order []int, xref int, err error) {
	bad := func(what string) ([]int, []int, int, error) { return nil, nil, 0, fmt.Errorf("pdf: %s", what) }
	i := bytes.LastIndex(pdf, []byte("\nstartxref\n"))
	if i < 0 {
		return bad("no startxref")
	}
	num, _, _ := bytes.Cut(pdf[i+len("\nstartxref\n"):], []byte("\n"))
	if xref, err = strconv.Atoi(string(num)); err != nil || xref <= 0 || xref >= i {
		return bad("bad startxref")
	}
	lines := bytes.Split(pdf[xref:i], []byte("\n"))
	if len(lines) < 3 || string(lines[0]) != "xref" {
		return bad("no xref table")
	}
	first, count, ok := bytes.Cut(lines[1], []byte(" "))
	n, err := strconv.Atoi(string(count))
	if !ok || string(first) != "0" || err != nil || n < 2 || len(lines) < 2+n {
		return bad("unexpected xref table")
	}
	offsets, order = make([]int, n-1), make([]int, n-1)
	for j := range offsets {
		line := lines[3+j]
		if len(line) != 19 || string(line[10:]) != " 00000 n " {
			return bad("unexpected xref entry")
		}
		off, err := strconv.Atoi(string(line[:10]))
		if err != nil || off <= 0 || off >= xref {
			return bad("unexpected xref entry")
		}
		offsets[j], order[j] = off, j
	}
	slices.SortFunc(order, func(a, b int) int { return offsets[a] - offsets[b] })
	for k := 1; k < len(order); k++ {
		if offsets[order[k]] == offsets[order[k-1]] {
			return bad("two objects at one offset")
		}
	}
	return offsets, order, xref, nil
}
