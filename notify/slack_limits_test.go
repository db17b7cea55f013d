package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"retainer/notify"
	"retainer/notify/notifytest"
	"retainer/store"
)

// blocksOfText is n sections of size characters each.
func blocksOfText(n, size int) []byte {
	bl := make([]map[string]any, n)
	for i := range bl {
		bl[i] = map[string]any{"type": "section", "text": map[string]string{"type": "plain_text", "text": strings.Repeat("x", size)}}
	}
	b, _ := json.Marshal(bl)
	return b
}

// TestSlackPermanentErrorsKeepReason: each of Slack's permanent refusals
// (SPEC §15) fails the message at once — one attempt, a *PermanentError —
// and its error, which becomes the outbox's last_error, names Slack's
// reason; never the token or the webhook URL.
func TestSlackPermanentErrorsKeepReason(t *testing.T) {
	tests := []struct {
		name    string
		webhook bool
		rec     *slackRecorder
		reason  string
	}{
		{"bot msg_blocks_too_long", false, &slackRecorder{respond: `{"ok":false,"error":"msg_blocks_too_long"}`}, "msg_blocks_too_long"},
		{"bot invalid_blocks with its messages", false, &slackRecorder{respond: `{"ok":false,"error":"invalid_blocks","errors":["must be less than 3001 characters [json-pointer:/blocks/2/text/text]"],"response_metadata":{"messages":["[ERROR] must be less than 3001 characters [json-pointer:/blocks/2/text/text]"]}}`}, "invalid_blocks ([ERROR] must be less than 3001 characters [json-pointer:/blocks/2/text/text])"},
		{"bot channel_not_found", false, &slackRecorder{respond: `{"ok":false,"error":"channel_not_found"}`}, "channel_not_found"},
		{"bot not_in_channel", false, &slackRecorder{respond: `{"ok":false,"error":"not_in_channel"}`}, "not_in_channel"},
		{"bot is_archived", false, &slackRecorder{respond: `{"ok":false,"error":"is_archived"}`}, "is_archived"},
		{"bot invalid_auth", false, &slackRecorder{respond: `{"ok":false,"error":"invalid_auth"}`}, "invalid_auth"},
		{"webhook 400 invalid_blocks", true, &slackRecorder{status: 400, respond: "invalid_blocks"}, "HTTP 400: invalid_blocks"},
		{"webhook 400 no_text", true, &slackRecorder{status: 400, respond: "no_text"}, "HTTP 400: no_text"},
		{"webhook 404 no_service", true, &slackRecorder{status: 404, respond: "no_service"}, "HTTP 404: no_service"},
		{"webhook 404 channel_not_found", true, &slackRecorder{status: 404, respond: "channel_not_found"}, "HTTP 404: channel_not_found"},
		{"webhook 410 channel_is_archived", true, &slackRecorder{status: 410, respond: "channel_is_archived"}, "HTTP 410: channel_is_archived"},
		{"webhook 403 echoing its URL", true, &slackRecorder{status: 403, respond: "invalid_token " + slackTestHookSecret}, "HTTP 403: invalid_token [redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s *notify.Slack
			hookURL := ""
			if tt.webhook {
				s, hookURL = newSlackHook(t, tt.rec)
			} else {
				s = newSlackBot(t, tt.rec)
			}
			err := s.Send(context.Background(), slackMsg())
			var p *notify.PermanentError
			if !errors.As(err, &p) {
				t.Fatalf("err = %v (%T), want *PermanentError", err, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %q, want it to keep Slack's reason %q", err, tt.reason)
			}
			if o := (notify.RetryPolicy{}).Decide(err, 1, time.Unix(0, 0)); o.Status != store.OutboxFailed || !strings.Contains(o.Reason, tt.reason) {
				t.Errorf("outcome %s %q, want failed at once with the reason", o.Status, o.Reason)
			}
			if calls, _, _ := tt.rec.snapshot(); calls != 1 {
				t.Errorf("calls = %d, want one attempt", calls)
			}
			checkNoSecrets(t, err, hookURL)
		})
	}
}

// TestSlackFakeServerLimits: the fake Slack answers as Slack does past its
// limits, and what retainer builds never reaches them: Send refuses it
// first, without posting.
func TestSlackFakeServerLimits(t *testing.T) {
	fake := notifytest.StartSlack(t, slackTestToken)
	bot := notify.NewSlack(notify.SlackConfig{Token: slackTestToken, Channel: "#ops", APIURL: fake.URL, HTTP: &http.Client{Timeout: 5 * time.Second}})
	hook := notify.NewSlack(notify.SlackConfig{WebhookURL: fake.HookURL, HTTP: &http.Client{Timeout: 5 * time.Second}})

	// Within: 4 sections of 2,700 characters, 10,800 of text, 11,300 by
	// the transport's measure (125 a block). 4 × 2,900 is 11,600 of text,
	// under the fake's 12,000, but 12,100 measured: refused before posting.
	ok := &notify.Message{Text: "fallback", Blocks: blocksOfText(4, 2700)}
	for name, s := range map[string]*notify.Slack{"bot": bot, "webhook": hook} {
		if err := s.Send(context.Background(), ok); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for _, tc := range []struct {
			blocks []byte
			want   string
		}{
			{blocksOfText(5, 2500), "msg_blocks_too_long"},                 // 12,500 characters of text
			{blocksOfText(51, 10), "Slack allows at most 50"},              // 51 blocks
			{blocksOfText(1, 3001), "Slack allows at most 3000"},           // one section too long
			{blocksOfText(4, 2900), "Slack refuses more than about 12000"}, // 11,600 of text, 12,100 measured
		} {
			err := s.Send(context.Background(), &notify.Message{Text: "x", Blocks: tc.blocks})
			if class, _ := notify.Classify(err); err == nil || class != notify.Permanent || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: err = %v (%s), want permanent, saying %q", name, err, class, tc.want)
			}
		}
	}
	if got := len(fake.Posts()); got != 2 {
		t.Errorf("%d posts reached the fake, want the 2 within the limits", got)
	}
	if refused := fake.Refused(); len(refused) != 0 {
		t.Errorf("the fake refused %q: Send should have refused first", refused)
	}

	// The fake itself, posted to directly past each limit.
	for _, tc := range []struct {
		blocks []byte
		want   string
	}{
		{blocksOfText(5, 2500), `"error":"msg_blocks_too_long"`},
		{blocksOfText(51, 10), `"error":"invalid_blocks"`},
		{blocksOfText(1, 3001), `must be less than 3001 characters`},
	} {
		resp, err := http.PostForm(fake.URL+"chat.postMessage", map[string][]string{
			"token": {slackTestToken}, "channel": {"#ops"}, "text": {"x"}, "blocks": {string(tc.blocks)}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), tc.want) || !strings.Contains(string(body), `"ok":false`) {
			t.Errorf("fake answered %d %s, want 200 with %s", resp.StatusCode, body, tc.want)
		}
	}
}

// postLog is the outbox as the Slack transport sees it: statuses and ts
// by key.
type postLog struct {
	mu     sync.Mutex
	status map[string]string
	ts     map[string]string // by key
	ids    map[int64]string  // message id → key
}

func (l *postLog) RemoteID(_ context.Context, key, channel string) (string, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st, ok := l.status[key]
	if !ok || channel != notify.ChannelSlack {
		return "", "", fmt.Errorf("outbox %s: %w", key, store.ErrNotFound)
	}
	return st, l.ts[key], nil
}

func (l *postLog) SetRemoteID(_ context.Context, id int64, ts string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ts[l.ids[id]] = ts
	return nil
}

// TestSlackPartsInOrderAndThreaded: a part waits (a temporary error) while
// the part before it is pending; with a bot token, later parts are posted
// in the thread of the first part's post, whose ts the transport kept.
func TestSlackPartsInOrderAndThreaded(t *testing.T) {
	fake := notifytest.StartSlack(t, slackTestToken)
	log := &postLog{status: map[string]string{"digest/2026-03/1": "pending", "digest/2026-03/2": "pending"},
		ts: map[string]string{}, ids: map[int64]string{1: "digest/2026-03/1", 2: "digest/2026-03/2"}}
	s := notify.NewSlack(notify.SlackConfig{Token: slackTestToken, Channel: "#ops", APIURL: fake.URL, Posts: log,
		HTTP: &http.Client{Timeout: 5 * time.Second}})
	part := func(n int) *notify.Message {
		m := &notify.Message{ID: int64(n), Key: fmt.Sprintf("digest/2026-03/%d", n), Channel: notify.ChannelSlack, Text: fmt.Sprint("part ", n)}
		if n > 1 {
			m.After, m.Thread = fmt.Sprintf("digest/2026-03/%d", n-1), "digest/2026-03/1"
		}
		return m
	}

	err := s.Send(context.Background(), part(2))
	if class, _ := notify.Classify(err); err == nil || class != notify.Temporary || !strings.Contains(err.Error(), "waits for digest/2026-03/1") {
		t.Fatalf("part 2 before part 1: %v (%s), want a temporary wait", err, class)
	}
	if len(fake.Posts()) != 0 {
		t.Fatal("part 2 was posted before part 1")
	}
	if err := s.Send(context.Background(), part(1)); err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	log.status["digest/2026-03/1"] = "sent"
	log.mu.Unlock()
	if err := s.Send(context.Background(), part(2)); err != nil {
		t.Fatal(err)
	}
	posts := fake.Posts()
	if len(posts) != 2 || posts[0].ThreadTS != "" || posts[1].ThreadTS != posts[0].TS || posts[0].TS == "" {
		t.Fatalf("posts %+v: want part 2 in the thread of part 1", posts)
	}
	if log.ts["digest/2026-03/1"] != posts[0].TS || log.ts["digest/2026-03/2"] != posts[1].TS {
		t.Errorf("kept ts %v", log.ts)
	}

	// Part 1 failed for good: part 2 goes all the same, on its own.
	log.status["digest/2026-03/1"], log.ts["digest/2026-03/1"] = "failed", ""
	if err := s.Send(context.Background(), part(2)); err != nil {
		t.Fatal(err)
	}
	if p := fake.Posts(); p[2].ThreadTS != "" {
		t.Errorf("thread_ts %q without a first post", p[2].ThreadTS)
	}

	// A webhook has no ts to thread under: parts go in order, unthreaded.
	hook := notify.NewSlack(notify.SlackConfig{WebhookURL: fake.HookURL, Posts: log, HTTP: &http.Client{Timeout: 5 * time.Second}})
	log.status["digest/2026-03/1"] = "sending"
	if err := hook.Send(context.Background(), part(2)); err == nil {
		t.Error("webhook part 2 went while part 1 was being sent")
	}
	log.status["digest/2026-03/1"] = "sent"
	if err := hook.Send(context.Background(), part(2)); err != nil {
		t.Fatal(err)
	}
	if p := fake.Posts(); !p[3].Webhook || p[3].ThreadTS != "" {
		t.Errorf("webhook post %+v", p[3])
	}
}
