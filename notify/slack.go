package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"retainer/store"
)

// defaultSlackRetryAfter is the wait asked for after a 429 that carried no
// usable Retry-After header.
const defaultSlackRetryAfter = 30 * time.Second

// slackWebhookTo is the Message.To value that selects the incoming webhook.
const slackWebhookTo = "webhook"

// DefaultSlackAPIURL is where bot-token calls go unless SlackConfig.APIURL
// says otherwise (notify.slack.api_url).
const DefaultSlackAPIURL = "https://slack.com/api/"

// SlackConfig configures the Slack transport: an incoming webhook, a bot
// token, or both.
type SlackConfig struct {
	WebhookURL string // incoming webhook; or
	Token      string // bot token, with
	Channel    string // default channel for the bot token
	APIURL     string // where bot-token calls go (slack.OptionAPIURL); "" = DefaultSlackAPIURL
	HTTP       *http.Client
	// Posts (nil: none) is the outbox, asked before a message with After
	// or Thread goes and told the ts of every bot-token post: a long
	// digest's parts then go in order, threaded under the first.
	Posts PostLog
}

// PostLog is what the Slack transport needs of the outbox to send a
// digest's parts in order and threaded (*store.DB implements it).
type PostLog interface {
	// RemoteID returns the status of the message key on channel, and the
	// id its transport gave it (Slack's ts; "" when none); an error
	// matching store.ErrNotFound when no such message is queued.
	RemoteID(ctx context.Context, key, channel string) (status, remoteID string, err error)
	// SetRemoteID keeps the id the transport gave message id.
	SetRemoteID(ctx context.Context, id int64, remoteID string) error
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
	posts      PostLog
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
		posts:      cfg.Posts,
	}
	if cfg.Token != "" {
		apiURL := cfg.APIURL
		if apiURL == "" {
			apiURL = DefaultSlackAPIURL
		}
		if !strings.HasSuffix(apiURL, "/") {
			apiURL += "/" // slack-go appends the method name as is
		}
		// No OptionRetry: the dispatcher owns retries.
		s.api = slack.New(cfg.Token, slack.OptionHTTPClient(hc), slack.OptionAPIURL(apiURL))
	}
	return s
}

// Send posts m. m.To[0] names the channel for the bot token (cfg.Channel
// when To is empty); "webhook" (or no token) selects the incoming webhook.
// A message with After waits (a temporary error) until that message is
// done; with a bot token, one with Thread is posted in the thread of that
// message's post. Errors follow the Sender contract: *PermanentError,
// *RetryAfterError, or a plain (temporary) error, and keep Slack's reason
// (the error code, the webhook's answer). No error carries the token or the
// webhook URL.
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
		if err := s.turn(ctx, m); err != nil {
			return err
		}
		return s.sendWebhook(ctx, m.Text, blocks)
	case s.api != nil:
		if to == "" {
			to = s.channel
		}
		if to == "" {
			return &PermanentError{Err: errors.New("slack: no channel: message has no recipient and no default channel is configured")}
		}
		if err := s.turn(ctx, m); err != nil {
			return err
		}
		thread, err := s.threadTS(ctx, m)
		if err != nil {
			return err
		}
		ts, err := s.sendBot(ctx, to, m.Text, blocks, thread)
		if err != nil {
			return err
		}
		s.keepTS(ctx, m, ts)
		return nil
	default:
		return &PermanentError{Err: errors.New("slack: neither a bot token nor an incoming webhook is configured")}
	}
}

// turn is nil when m may go now: it has no After, or that message is done
// (sent, failed or unknown) or not queued at all. Otherwise it is a
// temporary error: m is tried again later, after the message before it.
func (s *Slack) turn(ctx context.Context, m *Message) error {
	if m.After == "" || s.posts == nil {
		return nil
	}
	status, _, err := s.posts.RemoteID(ctx, m.After, ChannelSlack)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("slack: %s waits for %s: %w", m.Key, m.After, err)
	case status == store.OutboxPending || status == store.OutboxSending:
		return fmt.Errorf("slack: %s waits for %s to go first (it is %s)", m.Key, m.After, status)
	}
	return nil
}

// threadTS is the ts of the post m replies to, "" when m starts no
// thread's reply or that post's ts is not known (it failed, or went out
// before ts were kept): then m is posted on its own, in order all the same.
func (s *Slack) threadTS(ctx context.Context, m *Message) (string, error) {
	if m.Thread == "" || s.posts == nil {
		return "", nil
	}
	_, ts, err := s.posts.RemoteID(ctx, m.Thread, ChannelSlack)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("slack: thread of %s: %w", m.Key, err)
	}
	return ts, nil
}

// keepTS records the ts Slack gave m. It outlives a shutdown that comes
// just after the post; a failure is not m's: m went out, and only the
// threading of a later part is lost.
func (s *Slack) keepTS(ctx context.Context, m *Message, ts string) {
	if s.posts == nil || m.ID == 0 || ts == "" {
		return
	}
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = s.posts.SetRemoteID(kctx, m.ID, ts)
}

func (s *Slack) sendBot(ctx context.Context, channel, text string, blocks *slack.Blocks, threadTS string) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if blocks != nil {
		opts = append(opts, slack.MsgOptionBlocks(blocks.BlockSet...))
	}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	_, ts, err := s.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", s.classify("slack chat.postMessage to "+channel, err)
	}
	return ts, nil
}

// sendWebhook posts to the incoming webhook itself rather than through
// slack-go, whose PostWebhook discards the body of a refusal: Slack's
// reason (invalid_blocks, no_text, no_service, channel_is_archived) is that
// body, and it is what the outbox shows.
func (s *Slack) sendWebhook(ctx context.Context, text string, blocks *slack.Blocks) error {
	const op = "slack webhook"
	body, err := json.Marshal(&slack.WebhookMessage{Text: text, Blocks: blocks})
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("%s: encode message: %w", op, err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.webhookURL, bytes.NewReader(body))
	if err != nil {
		return &PermanentError{Err: s.redact(op, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return s.classify(op, err)
	}
	defer resp.Body.Close()
	reason, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return s.webhookError(op, resp, reason)
}

// webhookError classifies a webhook's refusal, keeping its reason: 429 is
// a rate limit (Retry-After when usable); 408 and 5xx are temporary; any
// other 4xx is permanent — 400 invalid_payload, invalid_blocks or no_text,
// 403 invalid_token or action_prohibited, 404 no_service or
// channel_not_found, 410 channel_is_archived (api.slack.com/changelog/
// 2016-05-17-changes-to-errors-for-incoming-webhooks).
func (s *Slack) webhookError(op string, resp *http.Response, reason []byte) error {
	msg := fmt.Sprintf("%s: HTTP %d", op, resp.StatusCode)
	if r := oneLine(string(reason), 300); r != "" {
		msg += ": " + r
	}
	safe := &slackError{msg: s.scrub(msg)}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		after := defaultSlackRetryAfter
		if n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && n > 0 {
			after = time.Duration(n) * time.Second
		}
		return &RetryAfterError{After: after, Err: safe}
	case code == http.StatusRequestTimeout || code >= 500:
		return safe
	case code >= 400:
		return &PermanentError{Err: safe}
	}
	return safe // a 1xx or 3xx the client did not follow: try again
}

// oneLine is s on one line, at most n bytes (cut at a rune boundary).
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// permanentSlackErrors are chat.postMessage error codes a retry cannot fix
// (docs.slack.dev/reference/methods/chat.postMessage, "Errors"; and
// msg_blocks_too_long, which Slack does not list: see blocks.go).
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
	"msg_blocks_too_long":     true,
	"invalid_blocks":          true,
	"invalid_blocks_format":   true,
	"no_text":                 true,
	"too_many_attachments":    true,
	"restricted_action":       true,
	"invalid_arguments":       true,
	"team_access_not_granted": true,
	"no_service":              true,
}

// classify turns a slack-go error into the Sender contract, with every
// secret stripped from the message.
func (s *Slack) classify(op string, err error) error {
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		after := rl.RetryAfter
		if after <= 0 {
			after = defaultSlackRetryAfter
		}
		return &RetryAfterError{After: after, Err: s.redact(op, err)}
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		safe := s.redact(op, err)
		switch {
		case sc.Code == http.StatusTooManyRequests:
			return &RetryAfterError{After: defaultSlackRetryAfter, Err: safe}
		case sc.Code == http.StatusRequestTimeout:
			return safe
		case sc.Code >= 400 && sc.Code < 500:
			return &PermanentError{Err: safe}
		}
		return safe // 5xx and anything else: temporary
	}
	// checkStatusCode fails on a 429 whose Retry-After is not an integer
	// (an HTTP date, "1.5"): still a rate limit, so wait the default.
	if ne, ok := errors.AsType[*strconv.NumError](err); ok && ne.Func == "ParseInt" {
		return &RetryAfterError{After: defaultSlackRetryAfter, Err: s.redact(op, err)}
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		// Slack's reason is its error code, and for invalid_blocks the
		// response_metadata messages that say which block is wrong.
		msg := op + ": " + se.Err
		if ms := se.ResponseMetadata.Messages; len(ms) > 0 {
			msg += " (" + oneLine(strings.Join(ms[:min(len(ms), 3)], "; "), 400) + ")"
		}
		safe := &slackError{msg: s.scrub(msg), err: s.cleanOrNil(err)}
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
	return s.redact(op, err)
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
				// Its last segment alone is the secret part.
				if i := strings.LastIndex(strings.TrimSuffix(u.Path, "/"), "/"); i >= 0 {
					if last := strings.Trim(u.Path[i:], "/"); len(last) >= 8 {
						out = append(out, last)
					}
				}
			}
			if u.RawQuery != "" {
				out = append(out, u.RawQuery)
			}
		}
	}
	return out
}

// ValidateBlocks checks a message's blocks against Slack's limits: at most
// 50 blocks; a section's text at most 3,000 characters, its fields at most
// 10 of 2,000; a header's text at most 150; and the whole message at most
// maxSlackBlockText by blockTextCost (beyond it chat.postMessage answers
// msg_blocks_too_long). Characters are counted as slackLen does. blocks must
// be a JSON array of objects with a "type".
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
				if n := slackLen(b.Text.Text); n > maxSlackSectionText {
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
				if n := slackLen(f.Text); n > maxSlackFieldText {
					return fmt.Errorf("blocks[%d].fields[%d]: %d characters, Slack allows at most %d", i, j, n, maxSlackFieldText)
				}
			}
			if b.Text == nil && len(b.Fields) == 0 {
				return fmt.Errorf("blocks[%d]: section has neither text nor fields", i)
			}
		case "header":
			if b.Text != nil {
				if n := slackLen(b.Text.Text); n > maxSlackHeaderText {
					return fmt.Errorf("blocks[%d]: header text is %d characters, Slack allows at most %d", i, n, maxSlackHeaderText)
				}
			}
		}
	}
	cost, n, err := blockTextCost(blocks)
	if err != nil {
		return err
	}
	if cost > maxSlackBlockText {
		return fmt.Errorf("blocks: %d characters of block text (counting %d a block for its %d blocks), Slack refuses more than about %d (msg_blocks_too_long)",
			cost, slackBlockAllowance, n, maxSlackBlockText)
	}
	return nil
}
