// Package notify tells people: it composes the alert, digest, reminder and
// statement messages (the figures and the statement itself come from
// report), keeps the outbox and dispatches it with retries, and owns the
// transports (SMTP, Slack, file). Message templates are loaded through
// report's loader, so an override in templates_dir is read and parsed the
// same way as a statement's.
package notify
