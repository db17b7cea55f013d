package web

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"net/http"
	"strconv"
	"sync"

	"retainer/billing"
	"retainer/jobs"
)

// The answer cache.
//
// The portal page and /api/v1/status are drawn from figures that change
// only when something is written, so a drawn answer is kept and served
// again while nothing changed: while the config in force (a reload builds
// a new jobs.Env), the data version (store.DataVersion: raised by every
// write transaction of any process on the database) and the day the page
// is as of are those it was drawn under. The version is read before the
// figures, so a kept answer is never older than its version says.
//
// What must differ per request is not kept: the portal's form tokens are
// made fresh for every answer (see portalTemplate), the rate limits and
// the credential check run first as before, and an unknown or rotated
// token is never kept (a rotation is a write).
//
// The cache holds answers of one generation only (a new generation drops
// the old), least recently used first out, within cacheMaxBytes.

// cacheMaxBytes bounds the bytes of the answers kept.
const cacheMaxBytes = 32 << 20

// cacheGen is what a kept answer was drawn under.
type cacheGen struct {
	env     *jobs.Env
	version int64
	today   billing.Date
}

// cached is one kept answer.
type cached struct {
	key    [sha256.Size]byte
	header http.Header
	parts  [][]byte // the body, cut where a fresh form token goes
	tokens []int    // which form of the page each cut is (tokens[i] follows parts[i])
	access any      // what the answer was authorised by (the portal's *store.PortalAccess)
	size   int
}

// answerCache is the server's answer cache.
type answerCache struct {
	mu       sync.Mutex
	maxBytes int
	gen      cacheGen
	bytes    int
	order    *list.List // of *cached, most recently used first
	byKey    map[[sha256.Size]byte]*list.Element
}

func newAnswerCache(maxBytes int) *answerCache {
	return &answerCache{maxBytes: maxBytes, order: list.New(), byKey: map[[sha256.Size]byte]*list.Element{}}
}

// cacheKey is the key of an answer: its kind and the request's parts that
// choose it (a credential among them, so hashed).
func cacheKey(parts ...string) [sha256.Size]byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// get returns the answer kept for key under gen.
func (c *answerCache) get(gen cacheGen, key [sha256.Size]byte) (*cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return nil, false
	}
	e, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cached), true
}

// put keeps v under gen, dropping every answer of another generation and,
// past maxBytes, the least recently used.
func (c *answerCache) put(gen cacheGen, v *cached) {
	v.size = len(v.key)
	for _, p := range v.parts {
		v.size += len(p)
	}
	if v.size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		c.gen, c.bytes = gen, 0
		c.order.Init()
		clear(c.byKey)
	}
	if old, ok := c.byKey[v.key]; ok {
		c.bytes -= old.Value.(*cached).size
		c.order.Remove(old)
	}
	c.byKey[v.key] = c.order.PushFront(v)
	c.bytes += v.size
	for c.bytes > c.maxBytes {
		last := c.order.Back()
		old := last.Value.(*cached)
		c.order.Remove(last)
		delete(c.byKey, old.key)
		c.bytes -= old.size
	}
}

// len returns how many answers are kept, and their bytes.
func (c *answerCache) len() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey), c.bytes
}

// recorder is a ResponseWriter that keeps the answer, to be kept and then
// written to the client.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// writeTo copies the recorded answer to w.
func (r *recorder) writeTo(w http.ResponseWriter) {
	copyHeader(w.Header(), r.header)
	w.Header().Set("Content-Length", strconv.Itoa(r.body.Len()))
	w.WriteHeader(cmpStatus(r.status))
	w.Write(r.body.Bytes())
}

func cmpStatus(s int) int {
	if s == 0 {
		return http.StatusOK
	}
	return s
}

// copyHeader sets every field of from in to.
func copyHeader(to, from http.Header) {
	for k, v := range from {
		to[k] = v
	}
}

// cutAt cuts body at every occurrence of any of tokens: the parts between,
// and which token each cut was.
func cutAt(body []byte, tokens []string) (parts [][]byte, which []int) {
	rest := body
	for {
		at, tok := -1, -1
		for i, t := range tokens {
			if t == "" {
				continue
			}
			if j := bytes.Index(rest, []byte(t)); j >= 0 && (at < 0 || j < at) {
				at, tok = j, i
			}
		}
		if at < 0 {
			return append(parts, bytes.Clone(rest)), which
		}
		parts = append(parts, bytes.Clone(rest[:at]))
		which = append(which, tok)
		rest = rest[at+len(tokens[tok]):]
	}
}
