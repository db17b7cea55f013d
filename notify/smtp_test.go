package notify

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"retainer/notify/notifytest"
)

// testBackend is the in-process SMTP server the tests deliver to.
type testBackend = notifytest.SMTPServer

// startServer runs b on 127.0.0.1:0 and returns a transport config for it.
func startServer(t testing.TB, b *testBackend) SMTPConfig {
	t.Helper()
	host, port := b.Start(t)
	return SMTPConfig{
		Host:    host,
		Port:    port,
		TLS:     "none",
		From:    "Agency <billing@agency.example>",
		Timeout: 5 * time.Second,
	}
}

// 1x1 transparent PNG.
var testPNG = []byte{
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
	0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00,
	0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
	0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49,
	0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
}

func testMessage(key string) *Message {
	return &Message{
		Key:     key,
		Channel: ChannelEmail,
		To:      []string{"alice@client.example", "Bob <bob@client.example>"},
		Subject: "Statement acme-001-2026-10",
		Text:    "Hours used: 42.50\n",
		HTML:    `<p>Hours used: <b>42.50</b></p><img src="cid:burndown@retainer">`,
		Inline: []Inline{{
			CID: "burndown@retainer", Name: "burndown.png", ContentType: "image/png", Data: testPNG,
		}},
		Date: time.Date(2026, 11, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600)),
	}
}

// leaf is one non-multipart MIME part, decoded.
type leaf struct {
	ContentType string
	ContentID   string
	Body        []byte
}

// walk collects the leaves of a MIME entity and the multipart types seen.
func walk(t *testing.T, ctype, cte string, hdr map[string][]string, body io.Reader, types *[]string, leaves *[]leaf) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("content-type %q: %v", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		*types = append(*types, mt)
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			walk(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p.Header, p, types, leaves)
		}
	}
	data, err := io.ReadAll(transferDecoded(body, cte))
	if err != nil {
		t.Fatalf("part %s: %v", mt, err)
	}
	cid := ""
	if v := hdr["Content-Id"]; len(v) > 0 {
		cid = v[0]
	}
	*leaves = append(*leaves, leaf{ContentType: mt, ContentID: cid, Body: data})
}

func TestSMTPSendStructure(t *testing.T) {
	b := &testBackend{}
	cfg := startServer(t, b)
	s := NewSMTP(cfg)
	m := testMessage("statement/acme-001/2026-10")

	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	_, msgs := b.Snapshot()
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.From != "billing@agency.example" {
		t.Errorf("envelope from = %q", got.From)
	}
	if strings.Join(got.To, ",") != "alice@client.example,bob@client.example" {
		t.Errorf("envelope to = %q", got.To)
	}

	pm, err := netmail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	from, err := netmail.ParseAddress(pm.Header.Get("From"))
	if err != nil || from.Address != "billing@agency.example" || from.Name != "Agency" {
		t.Errorf("From = %q (%v)", pm.Header.Get("From"), err)
	}
	to, err := pm.Header.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Address != "alice@client.example" || to[1].Address != "bob@client.example" {
		t.Errorf("To = %q (%v)", pm.Header.Get("To"), err)
	}
	dec := new(mime.WordDecoder)
	if subj, err := dec.DecodeHeader(pm.Header.Get("Subject")); err != nil || subj != m.Subject {
		t.Errorf("Subject = %q (%v)", subj, err)
	}
	if d, err := pm.Header.Date(); err != nil || !d.Equal(m.Date) {
		t.Errorf("Date = %q (%v), want %v", pm.Header.Get("Date"), err, m.Date)
	}
	if id, want := pm.Header.Get("Message-Id"), "<"+m.MessageID("agency.example")+">"; id != want {
		t.Errorf("Message-ID = %q, want %q", id, want)
	}

	var types []string
	var leaves []leaf
	walk(t, pm.Header.Get("Content-Type"), pm.Header.Get("Content-Transfer-Encoding"), pm.Header, pm.Body, &types, &leaves)
	if !strings.Contains(strings.Join(types, " "), "multipart/alternative") ||
		!strings.Contains(strings.Join(types, " "), "multipart/related") {
		t.Errorf("multipart types = %v, want related and alternative", types)
	}
	var sawText, sawHTML, sawPNG bool
	for _, l := range leaves {
		switch l.ContentType {
		case "text/plain":
			sawText = true
			if strings.TrimRight(string(l.Body), "\r\n") != strings.TrimRight(m.Text, "\n") {
				t.Errorf("text/plain = %q", l.Body)
			}
		case "text/html":
			sawHTML = true
			if !strings.Contains(string(l.Body), "cid:burndown@retainer") {
				t.Errorf("text/html = %q", l.Body)
			}
		case "image/png":
			sawPNG = true
			if l.ContentID != "<burndown@retainer>" {
				t.Errorf("image Content-ID = %q", l.ContentID)
			}
			if !bytes.Equal(l.Body, testPNG) {
				t.Errorf("image bytes differ: %x", l.Body)
			}
		}
	}
	if !sawText || !sawHTML || !sawPNG {
		t.Errorf("parts: text %v html %v png %v (%+v)", sawText, sawHTML, sawPNG, types)
	}
}

func TestSMTPDomainOption(t *testing.T) {
	b := &testBackend{}
	cfg := startServer(t, b)
	cfg.Domain = "mail.retainer.example"
	m := testMessage("alert/acme-001/2026-10/90")
	m.From = "ops@other.example"
	m.HTML, m.Inline = "", nil
	if err := NewSMTP(cfg).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	_, msgs := b.Snapshot()
	pm, err := netmail.ReadMessage(bytes.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if id, want := pm.Header.Get("Message-Id"), "<"+m.MessageID("mail.retainer.example")+">"; id != want {
		t.Errorf("Message-ID = %q, want %q", id, want)
	}
	if msgs[0].From != "ops@other.example" {
		t.Errorf("envelope from = %q", msgs[0].From)
	}
}

func TestSMTPSendBatchOneConnection(t *testing.T) {
	b := &testBackend{}
	cfg := startServer(t, b)
	ms := []*Message{testMessage("k/1"), testMessage("k/2"), testMessage("k/3")}
	errs := NewSMTP(cfg).SendBatch(context.Background(), ms, nil)
	for i, err := range errs {
		if err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
	sessions, msgs := b.Snapshot()
	if sessions != 1 {
		t.Errorf("connections = %d, want 1", sessions)
	}
	if len(msgs) != 3 {
		t.Fatalf("received %d messages, want 3", len(msgs))
	}
	for i, r := range msgs {
		pm, err := netmail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatal(err)
		}
		if id, want := pm.Header.Get("Message-Id"), "<"+ms[i].MessageID("agency.example")+">"; id != want {
			t.Errorf("message %d Message-ID = %q, want %q", i, id, want)
		}
	}
}

func TestSMTPSendBatchPerMessageErrors(t *testing.T) {
	b := &testBackend{RcptErr: func(to string) error {
		if strings.HasPrefix(to, "nobody@") {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}}
	cfg := startServer(t, b)
	bad := testMessage("k/bad")
	bad.To = []string{"nobody@client.example"}
	noTo := testMessage("k/noto")
	noTo.To = nil
	errs := NewSMTP(cfg).SendBatch(context.Background(), []*Message{testMessage("k/1"), bad, noTo, testMessage("k/3")}, nil)
	if errs[0] != nil || errs[3] != nil {
		t.Errorf("good messages: %v, %v", errs[0], errs[3])
	}
	for _, i := range []int{1, 2} {
		var p *PermanentError
		if !errors.As(errs[i], &p) {
			t.Errorf("message %d: %v, want *PermanentError", i, errs[i])
		}
	}
	sessions, msgs := b.Snapshot()
	if sessions != 1 || len(msgs) != 2 {
		t.Errorf("connections %d, messages %d; want 1, 2", sessions, len(msgs))
	}
}

func TestSMTPTemporary421ThenAccept(t *testing.T) {
	b := &testBackend{MailErr: func(n int) error {
		if n == 1 {
			return &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
		return nil
	}}
	cfg := startServer(t, b)
	s := NewSMTP(cfg)
	m := testMessage("k/421")

	err := s.Send(context.Background(), m)
	if err == nil {
		t.Fatal("first Send succeeded, want a temporary error")
	}
	var p *PermanentError
	var a *AmbiguousError
	if errors.As(err, &p) || errors.As(err, &a) {
		t.Fatalf("first Send: %v (%T), want temporary", err, err)
	}
	if class, _ := Classify(err); class != Temporary {
		t.Fatalf("Classify = %s", class)
	}
	t.Logf("first Send: %v", err)
	if !strings.Contains(err.Error(), "421") {
		t.Errorf("error %q does not name the reply", err)
	}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("second Send: %v", err)
	}
	_, msgs := b.Snapshot()
	if len(msgs) != 1 {
		t.Errorf("received %d, want exactly 1", len(msgs))
	}
}

func TestSMTPPermanent550Rcpt(t *testing.T) {
	b := &testBackend{RcptErr: func(string) error {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
	}}
	cfg := startServer(t, b)
	err := NewSMTP(cfg).Send(context.Background(), testMessage("k/550"))
	var p *PermanentError
	if !errors.As(err, &p) {
		t.Fatalf("Send: %v (%T), want *PermanentError", err, err)
	}
	if _, msgs := b.Snapshot(); len(msgs) != 0 {
		t.Errorf("received %d, want 0", len(msgs))
	}
}

func TestSMTPAuth(t *testing.T) {
	const pass = "s3cr3t-Pa55"
	b := &testBackend{User: "agency", Pass: pass}
	cfg := startServer(t, b)
	cfg.Username, cfg.Password = "agency", pass
	if err := NewSMTP(cfg).Send(context.Background(), testMessage("k/auth")); err != nil {
		t.Fatalf("Send with the right password: %v", err)
	}
	if _, msgs := b.Snapshot(); len(msgs) != 1 {
		t.Fatalf("received %d, want 1", len(msgs))
	}

	const wrong = "wr0ng-Pa55"
	cfg.Password = wrong
	err := NewSMTP(cfg).Send(context.Background(), testMessage("k/auth2"))
	var p *PermanentError
	if !errors.As(err, &p) {
		t.Fatalf("Send with a wrong password: %v (%T), want *PermanentError", err, err)
	}
	t.Logf("wrong password: %v", err)
	if !strings.Contains(err.Error(), "535") {
		t.Errorf("error %q does not name the 535 reply", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), pass) {
		t.Errorf("error contains the password: %q", err)
	}
	if _, msgs := b.Snapshot(); len(msgs) != 1 {
		t.Errorf("received %d, want still 1", len(msgs))
	}
}

func TestSMTPAuthErrorNeverCarriesPassword(t *testing.T) {
	// A server that echoes the password in its reply.
	b := &testBackend{User: "agency", Pass: "right", AuthReply: func(pass string) error {
		return &gosmtp.SMTPError{Code: 535, EnhancedCode: gosmtp.EnhancedCode{5, 7, 8}, Message: "bad password " + pass}
	}}
	cfg := startServer(t, b)
	cfg.Username, cfg.Password = "agency", "hunter2-XYZ"
	err := NewSMTP(cfg).Send(context.Background(), testMessage("k/echo"))
	var p *PermanentError
	if !errors.As(err, &p) {
		t.Fatalf("Send: %v (%T), want *PermanentError", err, err)
	}
	for e := error(err); e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "hunter2-XYZ") {
			t.Fatalf("error chain contains the password: %q", e)
		}
	}
	t.Logf("echoed password: %v", err)
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("error = %q, want the echo redacted", err)
	}
}

func TestSMTPAmbiguousAfterData(t *testing.T) {
	b := &testBackend{DropAfterData: true}
	cfg := startServer(t, b)
	ms := []*Message{testMessage("k/amb"), testMessage("k/after")}
	errs := NewSMTP(cfg).SendBatch(context.Background(), ms, nil)
	var a *AmbiguousError
	if !errors.As(errs[0], &a) {
		t.Fatalf("Send: %v (%T), want *AmbiguousError", errs[0], errs[0])
	}
	t.Logf("after DATA: %v; next: %v", errs[0], errs[1])
	if class, _ := Classify(errs[0]); class != Ambiguous {
		t.Errorf("Classify = %s, want unknown", class)
	}
	// The next message never reached DATA: temporary, not ambiguous.
	if errs[1] == nil || errors.As(errs[1], &a) {
		t.Errorf("second message: %v, want temporary", errs[1])
	} else if class, _ := Classify(errs[1]); class != Temporary {
		t.Errorf("second message: Classify = %s, want temporary", class)
	}
	if _, msgs := b.Snapshot(); len(msgs) != 1 {
		t.Errorf("server has %d messages, want 1", len(msgs))
	}
}

func TestSMTPDialClosedPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: port, TLS: "none", From: "a@b.example", Timeout: 2 * time.Second})
	errs := s.SendBatch(context.Background(), []*Message{testMessage("k/1"), testMessage("k/2")}, nil)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("message %d: nil error", i)
		}
		t.Logf("message %d: %v", i, err)
		if class, _ := Classify(err); class != Temporary {
			t.Errorf("message %d: %v classified %s, want temporary", i, err, class)
		}
	}
}

func TestSMTPMandatoryTLSWithoutStartTLS(t *testing.T) {
	b := &testBackend{}
	cfg := startServer(t, b)
	cfg.TLS = "mandatory"
	err := NewSMTP(cfg).Send(context.Background(), testMessage("k/tls"))
	if err == nil {
		t.Fatal("Send over a server without STARTTLS succeeded with TLS mandatory")
	}
	t.Logf("mandatory TLS: %v", err)
	if _, msgs := b.Snapshot(); len(msgs) != 0 {
		t.Errorf("received %d, want 0", len(msgs))
	}
}

func TestSMTPContextCancelled(t *testing.T) {
	b := &testBackend{}
	cfg := startServer(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := NewSMTP(cfg).Send(ctx, testMessage("k/ctx"))
	if err == nil {
		t.Fatal("Send with a cancelled context succeeded")
	}
	t.Logf("cancelled: %v", err)
	if class, _ := Classify(err); class != Temporary {
		t.Errorf("Classify = %s, want temporary", class)
	}
}

func TestSMTPContextCancelledAwaitingDataReply(t *testing.T) {
	release := make(chan struct{})
	inData := make(chan struct{}, 1)
	b := &testBackend{DataHook: func() {
		inData <- struct{}{}
		<-release
	}}
	cfg := startServer(t, b)
	t.Cleanup(func() { close(release) }) // runs before the server's cleanup
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-inData
		cancel()
	}()
	start := time.Now()
	err := NewSMTP(cfg).Send(ctx, testMessage("k/slow"))
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Send took %v after cancel; want the connection closed at once", took)
	}
	t.Logf("cancelled awaiting reply: %v", err)
	var a *AmbiguousError
	if !errors.As(err, &a) {
		t.Errorf("Send: %v (%T), want *AmbiguousError (the data was sent)", err, err)
	}
	if !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), context.Canceled.Error()) {
		t.Errorf("error %q does not name the cancellation", err)
	}
}

// recordingHandover logs the hand-over calls of a batch and refuses the
// messages in no.
type recordingHandover struct {
	b   *testBackend
	log []string
	no  map[int]bool
}

func (h *recordingHandover) Begin(i int) bool {
	_, got := h.b.Snapshot()
	h.log = append(h.log, fmt.Sprintf("begin %d (%d received)", i, len(got)))
	return !h.no[i]
}

func (h *recordingHandover) End(i int, err error) {
	_, got := h.b.Snapshot()
	h.log = append(h.log, fmt.Sprintf("end %d (%d received) %v", i, len(got), err != nil))
}

// SendBatch tells of each message just before it goes and right after,
// in order, so that nothing is on the wire between the two records of a
// message; a message Begin refuses is not sent.
func TestSMTPSendBatchHandover(t *testing.T) {
	b := &testBackend{}
	cfg := startServer(t, b)
	noFrom := testMessage("k/nofrom")
	cfg.From = ""
	ms := []*Message{testMessage("k/0"), noFrom, testMessage("k/2"), testMessage("k/3")}
	for _, m := range ms {
		if m != noFrom {
			m.From = "billing@agency.example"
		}
	}
	h := &recordingHandover{b: b, no: map[int]bool{2: true}}
	errs := NewSMTP(cfg).SendBatch(context.Background(), ms, h)
	want := []string{"begin 0 (0 received)", "end 0 (1 received) false", "begin 2 (1 received)", "begin 3 (1 received)", "end 3 (2 received) false"}
	if strings.Join(h.log, "; ") != strings.Join(want, "; ") {
		t.Errorf("hand-overs:\n%s\nwant\n%s", strings.Join(h.log, "\n"), strings.Join(want, "\n"))
	}
	var p *PermanentError
	if errs[0] != nil || !errors.As(errs[1], &p) || !errors.Is(errs[2], ErrNotSent) || errs[3] != nil {
		t.Errorf("errors %v", errs)
	}
	// A cancelled context: nothing more is handed over.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h = &recordingHandover{b: b}
	errs = NewSMTP(cfg).SendBatch(ctx, []*Message{testMessage("k/4")}, h)
	if len(h.log) != 0 || errs[0] == nil {
		t.Errorf("after cancel: %v, %v", h.log, errs)
	}
}

// transferDecoded is body decoded from its Content-Transfer-Encoding cte.
func transferDecoded(body io.Reader, cte string) io.Reader {
	switch strings.ToLower(cte) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		return quotedprintable.NewReader(body)
	}
	return body
}
