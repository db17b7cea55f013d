package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"retainer/billing"
)

// The parse cache: reading a config of 10,000 contracts is mostly YAML
// parsing, decoding and checking the contracts (about 1 s on a small
// machine), and every command does it first. LoadCached keeps what it read
// from the file — the file's top-level settings as parsed, and every
// contract built and checked — in a cache file, under the SHA-256 of the
// file's bytes, the RETAINER_ environment, the executable (path, size,
// modification time) and cacheFormat. Any change to one of them is a miss:
// the file is read again and the cache rewritten. The contracts are kept
// as built because they depend on nothing else (no secret, no file, no
// directory: their text, the currency and the checks of this executable);
// the rest of the config is decoded with the environment and validated on
// every load (directories, secret files, fonts and templates are looked at
// each time), and go_live applied to the contracts again. The file holds
// no secrets (they come from the environment or *_file keys, which the
// cache never holds), and the cache is written 0600 in a 0700 directory,
// by rename: a reader sees a whole entry or none, and an entry it cannot
// read is a miss. Only a config without errors is kept.

// cacheFormat changes whenever what the cache holds changes meaning.
const cacheFormat = "retainer-config-cache-2"

// A cache entry is the key (32 bytes), the file's top level without its
// contracts (its length as a uvarint, then encodeValue's bytes), and the
// file's contracts built and checked (appendContracts), with the warnings
// they gave: a hit decodes and checks the top level again, with the
// environment, but not the contracts.

// LoadCached is Load with the parse cache in dir ("" = none, as Load).
// A cache that cannot be read or written changes nothing but speed.
func LoadCached(path string, environ []string, dir string) (*Config, error) {
	return loadFile(path, environ, dir)
}

// CacheDir is where the commands keep the parse cache, from the
// environment they run in: $XDG_CACHE_HOME/retainer, else
// $HOME/.cache/retainer; "" (no cache) when neither is set.
func CacheDir(environ []string) string {
	var xdg, home string
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "XDG_CACHE_HOME="); ok {
			xdg = v
		} else if v, ok := strings.CutPrefix(kv, "HOME="); ok {
			home = v
		}
	}
	switch {
	case filepath.IsAbs(xdg):
		return filepath.Join(xdg, "retainer")
	case filepath.IsAbs(home):
		return filepath.Join(home, ".cache", "retainer")
	}
	return ""
}

// cacheKey is the key of body read under environ by this executable.
func cacheKey(body []byte, environ []string) [32]byte {
	h := sha256.New()
	io.WriteString(h, cacheFormat+"\x00")
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			fmt.Fprintf(h, "%s\x00%d\x00%d\x00", exe, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	vars := make([]string, 0, 8)
	for _, kv := range environ {
		if strings.HasPrefix(kv, EnvPrefix) {
			vars = append(vars, kv)
		}
	}
	sort.Strings(vars)
	for _, kv := range vars {
		io.WriteString(h, kv+"\x00")
	}
	h.Write(body)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// cacheFile is the cache file of the config at path.
func cacheFile(dir, path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	sum := sha256.Sum256([]byte(path))
	return filepath.Join(dir, fmt.Sprintf("config-%x.cache", sum[:12]))
}

// readCache returns the entry of key, or nil.
func readCache(dir, path string, key [32]byte) (top map[string]any, contracts *cachedContracts) {
	if dir == "" {
		return nil, nil
	}
	b, err := os.ReadFile(cacheFile(dir, path))
	if err != nil || len(b) < len(key) || !bytes.Equal(b[:len(key)], key[:]) {
		return nil, nil
	}
	b = b[len(key):]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil
	}
	v, rest, err := decodeValue(b[k : k+int(n)])
	m, ok := v.(map[string]any)
	if err != nil || !ok || len(rest) != 0 {
		return nil, nil
	}
	if contracts, err = readContracts(string(b[k+int(n):])); err != nil {
		return nil, nil
	}
	return m, contracts
}

// encodeCache is the cache entry of key: the file's top level (as
// encodeValue wrote it) and its contracts built.
func encodeCache(key [32]byte, top []byte, contracts *cachedContracts) []byte {
	b := make([]byte, 0, len(key)+binary.MaxVarintLen64+len(top)+150*len(contracts.list))
	b = append(binary.AppendUvarint(append(b, key[:]...), uint64(len(top))), top...)
	return appendContracts(b, contracts)
}

// writeCache stores an entry; it gives up quietly.
func writeCache(dir, path string, entry []byte) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".config-*.tmp")
	if err != nil {
		return
	}
	_, werr := tmp.Write(entry)
	if cerr := tmp.Close(); werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return
	}
	if err := os.Rename(tmp.Name(), cacheFile(dir, path)); err != nil {
		os.Remove(tmp.Name())
	}
}

// The top level's values as the YAML reader makes them, tagged.
const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt
	tagUint
	tagFloat
	tagString
	tagTime
	tagList
	tagMap
)

var errUncacheable = errors.New("a value the config cache cannot hold")

// encodeValue appends v to b: nil, bools, numbers, strings, times, lists
// and maps of them (what the YAML reader returns).
func encodeValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, tagNil), nil
	case bool:
		if v {
			return append(b, tagTrue), nil
		}
		return append(b, tagFalse), nil
	case int:
		return binary.AppendVarint(append(b, tagInt), int64(v)), nil
	case int64:
		return binary.AppendVarint(append(b, tagInt), v), nil
	case uint64:
		return binary.AppendUvarint(append(b, tagUint), v), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, tagFloat), math.Float64bits(v)), nil
	case string:
		return appendString(append(b, tagString), v), nil
	case time.Time:
		t, err := v.MarshalBinary()
		if err != nil {
			return nil, errUncacheable
		}
		return appendString(append(b, tagTime), string(t)), nil
	case []any:
		b = binary.AppendUvarint(append(b, tagList), uint64(len(v)))
		var err error
		for _, x := range v {
			if b, err = encodeValue(b, x); err != nil {
				return nil, err
			}
		}
		return b, nil
	case map[string]any:
		b = binary.AppendUvarint(append(b, tagMap), uint64(len(v)))
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var err error
		for _, k := range keys {
			b = appendString(b, k)
			if b, err = encodeValue(b, v[k]); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, errUncacheable
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errCorrupt = errors.New("config cache: corrupt entry")

// decodeValue reads one value encodeValue wrote.
func decodeValue(b []byte) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, errCorrupt
	}
	tag, b := b[0], b[1:]
	switch tag {
	case tagNil:
		return nil, b, nil
	case tagFalse:
		return false, b, nil
	case tagTrue:
		return true, b, nil
	case tagInt:
		v, n := binary.Varint(b)
		if n <= 0 {
			return nil, nil, errCorrupt
		}
		if int64(int(v)) == v {
			return int(v), b[n:], nil
		}
		return v, b[n:], nil
	case tagUint:
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, nil, errCorrupt
		}
		return v, b[n:], nil
	case tagFloat:
		if len(b) < 8 {
			return nil, nil, errCorrupt
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), b[8:], nil
	case tagString, tagTime:
		s, rest, err := readString(b)
		if err != nil || tag == tagString {
			return s, rest, err
		}
		var t time.Time
		if err := t.UnmarshalBinary([]byte(s)); err != nil {
			return nil, nil, errCorrupt
		}
		return t, rest, nil
	case tagList, tagMap:
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return nil, nil, errCorrupt
		}
		b = b[k:]
		if tag == tagList {
			list := make([]any, 0, n)
			for i := uint64(0); i < n; i++ {
				v, rest, err := decodeValue(b)
				if err != nil {
					return nil, nil, err
				}
				list, b = append(list, v), rest
			}
			return list, b, nil
		}
		m := make(map[string]any, n)
		for i := uint64(0); i < n; i++ {
			key, rest, err := readString(b)
			if err != nil {
				return nil, nil, err
			}
			v, rest, err := decodeValue(rest)
			if err != nil {
				return nil, nil, err
			}
			m[key], b = v, rest
		}
		return m, b, nil
	}
	return nil, nil, errCorrupt
}

func readString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", nil, errCorrupt
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}

// cachedContracts are the contracts as the file builds them, kept in the
// cache: what loader.contracts returns, before go_live sets TakeOver, and
// the warnings it gave. They depend on nothing but the file, the
// environment and the executable (the key): a hit skips their checks and
// conversions, which are most of a load of 10,000 contracts.
type cachedContracts struct {
	list     []*billing.Contract
	warnings []string
}

// appendContracts appends the contracts and their warnings: their counts,
// then each contract's fields in declaration order (TakeOver left out:
// every load sets it from Start and go_live). A field added to
// billing.Contract must be added here and in readContracts
// (TestCacheContractRoundTrip fails until it is).
func appendContracts(b []byte, cc *cachedContracts) []byte {
	str := func(s string) { b = appendString(b, s) }
	i64 := func(v int64) { b = binary.AppendVarint(b, v) }
	flag := func(v bool) {
		if v {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	list := func(l []string) {
		flag(l != nil)
		if l != nil {
			b = binary.AppendUvarint(b, uint64(len(l)))
			for _, s := range l {
				str(s)
			}
		}
	}
	opt := func(p *int64) {
		flag(p != nil)
		if p != nil {
			i64(*p)
		}
	}
	optPeriod := func(p *billing.Period) {
		flag(p != nil)
		if p != nil {
			i64(int64(*p))
		}
	}
	optMoney := func(p *billing.Money) {
		flag(p != nil)
		if p != nil {
			i64(int64(*p))
		}
	}
	b = binary.AppendUvarint(b, uint64(len(cc.list)))
	for _, c := range cc.list {
		str(c.ID)
		str(c.Client)
		str(c.Tier)
		str(string(c.Unit))
		list(c.Contacts)
		list(c.Match)
		i64(c.Terms.MonthlyHours)
		i64(int64(c.Terms.MonthlyFee))
		i64(int64(c.Terms.HourlyRate))
		i64(int64(c.Terms.OverageRate))
		flag(c.Changes != nil)
		if c.Changes != nil {
			b = binary.AppendUvarint(b, uint64(len(c.Changes)))
			for _, ch := range c.Changes {
				i64(int64(ch.From))
				opt(ch.MonthlyHours)
				optMoney(ch.MonthlyFee)
				optMoney(ch.HourlyRate)
				optMoney(ch.OverageRate)
			}
		}
		flag(c.OverageBillable)
		flag(c.Rollover)
		opt(c.MaxRollover)
		i64(int64(c.ExpiresAfter))
		i64(int64(c.RoundingMinutes))
		flag(c.CountNonBillable)
		i64(int64(c.PaymentTermsDays))
		i64(int64(c.AlertClientAt))
		flag(c.Checkin)
		flag(c.PortalEntries)
		i64(c.OpeningBank)
		optPeriod(c.Start)
		optPeriod(c.End)
		str(c.Currency)
		str(c.BillingName)
		str(c.BillingAddress)
		str(c.TaxID)
		i64(int64(c.TaxRate))
	}
	list(cc.warnings)
	return b
}

// contractReader reads what appendContracts wrote. Its strings are cut
// from one string of the whole entry, so that 10,000 contracts' names and
// addresses cost one allocation; err is set at the first thing out of
// place, and every read after it returns zero values.
type contractReader struct {
	s   string
	err error
	// Slabs the lists, periods and quantities are cut from: a few
	// allocations for all the contracts instead of a few each.
	strs    []string
	periods []billing.Period
	ints    []int64
}

func (r *contractReader) uvarint() uint64 {
	var x uint64
	for i := 0; i < len(r.s) && i < binary.MaxVarintLen64; i++ {
		c := r.s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			r.s = r.s[i+1:]
			return x | uint64(c)<<(7*i)
		}
		x |= uint64(c&0x7f) << (7 * i)
	}
	r.fail()
	return 0
}

func (r *contractReader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.s = ""
}

func (r *contractReader) int64() int64 {
	u := r.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

// int reads an int64 that must fit in an int32 (counts, days, minutes).
func (r *contractReader) int() int {
	v := r.int64()
	if v != int64(int32(v)) {
		r.fail()
		return 0
	}
	return int(v)
}

func (r *contractReader) flag() bool {
	if len(r.s) == 0 || r.s[0] > 1 {
		r.fail()
		return false
	}
	v := r.s[0] == 1
	r.s = r.s[1:]
	return v
}

// count reads a length; each item takes at least min bytes of what is left.
func (r *contractReader) count(min int) int {
	n := r.uvarint()
	if n > uint64(len(r.s)/min) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *contractReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.s)) {
		r.fail()
		return ""
	}
	v := r.s[:n]
	r.s = r.s[n:]
	return v
}

func (r *contractReader) list() []string {
	if !r.flag() {
		return nil
	}
	n := r.count(1)
	if n == 0 {
		return []string{} // not nil: a list given empty
	}
	if n > cap(r.strs)-len(r.strs) {
		r.strs = make([]string, 0, max(n, 1024))
	}
	l := r.strs[len(r.strs) : len(r.strs)+n : len(r.strs)+n] // capped: an append copies
	r.strs = r.strs[:len(r.strs)+n]
	for i := range l {
		l[i] = r.str()
	}
	return l
}

// int64p reads a pointed-to int64 (the flag said there is one).
func (r *contractReader) int64p() *int64 {
	if len(r.ints) == cap(r.ints) {
		r.ints = make([]int64, 0, 1024)
	}
	r.ints = append(r.ints, r.int64())
	return &r.ints[len(r.ints)-1]
}

func (r *contractReader) period() *billing.Period {
	if !r.flag() {
		return nil
	}
	v := r.int64()
	if v != int64(billing.Period(v)) {
		r.fail()
		return nil
	}
	if len(r.periods) == cap(r.periods) {
		r.periods = make([]billing.Period, 0, 1024)
	}
	r.periods = append(r.periods, billing.Period(v))
	return &r.periods[len(r.periods)-1]
}

func (r *contractReader) money() *billing.Money {
	if !r.flag() {
		return nil
	}
	m := billing.Money(r.int64())
	return &m
}

// readContracts reads what appendContracts wrote, to the end of s.
func readContracts(s string) (*cachedContracts, error) {
	r := &contractReader{s: s}
	n := r.count(1)
	cs := make([]billing.Contract, n) // one allocation for all of them
	out := &cachedContracts{list: make([]*billing.Contract, n)}
	for i := range cs {
		c := &cs[i]
		c.ID, c.Client, c.Tier, c.Unit = r.str(), r.str(), r.str(), billing.Unit(r.str())
		c.Contacts, c.Match = r.list(), r.list()
		c.Terms = billing.Terms{MonthlyHours: r.int64(), MonthlyFee: billing.Money(r.int64()),
			HourlyRate: billing.Money(r.int64()), OverageRate: billing.Money(r.int64())}
		if r.flag() {
			c.Changes = make([]billing.TermChange, r.count(5))
			for j := range c.Changes {
				ch := &c.Changes[j]
				if from := r.int64(); from == int64(billing.Period(from)) {
					ch.From = billing.Period(from)
				} else {
					r.fail()
				}
				if r.flag() {
					v := r.int64()
					ch.MonthlyHours = &v
				}
				ch.MonthlyFee, ch.HourlyRate, ch.OverageRate = r.money(), r.money(), r.money()
			}
		}
		c.OverageBillable, c.Rollover = r.flag(), r.flag()
		if r.flag() {
			c.MaxRollover = r.int64p()
		}
		c.ExpiresAfter, c.RoundingMinutes = r.int(), r.int()
		c.CountNonBillable = r.flag()
		c.PaymentTermsDays, c.AlertClientAt = r.int(), r.int()
		c.Checkin, c.PortalEntries = r.flag(), r.flag()
		c.OpeningBank = r.int64()
		c.Start, c.End = r.period(), r.period()
		c.Currency, c.BillingName, c.BillingAddress, c.TaxID = r.str(), r.str(), r.str(), r.str()
		c.TaxRate = billing.TaxRate(r.int64())
		out.list[i] = c
	}
	out.warnings = r.list()
	if r.err != nil || len(r.s) != 0 {
		return nil, errCorrupt
	}
	return out, nil
}
