package web

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"retainer/billing"
	"retainer/payments"
	"retainer/store"
)

// Stripe's webhook (SPEC §14): POST /webhooks/stripe, registered in the
// Stripe dashboard for the invoice.paid event. A verified invoice.paid of an
// invoice retainer created (metadata.retainer_invoice) marks its statement
// paid through the same store path as `retainer invoice paid`, dated the
// payment's day in the agency timezone. A request that does not verify is
// 400 and changes nothing; an event already applied changes nothing (its id
// is kept), and neither does any other event: both are 200, so that Stripe
// stops sending them. A failure of the store is 500: Stripe sends the event
// again later.

// webhookRoutes registers the webhook endpoints.
func (s *Server) webhookRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /webhooks/stripe", s.stripeWebhook)
}

func (s *Server) stripeWebhook(w http.ResponseWriter, r *http.Request) {
	env := s.Env()
	secret := env.Config.Payments.Stripe.WebhookSecret
	if secret == "" {
		s.Metrics.Request("webhook", "not_found")
		http.NotFound(w, r)
		return
	}
	// The body is bounded by the security middleware (maxBody).
	body, err := io.ReadAll(r.Body)
	if err != nil {
		status := http.StatusBadRequest
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		s.Metrics.Request("webhook", "bad_request")
		http.Error(w, http.StatusText(status), status)
		return
	}
	now := s.Now()
	ev, err := payments.ParseEvent(body, r.Header.Get("Stripe-Signature"), secret.Reveal(), now)
	if err != nil {
		// Never says which check failed: the log does.
		s.log().Warn("stripe webhook refused", "err", err)
		s.Metrics.Request("webhook", "bad_request")
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	log := s.log().With("event", ev.ID, "type", ev.Type)
	if ev.Type != payments.EventInvoicePaid {
		log.Debug("stripe webhook: event ignored")
		s.webhookOK(w)
		return
	}
	ctx := r.Context()
	switch seen, err := env.DB.StripeEventSeen(ctx, ev.ID); {
	case err != nil:
		s.webhookError(w, log, err)
		return
	case seen:
		log.Info("stripe webhook: event already applied")
		s.webhookOK(w)
		return
	}
	if ev.Invoice == "" {
		log.Info("stripe webhook: invoice not created by retainer (no metadata.retainer_invoice)", "stripe_invoice", ev.StripeInvoice)
		s.webhookOK(w)
		return
	}
	log = log.With("key", ev.Invoice)
	st, err := env.DB.StatementByInvoice(ctx, ev.Invoice)
	switch {
	case errors.Is(err, store.ErrNotFound):
		log.Warn("stripe webhook: no statement has this invoice number")
		s.webhookOK(w)
		return
	case err != nil:
		s.webhookError(w, log, err)
		return
	}
	// Paid on Stripe's day of payment in the agency timezone; a payment
	// Stripe dates before the issue day (clocks apart) is dated that day.
	day := max(billing.DateAt(ev.PaidAt, env.Config.Location), st.IssuedOn)
	paid, err := env.DB.MarkPaid(ctx, ev.Invoice, day)
	switch {
	case errors.Is(err, store.ErrNotApproved):
		log.Warn("stripe webhook: the statement is a draft under review; not marked paid")
	case err != nil:
		s.webhookError(w, log, err)
		return
	default:
		log.Info("stripe webhook: invoice paid", "paid_on", paid.PaidOn.String())
	}
	// Kept after the payment: a crash between the two leaves the event to
	// be applied again, which changes nothing on a paid invoice.
	if err := env.DB.RecordStripeEvent(ctx, ev.ID, ev.Type, ev.Invoice, now); err != nil {
		s.webhookError(w, log, err)
		return
	}
	s.webhookOK(w)
}

func (s *Server) webhookOK(w http.ResponseWriter) {
	s.Metrics.Request("webhook", "ok")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// webhookError answers 500 (Stripe retries) and logs why.
func (s *Server) webhookError(w http.ResponseWriter, log *slog.Logger, err error) {
	log.Error("stripe webhook: not applied; Stripe will send it again", "err", err)
	s.Metrics.Request("webhook", "error")
	http.Error(w, "internal error", http.StatusInternalServerError)
}
