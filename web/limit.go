package web

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// limiter is a token bucket per key (the client's address): rate tokens a
// second, up to burst. Idle buckets are dropped so memory stays bounded.
type limiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	now     func() time.Time
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(rate, burst float64, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: burst, now: now, buckets: map[string]*bucket{}}
}

// allow takes a token for key, or reports that key is over its limit.
func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.at).Seconds()*l.rate >= l.burst {
				delete(l.buckets, k) // full again: the same as no bucket
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if d := now.Sub(b.at).Seconds(); d > 0 {
		b.tokens = min(l.burst, b.tokens+d*l.rate)
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// limits are the server's rate limits: the portal (a guessed token costs a
// request), the login form (a guessed password does) and the API.
type limits struct {
	portal, login, api *limiter
	// loginAll is one budget for every address together: guesses spread
	// over many addresses still cost the same. bcrypt lets one compare
	// run at a time, so guessing never takes both cores from the jobs.
	loginAll *limiter
	bcrypt   chan struct{}
}

// loginAllKey is the one key of the login budget shared by all addresses.
const loginAllKey = "all"

func newLimits(now func() time.Time) *limits {
	return &limits{
		portal:   newLimiter(2, 60, now),   // a burst of 60 pages, then 2 a second
		login:    newLimiter(0.1, 10, now), // 10 tries, then one every 10 s
		loginAll: newLimiter(0.5, 30, now), // 30 tries, then one every 2 s, whoever tries
		api:      newLimiter(20, 200, now),
		bcrypt:   make(chan struct{}, 1),
	}
}

// clientKey is the rate-limit key of a request: its remote address without
// the port. (Behind a proxy every client shares the proxy's address; the
// limits are generous enough for that.)
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// tooMany answers 429 with a Retry-After.
func tooMany(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "10")
	http.Error(w, "too many requests", http.StatusTooManyRequests)
}
