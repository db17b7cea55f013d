package timesheet

// Shared HTTP code for the tracker API clients (harvest_api.go,
// toggl_api.go, clockify_api.go): one GET or POST with JSON decoding,
// retried on 429 (honouring Retry-After), 5xx and network errors with
// exponential backoff and jitter; every other 4xx is a permanent
// *StatusError (a 402 quota error included: it stops the run, it is never
// retried in a loop). A wait longer than maxRetryWait is not slept through:
// the run stops and the next one goes on. Every request carries a
// User-Agent that names a contact (UserAgent). No error text ever contains
// the API token.

import (
	"bytes"
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
	SourceHarvestAPI  = "api-harvest"
	SourceTogglAPI    = "api-toggl"
	SourceClockifyAPI = "api-clockify"
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
	Source     string        // SourceHarvestAPI, SourceTogglAPI or SourceClockifyAPI
	Method     string        // GET or POST; "" reads as GET
	Path       string        // URL path of the request
	Status     int           // HTTP status code
	RetryAfter time.Duration // a 429's Retry-After, or when a 402 quota resets; 0 when unknown
	Detail     string        // start of the response body, token redacted
}

func (e *StatusError) Error() string {
	method := e.Method
	if method == "" {
		method = http.MethodGet
	}
	s := fmt.Sprintf("%s: %s %s: HTTP %d %s", e.Source, method, e.Path, e.Status, http.StatusText(e.Status))
	if hint := statusHint(e.Status); hint != "" {
		s += " (" + hint
		if e.RetryAfter > 0 {
			s += fmt.Sprintf("; try again in %s", e.RetryAfter.Round(time.Second))
		}
		s += ")"
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
		return "API quota used up for this hour; the run stops and the next one goes on where it stopped"
	case http.StatusForbidden:
		return "forbidden: check the token and the account or workspace id"
	case http.StatusNotFound:
		return "not found: check base_url and the account or workspace id"
	case http.StatusTooManyRequests:
		return "rate limited"
	case http.StatusBadRequest:
		return "request refused"
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
	maxRetryAfter      = time.Hour // a longer Retry-After is read as an hour
	// maxRetryWait is the longest wait slept through inside a run: a
	// longer Retry-After (a quota that resets in half an hour) ends the run
	// with the error, what was committed stays, and the next run goes on.
	maxRetryWait = 5 * time.Minute
	maxBodyBytes = 64 << 20 // a Harvest page of 2000 entries is a few MB
	detailBytes  = 200
	// defaultUserAgent is sent only when a client was built without one
	// (tests); the jobs always set UserAgent(agency name, agency email).
	defaultUserAgent = "retainer"
)

// UserAgent is the User-Agent of every tracker request: the application and
// a contact, as Harvest requires ("MyApp (you@example.com)", see
// harvest_api.go): the agency email, or the agency name when there is none.
// It is never "retainer ()".
func UserAgent(agencyName, agencyEmail string) string {
	contact := strings.TrimSpace(agencyEmail)
	if contact == "" {
		contact = strings.TrimSpace(agencyName)
	}
	contact = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '(' || r == ')' {
			return -1
		}
		return r
	}, contact)
	if contact == "" {
		return defaultUserAgent
	}
	return defaultUserAgent + " (" + contact + ")"
}

// apiClient is what the tracker clients share: transport, retry policy,
// User-Agent and authentication.
type apiClient struct {
	source     string
	http       *http.Client
	sleep      func(ctx context.Context, d time.Duration) error
	maxRetries int
	token      string
	userAgent  string
	header     func(h http.Header) // sets authentication and required headers
	// quotaHeader names the response header that says, in seconds, when a
	// 402 quota resets (Toggl: X-Toggl-Quota-Resets-In); "" = none.
	quotaHeader string
}

func newAPIClient(source string, hc *http.Client, sleep func(context.Context, time.Duration) error, maxRetries int, token, userAgent string, header func(http.Header)) *apiClient {
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
	if strings.TrimSpace(userAgent) == "" {
		userAgent = defaultUserAgent
	}
	return &apiClient{source: source, http: hc, sleep: sleep, maxRetries: maxRetries, token: token, userAgent: userAgent, header: header}
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
	_, err := c.do(ctx, http.MethodGet, rawURL, nil, v)
	return err
}

// postJSON POSTs body as JSON to rawURL and decodes the JSON answer into v.
// It returns the answer's headers (Toggl paginates through them). Only the
// report searches are POSTed, which read and change nothing, so a POST is
// retried as a GET is.
func (c *apiClient) postJSON(ctx context.Context, rawURL string, body, v any) (http.Header, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("%s: encode request: %w", c.source, err)
	}
	return c.do(ctx, http.MethodPost, rawURL, b, v)
}

func (c *apiClient) do(ctx context.Context, method, rawURL string, body []byte, v any) (http.Header, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: bad URL: %w", c.source, err)
	}
	var last error
	for attempt := 0; ; attempt++ {
		resp, wait, err := c.try(ctx, method, u, body)
		if err == nil {
			if err := json.Unmarshal(resp.body, v); err != nil {
				return nil, fmt.Errorf("%s: %s %s: decode response: %w", c.source, method, u.Path, err)
			}
			return resp.header, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", c.source, method, u.Path, ctx.Err())
		}
		var se *StatusError
		if errors.As(err, &se) && se.Permanent() {
			return nil, err
		}
		last = err
		if attempt >= c.maxRetries {
			break
		}
		if wait <= 0 {
			wait = backoff(attempt)
		}
		if wait > maxRetryWait {
			// Not slept through inside a job: this run stops here.
			return nil, err
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s: %s %s: waiting to retry: %w", c.source, method, u.Path, err)
		}
	}
	return nil, fmt.Errorf("%w (%d attempts): %w", ErrRetriesExhausted, c.maxRetries+1, last)
}

type answer struct {
	body   []byte
	header http.Header
}

// try makes one request. It returns the body on a 2xx; otherwise an error
// and, for a 429 with Retry-After, how long to wait.
func (c *apiClient) try(ctx context.Context, method string, u *url.URL, body []byte) (answer, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return answer{}, 0, c.redact(fmt.Errorf("%s: %s %s: %w", c.source, method, u.Path, err))
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	c.header(req.Header)
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, 0, c.redact(fmt.Errorf("%s: %s %s: %w", c.source, method, u.Path, err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return answer{}, 0, c.redact(fmt.Errorf("%s: %s %s: read response: %w", c.source, method, u.Path, err))
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if len(b) > maxBodyBytes {
			return answer{}, 0, &StatusError{Source: c.source, Method: method, Path: u.Path, Status: resp.StatusCode, Detail: "response larger than 64 MiB"}
		}
		return answer{body: b, header: resp.Header}, 0, nil
	}
	se := &StatusError{Source: c.source, Method: method, Path: u.Path, Status: resp.StatusCode, Detail: c.detail(b)}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		// An HTTP-date Retry-After is read against the server's own Date.
		served, _ := http.ParseTime(resp.Header.Get("Date"))
		se.RetryAfter, _ = parseRetryAfter(resp.Header.Get("Retry-After"), served)
	case http.StatusPaymentRequired:
		if c.quotaHeader != "" {
			se.RetryAfter, _ = parseRetryAfter(resp.Header.Get(c.quotaHeader), time.Time{})
		}
	}
	return answer{}, se.RetryAfter, se
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
