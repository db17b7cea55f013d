// Package stripetest is what the tests that talk to Stripe share: the
// stripe-mock server that .ci/run starts (Stripe's own mock, which checks
// every request against Stripe's OpenAPI spec), a recording proxy in front
// of it, and webhook events signed as Stripe signs them.
package stripetest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"
)

// MockURLEnv names stripe-mock's HTTP URL (.ci/run sets it).
const MockURLEnv = "RETAINER_TEST_STRIPE_MOCK_URL"

// MockURL returns stripe-mock's URL. Without one a test is skipped, but
// under CI (CI=true) it fails: CI must not pass by skipping.
func MockURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(MockURLEnv)
	if u == "" {
		msg := MockURLEnv + " is not set: start stripe-mock (go install github.com/stripe/stripe-mock@v0.203.0; " +
			"stripe-mock -http-addr 127.0.0.1:12111 -https-addr 127.0.0.1:0) and set it to http://127.0.0.1:12111"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return u
}

// Request is one request the proxy passed on, and stripe-mock's answer.
type Request struct {
	Method, Path string
	Header       http.Header
	Form         url.Values // the form body of a POST, the query of a GET
	Status       int        // stripe-mock's status (or the one Fail gave)
}

// Proxy stands between a client and stripe-mock: it records each request
// and its answer, can make Stripe fail (Fail), and answers a finalize as
// Stripe does. stripe-mock keeps no state: every call returns its fixture,
// and its finalized invoice is still a draft without hosted_invoice_url,
// which Stripe sets when it finalizes; the proxy sets both in the answer
// (status open, a hosted URL naming the invoice). Nothing else is changed.
type Proxy struct {
	URL string // give this to the client as its API base

	mock string
	mu   sync.Mutex
	reqs []Request
	fail func(r Request) (status int, body string)
}

// HostedURL is the hosted_invoice_url the proxy gives Stripe invoice id.
func HostedURL(id string) string { return "https://invoice.stripe.com/i/acct_test_retainer/" + id }

var finalizePath = regexp.MustCompile(`^/v1/invoices/([^/]+)/finalize$`)

// NewProxy starts a proxy to stripe-mock at mockURL, closed when the test
// ends.
func NewProxy(tb testing.TB, mockURL string) *Proxy {
	tb.Helper()
	p := &Proxy{mock: mockURL}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	tb.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Fail makes each request for which fn returns a status answer that status
// with body, instead of going to stripe-mock; nil stops it.
func (p *Proxy) Fail(fn func(r Request) (status int, body string)) {
	p.mu.Lock()
	p.fail = fn
	p.mu.Unlock()
}

// Requests returns the requests so far, in order.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.reqs...)
}

// Reset forgets the requests so far.
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.reqs = nil
	p.mu.Unlock()
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rec := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: r.URL.Query()}
	if r.Method == http.MethodPost {
		if rec.Form, err = url.ParseQuery(string(body)); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	p.mu.Lock()
	fail := p.fail
	p.mu.Unlock()
	if fail != nil {
		if status, msg := fail(rec); status != 0 {
			rec.Status = status
			p.record(rec)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, msg)
			return
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.mock+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	rec.Status = res.StatusCode
	if m := finalizePath.FindStringSubmatch(r.URL.Path); m != nil && res.StatusCode == http.StatusOK {
		var inv map[string]any
		if json.Unmarshal(out, &inv) == nil {
			inv["id"], inv["status"], inv["hosted_invoice_url"] = m[1], "open", HostedURL(m[1])
			out, _ = json.Marshal(inv)
		}
	}
	p.record(rec)
	for _, k := range []string{"Content-Type", "Request-Id", "Idempotency-Key", "Stripe-Version"} {
		if v := res.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(res.StatusCode)
	w.Write(out)
}

func (p *Proxy) record(r Request) {
	p.mu.Lock()
	p.reqs = append(p.reqs, r)
	p.mu.Unlock()
}

// Sign returns the Stripe-Signature header Stripe sends with payload,
// signed with secret at t: "t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<unix seconds>.<payload>" keyed with the secret>".
func Sign(payload []byte, secret string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(payload)))
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// APIVersion is the version retainer's stripe-go sends, and so the one a
// webhook endpoint created for it sends events in.
const APIVersion = stripe.APIVersion

// InvoicePaid returns an invoice.paid event as Stripe sends it: event id,
// Stripe invoice id, the invoice number in metadata.retainer_invoice ("":
// none), paid at paidAt, in API version apiVersion.
func InvoicePaid(eventID, stripeInvoice, invoiceNumber string, paidAt time.Time, apiVersion string) []byte {
	meta := map[string]string{}
	if invoiceNumber != "" {
		meta["retainer_invoice"] = invoiceNumber
	}
	ev := map[string]any{
		"id": eventID, "object": "event", "api_version": apiVersion, "created": paidAt.Unix() + 2,
		"livemode": false, "pending_webhooks": 1, "type": "invoice.paid",
		"request": map[string]any{"id": nil, "idempotency_key": nil},
		"data": map[string]any{"object": map[string]any{
			"id": stripeInvoice, "object": "invoice", "status": "paid", "collection_method": "send_invoice",
			"currency": "usd", "amount_paid": 535000, "metadata": meta,
			"status_transitions": map[string]any{"finalized_at": paidAt.Unix() - 86400, "paid_at": paidAt.Unix()},
		}},
	}
	b, _ := json.Marshal(ev)
	return b
}
