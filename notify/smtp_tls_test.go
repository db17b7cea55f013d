package notify

import (
	"bytes"
	"context"
	"errors"
	"mime"
	netmail "net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"retainer/notify/notifytest"
)

// received parses the one message b received with a MIME parser and
// returns its Subject and text/plain body.
func received(t *testing.T, b *testBackend) (notifytest.Received, string, string) {
	t.Helper()
	_, msgs := b.Snapshot()
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	pm, err := netmail.ReadMessage(bytes.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	var leaves []leaf
	walk(t, pm.Header.Get("Content-Type"), pm.Header.Get("Content-Transfer-Encoding"), pm.Header, pm.Body, &types, &leaves)
	for _, l := range leaves {
		if l.ContentType == "text/plain" {
			return msgs[0], subject, string(l.Body)
		}
	}
	t.Fatalf("no text/plain part among %v", types)
	return notifytest.Received{}, "", ""
}

// tlsServer starts b on implicit TLS with a certificate made for the test,
// and returns a config that trusts it (RootCAs: never an insecure skip).
func tlsServer(t *testing.T, b *testBackend) SMTPConfig {
	t.Helper()
	serverTLS, roots, _ := notifytest.SelfSigned(t)
	b.TLS = serverTLS
	cfg := startServer(t, b)
	cfg.TLS, cfg.RootCAs = SMTPTLSImplicit, roots
	return cfg
}

// TestSMTPImplicitTLS: tls: implicit speaks TLS from the first byte, as a
// port-465 server (go-smtp behind a TLS listener) expects; authenticates
// over it; and the server gets the whole message.
func TestSMTPImplicitTLS(t *testing.T) {
	b := &testBackend{User: "agency", Pass: "s3cr3t-Pa55"}
	cfg := tlsServer(t, b)
	cfg.Username, cfg.Password = "agency", "s3cr3t-Pa55"
	m := testMessage("statement/acme-001/2026-10")
	if err := NewSMTP(cfg).Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got, subject, body := received(t, b)
	if !got.TLS || got.AuthMech != "PLAIN" || got.AuthUser != "agency" {
		t.Errorf("session TLS %v, auth %s %s: want TLS and PLAIN as agency", got.TLS, got.AuthMech, got.AuthUser)
	}
	if subject != m.Subject || strings.TrimRight(body, "\r\n") != strings.TrimRight(m.Text, "\n") {
		t.Errorf("received %q / %q", subject, body)
	}

	// Not trusted (the system's roots do not know the test's certificate):
	// refused at the handshake, nothing sent, a temporary error.
	b2 := &testBackend{}
	cfg2 := tlsServer(t, b2)
	cfg2.RootCAs = nil
	err := NewSMTP(cfg2).Send(context.Background(), testMessage("k/untrusted"))
	if class, _ := Classify(err); err == nil || class != Temporary || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v (%s), want a temporary certificate error", err, class)
	}
	if _, msgs := b2.Snapshot(); len(msgs) != 0 {
		t.Errorf("%d messages reached an untrusted server", len(msgs))
	}

	// STARTTLS against an implicit-TLS port is what used to time out: the
	// server waits for a TLS hello that never comes.
	cfg3 := tlsServer(t, &testBackend{})
	cfg3.TLS, cfg3.Timeout = SMTPTLSMandatory, 300*time.Millisecond
	if err := NewSMTP(cfg3).Send(context.Background(), testMessage("k/starttls")); err == nil {
		t.Error("STARTTLS to an implicit-TLS server succeeded")
	}
}

func TestSMTPDefaultPorts(t *testing.T) {
	for tls, want := range map[string]int{"": 587, SMTPTLSMandatory: 587, SMTPTLSOpportunistic: 587, SMTPTLSImplicit: 465, SMTPTLSNone: 25} {
		if got := NewSMTP(SMTPConfig{Host: "mail.example", TLS: tls}).port(); got != want {
			t.Errorf("tls %q: port %d, want %d", tls, got, want)
		}
	}
	if got := NewSMTP(SMTPConfig{Host: "mail.example", TLS: SMTPTLSImplicit, Port: 2465}).port(); got != 2465 {
		t.Errorf("a given port: %d", got)
	}
}

// TestSMTPXOAuth2: a server that takes XOAUTH2 alone (as Microsoft 365
// will once basic authentication is off) gets the username and the access
// token, read from the token file at every connection — a token refreshed
// on disk is used without a reload; the password (PLAIN) is refused before
// it is sent; a wrong or expired token is a permanent failure that never
// names it.
func TestSMTPXOAuth2(t *testing.T) {
	const (
		user   = "billing@northwind.example"
		token1 = "ya29.a0-FIRST-access-token"
		token2 = "ya29.a0-SECOND-access-token"
	)
	b := &testBackend{User: user, OAuthToken: token1}
	cfg := tlsServer(t, b)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token1+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Username, cfg.Auth, cfg.OAuthTokenFile = user, SMTPAuthXOAuth2, tokenFile
	s := NewSMTP(cfg)
	if err := s.Send(context.Background(), testMessage("statement/acme-001/2026-10")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got, subject, _ := received(t, b)
	if got.AuthMech != "XOAUTH2" || got.AuthUser != user || !got.TLS {
		t.Errorf("auth %s %s TLS %v, want XOAUTH2 as %s over TLS", got.AuthMech, got.AuthUser, got.TLS, user)
	}
	if subject != "Statement acme-001-2026-10" {
		t.Errorf("subject %q", subject)
	}

	// The token expires: the server takes only the new one, which another
	// tool writes to the file. The same transport picks it up.
	b.SetOAuthToken(token2)
	err := s.Send(context.Background(), testMessage("k/expired"))
	if class, _ := Classify(err); err == nil || class != Permanent || !strings.Contains(err.Error(), "535") {
		t.Errorf("expired token: %v (%s), want a permanent 535", err, class)
	}
	if err := os.WriteFile(tokenFile, []byte(token2), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), testMessage("k/refreshed")); err != nil {
		t.Errorf("Send with the refreshed token: %v", err)
	}

	// Basic authentication, refused: PLAIN is not offered.
	plain := cfg
	plain.Auth, plain.OAuthTokenFile, plain.Password = SMTPAuthPlain, "", "hunter2-basic"
	err = NewSMTP(plain).Send(context.Background(), testMessage("k/plain"))
	if class, _ := Classify(err); err == nil || class != Permanent || !strings.Contains(err.Error(), "PLAIN") {
		t.Errorf("PLAIN against XOAUTH2 only: %v (%s), want permanent, naming PLAIN", err, class)
	}

	// The token file gone: temporary (its tool may be rewriting it),
	// naming the file, nothing sent.
	gone := cfg
	gone.OAuthTokenFile = filepath.Join(t.TempDir(), "missing")
	err = NewSMTP(gone).Send(context.Background(), testMessage("k/gone"))
	if class, _ := Classify(err); err == nil || class != Temporary || !strings.Contains(err.Error(), gone.OAuthTokenFile) {
		t.Errorf("missing token file: %v (%s)", err, class)
	}

	if _, msgs := b.Snapshot(); len(msgs) != 2 {
		t.Errorf("%d messages received, want 2", len(msgs))
	}
	for _, a := range b.Auths() {
		if strings.HasPrefix(a, "PLAIN") {
			t.Errorf("a PLAIN attempt reached the server: %q", a)
		}
	}
}

// The token from the environment (OAuthToken), echoed back by a server that
// refuses it, is redacted from the error.
func TestSMTPXOAuth2ErrorNeverCarriesToken(t *testing.T) {
	const token = "ya29.ENV-token-hunter2"
	b := &testBackend{User: "agency", OAuthToken: "ya29.other", AuthReply: func(tok string) error {
		return errors.New("bad token " + tok)
	}}
	cfg := tlsServer(t, b)
	cfg.Username, cfg.Auth, cfg.OAuthToken = "agency", SMTPAuthXOAuth2, token
	err := NewSMTP(cfg).Send(context.Background(), testMessage("k/echo"))
	if err == nil {
		t.Fatal("Send succeeded with a wrong token")
	}
	for e := error(err); e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), token) {
			t.Fatalf("error chain carries the token: %q", e)
		}
	}
	t.Logf("echoed token: %v", err)
}

// TestSMTPImplicitTLSTrustsSSLCertFile: with no RootCAs — as the daemon
// runs — the certificate is verified against the system's roots, which
// SSL_CERT_FILE replaces. Go loads those roots once per process, so the
// check runs in a child process of this test binary with SSL_CERT_FILE
// naming the test's certificate.
func TestSMTPImplicitTLSTrustsSSLCertFile(t *testing.T) {
	if os.Getenv("RETAINER_TEST_SSL_CERT_CHILD") == "" {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestSMTPImplicitTLSTrustsSSLCertFile$", "-test.v")
		cmd.Env = append(os.Environ(), "RETAINER_TEST_SSL_CERT_CHILD="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	dir := os.Getenv("RETAINER_TEST_SSL_CERT_CHILD")
	serverTLS, _, certPEM := notifytest.SelfSigned(t)
	file := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(file, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", file)
	t.Setenv("SSL_CERT_DIR", dir)
	b := &testBackend{TLS: serverTLS}
	cfg := startServer(t, b)
	cfg.TLS = SMTPTLSImplicit
	if err := NewSMTP(cfg).Send(context.Background(), testMessage("k/ssl-cert-file")); err != nil {
		t.Fatalf("Send trusting SSL_CERT_FILE: %v", err)
	}
	if got, _, _ := received(t, b); !got.TLS {
		t.Error("the session was not TLS")
	}
}
