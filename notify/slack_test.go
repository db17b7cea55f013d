package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"retainer/notify"
)

const (
	slackTestToken      = "xoxb-111-222-SeCrEtToKeN"
	slackTestHookSecret = "/services/T000/B000/HooKSeCrEt123"
)

// slackTestBlocks is a header plus a section with fields, as a statement
// message carries them.
const slackTestBlocks = `[
 {"type":"header","text":{"type":"plain_text","text":"Acme: March 2026"}},
 {"type":"section","text":{"type":"mrkdwn","text":"*32.5 h* of 40 h used"},
  "fields":[{"type":"mrkdwn","text":"*Budget*\n40 h"},{"type":"mrkdwn","text":"*Used*\n32.5 h"}]}
]`

// slackRecorder is a chat.postMessage or webhook endpoint that records what
// it was sent and answers with a canned response.
type slackRecorder struct {
	mu      sync.Mutex
	calls   int
	form    map[string]string // chat.postMessage form values
	body    []byte            // webhook JSON body
	status  int
	header  map[string]string
	respond string
}

func (r *slackRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err := req.ParseForm(); err == nil {
			r.form = map[string]string{}
			for _, k := range []string{"channel", "text", "blocks", "token"} {
				r.form[k] = req.PostForm.Get(k)
			}
		}
	} else {
		r.body, _ = io.ReadAll(req.Body)
	}
	for k, v := range r.header {
		w.Header().Set(k, v)
	}
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	if strings.HasPrefix(r.respond, "{") {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, r.respond)
}

func (r *slackRecorder) snapshot() (calls int, form map[string]string, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls, r.form, r.body
}

// newSlackBot returns a bot-token sender talking to rec.
func newSlackBot(t *testing.T, rec *slackRecorder) *notify.Slack {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/chat.postMessage", rec)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return notify.NewSlack(notify.SlackConfig{
		Token:   slackTestToken,
		Channel: "#default",
		APIURL:  srv.URL + "/",
		HTTP:    &http.Client{Timeout: 5 * time.Second},
	})
}

// newSlackHook returns a webhook sender talking to rec, and its URL.
func newSlackHook(t *testing.T, rec *slackRecorder) (*notify.Slack, string) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(slackTestHookSecret, rec)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	u := srv.URL + slackTestHookSecret
	return notify.NewSlack(notify.SlackConfig{
		WebhookURL: u,
		HTTP:       &http.Client{Timeout: 5 * time.Second},
	}), u
}

func slackMsg(to ...string) *notify.Message {
	return &notify.Message{
		Key:     "statement/acme/2026-03",
		Channel: notify.ChannelSlack,
		To:      to,
		Text:    "Acme: 32.5 h of 40 h used in March 2026",
		Blocks:  []byte(slackTestBlocks),
	}
}

// jsonEqual reports whether a and b are the same JSON value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("unmarshal %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}

// checkNoSecrets fails when err's message, or that of anything it wraps,
// carries the token or the webhook URL.
func checkNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, s := range append(secrets, slackTestToken, slackTestHookSecret, "HooKSeCrEt123") {
			if s != "" && strings.Contains(e.Error(), s) {
				t.Errorf("error %q (%T) leaks secret %q", e.Error(), e, s)
			}
		}
	}
}

func classOf(err error) (notify.Class, time.Duration) { return notify.Classify(err) }

func TestSlackBotRoundTrip(t *testing.T) {
	rec := &slackRecorder{respond: `{"ok":true,"channel":"C123","ts":"1700000000.000100"}`}
	s := newSlackBot(t, rec)

	if err := s.Send(context.Background(), slackMsg("#ops")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	calls, form, _ := rec.snapshot()
	if calls != 1 {
		t.Fatalf("calls = %d, want 1", calls)
	}
	if form["channel"] != "#ops" {
		t.Errorf("channel = %q, want #ops", form["channel"])
	}
	if want := slackMsg().Text; form["text"] != want {
		t.Errorf("text = %q, want %q", form["text"], want)
	}
	if form["token"] != slackTestToken {
		t.Errorf("token not sent")
	}
	if !jsonEqual(t, []byte(form["blocks"]), []byte(slackTestBlocks)) {
		t.Errorf("blocks = %s\nwant %s", form["blocks"], slackTestBlocks)
	}

	// No recipient: the default channel. No blocks: text only.
	m := slackMsg()
	m.Blocks = nil
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	_, form, _ = rec.snapshot()
	if form["channel"] != "#default" {
		t.Errorf("channel = %q, want #default", form["channel"])
	}
	if form["blocks"] != "" {
		t.Errorf("blocks = %q, want none", form["blocks"])
	}
	if form["text"] != m.Text {
		t.Errorf("text = %q", form["text"])
	}
}

func TestSlackWebhookPostsTextAndBlocks(t *testing.T) {
	rec := &slackRecorder{respond: "ok"}
	s, _ := newSlackHook(t, rec)

	if err := s.Send(context.Background(), slackMsg("webhook")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	calls, _, body := rec.snapshot()
	if calls != 1 {
		t.Fatalf("calls = %d, want 1", calls)
	}
	var got struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("webhook body %s: %v", body, err)
	}
	if got.Text != slackMsg().Text {
		t.Errorf("text = %q", got.Text)
	}
	if !jsonEqual(t, got.Blocks, []byte(slackTestBlocks)) {
		t.Errorf("blocks = %s\nwant %s", got.Blocks, slackTestBlocks)
	}
}

func TestSlackErrors(t *testing.T) {
	tests := []struct {
		name      string
		webhook   bool
		rec       *slackRecorder
		wantClass notify.Class
		wantAfter time.Duration
	}{
		{"bot 429 Retry-After", false, &slackRecorder{status: 429, header: map[string]string{"Retry-After": "3"}}, notify.Temporary, 3 * time.Second},
		{"bot 429 no Retry-After", false, &slackRecorder{status: 429}, notify.Temporary, 30 * time.Second},
		{"bot 500", false, &slackRecorder{status: 500, respond: "<html>oops</html>"}, notify.Temporary, 0},
		{"bot 503", false, &slackRecorder{status: 503}, notify.Temporary, 0},
		{"bot channel_not_found", false, &slackRecorder{respond: `{"ok":false,"error":"channel_not_found"}`}, notify.Permanent, 0},
		{"bot not_in_channel", false, &slackRecorder{respond: `{"ok":false,"error":"not_in_channel"}`}, notify.Permanent, 0},
		{"bot invalid_auth", false, &slackRecorder{respond: `{"ok":false,"error":"invalid_auth"}`}, notify.Permanent, 0},
		{"bot is_archived", false, &slackRecorder{respond: `{"ok":false,"error":"is_archived"}`}, notify.Permanent, 0},
		{"bot invalid_blocks", false, &slackRecorder{respond: `{"ok":false,"error":"invalid_blocks"}`}, notify.Permanent, 0},
		{"bot internal_error", false, &slackRecorder{respond: `{"ok":false,"error":"internal_error"}`}, notify.Temporary, 0},
		{"webhook 429 Retry-After", true, &slackRecorder{status: 429, header: map[string]string{"Retry-After": "3"}}, notify.Temporary, 3 * time.Second},
		{"webhook 429 no Retry-After", true, &slackRecorder{status: 429}, notify.Temporary, 30 * time.Second},
		{"webhook 429 date Retry-After", true, &slackRecorder{status: 429, header: map[string]string{"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}}, notify.Temporary, 30 * time.Second},
		{"webhook 500", true, &slackRecorder{status: 500}, notify.Temporary, 0},
		{"webhook 404 no_service", true, &slackRecorder{status: 404, respond: "no_service"}, notify.Permanent, 0},
		{"webhook 403 invalid_token", true, &slackRecorder{status: 403, respond: "invalid_token"}, notify.Permanent, 0},
		{"webhook 400 invalid_payload", true, &slackRecorder{status: 400, respond: "invalid_payload"}, notify.Permanent, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tt.rec
			var s *notify.Slack
			hookURL := ""
			if tt.webhook {
				s, hookURL = newSlackHook(t, rec)
			} else {
				s = newSlackBot(t, rec)
			}
			err := s.Send(context.Background(), slackMsg())
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			t.Logf("err: %v", err)
			class, after := classOf(err)
			if class != tt.wantClass || after != tt.wantAfter {
				t.Errorf("Classify(%v) = %s %s, want %s %s", err, class, after, tt.wantClass, tt.wantAfter)
			}
			if tt.wantAfter > 0 {
				var ra *notify.RetryAfterError
				if !errors.As(err, &ra) || ra.After != tt.wantAfter {
					t.Errorf("err = %#v, want *RetryAfterError{After: %s}", err, tt.wantAfter)
				}
			}
			if calls, _, _ := rec.snapshot(); calls != 1 {
				t.Errorf("calls = %d, want exactly one attempt", calls)
			}
			checkNoSecrets(t, err, hookURL)
		})
	}
}

func TestSlackNetworkErrorsHideSecrets(t *testing.T) {
	// A server that is gone: the *url.Error would print the webhook URL.
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()

	hook := base + slackTestHookSecret
	s := notify.NewSlack(notify.SlackConfig{WebhookURL: hook, HTTP: &http.Client{Timeout: 2 * time.Second}})
	err := s.Send(context.Background(), slackMsg())
	if err == nil {
		t.Fatal("Send to a closed server succeeded")
	}
	if class, _ := classOf(err); class != notify.Temporary {
		t.Errorf("class = %s, want temporary (%v)", class, err)
	}
	t.Logf("err: %v", err)
	checkNoSecrets(t, err, hook)

	// The bot token, same.
	s = notify.NewSlack(notify.SlackConfig{Token: slackTestToken, Channel: "#c", APIURL: base + "/", HTTP: &http.Client{Timeout: 2 * time.Second}})
	err = s.Send(context.Background(), slackMsg())
	if err == nil {
		t.Fatal("Send to a closed server succeeded")
	}
	if class, _ := classOf(err); class != notify.Temporary {
		t.Errorf("class = %s, want temporary (%v)", class, err)
	}
	checkNoSecrets(t, err)
}

func TestSlackTimeoutIsTemporary(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	hook := srv.URL + slackTestHookSecret
	s := notify.NewSlack(notify.SlackConfig{WebhookURL: hook, HTTP: &http.Client{Timeout: 5 * time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := s.Send(ctx, slackMsg())
	if err == nil {
		t.Fatal("Send succeeded")
	}
	if class, _ := classOf(err); class != notify.Temporary {
		t.Errorf("class = %s, want temporary (%v)", class, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
	checkNoSecrets(t, err, hook)
}

func TestSlackConfigErrorsArePermanent(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg notify.SlackConfig
		m   *notify.Message
	}{
		"nothing configured":   {notify.SlackConfig{}, slackMsg("#ops")},
		"no channel":           {notify.SlackConfig{Token: slackTestToken, APIURL: "http://127.0.0.1:1/"}, slackMsg()},
		"webhook not set":      {notify.SlackConfig{Token: slackTestToken, Channel: "#c", APIURL: "http://127.0.0.1:1/"}, slackMsg("webhook")},
		"invalid blocks JSON":  {notify.SlackConfig{Token: slackTestToken, Channel: "#c", APIURL: "http://127.0.0.1:1/"}, &notify.Message{Text: "x", Blocks: []byte(`{"type":"divider"}`)}},
		"neither text nor any": {notify.SlackConfig{Token: slackTestToken, Channel: "#c", APIURL: "http://127.0.0.1:1/"}, &notify.Message{}},
	} {
		t.Run(name, func(t *testing.T) {
			err := notify.NewSlack(tc.cfg).Send(context.Background(), tc.m)
			if class, _ := classOf(err); err == nil || class != notify.Permanent {
				t.Errorf("err = %v (%s), want permanent", err, class)
			}
			checkNoSecrets(t, err)
		})
	}
}

func TestValidateBlocks(t *testing.T) {
	divider := `{"type":"divider"}`
	many := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = divider
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	section := func(n int) string {
		b, _ := json.Marshal([]any{map[string]any{
			"type": "section",
			"text": map[string]string{"type": "mrkdwn", "text": strings.Repeat("é", n)},
		}})
		return string(b)
	}
	for _, tc := range []struct {
		name   string
		blocks string
		ok     bool
	}{
		{"statement blocks", slackTestBlocks, true},
		{"empty", "", true},
		{"empty array", "[]", true},
		{"50 blocks", many(50), true},
		{"51 blocks", many(51), false},
		{"3000-character section", section(3000), true},
		{"3001-character section", section(3001), false},
		{"not an array", divider, false},
		{"no type", `[{"text":{"type":"plain_text","text":"x"}}]`, false},
		{"11 fields", `[{"type":"section","fields":[` + strings.TrimSuffix(strings.Repeat(`{"type":"mrkdwn","text":"x"},`, 11), ",") + `]}]`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := notify.ValidateBlocks([]byte(tc.blocks))
			if (err == nil) != tc.ok {
				t.Errorf("ValidateBlocks = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestSlackSendRejectsOversizeBlocksWithoutPosting(t *testing.T) {
	rec := &slackRecorder{respond: `{"ok":true}`}
	s := newSlackBot(t, rec)
	parts := make([]string, 51)
	for i := range parts {
		parts[i] = `{"type":"divider"}`
	}
	m := slackMsg("#ops")
	m.Blocks = []byte("[" + strings.Join(parts, ",") + "]")
	err := s.Send(context.Background(), m)
	if class, _ := classOf(err); class != notify.Permanent {
		t.Errorf("err = %v (%s), want permanent", err, class)
	}
	if calls, _, _ := rec.snapshot(); calls != 0 {
		t.Errorf("calls = %d, want 0", calls)
	}
}

// slack-go keeps a block type it does not know as raw JSON: it is passed
// through for Slack to judge (invalid_blocks is permanent).
func TestSlackUnknownBlockPassesThrough(t *testing.T) {
	rec := &slackRecorder{respond: `{"ok":true}`}
	s := newSlackBot(t, rec)
	blocks := `[{"type":"some_future_block","x":1}]`
	if err := s.Send(context.Background(), &notify.Message{To: []string{"#ops"}, Text: "x", Blocks: []byte(blocks)}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if _, form, _ := rec.snapshot(); !jsonEqual(t, []byte(form["blocks"]), []byte(blocks)) {
		t.Errorf("blocks = %s, want %s", form["blocks"], blocks)
	}
}
