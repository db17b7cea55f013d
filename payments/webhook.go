package payments

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"
)

// Tolerance is how far a webhook's signed timestamp may be from now: a
// request replayed later than this is refused (stripe-go's default).
const Tolerance = webhook.DefaultTolerance

// Reasons to refuse a webhook request (each answered 400; nothing changes).
var (
	// ErrSignature: no Stripe-Signature header, an unreadable one, or no
	// signature in it made with the secret over this body.
	ErrSignature = errors.New("webhook signature does not verify")
	// ErrTimestamp: signed too long ago (a replay), or too far ahead.
	ErrTimestamp = errors.New("webhook timestamp outside the tolerance")
	// ErrAPIVersion: an event of an API version whose objects the pinned
	// stripe-go does not read (another release train than its own).
	ErrAPIVersion = errors.New("webhook event of another Stripe API version")
	// ErrPayload: signed, but not an event retainer can read.
	ErrPayload = errors.New("webhook payload unreadable")
)

// Event is a verified webhook event.
type Event struct {
	ID   string // evt_…: the same on every delivery of the event
	Type string // invoice.paid, …
	// For an invoice event: retainer's invoice number
	// (metadata.retainer_invoice; "" for an invoice retainer did not
	// create), the Stripe invoice's id, and when it was paid
	// (status_transitions.paid_at, or the event's creation when Stripe
	// gives none).
	Invoice       string
	StripeInvoice string
	PaidAt        time.Time
}

// EventInvoicePaid is the event that marks a statement paid.
const EventInvoicePaid = string(stripe.EventTypeInvoicePaid)

// ParseEvent verifies a webhook request as Stripe signs it — the header
// "t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>" —
// and reads the event. The signature and the API version are checked by
// stripe-go's webhook.ConstructEventWithOptions (the version check accepts
// the events of the pinned stripe-go's release train, as ConstructEvent
// does); the timestamp's tolerance is checked here against now, the
// server's clock, instead of stripe-go's reading of the real clock.
func ParseEvent(payload []byte, header, secret string, now time.Time) (Event, error) {
	if secret == "" {
		return Event{}, fmt.Errorf("%w: no webhook secret configured", ErrSignature)
	}
	// Signature first, the version left for later: a forged request must
	// not learn which versions are read.
	ev, err := webhook.ConstructEventWithOptions(payload, header, secret,
		webhook.ConstructEventOptions{IgnoreTolerance: true, IgnoreAPIVersionMismatch: true})
	switch {
	case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader), errors.Is(err, webhook.ErrNoValidSignature):
		return Event{}, fmt.Errorf("%w: %w", ErrSignature, err)
	case err != nil:
		return Event{}, fmt.Errorf("%w: %w", ErrPayload, err)
	}
	signed, err := signedAt(header)
	if err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	if d := now.Sub(signed); d > Tolerance || d < -Tolerance {
		return Event{}, fmt.Errorf("%w: signed at %s, %s from now (at most %s)", ErrTimestamp, signed.UTC().Format(time.RFC3339), d.Round(time.Second), Tolerance)
	}
	if _, err := webhook.ConstructEventWithOptions(payload, header, secret, webhook.ConstructEventOptions{IgnoreTolerance: true}); err != nil {
		return Event{}, fmt.Errorf("%w: %s (stripe-go %s reads %s)", ErrAPIVersion, ev.APIVersion, stripe.ClientVersion, stripe.APIVersion)
	}
	out := Event{ID: ev.ID, Type: string(ev.Type)}
	if out.ID == "" || out.Type == "" {
		return Event{}, fmt.Errorf("%w: no id or type", ErrPayload)
	}
	if !strings.HasPrefix(out.Type, "invoice.") {
		return out, nil
	}
	var inv stripe.Invoice
	if ev.Data == nil || json.Unmarshal(ev.Data.Raw, &inv) != nil {
		return Event{}, fmt.Errorf("%w: %s without an invoice", ErrPayload, out.Type)
	}
	out.Invoice, out.StripeInvoice = inv.Metadata[MetaInvoice], inv.ID
	out.PaidAt = time.Unix(ev.Created, 0)
	if inv.StatusTransitions != nil && inv.StatusTransitions.PaidAt > 0 {
		out.PaidAt = time.Unix(inv.StatusTransitions.PaidAt, 0)
	}
	return out, nil
}

// signedAt reads the t= of a Stripe-Signature header that stripe-go
// verified.
func signedAt(header string) (time.Time, error) {
	for _, part := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return time.Time{}, errors.New("unreadable timestamp")
			}
			return time.Unix(n, 0), nil
		}
	}
	return time.Time{}, errors.New("no timestamp")
}
