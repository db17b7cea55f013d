package report

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"math/bits"
	"slices"
	"sync"
)

// The chart's PNG is written here rather than by image/png, whose deflate
// (compress/flate at its fastest level: a general matcher, then a Huffman
// code built for the block) was two thirds of a chart's time. A chart is
// mostly runs of one colour (white, the overage band) and rows like the
// row above (the plot's background, its grid, every row a slanted line
// crosses but for a few pixels), so its image data is compressed here
// with just the two matches that find those — the byte before (a run)
// and the byte one row up — and a Huffman code made for the chart: about
// a third of image/png's time, for a file a little smaller. The rows are
// not filtered (filter type 0, as image/png writes a paletted image): a
// row like the one above is a long match whatever its content, and a
// filtered row ("Up") would cost a pass to make and, measured, deflated
// slower and larger. The decoded pixels are the drawing's, every one.
//
// The PDF embeds the PNG's compressed data as it is (fpdf passes an
// opaque image's IDAT through, with the predictor parameters that undo
// any PNG row filter).

// pngSignature begins every PNG file.
const pngSignature = "\x89PNG\r\n\x1a\n"

// chartPLTE is the PLTE chunk's data of chartColours: their RGB triples.
// Every entry is opaque, so the file has no tRNS chunk (image/png writes
// none either).
var chartPLTE = func() []byte {
	b := make([]byte, 0, 3*len(chartColours))
	for _, c := range chartColours {
		b = append(b, c.R, c.G, c.B)
	}
	return b
}()

// pngEncoder is the scratch space of encodeChartPNG, reused between
// charts: the image data as the PNG's rows (a filter byte, then the
// pixels).
type pngEncoder struct {
	raw []byte
	z   rowDeflater
}

var pngEncoders = sync.Pool{New: func() any { return new(pngEncoder) }}

// encodeChartPNG writes img as an 8-bit paletted PNG whose palette is
// chartColours.
func encodeChartPNG(img *image.Paletted) []byte {
	e := pngEncoders.Get().(*pngEncoder)
	defer pngEncoders.Put(e)
	w, h := img.Rect.Dx(), img.Rect.Dy()

	out := make([]byte, 0, 16<<10)
	out = append(out, pngSignature...)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 3 // bit depth 8, colour type 3 (palette); compression, filter method, interlace 0
	out = appendChunk(out, "IHDR", ihdr[:])
	out = appendChunk(out, "PLTE", chartPLTE)

	stride := 1 + w
	if cap(e.raw) < stride*h {
		e.raw = make([]byte, stride*h)
	}
	raw := e.raw[:stride*h]
	for y := range h {
		raw[y*stride] = 0 // filter type 0: none
		i := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y)
		copy(raw[y*stride+1:(y+1)*stride], img.Pix[i:i+w])
	}

	// IDAT: its length is known once the data is written, straight
	// after its header.
	idat := len(out)
	out = append(out, 0, 0, 0, 0, 'I', 'D', 'A', 'T')
	out = append(out, 0x78, 0x01) // zlib: deflate, 32 KiB window, fastest level
	out = e.z.deflate(out, raw, stride)
	out = binary.BigEndian.AppendUint32(out, adler32Sum(raw))
	binary.BigEndian.PutUint32(out[idat:], uint32(len(out)-idat-8))
	out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[idat+4:]))
	return appendChunk(out, "IEND", nil)
}

// appendChunk appends a PNG chunk: its length, type, data and CRC.
func appendChunk(out []byte, typ string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	start := len(out)
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}

// ---- deflate ----

// rowDeflater compresses image rows as one deflate block (RFC 1951) with
// a Huffman code of its own (its dynamic code): the longer of two matches
// at each byte, the byte before (a run) and the byte one row up, when it
// is at least 3 bytes long, else the byte as a literal. Its scratch space
// is kept between charts.
type rowDeflater struct {
	tokens []uint32 // a literal byte, or matchToken | up? | length
	bw     bitWriter
}

const (
	matchToken = 1 << 31
	upToken    = 1 << 15
)

// deflate appends raw, rows of stride bytes, compressed to out.
func (z *rowDeflater) deflate(out, raw []byte, stride int) []byte {
	var litFreq [286]int32 // literals, end of block, lengths
	var distFreq [30]int32
	// The row above is in reach of a match in rows of up to 32 KiB.
	upFrom, upSym := len(raw), 0
	if stride <= 32768 {
		upFrom = stride
		upSym, _, _ = distanceCode(stride)
	}
	toks := z.tokens[:0]
	for p := 0; p < len(raw); {
		c := raw[p]
		run := p >= 1 && raw[p-1] == c
		above := p >= upFrom && raw[p-stride] == c
		n := min(len(raw)-p, 258)
		lr, lu := 0, 0
		if run {
			lr = matchLen(raw[p:p+n], raw[p-1:])
		}
		if above && lr < n {
			lu = matchLen(raw[p:p+n], raw[p-stride:])
		}
		switch {
		case lu >= 3 && lu > lr:
			toks = append(toks, matchToken|upToken|uint32(lu))
			litFreq[lengthCodes[lu].sym]++
			distFreq[upSym]++
			p += lu
		case lr >= 3:
			toks = append(toks, matchToken|uint32(lr))
			litFreq[lengthCodes[lr].sym]++
			distFreq[0]++
			p += lr
		default:
			toks = append(toks, uint32(c))
			litFreq[c]++
			p++
		}
	}
	z.tokens = toks
	litFreq[256]++

	var litLen [286]uint8
	var distLen [30]uint8
	huffmanLengths(litFreq[:], litLen[:], 15)
	used := 0
	for _, f := range distFreq {
		if f > 0 {
			used++
		}
	}
	if used < 2 {
		// A code needs two symbols to be complete: unused ones are
		// given a length too.
		distFreq[0]++
		distFreq[1]++
	}
	huffmanLengths(distFreq[:], distLen[:], 15)
	var litCode [286]uint32
	var distCode [30]uint32
	canonicalCodes(litLen[:], litCode[:])
	canonicalCodes(distLen[:], distCode[:])

	w := &z.bw
	*w = bitWriter{out: out}
	w.write(5, 3) // BFINAL 1, BTYPE 10: the last block, a code of its own
	writeCodeLengths(w, litLen[:], distLen[:])

	dist := func(d int) (uint64, uint) {
		sym, nextra, extra := distanceCode(d)
		return uint64(distCode[sym]) | uint64(extra)<<distLen[sym], uint(distLen[sym]) + nextra
	}
	upCode, upBits := dist(min(stride, 32768))
	runCode, runBits := dist(1)
	for _, t := range toks {
		if t&matchToken == 0 {
			w.write(uint64(litCode[t]), uint(litLen[t]))
			continue
		}
		l := lengthCodes[t&0x1ff]
		w.write(uint64(litCode[l.sym])|uint64(l.extra)<<litLen[l.sym], uint(litLen[l.sym])+uint(l.nextra))
		if t&upToken != 0 {
			w.write(upCode, upBits)
		} else {
			w.write(runCode, runBits)
		}
	}
	w.write(uint64(litCode[256]), uint(litLen[256]))
	return w.flush()
}

// matchLen is the length of the common prefix of a and b (b at least as
// long as a).
func matchLen(a, b []byte) int {
	if bytes.Equal(a, b[:len(a)]) { // most matches: the longest
		return len(a)
	}
	n := 0
	for len(a)-n >= 8 {
		if x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:]); x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
	for n < len(a) && a[n] == b[n] {
		n++
	}
	return n
}

// lengthCode is a match length's symbol (257 to 285) and extra bits.
type lengthCode struct {
	sym    uint16
	nextra uint8
	extra  uint16
}

// lengthCodes are the codes of the match lengths 3 to 258.
var lengthCodes = func() (codes [259]lengthCode) {
	base := [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	for s := range 29 {
		nextra := uint8(0)
		if s >= 8 && s < 28 {
			nextra = uint8(s/4 - 1)
		}
		last := 258
		if s < 28 {
			last = min(base[s+1]-1, 257) // 258 is symbol 285's alone
		}
		for l := base[s]; l <= last; l++ {
			codes[l] = lengthCode{uint16(257 + s), nextra, uint16(l - base[s])}
		}
	}
	return codes
}()

// distanceCode is distance d's symbol (0 to 29) and extra bits.
func distanceCode(d int) (sym int, nextra uint, extra int) {
	base := 1
	for s := range 30 {
		n := uint(max(s/2-1, 0))
		if d < base+1<<n {
			return s, n, d - base
		}
		base += 1 << n
	}
	panic("deflate: distance out of range")
}

// huffmanLengths sets lengths to the code lengths of a Huffman code for
// freq (0 for a symbol of frequency 0), none longer than limit: when the
// optimal code has a longer one, the frequencies are flattened (halved,
// each used symbol kept at 1 at least) and the code made again.
func huffmanLengths(freq []int32, lengths []uint8, limit int) {
	// The leaves sorted by frequency, then symbol: each a key of the two.
	var keys [286]uint64
	// The tree's nodes, the leaves first in that order, then the inner
	// nodes as they are made: frequencies and parents.
	var f [2 * 286]int64
	var parent [2 * 286]int16
	var depth [2 * 286]uint8
	for shift := 0; ; shift++ {
		leaves := keys[:0]
		for s, fr := range freq {
			if fr > 0 {
				leaves = append(leaves, uint64(max(fr>>shift, 1))<<9|uint64(s))
			}
		}
		n := len(leaves)
		clear(lengths)
		if n == 1 {
			lengths[leaves[0]&0x1ff] = 1
			return
		}
		slices.Sort(leaves)
		for i, k := range leaves {
			f[i] = int64(k >> 9)
		}
		// Two queues, the leaves and the inner nodes, both in order of
		// frequency: each inner node joins the two least.
		leaf, inner, made := 0, n, n
		least := func() int {
			if leaf < n && (inner == made || f[leaf] <= f[inner]) {
				leaf++
				return leaf - 1
			}
			inner++
			return inner - 1
		}
		for made < 2*n-1 {
			a, b := least(), least()
			f[made] = f[a] + f[b]
			parent[a], parent[b] = int16(made), int16(made)
			made++
		}
		// Depths from the root down: a parent comes after its children.
		depth[made-1] = 0
		longest := 0
		for k := made - 2; k >= 0; k-- {
			depth[k] = depth[parent[k]] + 1
			if k < n {
				lengths[leaves[k]&0x1ff] = depth[k]
				longest = max(longest, int(depth[k]))
			}
		}
		if longest <= limit {
			return
		}
	}
}

// canonicalCodes sets codes to the canonical Huffman code of lengths (RFC
// 1951, 3.2.2), each bit-reversed to be written least significant bit
// first.
func canonicalCodes(lengths []uint8, codes []uint32) {
	var count, next [16]uint32
	for _, l := range lengths {
		count[l]++
	}
	count[0] = 0
	code := uint32(0)
	for b := 1; b < 16; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	for s, l := range lengths {
		if l != 0 {
			codes[s] = reverse(next[l], uint(l))
			next[l]++
		}
	}
}

// codeLengthOrder is the order the code length code's lengths are
// written in.
var codeLengthOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// writeCodeLengths writes a dynamic block's header after its type: the
// code lengths of its literal and length code and of its distance code,
// run-length coded (symbols 16 to 18) in a Huffman code of their own.
func writeCodeLengths(w *bitWriter, litLen, distLen []uint8) {
	hlit, hdist := 257, 1
	for s := range litLen {
		if litLen[s] != 0 {
			hlit = max(hlit, s+1)
		}
	}
	for s := range distLen {
		if distLen[s] != 0 {
			hdist = max(hdist, s+1)
		}
	}
	seq := make([]uint8, 0, hlit+hdist)
	seq = append(append(seq, litLen[:hlit]...), distLen[:hdist]...)
	// The run-length coded sequence: a symbol, then its extra bits'
	// count and value.
	type rl struct{ sym, nextra, extra uint8 }
	var syms []rl
	var freq [19]int32
	emit := func(sym, nextra, extra uint8) {
		syms = append(syms, rl{sym, nextra, extra})
		freq[sym]++
	}
	for i := 0; i < len(seq); {
		v, run := seq[i], 1
		for i+run < len(seq) && seq[i+run] == v {
			run++
		}
		i += run
		if v == 0 {
			for run >= 11 {
				r := min(run, 138)
				emit(18, 7, uint8(r-11))
				run -= r
			}
			if run >= 3 {
				emit(17, 3, uint8(run-3))
				run = 0
			}
		} else {
			emit(v, 0, 0)
			run--
			for run >= 3 {
				r := min(run, 6)
				emit(16, 2, uint8(r-3))
				run -= r
			}
		}
		for ; run > 0; run-- {
			emit(v, 0, 0)
		}
	}
	var clLen [19]uint8
	var clCode [19]uint32
	huffmanLengths(freq[:], clLen[:], 7)
	canonicalCodes(clLen[:], clCode[:])
	hclen := 4
	for i, s := range codeLengthOrder {
		if clLen[s] != 0 {
			hclen = max(hclen, i+1)
		}
	}
	w.write(uint64(hlit-257), 5)
	w.write(uint64(hdist-1), 5)
	w.write(uint64(hclen-4), 4)
	for _, s := range codeLengthOrder[:hclen] {
		w.write(uint64(clLen[s]), 3)
	}
	for _, r := range syms {
		w.write(uint64(clCode[r.sym])|uint64(r.extra)<<clLen[r.sym], uint(clLen[r.sym])+uint(r.nextra))
	}
}

// reverse is the n low bits of v in reverse order.
func reverse(v uint32, n uint) uint32 { return bits.Reverse32(v) >> (32 - n) }

// bitWriter appends a deflate stream's bits to out, least significant
// bit first.
type bitWriter struct {
	out  []byte
	acc  uint64
	nacc uint
}

// write writes the n (at most 32) low bits of v.
func (w *bitWriter) write(v uint64, n uint) {
	w.acc |= v << w.nacc
	w.nacc += n
	if w.nacc >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.nacc -= 32
	}
}

// flush writes the last bits, padded to a byte, and returns the stream.
func (w *bitWriter) flush() []byte {
	for w.nacc > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nacc -= min(w.nacc, 8)
	}
	return w.out
}

// adler32Sum is the Adler-32 checksum of b (hash/adler32's), eight bytes
// at a time: 32 bytes of zeros (white) add only their count to the
// second sum; any other word's sums are taken lane by lane with
// multiplications.
func adler32Sum(b []byte) uint32 {
	const mod = 65521
	// A word's bytes at even and at odd offsets, in 16-bit lanes: each
	// byte's weight in the second sum is eight less its offset, and a
	// product with the weights in reverse lane order has the weighted sum
	// in its top lane (no lane below it carries: at most 255×20).
	const lanes = 0x00ff00ff00ff00ff
	const ones = 0x0001000100010001
	const evenW = 2 | 4<<16 | 6<<32 | 8<<48 // offsets 6, 4, 2, 0
	const oddW = 1 | 3<<16 | 5<<32 | 7<<48  // offsets 7, 5, 3, 1
	s1, s2 := uint64(1), uint64(0)
	word := func(x uint64) {
		s2 += 8 * s1
		if x != 0 {
			even, odd := x&lanes, x>>8&lanes
			s1 += ((even + odd) * ones) >> 48
			s2 += (even*evenW)>>48 + (odd*oddW)>>48
		}
	}
	for len(b) > 0 {
		// Reduced every 64 KiB: s2 stays below 2^48.
		chunk := b[:min(len(b), 1<<16)]
		b = b[len(chunk):]
		for ; len(chunk) >= 32; chunk = chunk[32:] {
			w0 := binary.LittleEndian.Uint64(chunk[0:8])
			w1 := binary.LittleEndian.Uint64(chunk[8:16])
			w2 := binary.LittleEndian.Uint64(chunk[16:24])
			w3 := binary.LittleEndian.Uint64(chunk[24:32])
			if w0|w1|w2|w3 == 0 {
				s2 += 32 * s1
				continue
			}
			word(w0)
			word(w1)
			word(w2)
			word(w3)
		}
		for ; len(chunk) >= 8; chunk = chunk[8:] {
			word(binary.LittleEndian.Uint64(chunk))
		}
		for _, c := range chunk {
			s1 += uint64(c)
			s2 += s1
		}
		s1 %= mod
		s2 %= mod
	}
	return uint32(s2<<16 | s1)
}
