package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"retainer/store"
)

func TestJobRuns(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	t0 := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)

	id, err := db.StartJob(ctx, "close", t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.FinishJob(ctx, id, store.JobOK, map[string]int{"statements": 4}, "", t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	id, _ = db.StartJob(ctx, "close", t0.Add(time.Hour))
	if err := db.FinishJob(ctx, id, store.JobFailed, nil, "disk full", t0.Add(time.Hour+time.Second)); err != nil {
		t.Fatal(err)
	}
	id, _ = db.StartJob(ctx, "close", t0.Add(2*time.Hour))
	db.FinishJob(ctx, id, store.JobOK, map[string]int{"statements": 0}, "", t0.Add(2*time.Hour))
	if _, err := db.StartJob(ctx, "import", t0.Add(3*time.Hour)); err != nil { // never finishes: the process died
		t.Fatal(err)
	}

	jobs, err := db.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := jobs["close"]
	if c.Last == nil || c.Last.Outcome != store.JobOK || !c.Last.StartedAt.Equal(t0.Add(2*time.Hour)) || c.Last.Counts["statements"] != 0 {
		t.Errorf("close last = %+v", c.Last)
	}
	if c.LastFailure == nil || c.LastFailure.Error != "disk full" || c.LastFailure.EndedAt == nil {
		t.Errorf("close last failure = %+v", c.LastFailure)
	}
	if imp := jobs["import"]; imp.Last == nil || imp.Last.Outcome != store.JobRunning || imp.LastFailure != nil {
		t.Errorf("import = %+v", imp)
	}
	if n, err := db.InterruptedJobs(ctx); err != nil || n != 1 {
		t.Fatalf("interrupted %d, %v", n, err)
	}
	jobs, _ = db.Jobs(ctx)
	if imp := jobs["import"]; imp.LastFailure == nil || imp.LastFailure.Outcome != store.JobInterrupted {
		t.Errorf("import after restart = %+v", imp)
	}
	if at, err := db.LastJobStart(ctx, "close"); err != nil || !at.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("last close start %v %v", at, err)
	}
	if at, err := db.LastJobStart(ctx, "digest"); err != nil || !at.IsZero() {
		t.Errorf("never-run job: %v %v", at, err)
	}
}

// The history of a job is bounded: a daemon running for years keeps the
// last runs, not all of them.
func TestJobRunsArePruned(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 260; i++ {
		id, err := db.StartJob(ctx, "alerts", t0.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.FinishJob(ctx, id, store.JobOK, nil, "", t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if n := db.CountRows(t, "job_runs"); n != 200 {
		t.Errorf("%d runs kept, want 200", n)
	}
	jobs, _ := db.Jobs(ctx)
	if !jobs["alerts"].Last.StartedAt.Equal(t0.Add(259 * time.Hour)) {
		t.Errorf("last = %v", jobs["alerts"].Last)
	}
}

func TestLockDaemon(t *testing.T) {
	ctx := context.Background()
	if onPostgres() {
		t.Skip("replicas share a PostgreSQL database: no daemon lock")
	}
	path := filepath.Join(t.TempDir(), "r.db")
	a, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	release, err := a.LockDaemon()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(path + ".lock")
	if string(body) != strconv.Itoa(os.Getpid())+"\n" {
		t.Errorf("lock file holds %q", body)
	}
	_, err = b.LockDaemon()
	var locked *store.ErrLocked
	if !errors.As(err, &locked) || locked.PID != os.Getpid() {
		t.Fatalf("second lock: %v", err)
	}
	release()
	release2, err := b.LockDaemon()
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	release2()
}

func TestLastClosedAndOutboxCounts(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	if _, ok, err := db.LastClosed(ctx); ok || err != nil {
		t.Fatalf("fresh database: closed=%v err=%v", ok, err)
	}
	now := time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC)
	if err := db.Enqueue(ctx, []store.OutboxMessage{{Key: "digest/2026-03", Channel: "slack", To: []string{"#x"}},
		{Key: "digest/2026-04", Channel: "slack", To: []string{"#x"}}}, now); err != nil {
		t.Fatal(err)
	}
	if c, err := db.OutboxCounts(ctx); err != nil || c["pending"] != 2 || len(c) != 1 {
		t.Errorf("counts %v %v", c, err)
	}
}

func TestClaimTick(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	at := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	for i, tc := range []struct {
		job  string
		at   time.Time
		want bool
	}{
		{"close", at, true},
		{"close", at.Add(20 * time.Second), false}, // the same minute: another replica's
		{"alerts", at, true},
		{"close", at.Add(time.Minute), true},
		{"close", at.Add(8 * 24 * time.Hour), true},
		{"close", at, true}, // pruned after a week: claimable again
	} {
		if got, err := db.ClaimTick(ctx, tc.job, tc.at); err != nil || got != tc.want {
			t.Errorf("%d: ClaimTick(%s, %v) = %v, %v; want %v", i, tc.job, tc.at, got, err, tc.want)
		}
	}
}
