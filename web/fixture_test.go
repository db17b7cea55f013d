package web

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"retainer/billing"
	"retainer/config"
	"retainer/jobs"
	"retainer/store"
)

// The shared fixture of the web tests: a real SQLite store with two
// contracts, hours in January–March 2026, January and February closed (so
// each contract has two statements), and a server on httptest.

const (
	testPassword = "correct horse battery staple"
	testAPIToken = "api-token-0123456789abcdef"
)

// fixture is one running server over one database.
type fixture struct {
	t   testing.TB
	srv *httptest.Server
	s   *Server
	env *jobs.Env
	mu  sync.Mutex
	now time.Time
	// dbPath is the SQLite file, for a second store on it (another process).
	dbPath string
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// newFixture: contract "acme" (client "Acme <script>alert(1)</script>",
// with a note holding a script tag on March) and contract "globex"; today is
// 2026-03-20 in New York.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	start := billing.NewPeriod(2026, time.January)
	ten := int64(10 * 3600)
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Location: ny, Currency: "USD", Schedule: config.DefaultSchedule(),
		Alerts: config.Alerts{Thresholds: []int{90, 100}},
		Agency: config.Agency{Name: "Northwind Studio", Email: "owner@northwind.example"},
		Notify: config.Notify{File: config.FileTransport{Dir: filepath.Join(t.TempDir(), "outbox")}},
		HTTP: config.HTTP{Listen: "127.0.0.1:0", BaseURL: "http://127.0.0.1:8080",
			AdminPasswordHash: config.Secret(hash), APITokens: []config.Secret{testAPIToken}},
		Contracts: []*billing.Contract{
			{ID: "acme", Client: "Acme <script>alert(1)</script>", Tier: "Growth", Unit: billing.UnitHours, Start: &start,
				Contacts: []string{"ap@acme.example"}, PaymentTermsDays: 15, OverageBillable: true, Rollover: true, MaxRollover: &ten,
				Terms: billing.Terms{MonthlyHours: 40 * 3600, MonthlyFee: 500000, OverageRate: 17500}},
			{ID: "globex", Client: "Globex", Unit: billing.UnitHours, Start: &start, Contacts: []string{"ap@globex.example"},
				PaymentTermsDays: 15, Terms: billing.Terms{MonthlyHours: 20 * 3600, MonthlyFee: 280000, OverageRate: 16500}},
		},
		ShutdownTimeout: time.Second,
	}
	f := &fixture{t: t, now: time.Date(2026, 3, 20, 12, 0, 0, 0, ny), dbPath: filepath.Join(t.TempDir(), "r.db")}
	db, err := store.Open(ctx, f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	env, err := jobs.NewEnv(ctx, cfg, db, f.now)
	if err != nil {
		t.Fatal(err)
	}
	f.env = env
	var entries []store.Entry
	for _, e := range []struct {
		client  string
		y, m, d int
		hours   int64
		project string
		notes   string
	}{
		{"Acme <script>alert(1)</script>", 2026, 1, 12, 28, "Website", "January build"},
		{"Acme <script>alert(1)</script>", 2026, 2, 3, 47, "Website", "February build"},
		{"Acme <script>alert(1)</script>", 2026, 3, 4, 30, "Website", "<b>bold</b> March work"},
		{"Globex", 2026, 1, 20, 12, "Support", "January support"},
		{"Globex", 2026, 2, 20, 25, "Support", "February support"},
		{"Globex", 2026, 3, 10, 5, "Support", "GLOBEX-SECRET-NOTE"},
	} {
		entries = append(entries, store.Entry{Source: "log", Client: e.client, Date: billing.DateOf(e.y, time.Month(e.m), e.d),
			Seconds: e.hours * 3600, Billable: true, Project: e.project, Notes: e.notes, User: "ada"})
	}
	if err := db.AddEntries(ctx, env.Rules, entries, f.now); err != nil {
		t.Fatal(err)
	}
	closeAt := time.Date(2026, 3, 1, 6, 0, 0, 0, ny)
	if _, err := db.ClosePeriod(ctx, env.Rules, billing.NewPeriod(2026, time.February), "USD", ny, closeAt); err != nil {
		t.Fatal(err)
	}
	if err := db.SetNote(ctx, "acme", billing.NewPeriod(2026, time.March), "<script>alert('note')</script>", f.now); err != nil {
		t.Fatal(err)
	}
	f.s = &Server{DB: db, Env: func() *jobs.Env { return f.env }, Now: f.clock,
		Metrics: NewMetrics(nil, f.clock)}
	f.srv = httptest.NewServer(f.s.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

// client returns an HTTP client with a cookie jar that does not follow
// redirects (tests look at them).
func (f *fixture) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
