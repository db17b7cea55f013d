package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"retainer/notify/notifytest"
	"retainer/store"
)

// SPEC §8 under SIGKILL: the real binary — `outbox send`, and the daemon —
// killed at random points of rendering and sending, several seeds, on the
// file transport and on SMTP. Afterwards every statement is delivered
// exactly once, at most one message per kill is unknown on SMTP (and it did
// arrive, or `outbox retry` sends it once), none on file, and every
// statement whose email is recorded sent has its invoice sent.

const crashStatements = 200

// crashInstall is an installation with n contracts starting 2026-10, each
// with its own contact, delivering over SMTP when srv is not nil, else to
// the file transport.
type crashInstall struct {
	e      *env
	config string
	vars   []string // the environment of the binary: the SMTP settings
	srv    *notifytest.SMTPServer
}

func newCrashInstall(t *testing.T, n int, srv *notifytest.SMTPServer) *crashInstall {
	t.Helper()
	e := newEnv(t)
	var cfg strings.Builder
	cfg.WriteString("timezone: UTC\nagency:\n  name: Agency\nnotify:\n  email:\n    from: Agency <billing@agency.example>\ncontracts:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&cfg, "  c%04d:\n    client: Client %d\n    contacts: [ap%d@client.example]\n    monthly_hours: 10\n    monthly_fee: 1000\n    start: 2026-10\n", i, i, i)
	}
	config := filepath.Join(e.dir, "retainer.yaml")
	if err := os.WriteFile(config, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ci := &crashInstall{e: e, config: config, srv: srv}
	if srv != nil {
		host, port := srv.Start(t)
		ci.vars = []string{"RETAINER_NOTIFY__EMAIL__HOST=" + host, "RETAINER_NOTIFY__EMAIL__PORT=" + strconv.Itoa(port),
			"RETAINER_NOTIFY__EMAIL__TLS=none"}
		e.extra = ci.vars
	}
	return ci
}

// delivered counts what has arrived: by recipient on SMTP, the statement
// files on the file transport.
func (ci *crashInstall) delivered(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	if ci.srv != nil {
		_, msgs := ci.srv.Snapshot()
		for _, m := range msgs {
			for _, to := range m.To {
				out[to]++
			}
		}
		return out
	}
	files, _ := filepath.Glob(filepath.Join(ci.e.dir, "outbox", "statement_*.eml"))
	for _, f := range files {
		out[f]++
	}
	return out
}

func (ci *crashInstall) total(t *testing.T) int {
	n := 0
	for _, c := range ci.delivered(t) {
		n += c
	}
	return n
}

// killAt waits until, by a random plan, the process is somewhere in its
// work — a random number of messages delivered, then at once (amid a
// batch's sending) or a random moment more (up to 300 ms: rendering the
// next batch, or sending it) — and kills it.
// It reports whether the process was still running then.
func (ci *crashInstall) killAt(t *testing.T, rng *rand.Rand, p *os.Process, exited <-chan struct{}) bool {
	t.Helper()
	base := ci.total(t)
	target := rng.IntN((crashStatements-base)*3/4 + 1)
	deadline := time.Now().Add(45 * time.Second)
	for ci.total(t)-base < target {
		select {
		case <-exited:
			return false
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress to %d messages", target)
		}
	}
	if rng.IntN(2) == 0 { // else at once: amid a batch's sending
		select {
		case <-exited:
			return false
		case <-time.After(time.Duration(rng.IntN(300)) * time.Millisecond):
		}
	}
	_ = p.Signal(syscall.SIGKILL)
	return true
}

// outbox reads `retainer outbox --json`.
func (ci *crashInstall) outbox(t *testing.T) []outboxMessageJSON {
	t.Helper()
	var ob outboxJSON
	if err := json.Unmarshal([]byte(ci.e.must("outbox", "--json")), &ob); err != nil {
		t.Fatal(err)
	}
	return ob.Messages
}

// check settles the unknown messages as an operator would (one that did not
// arrive is retried and sent) and checks that every statement was delivered
// exactly once, with at most maxUnknown unknown, and every invoice whose
// email is sent is sent.
func (ci *crashInstall) check(t *testing.T, maxUnknown int) {
	t.Helper()
	got := ci.delivered(t)
	unknown, retried := 0, 0
	for _, m := range ci.outbox(t) {
		switch m.Status {
		case store.OutboxSent:
		case store.OutboxUnknown:
			unknown++
			if got[m.To[0]] == 0 {
				t.Logf("%s is unknown and did not arrive: retried", m.Key)
				ci.e.must("outbox", "retry", strconv.FormatInt(m.ID, 10))
				retried++
			}
		default:
			t.Errorf("%s: %s (%s)", m.Key, m.Status, m.LastError)
		}
	}
	if unknown > maxUnknown {
		t.Errorf("%d unknown, want at most %d", unknown, maxUnknown)
	}
	if ci.srv == nil && unknown > 0 {
		t.Errorf("%d unknown on the file transport, want none", unknown)
	}
	if retried > 0 {
		if out := ci.e.must("outbox", "send"); !strings.HasPrefix(out, fmt.Sprintf("sent %d,", retried)) {
			t.Errorf("outbox send after the retries: %s", out)
		}
	}
	got = ci.delivered(t)
	if len(got) != crashStatements {
		t.Errorf("%d statements delivered, want %d", len(got), crashStatements)
	}
	for to, n := range got {
		if n != 1 {
			t.Errorf("%s: delivered %d times", to, n)
		}
	}
	db, err := store.Open(context.Background(), filepath.Join(ci.e.dir, "retainer.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sts, err := db.Statements(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, st := range sts {
		if st.Status == store.StatusSent {
			sent++
		}
	}
	if want := crashStatements - unknown; sent < want {
		t.Errorf("%d invoices sent, want at least %d (one per email recorded sent)", sent, want)
	}
	t.Logf("%d unknown; %d invoices sent", unknown, sent)
}

// transports runs f on the file transport and on SMTP, with several seeds.
func crashRuns(t *testing.T, f func(t *testing.T, rng *rand.Rand, srv *notifytest.SMTPServer)) {
	for _, transport := range []string{"file", "smtp"} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", transport, seed), func(t *testing.T) {
				var srv *notifytest.SMTPServer
				if transport == "smtp" {
					srv = &notifytest.SMTPServer{}
				}
				f(t, rand.New(rand.NewPCG(seed, 8)), srv)
			})
		}
	}
}

func TestOutboxSendKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the real binary")
	}
	bin := buildBinary(t)
	crashRuns(t, func(t *testing.T, rng *rand.Rand, srv *notifytest.SMTPServer) {
		ci := newCrashInstall(t, crashStatements, srv)
		ci.e.must("close", "--month", "2026-10") // queues the statements
		kills := 0
		for round := 0; round < 3; round++ {
			cmd := exec.Command(bin, "--config", ci.config, "outbox", "send")
			cmd.Env = append(os.Environ(), ci.vars...)
			var out syncBuffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(exited) }()
			if ci.killAt(t, rng, cmd.Process, exited) {
				kills++
			}
			<-exited
			t.Logf("round %d: %d delivered so far; %s", round, ci.total(t), strings.TrimSpace(out.String()))
		}
		// Nothing stranded: a plain `outbox send` delivers the rest.
		code, out, errs := ci.e.run("outbox", "send")
		t.Logf("then: %s%s", out, errs)
		if code != 0 && !strings.Contains(out, "unknown 1") && !strings.Contains(out, "unknown 2") && !strings.Contains(out, "unknown 3") {
			t.Errorf("outbox send: exit %d", code)
		}
		ci.check(t, kills)
	})
}

func TestDaemonKilledWhileDelivering(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the real binary")
	}
	bin := buildBinary(t)
	crashRuns(t, func(t *testing.T, rng *rand.Rand, srv *notifytest.SMTPServer) {
		ci := newCrashInstall(t, crashStatements, srv)
		vars := append([]string{"RETAINER_LOG__LEVEL=debug"}, ci.vars...)
		kills := 0
		for round := 0; round < 3; round++ {
			d := startBinary(t, bin, ci.config, append(vars, "RETAINER_HTTP__LISTEN="+freePort(t))...)
			if round == 0 {
				d.waitFor(0, "job run", "job=close", "outcome=ok") // the statements are queued
			} else {
				d.waitFor(0, "retainer running")
			}
			exited := make(chan struct{})
			go func() {
				err := <-d.done
				d.done <- err
				close(exited)
			}()
			if ci.killAt(t, rng, d.cmd.Process, exited) {
				kills++
			}
			<-exited
			t.Logf("round %d: %d delivered so far", round, ci.total(t))
		}
		// A last daemon delivers the rest.
		d := startBinary(t, bin, ci.config, append(vars, "RETAINER_HTTP__LISTEN="+freePort(t))...)
		d.waitFor(0, "catch-up done")
		waitSettled(t, ci)
		d.signal(syscall.SIGTERM)
		if err := d.wait(); err != nil {
			t.Fatal(err)
		}
		ci.check(t, kills)
	})
}

// waitSettled waits until no message is pending or being sent.
func waitSettled(t *testing.T, ci *crashInstall) {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for {
		busy := 0
		for _, m := range ci.outbox(t) {
			if m.Status == store.OutboxPending || m.Status == store.OutboxSending {
				busy++
			}
		}
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still pending", busy)
		}
		time.Sleep(50 * time.Millisecond) // poll
	}
}

// A daemon started while `outbox send` delivers leaves that process's
// claims alone: both deliver, each message once, none is unknown, and
// every invoice is sent.
func TestDaemonStartsBesideOutboxSend(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	bin := buildBinary(t)
	srv := &notifytest.SMTPServer{DataHook: func() { time.Sleep(15 * time.Millisecond) }} // a slowish server
	ci := newCrashInstall(t, crashStatements, srv)
	ci.e.must("close", "--month", "2026-10")
	cmd := exec.Command(bin, "--config", ci.config, "outbox", "send")
	cmd.Env = append(os.Environ(), ci.vars...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for ci.total(t) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("outbox send delivered nothing: %s", out.String())
		}
		time.Sleep(5 * time.Millisecond) // poll
	}
	// Its clock where the close queued the statements: they are due.
	d := startDaemonAt(t, ci.config, ci.e.now, append(ci.vars, "RETAINER_HTTP__LISTEN="+freePort(t), "RETAINER_LOG__LEVEL=debug")...)
	d.waitFor(0, "catch-up done")
	if err := <-exited; err != nil {
		t.Errorf("outbox send: %v\n%s", err, out.String())
	}
	waitSettled(t, ci)
	d.signal(syscall.SIGTERM)
	if err := d.wait(); err != nil {
		t.Fatal(err)
	}
	cli := strings.TrimSpace(out.String())
	t.Logf("outbox send: %s", cli)
	if strings.HasPrefix(cli, fmt.Sprintf("sent %d,", crashStatements)) {
		t.Errorf("the daemon delivered nothing beside outbox send")
	}
	ci.check(t, 0)
	if s := d.log.String(); strings.Contains(s, "unknown=") && !strings.Contains(s, "unknown=0") {
		t.Errorf("the daemon made messages unknown:\n%s", s)
	}
}
