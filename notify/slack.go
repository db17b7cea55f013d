package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Slack's Block Kit limits checked by ValidateBlocks.
const (
	maxSlackBlocks        = 50
	maxSlackSectionText   = 3000
	maxSlackSectionFields = 10
	maxSlackFieldText     = 2000
	maxSlackHeaderText    = 150
)

// defaultSlackRetryAfter is the wait asked for after a 429 that carried no
// usable Retry-After header.
const defaultSlackRetryAfter = 30 * time.Second

// slackWebhookTo is the Message.To value that selects the incoming webhook.
const slackWebhookTo = "webhook"

// SlackConfig configures the Slack transport: an incoming webhook, a bot
// token, or both.
type SlackConfig struct {
	WebhookURL string // incoming webhook; or
	Token      string // bot token, with
	Channel    string // default channel for the bot token
	APIURL     string // override for tests (slack.OptionAPIURL, with trailing slash)
	HTTP       *http.Client
}

// Slack delivers messages of ChannelSlack through chat.postMessage (bot
// token) or an incoming webhook. It makes exactly one HTTP attempt per Send:
// retries belong to the dispatcher.
type Slack struct {
	webhookURL string
	token      string
	channel    string
	http       *http.Client
	api        *slack.Client // nil without a token
}

var _ Sender = (*Slack)(nil)

// NewSlack returns a Slack sender. A nil cfg.HTTP gets a client with a 30 s
// timeout.
func NewSlack(cfg SlackConfig) *Slack {
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	s := &Slack{
		webhookURL: cfg.WebhookURL,
		token:      cfg.Token,
		channel:    cfg.Channel,
		http:       hc,
	}
	if cfg.Token != "" {
		opts := []slack.Option{slack.OptionHTTPClient(hc)}
		if cfg.APIURL != "" {
			opts = append(opts, slack.OptionAPIURL(cfg.APIURL))
		}
		// No OptionRetry: the dispatcher owns retries.
		s.api = slack.New(cfg.Token, opts...)
	}
	return s
}

// Send posts m. m.To[0] names the channel for the bot token (cfg.Channel
// when To is empty); "webhook" (or no token) selects the incoming webhook.
// Errors follow the Sender contract: *PermanentError, *RetryAfterError, or
// a plain (temporary) error. No error carries the token or the webhook URL.
func (s *Slack) Send(ctx context.Context, m *Message) error {
	if m == nil {
		return &PermanentError{Err: errors.New("slack: nil message")}
	}
	var blocks *slack.Blocks
	if len(bytes.TrimSpace(m.Blocks)) > 0 {
		if err := ValidateBlocks(m.Blocks); err != nil {
			return &PermanentError{Err: fmt.Errorf("slack: %w", err)}
		}
		var b slack.Blocks
		if err := b.UnmarshalJSON(m.Blocks); err != nil {
			return &PermanentError{Err: fmt.Errorf("slack: decode blocks: %w", err)}
		}
		if len(b.BlockSet) > 0 {
			blocks = &b
		}
	}
	if strings.TrimSpace(m.Text) == "" && blocks == nil {
		return &PermanentError{Err: errors.New("slack: message has neither text nor blocks")}
	}

	to := ""
	if len(m.To) > 0 {
		to = strings.TrimSpace(m.To[0])
	}
	switch {
	case to == slackWebhookTo || (s.api == nil && s.webhookURL != ""):
		if s.webhookURL == "" {
			return &PermanentError{Err: errors.New("slack: no incoming webhook configured")}
		}
		return s.sendWebhook(ctx, m.Text, blocks)
	case s.api != nil:
		if to == "" {
			to = s.channel
		}
		if to == "" {
			return &PermanentError{Err: errors.New("slack: no channel: message has no recipient and no default channel is configured")}
		}
		return s.sendBot(ctx, to, m.Text, blocks)
	default:
		return &PermanentError{Err: errors.New("slack: neither a bot token nor an incoming webhook is configured")}
	}
}

func (s *Slack) sendBot(ctx context.Context, channel, text string, blocks *slack.Blocks) error {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if blocks != nil {
		opts = append(opts, slack.MsgOptionBlocks(blocks.BlockSet...))
	}
	_, _, err := s.api.PostMessageContext(ctx, channel, opts...)
	if err == nil {
		return nil
	}
	return s.classify("slack chat.postMessage to "+channel, err)
}

func (s *Slack) sendWebhook(ctx context.Context, text string, blocks *slack.Blocks) error {
	msg := &slack.WebhookMessage{Text: text, Blocks: blocks}
	err := slack.PostWebhookCustomHTTPContext(ctx, s.webhookURL, s.http, msg)
	if err == nil {
		return nil
	}
	return s.classify("slack webhook", err)
}

// permanentSlackErrors are chat.postMessage error codes a retry cannot fix.
var permanentSlackErrors = map[string]bool{
	"channel_not_found":       true,
	"not_in_channel":          true,
	"invalid_auth":            true,
	"not_authed":              true,
	"account_inactive":        true,
	"token_revoked":           true,
	"token_expired":           true,
	"missing_scope":           true,
	"is_archived":             true,
	"channel_is_archived":     true,
	"msg_too_long":            true,
	"invalid_blocks":          true,
	"invalid_blocks_format":   true,
	"no_text":                 true,
	"too_many_attachments":    true,
	"restricted_action":       true,
	"invalid_arguments":       true,
	"team_access_not_granted": true,
}

// classify turns a slack-go error into the Sender contract, with every
// secret stripped from the message.
func (s *Slack) classify(op string, err error) error {
	safe := s.redact(op, err)

	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		after := rl.RetryAfter
		if after <= 0 {
			after = defaultSlackRetryAfter
		}
		return &RetryAfterError{After: after, Err: safe}
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		switch {
		case sc.Code == http.StatusTooManyRequests:
			return &RetryAfterError{After: defaultSlackRetryAfter, Err: safe}
		case sc.Code == http.StatusRequestTimeout:
			return safe
		case sc.Code >= 400 && sc.Code < 500:
			// Webhooks answer 400 invalid_payload, 403 invalid_token,
			// 404 no_service, 410 channel_is_archived.
			return &PermanentError{Err: safe}
		}
		return safe // 5xx and anything else: temporary
	}
	// checkStatusCode fails on a 429 whose Retry-After is not an integer
	// (an HTTP date, "1.5"): still a rate limit, so wait the default.
	if ne, ok := errors.AsType[*strconv.NumError](err); ok && ne.Func == "ParseInt" {
		return &RetryAfterError{After: defaultSlackRetryAfter, Err: safe}
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		if permanentSlackErrors[se.Err] {
			return &PermanentError{Err: safe}
		}
		if se.Err == "ratelimited" || se.Err == "rate_limited" {
			return &RetryAfterError{After: defaultSlackRetryAfter, Err: safe}
		}
		return safe
	}
	// Network errors, timeouts, a cancelled context, an unreadable
	// response: temporary.
	return safe
}

// slackError is an error whose message has been stripped of the token and
// the webhook URL. It unwraps to the original error only when that error's
// message is clean, so errors.As cannot dig a secret back out.
type slackError struct {
	msg string
	err error
}

func (e *slackError) Error() string { return e.msg }
func (e *slackError) Unwrap() error { return e.err }

func (s *Slack) redact(op string, err error) error {
	// A *url.Error prints the request URL, which for a webhook is the
	// secret: keep only its operation and cause.
	if ue, ok := errors.AsType[*url.Error](err); ok {
		msg := s.scrub(fmt.Sprintf("%s: %s [url redacted]: %v", op, ue.Op, ue.Err))
		return &slackError{msg: msg, err: s.cleanOrNil(ue.Err)}
	}
	msg := s.scrub(op + ": " + err.Error())
	return &slackError{msg: msg, err: s.cleanOrNil(err)}
}

func (s *Slack) cleanOrNil(err error) error {
	if err == nil {
		return nil
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if _, ok := e.(*url.Error); ok {
			return nil
		}
		if m := e.Error(); s.scrub(m) != m {
			return nil
		}
	}
	return err
}

// scrub replaces every secret in m.
func (s *Slack) scrub(m string) string {
	for _, secret := range s.secrets() {
		m = strings.ReplaceAll(m, secret, "[redacted]")
	}
	return m
}

func (s *Slack) secrets() []string {
	var out []string
	if s.token != "" {
		out = append(out, s.token)
	}
	if s.webhookURL != "" {
		out = append(out, s.webhookURL)
		if u, err := url.Parse(s.webhookURL); err == nil {
			// The path (/services/T…/B…/secret) is what grants access;
			// also catch it percent-encoded or without the scheme.
			if u.Path != "" && u.Path != "/" {
				out = append(out, u.Path)
				if p := u.EscapedPath(); p != u.Path {
					out = append(out, p)
				}
			}
			if u.RawQuery != "" {
				out = append(out, u.RawQuery)
			}
		}
	}
	return out
}

// ValidateBlocks checks Slack's limits: at most 50 blocks, a section's text at
// most 3000 characters. It also checks a section's fields (at most 10, each at
// most 2000 characters) and a header's text (at most 150 characters). blocks
// must be a JSON array of objects with a "type".
func ValidateBlocks(blocks []byte) error {
	if len(bytes.TrimSpace(blocks)) == 0 {
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(blocks, &raw); err != nil {
		return fmt.Errorf("blocks: not a JSON array: %w", err)
	}
	if len(raw) > maxSlackBlocks {
		return fmt.Errorf("blocks: %d blocks, Slack allows at most %d", len(raw), maxSlackBlocks)
	}
	type text struct {
		Text string `json:"text"`
	}
	type block struct {
		Type   string  `json:"type"`
		Text   *text   `json:"text"`
		Fields []*text `json:"fields"`
	}
	for i, r := range raw {
		var b block
		if err := json.Unmarshal(r, &b); err != nil {
			return fmt.Errorf("blocks[%d]: %w", i, err)
		}
		if b.Type == "" {
			return fmt.Errorf("blocks[%d]: no type", i)
		}
		switch b.Type {
		case "section":
			if b.Text != nil {
				if n := utf8.RuneCountInString(b.Text.Text); n > maxSlackSectionText {
					return fmt.Errorf("blocks[%d]: section text is %d characters, Slack allows at most %d", i, n, maxSlackSectionText)
				}
			}
			if len(b.Fields) > maxSlackSectionFields {
				return fmt.Errorf("blocks[%d]: section has %d fields, Slack allows at most %d", i, len(b.Fields), maxSlackSectionFields)
			}
			for j, f := range b.Fields {
				if f == nil {
					continue
				}
				if n := utf8.RuneCountInString(f.Text); n > maxSlackFieldText {
					return fmt.Errorf("blocks[%d].fields[%d]: %d characters, Slack allows at most %d", i, j, n, maxSlackFieldText)
				}
			}
			if b.Text == nil && len(b.Fields) == 0 {
				return fmt.Errorf("blocks[%d]: section has neither text nor fields", i)
			}
		case "header":
			if b.Text != nil {
				if n := utf8.RuneCountInString(b.Text.Text); n > maxSlackHeaderText {
					return fmt.Errorf("blocks[%d]: header text is %d characters, Slack allows at most %d", i, n, maxSlackHeaderText)
				}
			}
		}
	}
	return nil
}
