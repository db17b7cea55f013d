package jobs

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/store"
	"retainer/store/storetest"
)

// testRunner builds a runner over a real database with contracts from
// 2026-01 in New York and the default schedules, its clock set by *now.
func testRunner(t *testing.T, now *time.Time) (*Runner, *bytes.Buffer) {
	t.Helper()
	ctx := context.Background()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	start := billing.NewPeriod(2026, time.January)
	cfg := &config.Config{
		Location: ny, Currency: "USD", Schedule: config.DefaultSchedule(),
		Alerts: config.Alerts{Thresholds: []int{90, 100}},
		Agency: config.Agency{Name: "Northwind", Email: "owner@northwind.example"},
		Notify: config.Notify{File: config.FileTransport{Dir: filepath.Join(t.TempDir(), "outbox")}},
		Import: config.Import{Inbox: filepath.Join(t.TempDir(), "inbox"), Location: ny},
		Contracts: []*billing.Contract{{ID: "acme", Client: "Acme", Unit: billing.UnitHours, Start: &start, Checkin: true,
			Contacts: []string{"ap@acme.example"}, PaymentTermsDays: 15,
			Terms: billing.Terms{MonthlyHours: 40 * 3600, MonthlyFee: 500000}}},
		ShutdownTimeout: time.Second,
	}
	db := storetest.Open(t)
	env, err := NewEnv(ctx, cfg, db, *now)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	return NewRunner(env, func() time.Time { return *now }, slog.New(slog.NewTextHandler(&logs, nil))), &logs
}

func TestDue(t *testing.T) {
	ctx := context.Background()
	ny, _ := time.LoadLocation("America/New_York")
	at := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, ny) }
	now := at(3, 15, 10)
	r, _ := testRunner(t, &now)
	for _, tc := range []struct {
		job  string
		now  time.Time
		want bool
	}{
		{Digest, at(3, 15, 10), true},  // fired at 09:00 today
		{Digest, at(3, 16, 8), true},   // 23 h late: still goes out
		{Digest, at(3, 16, 10), false}, // missed by more than a day: skipped
		{Digest, at(3, 14, 10), false}, // not yet
		{Checkins, at(3, 15, 10), true},
		{Import, at(3, 15, 10), true}, // never ran
		{Close, at(3, 1, 5), true},    // February's close time has not come, January's has
		{Dispatch, at(1, 20, 5), true},
	} {
		now = tc.now
		if got, err := r.Due(ctx, tc.job); err != nil || got != tc.want {
			t.Errorf("%s due at %v = %v, %v; want %v", tc.job, tc.now, got, err, tc.want)
		}
	}
	// Once run, an hourly job is due again only after its next firing.
	now = at(3, 15, 10)
	if _, err := r.Run(ctx, Alerts); err != nil {
		t.Fatal(err)
	}
	now = now.Add(30 * time.Minute)
	if due, _ := r.Due(ctx, Alerts); due {
		t.Error("alerts due again within the hour")
	}
	now = now.Add(time.Hour)
	if due, _ := r.Due(ctx, Alerts); !due {
		t.Error("alerts not due after the next hour")
	}
}

// The close catches up every missed period, oldest first, and only those
// whose close time (06:00 on the 1st, New York) has come.
func TestCloseCatchUp(t *testing.T) {
	ctx := context.Background()
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 5, 1, 5, 59, 0, 0, ny)
	r, _ := testRunner(t, &now)
	c, err := r.Run(ctx, Close)
	if err != nil {
		t.Fatal(err)
	}
	if c["periods"] != 3 || c["statements"] != 3 { // January–March; April's close is at 06:00
		t.Errorf("counts %v", c)
	}
	now = now.Add(time.Minute)
	if c, _ := r.Run(ctx, Close); c["periods"] != 1 {
		t.Errorf("at 06:00: %v", c)
	}
	if c, _ := r.Run(ctx, Close); c["periods"] != 0 || c["statements"] != 0 {
		t.Errorf("again: %v", c)
	}
	if last, ok, _ := r.Env().DB.LastClosed(ctx); !ok || last != billing.NewPeriod(2026, time.April) {
		t.Errorf("last closed %v", last)
	}
}

// A panicking job is recorded and logged with its stack; the jobs after it
// still run, and the runner keeps working.
func TestPanicIsContained(t *testing.T) {
	ctx := context.Background()
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, ny)
	r, logs := testRunner(t, &now)
	saved := policies[Import]
	boom := saved
	boom.run = func(context.Context, *Env, time.Time) (Counts, error) { panic("boom") }
	policies[Import] = boom
	defer func() { policies[Import] = saved }()

	ran, counts, err := r.RunDue(ctx)
	if err == nil || !strings.Contains(err.Error(), "panic: boom") {
		t.Fatalf("err = %v", err)
	}
	if len(ran) < 4 || ran[0] != Import || ran[1] != Close || ran[2] != Alerts || counts[Close] == nil {
		t.Errorf("ran %v, counted %v", ran, counts)
	}
	if !strings.Contains(logs.String(), "runner_test.go") || !strings.Contains(logs.String(), "outcome=panic") {
		t.Errorf("no stack in the log:\n%s", logs)
	}
	js, _ := r.Env().DB.Jobs(ctx)
	if f := js[Import].LastFailure; f == nil || f.Outcome != store.JobPanic {
		t.Errorf("import: %+v", js[Import])
	}
	if js[Close].Last == nil || js[Close].Last.Outcome != store.JobOK {
		t.Errorf("close after the panic: %+v", js[Close].Last)
	}
	r.Stop()
	if _, err := r.Run(ctx, Alerts); !errors.Is(err, ErrStopped) {
		t.Errorf("run after Stop: %v", err)
	}
}

// SPEC §13's clock: a daemon starting on the 2nd closes the month that
// ended before it evaluates alerts, and alerts only the current month: no
// stale 90% alert for the month it is about to close; before go_live no
// alert, digest or check-in fires at all.
func TestStartClosesBeforeAlerting(t *testing.T) {
	ctx := context.Background()
	ny, _ := time.LoadLocation("America/New_York")
	for _, tc := range []struct {
		name    string
		goLive  *billing.Period
		wantKey bool // March's 100% alert
	}{
		{"live", nil, true},
		{"before go-live", storetest.Ptr(billing.NewPeriod(2026, time.April)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 3, 20, 10, 0, 0, 0, ny)
			r, _ := testRunner(t, &now)
			env := r.Env()
			env.Config.GoLive = tc.goLive
			if err := env.DB.AddEntries(ctx, env.Rules, []store.Entry{
				{Source: "log", Pinned: "acme", Client: "Acme", Date: billing.DateOf(2026, 2, 26), Seconds: 37 * 3600, Billable: true},
				{Source: "log", Pinned: "acme", Client: "Acme", Date: billing.DateOf(2026, 3, 10), Seconds: 41 * 3600, Billable: true},
			}, now); err != nil {
				t.Fatal(err)
			}
			// The daemon was down since February; it starts on March 20.
			ran, _, err := r.RunDue(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if i, j := slices.Index(ran, Close), slices.Index(ran, Alerts); i < 0 || j < 0 || i > j {
				t.Fatalf("ran %v: want close before alerts", ran)
			}
			msgs, err := env.DB.Outbox(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, m := range msgs {
				if strings.HasPrefix(m.Key, "alert/") || strings.HasPrefix(m.Key, "digest/") || strings.HasPrefix(m.Key, "checkin/") {
					keys = append(keys, m.Key)
				}
				if strings.Contains(m.Key, "/2026-02") && strings.HasPrefix(m.Key, "alert/") {
					t.Errorf("an alert for February, which this start closed: %s", m.Key)
				}
			}
			has := slices.Contains(keys, "alert/acme/2026-03/100")
			if has != tc.wantKey {
				t.Errorf("March 100%% alert queued %v, want %v (queued %v)", has, tc.wantKey, keys)
			}
			if tc.goLive != nil && len(keys) > 0 {
				t.Errorf("before go-live: %v", keys)
			}
		})
	}
}

// Every job has a policy, and only delivery (and the Stripe step that
// statement emails wait for, which a dispatch follows) is exempt from
// recording and claiming a firing.
func TestPolicies(t *testing.T) {
	if len(policies) != len(Names) {
		t.Errorf("%d policies for %d jobs", len(policies), len(Names))
	}
	for _, job := range Names {
		p, ok := policies[job]
		switch {
		case !ok || p.run == nil:
			t.Errorf("%s: no policy", job)
		case job == Dispatch:
			if p.recordsEvery || p.claimsFiring || p.dispatchAfter || p.releasesMemory || p.catchUp != dueAlways {
				t.Errorf("dispatch: %+v", p)
			}
		case job == Payments:
			if p.recordsEvery || p.claimsFiring || !p.dispatchAfter || p.releasesMemory || p.catchUp != dueAlways {
				t.Errorf("payments: %+v", p)
			}
		case !p.recordsEvery || !p.claimsFiring || !p.dispatchAfter || p.catchUp == dueAlways:
			t.Errorf("%s: %+v", job, p)
		}
	}
}
