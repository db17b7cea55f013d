package web

import (
	"net/http/httptest"
	"slices"
	"sort"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	type step struct {
		after time.Duration // the clock moves on by this much first
		key   string
		want  bool
	}
	steps := func(after time.Duration, key string, wants ...bool) []step {
		var out []step
		for i, w := range wants {
			s := step{key: key, want: w}
			if i == 0 {
				s.after = after
			}
			out = append(out, s)
		}
		return out
	}
	for _, tc := range []struct {
		name        string
		rate, burst float64
		steps       []step
		buckets     []string // the keys with a bucket afterwards; nil: not checked
	}{
		{
			name: "burst, then nothing", rate: 1, burst: 3,
			steps: steps(0, "a", true, true, true, false, false),
		},
		{
			name: "refill at rate", rate: 2, burst: 3,
			steps: slices.Concat(
				steps(0, "a", true, true, true, false),
				steps(250*time.Millisecond, "a", false), // half a token
				steps(250*time.Millisecond, "a", true, false),
				steps(time.Second, "a", true, true, false),
			),
		},
		{
			name: "refill stops at burst", rate: 1, burst: 2,
			steps: slices.Concat(
				steps(0, "a", true, true, false),
				steps(time.Hour, "a", true, true, false),
			),
		},
		{
			name: "keys are separate", rate: 1, burst: 2,
			steps: slices.Concat(
				steps(0, "a", true, true, false),
				steps(0, "b", true, true, false),
				steps(0, "a", false),
			),
			buckets: []string{"a", "b"},
		},
		{
			name: "a clock going back refills nothing", rate: 1, burst: 1,
			steps: slices.Concat(
				steps(0, "a", true, false),
				steps(-time.Hour, "a", false),
				steps(time.Hour, "a", false),         // back where it was
				steps(time.Second, "a", true, false), // then time moves on
			),
		},
		{
			name: "idle buckets are swept", rate: 1, burst: 2,
			steps: slices.Concat(
				steps(0, "a", true, true),
				steps(0, "b", true),
				// A minute later both are full again: the same as no bucket.
				steps(61*time.Second, "c", true),
			),
			buckets: []string{"c"},
		},
		{
			name: "a bucket still refilling is kept", rate: 0.01, burst: 2,
			steps: slices.Concat(
				steps(0, "a", true, true),
				steps(61*time.Second, "c", true),
				steps(0, "a", false), // 0.61 of a token
			),
			buckets: []string{"a", "c"},
		},
		{
			name: "sweeps run once a minute", rate: 1, burst: 1,
			steps: slices.Concat(
				steps(0, "a", true),
				steps(30*time.Second, "b", true), // a is full again, but no sweep yet
			),
			buckets: []string{"a", "b"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
			l := newLimiter(tc.rate, tc.burst, func() time.Time { return now })
			for i, s := range tc.steps {
				now = now.Add(s.after)
				if got := l.allow(s.key); got != s.want {
					t.Fatalf("step %d (%s after %v): allow = %v, want %v", i, s.key, s.after, got, s.want)
				}
			}
			if tc.buckets != nil {
				var keys []string
				for k := range l.buckets {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				if !slices.Equal(keys, tc.buckets) {
					t.Errorf("buckets %v, want %v", keys, tc.buckets)
				}
			}
		})
	}
}

// The server's limits: how many requests one client gets at once.
func TestLimitsBursts(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	l := newLimits(func() time.Time { return now })
	for _, tc := range []struct {
		name  string
		l     *limiter
		burst int
	}{{"portal", l.portal, 60}, {"login", l.login, 10}, {"api", l.api, 200}} {
		n := 0
		for n < 1000 && tc.l.allow("192.0.2.1") {
			n++
		}
		if n != tc.burst {
			t.Errorf("%s: a burst of %d, want %d", tc.name, n, tc.burst)
		}
	}
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ remote, want string }{
		{"192.0.2.1:1234", "192.0.2.1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"no-port", "no-port"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if got := clientKey(r); got != tc.want {
			t.Errorf("clientKey(%q) = %q, want %q", tc.remote, got, tc.want)
		}
	}
}
