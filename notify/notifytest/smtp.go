// Package notifytest runs an in-process SMTP server on 127.0.0.1 that records
// what it receives, for tests that deliver real mail over TCP: in plain
// text, or on implicit TLS with a certificate made for the test; with AUTH
// PLAIN, or with XOAUTH2 only.
package notifytest

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// Received is one message as the server got it: envelope and raw data,
// and who authenticated the session with which mechanism ("" when none).
type Received struct {
	From     string
	To       []string
	Data     []byte
	AuthMech string
	AuthUser string
	TLS      bool // the session ran over TLS
}

// SMTPServer records every message it accepts. The zero value accepts
// everything without authentication; the hooks inject failures.
type SMTPServer struct {
	User, Pass string // when User != "", AUTH PLAIN is offered
	// OAuthToken, with User, makes the server offer XOAUTH2 alone (no
	// PLAIN): the way Microsoft 365 and Gmail take an OAuth access token
	// over SMTP. A session authenticates with User and this token.
	OAuthToken string
	// TLS, when set, serves implicit TLS ("SMTPS", RFC 8314): the
	// connection is TLS from its first byte, as on port 465.
	TLS           *tls.Config
	AuthReply     func(pass string) error // error for a wrong password or token (default ErrAuthFailed)
	MailErr       func(n int) error       // reply to MAIL; n = 1 for the first MAIL command
	RcptErr       func(to string) error   // reply to RCPT
	DataHook      func()                  // runs after DATA is read, before the reply
	DropAfterData bool                    // close the connection once DATA is read, without replying

	mu       sync.Mutex
	sessions int // connections
	mails    int // MAIL commands seen
	msgs     []Received
	auths    []string // every AUTH attempt: "MECH user ok|refused"
}

// Start serves on 127.0.0.1 on a free port until the test ends.
func (b *SMTPServer) Start(t testing.TB) (host string, port int) {
	t.Helper()
	return "127.0.0.1", ServeSMTP(t, b, func(srv *gosmtp.Server) {
		srv.AllowInsecureAuth = b.TLS == nil
		srv.ReadTimeout = 10 * time.Second
		srv.WriteTimeout = 10 * time.Second
		if b.TLS != nil {
			// As go-smtp's ListenAndServeTLS does: every connection is TLS.
			srv.TLSConfig = b.TLS
		}
	})
}

// ServeSMTP serves backend with go-smtp on 127.0.0.1, on a free port it
// returns, until the test ends; configure sets the server's options
// before it serves (a TLSConfig set there makes every connection
// implicit TLS).
func ServeSMTP(t testing.TB, backend gosmtp.Backend, configure func(*gosmtp.Server)) (port int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := gosmtp.NewServer(backend)
	srv.Domain = "localhost"
	configure(srv)
	var serve net.Listener = l
	if srv.TLSConfig != nil {
		serve = tls.NewListener(l, srv.TLSConfig)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(serve)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		// Close may run before Serve has registered l; closing l as well
		// makes Serve return either way.
		_ = l.Close()
		<-done
	})
	return l.Addr().(*net.TCPAddr).Port
}

// Snapshot returns the number of connections so far and the messages received.
func (b *SMTPServer) Snapshot() (sessions int, msgs []Received) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sessions, append([]Received(nil), b.msgs...)
}

// SetOAuthToken changes the XOAUTH2 token the server takes from now on (an
// access token renewed). Set OAuthToken before Start.
func (b *SMTPServer) SetOAuthToken(token string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.OAuthToken = token
}

func (b *SMTPServer) oauthToken() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.OAuthToken
}

// Auths returns every AUTH attempt so far, as "MECH user ok" or
// "MECH user refused".
func (b *SMTPServer) Auths() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.auths...)
}

func (b *SMTPServer) noteAuth(mech, user string, err error) {
	res := "ok"
	if err != nil {
		res = "refused"
	}
	b.mu.Lock()
	b.auths = append(b.auths, mech+" "+user+" "+res)
	b.mu.Unlock()
}

// NewSession implements gosmtp.Backend.
func (b *SMTPServer) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	b.mu.Lock()
	b.sessions++
	b.mu.Unlock()
	return &session{b: b, conn: c}, nil
}

type session struct {
	b        *SMTPServer
	conn     *gosmtp.Conn
	cur      Received
	authMech string
	authUser string
}

func (s *session) AuthMechanisms() []string {
	switch {
	case s.b.User == "":
		return nil
	case s.b.oauthToken() != "":
		return []string{xoauth2}
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	offered := false
	for _, m := range s.AuthMechanisms() {
		offered = offered || m == mech
	}
	if !offered {
		s.b.noteAuth(mech, "", gosmtp.ErrAuthUnknownMechanism)
		return nil, gosmtp.ErrAuthUnknownMechanism
	}
	if mech == xoauth2 {
		return &xoauth2Server{check: func(user, token string) error {
			var err error
			if user != s.b.User || token != s.b.oauthToken() {
				err = gosmtp.ErrAuthFailed
				if s.b.AuthReply != nil {
					err = s.b.AuthReply(token)
				}
			}
			s.b.noteAuth(mech, user, err)
			if err == nil {
				s.authMech, s.authUser = mech, user
			}
			return err
		}}, nil
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		var err error
		if user != s.b.User || pass != s.b.Pass {
			err = gosmtp.ErrAuthFailed
			if s.b.AuthReply != nil {
				err = s.b.AuthReply(pass)
			}
		}
		s.b.noteAuth(mech, user, err)
		if err == nil {
			s.authMech, s.authUser = mech, user
		}
		return err
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
	if s.b.User != "" && s.authMech == "" {
		// A server that offers AUTH takes mail only from who authenticated.
		return &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur = Received{From: from, AuthMech: s.authMech, AuthUser: s.authUser, TLS: isTLS}
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
