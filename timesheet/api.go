package timesheet

// Shared HTTP code for the tracker API clients (harvest_api.go, toggl_api.go):
// one GET with JSON decoding, retried on 429 (honouring Retry-After), 5xx and
// network errors with exponential backoff and jitter; every other 4xx is a
// permanent *StatusError. No error text ever contains the API token.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"retainer/billing"
)

// Source names: the Entry.Format (and store source) of entries read from a
// tracker API rather than from an export file.
const (
	SourceHarvestAPI = "api-harvest"
	SourceTogglAPI   = "api-toggl"
)

// Change is one entry from an API: an upsert, or (Deleted) a removal by
// Entry.ExternalID.
type Change struct {
	Entry   Entry
	Deleted bool
}

// StatusError is a non-2xx answer from a tracker API. Its text names the
// source, the request path (never the query or a credential) and the status.
type StatusError struct {
	Source     string        // SourceHarvestAPI or SourceTogglAPI
	Path       string        // URL path of the request
	Status     int           // HTTP status code
	RetryAfter time.Duration // a 429's Retry-After; 0 when absent
	Detail     string        // start of the response body, token redacted
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: GET %s: HTTP %d %s", e.Source, e.Path, e.Status, http.StatusText(e.Status))
	if hint := statusHint(e.Status); hint != "" {
		s += " (" + hint + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Permanent reports whether retrying cannot help: every 4xx except 408 and 429.
func (e *StatusError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}

func statusHint(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "unauthorized: check the API token"
	case http.StatusPaymentRequired:
		return "API quota used up for this hour"
	case http.StatusForbidden:
		return "forbidden: check the token and the account or workspace id"
	case http.StatusNotFound:
		return "not found: check base_url and the account or workspace id"
	case http.StatusTooManyRequests:
		return "rate limited"
	}
	return ""
}

// ErrRetriesExhausted wraps the last error once every retry has failed.
var ErrRetriesExhausted = errors.New("giving up after retries")

const (
	defaultHTTPTimeout = 30 * time.Second
	defaultMaxRetries  = 5
	backoffBase        = time.Second
	backoffCap         = 2 * time.Minute
	maxRetryAfter      = time.Hour // a longer Retry-After is waited as an hour
	maxBodyBytes       = 64 << 20  // a Harvest page of 2000 entries is a few MB
	detailBytes        = 200
	userAgent          = "retainer (retainer time import)"
)

// apiClient is what HarvestAPI and TogglAPI share: transport, retry policy
// and authentication.
type apiClient struct {
	source     string
	http       *http.Client
	sleep      func(ctx context.Context, d time.Duration) error
	maxRetries int
	token      string
	header     func(h http.Header) // sets authentication and required headers
}

func newAPIClient(source string, hc *http.Client, sleep func(context.Context, time.Duration) error, maxRetries int, token string, header func(http.Header)) *apiClient {
	if hc == nil {
		hc = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if sleep == nil {
		sleep = sleepContext
	}
	if maxRetries == 0 {
		maxRetries = defaultMaxRetries
	}
	if maxRetries < 0 {
		maxRetries = 0
	}
	return &apiClient{source: source, http: hc, sleep: sleep, maxRetries: maxRetries, token: token, header: header}
}

// sleepContext waits d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff is the wait before retry number attempt (0-based): full-range
// jitter over [d/2, d) with d = base·2^attempt, capped.
func backoff(attempt int) time.Duration {
	d := backoffCap
	if attempt < 20 {
		d = min(backoffBase<<attempt, backoffCap)
	}
	return d/2 + rand.N(d/2)
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date, the
// latter against now, the response's Date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil && !now.IsZero() {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false // a date without the server's own Date to read it against
}

// getJSON GETs rawURL and decodes the JSON body into v, retrying what can be
// retried.
func (c *apiClient) getJSON(ctx context.Context, rawURL string, v any) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%s: bad URL: %w", c.source, err)
	}
	var last error
	for attempt := 0; ; attempt++ {
		body, wait, err := c.try(ctx, u)
		if err == nil {
			if err := json.Unmarshal(body, v); err != nil {
				return fmt.Errorf("%s: GET %s: decode response: %w", c.source, u.Path, err)
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: GET %s: %w", c.source, u.Path, ctx.Err())
		}
		var se *StatusError
		if errors.As(err, &se) && se.Permanent() {
			return err
		}
		last = err
		if attempt >= c.maxRetries {
			break
		}
		if wait <= 0 {
			wait = backoff(attempt)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: GET %s: waiting to retry: %w", c.source, u.Path, err)
		}
	}
	return fmt.Errorf("%w (%d attempts): %w", ErrRetriesExhausted, c.maxRetries+1, last)
}

// try makes one request. It returns the body on a 2xx; otherwise an error
// and, for a 429 with Retry-After, how long to wait.
func (c *apiClient) try(ctx context.Context, u *url.URL) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, c.redact(fmt.Errorf("%s: GET %s: %w", c.source, u.Path, err))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	c.header(req.Header)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, c.redact(fmt.Errorf("%s: GET %s: %w", c.source, u.Path, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return nil, 0, c.redact(fmt.Errorf("%s: GET %s: read response: %w", c.source, u.Path, err))
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if len(body) > maxBodyBytes {
			return nil, 0, &StatusError{Source: c.source, Path: u.Path, Status: resp.StatusCode, Detail: "response larger than 64 MiB"}
		}
		return body, 0, nil
	}
	se := &StatusError{Source: c.source, Path: u.Path, Status: resp.StatusCode, Detail: c.detail(body)}
	if resp.StatusCode == http.StatusTooManyRequests {
		// An HTTP-date Retry-After is read against the server's own Date.
		served, _ := http.ParseTime(resp.Header.Get("Date"))
		se.RetryAfter, _ = parseRetryAfter(resp.Header.Get("Retry-After"), served)
	}
	return nil, se.RetryAfter, se
}

// detail is the start of an error body, on one line, without the token.
func (c *apiClient) detail(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if c.token != "" {
		s = strings.ReplaceAll(s, c.token, "[redacted]")
	}
	if len(s) > detailBytes {
		s = strings.ToValidUTF8(s[:detailBytes], "") + "…"
	}
	return s
}

// redact hides the token should a transport error ever quote it.
func (c *apiClient) redact(err error) error {
	if c.token == "" || !strings.Contains(err.Error(), c.token) {
		return err
	}
	return &redactedError{err: err, token: c.token}
}

type redactedError struct {
	err   error
	token string
}

func (e *redactedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.token, "[redacted]")
}
func (e *redactedError) Unwrap() error { return e.err }

// sameOrigin reports whether next points at base's scheme and host, so a
// pagination link can never send the credentials elsewhere.
func sameOrigin(base, next *url.URL) bool {
	return strings.EqualFold(base.Scheme, next.Scheme) && strings.EqualFold(base.Host, next.Host)
}

// apiText refuses a tracker entry whose text holds a NUL byte (which
// PostgreSQL refuses) and cleans the rest as an export's rows are: names
// on one line without format characters (billing.CleanName), notes
// without control characters but their line breaks (billing.CleanNotes).
// JSON has already made any invalid UTF-8 into U+FFFD.
func apiText(e *Entry) error {
	for _, f := range []struct {
		name string
		v    *string
	}{{"client", &e.Client}, {"project", &e.Project}, {"project code", &e.ProjectCode}, {"task", &e.Task}, {"user", &e.User}, {"notes", &e.Notes}} {
		if strings.IndexByte(*f.v, 0) >= 0 {
			return fmt.Errorf("%s %w", f.name, billing.ErrNUL)
		}
		if f.name == "notes" {
			*f.v = billing.CleanNotes(*f.v)
		} else {
			*f.v = billing.CleanName(*f.v)
		}
	}
	return nil
}
