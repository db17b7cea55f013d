package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	netmail "net/mail"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// TLS policies accepted in SMTPConfig.TLS.
const (
	SMTPTLSMandatory     = "mandatory"
	SMTPTLSOpportunistic = "opportunistic"
	SMTPTLSImplicit      = "implicit" // TLS from the first byte ("SMTPS", port 465)
	SMTPTLSNone          = "none"
)

// Authentication accepted in SMTPConfig.Auth.
const (
	SMTPAuthPlain   = "plain"   // PLAIN, or LOGIN when the server offers only that
	SMTPAuthXOAuth2 = "xoauth2" // XOAUTH2 with an OAuth access token
)

// SMTPConfig configures the SMTP transport.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	// TLS is "mandatory" (STARTTLS required, the default when empty),
	// "opportunistic" (STARTTLS when offered), "implicit" (TLS from the
	// first byte, port 465 by default) or "none".
	TLS string
	// Auth is "plain" (the default when empty: the password, over PLAIN
	// or LOGIN) or "xoauth2" (Username and an OAuth access token).
	Auth string
	// OAuthTokenFile, when set, holds the XOAUTH2 access token: it is read
	// at every connection, so a token another tool refreshes on disk is
	// used as soon as it is written. OAuthToken is the token otherwise.
	OAuthToken     string
	OAuthTokenFile string
	// RootCAs verifies the server's certificate (implicit TLS and
	// STARTTLS); nil means the system's roots, which honour SSL_CERT_FILE
	// and SSL_CERT_DIR. Certificates are always verified.
	RootCAs *x509.CertPool
	// From is the From address used when Message.From is "".
	From string
	// Timeout bounds the dial and every SMTP command (go-mail's default, 15s,
	// when zero).
	Timeout time.Duration
	// Domain is the right-hand side of Message-IDs; default: the domain of
	// the From address.
	Domain string
	// IdleTimeout is how long a connection is kept open after a batch for
	// the next one: 0 is DefaultSMTPIdleTimeout (at most half of Timeout,
	// so that the server has not timed it out), a negative value closes
	// every connection after its batch. A connection authenticated with
	// XOAUTH2 is never kept: its access token expires, and each batch
	// authenticates with the token read when it starts.
	IdleTimeout time.Duration
}

// SMTP delivers email messages through an SMTP server with go-mail. It is
// safe for concurrent use. A connection outlives its batch: it is kept
// open, idle, for the next Send or SendBatch (the dispatcher sends a
// batch of 100 at a time), which checks it with RSET before its first
// message and dials again when the server has dropped it. An idle
// connection is closed after IdleTimeout, when the context of the call
// that last used it ends (a shutdown), or by Close. Concurrent callers
// each get a connection of their own; one of them is kept.
type SMTP struct {
	cfg SMTPConfig

	mu     sync.Mutex
	idle   *smtpConn // at most one, kept between calls
	closed bool
}

// DefaultSMTPIdleTimeout is how long a connection is kept open between
// batches when SMTPConfig.IdleTimeout is zero.
const DefaultSMTPIdleTimeout = 5 * time.Second

var _ Sender = (*SMTP)(nil)

// NewSMTP returns an SMTP transport for cfg.
func NewSMTP(cfg SMTPConfig) *SMTP {
	return &SMTP{cfg: cfg}
}

// Send delivers one message (implements Sender). The error is nil when the
// server accepted the message; otherwise it is temporary, a *PermanentError
// or an *AmbiguousError (see SendBatch).
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	return s.SendBatch(ctx, []*Message{m}, nil)[0]
}

// SendBatch delivers ms over one connection, one message after the other,
// and returns one error per message (nil = delivered):
//   - an SMTP 5xx reply (or a message that cannot be built) is a *PermanentError;
//   - an SMTP 4xx reply, a network error, a timeout or a failed dial is
//     temporary (a plain error);
//   - a connection lost after the message data was sent, before the server's
//     reply, is an *AmbiguousError: the server may have the message.
//
// h, when not nil, hears of each message just before it is handed to the
// connection (its MAIL, RCPT and DATA) and of its outcome right after: a
// message h refuses, or one whose turn comes after ctx ended, is not sent
// and gets ErrNotSent. When h is an Awaiter, message i is read only once
// h.Await(i) said it is ready (one it says no to gets ErrNotSent), and the
// connection is taken for the first message that can go. When h is a
// PreparedHandover holding what Prepare made of message i, its bytes are
// sent as they are; any other message is prepared in its turn. Cancelling
// ctx closes the connection.
func (s *SMTP) SendBatch(ctx context.Context, ms []*Message, h Handover) []error {
	errs := make([]error, len(ms))
	if len(ms) == 0 {
		return errs
	}

	// With an Awaiter, the messages are still being rendered: each is
	// waited for and sent in turn, so that the first goes while the others
	// render.
	aw, _ := h.(Awaiter)
	ph, _ := h.(PreparedHandover)
	var c *smtpConn
	var stop func() bool
	var connErr error // the connection is gone: the rest are not tried
	broken := false   // the connection must not carry another message
	for i := range ms {
		if aw != nil && (ctx.Err() != nil || !aw.Await(i)) {
			errs[i] = fmt.Errorf("smtp: %w", ErrNotSent)
			continue
		}
		// Read once Await said it is there: prepared on a render worker,
		// or now.
		var p *smtpPrepared
		if ph != nil {
			p, _ = ph.Prepared(i).(*smtpPrepared)
		}
		if p == nil || p.s != s || p.m != ms[i] {
			p = s.prepare(ms[i])
		}
		// A message that cannot be built is permanent and does not go out.
		if p.err != nil {
			errs[i] = &PermanentError{Err: s.redact(p.err)}
			continue
		}
		if connErr == nil && c == nil {
			// The connection, for the first message that can go.
			if c, connErr = s.take(ctx); connErr == nil {
				// Cancelling ctx closes the connection, so that a command
				// in flight is interrupted (go-mail only watches ctx while
				// dialling).
				stop = context.AfterFunc(ctx, c.closeConn)
			}
		}
		// One message at a time, so that the hand-over of each is known
		// (the hand-over is the message's turn, from its connection check
		// to the server's reply to its data).
		switch {
		case connErr != nil:
			errs[i] = connErr
			continue
		case ctx.Err() != nil:
			errs[i] = fmt.Errorf("smtp: %w: %w", ErrNotSent, ctx.Err())
			continue
		case h != nil && !h.Begin(i):
			errs[i] = fmt.Errorf("smtp: %w", ErrNotSent)
			continue
		}
		delivered, sendErr := c.transact(p)
		var se *sendError
		errors.As(sendErr, &se)
		switch {
		case delivered:
			errs[i] = nil
		case se != nil && se.reason == mail.ErrConnCheck:
			// The connection check before the message failed: nothing of
			// it went out, and nothing more will.
			errs[i] = s.classify(fmt.Errorf("smtp: %w", s.ctxErr(ctx, sendErr)), c.token)
			connErr, broken = errs[i], true
		default:
			errs[i] = s.classify(fmt.Errorf("smtp: %w", s.ctxErr(ctx, sendErr)), c.token)
			broken = broken || !replied(sendErr)
		}
		if h != nil {
			h.End(i, errs[i])
		}
	}
	if c == nil {
		return errs
	}
	if !stop() || broken || ctx.Err() != nil {
		c.close()
	} else {
		s.put(ctx, c)
	}
	return errs
}

// smtpConn is one open connection, greeted and authenticated: go-mail's
// client (its configuration: TLS, authentication, timeout) and the
// connection it dialled, which the messages are written on.
type smtpConn struct {
	mc      *mail.Client
	sc      *smtp.Client
	timeout time.Duration // each message's deadline, as go-mail extends it
	token   string        // the XOAUTH2 token it authenticated with: kept out of errors
	reuse   bool          // it may carry another batch

	mu   sync.Mutex
	conn net.Conn // the connection under client, to interrupt it

	// While idle: what closes it after the idle time or when the context
	// of its last batch ends.
	timer   *time.Timer
	stopCtx func() bool
}

// closeConn closes the network connection at once, without QUIT.
func (c *smtpConn) closeConn() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		_ = c.conn.Close()
	}
}

// close says QUIT when the connection is still up, and closes it.
func (c *smtpConn) close() {
	_ = c.mc.CloseWithSMTPClient(c.sc)
	c.closeConn()
}

// replied reports whether err is the server's reply to a command (4xx or
// 5xx), after which the session goes on; anything else (a network error,
// a timeout, 421 "closing the channel") leaves it unusable.
func replied(err error) bool {
	var se *sendError
	if !errors.As(err, &se) {
		return false
	}
	return se.code >= 400 && se.code < 600 && se.code != 421
}

func (s *SMTP) idleTimeout() time.Duration {
	d := s.cfg.IdleTimeout
	if d == 0 {
		d = DefaultSMTPIdleTimeout
		if s.cfg.Timeout > 0 {
			d = min(d, s.cfg.Timeout/2)
		}
	}
	return d
}

// take returns the idle connection once RSET has found it alive, or a new
// one: a connection the server dropped while idle is dialled again, once.
// The error is what every message of the batch gets.
func (s *SMTP) take(ctx context.Context) (*smtpConn, error) {
	s.mu.Lock()
	c := s.idle
	s.idle = nil
	s.mu.Unlock()
	if c != nil {
		c.timer.Stop()
		c.stopCtx()
		if ctx.Err() == nil && c.mc.ResetWithSMTPClient(c.sc) == nil {
			return c, nil
		}
		c.close()
	}
	return s.dial(ctx)
}

// put keeps c as the idle connection, unless one is kept already, reuse is
// off, or the transport is closed: then c is closed.
func (s *SMTP) put(ctx context.Context, c *smtpConn) {
	idle := s.idleTimeout()
	s.mu.Lock()
	if !c.reuse || idle <= 0 || s.idle != nil || s.closed {
		s.mu.Unlock()
		c.close()
		return
	}
	s.idle = c
	drop := func() { s.drop(c) }
	c.timer = time.AfterFunc(idle, drop)
	c.stopCtx = context.AfterFunc(ctx, drop)
	s.mu.Unlock()
}

// drop closes c if it is still the idle connection.
func (s *SMTP) drop(c *smtpConn) {
	s.mu.Lock()
	if s.idle != c {
		s.mu.Unlock()
		return
	}
	s.idle = nil
	s.mu.Unlock()
	c.timer.Stop()
	c.stopCtx()
	c.close()
}

// Close closes the idle connection; a connection in use by a batch is
// closed when its batch ends. The transport can still send afterwards,
// without keeping connections.
func (s *SMTP) Close() error {
	s.mu.Lock()
	c := s.idle
	s.closed = true
	s.mu.Unlock()
	if c != nil {
		s.drop(c)
	}
	return nil
}

// dial opens, greets and authenticates a new connection.
func (s *SMTP) dial(ctx context.Context) (*smtpConn, error) {
	// The XOAUTH2 token is read now, for this connection: a refreshed
	// token is used without a reload. It is a secret like the password.
	token, err := s.oauthToken()
	if err != nil {
		return nil, err // temporary: the tool that refreshes it may be at work
	}
	c := &smtpConn{token: token, reuse: !strings.EqualFold(s.cfg.Auth, SMTPAuthXOAuth2), timeout: mail.DefaultTimeout}
	if s.cfg.Timeout > 0 {
		c.timeout = s.cfg.Timeout
	}
	dialer := &net.Dialer{}
	dialContext := dialer.DialContext
	if s.implicitTLS() {
		// go-mail wraps the connection in TLS itself only when it dials
		// (client.go, DialToSMTPClientWithContext: WithSSL is ignored with
		// a DialContextFunc): with ours, the handshake is ours.
		dialContext = (&tls.Dialer{NetDialer: dialer, Config: s.tlsConfig()}).DialContext
	}
	// Capture the connection so that a cancelled ctx can interrupt a
	// command in flight.
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialContext(dctx, network, addr)
		if err == nil {
			c.mu.Lock()
			c.conn = conn
			c.mu.Unlock()
		}
		return conn, err
	}
	if c.mc, err = s.client(dial, token); err != nil {
		// Only a bad configuration gets here (unknown TLS policy or
		// authentication, no host).
		return nil, &PermanentError{Err: s.redact(fmt.Errorf("smtp: %w", err), token)}
	}
	stop := context.AfterFunc(ctx, c.closeConn)
	defer stop()
	if c.sc, err = c.mc.DialToSMTPClientWithContext(ctx); err != nil {
		c.closeConn()
		return nil, s.classify(fmt.Errorf("smtp: connecting to %s: %w", s.addr(), s.ctxErr(ctx, err)), token)
	}
	return c, nil
}

func (s *SMTP) addr() string {
	return net.JoinHostPort(s.cfg.Host, fmt.Sprint(s.port()))
}

func (s *SMTP) port() int {
	if s.cfg.Port != 0 {
		return s.cfg.Port
	}
	switch {
	case strings.EqualFold(s.cfg.TLS, SMTPTLSNone):
		return 25
	case s.implicitTLS():
		return 465
	}
	return 587
}

func (s *SMTP) implicitTLS() bool { return strings.EqualFold(s.cfg.TLS, SMTPTLSImplicit) }

// tlsConfig verifies the server as Host against RootCAs (nil: the system's
// roots).
func (s *SMTP) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: s.cfg.Host, RootCAs: s.cfg.RootCAs, MinVersion: tls.VersionTLS12}
}

// oauthToken is the XOAUTH2 token for one connection: OAuthTokenFile read
// now, or OAuthToken; "" without XOAUTH2. A file that cannot be read, or is
// empty, is a temporary error naming the file, never its content.
func (s *SMTP) oauthToken() (string, error) {
	if !strings.EqualFold(s.cfg.Auth, SMTPAuthXOAuth2) {
		return "", nil
	}
	if s.cfg.OAuthTokenFile == "" {
		return s.cfg.OAuthToken, nil
	}
	b, err := os.ReadFile(s.cfg.OAuthTokenFile)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said once, below
		}
		return "", fmt.Errorf("smtp: reading the OAuth token from %s: %w", s.cfg.OAuthTokenFile, err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("smtp: the OAuth token file %s is empty", s.cfg.OAuthTokenFile)
	}
	return token, nil
}

// client makes a go-mail client for one connection, authenticating with
// token when Auth is xoauth2.
func (s *SMTP) client(dial mail.DialContextFunc, token string) (*mail.Client, error) {
	var policy mail.TLSPolicy
	switch strings.ToLower(s.cfg.TLS) {
	case SMTPTLSMandatory, "":
		policy = mail.TLSMandatory
	case SMTPTLSOpportunistic:
		policy = mail.TLSOpportunistic
	case SMTPTLSImplicit:
		policy = mail.NoTLS // no STARTTLS: the connection is TLS already (dial)
	case SMTPTLSNone:
		policy = mail.NoTLS
	default:
		return nil, fmt.Errorf("unknown TLS policy %q (want mandatory, opportunistic, implicit or none)", s.cfg.TLS)
	}
	opts := []mail.Option{
		mail.WithPort(s.port()),
		mail.WithTLSPolicy(policy),
		mail.WithTLSConfig(s.tlsConfig()),
		mail.WithDialContextFunc(dial),
	}
	if s.implicitTLS() {
		opts = append(opts, mail.WithSSL())
	}
	if s.cfg.Timeout > 0 {
		opts = append(opts, mail.WithTimeout(s.cfg.Timeout))
	}
	plainText := strings.EqualFold(s.cfg.TLS, SMTPTLSNone)
	switch strings.ToLower(s.cfg.Auth) {
	case SMTPAuthPlain, "":
		if s.cfg.Username != "" {
			mechs := []mail.SMTPAuthType{mail.SMTPAuthPlain, mail.SMTPAuthLogin}
			if plainText {
				// The operator chose a plain-text connection: allow the
				// credentials over it.
				mechs = []mail.SMTPAuthType{mail.SMTPAuthPlainNoEnc, mail.SMTPAuthLoginNoEnc}
			}
			opts = append(opts,
				mail.WithOpportunisticSMTPAuth(mechs...),
				mail.WithUsername(s.cfg.Username),
				mail.WithPassword(s.cfg.Password),
			)
		}
	case SMTPAuthXOAuth2:
		if s.cfg.Username == "" || token == "" {
			return nil, errors.New("xoauth2 needs a username and an OAuth token")
		}
		// go-mail sends the token as XOAUTH2's bearer, the username as its
		// user (smtp/auth_xoauth2.go); a server that does not offer
		// XOAUTH2 is refused before anything is sent (client.go, auth).
		opts = append(opts,
			mail.WithSMTPAuth(mail.SMTPAuthXOAUTH2),
			mail.WithUsername(s.cfg.Username),
			mail.WithPassword(token),
		)
	default:
		return nil, fmt.Errorf("unknown authentication %q (want plain or xoauth2)", s.cfg.Auth)
	}
	return mail.NewClient(s.cfg.Host, opts...)
}

// domain is the Message-ID domain for a message sent from from.
func (s *SMTP) domain(from string) string {
	if s.cfg.Domain != "" {
		return s.cfg.Domain
	}
	addr := from
	if a, err := netmail.ParseAddress(from); err == nil {
		addr = a.Address
	}
	if at := strings.LastIndex(addr, "@"); at >= 0 && at < len(addr)-1 {
		return strings.TrimSuffix(addr[at+1:], ">")
	}
	return ""
}

// build turns a Message into a go-mail message.
func (s *SMTP) build(m *Message) (*mail.Msg, error) {
	if m == nil {
		return nil, errors.New("smtp: nil message")
	}
	from := m.From
	if from == "" {
		from = s.cfg.From
	}
	if from == "" {
		return nil, fmt.Errorf("smtp: message %q has no From address", m.Key)
	}
	if len(m.To) == 0 {
		return nil, fmt.Errorf("smtp: message %q has no recipients", m.Key)
	}
	gm := mail.NewMsg()
	if err := gm.From(from); err != nil {
		return nil, fmt.Errorf("smtp: message %q: From: %w", m.Key, err)
	}
	if err := gm.To(m.To...); err != nil {
		return nil, fmt.Errorf("smtp: message %q: To: %w", m.Key, err)
	}
	gm.Subject(m.Subject)
	if !m.Date.IsZero() { // the outbox sets it: the time the message was queued
		gm.SetDateWithValue(m.Date)
	}
	gm.SetMessageIDWithValue(m.MessageID(s.domain(from)))
	gm.SetUserAgent("retainer")
	gm.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		gm.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	for _, in := range m.Inline {
		name := in.Name
		if name == "" {
			name = in.CID
		}
		opts := []mail.FileOption{mail.WithFileContentID("<" + in.CID + ">")}
		if in.ContentType != "" {
			opts = append(opts, mail.WithFileContentType(mail.ContentType(in.ContentType)))
		}
		// The part's bytes as they are, not copied (go-mail's EmbedReader
		// reads its reader into a copy); the same bytes are written.
		gm.EmbedReadSeeker(name, bytes.NewReader(in.Data), opts...)
	}
	for _, at := range m.Attachments {
		var opts []mail.FileOption
		if at.ContentType != "" {
			opts = append(opts, mail.WithFileContentType(mail.ContentType(at.ContentType)))
		}
		gm.AttachReadSeeker(at.Name, bytes.NewReader(at.Data), opts...) // not copied either
	}
	return gm, nil
}

// classify maps a go-mail or network error onto the Sender error classes.
// go-mail's own IsTemp only looks for a leading 4, so a network error would
// read as permanent there; we decide from the reply code ourselves.
func (s *SMTP) classify(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	red := s.redact(err, secrets...)
	var se *sendError
	if errors.As(err, &se) {
		switch code := se.code; {
		case code >= 500 && code < 600:
			return &PermanentError{Err: red}
		case code >= 400 && code < 500:
			return red
		}
		switch se.reason {
		case mail.ErrSMTPDataClose:
			// The data and its final "." went out; the reply never came.
			return &AmbiguousError{Err: red}
		case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
			return &PermanentError{Err: red}
		}
		return red // network error, timeout, lost connection: temporary
	}
	var te *textproto.Error // a reply during greeting, EHLO, STARTTLS or AUTH
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		return &PermanentError{Err: red}
	}
	// The server does not offer the authentication configured (a provider
	// that turned basic authentication off offers no PLAIN): go-mail
	// refuses before sending anything, and a retry would find the same.
	for _, unoffered := range []error{mail.ErrPlainAuthNotSupported, mail.ErrLoginAuthNotSupported,
		mail.ErrXOauth2AuthNotSupported, mail.ErrNoSupportedAuthDiscovered} {
		if errors.Is(err, unoffered) {
			want := "PLAIN or LOGIN"
			if strings.EqualFold(s.cfg.Auth, SMTPAuthXOAuth2) {
				want = "XOAUTH2"
			}
			return &PermanentError{Err: fmt.Errorf("%w (the server does not offer %s authentication)", red, want)}
		}
	}
	return red
}

// ctxErr names the cancelled context as the cause when ctx is done.
func (s *SMTP) ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", err, cerr)
	}
	return err
}

// redact makes sure no error text carries the password, the OAuth token
// or any of secrets (the token read for this connection). When it would,
// the error is flattened to its redacted text (losing the chain, which
// would still hold the secret).
func (s *SMTP) redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg, found := err.Error(), false
	for _, secret := range append([]string{s.cfg.Password, s.cfg.OAuthToken}, secrets...) {
		if secret != "" && strings.Contains(msg, secret) {
			msg, found = strings.ReplaceAll(msg, secret, "[redacted]"), true
		}
	}
	if !found {
		return err
	}
	return redactedError{msg: msg}
}

type redactedError struct{ msg string }

func (e redactedError) Error() string { return e.msg }
