package jobs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/report"
	"retainer/store/storetest"
)

// TestNewEnvTemplates: without templates_dir the Env's templates are the
// embedded set, parsed at their first use, and serve what the parsed set
// does; an override is read and checked when the Env is built, a broken one
// refusing the config.
func TestNewEnvTemplates(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	good, broken := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(good, "renewal.txt.tmpl"), []byte("Subject: overridden\n\nbody\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "renewal.txt.tmpl"), []byte("Subject: {{ .Nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	embedded, err := report.ParseTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	if len(embedded.CSS()) == 0 {
		t.Fatal("the embedded set has no stylesheet")
	}
	for _, tc := range []struct {
		name        string
		dir         string
		nilTemplate bool
		invalid     bool
	}{
		{"embedded", "", true, false},
		{"override", good, false, false},
		{"broken override", broken, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{Location: time.UTC, Currency: "USD", Schedule: config.DefaultSchedule(), TemplatesDir: tc.dir,
				Notify:    config.Notify{File: config.FileTransport{Dir: t.TempDir()}},
				Contracts: []*billing.Contract{{ID: "acme", Client: "Acme", Unit: billing.UnitHours}}}
			env, err := NewEnv(ctx, cfg, storetest.Open(t), now)
			if tc.invalid {
				if !errors.Is(err, config.ErrInvalid) {
					t.Fatalf("NewEnv = %v, want an invalid config", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (env.Templates == nil) != tc.nilTemplate {
				t.Fatalf("Templates nil = %t, want %t", env.Templates == nil, tc.nilTemplate)
			}
			if !bytes.Equal(env.Templates.CSS(), embedded.CSS()) {
				t.Error("the Env's stylesheet is not the embedded one")
			}
			var renewal bytes.Buffer
			if err := env.Templates.Execute(&renewal, "renewal.txt.tmpl", nil); tc.dir == good && (err != nil || renewal.String() != "Subject: overridden\n\nbody\n") {
				t.Errorf("the override renders %q, %v", renewal.String(), err)
			}
		})
	}
}
