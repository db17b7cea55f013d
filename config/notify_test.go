package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const smtpHost = minimal + `
notify:
  email:
    host: smtp.example.com
    from: billing@northwind.example
`

// TestEmailTLSAndAuth: tls implicit (port 465 unless one is given),
// auth xoauth2 with its token from the environment or a file, and the
// default auth unchanged.
func TestEmailTLSAndAuth(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "secrets/oauth", "ya29.file-token-hunter5\n")

	cfg := mustLoad(t, smtpHost)
	if e := cfg.Notify.Email; e.TLS != "mandatory" || e.Port != 587 || e.Auth != AuthPlain {
		t.Errorf("defaults: tls %q port %d auth %q", e.TLS, e.Port, e.Auth)
	}
	cfg = mustLoad(t, smtpHost+"    tls: implicit\n")
	if e := cfg.Notify.Email; e.TLS != "implicit" || e.Port != DefaultSMTPSPort {
		t.Errorf("implicit: tls %q port %d, want 465", e.TLS, e.Port)
	}
	cfg = mustLoad(t, smtpHost+"    tls: Implicit\n    port: 2465\n")
	if e := cfg.Notify.Email; e.TLS != "implicit" || e.Port != 2465 {
		t.Errorf("implicit with a port: tls %q port %d", e.TLS, e.Port)
	}
	cfg = mustLoad(t, smtpHost, "RETAINER_NOTIFY__EMAIL__TLS=implicit", "RETAINER_NOTIFY__EMAIL__PORT=587")
	if e := cfg.Notify.Email; e.TLS != "implicit" || e.Port != 587 {
		t.Errorf("from the environment: tls %q port %d", e.TLS, e.Port)
	}

	cfg = mustLoad(t, smtpHost+"    username: billing@northwind.example\n    auth: xoauth2\n",
		"RETAINER_NOTIFY__EMAIL__OAUTH_TOKEN=ya29.env-token-hunter6")
	if e := cfg.Notify.Email; e.Auth != AuthXOAuth2 || e.OAuthToken.Reveal() != "ya29.env-token-hunter6" || e.OAuthTokenFile != "" {
		t.Errorf("xoauth2 from the environment: %+v", e)
	}
	tokenHidden(t, cfg, "hunter6")

	cfg, err := Load(write(t, dir, "retainer.yaml", smtpHost+"    username: billing@northwind.example\n    auth: xoauth2\n    oauth_token_file: secrets/oauth\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := cfg.Notify.Email; e.OAuthTokenFile != filepath.Join(dir, "secrets", "oauth") {
		t.Errorf("token file %q", e.OAuthTokenFile)
	}
	tokenHidden(t, cfg, "hunter5")
}

// tokenHidden fails when the config, printed or serialised, shows secret.
func tokenHidden(t *testing.T, c *Config, secret string) {
	t.Helper()
	js, _ := json.Marshal(c)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", c, "email", c.Notify.Email)
	for name, out := range map[string]string{"json": string(js), "%+v": fmt.Sprintf("%+v", *c), "%#v": fmt.Sprintf("%#v", c.Notify.Email), "slog": logged.String()} {
		if strings.Contains(out, secret) {
			t.Errorf("%s shows the token", name)
		}
	}
}

// TestEmailTLSAndAuthProblems: check names each problem's path, and never
// the token.
func TestEmailTLSAndAuthProblems(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "secrets/empty", "\n")
	for _, tc := range []struct {
		name string
		yaml string
		env  []string
		want []string
	}{
		{"unknown tls", "    tls: ssl\n", nil, []string{"notify.email.tls"}},
		{"unknown auth", "    auth: cram-md5\n", nil, []string{"notify.email.auth"}},
		{"xoauth2 without username or token", "    auth: xoauth2\n", nil, []string{"notify.email.oauth_token", "notify.email.username"}},
		{"token in the file", "    username: u@x.example\n    auth: xoauth2\n    oauth_token: ya29.in-yaml-hunter7\n", nil, []string{"notify.email.oauth_token"}},
		{"token file missing", "    username: u@x.example\n    auth: xoauth2\n    oauth_token_file: secrets/missing\n", nil, []string{"notify.email.oauth_token_file"}},
		{"token file empty", "    username: u@x.example\n    auth: xoauth2\n    oauth_token_file: secrets/empty\n", nil, []string{"notify.email.oauth_token_file"}},
		{"token twice", "    username: u@x.example\n    auth: xoauth2\n    oauth_token_file: secrets/empty\n",
			[]string{"RETAINER_NOTIFY__EMAIL__OAUTH_TOKEN=ya29.env-hunter8"}, []string{"notify.email.oauth_token_file"}},
		{"token without xoauth2", "    username: u@x.example\n", []string{"RETAINER_NOTIFY__EMAIL__OAUTH_TOKEN=ya29.env-hunter9"}, []string{"notify.email.auth"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(write(t, dir, "bad.yaml", smtpHost+tc.yaml), tc.env)
			if got := paths(t, err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("paths %q, want %q\n%v", got, tc.want, err)
			}
			for _, s := range []string{"hunter7", "hunter8", "hunter9"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error carries the token: %v", err)
				}
			}
		})
	}
}

func TestSlackAPIURL(t *testing.T) {
	if got := mustLoad(t, minimal).Notify.Slack.APIURL; got != "https://slack.com/api/" {
		t.Errorf("default api_url %q", got)
	}
	cfg := mustLoad(t, minimal+"notify:\n  slack:\n    api_url: http://127.0.0.1:9999/api\n")
	if got := cfg.Notify.Slack.APIURL; got != "http://127.0.0.1:9999/api/" {
		t.Errorf("api_url %q, want it with one trailing slash", got)
	}
	cfg = mustLoad(t, minimal, "RETAINER_NOTIFY__SLACK__API_URL=https://slack.example/api/")
	if got := cfg.Notify.Slack.APIURL; got != "https://slack.example/api/" {
		t.Errorf("api_url from the environment %q", got)
	}
	_, err := load(t, minimal+"notify:\n  slack:\n    api_url: ftp://slack.example/\n")
	if got := paths(t, err); !reflect.DeepEqual(got, []string{"notify.slack.api_url"}) {
		t.Errorf("paths %q", got)
	}
}
