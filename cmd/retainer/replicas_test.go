package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"retainer/notify/notifytest"
)

// postgresDSN gives a test a schema of its own on the PostgreSQL server of
// RETAINER_TEST_POSTGRES_URL (skipping without one), dropped at the end.
func postgresDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("RETAINER_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("set RETAINER_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run the replica test; .ci/run does")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "r_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if admin, err := sql.Open("pgx", base); err == nil {
			admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			admin.Close()
		}
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestThreeReplicas starts three daemons on one PostgreSQL database with
// 500 contracts whose first month has ended, kills one of them (SIGKILL)
// while the month is being closed, and checks that exactly 500 statements
// reached the SMTP server, each once.
func TestThreeReplicas(t *testing.T) {
	database := postgresDSN(t)
	bin := buildBinary(t)
	smtp := &notifytest.SMTPServer{}
	host, port := smtp.Start(t)

	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("timezone: UTC\ncontracts:\n")
	const n = 500
	start := daemonClock.AddDate(0, -1, 0).Format("2006-01")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&cfg, "  c%03d:\n    client: Client %d\n    contacts: [ap%d@client.example]\n    monthly_hours: 10\n    monthly_fee: 1000\n    start: %s\n    end: %s\n",
			i, i, i, start, start)
	}
	config := filepath.Join(dir, "retainer.yaml")
	if err := os.WriteFile(config, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"RETAINER_DATABASE=" + database, "RETAINER_HTTP__LISTEN=127.0.0.1:0", "RETAINER_LOG__LEVEL=debug",
		"RETAINER_NOTIFY__EMAIL__HOST=" + host, "RETAINER_NOTIFY__EMAIL__PORT=" + strconv.Itoa(port),
		"RETAINER_NOTIFY__EMAIL__TLS=none", "RETAINER_NOTIFY__EMAIL__FROM=billing@agency.example",
		"RETAINER_IMPORT__INBOX=" + filepath.Join(dir, "inbox"), "RETAINER_NOTIFY__FILE__DIR=" + filepath.Join(dir, "outbox")}

	var replicas []*daemon
	for i := 0; i < 3; i++ {
		replicas = append(replicas, startBinary(t, bin, config, env...))
	}
	// Kill the first replica to start closing, while it closes.
	victim := -1
	deadline := time.Now().Add(60 * time.Second)
	for victim < 0 && time.Now().Before(deadline) {
		for i, d := range replicas {
			if strings.Contains(d.log.String(), "job=close") {
				victim = i
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if victim < 0 {
		t.Fatal("no replica started the close")
	}
	replicas[victim].signal(syscall.SIGKILL)
	replicas[victim].wait()
	if strings.Contains(replicas[victim].log.String(), "job=close outcome=ok") {
		t.Fatal("the killed replica had finished its close before the kill; the test needs a bigger close")
	}

	// The others finish the close and deliver every statement once.
	for time.Now().Before(deadline) {
		if _, msgs := smtp.Snapshot(); len(msgs) >= n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // time for a duplicate to show up, if any would
	_, msgs := smtp.Snapshot()
	seen := map[string]int{}
	for _, m := range msgs {
		msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
		if err != nil {
			t.Fatal(err)
		}
		seen[msg.Header.Get("Message-Id")]++
	}
	if len(msgs) != n || len(seen) != n {
		t.Errorf("%d emails, %d distinct, want %d statements each once", len(msgs), len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s arrived %d times", id, c)
		}
	}
	closers := 0
	for i, d := range replicas {
		if i != victim && strings.Contains(d.log.String(), fmt.Sprintf("statements=%d", n)) {
			closers++
		}
	}
	if closers != 1 {
		t.Errorf("%d of the surviving replicas closed the month, want one", closers)
	}
	for i, d := range replicas {
		if i == victim {
			continue
		}
		d.signal(syscall.SIGTERM)
		if err := d.wait(); err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
}
