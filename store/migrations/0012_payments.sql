-- The Stripe step of each statement (SPEC §14): its Stripe invoice is
-- created, filled and finalized while the statement is pending, retried
-- with backoff while Stripe is unavailable. status: pending (to do, or
-- retried at next_attempt_at), open (finalized: hosted_url is the payment
-- link), failed (Stripe refused it for good: last_error says why), skipped
-- (nothing to bill: no contact, nothing owed). stripe_id is kept as soon as
-- Stripe created the invoice, so that a later attempt finishes it.
CREATE TABLE stripe_invoices (
    invoice_number  TEXT    PRIMARY KEY,
    status          TEXT    NOT NULL,
    stripe_id       TEXT    NOT NULL DEFAULT '',
    hosted_url      TEXT    NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX stripe_invoices_due ON stripe_invoices (status, next_attempt_at);
-- The pending statements, which the payments job and the dispatcher's hold
-- of statement emails look up every few seconds.
CREATE INDEX statements_pending ON statements (invoice_number) WHERE status = 'pending';
-- Stripe webhook events already applied, by their id: a replay of one
-- changes nothing, even after the payment it recorded was undone.
CREATE TABLE stripe_events (
    event_id       TEXT   PRIMARY KEY,
    type           TEXT   NOT NULL,
    invoice_number TEXT   NOT NULL,
    received_at    BIGINT NOT NULL
);
