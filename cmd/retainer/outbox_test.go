package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCloseSendWritesStatementsToFileTransport(t *testing.T) {
	e := newEnv(t)
	e.must("log", "acme-001", "45", "--date", "2026-03-31")
	out := e.must("close", "--month", "2026-03", "--send")
	if !strings.Contains(out, "delivered 12,") {
		t.Fatalf("close --send:\n%s", out)
	}
	// One file per statement email, named by its key.
	path := filepath.Join(e.dir, "outbox", "statement_acme-001_2026-03.eml")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("To"); !strings.Contains(got, "ap@acme.example") {
		t.Errorf("To = %q", got)
	}
	if got := msg.Header.Get("Subject"); !strings.Contains(got, "acme-001-2026-03") {
		t.Errorf("Subject = %q", got)
	}
	if msg.Header.Get("Message-Id") == "" || msg.Header.Get("Date") == "" {
		t.Errorf("missing Message-ID or Date: %v", msg.Header)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("content type %q %v", mt, err)
	}
	parts := map[string]string{}
	cids := map[string]string{}
	readParts(t, msg.Body, params["boundary"], parts, cids)
	if cid := cids["image/png"]; cid != "<burndown@retainer>" || !strings.HasPrefix(parts["image/png"], "\x89PNG") {
		t.Errorf("inline chart: content-id %q, %d bytes", cid, len(parts["image/png"]))
	}
	if !strings.Contains(parts["text/html"], "cid:burndown@retainer") {
		t.Errorf("the HTML does not show the chart")
	}
	if !strings.Contains(parts["text/plain"], "USD 5,350.00") && !strings.Contains(parts["text/plain"], "USD 5,000.00") {
		t.Errorf("text part: %q", parts["text/plain"])
	}
	if !strings.Contains(parts["text/html"], "Statement acme-001-2026-03") {
		t.Errorf("html part missing or wrong: %q", parts["text/html"])
	}

	// The invoice is sent; the outbox says so; closing and sending again sends nothing.
	if st := e.must("status", "acme-001", "--month", "2026-03", "--json"); !strings.Contains(st, `"invoice_status":"sent"`) {
		t.Errorf("status:\n%s", st)
	}
	var ob outboxJSON
	if err := json.Unmarshal([]byte(e.must("outbox", "--json")), &ob); err != nil {
		t.Fatal(err)
	}
	if len(ob.Messages) != 12 || ob.Messages[0].Status != "sent" || ob.Messages[0].Transport != "file" || ob.Messages[0].SentAt == nil {
		t.Fatalf("outbox %+v", ob.Messages[:1])
	}
	if out := e.must("close", "--month", "2026-03", "--send"); !strings.Contains(out, "delivered 0,") {
		t.Errorf("second close --send:\n%s", out)
	}
	if code, _, _ := e.run("outbox", "retry", "1"); code != exitFailed {
		t.Errorf("retrying a sent message: exit %d", code)
	}
}

func TestAlertsFireOnce(t *testing.T) {
	e := newEnv(t)
	e.must("log", "initech-003", "9", "--date", "2026-11-10") // 90% of 10 h: exactly at the threshold
	out := e.must("alerts", "--as-of", "2026-11-20")
	if !strings.Contains(out, "initech-003 2026-11 90% utilization 90.0%") || strings.Contains(out, "100%") ||
		!strings.Contains(out, "initech-003 2026-11 projected_overage") {
		t.Fatalf("alerts:\n%s", out)
	}
	for i := 0; i < 3; i++ { // evaluated again and again: queued and sent once
		e.must("alerts", "--as-of", "2026-11-20", "--send")
	}
	var ob outboxJSON
	json.Unmarshal([]byte(e.must("outbox", "--json")), &ob)
	n := 0
	for _, m := range ob.Messages {
		if strings.HasPrefix(m.Key, "alert/initech-003/2026-11/") {
			n++
			if m.Channel != "email" || m.To[0] != "owner@northwind.example" || m.Status != "sent" {
				t.Errorf("alert message %+v", m)
			}
		}
	}
	// 90% crossed, and 9 h in 14 of 21 business days projects 13.5 h > 10 h.
	if n != 2 {
		t.Errorf("%d alert messages, want 90 and projected_overage once each:\n%+v", n, ob.Messages)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "outbox", "alert_initech-003_2026-11_90.eml")); err != nil {
		t.Error(err)
	}
	if out := e.must("alerts", "--as-of", "2026-11-20"); !strings.Contains(out, "no new alerts") {
		t.Errorf("after sending:\n%s", out)
	}
	// Over the limit: 100% and overage fire, 90% does not again.
	e.must("log", "initech-003", "2", "--date", "2026-11-11")
	out = e.must("alerts", "--as-of", "2026-11-20")
	if !strings.Contains(out, "100%") || !strings.Contains(out, "overage") || strings.Contains(out, " 90% ") {
		t.Errorf("over the limit:\n%s", out)
	}
}

func TestDigestOncePerMonth(t *testing.T) {
	e := newEnv(t)
	e.must("log", "initech-003", "9.5", "--date", "2026-11-10")
	e.must("log", "acme-001", "3", "--date", "2026-11-10")
	out := e.must("digest", "--as-of", "2026-11-15")
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "Retainer burndown 2026-11") || !strings.Contains(lines[3], "⚠ Initech (initech-003)") {
		t.Fatalf("digest (flagged first):\n%s", out)
	}
	e.must("digest", "--as-of", "2026-11-15", "--send")
	e.must("digest", "--as-of", "2026-11-15", "--send")
	body, err := os.ReadFile(filepath.Join(e.dir, "outbox", "digest_2026-11.json"))
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(body, &msg); err != nil || len(msg.Blocks) < 3 || !strings.Contains(msg.Text, "initech-003") {
		t.Fatalf("digest file: %v\n%s", err, body)
	}
	var ob outboxJSON
	json.Unmarshal([]byte(e.must("outbox", "--json")), &ob)
	if len(ob.Messages) != 1 || ob.Messages[0].Key != "digest/2026-11" {
		t.Errorf("outbox %+v", ob.Messages)
	}
}

func TestRenewalsAndOverdueOnce(t *testing.T) {
	e := newEnv(t)
	for m := 1; m <= 11; m++ { // every month of the 12 before the reminder (as of December) that the contract ran
		e.must("log", "acme-001", "45", "--date", fmt.Sprintf("2026-%02d-14", m))
	}
	out := e.must("renewals", "--as-of", "2026-12-05")
	if !strings.Contains(out, "acme-001 ends 2026-12") || !strings.Contains(out, "umbrella-004") {
		t.Fatalf("renewals:\n%s", out)
	}
	e.must("renewals", "--as-of", "2026-12-05", "--send")
	e.must("renewals", "--as-of", "2026-12-06", "--send")
	body, err := os.ReadFile(filepath.Join(e.dir, "outbox", "renewal_acme-001_2026-12.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "under-priced") {
		t.Errorf("renewal of a contract burning 45 of 40 h should propose an increase:\n%s", body)
	}

	e.must("close", "--month", "2026-10", "--send") // issued 2026-11-25, due 2026-12-10
	if out := e.must("overdue", "--as-of", "2026-12-10"); !strings.Contains(out, "no overdue") {
		t.Errorf("not yet overdue:\n%s", out)
	}
	out = e.must("overdue", "--as-of", "2026-12-11", "--send")
	if !strings.Contains(out, "acme-001-2026-10 overdue since 2026-12-10") {
		t.Errorf("overdue:\n%s", out)
	}
	e.must("overdue", "--as-of", "2026-12-12", "--send")
	var ob outboxJSON
	json.Unmarshal([]byte(e.must("outbox", "--json")), &ob)
	n := 0
	for _, m := range ob.Messages {
		if strings.HasPrefix(m.Key, "overdue/acme-001-2026-10") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d overdue messages for acme-001-2026-10, want 1", n)
	}
	if st := e.must("status", "acme-001", "--month", "2026-10", "--as-of", "2026-12-11", "--json"); !strings.Contains(st, `"invoice_status":"overdue"`) {
		t.Errorf("status:\n%s", st)
	}
}

// readParts walks a MIME tree, keeping each leaf part's decoded body and
// Content-ID by content type.
func readParts(t *testing.T, r io.Reader, boundary string, parts, cids map[string]string) {
	t.Helper()
	mr := multipart.NewReader(r, boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, params, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if strings.HasPrefix(ct, "multipart/") {
			readParts(t, p, params["boundary"], parts, cids)
			continue
		}
		var body io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, p)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		parts[ct] = string(b)
		cids[ct] = p.Header.Get("Content-Id")
	}
}

func TestCheckinOncePerMonth(t *testing.T) {
	e := newEnv(t)
	e.must("log", "acme-001", "12", "--date", "2026-11-03", "--note", "design")
	out := e.must("checkins", "--as-of", "2026-11-15")
	if !strings.Contains(out, "acme-001 2026-11 check-in") || strings.Contains(out, "globex") {
		t.Fatalf("checkins:\n%s", out)
	}
	e.must("checkins", "--as-of", "2026-11-15", "--send")
	e.must("checkins", "--as-of", "2026-11-16", "--send")
	body, err := os.ReadFile(filepath.Join(e.dir, "outbox", "checkin_acme-001_2026-11.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "38.00 of your 50.00 h remain") {
		t.Errorf("check-in:\n%s", body)
	}
	var ob outboxJSON
	json.Unmarshal([]byte(e.must("outbox", "--json")), &ob)
	if len(ob.Messages) != 1 {
		t.Errorf("outbox %+v", ob.Messages)
	}
}
