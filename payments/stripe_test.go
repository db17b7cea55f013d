package payments_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v82"

	"retainer/billing"
	"retainer/payments"
	"retainer/payments/stripetest"
)

const testKey = "sk_test_retainer0123456789"

// invoice is a USD statement with overage and 20% tax.
func invoice() payments.Invoice {
	items := []payments.Item{
		{Description: "Retainer 2026-02", Amount: 500000},
		{Description: "Overage 2026-02: 2.00 hours at USD 175.00", Amount: 35000},
		{Description: "Tax 20%", Amount: 107000},
	}
	return payments.Invoice{Number: "acme-001-2026-02", Contract: "acme-001", Period: billing.NewPeriod(2026, 2), Currency: "USD",
		Email: "ap@acme.example", Name: "Acme Corp", DaysUntilDue: 15, Items: items, Total: 642000}
}

// Every request goes to stripe-mock, which checks it against Stripe's
// OpenAPI spec: a parameter Stripe does not take, or a value of the wrong
// type, is a 400 there and fails the test.
func TestCreateAgainstStripeMock(t *testing.T) {
	proxy := stripetest.NewProxy(t, stripetest.MockURL(t))
	c := payments.New(payments.Config{SecretKey: testKey, APIBase: proxy.URL})
	var created []string
	linked, err := c.Create(context.Background(), invoice(), "", func(id string) error {
		created = append(created, id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 1 || linked.ID != created[0] || linked.HostedURL != stripetest.HostedURL(linked.ID) {
		t.Fatalf("linked %+v, created %v", linked, created)
	}
	reqs := proxy.Requests()
	var calls []string
	for _, r := range reqs {
		calls = append(calls, r.Method+" "+pathShape(r.Path))
		if r.Status != http.StatusOK {
			t.Errorf("%s %s: stripe-mock answered %d", r.Method, r.Path, r.Status)
		}
		if r.Header.Get("Authorization") != "Bearer "+testKey || r.Header.Get("Stripe-Version") != stripe.APIVersion {
			t.Errorf("%s %s: Authorization %q, Stripe-Version %q", r.Method, r.Path, r.Header.Get("Authorization"), r.Header.Get("Stripe-Version"))
		}
	}
	want := []string{
		"GET /v1/customers",     // by email: stripe-mock's fixture has another, so…
		"POST /v1/customers",    // …one is created
		"GET /v1/invoices",      // none of the customer's carries this invoice number
		"POST /v1/invoices",     // the draft
		"POST /v1/invoiceitems", // retainer fee
		"POST /v1/invoiceitems", // overage
		"POST /v1/invoiceitems", // tax
		"POST /v1/invoices/{id}/finalize",
	}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
	form := func(i int, key string) string { return reqs[i].Form.Get(key) }
	if form(0, "email") != "ap@acme.example" || form(1, "email") != "ap@acme.example" || form(1, "name") != "Acme Corp" {
		t.Errorf("customer: list %v, create %v", reqs[0].Form, reqs[1].Form)
	}
	if !strings.HasPrefix(reqs[1].Header.Get("Idempotency-Key"), "retainer-customer-acme-001-") {
		t.Errorf("customer idempotency key %q", reqs[1].Header.Get("Idempotency-Key"))
	}
	for key, want := range map[string]string{
		"collection_method": "send_invoice", "days_until_due": "15", "auto_advance": "false", "currency": "usd",
		"pending_invoice_items_behavior": "exclude", "number": "acme-001-2026-02",
		"metadata[retainer_invoice]": "acme-001-2026-02", "metadata[retainer_contract]": "acme-001", "metadata[retainer_period]": "2026-02",
	} {
		if got := form(3, key); got != want {
			t.Errorf("invoice %s = %q, want %q", key, got, want)
		}
	}
	if k := reqs[3].Header.Get("Idempotency-Key"); k != "retainer-acme-001-2026-02-invoice" {
		t.Errorf("invoice idempotency key %q", k)
	}
	var sum int64
	for i, it := range invoice().Items {
		r := reqs[4+i]
		amount, _ := strconv.ParseInt(r.Form.Get("amount"), 10, 64)
		sum += amount
		if amount != int64(it.Amount) || r.Form.Get("description") != it.Description || r.Form.Get("currency") != "usd" ||
			r.Form.Get("metadata[retainer_invoice]") != "acme-001-2026-02" || r.Form.Get("metadata[retainer_line]") != strconv.Itoa(i) ||
			r.Form.Get("invoice") == "" || r.Form.Get("customer") == "" {
			t.Errorf("item %d: %v", i, r.Form)
		}
		if k := r.Header.Get("Idempotency-Key"); k != "retainer-acme-001-2026-02-item-"+strconv.Itoa(i) {
			t.Errorf("item %d idempotency key %q", i, k)
		}
	}
	if sum != 642000 {
		t.Errorf("items add up to %d, want the total with tax 642000", sum)
	}
	if form(7, "auto_advance") != "false" || reqs[7].Header.Get("Idempotency-Key") != "retainer-acme-001-2026-02-finalize" {
		t.Errorf("finalize: %v, key %q", reqs[7].Form, reqs[7].Header.Get("Idempotency-Key"))
	}
}

// A JPY invoice goes out in yen: Stripe's JPY is zero-decimal, like ISO's.
func TestCreateJPY(t *testing.T) {
	proxy := stripetest.NewProxy(t, stripetest.MockURL(t))
	c := payments.New(payments.Config{SecretKey: testKey, APIBase: proxy.URL})
	inv := invoice()
	inv.Currency, inv.Total = "JPY", 330000
	inv.Items = []payments.Item{{Description: "Retainer 2026-02", Amount: 300000}, {Description: "Tax 10%", Amount: 30000}}
	if _, err := c.Create(context.Background(), inv, "", func(string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var amounts []string
	for _, r := range proxy.Requests() {
		if r.Path == "/v1/invoiceitems" {
			amounts = append(amounts, r.Form.Get("currency")+" "+r.Form.Get("amount"))
		}
	}
	if strings.Join(amounts, ", ") != "jpy 300000, jpy 30000" {
		t.Errorf("items %v", amounts)
	}
}

// Stripe takes invoice numbers of at most 26 characters (maxLength in
// its OpenAPI spec; stripe-mock does not check it): a longer one, from a
// long contract id, is left to Stripe, and kept in the metadata and the
// description.
func TestCreateLongInvoiceNumber(t *testing.T) {
	proxy := stripetest.NewProxy(t, stripetest.MockURL(t))
	c := payments.New(payments.Config{SecretKey: testKey, APIBase: proxy.URL})
	inv := invoice()
	inv.Number, inv.Contract = "umbrella-corporation-004-2026-02", "umbrella-corporation-004"
	if _, err := c.Create(context.Background(), inv, "", func(string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	created := proxy.Requests()[3]
	if created.Path != "/v1/invoices" || created.Form.Has("number") || created.Form.Get("metadata[retainer_invoice]") != inv.Number ||
		!strings.Contains(created.Form.Get("description"), inv.Number) {
		t.Errorf("invoice %s %v", created.Path, created.Form)
	}
}

// An attempt that finds the Stripe invoice an earlier one created finishes
// it: no customer, no second invoice; the items the draft lacks, then the
// finalize, under the same idempotency keys as the first attempt.
func TestCreateResumes(t *testing.T) {
	proxy := stripetest.NewProxy(t, stripetest.MockURL(t))
	c := payments.New(payments.Config{SecretKey: testKey, APIBase: proxy.URL})
	linked, err := c.Create(context.Background(), invoice(), "in_earlier", func(id string) error {
		t.Errorf("created called with %s on a resumed invoice", id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if linked.ID != "in_earlier" {
		t.Errorf("linked %+v", linked)
	}
	var calls []string
	for _, r := range proxy.Requests() {
		calls = append(calls, r.Method+" "+r.Path+" "+r.Header.Get("Idempotency-Key"))
	}
	want := []string{
		"GET /v1/invoices/in_earlier ",
		"GET /v1/invoiceitems ", // which items it has (stripe-mock's fixture: none of ours)
		"POST /v1/invoiceitems retainer-acme-001-2026-02-item-0",
		"POST /v1/invoiceitems retainer-acme-001-2026-02-item-1",
		"POST /v1/invoiceitems retainer-acme-001-2026-02-item-2",
		"POST /v1/invoices/in_earlier/finalize retainer-acme-001-2026-02-finalize",
	}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
}

// What Stripe answers decides whether the step is retried: only a request
// Stripe refuses as invalid is given up. No error names the key.
func TestCreateFailures(t *testing.T) {
	proxy := stripetest.NewProxy(t, stripetest.MockURL(t))
	c := payments.New(payments.Config{SecretKey: testKey, APIBase: proxy.URL})
	stripeErr := func(typ, msg string) string {
		return `{"error":{"type":"` + typ + `","message":"` + msg + `"}}`
	}
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		permanent bool
	}{
		{"invalid request", 400, stripeErr("invalid_request_error", "Invalid currency: xts"), true},
		{"idempotency conflict, over when the key expires", 400, stripeErr("idempotency_error", "Keys for idempotent requests can only be used with the same parameters"), false},
		{"key refused: fixed and reloaded", 401, stripeErr("invalid_request_error", "Invalid API Key provided"), false},
		{"rate limited", 429, stripeErr("invalid_request_error", "Too many requests"), false},
		{"Stripe error", 500, stripeErr("api_error", "Something went wrong"), false},
		{"unavailable", 503, `<html>upstream connect error</html>`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy.Fail(func(r stripetest.Request) (int, string) {
				if r.Method == http.MethodPost && r.Path == "/v1/invoices" {
					return tc.status, tc.body
				}
				return 0, ""
			})
			_, err := c.Create(context.Background(), invoice(), "", func(string) error { return nil })
			if err == nil {
				t.Fatal("no error")
			}
			if payments.Permanent(err) != tc.permanent {
				t.Errorf("Permanent(%v) = %v", err, !tc.permanent)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("the error names the key: %v", err)
			}
		})
	}
	proxy.Fail(nil)

	// A key Stripe refuses: its answer quotes the key, the error does not.
	badKey := "sk_test_not_a_valid_key"
	_, err := payments.New(payments.Config{SecretKey: badKey, APIBase: proxy.URL}).Create(context.Background(), invoice(), "", func(string) error { return nil })
	var se *payments.Error
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized || payments.Permanent(err) || strings.Contains(err.Error(), badKey) {
		t.Errorf("refused key: %v", err)
	}

	// Stripe unreachable: retried.
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	_, err = payments.New(payments.Config{SecretKey: testKey, APIBase: down.URL}).Create(context.Background(), invoice(), "", func(string) error { return nil })
	if err == nil || payments.Permanent(err) || strings.Contains(err.Error(), testKey) {
		t.Errorf("Stripe down: %v (permanent %v)", err, payments.Permanent(err))
	}

	// An invoice Stripe cannot bill is refused before any request.
	proxy.Reset()
	for name, bad := range map[string]func(*payments.Invoice){
		"items and total disagree": func(i *payments.Invoice) { i.Total++ },
		"nobody to bill":           func(i *payments.Invoice) { i.Email = "" },
		"KWD 107.001: Stripe takes tens of fils only": func(i *payments.Invoice) {
			i.Currency, i.Items[2].Amount, i.Total = "KWD", 107001, 642001
		},
	} {
		inv := invoice()
		bad(&inv)
		if _, err := c.Create(context.Background(), inv, "", func(string) error { return nil }); err == nil || !payments.Permanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}
	if n := len(proxy.Requests()); n != 0 {
		t.Errorf("%d requests for invoices that cannot be billed", n)
	}
}

// pathShape hides the id in a path: /v1/invoices/in_123/finalize →
// /v1/invoices/{id}/finalize.
func pathShape(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) == 5 {
		parts[3] = "{id}"
	}
	return strings.Join(parts, "/")
}
