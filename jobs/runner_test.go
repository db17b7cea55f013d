package jobs

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/store"
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
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
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
	saved := bodies[Import]
	bodies[Import] = func(context.Context, *Env, time.Time) (Counts, error) { panic("boom") }
	defer func() { bodies[Import] = saved }()

	ran, counts, err := r.RunDue(ctx)
	if err == nil || !strings.Contains(err.Error(), "panic: boom") {
		t.Fatalf("err = %v", err)
	}
	if len(ran) < 4 || ran[0] != Import || ran[1] != Alerts || counts[Close] == nil {
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
