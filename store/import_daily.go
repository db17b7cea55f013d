package store

import (
	"bufio"
	"cmp"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"retainer/billing"
)

// dailySums adds up an import's usage by (contract, day) in bounded
// memory, for usage_daily. The pairs are added up in a map of at most
// limit pairs; when it is full they are written, sorted, as one run to a
// file of the import's own (unlinked as soon as it is created, as the
// spool is) and the map starts again. each hands out the sums of all of
// them merged, in key order: the order in which writing them to
// usage_daily costs least. A file of 1,000,000 rows over 10,000 contracts
// has about as many pairs as rows; adding them up from the rows once they
// were written (a grouped INSERT … SELECT) read and sorted every row again
// in the write transaction.
type dailySums struct {
	m     map[usageKey]dailySum
	limit int
	tempFile
	w    *bufio.Writer
	runs []dailyRun
	off  int64
	// The contracts by number, as the runs write them.
	ids   map[string]uint32
	names []string
	buf   []byte
}

type dailySum struct{ counted, entries int64 }

// dailyRun is where one sorted run is in the file.
type dailyRun struct{ off, n int64 }

func newDailySums(limit int) *dailySums {
	return &dailySums{m: map[usageKey]dailySum{}, limit: max(limit, 1), ids: map[string]uint32{}}
}

// add adds one entry's counted seconds to its (contract, day).
func (d *dailySums) add(k usageKey, counted, entries int64) error {
	s := d.m[k]
	s.counted += counted
	s.entries += entries
	d.m[k] = s
	if len(d.m) >= d.limit {
		return d.spill()
	}
	return nil
}

// pairs is how many distinct pairs the map holds now.
func (d *dailySums) pairs() int { return len(d.m) }

func compareKeys(a, b usageKey) int {
	return cmp.Or(strings.Compare(a.contract, b.contract), cmp.Compare(a.day, b.day))
}

// spill writes the map's pairs as one sorted run and empties it.
func (d *dailySums) spill() error {
	if len(d.m) == 0 {
		return nil
	}
	if d.f == nil {
		t, err := createTemp("retainer-import-*.daily")
		if err != nil {
			return fmt.Errorf("import daily usage: %w", err)
		}
		d.tempFile, d.w = t, bufio.NewWriterSize(t.f, 1<<16)
	}
	keys := slices.SortedFunc(maps.Keys(d.m), compareKeys)
	run := dailyRun{off: d.off}
	for _, k := range keys {
		num, ok := d.ids[k.contract]
		if !ok {
			num = uint32(len(d.names))
			d.ids[k.contract] = num
			d.names = append(d.names, k.contract)
		}
		s := d.m[k]
		b := binary.AppendUvarint(d.buf[:0], uint64(num))
		b = binary.AppendVarint(b, int64(k.day))
		b = binary.AppendVarint(b, s.counted)
		b = binary.AppendVarint(b, s.entries)
		d.buf = b
		if _, err := d.w.Write(b); err != nil {
			return fmt.Errorf("import daily usage: %w", err)
		}
		d.off += int64(len(b))
	}
	run.n = d.off - run.off
	d.runs = append(d.runs, run)
	clear(d.m)
	return nil
}

// close closes and removes the file.
func (d *dailySums) close() {
	if d != nil {
		d.closeFile()
	}
}

// each hands fn every pair's sums, each (contract, day) once, in key order,
// but the unmatched rows' (contract ”), which have no daily usage.
func (d *dailySums) each(fn func(k usageKey, s dailySum) error) error {
	if len(d.runs) == 0 {
		for _, k := range slices.SortedFunc(maps.Keys(d.m), compareKeys) {
			if k.contract == "" {
				continue
			}
			if err := fn(k, d.m[k]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := d.spill(); err != nil {
		return err
	}
	if err := d.w.Flush(); err != nil {
		return fmt.Errorf("import daily usage: %w", err)
	}
	h := make(runHeap, 0, len(d.runs))
	for _, r := range d.runs {
		rr := &runReader{d: d, r: bufio.NewReaderSize(io.NewSectionReader(d.f, r.off, r.n), 4096)}
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if ok {
			h = append(h, rr)
		}
	}
	heap.Init(&h)
	var cur usageKey
	var sum dailySum
	have := false
	for len(h) > 0 {
		rr := h[0]
		if have && rr.k != cur {
			if cur.contract != "" {
				if err := fn(cur, sum); err != nil {
					return err
				}
			}
			have = false
		}
		if !have {
			cur, sum, have = rr.k, dailySum{}, true
		}
		sum.counted += rr.s.counted
		sum.entries += rr.s.entries
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	if have && cur.contract != "" {
		return fn(cur, sum)
	}
	return nil
}

// runReader reads one run's pairs in turn.
type runReader struct {
	d *dailySums
	r *bufio.Reader
	k usageKey
	s dailySum
}

func (rr *runReader) next() (bool, error) {
	num, err := binary.ReadUvarint(rr.r)
	if err == io.EOF {
		return false, nil
	}
	var day int64
	if err == nil {
		day, err = binary.ReadVarint(rr.r)
	}
	if err == nil {
		rr.s.counted, err = binary.ReadVarint(rr.r)
	}
	if err == nil {
		rr.s.entries, err = binary.ReadVarint(rr.r)
	}
	if err == nil && num >= uint64(len(rr.d.names)) {
		err = errSpool
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return false, fmt.Errorf("import daily usage: %w", err)
	}
	rr.k = usageKey{rr.d.names[num], billing.Date(day)}
	return true, nil
}

// runHeap orders the runs by their current pair.
type runHeap []*runReader

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return compareKeys(h[i].k, h[j].k) < 0 }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
