package notifytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"
)

// Slack's limits as SlackServer enforces them. The first three are
// documented (docs.slack.dev: chat.postMessage takes at most 50 blocks; a
// section's text at most 3,000 characters; a header's at most 150). The
// last is not: chat.postMessage refuses a message whose blocks hold more
// text than about 12,000 characters with msg_blocks_too_long
// (slackapi/bolt-js#2509, where a Slack maintainer gave "12,000 text
// characters with a buffer for block containers"; bolt-js#2867). The fake
// counts every "text" string of every block, in UTF-16 code units as the
// JavaScript clients in those threads did.
const (
	SlackMaxBlocks      = 50
	SlackMaxSectionText = 3000
	SlackMaxHeaderText  = 150
	SlackMaxBlockText   = 12000
)

// SlackPost is one message SlackServer accepted.
type SlackPost struct {
	Webhook   bool            // through the incoming webhook, not chat.postMessage
	Channel   string          // chat.postMessage's channel
	Text      string          // the fallback text
	Blocks    json.RawMessage // as sent
	ThreadTS  string          // chat.postMessage's thread_ts: the post it replies to
	TS        string          // the ts the fake gave it (chat.postMessage)
	NBlocks   int
	BlockText int // what the fake counted against SlackMaxBlockText
}

// SlackServer is a fake of the two ways retainer posts to Slack, answering
// in Slack's own shapes:
//
//   - POST {URL}chat.postMessage (a form, as slack-go sends it, with the
//     token in the form or an Authorization: Bearer header), answering
//     {"ok":true,"channel":…,"ts":…,"message":{…}} or {"ok":false,"error":…}
//     with HTTP 200, as documented for chat.postMessage; invalid_blocks
//     carries response_metadata.messages such as "[ERROR] no more than 50
//     items allowed [json-pointer:/blocks]" (the shape of recorded
//     responses quoted in public bug reports);
//   - POST {HookURL} (JSON), answering "ok", or HTTP 400 with a plain-text
//     reason (invalid_payload, invalid_blocks, no_text), as
//     api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks
//     describes. What a webhook answers to too much block text is not
//     documented: the fake answers 400 msg_blocks_too_long.
//
// Before its checks, it answers each request with the next of Script, if
// any: an HTTP status, headers and body (a 429 with Retry-After, say).
type SlackServer struct {
	URL     string // the API base, with a trailing slash (slack.OptionAPIURL)
	HookURL string // the incoming webhook
	Token   string // the bot token it takes

	mu      sync.Mutex
	script  []SlackReply
	posts   []SlackPost
	refused []string // the error of every refused request, in order
	seq     int
}

// SlackReply is one scripted answer.
type SlackReply struct {
	Status int
	Header map[string]string
	Body   string
}

// StartSlack runs a SlackServer until the test ends; it takes token.
func StartSlack(t testing.TB, token string) *SlackServer {
	t.Helper()
	s := &SlackServer{Token: token}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/chat.postMessage", s.postMessage)
	mux.HandleFunc("POST /services/T0FAKE/B0FAKE/hookSecretValue", s.webhook)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/api/"
	s.HookURL = srv.URL + "/services/T0FAKE/B0FAKE/hookSecretValue"
	return s
}

// Script queues answers given, one per request, before any check.
func (s *SlackServer) Script(replies ...SlackReply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, replies...)
}

// Posts returns what was accepted, in order.
func (s *SlackServer) Posts() []SlackPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SlackPost(nil), s.posts...)
}

// Refused returns the reason of every refused request, in order.
func (s *SlackServer) Refused() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refused...)
}

func (s *SlackServer) scripted(w http.ResponseWriter) bool {
	s.mu.Lock()
	if len(s.script) == 0 {
		s.mu.Unlock()
		return false
	}
	r := s.script[0]
	s.script = s.script[1:]
	s.refused = append(s.refused, fmt.Sprintf("scripted %d %s", r.Status, r.Body))
	s.mu.Unlock()
	for k, v := range r.Header {
		w.Header().Set(k, v)
	}
	if strings.HasPrefix(r.Body, "{") {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(r.Status)
	_, _ = io.WriteString(w, r.Body)
	return true
}

func (s *SlackServer) postMessage(w http.ResponseWriter, r *http.Request) {
	if s.scripted(w) {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.apiError(w, "invalid_form_data", nil)
		return
	}
	token := r.PostForm.Get("token")
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = bearer
	}
	if token == "" {
		s.apiError(w, "not_authed", nil)
		return
	}
	if token != s.Token {
		s.apiError(w, "invalid_auth", nil)
		return
	}
	p := SlackPost{Channel: r.PostForm.Get("channel"), Text: r.PostForm.Get("text"), ThreadTS: r.PostForm.Get("thread_ts")}
	if p.Channel == "" {
		s.apiError(w, "channel_not_found", nil)
		return
	}
	if b := r.PostForm.Get("blocks"); b != "" {
		p.Blocks = json.RawMessage(b)
	}
	if code, msgs := s.check(&p); code != "" {
		s.apiError(w, code, msgs)
		return
	}
	s.mu.Lock()
	s.seq++
	p.TS = fmt.Sprintf("1773561600.%06d", s.seq)
	s.posts = append(s.posts, p)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ok": true, "channel": "C0RETAINER", "ts": p.TS,
		"message": map[string]any{"type": "message", "subtype": "bot_message", "text": p.Text, "ts": p.TS, "thread_ts": p.ThreadTS},
	})
}

func (s *SlackServer) webhook(w http.ResponseWriter, r *http.Request) {
	if s.scripted(w) {
		return
	}
	var body struct {
		Text     string          `json:"text"`
		Blocks   json.RawMessage `json:"blocks"`
		ThreadTS string          `json:"thread_ts"`
	}
	refuse := func(reason string) {
		s.mu.Lock()
		s.refused = append(s.refused, reason)
		s.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, reason)
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		refuse("invalid_payload")
		return
	}
	p := SlackPost{Webhook: true, Text: body.Text, ThreadTS: body.ThreadTS}
	if len(body.Blocks) > 0 && string(body.Blocks) != "null" {
		p.Blocks = body.Blocks
	}
	if code, _ := s.check(&p); code != "" {
		refuse(code)
		return
	}
	s.mu.Lock()
	s.posts = append(s.posts, p)
	s.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

// check applies Slack's limits to p, filling its counts; it returns the
// error code and messages of a refusal, "" when p is accepted.
func (s *SlackServer) check(p *SlackPost) (code string, messages []string) {
	if len(p.Blocks) == 0 {
		if strings.TrimSpace(p.Text) == "" {
			return "no_text", nil
		}
		return "", nil
	}
	var blocks []map[string]any
	if err := json.Unmarshal(p.Blocks, &blocks); err != nil {
		return "invalid_blocks_format", nil
	}
	p.NBlocks = len(blocks)
	if len(blocks) > SlackMaxBlocks {
		return "invalid_blocks", []string{"[ERROR] no more than 50 items allowed [json-pointer:/blocks]"}
	}
	for i, b := range blocks {
		limit := 0
		switch b["type"] {
		case "section":
			limit = SlackMaxSectionText
		case "header":
			limit = SlackMaxHeaderText
		case nil, "":
			return "invalid_blocks", []string{fmt.Sprintf("[ERROR] missing required field: type [json-pointer:/blocks/%d]", i)}
		}
		if t, ok := b["text"].(map[string]any); ok && limit > 0 {
			if n := utf16Len(fmt.Sprint(t["text"])); n > limit {
				return "invalid_blocks", []string{fmt.Sprintf("[ERROR] must be less than %d characters [json-pointer:/blocks/%d/text/text]", limit+1, i)}
			}
		}
		p.BlockText += textLen(b)
	}
	if p.BlockText > SlackMaxBlockText {
		return "msg_blocks_too_long", nil
	}
	return "", nil
}

func (s *SlackServer) apiError(w http.ResponseWriter, code string, messages []string) {
	s.mu.Lock()
	s.refused = append(s.refused, code)
	s.mu.Unlock()
	resp := map[string]any{"ok": false, "error": code}
	if len(messages) > 0 {
		resp["errors"] = messages
		resp["response_metadata"] = map[string]any{"messages": messages}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// textLen sums the UTF-16 length of every string under a "text" key in v.
func textLen(v any) int {
	n := 0
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if str, ok := e.(string); ok {
				if k == "text" {
					n += utf16Len(str)
				}
				continue
			}
			n += textLen(e)
		}
	case []any:
		for _, e := range x {
			n += textLen(e)
		}
	}
	return n
}

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }
