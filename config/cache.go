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
	"reflect"
	"sort"
	"strings"
	"time"
)

// The parse cache: reading a config of 10,000 contracts is mostly YAML
// parsing and decoding the contracts (about 1 s on a small machine), and
// every command does it first. LoadCached keeps what it read from the
// file — the file's top-level settings as parsed, and every contract
// decoded — in a cache file, under the SHA-256 of the file's bytes, the
// RETAINER_ environment, the executable (path, size, modification time)
// and cacheFormat. Any change to one of them is a miss: the file is read
// again and the cache rewritten. Only what the file says is kept; the
// environment is applied and the whole config validated on every load
// (directories, secret files and templates are looked at each time). The
// file holds no secrets (they come from the environment or *_file keys,
// which the cache never holds), and the cache is written 0600 in a 0700
// directory, by rename: a reader sees a whole entry or none, and an entry
// it cannot read is a miss.

// cacheFormat changes whenever what the cache holds changes meaning.
const cacheFormat = "retainer-config-cache-1"

// A cache entry is the key (32 bytes), the file's top level without its
// contracts (its length as a uvarint, then encodeValue's bytes), and the
// file's contracts decoded (encodeDocs: a pointer to a zero value, as in
// overage_billable: false, stays apart from an absent key).

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
func readCache(dir, path string, key [32]byte) (top map[string]any, contracts map[string]*contractDoc) {
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
	if contracts, err = decodeDocs(b[k+int(n):]); err != nil {
		return nil, nil
	}
	return m, contracts
}

// encodeCache is the cache entry of key: the file's top level (as
// encodeValue wrote it) and its contracts decoded; nil if they cannot be
// kept.
func encodeCache(key [32]byte, top []byte, contracts map[string]*contractDoc) []byte {
	b := make([]byte, 0, len(key)+binary.MaxVarintLen64+len(top)+200*len(contracts))
	b = append(binary.AppendUvarint(append(b, key[:]...), uint64(len(top))), top...)
	return encodeDocs(b, contracts)
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

// encodeDocs appends the decoded contracts: their count, then each id and
// its fields in declaration order (encodeField).
func encodeDocs(b []byte, docs map[string]*contractDoc) []byte {
	ids := make([]string, 0, len(docs))
	for id := range docs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = appendString(b, id)
		b = encodeField(b, reflect.ValueOf(docs[id]).Elem())
	}
	return b
}

// encodeField appends v, one of the kinds a contract's document is made
// of: strings, bools, ints, pointers (0 = nil, 1 then the value), slices
// (0 = nil, else 1 + length + items) and structs (their fields in order).
func encodeField(b []byte, v reflect.Value) []byte {
	switch v.Kind() {
	case reflect.String:
		return appendString(b, v.String())
	case reflect.Bool:
		if v.Bool() {
			return append(b, 1)
		}
		return append(b, 0)
	case reflect.Int:
		return binary.AppendVarint(b, v.Int())
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, 0)
		}
		return encodeField(append(b, 1), v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return append(b, 0)
		}
		b = binary.AppendUvarint(append(b, 1), uint64(v.Len()))
		for i := 0; i < v.Len(); i++ {
			b = encodeField(b, v.Index(i))
		}
		return b
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			b = encodeField(b, v.Field(i))
		}
		return b
	}
	panic("config cache: cannot keep a " + v.Type().String())
}

// decodeDocs reads what encodeDocs wrote.
func decodeDocs(b []byte) (docs map[string]*contractDoc, err error) {
	defer func() { // a value out of its range in a corrupt entry
		if recover() != nil {
			docs, err = nil, errCorrupt
		}
	}()
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, errCorrupt
	}
	b = b[k:]
	docs = make(map[string]*contractDoc, n)
	for i := uint64(0); i < n; i++ {
		id, rest, err := readString(b)
		if err != nil {
			return nil, err
		}
		doc := &contractDoc{}
		if b, err = decodeField(rest, reflect.ValueOf(doc).Elem()); err != nil {
			return nil, err
		}
		docs[id] = doc
	}
	if len(b) != 0 {
		return nil, errCorrupt
	}
	return docs, nil
}

// decodeField reads into v what encodeField wrote.
func decodeField(b []byte, v reflect.Value) ([]byte, error) {
	switch v.Kind() {
	case reflect.String:
		s, rest, err := readString(b)
		if err != nil {
			return nil, err
		}
		v.SetString(s)
		return rest, nil
	case reflect.Bool:
		if len(b) == 0 || b[0] > 1 {
			return nil, errCorrupt
		}
		v.SetBool(b[0] == 1)
		return b[1:], nil
	case reflect.Int:
		x, k := binary.Varint(b)
		if k <= 0 {
			return nil, errCorrupt
		}
		v.SetInt(x)
		return b[k:], nil
	case reflect.Pointer:
		if len(b) == 0 || b[0] > 1 {
			return nil, errCorrupt
		}
		if b[0] == 0 {
			return b[1:], nil
		}
		p := reflect.New(v.Type().Elem())
		v.Set(p)
		return decodeField(b[1:], p.Elem())
	case reflect.Slice:
		if len(b) == 0 || b[0] > 1 {
			return nil, errCorrupt
		}
		if b[0] == 0 {
			return b[1:], nil
		}
		n, k := binary.Uvarint(b[1:])
		if k <= 0 || n > uint64(len(b)) {
			return nil, errCorrupt
		}
		b = b[1+k:]
		s := reflect.MakeSlice(v.Type(), int(n), int(n))
		var err error
		for i := 0; i < int(n); i++ {
			if b, err = decodeField(b, s.Index(i)); err != nil {
				return nil, err
			}
		}
		v.Set(s)
		return b, nil
	case reflect.Struct:
		var err error
		for i := 0; i < v.NumField(); i++ {
			if b, err = decodeField(b, v.Field(i)); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, errCorrupt
}
