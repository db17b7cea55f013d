package config

import (
	"fmt"
	"strings"
)

// Payments configures how clients pay their invoices online (SPEC §14).
type Payments struct {
	Stripe Stripe `koanf:"stripe"`
}

// Stripe is the Stripe account the invoices are created in; an empty
// SecretKey means Stripe is not used and statement emails carry no
// payment link.
type Stripe struct {
	// SecretKey is the account's secret (sk_…) or restricted (rk_…) API
	// key, from RETAINER_PAYMENTS__STRIPE__SECRET_KEY or secret_key_file.
	SecretKey     Secret `koanf:"secret_key"`
	SecretKeyFile string `koanf:"secret_key_file"`
	// WebhookSecret is the signing secret (whsec_…) of the webhook
	// endpoint registered for /webhooks/stripe, from
	// RETAINER_PAYMENTS__STRIPE__WEBHOOK_SECRET or webhook_secret_file.
	WebhookSecret     Secret `koanf:"webhook_secret"`
	WebhookSecretFile string `koanf:"webhook_secret_file"`
	// APIBase is where API calls go, without a trailing slash; default
	// DefaultStripeAPIBase (overridable for tests: stripe-mock).
	APIBase string `koanf:"api_base"`
}

// Enabled reports whether statements get Stripe invoices.
func (s Stripe) Enabled() bool { return s.SecretKey != "" }

// DefaultStripeAPIBase is Stripe's API.
const DefaultStripeAPIBase = "https://api.stripe.com"

// payments reads the Stripe keys (never quoting them) and checks that they
// are the kinds of key Stripe issues for these uses: a publishable key
// (pk_…) cannot create invoices, and only a whsec_ secret signs webhooks.
func (l *loader) payments(p Payments, sched Schedule) Payments {
	s := &p.Stripe
	s.SecretKey = l.secret("payments.stripe.secret_key", s.SecretKey, &s.SecretKeyFile)
	s.WebhookSecret = l.secret("payments.stripe.webhook_secret", s.WebhookSecret, &s.WebhookSecretFile)
	s.APIBase = l.httpURL("payments.stripe.api_base", orDefault(s.APIBase, DefaultStripeAPIBase))
	if k := s.SecretKey.Reveal(); k != "" && !strings.HasPrefix(k, "sk_") && !strings.HasPrefix(k, "rk_") {
		l.invalid("payments.stripe.secret_key", "must be a secret key (sk_…) or a restricted key (rk_…) from the Stripe dashboard's API keys; the value is not shown")
	}
	if w := s.WebhookSecret.Reveal(); w != "" && !strings.HasPrefix(w, "whsec_") {
		l.invalid("payments.stripe.webhook_secret", "must be the webhook endpoint's signing secret (whsec_…); the value is not shown")
	}
	switch {
	case s.WebhookSecret != "" && s.SecretKey == "":
		l.invalid("payments.stripe.secret_key", fmt.Sprintf("required with payments.stripe.webhook_secret (%s or secret_key_file): "+
			"without it no Stripe invoice is created", envName("payments.stripe.secret_key")))
	case s.SecretKey != "" && s.WebhookSecret == "":
		l.warn("payments.stripe.webhook_secret", "not set: statements get Stripe invoices and payment links, "+
			"but a payment is not marked paid until `retainer invoice paid` (set it to receive the invoice.paid webhook at /webhooks/stripe)")
	}
	if s.Enabled() && sched.Payments == "" {
		// Statement emails wait for their payment link: without the job
		// that makes it, they would wait for ever.
		l.invalid("schedule.payments", "must not be empty with payments.stripe configured: statement emails wait for the Stripe invoice it creates")
	}
	return p
}
