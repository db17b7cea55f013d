package notify

import (
	"bytes"
	"context"
	"fmt"
	netmail "net/mail"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"retainer/notify/notifytest"
)

// connServer is the recording SMTP server of the other tests, served so
// that the test sees each connection: how many were opened, which are
// open, and can drop them as a server that times out idle clients does.
type connServer struct {
	*notifytest.SMTPServer

	mu     sync.Mutex
	opened int
	open   map[*gosmtp.Conn]bool
}

func (b *connServer) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	s, err := b.SMTPServer.NewSession(c)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opened++
	if b.open == nil {
		b.open = map[*gosmtp.Conn]bool{}
	}
	b.open[c] = true
	return &connSession{Session: s, b: b, c: c}, nil
}

type connSession struct {
	gosmtp.Session
	b *connServer
	c *gosmtp.Conn
}

func (s *connSession) Logout() error {
	s.b.mu.Lock()
	delete(s.b.open, s.c)
	s.b.mu.Unlock()
	return s.Session.Logout()
}

// counts returns the connections opened so far and those open now.
func (b *connServer) counts() (opened, open int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opened, len(b.open)
}

// dropAll closes every open connection from the server's side.
func (b *connServer) dropAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.open {
		_ = c.Conn().Close()
	}
}

// waitOpen polls until want connections are open, or fails after 5 s.
func (b *connServer) waitOpen(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, open := b.counts()
		if open == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections open, want %d", open, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startConnServer serves b on 127.0.0.1 until the test ends and returns a
// transport config for it.
func startConnServer(t *testing.T, b *connServer) SMTPConfig {
	t.Helper()
	port := notifytest.ServeSMTP(t, b, func(srv *gosmtp.Server) {
		srv.AllowInsecureAuth = true
		srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	})
	return SMTPConfig{Host: "127.0.0.1", Port: port, TLS: "none",
		From: "Agency <billing@agency.example>", Timeout: 5 * time.Second}
}

// messageIDs returns the Message-ID of every message the server got, and
// fails on one received twice.
func messageIDs(t *testing.T, b *connServer) map[string]bool {
	t.Helper()
	_, msgs := b.Snapshot()
	ids := map[string]bool{}
	for _, r := range msgs {
		pm, err := netmail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatal(err)
		}
		id := pm.Header.Get("Message-Id")
		if ids[id] {
			t.Errorf("%s received twice", id)
		}
		ids[id] = true
	}
	return ids
}

func batchOf(prefix string, n int) []*Message {
	ms := make([]*Message, n)
	for i := range ms {
		ms[i] = testMessage(fmt.Sprintf("%s/%d", prefix, i))
	}
	return ms
}

func sendAll(t *testing.T, s *SMTP, ctx context.Context, ms []*Message) {
	t.Helper()
	for i, err := range s.SendBatch(ctx, ms, nil) {
		if err != nil {
			t.Errorf("%s: %v", ms[i].Key, err)
		}
	}
}

// The connection of a batch carries the next batches while they follow
// each other within the idle time, and is closed after it, when the
// context of its last batch ends, or by Close; a connection the server
// dropped meanwhile is dialled again, and nothing is sent twice.
func TestSMTPConnectionReuse(t *testing.T) {
	tests := []struct {
		name string
		idle time.Duration
		// between runs after the first batch, before the second.
		between func(t *testing.T, b *connServer, s *SMTP, cancel context.CancelFunc)
		// opened is the connections opened for the two batches; openAfter
		// those open once the second batch is done and settled.
		opened, openAfter int
	}{
		{name: "reused", idle: time.Minute, opened: 1, openAfter: 1},
		{name: "no reuse", idle: -1, opened: 2, openAfter: 0,
			between: func(t *testing.T, b *connServer, _ *SMTP, _ context.CancelFunc) { b.waitOpen(t, 0) }},
		{name: "idle time out", idle: 20 * time.Millisecond, opened: 2, openAfter: 0,
			between: func(t *testing.T, b *connServer, _ *SMTP, _ context.CancelFunc) { b.waitOpen(t, 0) }},
		{name: "dropped by the server", idle: time.Minute, opened: 2, openAfter: 1,
			between: func(t *testing.T, b *connServer, _ *SMTP, _ context.CancelFunc) {
				b.dropAll()
				b.waitOpen(t, 0)
			}},
		{name: "closed", idle: time.Minute, opened: 2, openAfter: 0,
			between: func(t *testing.T, b *connServer, s *SMTP, _ context.CancelFunc) {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				b.waitOpen(t, 0)
			}},
		{name: "context of the last batch ended", idle: time.Minute, opened: 2, openAfter: 1,
			between: func(t *testing.T, b *connServer, _ *SMTP, cancel context.CancelFunc) {
				cancel()
				b.waitOpen(t, 0)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &connServer{SMTPServer: &notifytest.SMTPServer{}}
			cfg := startConnServer(t, b)
			cfg.IdleTimeout = tc.idle
			s := NewSMTP(cfg)
			t.Cleanup(func() { s.Close() })
			first, cancel := context.WithCancel(context.Background())
			defer cancel()
			sendAll(t, s, first, batchOf("first", 3))
			if tc.between != nil {
				tc.between(t, b, s, cancel)
			}
			sendAll(t, s, context.Background(), batchOf("second", 3))
			if tc.openAfter == 0 {
				b.waitOpen(t, 0)
			}
			opened, open := b.counts()
			if opened != tc.opened || open != tc.openAfter {
				t.Errorf("%d connections opened, %d open; want %d and %d", opened, open, tc.opened, tc.openAfter)
			}
			if ids := messageIDs(t, b); len(ids) != 6 {
				t.Errorf("%d messages received, want 6", len(ids))
			}
		})
	}
}

// Batches sent at the same time each get a connection of their own; one
// is kept afterwards, and every message arrives once.
func TestSMTPConcurrentBatches(t *testing.T) {
	b := &connServer{SMTPServer: &notifytest.SMTPServer{}}
	cfg := startConnServer(t, b)
	cfg.IdleTimeout = time.Minute
	s := NewSMTP(cfg)
	t.Cleanup(func() { s.Close() })
	const callers, rounds, size = 4, 5, 3
	var wg sync.WaitGroup
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				for i, err := range s.SendBatch(context.Background(), batchOf(fmt.Sprintf("c%d/r%d", c, r), size), nil) {
					if err != nil {
						t.Errorf("caller %d round %d message %d: %v", c, r, i, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if ids := messageIDs(t, b); len(ids) != callers*rounds*size {
		t.Errorf("%d messages received, want %d", len(ids), callers*rounds*size)
	}
	b.waitOpen(t, 1)
	if opened, _ := b.counts(); opened > callers*rounds {
		t.Errorf("%d connections for %d batches", opened, callers*rounds)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b.waitOpen(t, 0)
}

// A 4xx or 5xx reply leaves the session usable: the connection is kept. A
// connection that broke (the server dropped it after DATA: ambiguous) is
// not, and the next batch dials again.
func TestSMTPReuseAfterFailures(t *testing.T) {
	var drop bool
	var mu sync.Mutex
	srv := &notifytest.SMTPServer{RcptErr: func(to string) error {
		if to == "nobody@client.example" {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}}
	b := &connServer{SMTPServer: srv}
	srv.DataHook = func() {
		mu.Lock()
		defer mu.Unlock()
		if drop {
			drop = false
			b.dropAll()
		}
	}
	cfg := startConnServer(t, b)
	cfg.IdleTimeout = time.Minute
	s := NewSMTP(cfg)
	t.Cleanup(func() { s.Close() })

	bad := testMessage("k/bad")
	bad.To = []string{"nobody@client.example"}
	errs := s.SendBatch(context.Background(), []*Message{bad, testMessage("k/1")}, nil)
	if class, _ := Classify(errs[0]); errs[0] == nil || class != Permanent || errs[1] != nil {
		t.Fatalf("errors %v", errs)
	}
	sendAll(t, s, context.Background(), batchOf("after-550", 2))
	if opened, _ := b.counts(); opened != 1 {
		t.Errorf("%d connections after a 550, want 1", opened)
	}

	mu.Lock()
	drop = true
	mu.Unlock()
	errs = s.SendBatch(context.Background(), []*Message{testMessage("k/dropped")}, nil)
	if class, _ := Classify(errs[0]); class != Ambiguous {
		t.Fatalf("dropped after DATA: %v (%s), want ambiguous", errs[0], class)
	}
	b.waitOpen(t, 0)
	sendAll(t, s, context.Background(), batchOf("after-drop", 2))
	if opened, _ := b.counts(); opened != 2 {
		t.Errorf("%d connections after a drop, want 2", opened)
	}
	if ids := messageIDs(t, b); len(ids) != 6 {
		t.Errorf("%d messages received, want 6", len(ids))
	}
}
