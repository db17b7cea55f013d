package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkPortalVsStatic serves, in the same run, the portal page and
// /api/v1/status from our handler and the same bytes as a static file from
// http.FileServer, each to benchConcurrency clients for benchRun, in 3
// interleaved pairs (static, ours), and reports our requests/s and p99 as
// ratios to the static server's (min and median over the pairs). The
// machine is shared: compare the ratios, not the absolute figures.
// -benchtime Nx runs max(N, 3) pairs.
//
//	go test ./web -run '^$' -bench PortalVsStatic -benchtime 5x
func BenchmarkPortalVsStatic(b *testing.B) {
	f := newFixture(b)
	// The rate limits answer 429 long before a load test ends; the
	// benchmark measures the page, so it lifts them (they still run).
	f.s.limits.portal = newLimiter(1e12, 1e12, f.clock)
	f.s.limits.api = newLimiter(1e12, 1e12, f.clock)
	token, err := f.env.DB.RotatePortalToken(context.Background(), "acme", f.clock())
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name, path string
		header     http.Header
	}{
		{"portal", "/p/" + token, nil},
		{"api-status", "/api/v1/status", http.Header{"Authorization": {"Bearer " + testAPIToken}}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			ours := f.srv.URL + tt.path
			body := benchGet(b, ours, tt.header)
			dir := b.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "page"), body, 0o644); err != nil {
				b.Fatal(err)
			}
			static := httptest.NewServer(http.FileServer(http.Dir(dir)))
			defer static.Close()
			var rates, p99s []float64
			for range max(b.N, 3) {
				sr, sp := benchLoad(b, static.URL+"/page", nil)
				or, op := benchLoad(b, ours, tt.header)
				rates, p99s = append(rates, or/sr), append(p99s, float64(op)/float64(sp))
				b.Logf("%s: static %.0f req/s p99 %v; ours %.0f req/s p99 %v (%d bytes)", tt.name, sr, sp, or, op, len(body))
			}
			slices.Sort(rates)
			slices.Sort(p99s)
			b.ReportMetric(rates[0], "min-rps-ratio")
			b.ReportMetric(rates[len(rates)/2], "median-rps-ratio")
			b.ReportMetric(p99s[len(p99s)/2], "median-p99-ratio")
			b.ReportMetric(p99s[len(p99s)-1], "max-p99-ratio")
		})
	}
}

// benchConcurrency is the load test's concurrent clients; benchRun is how
// long each run lasts.
const (
	benchConcurrency = 8
	benchRun         = 1500 * time.Millisecond
)

// benchGet fetches url once and returns the body of its 200.
func benchGet(b *testing.B, url string, h http.Header) []byte {
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return body
}

// benchLoad runs benchConcurrency clients on url for benchRun and returns
// the requests/s and the 99th percentile latency.
func benchLoad(b *testing.B, url string, h http.Header) (float64, time.Duration) {
	tr := &http.Transport{MaxIdleConnsPerHost: benchConcurrency}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var mu sync.Mutex
	var lat []time.Duration
	var failed error
	start := time.Now()
	var wg sync.WaitGroup
	for range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Since(start) < benchRun {
				t0 := time.Now()
				req, _ := http.NewRequest("GET", url, nil)
				for k, v := range h {
					req.Header[k] = v
				}
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if failed != nil {
		b.Fatalf("GET %s: %v", url, failed)
	}
	slices.Sort(lat)
	return float64(len(lat)) / elapsed.Seconds(), lat[len(lat)*99/100]
}
