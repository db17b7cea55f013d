package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckSMTPAuthAndTLS: `retainer check` validates notify.email.tls
// and notify.email.auth (xoauth2 needs the mailbox and a token), naming
// each path and exiting 2, and never prints the token.
func TestCheckSMTPAuthAndTLS(t *testing.T) {
	e := newEnv(t)
	const token = "ya29.check-token-hunter2"
	smtp := []string{"RETAINER_NOTIFY__EMAIL__HOST=smtp.office365.example", "RETAINER_NOTIFY__EMAIL__FROM=billing@northwind.example"}

	e.extra = append(smtp, "RETAINER_NOTIFY__EMAIL__TLS=starttls", "RETAINER_NOTIFY__EMAIL__AUTH=xoauth2")
	code, _, stderr := e.run("check")
	if code != exitUsage {
		t.Fatalf("exit %d, want 2\n%s", code, stderr)
	}
	for _, want := range []string{"notify.email.tls", "implicit", "notify.email.username", "notify.email.oauth_token", "RETAINER_NOTIFY__EMAIL__OAUTH_TOKEN"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}

	// The token given twice, in a file and the environment: exit 2, and
	// the token is never printed.
	file := filepath.Join(e.dir, "oauth-token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.extra = append(smtp, "RETAINER_NOTIFY__EMAIL__TLS=implicit", "RETAINER_NOTIFY__EMAIL__AUTH=xoauth2",
		"RETAINER_NOTIFY__EMAIL__USERNAME=billing@northwind.example", "RETAINER_NOTIFY__EMAIL__OAUTH_TOKEN_FILE="+file,
		"RETAINER_NOTIFY__EMAIL__OAUTH_TOKEN="+token)
	code, stdout, stderr := e.run("check")
	if code != exitUsage || !strings.Contains(stderr, "notify.email.oauth_token_file") {
		t.Errorf("token twice: exit %d\n%s", code, stderr)
	}
	if strings.Contains(stdout+stderr, "hunter2") {
		t.Errorf("check printed the token:\n%s%s", stdout, stderr)
	}

	// Implicit TLS and XOAUTH2 from a file: valid.
	e.extra = e.extra[:len(e.extra)-1]
	if code, stdout, stderr := e.run("check"); code != exitOK || strings.Contains(stdout+stderr, "hunter2") {
		t.Errorf("valid: exit %d\n%s%s", code, stdout, stderr)
	}
}
