package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"retainer/jobs"
)

// outboxStatuses are reported at every scrape, at 0 when no message has them.
var outboxStatuses = []string{"pending", "sending", "sent", "failed", "unknown"}

const (
	// gaugeTimeout bounds the Gauges calls of one scrape (Collect has no
	// context of its own).
	gaugeTimeout = 5 * time.Second
	// utilizationTTL is how long a Utilization result is reused: it may cost
	// ~150 ms at 10,000 contracts, and it changes only as time is logged.
	utilizationTTL = 15 * time.Second
)

// Gauges is read at every scrape (each call bounded by gaugeTimeout).
type Gauges interface {
	// OutboxCounts returns the number of outbox messages per status
	// ("pending", "sending", "sent", "failed", "unknown").
	OutboxCounts(ctx context.Context) (map[string]int, error)
	// Utilization returns each listed contract's utilization in the current
	// period, in tenths of a percent (904 = 90.4%); ok=false when it has no
	// denominator (zero available).
	Utilization(ctx context.Context) ([]Utilization, error)
}

// Utilization is one contract's utilization in its current period.
type Utilization struct {
	ContractID string
	Tenths     int64 // tenths of a percent: 1047 = 104.7%
	OK         bool  // false: nothing available, no utilization
}

// Metrics holds retainer's Prometheus metrics on its own registry (not the
// global default one), plus Go and process collectors.
type Metrics struct {
	registry        *prometheus.Registry
	jobRuns         *prometheus.CounterVec
	jobFailures     *prometheus.CounterVec
	jobDuration     *prometheus.HistogramVec
	entriesImported prometheus.Counter
	requests        *prometheus.CounterVec
	gauges          *gaugeCollector // nil when NewMetrics had no Gauges
}

// NewMetrics registers retainer's metrics on a new registry. g may be nil:
// then the outbox and utilization gauges are left out. now is the clock of
// the utilization cache.
func NewMetrics(g Gauges, now func() time.Time) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retainer_job_runs_total",
			Help: "Finished job runs by outcome (ok, failed, panic, skipped).",
		}, []string{"job", "outcome"}),
		jobFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retainer_job_failures_total",
			Help: "Job runs that failed or panicked.",
		}, []string{"job"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "retainer_job_duration_seconds",
			Help:    "Duration of job runs that were not skipped.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9), // 1 ms … 65 s
		}, []string{"job"}),
		entriesImported: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "retainer_entries_imported_total",
			Help: "Time entries imported or updated.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retainer_http_requests_total",
			Help: "Portal, login and API requests by outcome (ok, not_found, denied, limited, bad_request, error).",
		}, []string{"area", "outcome"}),
	}
	// Every job's counters exist from the start at zero, so that dashboards
	// and alerts see a 0 rather than no series.
	for _, job := range jobs.Names {
		m.jobRuns.WithLabelValues(job, "ok")
		m.jobFailures.WithLabelValues(job)
	}
	for _, area := range []string{"portal", "login", "api"} {
		m.requests.WithLabelValues(area, "ok")
	}
	m.registry.MustRegister(m.jobRuns, m.jobFailures, m.jobDuration, m.entriesImported, m.requests)
	// Every metric name starts with retainer_ (SPEC §12), the runtime's too:
	// retainer_go_goroutines, retainer_process_resident_memory_bytes.
	prometheus.WrapRegistererWithPrefix("retainer_", m.registry).MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if g != nil {
		m.gauges = newGaugeCollector(g, now)
		m.registry.MustRegister(m.gauges)
	}
	return m
}

// JobRun records one finished job run: outcome is "ok", "failed", "panic" or
// "skipped". A skipped run did no work, so its duration is not observed.
func (m *Metrics) JobRun(job, outcome string, d time.Duration) {
	m.jobRuns.WithLabelValues(job, outcome).Inc()
	switch outcome {
	case "failed", "panic":
		m.jobFailures.WithLabelValues(job).Inc()
	case "skipped":
		return
	}
	m.jobDuration.WithLabelValues(job).Observe(d.Seconds())
}

// EntriesImported adds n imported or updated entries (n <= 0 adds nothing;
// a counter cannot go down).
func (m *Metrics) EntriesImported(n int) {
	if n > 0 {
		m.entriesImported.Add(float64(n))
	}
}

// Request counts one portal, login or API request (area) by outcome.
func (m *Metrics) Request(area, outcome string) {
	if m != nil {
		m.requests.WithLabelValues(area, outcome).Inc()
	}
}

// Handler serves the Prometheus text format. Errors go to slog.Default().
func (m *Metrics) Handler() http.Handler { return m.handler(slog.Default()) }

// handler serves the registry. A Gauges error leaves its metric out of that
// scrape and is logged; every other metric is still served, with 200.
func (m *Metrics) handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:      scrapeErrorLog{log},
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// scrapeErrorLog adapts slog to promhttp.Logger.
type scrapeErrorLog struct{ log *slog.Logger }

func (l scrapeErrorLog) Println(v ...any) {
	l.log.Warn("metrics scrape", "err", strings.TrimSpace(fmt.Sprintln(v...)))
}

// gaugeCollector reads the outbox and utilization gauges from Gauges at
// scrape time.
type gaugeCollector struct {
	gauges      Gauges
	outbox      *prometheus.Desc
	utilization *prometheus.Desc

	// cacheNow is the clock of the utilization cache only (a test advances
	// it); no billing figure depends on it.
	cacheNow func() time.Time

	mu       sync.Mutex // held across a Utilization call, so concurrent scrapes make one
	cached   []Utilization
	cachedAt time.Time // zero: nothing cached
}

func newGaugeCollector(g Gauges, now func() time.Time) *gaugeCollector {
	return &gaugeCollector{
		gauges: g,
		outbox: prometheus.NewDesc("retainer_outbox_messages",
			"Outbox messages by status.", []string{"status"}, nil),
		utilization: prometheus.NewDesc("retainer_contract_utilization_percent",
			"Utilization of each contract's current period, in percent; absent when nothing is available.",
			[]string{"contract"}, nil),
		cacheNow: now,
	}
}

func (c *gaugeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.outbox
	ch <- c.utilization
}

func (c *gaugeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), gaugeTimeout)
	defer cancel()

	if counts, err := c.gauges.OutboxCounts(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(c.outbox, fmt.Errorf("outbox counts: %w", err))
	} else {
		for _, status := range outboxStatuses {
			ch <- prometheus.MustNewConstMetric(c.outbox, prometheus.GaugeValue, float64(counts[status]), status)
		}
		for status, n := range counts {
			if !slices.Contains(outboxStatuses, status) {
				ch <- prometheus.MustNewConstMetric(c.outbox, prometheus.GaugeValue, float64(n), status)
			}
		}
	}

	us, err := c.cachedUtilization(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.utilization, fmt.Errorf("utilization: %w", err))
		return
	}
	for _, u := range us {
		if u.OK {
			ch <- prometheus.MustNewConstMetric(c.utilization, prometheus.GaugeValue, float64(u.Tenths)/10, u.ContractID)
		}
	}
}

// cachedUtilization returns the last Utilization result while it is younger
// than utilizationTTL, else calls Gauges. An error is not cached.
func (c *gaugeCollector) cachedUtilization(ctx context.Context) ([]Utilization, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cacheNow()
	if !c.cachedAt.IsZero() {
		if age := now.Sub(c.cachedAt); age >= 0 && age < utilizationTTL {
			return c.cached, nil
		}
	}
	us, err := c.gauges.Utilization(ctx)
	if err != nil {
		return nil, err
	}
	c.cached, c.cachedAt = us, now
	return us, nil
}
