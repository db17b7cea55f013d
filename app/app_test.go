package app

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"retainer/config"
	"retainer/jobs"
	"retainer/store"
)

// clock is where the test daemon's clock stands; it never moves.
var clock = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const baseConfig = `timezone: America/New_York
agency:
  name: Northwind
  email: owner@northwind.example
http:
  listen: 127.0.0.1:0
schedule:
  import: "0 0 1 1 *"
contracts:
  acme-001:
    client: Acme Corp
    contacts: [ap@acme.example]
    monthly_hours: 40
    monthly_fee: 5000
    start: 2026-10
`

// logBuffer is a log the daemon writes while the test reads it.
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

// waitLog waits until the log holds want more than n times (count it
// before the action that should log it).
func waitLog(t *testing.T, log *logBuffer, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Count(log.String(), want) > n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q in the log:\n%s", want, log)
}

type running struct {
	app  *App
	path string
	log  *logBuffer
	stop func() error
}

// start runs an App in-process on 127.0.0.1:0 over the config body.
func start(t *testing.T, body string) *running {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "retainer.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := func() time.Time { return clock }
	env, err := jobs.NewEnv(ctx, cfg, db, now())
	if err != nil {
		t.Fatal(err)
	}
	log := &logBuffer{}
	a, err := New(ctx, Options{ConfigPath: path, Env: env, Now: now, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			a.Close()
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("the app did not stop")
			return nil
		}
	}
	t.Cleanup(func() {
		_ = stop()
		if t.Failed() {
			t.Logf("log:\n%s", log)
		}
	})
	waitLog(t, log, "catch-up done", 0)
	return &running{app: a, path: path, log: log, stop: stop}
}

func (r *running) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + r.app.Addr().String() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// reload writes body as the config and asks for a reload; it waits for
// the daemon's answer, logged as want.
func (r *running) reload(t *testing.T, body, want string) {
	t.Helper()
	before := strings.Count(r.log.String(), want)
	if err := os.WriteFile(r.path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	r.app.Reload()
	waitLog(t, r.log, want, before)
}

// A reload builds the whole new state and swaps it in only when every part
// of it built: a config that does not validate, or whose schedule does not
// parse, leaves the running state in force, the very same one.
func TestReloadErrorLeavesPreviousStateIntact(t *testing.T) {
	r := start(t, baseConfig)
	if code, body := r.get(t, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	first := r.app.Env()
	broken := filepath.Join(t.TempDir(), "templates")
	if err := os.MkdirAll(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "alert.txt.tmpl"), []byte("Subject: {{.Nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, body string }{
		// Everything else in this config is good: only the template fails.
		{"broken template override", baseConfig + "templates_dir: " + broken + "\n"},
		{"bad currency", baseConfig + "currency: DOLLARS\n"},
		{"bad schedule", strings.Replace(baseConfig, `"0 0 1 1 *"`, `"0 6 30 2 *"`, 1)},
		{"unknown key", baseConfig + "agnecy: x\n"},
	} {
		r.reload(t, tc.body, "config reload refused")
		if got := r.app.Env(); got != first {
			t.Errorf("%s: the running state changed", tc.name)
		}
	}
	if got := r.app.Env().Schedules["import"]; got != first.Schedules["import"] {
		t.Error("the parsed schedule was replaced")
	}

	// A good config replaces all of it: contracts, schedules, transports.
	good := strings.Replace(baseConfig, `"0 0 1 1 *"`, `"0 0 2 1 *"`, 1) +
		"  globex-002:\n    client: Globex\n    contacts: [ap@globex.example]\n    monthly_hours: 10\n    monthly_fee: 1000\n"
	r.reload(t, good, "config reloaded")
	next := r.app.Env()
	if next == first || next.Config.Contract("globex-002") == nil {
		t.Fatal("the new config is not in force")
	}
	if next.Schedules["import"] == first.Schedules["import"] || next.Routes == nil {
		t.Error("the schedules or transports were not rebuilt")
	}
	if err := r.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// The daemon's lock: a second App on the same database is refused while
// the first runs.
func TestSecondAppRefused(t *testing.T) {
	r := start(t, baseConfig)
	ctx := context.Background()
	cfg, err := config.Load(r.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	env, err := jobs.NewEnv(ctx, cfg, db, clock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, Options{ConfigPath: r.path, Env: env, Now: func() time.Time { return clock }, Log: io.Discard}); err == nil {
		t.Fatal("a second daemon started on the same database")
	}
}
