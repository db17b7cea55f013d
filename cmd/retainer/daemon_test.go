package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests start the daemon — the real binary where a test needs a
// process, else in this process — and talk to it with signals and HTTP.

func buildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "retainer")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer is a log the process writes while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// daemon is a running `retainer run`: the real binary (startBinary), for
// what needs a process — signals, the lock against another process, a
// kill, its memory — or the same command in this process (startDaemon).
type daemon struct {
	t      testing.TB
	cmd    *exec.Cmd          // the binary; nil in-process
	cancel context.CancelFunc // in-process: SIGTERM
	log    *syncBuffer
	done   chan error
}

// daemonClock is where every test daemon's clock starts (run --now): no
// test depends on the day it runs.
var daemonClock = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// startDaemon runs `retainer run` in this process, its clock starting at
// daemonClock.
func startDaemon(t testing.TB, config string, env ...string) *daemon {
	t.Helper()
	return startDaemonAt(t, config, daemonClock, env...)
}

// startDaemonAt runs `retainer run` in this process, its clock starting
// at at; env is added to the environment it reads.
func startDaemonAt(t testing.TB, config string, at time.Time, env ...string) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{t: t, cancel: cancel, log: &syncBuffer{}, done: make(chan error, 1)}
	a := &invocation{stdin: strings.NewReader(""), stdout: d.log, stderr: d.log, environ: append(os.Environ(), env...), now: time.Now, wall: time.Now}
	go func() {
		if code := a.run(ctx, []string{"run", "--config", config, "--now", at.Format(time.RFC3339)}); code != exitOK {
			d.done <- fmt.Errorf("exit status %d", code)
			return
		}
		d.done <- nil
	}()
	t.Cleanup(func() {
		cancel()
		<-d.done
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.log)
		}
	})
	return d
}

func startBinary(t testing.TB, bin, config string, env ...string) *daemon {
	t.Helper()
	return startBinaryAt(t, bin, config, daemonClock, env...)
}

// startBinaryAt starts the binary's daemon, its clock starting at at.
func startBinaryAt(t testing.TB, bin, config string, at time.Time, env ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, log: &syncBuffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(bin, "run", "--config", config, "--now", at.Format(time.RFC3339))
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.log)
		}
	})
	return d
}

// waitFor waits until the log, from offset from on, has a line holding
// every part; it returns the offset after that line. Its deadline is long:
// a catch-up that renders a hundred PDF invoices under the race detector,
// beside the other packages' tests on two cores, has taken over a minute.
func (d *daemon) waitFor(from int, parts ...string) int {
	d.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		s := d.log.String()
		if from > len(s) {
			from = len(s)
		}
		sc := bufio.NewScanner(strings.NewReader(s[from:]))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		off := from
		for sc.Scan() {
			line := sc.Text()
			off += len(line) + 1
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return off
			}
		}
		select {
		case err := <-d.done:
			d.done <- err
			d.t.Fatalf("the daemon exited (%v) before logging %q", err, parts)
		case <-time.After(20 * time.Millisecond):
		}
	}
	d.t.Fatalf("no log line with %q", parts)
	return 0
}

// signal sends sig to the binary; in-process, SIGTERM and SIGINT cancel
// the command's context, as main's signal handler does.
func (d *daemon) signal(sig syscall.Signal) {
	d.t.Helper()
	if d.cmd == nil {
		if sig != syscall.SIGTERM && sig != syscall.SIGINT {
			d.t.Fatalf("%v needs the binary (startBinary)", sig)
		}
		d.cancel()
		return
	}
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatal(err)
	}
}

func (d *daemon) wait() error {
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(60 * time.Second):
		d.t.Fatal("the daemon did not exit")
		return nil
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestDaemonLockReloadAndShutdown(t *testing.T) {
	bin := buildBinary(t)
	e := newEnv(t)
	config := filepath.Join(e.dir, "retainer.yaml")
	good, _ := os.ReadFile(config)
	addr := freePort(t)
	closed := freePort(t) // nothing listens: every delivery fails, and is logged
	env := []string{"RETAINER_HTTP__LISTEN=" + addr, "RETAINER_LOG__LEVEL=debug", "RETAINER_SCHEDULE__IMPORT=@every 1s",
		"RETAINER_NOTIFY__SLACK__WEBHOOK_URL=http://" + closed + "/services/T0/B0/SECRET-HOOK",
		"RETAINER_NOTIFY__EMAIL__HOST=127.0.0.1", "RETAINER_NOTIFY__EMAIL__PORT=" + strings.Split(closed, ":")[1],
		"RETAINER_NOTIFY__EMAIL__USERNAME=billing", "RETAINER_NOTIFY__EMAIL__PASSWORD=hunter2-SECRET", "RETAINER_NOTIFY__EMAIL__TLS=none"}
	d := startBinary(t, bin, config, env...)
	off := d.waitFor(0, "retainer running")
	off = d.waitFor(off, "catch-up done")

	if code, body := get(t, "http://"+addr+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if _, body := get(t, "http://"+addr+"/metrics"); !strings.Contains(body, `retainer_job_runs_total{job="close",outcome="ok"} 1`) ||
		!strings.Contains(body, `retainer_contract_utilization_percent{contract="acme-001"}`) {
		t.Errorf("metrics:\n%s", body)
	}

	// A second daemon on the same database exits 1 at once, naming the holder.
	second := exec.Command(bin, "run", "--config", config, "--now", daemonClock.Format(time.RFC3339))
	second.Env = append(os.Environ(), env...)
	out, err := second.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), fmt.Sprintf("pid %d", d.cmd.Process.Pid)) {
		t.Errorf("second daemon: %v\n%s", err, out)
	}

	// A broken config is refused with every bad path; the old one stays.
	broken := strings.Replace(string(good), "monthly_hours: 40", "monthly_hours: -40", 1) + "bogus: 1\n"
	if err := os.WriteFile(config, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	d.signal(syscall.SIGHUP)
	off = d.waitFor(off, "config reload refused", "contracts.acme-001.monthly_hours", "bogus")
	if code, _ := get(t, "http://"+addr+"/healthz"); code != 200 {
		t.Errorf("healthz after a refused reload: %d", code)
	}

	// A good one is applied: a contract added by signal, another by editing the file.
	added := string(good) + "\n  hooli-005:\n    client: Hooli\n    monthly_hours: 5\n    monthly_fee: 500\n"
	os.WriteFile(config, []byte(added), 0o644)
	d.signal(syscall.SIGHUP)
	off = d.waitFor(off, "config reloaded", "contracts=5")
	added += "  pied-006:\n    client: Pied Piper\n    monthly_hours: 5\n    monthly_fee: 500\n"
	os.WriteFile(config, []byte(added), 0o644)
	off = d.waitFor(off, "config reloaded", "config file changed", "contracts=6")

	// SIGTERM during an import: the import finishes, the daemon exits 0.
	var csv strings.Builder
	csv.WriteString("client,date,hours,id,billable,notes,project,user\n")
	for i := 0; i < 300000; i++ {
		fmt.Fprintf(&csv, "Hooli,2026-11-%02d,0.25,H-%d,yes,work,Site,ada\n", 1+i%24, i)
	}
	tmp := filepath.Join(e.dir, "big.csv")
	os.WriteFile(tmp, []byte(csv.String()), 0o644)
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) // long settled, whatever the date
	os.Chtimes(tmp, past, past)
	os.MkdirAll(filepath.Join(e.dir, "inbox"), 0o755)
	mark := len(d.log.String())
	if err := os.Rename(tmp, filepath.Join(e.dir, "inbox", "big.csv")); err != nil {
		t.Fatal(err)
	}
	d.waitFor(mark, "job start", "job=import")
	d.signal(syscall.SIGTERM)
	if err := d.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	log := d.log.String()[mark:]
	stopping, imported, stopped := strings.Index(log, "shutting down"), strings.Index(log, "imported=300000"), strings.Index(log, "msg=stopped")
	if stopping < 0 || imported < stopping || stopped < imported {
		t.Errorf("want shutting down, then the import finishing, then stopped:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "inbox", "processed", "big.csv")); err != nil {
		t.Errorf("the file was not processed: %v", err)
	}
	all := d.log.String()
	if !strings.Contains(all, "job=dispatch outcome=ok") || !strings.Contains(all, "retrying=") {
		t.Errorf("no failed delivery was logged")
	}
	for _, secret := range []string{"SECRET-HOOK", "hunter2"} {
		if strings.Contains(all, secret) {
			t.Errorf("the log shows %s", secret)
		}
	}
}

// A daemon killed in the middle of a catch-up close leaves nothing
// half-done; the restart (not blocked by the dead one's lock) closes each
// month once.
func TestDaemonKilledMidCloseRestarts(t *testing.T) {
	bin := buildBinary(t)
	e := newEnv(t)
	var cfg strings.Builder
	cfg.WriteString("timezone: UTC\ncontracts:\n")
	const n = 2000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&cfg, "  c%04d:\n    client: Client %d\n    contacts: [ap%d@example.com]\n    monthly_hours: 10\n    monthly_fee: 1000\n    start: 2026-01\n", i, i, i)
	}
	config := filepath.Join(e.dir, "retainer.yaml")
	os.WriteFile(config, []byte(cfg.String()), 0o644)
	env := []string{"RETAINER_HTTP__LISTEN=" + freePort(t), "RETAINER_LOG__LEVEL=debug", "RETAINER_SCHEDULE__DISPATCH="}

	d := startBinary(t, bin, config, env...)
	d.waitFor(0, "job start", "job=close")
	time.Sleep(300 * time.Millisecond) // inside the close's transaction
	d.signal(syscall.SIGKILL)
	d.wait()
	if strings.Contains(d.log.String(), "job=close outcome=ok") {
		t.Fatal("the close finished before the kill; the test needs a bigger close")
	}

	d2 := startBinary(t, bin, config, append(env[1:], "RETAINER_HTTP__LISTEN="+freePort(t))...)
	d2.waitFor(0, "runs interrupted by the last stop", "runs=1")
	d2.waitFor(0, "job run", "job=close", "outcome=ok", "periods=10", fmt.Sprintf("statements=%d", 10*n))
	d2.signal(syscall.SIGTERM)
	if err := d2.wait(); err != nil {
		t.Fatal(err)
	}

	e.now = daemonClock
	out := e.must("outbox", "--json")
	if got := strings.Count(out, `"key": "statement/`); got != 10*n {
		t.Errorf("%d statement messages, want %d", got, 10*n)
	}
	if !strings.Contains(e.must("status", "--month", "2026-10", "--json"), `"closed":true`) {
		t.Error("October is not closed")
	}
}

// A file still being written when the daemon starts (modified within the
// last 2 s) is imported as soon as it settles, not at the import's next
// firing a quarter of an hour later.
func TestDaemonImportsSettlingFileSoon(t *testing.T) {
	e := newEnv(t)
	inbox := filepath.Join(e.dir, "inbox")
	os.MkdirAll(inbox, 0o755)
	csv := "client,date,hours,id,billable,notes,project,user\nAcme Corp,2026-11-02,1.5,A-1,yes,work,Site,ada\n"
	if err := os.WriteFile(filepath.Join(inbox, "fresh.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, filepath.Join(e.dir, "retainer.yaml"), "RETAINER_HTTP__LISTEN=127.0.0.1:0",
		"RETAINER_SCHEDULE__IMPORT=0 0 1 1 *") // next firing: new year
	off := d.waitFor(0, "job=import", "waiting=1")
	d.waitFor(off, "job=import", "imported=1")
	d.signal(syscall.SIGTERM)
	if err := d.wait(); err != nil {
		t.Fatal(err)
	}
}
