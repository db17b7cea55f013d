package jobs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"retainer/billing"
	"retainer/notify"
	"retainer/payments"
	"retainer/store"
)

// The payments job (SPEC §14): every pending statement gets its Stripe
// invoice, created, filled, finalized and linked. It runs every few
// seconds, before each catch-up's dispatch and right after a close, because
// with Stripe configured a statement's email waits in the outbox until its
// link exists (notify.Dispatcher.HoldForPaymentLink): the link goes into
// the email, and the email is neither lost nor sent twice — it stays one
// outbox row, claimed only once its Stripe step is done.
//
// Each statement's step is its own row in the store, claimed for one
// attempt at a time (a replica does not attempt it meanwhile). Stripe
// unavailable — a network error, a timeout, 429, 5xx, a key refused — is
// retried with the outbox's backoff, from the stored Stripe invoice id when
// the invoice was already created, and the other statements due then are
// put off to the same time instead of each waiting for Stripe in turn; only
// the invoice and its email wait, never the close. Stripe refusing the
// invoice itself (400: a currency it does not take, an amount it cannot
// bill) gives up: the step is failed with its reason and the email goes out
// without a link.

// paymentsBatch bounds the statements one run attempts.
const paymentsBatch = 50

// stripeLease is how long an attempt holds its statement's step: longer
// than its few requests (payments.DefaultTimeout each) can take, and what
// a crash in the middle delays the next attempt by.
const stripeLease = 5 * time.Minute

// Counts of the payments job.
const (
	countLinked   = "linked"   // invoices finalized: their emails may go
	countGaveUp   = "gave_up"  // refused for good: their emails go without a link
	countSkipped  = "skipped"  // nothing to bill: no contact, nothing owed
	countRetrying = "retrying" // failed for now: retried with backoff
	countDeferred = "deferred" // not attempted, Stripe being unavailable: put off likewise
)

// releasedMessages reports whether a run queued messages or released held
// ones: what a dispatch right after it delivers.
func (c Counts) releasedMessages() bool {
	return c["queued"] > 0 || c["statements"] > 0 || c[countLinked] > 0 || c[countGaveUp] > 0 || c[countSkipped] > 0
}

func runPayments(ctx context.Context, env *Env, now time.Time) (Counts, error) {
	return CreateStripeInvoices(ctx, env, now)
}

// CreateStripeInvoices attempts the Stripe step of every pending statement
// that is due at now: the payments job. Without Stripe configured it does
// nothing. The errors of the attempts that failed are joined; the others'
// results are kept all the same.
func CreateStripeInvoices(ctx context.Context, env *Env, now time.Time) (Counts, error) {
	c := Counts{}
	if env.Stripe == nil {
		return c, nil
	}
	work, err := env.DB.StripeDue(ctx, now, paymentsBatch)
	if err != nil {
		return nil, err
	}
	var errs []error
	for i, w := range work {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		status, unavailable, err := stripeStep(ctx, env, w, now)
		if status != "" {
			c[status]++
		}
		if err != nil {
			errs = append(errs, err)
		}
		if !unavailable.IsZero() && i+1 < len(work) {
			// Stripe did not answer: the others would each wait for it
			// (a timeout apiece, the runner held meanwhile). They are put
			// off to the same time, not attempted.
			var rest []string
			for _, o := range work[i+1:] {
				rest = append(rest, o.Statement.InvoiceNumber)
			}
			reason := "not attempted: Stripe was unavailable to the attempt before (" + err.Error() + ")"
			if derr := env.DB.DeferStripe(context.WithoutCancel(ctx), rest, unavailable, reason, now); derr != nil {
				errs = append(errs, derr)
			} else {
				c[countDeferred] += len(rest)
			}
			break
		}
	}
	return c, errors.Join(errs...)
}

// stripeStep makes one attempt at one statement's Stripe invoice and
// records its outcome; it returns the count it adds to ("" when another
// process holds the step, or it is done already) and, when Stripe could
// not be reached or asked to wait, when it is tried again.
func stripeStep(ctx context.Context, env *Env, w store.StripeWork, now time.Time) (string, time.Time, error) {
	st := w.Statement
	step, ok, err := env.DB.ClaimStripe(ctx, st.InvoiceNumber, now, stripeLease)
	if err != nil || !ok {
		return "", time.Time{}, err
	}
	// What the attempt learned is written even when ctx ends meanwhile (a
	// shutdown): a Stripe invoice created must not be forgotten.
	rctx := context.WithoutCancel(ctx)
	record := func(o store.StripeOutcome) error {
		o.Invoice = st.InvoiceNumber
		return env.DB.RecordStripe(rctx, o, now)
	}
	inv, skip, err := stripeInvoiceOf(ctx, env, st, now)
	switch {
	case err != nil:
		// The store could not say what to bill: tried again later.
		return countRetrying, time.Time{}, errors.Join(err, record(store.StripeOutcome{Status: store.StripePending, LastError: err.Error(), Next: retryAt(step.Attempts, now)}))
	case skip != "":
		return countSkipped, time.Time{}, record(store.StripeOutcome{Status: store.StripeSkipped, LastError: skip})
	}
	linked, err := env.Stripe.Create(ctx, inv, w.StripeID, func(id string) error {
		return env.DB.StripeCreated(rctx, st.InvoiceNumber, id, now)
	})
	switch {
	case err == nil:
		return countLinked, time.Time{}, record(store.StripeOutcome{Status: store.StripeOpen, StripeID: linked.ID, HostedURL: linked.HostedURL})
	case payments.Permanent(err):
		err = fmt.Errorf("%s: Stripe invoice not created, its email goes without a payment link: %w", st.InvoiceNumber, err)
		return countGaveUp, time.Time{}, errors.Join(err, record(store.StripeOutcome{Status: store.StripeFailed, LastError: err.Error()}))
	case ctx.Err() != nil:
		// Stopped, not failed: the next start resumes it.
		return countRetrying, time.Time{}, errors.Join(err, record(store.StripeOutcome{Status: store.StripePending, LastError: err.Error(), Next: now}))
	default:
		next := retryAt(step.Attempts, now)
		err = fmt.Errorf("%s: Stripe invoice attempt %d failed, retried at %s: %w", st.InvoiceNumber, step.Attempts, next.UTC().Format(time.RFC3339), err)
		return countRetrying, next, errors.Join(err, record(store.StripeOutcome{Status: store.StripePending, LastError: err.Error(), Next: next}))
	}
}

// retryAt is when a Stripe step that failed on its attempts-th attempt is
// tried again: the outbox's backoff (30 s doubling to an hour, jittered).
func retryAt(attempts int, now time.Time) time.Time {
	return now.Add(notify.Backoff(attempts, rand.Float64()))
}

// stripeInvoiceOf is what statement st's Stripe invoice bills: its frozen
// invoice lines and tax, in its currency, to the contract's first contact.
// skip says why there is nothing to bill.
func stripeInvoiceOf(ctx context.Context, env *Env, st store.Statement, now time.Time) (inv payments.Invoice, skip string, err error) {
	c := env.Rules.Contract(st.ContractID)
	switch {
	case c == nil:
		return inv, "the contract is no longer in the config", nil
	case len(c.Contacts) == 0:
		return inv, "the contract has no contacts: no Stripe customer to bill", nil
	case st.TotalWithTax() <= 0:
		return inv, "nothing to pay", nil
	}
	data, err := env.DB.StatementFor(ctx, env.Rules, c.ID, st.Period, billing.DateAt(now, env.Config.Location))
	if err != nil {
		return inv, "", err
	}
	currency := data.Currency
	if currency == "" {
		currency = st.Currency
	}
	return payments.Invoice{
		Number: st.InvoiceNumber, Contract: c.ID, Period: st.Period, Currency: currency,
		Email: c.Contacts[0], Name: c.InvoiceName(),
		DaysUntilDue: int64(st.DueOn - st.IssuedOn),
		Items:        payments.Items(data.Bill, st.Period, currency),
		Total:        st.TotalWithTax(),
	}, "", nil
}
