package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// condition is what a transport meets on the other side; every transport
// sets each up its own way (or cannot meet it) and must answer with the
// same class of error (SPEC §8).
type condition int

const (
	accepted       condition = iota // the server takes the message
	busy                            // try later: SMTP 4xx, Slack 5xx
	rateLimited                     // Slack 429 with Retry-After: 3
	refused                         // SMTP 5xx, an unknown Slack channel or webhook
	badCredentials                  // a wrong password or token, echoed back by the server
	unreachable                     // nothing listens (file: the directory cannot be made)
	timeout                         // the server never answers
	cancelled                       // the context ends before the send
	badMessage                      // the message cannot be built
	lostAfterData                   // the connection drops after the message went out
)

var transportTable = []struct {
	cond      condition
	name      string
	wantClass Class // when the send fails
	wantAfter time.Duration
}{
	{accepted, "accepted", 0, 0},
	{busy, "busy", Temporary, 0},
	{rateLimited, "rate limited", Temporary, 3 * time.Second},
	{refused, "refused", Permanent, 0},
	{badCredentials, "bad credentials", Permanent, 0},
	{unreachable, "unreachable", Temporary, 0},
	{timeout, "timeout", Temporary, 0},
	{cancelled, "cancelled", Temporary, 0},
	{badMessage, "bad message", Permanent, 0},
	{lostAfterData, "lost after data", Ambiguous, 0},
}

// transportCase is one transport met with a condition: nil Sender when
// the transport cannot meet it.
type transportCase struct {
	s       Sender
	m       *Message
	ctx     context.Context
	secrets []string
}

const (
	tpPassword = "hunter2-XYZ-pass"
	tpWrongPW  = "wr0ng-XYZ-pass"
	tpToken    = "xoxb-999-888-TrAnSpOrTsEcReT"
	tpHookPath = "/services/T999/B999/HooKtRaNsPoRt"
	tpOAuth    = "ya29.TrAnSpOrT-oauth-access-token"
	tpWrongTok = "ya29.wr0ng-oauth-access-token"
)

// SMTP as an agency may set it up: plain text with PLAIN (the in-process
// server's default), implicit TLS on a port-465 server (a certificate made
// for the test, trusted through RootCAs), XOAUTH2 over implicit TLS against
// a server that offers nothing else (notifytest.SMTPServer.OAuthToken).
const (
	smtpPlain = iota
	smtpImplicit
	smtpXOAuth2
)

// TestTransports: every transport passes one table — the same condition
// gives the same class of error, and no error carries a secret.
func TestTransports(t *testing.T) {
	transports := []struct {
		name  string
		setup func(t *testing.T, c condition) transportCase
	}{
		{"smtp", func(t *testing.T, c condition) transportCase { return smtpCase(t, c, smtpPlain) }},
		{"smtp implicit TLS", func(t *testing.T, c condition) transportCase { return smtpCase(t, c, smtpImplicit) }},
		{"smtp xoauth2", func(t *testing.T, c condition) transportCase { return smtpCase(t, c, smtpXOAuth2) }},
		{"slack webhook", func(t *testing.T, c condition) transportCase { return slackCase(t, c, true) }},
		{"slack bot token", func(t *testing.T, c condition) transportCase { return slackCase(t, c, false) }},
		{"file", fileCase},
	}
	for _, tr := range transports {
		for _, tt := range transportTable {
			t.Run(tr.name+"/"+tt.name, func(t *testing.T) {
				tc := tr.setup(t, tt.cond)
				if tc.s == nil {
					t.Skipf("%s cannot meet %s", tr.name, tt.name)
				}
				if tc.ctx == nil {
					tc.ctx = context.Background()
				}
				err := tc.s.Send(tc.ctx, tc.m)
				t.Logf("err: %v", err)
				if tt.cond == accepted {
					if err != nil {
						t.Fatalf("Send: %v, want it accepted", err)
					}
					return
				}
				if err == nil {
					t.Fatal("Send succeeded, want an error")
				}
				if class, after := Classify(err); class != tt.wantClass || after != tt.wantAfter {
					t.Errorf("Classify = %s %s, want %s %s", class, after, tt.wantClass, tt.wantAfter)
				}
				for e := err; e != nil; e = errors.Unwrap(e) {
					for _, text := range []string{e.Error(), fmt.Sprintf("%+v", e)} {
						for _, secret := range tc.secrets {
							if strings.Contains(text, secret) {
								t.Errorf("error %q (%T) carries the secret %q", text, e, secret)
							}
						}
					}
				}
			})
		}
	}
}

// silentListener accepts connections and never answers.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// closedAddr is an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func cancelledCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func smtpCase(t *testing.T, c condition, variant int) transportCase {
	b := &testBackend{User: "agency", Pass: tpPassword}
	if variant == smtpXOAuth2 {
		b = &testBackend{User: "agency@northwind.example", OAuthToken: tpOAuth}
	}
	m := testMessage("statement/acme/2026-03")
	tc := transportCase{m: m, secrets: []string{tpPassword, tpWrongPW, tpOAuth, tpWrongTok}}
	password, token := tpPassword, tpOAuth
	switch c {
	case accepted, unreachable, timeout:
	case busy:
		b.MailErr = func(int) error {
			return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
	case refused:
		b.RcptErr = func(string) error {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
	case badCredentials:
		password, token = tpWrongPW, tpWrongTok
		b.AuthReply = func(pass string) error {
			return &gosmtp.SMTPError{Code: 535, EnhancedCode: gosmtp.EnhancedCode{5, 7, 8}, Message: "bad password " + pass}
		}
	case cancelled:
		tc.ctx = cancelledCtx()
	case badMessage:
		m.To = nil
	case lostAfterData:
		b.DropAfterData = true
	default:
		return transportCase{}
	}
	var cfg SMTPConfig
	if variant == smtpPlain {
		cfg = startServer(t, b)
	} else {
		cfg = tlsServer(t, b)
	}
	switch c {
	case unreachable, timeout:
		addr := closedAddr(t)
		if c == timeout {
			addr = silentListener(t)
		}
		host, port, _ := net.SplitHostPort(addr)
		cfg.Host = host
		fmt.Sscan(port, &cfg.Port)
		cfg.Timeout = 300 * time.Millisecond
	}
	cfg.Username, cfg.Password = "agency", password
	if variant == smtpXOAuth2 {
		// The token from a file, as an external tool keeps it fresh.
		file := filepath.Join(t.TempDir(), "oauth-token")
		if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.Username, cfg.Password, cfg.Auth, cfg.OAuthTokenFile = "agency@northwind.example", "", SMTPAuthXOAuth2, file
	}
	tc.s = NewSMTP(cfg)
	return tc
}

func slackCase(t *testing.T, c condition, webhook bool) transportCase {
	m := &Message{Key: "statement/acme/2026-03", Channel: ChannelSlack, Text: "Acme: 32.5 h of 40 h used"}
	tc := transportCase{m: m}
	var status int
	var body string
	header := map[string]string{}
	switch c {
	case accepted, unreachable, timeout:
	case busy:
		status = http.StatusServiceUnavailable
	case rateLimited:
		status, header["Retry-After"] = http.StatusTooManyRequests, "3"
	case refused:
		status, body = http.StatusNotFound, "no_service"
		if !webhook {
			status, body = 0, `{"ok":false,"error":"channel_not_found"}`
		}
	case badCredentials:
		status, body = http.StatusForbidden, "invalid_token for "+tpHookPath
		if !webhook {
			status, body = 0, `{"ok":false,"error":"invalid_auth","warning":"`+tpToken+`"}`
		}
	case cancelled:
		tc.ctx = cancelledCtx()
	case badMessage:
		m.Text = " "
	default:
		return transportCase{}
	}
	if body == "" {
		body = "ok"
		if !webhook {
			body = `{"ok":true,"channel":"C1","ts":"1700000000.000100"}`
		}
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for k, v := range header {
			w.Header().Set(k, v)
		}
		if strings.HasPrefix(body, "{") {
			w.Header().Set("Content-Type", "application/json")
		}
		if status != 0 {
			w.WriteHeader(status)
		}
		_, _ = io.WriteString(w, body)
	})
	mux := http.NewServeMux()
	mux.Handle(tpHookPath, handler)
	mux.Handle("/chat.postMessage", handler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base := srv.URL
	switch c {
	case unreachable:
		base = "http://" + closedAddr(t)
	case timeout:
		base = "http://" + silentListener(t)
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	if c == timeout {
		hc.Timeout = 300 * time.Millisecond
	}
	cfg := SlackConfig{HTTP: hc}
	if webhook {
		cfg.WebhookURL = base + tpHookPath
		tc.secrets = []string{cfg.WebhookURL, tpHookPath, "HooKtRaNsPoRt"}
	} else {
		cfg.Token, cfg.Channel, cfg.APIURL = tpToken, "#ops", base+"/"
		tc.secrets = []string{tpToken}
	}
	tc.s = NewSlack(cfg)
	return tc
}

func fileCase(t *testing.T, c condition) transportCase {
	dir := t.TempDir()
	m := testMessage("statement/acme/2026-03")
	switch c {
	case accepted:
	case unreachable:
		// The directory cannot be made: a file is in its way.
		blocker := filepath.Join(dir, "blocker")
		if err := os.WriteFile(blocker, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(blocker, "out")
	case badMessage:
		m.Channel = "fax"
	default:
		return transportCase{}
	}
	return transportCase{s: NewFileSender(dir, "billing@agency.example"), m: m}
}
