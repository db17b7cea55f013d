package jobs

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/payments"
	"retainer/payments/stripetest"
	"retainer/store"
	"retainer/store/storetest"
)

// The invoice of the payments tests: acme's January, 45 hours of 40 (5
// hours over at USD 175.00), taxed 20%: 5,000.00 + 875.00 + 1,175.00 =
// USD 7,050.00.
const (
	stripeInvoiceNo = "acme-2026-01"
	stripeKey       = "sk_test_retainer0123456789"
)

var stripeItems = []int64{500000, 87500, 117500}

// stripeRunner is an agency in New York with Stripe configured at apiBase,
// acme's January hours logged (and the extra contracts, without hours),
// and a clock set by *now.
func stripeRunner(t *testing.T, apiBase string, now *time.Time, extra ...*billing.Contract) *Runner {
	t.Helper()
	ctx := context.Background()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	start := billing.NewPeriod(2026, time.January)
	rate, _ := billing.ParseTaxRate("20")
	cfg := &config.Config{
		Location: ny, Currency: "USD", Schedule: config.DefaultSchedule(),
		Alerts: config.Alerts{Thresholds: []int{90, 100}},
		Agency: config.Agency{Name: "Northwind", Email: "owner@northwind.example"},
		Notify: config.Notify{Email: config.Email{From: "Northwind <billing@northwind.example>"},
			File: config.FileTransport{Dir: filepath.Join(t.TempDir(), "outbox")}},
		Import:   config.Import{Inbox: filepath.Join(t.TempDir(), "inbox"), Location: ny},
		Payments: config.Payments{Stripe: config.Stripe{SecretKey: stripeKey, WebhookSecret: "whsec_test", APIBase: apiBase}},
		Contracts: []*billing.Contract{{ID: "acme", Client: "Acme", Unit: billing.UnitHours, Start: &start,
			Contacts: []string{"ap@acme.example"}, PaymentTermsDays: 15, OverageBillable: true, Currency: "USD", TaxRate: rate,
			Terms: billing.Terms{MonthlyHours: 40 * 3600, MonthlyFee: 500000, OverageRate: 17500}}},
		ShutdownTimeout: time.Second,
	}
	cfg.Contracts = append(cfg.Contracts, extra...)
	env, err := NewEnv(ctx, cfg, storetest.Open(t), *now)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.DB.AddEntries(ctx, env.Rules, []store.Entry{{Source: "log", Client: "Acme", Date: storetest.Date("2026-01-12"),
		Seconds: 45 * 3600, Billable: true}}, *now); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	return NewRunner(env, func() time.Time { return *now }, slog.New(slog.NewTextHandler(&logs, nil)))
}

// run runs job and fails the test on an error.
func run(t *testing.T, r *Runner, job string) Counts {
	t.Helper()
	c, err := r.Run(context.Background(), job)
	if err != nil {
		t.Fatalf("%s: %v", job, err)
	}
	return c
}

// statementEmail is the invoice's statement email in the outbox.
func statementEmail(t *testing.T, env *Env) store.OutboxMessage {
	t.Helper()
	msgs, err := env.DB.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Key == "statement/acme/2026-01" {
			return m
		}
	}
	t.Fatal("no statement email queued")
	return store.OutboxMessage{}
}

// posts are the POSTs made to path.
func posts(reqs []stripetest.Request, path string) []stripetest.Request {
	var out []stripetest.Request
	for _, r := range reqs {
		if r.Method == http.MethodPost && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// `run --once` after the month ends: the close issues the statement, the
// payments job makes its Stripe invoice — its lines, the tax, the invoice
// number in its metadata, idempotency keys from the invoice number — and
// the dispatch after it sends the email, now that the link exists. Run
// again, nothing is created and nothing is sent.
func TestPaymentsJobLinksTheStatementBeforeItsEmail(t *testing.T) {
	ctx := context.Background()
	proxy := stripetest.NewProxy(t, stripetest.MockURL(t))
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 2, 1, 7, 0, 0, 0, ny)
	r := stripeRunner(t, proxy.URL, &now)
	env := r.Env()
	if !env.Dispatcher(func() time.Time { return now }).HoldForPaymentLink {
		t.Fatal("with Stripe configured, the dispatcher does not hold statement emails")
	}

	ran, counts, err := r.RunDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if i, j, k := index(ran, Close), index(ran, Payments), index(ran, Dispatch); !(i >= 0 && i < j && j < k) {
		t.Fatalf("ran %v: want close, then payments, then dispatch", ran)
	}
	if counts[Close]["statements"] != 1 || counts[Payments][countLinked] != 1 || counts[Dispatch]["sent"] != 1 {
		t.Fatalf("counts %v", counts)
	}
	st, err := env.DB.StatementByInvoice(ctx, stripeInvoiceNo)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != store.StatusSent || st.TotalWithTax() != 705000 {
		t.Fatalf("statement %+v (total with tax %d)", st, st.TotalWithTax())
	}
	step, err := env.DB.StripeInvoiceOf(ctx, stripeInvoiceNo)
	if err != nil {
		t.Fatal(err)
	}
	if step.Status != store.StripeOpen || step.StripeID == "" || step.HostedURL != stripetest.HostedURL(step.StripeID) || step.Attempts != 1 {
		t.Fatalf("stripe step %+v", step)
	}

	reqs := proxy.Requests()
	for _, q := range reqs {
		if q.Status != http.StatusOK {
			t.Errorf("%s %s: stripe-mock answered %d", q.Method, q.Path, q.Status)
		}
	}
	invs := posts(reqs, "/v1/invoices")
	if len(invs) != 1 {
		t.Fatalf("%d invoices created", len(invs))
	}
	f := invs[0].Form
	if f.Get("metadata[retainer_invoice]") != stripeInvoiceNo || f.Get("currency") != "usd" || f.Get("days_until_due") != "15" ||
		f.Get("collection_method") != "send_invoice" || invs[0].Header.Get("Idempotency-Key") != "retainer-"+stripeInvoiceNo+"-invoice" {
		t.Errorf("invoice %v, key %q", f, invs[0].Header.Get("Idempotency-Key"))
	}
	items := posts(reqs, "/v1/invoiceitems")
	if len(items) != len(stripeItems) {
		t.Fatalf("%d items", len(items))
	}
	var sum int64
	for i, it := range items {
		a, _ := strconv.ParseInt(it.Form.Get("amount"), 10, 64)
		sum += a
		if a != stripeItems[i] || it.Header.Get("Idempotency-Key") != "retainer-"+stripeInvoiceNo+"-item-"+strconv.Itoa(i) {
			t.Errorf("item %d: %v, key %q", i, it.Form, it.Header.Get("Idempotency-Key"))
		}
	}
	if sum != int64(st.TotalWithTax()) {
		t.Errorf("items add up to %d, the statement's total with tax is %d", sum, st.TotalWithTax())
	}
	if !strings.Contains(items[2].Form.Get("description"), "20%") {
		t.Errorf("tax item %q", items[2].Form.Get("description"))
	}

	// Again, and again a minute later: nothing new in Stripe, nothing sent.
	proxy.Reset()
	for i := 0; i < 2; i++ {
		if c := run(t, r, Payments); len(c) != 0 {
			t.Errorf("second payments run: %v", c)
		}
		if c := run(t, r, Dispatch); c["sent"] != 0 {
			t.Errorf("second dispatch: %v", c)
		}
		now = now.Add(time.Minute)
	}
	if n := len(proxy.Requests()); n != 0 {
		t.Errorf("%d requests to Stripe on the second run", n)
	}
	if m := statementEmail(t, env); m.Status != store.OutboxSent || m.Attempts != 1 {
		t.Errorf("statement email %+v", m)
	}
}

// Stripe down: the close and the email's queueing happen all the same; the
// email waits, the Stripe step is retried with backoff, and once Stripe is
// back the invoice is created and the email goes — once.
func TestPaymentsJobWhenStripeIsDown(t *testing.T) {
	ctx := context.Background()
	mock := stripetest.MockURL(t)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // nothing listens there any more
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 2, 1, 7, 0, 0, 0, ny)
	r := stripeRunner(t, down.URL, &now)
	env := r.Env()

	if c := run(t, r, Close); c["statements"] != 1 {
		t.Fatalf("close: %v", c)
	}
	c, err := r.Run(ctx, Payments)
	if err == nil || c[countRetrying] != 1 {
		t.Fatalf("payments with Stripe down: %v, %v", c, err)
	}
	step, err := env.DB.StripeInvoiceOf(ctx, stripeInvoiceNo)
	if err != nil || step.Status != store.StripePending || step.Attempts != 1 || !step.NextAttemptAt.After(now) || step.LastError == "" {
		t.Fatalf("stripe step %+v, %v", step, err)
	}
	if strings.Contains(step.LastError, stripeKey) {
		t.Errorf("the error names the key: %s", step.LastError)
	}
	for i := 0; i < 2; i++ {
		if c := run(t, r, Dispatch); c["sent"] != 0 {
			t.Fatalf("dispatch sent %v while the Stripe step waits", c)
		}
		if m := statementEmail(t, env); m.Status != store.OutboxPending || m.Attempts != 0 {
			t.Fatalf("statement email %+v", m)
		}
		// Not yet due again: not tried.
		if c := run(t, r, Payments); len(c) != 0 {
			t.Fatalf("payments before the retry is due: %v", c)
		}
		now = now.Add(10 * time.Second)
	}

	// Stripe is back; the retry's time comes.
	proxy := stripetest.NewProxy(t, mock)
	env.Stripe = payments.New(payments.Config{SecretKey: stripeKey, APIBase: proxy.URL})
	now = now.Add(2 * time.Hour)
	if c := run(t, r, Payments); c[countLinked] != 1 {
		t.Fatalf("payments once Stripe is back: %v", c)
	}
	if c := run(t, r, Dispatch); c["sent"] != 1 {
		t.Fatalf("dispatch once linked: %v", c)
	}
	if c := run(t, r, Dispatch); c["sent"] != 0 {
		t.Fatalf("sent twice: %v", c)
	}
	if step, _ := env.DB.StripeInvoiceOf(ctx, stripeInvoiceNo); step.Status != store.StripeOpen || step.Attempts != 2 {
		t.Errorf("stripe step %+v", step)
	}
	if n := len(posts(proxy.Requests(), "/v1/invoices")); n != 1 {
		t.Errorf("%d invoices created", n)
	}
	files, _ := os.ReadDir(env.Config.Notify.File.Dir)
	var sent []string
	for _, f := range files {
		if strings.HasPrefix(f.Name(), "statement_") {
			sent = append(sent, f.Name())
		}
	}
	if len(sent) != 1 {
		t.Errorf("statement emails written: %v", sent)
	}
}

// When an attempt finds Stripe unavailable, the other statements due are
// put off to the same time without an attempt each: one wait for Stripe
// per run, not one per statement.
func TestPaymentsJobPutsOffTheRestWhenStripeIsUnavailable(t *testing.T) {
	ctx := context.Background()
	proxy := stripetest.NewProxy(t, stripetest.MockURL(t))
	proxy.Fail(func(stripetest.Request) (int, string) {
		return http.StatusServiceUnavailable, `{"error":{"type":"api_error","message":"unavailable"}}`
	})
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 2, 1, 7, 0, 0, 0, ny)
	start := billing.NewPeriod(2026, time.January)
	var extra []*billing.Contract
	for _, id := range []string{"globex", "initech"} {
		extra = append(extra, &billing.Contract{ID: id, Client: id, Unit: billing.UnitHours, Start: &start, Currency: "USD",
			Contacts: []string{"ap@" + id + ".example"}, PaymentTermsDays: 30, Terms: billing.Terms{MonthlyHours: 20 * 3600, MonthlyFee: 280000}})
	}
	r := stripeRunner(t, proxy.URL, &now, extra...)
	env := r.Env()
	if c := run(t, r, Close); c["statements"] != 3 {
		t.Fatalf("close: %v", c)
	}
	c, err := r.Run(ctx, Payments)
	if err == nil || c[countRetrying] != 1 || c[countDeferred] != 2 {
		t.Fatalf("payments: %v, %v", c, err)
	}
	if n := len(proxy.Requests()); n != 1 {
		t.Errorf("%d requests: want the one that found Stripe unavailable", n)
	}
	first, _ := env.DB.StripeInvoiceOf(ctx, stripeInvoiceNo)
	for _, inv := range []string{"globex-2026-01", "initech-2026-01"} {
		step, err := env.DB.StripeInvoiceOf(ctx, inv)
		if err != nil || step.Status != store.StripePending || step.Attempts != 0 || !step.NextAttemptAt.Equal(first.NextAttemptAt) ||
			!strings.Contains(step.LastError, "not attempted") {
			t.Errorf("%s: %+v, %v (the first is retried at %s)", inv, step, err, first.NextAttemptAt)
		}
	}
	if c := run(t, r, Payments); len(c) != 0 {
		t.Errorf("payments before the retry is due: %v", c)
	}

	proxy.Fail(nil)
	now = first.NextAttemptAt
	if c := run(t, r, Payments); c[countLinked] != 3 {
		t.Fatalf("payments once Stripe is back: %v", c)
	}
	if c := run(t, r, Dispatch); c["sent"] != 3 {
		t.Fatalf("dispatch: %v", c)
	}
}

// An attempt that dies after Stripe created the invoice leaves its id in
// the store: the next attempt finishes that invoice instead of creating a
// second one.
func TestPaymentsJobResumesTheInvoiceItCreated(t *testing.T) {
	ctx := context.Background()
	proxy := stripetest.NewProxy(t, stripetest.MockURL(t))
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 2, 1, 7, 0, 0, 0, ny)
	r := stripeRunner(t, proxy.URL, &now)
	env := r.Env()
	run(t, r, Close)
	proxy.Fail(func(q stripetest.Request) (int, string) {
		if q.Path == "/v1/invoiceitems" {
			return http.StatusServiceUnavailable, `{"error":{"type":"api_error","message":"try later"}}`
		}
		return 0, ""
	})
	if c, err := r.Run(ctx, Payments); err == nil || c[countRetrying] != 1 {
		t.Fatalf("payments: %v, %v", c, err)
	}
	step, err := env.DB.StripeInvoiceOf(ctx, stripeInvoiceNo)
	if err != nil || step.StripeID == "" || step.Status != store.StripePending {
		t.Fatalf("stripe step %+v, %v", step, err)
	}
	proxy.Fail(nil)
	proxy.Reset()
	now = now.Add(2 * time.Hour)
	if c := run(t, r, Payments); c[countLinked] != 1 {
		t.Fatalf("payments: %v", c)
	}
	reqs := proxy.Requests()
	if len(reqs) == 0 || reqs[0].Method != http.MethodGet || reqs[0].Path != "/v1/invoices/"+step.StripeID {
		t.Fatalf("the retry began with %+v", reqs)
	}
	if n := len(posts(reqs, "/v1/invoices")) + len(posts(reqs, "/v1/customers")); n != 0 {
		t.Errorf("the retry created %d invoices or customers", n)
	}
	if n := len(posts(reqs, "/v1/invoiceitems")); n != len(stripeItems) {
		t.Errorf("%d items added", n)
	}
}

// Stripe refusing the invoice for good does not keep the client's invoice
// from them: the step is failed, with the reason, and the email goes
// without a link. Without Stripe configured the job does nothing.
func TestPaymentsJobGivesUpOnARefusal(t *testing.T) {
	ctx := context.Background()
	proxy := stripetest.NewProxy(t, stripetest.MockURL(t))
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 2, 1, 7, 0, 0, 0, ny)
	r := stripeRunner(t, proxy.URL, &now)
	env := r.Env()
	run(t, r, Close)
	proxy.Fail(func(q stripetest.Request) (int, string) {
		if q.Method == http.MethodPost && q.Path == "/v1/invoices" {
			return http.StatusBadRequest, `{"error":{"type":"invalid_request_error","message":"Invalid currency: usd"}}`
		}
		return 0, ""
	})
	if c, err := r.Run(ctx, Payments); err == nil || c[countGaveUp] != 1 {
		t.Fatalf("payments: %v, %v", c, err)
	}
	step, _ := env.DB.StripeInvoiceOf(ctx, stripeInvoiceNo)
	if step.Status != store.StripeFailed || !strings.Contains(step.LastError, "Invalid currency") {
		t.Fatalf("stripe step %+v", step)
	}
	if c := run(t, r, Dispatch); c["sent"] != 1 {
		t.Fatalf("dispatch: %v", c)
	}

	env.Stripe = nil // Stripe not configured
	if c := run(t, r, Payments); len(c) != 0 {
		t.Errorf("payments without Stripe: %v", c)
	}
}

func index(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
