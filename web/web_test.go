package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"retainer/jobs"
	"retainer/store"
)

// logBuffer is a log destination that the server's goroutines and the test
// may share.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestHealthz(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	log, logs := newLogger()
	srv := httptest.NewServer((&Server{DB: db, Log: log}).Handler())
	defer srv.Close()

	check := func(wantStatus int, wantBody string) {
		t.Helper()
		resp, body := get(t, srv.URL+"/healthz")
		if resp.StatusCode != wantStatus || body != wantBody {
			t.Errorf("GET /healthz = %d %q, want %d %q", resp.StatusCode, body, wantStatus, wantBody)
		}
		if got := resp.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
			t.Errorf("Content-Type = %q", got)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q", got)
		}
	}
	check(http.StatusOK, "ok\n")

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	check(http.StatusServiceUnavailable, "database unavailable\n")
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "database is closed") {
		t.Errorf("the ping error was not logged at warn:\n%s", logs)
	}

	// Without Metrics there is no /metrics.
	if resp, _ := get(t, srv.URL+"/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics without Metrics = %d, want 404", resp.StatusCode)
	}
}

// gauges is fixed data for the collector, counting its Utilization calls.
// Its counter is atomic: the server's goroutines call it while the test reads.
type gauges struct {
	outbox           map[string]int
	utilization      []Utilization
	err              error
	utilizationCalls atomic.Int64
}

func (g *gauges) OutboxCounts(context.Context) (map[string]int, error) {
	return g.outbox, g.err
}

func (g *gauges) Utilization(context.Context) ([]Utilization, error) {
	g.utilizationCalls.Add(1)
	return g.utilization, g.err
}

// testClock is the injected cache clock, advanced by the test.
type testClock struct{ offset atomic.Int64 }

var clockBase = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

func (c *testClock) now() time.Time          { return clockBase.Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// newTestClock replaces m's cache clock with a testClock.
func newTestClock(m *Metrics) *testClock {
	c := &testClock{}
	m.gauges.cacheNow = c.now
	return c
}

// upDB is a database that always answers, for the /metrics tests.
type upDB struct{}

func (upDB) Ping(context.Context) error { return nil }

// scrape GETs /metrics and parses the text exposition.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, body := get(t, url+"/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d\n%s", resp.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return families
}

// find returns the metric of family name whose labels are exactly labels
// (given as name, value pairs), or nil.
func find(families map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := families[name]
	if f == nil {
		return nil
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) != len(want) {
			continue
		}
		match := true
		for k, v := range want {
			if got[k] != v {
				match = false
			}
		}
		if match {
			return m
		}
	}
	return nil
}

func TestMetrics(t *testing.T) {
	g := &gauges{
		outbox: map[string]int{"pending": 3, "sent": 120, "failed": 2},
		utilization: []Utilization{
			{ContractID: "acme-001", Tenths: 1047, OK: true},
			{ContractID: "beta-002", Tenths: 904, OK: true},
			{ContractID: "empty-003", OK: false},
		},
	}
	m := NewMetrics(g, func() time.Time { return clockBase })
	newTestClock(m)
	m.JobRun("close", "ok", 1500*time.Millisecond)
	m.JobRun("close", "panic", 20*time.Millisecond)
	m.JobRun("import", "failed", 3*time.Second)
	m.JobRun("import", "ok", 2*time.Second)
	m.JobRun("digest", "skipped", 0)
	m.EntriesImported(40)
	m.EntriesImported(2)
	m.EntriesImported(0)

	log, logs := newLogger()
	srv := httptest.NewServer((&Server{DB: upDB{}, Metrics: m, Log: log}).Handler())
	defer srv.Close()
	families := scrape(t, srv.URL)

	counter := func(name string, labels ...string) float64 {
		t.Helper()
		m := find(families, name, labels...)
		if m == nil || m.GetCounter() == nil {
			t.Fatalf("no counter %s%v", name, labels)
		}
		return m.GetCounter().GetValue()
	}
	gauge := func(name string, labels ...string) float64 {
		t.Helper()
		m := find(families, name, labels...)
		if m == nil || m.GetGauge() == nil {
			t.Fatalf("no gauge %s%v", name, labels)
		}
		return m.GetGauge().GetValue()
	}
	for _, c := range []struct {
		got, want float64
		what      string
	}{
		{counter("retainer_job_runs_total", "job", "close", "outcome", "ok"), 1, "close ok runs"},
		{counter("retainer_job_runs_total", "job", "close", "outcome", "panic"), 1, "close panic runs"},
		{counter("retainer_job_runs_total", "job", "digest", "outcome", "skipped"), 1, "digest skipped runs"},
		{counter("retainer_job_runs_total", "job", "overdue", "outcome", "ok"), 0, "overdue ok runs (pre-created)"},
		{counter("retainer_job_failures_total", "job", "close"), 1, "close failures (panic)"},
		{counter("retainer_job_failures_total", "job", "import"), 1, "import failures"},
		{counter("retainer_job_failures_total", "job", "renewals"), 0, "renewals failures (pre-created)"},
		{counter("retainer_entries_imported_total"), 42, "entries imported"},
		{gauge("retainer_outbox_messages", "status", "failed"), 2, "failed messages"},
		{gauge("retainer_outbox_messages", "status", "sent"), 120, "sent messages"},
		{gauge("retainer_outbox_messages", "status", "unknown"), 0, "unknown messages (absent from the counts)"},
		{gauge("retainer_contract_utilization_percent", "contract", "acme-001"), 104.7, "acme-001 utilization"},
		{gauge("retainer_contract_utilization_percent", "contract", "beta-002"), 90.4, "beta-002 utilization"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	for _, job := range jobs.Names {
		counter("retainer_job_failures_total", "job", job)
		counter("retainer_job_runs_total", "job", job, "outcome", "ok")
	}

	if find(families, "retainer_contract_utilization_percent", "contract", "empty-003") != nil {
		t.Error("a contract with nothing available has a utilization")
	}

	h := find(families, "retainer_job_duration_seconds", "job", "close").GetHistogram()
	if h.GetSampleCount() != 2 || h.GetSampleSum() != 1.52 {
		t.Errorf("close duration: count %d sum %v, want 2 and 1.52", h.GetSampleCount(), h.GetSampleSum())
	}
	if find(families, "retainer_job_duration_seconds", "job", "digest") != nil {
		t.Error("a skipped run's duration was observed")
	}

	for name := range families {
		if !strings.HasPrefix(name, "retainer_") {
			t.Errorf("metric %s does not start with retainer_", name)
		}
	}
	for _, f := range []string{"retainer_job_runs_total", "retainer_job_failures_total", "retainer_job_duration_seconds",
		"retainer_entries_imported_total", "retainer_outbox_messages", "retainer_contract_utilization_percent"} {
		if families[f] == nil {
			t.Errorf("no family %s", f)
		}
	}
	if families["retainer_go_goroutines"] == nil || families["retainer_process_cpu_seconds_total"] == nil {
		t.Error("no Go or process collector metrics")
	}
	if logs.String() != "" {
		t.Errorf("a clean scrape logged:\n%s", logs)
	}
}

func TestUtilizationCache(t *testing.T) {
	g := &gauges{utilization: []Utilization{{ContractID: "acme-001", Tenths: 500, OK: true}}}
	m := NewMetrics(g, func() time.Time { return clockBase })
	clock := newTestClock(m)
	srv := httptest.NewServer((&Server{DB: upDB{}, Metrics: m}).Handler())
	defer srv.Close()

	scrape(t, srv.URL)
	clock.advance(14 * time.Second)
	scrape(t, srv.URL)
	if n := g.utilizationCalls.Load(); n != 1 {
		t.Fatalf("two scrapes 14 s apart: %d Utilization calls, want 1", n)
	}
	clock.advance(2 * time.Second) // 16 s after the first call
	scrape(t, srv.URL)
	if n := g.utilizationCalls.Load(); n != 2 {
		t.Fatalf("a scrape 16 s after the first: %d Utilization calls, want 2", n)
	}
}

// A Gauges error leaves the outbox and utilization gauges out of that scrape
// (and logs it); every other metric is still served with 200. The error is not
// cached: the next scrape asks again.
func TestMetricsGaugesError(t *testing.T) {
	g := &gauges{err: errors.New("database is locked")}
	m := NewMetrics(g, func() time.Time { return clockBase })
	newTestClock(m)
	m.JobRun("close", "ok", time.Second)
	log, logs := newLogger()
	srv := httptest.NewServer((&Server{DB: upDB{}, Metrics: m, Log: log}).Handler())
	defer srv.Close()

	families := scrape(t, srv.URL) // fails the test unless 200
	if c := find(families, "retainer_job_runs_total", "job", "close", "outcome", "ok"); c.GetCounter().GetValue() != 1 {
		t.Errorf("job runs missing or wrong after a Gauges error: %v", c)
	}
	if families["retainer_go_goroutines"] == nil {
		t.Error("Go metrics missing after a Gauges error")
	}
	for _, f := range []string{"retainer_outbox_messages", "retainer_contract_utilization_percent"} {
		if families[f] != nil {
			t.Errorf("%s served despite the error", f)
		}
	}
	for _, want := range []string{"level=WARN", "metrics scrape", "outbox counts: database is locked", "utilization: database is locked"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}

	scrape(t, srv.URL)
	if n := g.utilizationCalls.Load(); n != 2 {
		t.Errorf("two scrapes after errors: %d Utilization calls, want 2", n)
	}
}
