// Package notifytest runs an in-process SMTP server on 127.0.0.1 that records
// what it receives, for tests that deliver real mail over TCP.
package notifytest

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// Received is one message as the server got it: envelope and raw data.
type Received struct {
	From string
	To   []string
	Data []byte
}

// SMTPServer records every message it accepts. The zero value accepts
// everything without authentication; the hooks inject failures.
type SMTPServer struct {
	User, Pass    string                  // when User != "", AUTH PLAIN is offered
	AuthReply     func(pass string) error // error for a wrong password (default ErrAuthFailed)
	MailErr       func(n int) error       // reply to MAIL; n = 1 for the first MAIL command
	RcptErr       func(to string) error   // reply to RCPT
	DataHook      func()                  // runs after DATA is read, before the reply
	DropAfterData bool                    // close the connection once DATA is read, without replying

	mu       sync.Mutex
	sessions int // connections
	mails    int // MAIL commands seen
	msgs     []Received
}

// Start serves on 127.0.0.1 on a free port until the test ends.
func (b *SMTPServer) Start(t testing.TB) (host string, port int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := gosmtp.NewServer(b)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		// Close may run before Serve has registered l; closing l as well
		// makes Serve return either way.
		_ = l.Close()
		<-done
	})
	return "127.0.0.1", l.Addr().(*net.TCPAddr).Port
}

// Snapshot returns the number of connections so far and the messages received.
func (b *SMTPServer) Snapshot() (sessions int, msgs []Received) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sessions, append([]Received(nil), b.msgs...)
}

// NewSession implements gosmtp.Backend.
func (b *SMTPServer) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	b.mu.Lock()
	b.sessions++
	b.mu.Unlock()
	return &session{b: b, conn: c}, nil
}

type session struct {
	b    *SMTPServer
	conn *gosmtp.Conn
	cur  Received
}

func (s *session) AuthMechanisms() []string {
	if s.b.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user == s.b.User && pass == s.b.Pass {
			return nil
		}
		if s.b.AuthReply != nil {
			return s.b.AuthReply(pass)
		}
		return gosmtp.ErrAuthFailed
	}), nil
}

func (s *session) Reset()        { s.cur = Received{} }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	s.b.mu.Lock()
	s.b.mails++
	n := s.b.mails
	s.b.mu.Unlock()
	if s.b.MailErr != nil {
		if err := s.b.MailErr(n); err != nil {
			return err
		}
	}
	s.cur = Received{From: from}
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if s.b.RcptErr != nil {
		if err := s.b.RcptErr(to); err != nil {
			return err
		}
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = data
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	if s.b.DataHook != nil {
		s.b.DataHook()
	}
	if s.b.DropAfterData {
		_ = s.conn.Conn().Close() // the server has it, the client never hears so
	}
	return nil
}
