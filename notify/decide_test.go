package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"retainer/store"
)

// TestDecide reads like SPEC §8: what becomes of a message after one
// attempt, from its send error alone.
func TestDecide(t *testing.T) {
	now := time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)
	netErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	smtp4xx := errors.New("smtp: 421 4.3.0 try again later")
	smtp5xx := &PermanentError{Err: errors.New("smtp: 550 5.1.1 no such user")}
	tests := []struct {
		name       string
		err        error
		attempts   int
		jitter     float64
		wantStatus string
		wantNext   time.Duration // after now
		wantReason string        // a part of it; "" = none
	}{
		{"sent", nil, 1, 0, store.OutboxSent, 0, ""},
		{"sent on its last attempt", nil, 10, 0, store.OutboxSent, 0, ""},
		{"SMTP 4xx: retried after the backoff", smtp4xx, 1, 0, store.OutboxPending, 15 * time.Second, "421"},
		{"SMTP 4xx, third attempt, full jitter", smtp4xx, 3, 0.999999, store.OutboxPending, 2 * time.Minute, "421"},
		{"SMTP 5xx: failed at once", smtp5xx, 1, 0, store.OutboxFailed, 0, "550"},
		{"network error: retried", fmt.Errorf("smtp: connecting to 127.0.0.1:25: %w", netErr), 2, 0, store.OutboxPending, 30 * time.Second, "connection refused"},
		{"timeout: retried", fmt.Errorf("smtp: %w", os.ErrDeadlineExceeded), 1, 0, store.OutboxPending, 15 * time.Second, "timeout"},
		{"lost after DATA: unknown, never resent", &AmbiguousError{Err: errors.New("smtp: closing SMTP DATA writer: EOF")}, 1, 0, store.OutboxUnknown, 0, "delivery unknown"},
		{"ambiguous on the last attempt: still unknown", &AmbiguousError{Err: errors.New("EOF")}, 10, 0, store.OutboxUnknown, 0, "delivery unknown"},
		{"Slack 429: the Retry-After when longer than the backoff", &RetryAfterError{After: 2 * time.Hour, Err: errors.New("slack webhook: 429")}, 1, 0, store.OutboxPending, 2 * time.Hour, "retry after 2h0m0s"},
		{"Slack 429: the backoff when longer than the Retry-After", &RetryAfterError{After: 3 * time.Second, Err: errors.New("slack webhook: 429")}, 1, 0, store.OutboxPending, 15 * time.Second, "retry after"},
		{"Slack 5xx: retried", errors.New("slack webhook: server error 503"), 4, 0, store.OutboxPending, 2 * time.Minute, "503"},
		{"Slack channel_not_found: failed", &PermanentError{Err: errors.New("slack chat.postMessage to #gone: channel_not_found")}, 1, 0, store.OutboxFailed, 0, "channel_not_found"},
		{"cancelled: retried, like any temporary failure", fmt.Errorf("smtp: %w", context.Canceled), 1, 0, store.OutboxPending, 15 * time.Second, "canceled"},
		{"temporary on the 10th attempt: gives up", smtp4xx, 10, 0, store.OutboxFailed, 0, "gave up after 10 attempts: smtp: 421"},
		{"Retry-After on the 10th attempt: gives up", &RetryAfterError{After: time.Minute, Err: errors.New("429")}, 10, 0, store.OutboxFailed, 0, "gave up after 10 attempts"},
		{"the backoff is capped at an hour", smtp4xx, 9, 0.999999, store.OutboxPending, time.Hour, "421"},
		{"obsolete (a reminder of an invoice paid since): cancelled, never retried", fmt.Errorf("payment reminder: the invoice is paid: %w", ErrObsolete), 1, 0, store.OutboxCancelled, 0, "paid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RetryPolicy{Jitter: tt.jitter}.Decide(tt.err, tt.attempts, now)
			if got.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s (%+v)", got.Status, tt.wantStatus, got)
			}
			if d := got.Next.Sub(now).Round(time.Second); d != tt.wantNext {
				t.Errorf("next = now+%s, want now+%s", d, tt.wantNext)
			}
			if (tt.wantReason == "") != (got.Reason == "") || !strings.Contains(got.Reason, tt.wantReason) {
				t.Errorf("reason = %q, want %q in it", got.Reason, tt.wantReason)
			}
		})
	}
	// MaxAttempts is configurable.
	if got := (RetryPolicy{MaxAttempts: 2}).Decide(smtp4xx, 2, now); got.Status != store.OutboxFailed {
		t.Errorf("2nd of 2 attempts: %+v, want failed", got)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err       error
		want      Class
		wantAfter time.Duration
	}{
		{errors.New("x"), Temporary, 0},
		{&PermanentError{Err: errors.New("x")}, Permanent, 0},
		{fmt.Errorf("wrapped: %w", &PermanentError{Err: errors.New("x")}), Permanent, 0},
		{&AmbiguousError{Err: errors.New("x")}, Ambiguous, 0},
		{&RetryAfterError{After: time.Minute, Err: errors.New("x")}, Temporary, time.Minute},
		{context.DeadlineExceeded, Temporary, 0},
	}
	for _, tt := range tests {
		if c, after := Classify(tt.err); c != tt.want || after != tt.wantAfter {
			t.Errorf("Classify(%v) = %s %s, want %s %s", tt.err, c, after, tt.want, tt.wantAfter)
		}
	}
}
