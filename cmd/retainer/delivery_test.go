package main

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"

	"retainer/notify/notifytest"
)

// TestDeliveryOverSMTPAndSlack: with SMTP and a Slack webhook configured, a
// month close emails every client one statement over SMTP, and the agency's
// Slack gets each alert once however often alerts are evaluated.
func TestDeliveryOverSMTPAndSlack(t *testing.T) {
	smtp := &notifytest.SMTPServer{}
	host, port := smtp.Start(t)

	var mu sync.Mutex
	var posts []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, string(b))
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	defer hook.Close()

	e := newEnv(t)
	e.extra = []string{
		"RETAINER_NOTIFY__EMAIL__HOST=" + host,
		"RETAINER_NOTIFY__EMAIL__PORT=" + strconv.Itoa(port),
		"RETAINER_NOTIFY__EMAIL__TLS=none",
		"RETAINER_NOTIFY__EMAIL__FROM=Northwind Studio <billing@northwind.example>",
		"RETAINER_NOTIFY__SLACK__WEBHOOK_URL=" + hook.URL + "/services/T0/B0/secret",
	}
	e.now = e.now.AddDate(0, -8, 0) // 2026-03-25
	e.must("log", "acme-001", "45", "--date", "2026-03-10")
	e.must("log", "initech-003", "9", "--date", "2026-03-10")
	e.now = e.now.AddDate(0, 0, 7) // 2026-04-01

	// Alerts for March, evaluated three times before the close: once each in Slack.
	for i := 0; i < 3; i++ {
		e.must("alerts", "--as-of", "2026-03-31", "--send")
	}
	mu.Lock()
	slackPosts := append([]string(nil), posts...)
	mu.Unlock()
	seen := map[string]int{}
	for _, p := range slackPosts {
		var body struct{ Text string }
		if err := json.Unmarshal([]byte(p), &body); err != nil {
			t.Fatalf("webhook body %q: %v", p, err)
		}
		seen[body.Text]++
	}
	for text, n := range seen {
		if n != 1 {
			t.Errorf("posted %d times: %q", n, text)
		}
	}
	if len(slackPosts) != 2 || !strings.Contains(slackPosts[0]+slackPosts[1], "acme-001 2026-03 crossed 90%") ||
		!strings.Contains(slackPosts[0]+slackPosts[1], "initech-003 2026-03 crossed 90%") { // 45 of 50 h, 9 of 10 h
		t.Fatalf("%d Slack posts, want the March alerts:\n%s", len(slackPosts), strings.Join(slackPosts, "\n"))
	}
	_, alertMails := smtp.Snapshot()
	for _, m := range alertMails {
		if len(m.To) != 1 || m.To[0] != "owner@northwind.example" {
			t.Errorf("alert mail to %v, want the agency", m.To)
		}
	}

	// The close: one statement email per contract with contacts, over SMTP.
	e.must("close", "--month", "2026-03", "--send")
	e.must("close", "--month", "2026-03", "--send") // changes and sends nothing
	var ob outboxJSON
	if err := json.Unmarshal([]byte(e.must("outbox", "--json")), &ob); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{} // statement subjects queued
	for _, m := range ob.Messages {
		if !strings.HasPrefix(m.Key, "statement/") {
			continue
		}
		if m.Status != "sent" || m.Transport != "smtp" {
			t.Errorf("%s: %s via %s", m.Key, m.Status, m.Transport)
		}
		parts := strings.Split(m.Key, "/")
		want[parts[1]+"-"+parts[2]] = true
	}
	if !want["acme-001-2026-03"] || len(want) < 4 {
		t.Fatalf("no March statement for acme-001 in the outbox: %+v", ob.Messages)
	}
	_, msgs := smtp.Snapshot()
	got := map[string]int{}
	for _, m := range msgs[len(alertMails):] {
		msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
		if err != nil {
			t.Fatal(err)
		}
		dec := new(mime.WordDecoder)
		subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
		for inv := range want {
			if strings.Contains(subject, inv) {
				got[inv]++
			}
		}
		if msg.Header.Get("Message-Id") == "" || msg.Header.Get("Date") == "" || !strings.Contains(msg.Header.Get("From"), "billing@northwind.example") {
			t.Errorf("headers: %v", msg.Header)
		}
	}
	for inv := range want {
		if got[inv] != 1 {
			t.Errorf("statement %s arrived %d times, want once", inv, got[inv])
		}
	}
	if len(msgs)-len(alertMails) != len(want) {
		t.Errorf("%d statement emails arrived for %d statements", len(msgs)-len(alertMails), len(want))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != len(slackPosts) {
		t.Errorf("the close posted to Slack: %v", posts[len(slackPosts):])
	}
}
