// Package jobs holds retainer's scheduled work — import, alerts, digest,
// check-ins, close, renewals, overdue reminders and outbox dispatch — and
// the daemon that runs it on robfig/cron schedules in the agency timezone.
//
// What is due and what is done lives in the store, never only in the
// scheduler: a run records itself in job_runs, every message it queues has
// an idempotency key, and a close is a no-op for a closed period. So a job
// that runs twice, late, or after a crash does its work once; missed closes
// are caught up at start, oldest first, and a digest or check-in missed by
// more than a day is skipped rather than sent late.
//
// The CLI's one-shot commands (`retainer alerts --send`, `close --send`, …)
// and `retainer run --once` call the same functions the scheduler does. Job
// code takes its time from one injected clock.
package jobs
