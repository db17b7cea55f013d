package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Channels a message goes out on.
const (
	ChannelEmail = "email"
	ChannelSlack = "slack"
)

// Message is one email or Slack message, as the outbox keeps it.
type Message struct {
	ID      int64
	Key     string   // idempotency key, unique per channel (SPEC §8)
	Channel string   // ChannelEmail or ChannelSlack
	To      []string // email addresses; for Slack the channel, or "webhook"
	From    string   // email From
	Subject string   // email subject
	Text    string   // plain text body; Slack's fallback text
	HTML    string   // email HTML alternative
	Blocks  []byte   // Slack Block Kit blocks, a JSON array
	Inline  []Inline // email inline parts, referenced from the HTML as cid:CID
	// Attachments are email files (a statement's PDF invoice).
	Attachments []Attachment
	Date        time.Time
	// After (Slack) is the key of the message that must be done — sent,
	// failed or unknown — before this one goes: a digest's parts go in
	// order. "" = none.
	After string
	// Thread (Slack, bot token) is the key of the message whose post this
	// one replies to, in its thread: a digest's first part. "" = none.
	Thread string
}

// Inline is an email part shown inside the HTML (a chart).
type Inline struct {
	CID         string
	Name        string
	ContentType string
	Data        []byte
}

// Attachment is a file attached to an email (Content-Disposition:
// attachment).
type Attachment struct {
	Name        string // the file name the recipient sees
	ContentType string // "" = from the name's extension
	Data        []byte
}

// MessageID is the email Message-ID derived from the key, so that a retry
// carries the same one.
func (m *Message) MessageID(domain string) string {
	sum := sha256.Sum256([]byte(m.Channel + "\x00" + m.Key))
	if domain == "" {
		domain = "retainer.invalid"
	}
	return hex.EncodeToString(sum[:12]) + "@" + domain
}

// Sender delivers messages of one channel. An error is temporary unless it
// is (or wraps) a *PermanentError; a *RetryAfterError says when to try
// again; an *AmbiguousError means the message may have been delivered.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// Preparer is a Sender that can do part of sending a message ahead of its
// turn, off the serial send path (SMTP: encoding the message to the bytes
// it writes after DATA). The dispatcher calls Prepare on its render
// workers, right after a message is rendered, and gives what it returned
// back to the Sender's SendBatch through the Handover (see
// PreparedHandover). What Prepare returns is the Sender's own, opaque to
// the dispatcher; nil means nothing was prepared. A message sent without
// it is prepared in its turn.
type Preparer interface {
	Prepare(m *Message) any
}

// PermanentError is a failure that a retry cannot fix (SMTP 5xx, an invalid
// Slack channel).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// RetryAfterError is a temporary failure with the wait the server asked for.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("retry after %s: %v", e.After, e.Err)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// AmbiguousError is a failure after the message was handed over (the SMTP
// connection lost after DATA): it may have arrived, so it is not resent
// without an operator's `retainer outbox retry`.
type AmbiguousError struct{ Err error }

func (e *AmbiguousError) Error() string { return "delivery unknown: " + e.Err.Error() }
func (e *AmbiguousError) Unwrap() error { return e.Err }
