package payments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"

	"retainer/billing"
)

// Config is how to reach Stripe.
type Config struct {
	SecretKey string // sk_… or rk_…
	// APIBase is Stripe's API (config's payments.stripe.api_base), or
	// stripe-mock in tests.
	APIBase string
	// Timeout bounds each request; 0 is DefaultTimeout.
	Timeout time.Duration
}

// DefaultTimeout bounds one request to Stripe.
const DefaultTimeout = 30 * time.Second

// Client creates Stripe invoices. It is safe for concurrent use.
type Client struct {
	sc *stripe.Client
}

// New returns a client of cfg's account. It holds no global state of
// stripe-go's: its backend is its own, and stripe-go's own retries are off
// (a failed attempt is retried by the caller, with backoff, from stored
// state).
func New(cfg Config) *Client {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(cfg.APIBase),
		HTTPClient:        &http.Client{Timeout: timeout},
		MaxNetworkRetries: stripe.Int64(0),
		// stripe-go would print every failed request to stderr; the caller
		// logs the error once.
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	backends := &stripe.Backends{API: backend, Connect: backend, Uploads: backend, MeterEvents: backend}
	return &Client{sc: stripe.NewClient(cfg.SecretKey, stripe.WithBackends(backends))}
}

// Invoice is what one statement's Stripe invoice bills.
type Invoice struct {
	// Number is retainer's invoice number (<contract>-<YYYY-MM>): the Stripe
	// invoice's number and metadata.retainer_invoice, and the root of every
	// idempotency key.
	Number   string
	Contract string
	Period   billing.Period
	Currency string // ISO 4217; each item's amount is in its minor units
	// Email is the client's: the customer is found by it, or created with
	// it and Name.
	Email string
	Name  string
	// DaysUntilDue are the contract's payment terms: the statement's due
	// date less its issue date (the same on every attempt, so that a retry
	// sends the same request).
	DaysUntilDue int64
	Items        []Item
	// Total is the statement's total with tax, which the items must add up
	// to exactly.
	Total billing.Money
}

// Linked is a finalized Stripe invoice and the page where it is paid.
type Linked struct {
	ID        string // in_…
	HostedURL string // hosted_invoice_url
}

// Metadata keys of what retainer creates in Stripe.
const (
	MetaInvoice  = "retainer_invoice" // the invoice number: the webhook finds the statement by it
	MetaContract = "retainer_contract"
	MetaPeriod   = "retainer_period"
	MetaLine     = "retainer_line" // an item's index among the invoice's items
)

// IdempotencyKey is the key of one creating request for invoice number
// (what: "invoice", "item-<i>", "finalize"). Stripe keeps a key 24 hours:
// a retry within them gets the first request's result; after them, Create
// finds what exists by metadata before it creates anything.
func IdempotencyKey(number, what string) string { return "retainer-" + number + "-" + what }

// Create makes inv's Stripe invoice — customer, invoice, one item per line
// and the tax, finalized without Stripe emailing it (retainer's statement
// email carries the link) — and returns it with its hosted payment link.
//
// id is the Stripe invoice a previous attempt created ("" when none):
// Create then finishes it instead (adds the items it lacks, finalizes it).
// created is called with a new invoice's id as soon as Stripe created it:
// the caller stores it before returning nil, so that a later attempt
// resumes instead of looking for it.
//
// An error is *Error when Stripe answered; Permanent tells whether a retry
// could succeed.
func (c *Client) Create(ctx context.Context, inv Invoice, id string, created func(id string) error) (Linked, error) {
	amounts, err := inv.amounts()
	if err != nil {
		return Linked{}, permanent(fmt.Errorf("invoice %s: %w", inv.Number, err))
	}
	var cur *stripe.Invoice
	resumed := id != ""
	if resumed {
		if cur, err = c.sc.V1Invoices.Retrieve(ctx, id, nil); err != nil {
			return Linked{}, wrap("retrieve invoice", err)
		}
	} else {
		customer, err := c.customer(ctx, inv)
		if err != nil {
			return Linked{}, err
		}
		// An earlier attempt may have created the invoice and lost its id
		// (a crash before it was stored) more than 24 hours ago, when its
		// idempotency key no longer returns it.
		if cur, err = c.findInvoice(ctx, customer, inv.Number); err != nil {
			return Linked{}, err
		}
		resumed = cur != nil
		if cur == nil {
			if cur, err = c.createInvoice(ctx, customer, inv); err != nil {
				return Linked{}, err
			}
		}
		if err := created(cur.ID); err != nil {
			return Linked{}, fmt.Errorf("invoice %s: keep Stripe invoice %s: %w", inv.Number, cur.ID, err)
		}
	}
	switch cur.Status {
	case stripe.InvoiceStatusDraft:
		if err := c.addItems(ctx, cur, inv, amounts, resumed); err != nil {
			return Linked{}, err
		}
		params := &stripe.InvoiceFinalizeInvoiceParams{AutoAdvance: stripe.Bool(false)}
		params.SetIdempotencyKey(IdempotencyKey(inv.Number, "finalize"))
		if cur, err = c.sc.V1Invoices.FinalizeInvoice(ctx, cur.ID, params); err != nil {
			return Linked{}, wrap("finalize invoice", err)
		}
	case stripe.InvoiceStatusOpen, stripe.InvoiceStatusPaid:
		// Finalized by an earlier attempt.
	default:
		return Linked{}, permanent(fmt.Errorf("invoice %s: Stripe invoice %s is %s", inv.Number, cur.ID, cur.Status))
	}
	if cur.Status == stripe.InvoiceStatusDraft || cur.HostedInvoiceURL == "" {
		// Finalizing sets the hosted page; until Stripe says it did, the
		// next attempt looks again.
		return Linked{}, fmt.Errorf("invoice %s: Stripe invoice %s is %s without a hosted_invoice_url yet", inv.Number, cur.ID, cur.Status)
	}
	return Linked{ID: cur.ID, HostedURL: cur.HostedInvoiceURL}, nil
}

// amounts checks inv and converts its items' amounts to Stripe's units.
func (inv Invoice) amounts() ([]int64, error) {
	if inv.Email == "" {
		return nil, errors.New("the contract has no contact to bill")
	}
	if !billing.KnownCurrency(inv.Currency) {
		return nil, fmt.Errorf("%q is not a currency", inv.Currency)
	}
	var sum billing.Money
	out := make([]int64, len(inv.Items))
	for i, it := range inv.Items {
		a, err := Amount(it.Amount, inv.Currency)
		if err != nil {
			return nil, err
		}
		out[i] = a
		sum += it.Amount
	}
	if sum != inv.Total {
		return nil, fmt.Errorf("its items add up to %s, not its total %s", sum.Format(inv.Currency), inv.Total.Format(inv.Currency))
	}
	return out, nil
}

// customer returns the id of the customer whose email is inv.Email (the
// newest, when there are several), creating one when there is none. The
// list is read first: customers are shared by every contract and invoice
// that bills the same address.
func (c *Client) customer(ctx context.Context, inv Invoice) (string, error) {
	list := &stripe.CustomerListParams{Email: stripe.String(inv.Email)}
	list.Limit = stripe.Int64(10)
	list.Single = true
	for cust, err := range c.sc.V1Customers.List(ctx, list) {
		if err != nil {
			return "", wrap("list customers", err)
		}
		if strings.EqualFold(cust.Email, inv.Email) {
			return cust.ID, nil
		}
	}
	params := &stripe.CustomerCreateParams{Email: stripe.String(inv.Email), Name: stripe.String(inv.Name)}
	params.AddMetadata(MetaContract, inv.Contract)
	sum := sha256.Sum256([]byte(strings.ToLower(inv.Email)))
	params.SetIdempotencyKey("retainer-customer-" + inv.Contract + "-" + hex.EncodeToString(sum[:8]))
	cust, err := c.sc.V1Customers.Create(ctx, params)
	if err != nil {
		return "", wrap("create customer", err)
	}
	return cust.ID, nil
}

// findInvoice returns the customer's invoice whose metadata names number,
// unless it was voided; nil when there is none.
func (c *Client) findInvoice(ctx context.Context, customer, number string) (*stripe.Invoice, error) {
	list := &stripe.InvoiceListParams{Customer: stripe.String(customer)}
	list.Limit = stripe.Int64(100)
	list.Single = true
	for in, err := range c.sc.V1Invoices.List(ctx, list) {
		if err != nil {
			return nil, wrap("list invoices", err)
		}
		if in.Metadata[MetaInvoice] == number && in.Status != stripe.InvoiceStatusVoid {
			return in, nil
		}
	}
	return nil, nil
}

// maxStripeNumber is the longest invoice number Stripe takes (the
// maxLength of POST /v1/invoices' number in Stripe's OpenAPI spec).
const maxStripeNumber = 26

func (c *Client) createInvoice(ctx context.Context, customer string, inv Invoice) (*stripe.Invoice, error) {
	params := &stripe.InvoiceCreateParams{
		Customer:         stripe.String(customer),
		Currency:         stripe.String(strings.ToLower(inv.Currency)),
		CollectionMethod: stripe.String(string(stripe.InvoiceCollectionMethodSendInvoice)),
		DaysUntilDue:     stripe.Int64(inv.DaysUntilDue),
		// Stripe neither finalizes nor emails it on its own: retainer
		// finalizes it now and its statement email carries the link.
		AutoAdvance: stripe.Bool(false),
		// Only the items added below: never another pending item of the
		// same customer.
		PendingInvoiceItemsBehavior: stripe.String("exclude"),
		Description:                 stripe.String("Retainer " + inv.Period.String() + ", invoice " + inv.Number),
	}
	if len(inv.Number) <= maxStripeNumber {
		// The client sees the same number on Stripe's page and receipt as
		// on the statement and its PDF. A longer one Stripe refuses: it
		// numbers the invoice itself, and the description and metadata
		// carry retainer's.
		params.Number = stripe.String(inv.Number)
	}
	params.AddMetadata(MetaInvoice, inv.Number)
	params.AddMetadata(MetaContract, inv.Contract)
	params.AddMetadata(MetaPeriod, inv.Period.String())
	params.SetIdempotencyKey(IdempotencyKey(inv.Number, "invoice"))
	out, err := c.sc.V1Invoices.Create(ctx, params)
	if err != nil {
		return nil, wrap("create invoice", err)
	}
	return out, nil
}

// addItems adds inv's items to the draft; when it resumes an earlier
// attempt, only those the draft lacks (by metadata.retainer_line).
func (c *Client) addItems(ctx context.Context, draft *stripe.Invoice, inv Invoice, amounts []int64, resumed bool) error {
	have := map[string]bool{}
	if resumed {
		list := &stripe.InvoiceItemListParams{Invoice: stripe.String(draft.ID)}
		list.Limit = stripe.Int64(100)
		for it, err := range c.sc.V1InvoiceItems.List(ctx, list) {
			if err != nil {
				return wrap("list invoice items", err)
			}
			if it.Metadata[MetaInvoice] == inv.Number {
				have[it.Metadata[MetaLine]] = true
			}
		}
	}
	if draft.Customer == nil || draft.Customer.ID == "" {
		return fmt.Errorf("invoice %s: Stripe invoice %s has no customer", inv.Number, draft.ID)
	}
	for i, item := range inv.Items {
		line := strconv.Itoa(i)
		if have[line] {
			continue
		}
		params := &stripe.InvoiceItemCreateParams{
			Customer:    stripe.String(draft.Customer.ID),
			Invoice:     stripe.String(draft.ID),
			Currency:    stripe.String(strings.ToLower(inv.Currency)),
			Amount:      stripe.Int64(amounts[i]),
			Description: stripe.String(item.Description),
		}
		params.AddMetadata(MetaInvoice, inv.Number)
		params.AddMetadata(MetaLine, line)
		params.SetIdempotencyKey(IdempotencyKey(inv.Number, "item-"+line))
		if _, err := c.sc.V1InvoiceItems.Create(ctx, params); err != nil {
			return wrap("add invoice item "+line, err)
		}
	}
	return nil
}

// Error is Stripe's answer to a request that failed. It carries no key.
type Error struct {
	Op        string // "create invoice", …
	Status    int    // HTTP status
	Type      string // invalid_request_error, api_error, idempotency_error, …
	Code      string
	Msg       string
	RequestID string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("stripe: %s: %d %s", e.Op, e.Status, e.Type)
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.RequestID != "" {
		s += " [request " + e.RequestID + "]"
	}
	return s
}

// permanentError is a failure that the same request would meet again.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

// Permanent reports whether err cannot be cured by retrying: Stripe refused
// the request as invalid (400, other than an idempotency conflict, which
// ends when the key expires; 402; 404), or the invoice cannot be billed as
// it is (no contact, an amount Stripe cannot take, a voided invoice).
// Network errors, timeouts, 401/403 (a key to fix and reload), 409, 429 and
// 5xx are not: they are retried with backoff.
func Permanent(err error) bool {
	var p *permanentError
	if errors.As(err, &p) {
		return true
	}
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch {
	case e.Type == string(stripe.ErrorTypeIdempotency):
		return false
	case e.Status == http.StatusBadRequest, e.Status == http.StatusPaymentRequired, e.Status == http.StatusNotFound:
		return true
	}
	return false
}

// wrap turns stripe-go's error into an *Error (no key, no request body);
// any other error (the network, a timeout) is returned with what failed.
func wrap(op string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		return &Error{Op: op, Status: se.HTTPStatusCode, Type: string(se.Type), Code: string(se.Code), Msg: redactKeys(se.Msg), RequestID: se.RequestID}
	}
	return fmt.Errorf("stripe: %s: %w", op, err)
}

// apiKey is what an API key looks like in a message: Stripe's answer to a
// refused key quotes it (masked in part; stripe-mock, whole).
var apiKey = regexp.MustCompile(`\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9*]+|Bearer\s+\S+`)

// redactKeys keeps any API key out of an error message: it ends up in logs
// and in `retainer jobs`.
func redactKeys(msg string) string { return apiKey.ReplaceAllString(msg, "[redacted]") }
