package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
)

const (
	stripeKeyValue     = "sk_test_hunter5_0123456789"
	stripeWebhookValue = "whsec_hunter6_0123456789"
)

// Stripe is off until a secret key is set; its keys come from the
// environment or from files, are never printed, and are checked for the
// kind of key they must be.
func TestStripeKeys(t *testing.T) {
	cfg := mustLoad(t, minimal)
	if cfg.Payments.Stripe.Enabled() || cfg.Payments.Stripe.APIBase != DefaultStripeAPIBase || cfg.Schedule.Payments != "@every 2s" {
		t.Fatalf("defaults: %+v, schedule %q", cfg.Payments.Stripe, cfg.Schedule.Payments)
	}

	cfg = mustLoad(t, minimal+"payments:\n  stripe:\n    api_base: http://127.0.0.1:12111/\n",
		"RETAINER_PAYMENTS__STRIPE__SECRET_KEY="+stripeKeyValue, "RETAINER_PAYMENTS__STRIPE__WEBHOOK_SECRET="+stripeWebhookValue)
	s := cfg.Payments.Stripe
	if !s.Enabled() || s.SecretKey.Reveal() != stripeKeyValue || s.WebhookSecret.Reveal() != stripeWebhookValue || s.APIBase != "http://127.0.0.1:12111" {
		t.Fatalf("from the environment: %+v", s)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg, "stripe", cfg.Payments.Stripe)
	js, _ := json.Marshal(cfg)
	for _, out := range []string{string(js), logged.String(), fmt.Sprintf("%+v %#v", *cfg, cfg.Payments)} {
		if strings.Contains(out, "hunter5") || strings.Contains(out, "hunter6") {
			t.Errorf("a Stripe secret is printed:\n%s", out)
		}
	}

	dir := t.TempDir()
	write(t, dir, "secrets/stripe", "rk_live_restricted0123\n")
	write(t, dir, "secrets/whsec", stripeWebhookValue+"\n")
	cfg, err := Load(write(t, dir, "retainer.yaml", minimal+`
payments:
  stripe:
    secret_key_file: secrets/stripe
    webhook_secret_file: secrets/whsec
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Payments.Stripe; s.SecretKey.Reveal() != "rk_live_restricted0123" || s.WebhookSecret.Reveal() != stripeWebhookValue {
		t.Fatalf("from files: %+v", s)
	}

	// A key without a webhook secret works, with a warning.
	cfg = mustLoad(t, minimal, "RETAINER_PAYMENTS__STRIPE__SECRET_KEY="+stripeKeyValue)
	var warned bool
	for _, w := range cfg.Warnings() {
		warned = warned || strings.HasPrefix(w, "payments.stripe.webhook_secret: not set")
	}
	if !warned {
		t.Errorf("no warning of the missing webhook secret: %q", cfg.Warnings())
	}
}

func TestStripeKeyProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		env  []string
		want []string
	}{
		{"a key in the file", minimal + "payments:\n  stripe:\n    secret_key: " + stripeKeyValue + "\n", nil,
			[]string{"payments.stripe.secret_key"}},
		{"a publishable key, a signing secret of another kind", minimal,
			[]string{"RETAINER_PAYMENTS__STRIPE__SECRET_KEY=pk_live_hunter5", "RETAINER_PAYMENTS__STRIPE__WEBHOOK_SECRET=hunter6"},
			[]string{"payments.stripe.secret_key", "payments.stripe.webhook_secret"}},
		{"a webhook secret without a key", minimal, []string{"RETAINER_PAYMENTS__STRIPE__WEBHOOK_SECRET=" + stripeWebhookValue},
			[]string{"payments.stripe.secret_key"}},
		{"both the variable and the file", minimal + "payments:\n  stripe:\n    secret_key_file: nowhere\n",
			[]string{"RETAINER_PAYMENTS__STRIPE__SECRET_KEY=" + stripeKeyValue}, []string{"payments.stripe.secret_key_file"}},
		{"not a URL", minimal + "payments:\n  stripe:\n    api_base: api.stripe.com\n", nil, []string{"payments.stripe.api_base"}},
		{"an unknown key", minimal + "payments:\n  stripe:\n    publishable_key: pk_test_1\n", nil, []string{"payments.stripe.publishable_key"}},
		{"the payments job disabled", minimal + "schedule:\n  payments: \"\"\n", []string{"RETAINER_PAYMENTS__STRIPE__SECRET_KEY=" + stripeKeyValue},
			[]string{"schedule.payments"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.yaml, tc.env...)
			if got := paths(t, err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("paths %q, want %q\n%v", got, tc.want, err)
			}
			for _, s := range []string{"hunter5", "hunter6"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the error quotes a secret: %v", err)
				}
			}
		})
	}
}
