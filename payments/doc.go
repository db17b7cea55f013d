// Package payments talks to Stripe (SPEC §14): it creates, fills and
// finalizes the Stripe invoice of a statement — the customer found by the
// client's email or created with it — and returns its hosted payment link;
// and it verifies and reads the webhook events Stripe signs when an invoice
// is paid.
//
// It keeps no state and knows nothing of the store: jobs hands it an
// Invoice and keeps what it returns (the Stripe invoice's id as soon as it
// exists, then the link); web hands it a webhook request's body. Every
// request that creates something carries an idempotency key derived from
// the invoice number, so a retry — after a timeout, a crash, or from a
// second replica — never creates a second invoice, item or customer; and an
// invoice whose id was lost is found again by its metadata.retainer_invoice.
package payments
