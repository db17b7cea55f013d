package main

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCommandsDuringAnotherProcesssWrite: while another process holds the
// database's write lock (a long import's write, a close), the read-only
// commands answer within a second and `log` waits for the lock instead of failing,
// then logs. Opening the store used to take the write lock, so every one
// of them failed with "database is locked" after 10 s.
func TestCommandsDuringAnotherProcesssWrite(t *testing.T) {
	e := newEnv(t)
	e.must("log", "acme-001", "3", "--date", "2026-11-02")

	// The other process: a connection of its own in an immediate
	// transaction that has written.
	other, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, "retainer.db")+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO imports (source, started_at) VALUES ('held', 0)`); err != nil {
		t.Fatal(err)
	}

	type ran struct {
		code      int
		out, errs string
	}
	start := func(args ...string) <-chan ran {
		done := make(chan ran, 1)
		go func() {
			code, out, errs := e.run(args...)
			done <- ran{code, out, errs}
		}()
		return done
	}
	for _, args := range [][]string{
		{"status"},
		{"status", "acme-001", "--json"},
		{"export", "status", "--format", "json"},
		{"export", "entries", "--month", "2026-11"},
		{"jobs", "--json"},
	} {
		t0 := time.Now()
		select {
		case r := <-start(args...):
			if r.code != exitOK {
				t.Fatalf("retainer %s during another process's write: exit %d\n%s%s", strings.Join(args, " "), r.code, r.out, r.errs)
			}
			if args[0] == "status" && !strings.Contains(r.out, "3.00") {
				t.Errorf("retainer %s: no 3.00 h used:\n%s", strings.Join(args, " "), r.out)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("retainer %s waited for another process's write", strings.Join(args, " "))
		}
		// Waiting for the lock would take the busy timeout (minutes); a few
		// seconds leave room for a loaded machine under -race.
		if took := time.Since(t0); took > 4*time.Second {
			t.Errorf("retainer %s took %s during another process's write, want it at once", strings.Join(args, " "), took.Round(time.Millisecond))
		}
	}

	// A write waits for the lock (up to the busy timeout), then goes through.
	logged := start("log", "acme-001", "2", "--date", "2026-11-03")
	if r := <-start("status"); r.code != exitOK {
		t.Fatalf("status: exit %d\n%s", r.code, r.errs)
	}
	select {
	case r := <-logged:
		t.Fatalf("log did not wait for the write lock: exit %d\n%s%s", r.code, r.out, r.errs)
	default:
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-logged:
		if r.code != exitOK {
			t.Fatalf("log once the lock was free: exit %d\n%s%s", r.code, r.out, r.errs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("log still waiting after the other process's write ended")
	}
	if out := e.must("status", "acme-001"); !strings.Contains(out, "5.00") {
		t.Errorf("status after log: no 5.00 h used:\n%s", out)
	}
}
