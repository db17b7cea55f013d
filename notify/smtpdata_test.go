package notify

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"net/textproto"
	"slices"
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
	mail "github.com/wneessen/go-mail"
)

// textprotoDot is what net/textproto's DotWriter, the writer go-mail's
// DATA goes through, writes for src, final ".\r\n" included.
func textprotoDot(src []byte) []byte {
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	w := textproto.NewWriter(bw).DotWriter()
	_, _ = w.Write(src)
	_ = w.Close()
	return out.Bytes()
}

// The data of a prepared message is dot-stuffed as SMTP wants it, byte
// for byte as textproto's DotWriter would write it.
func TestAppendDotStuffed(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"empty", "", "\r\n"},
		{"a line", "a\r\n", "a\r\n"},
		{"no CRLF at the end", "a\r\nb", "a\r\nb\r\n"},
		{"a line of a dot alone", "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n"},
		{"a line of two dots", "a\r\n..\r\n", "a\r\n...\r\n"},
		{"the first line starts with a dot", ".hidden\r\nb\r\n", "..hidden\r\nb\r\n"},
		{"a part whose first line starts with a dot", "--b\r\nContent-Type: text/plain\r\n\r\n.first\r\n--b--\r\n",
			"--b\r\nContent-Type: text/plain\r\n\r\n..first\r\n--b--\r\n"},
		{"a dot inside a line", "a.b\r\n. .\r\n", "a.b\r\n.. .\r\n"},
		{"the last line a dot, no CRLF", "a\r\n.", "a\r\n..\r\n"},
		{"bare LF", "a\nb\n", "a\r\nb\r\n"},
		{"bare LF then a dot", "a\n.b", "a\r\n..b\r\n"},
		{"bare CR is not a line end", "a\r.b\r\n", "a\r.b\r\n"},
		{"CR at the very end", "a\r", "a\r\n"},
		{"two CRs before LF", "a\r\r\n", "a\r\r\r\n"},
		{"three CRs before LF", "a\r\r\r\n", "a\r\r\r\n"},
		{"a dot after a CRLF at the start", "\r\n.\r\n", "\r\n..\r\n"},
		{"only a dot", ".", "..\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := appendDotStuffed([]byte("kept:"), []byte(tc.src))
			if string(got) != "kept:"+tc.want {
				t.Errorf("appendDotStuffed(%q) = %q, want %q", tc.src, got[5:], tc.want)
			}
			if tp := textprotoDot([]byte(tc.src)); string(tp) != tc.want+".\r\n" {
				t.Errorf("the DotWriter writes %q for %q; the table says %q", tp, tc.src, tc.want)
			}
		})
	}
	// Random text of the bytes that matter, against the DotWriter; and
	// never a bare LF.
	rng := rand.New(rand.NewPCG(20, 26))
	alphabet := []byte("\r\n.ab")
	for i := 0; i < 5000; i++ {
		src := make([]byte, rng.IntN(40))
		for j := range src {
			src[j] = alphabet[rng.IntN(len(alphabet))]
		}
		got := appendDotStuffed(nil, src)
		if want := textprotoDot(src); string(got)+".\r\n" != string(want) {
			t.Fatalf("appendDotStuffed(%q) = %q; the DotWriter writes %q", src, got, want)
		}
		for j, c := range got {
			if c == '\n' && (j == 0 || got[j-1] != '\r') {
				t.Fatalf("appendDotStuffed(%q) = %q: a bare LF at %d", src, got, j)
			}
		}
		if !bytes.HasSuffix(got, []byte("\r\n")) {
			t.Fatalf("appendDotStuffed(%q) = %q: not ended by CRLF", src, got)
		}
	}
}

// entity is a MIME entity as a reader sees it: its headers (Date and
// Message-Id left out, a multipart's boundary too, which is random) and
// its decoded body, or its parts.
type entity struct {
	Header []string
	Body   string
	Parts  []entity
}

func parseEntity(t *testing.T, h map[string][]string, body io.Reader) entity {
	t.Helper()
	var e entity
	var params map[string]string
	mt := ""
	for k, vs := range h {
		for _, v := range vs {
			switch k {
			case "Date", "Message-Id":
				continue
			case "Content-Type":
				var err error
				if mt, params, err = mime.ParseMediaType(v); err != nil {
					t.Fatalf("Content-Type %q: %v", v, err)
				}
				rest := maps(params, "boundary")
				v = mt + "; " + rest
			}
			e.Header = append(e.Header, k+": "+v)
		}
	}
	slices.Sort(e.Header)
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart() // the headers as they were, not decoded
			if err == io.EOF {
				return e
			}
			if err != nil {
				t.Fatal(err)
			}
			e.Parts = append(e.Parts, parseEntity(t, p.Header, p))
		}
	}
	data, err := io.ReadAll(transferDecoded(body, textproto.MIMEHeader(h).Get("Content-Transfer-Encoding")))
	if err != nil {
		t.Fatal(err)
	}
	e.Body = string(data)
	return e
}

// maps writes params but skip as "k=v; …", sorted.
func maps(params map[string]string, skip string) string {
	var kv []string
	for k, v := range params {
		if k != skip {
			kv = append(kv, k+"="+v)
		}
	}
	slices.Sort(kv)
	return strings.Join(kv, "; ")
}

func parseMessage(t *testing.T, raw []byte) entity {
	t.Helper()
	pm, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return parseEntity(t, pm.Header, pm.Body)
}

// dottedMessage is a statement email whose text, HTML and attachment have
// lines that start with a dot, one a dot alone.
func dottedMessage(key string) *Message {
	m := testMessage(key)
	m.Text = ".first line\n.\n..\nHours used: 42.50\n. the end"
	m.HTML = ".<p>Hours used: <b>42.50</b></p>\r\n.\r\n<img src=\"cid:burndown@retainer\">"
	m.Attachments = []Attachment{{Name: "acme-001-2026-10.pdf", ContentType: "application/pdf",
		Data: bytes.Repeat([]byte("%PDF-1.4 \x00\xff .binary\r\n.\n"), 700)}}
	return m
}

// preparedFor is the dispatcher's side of a batch as SendBatch sees it:
// every message rendered, each prepared by the transport beforehand.
type preparedFor struct {
	prep []any
	read int // how many times SendBatch took a prepared message
}

func (h *preparedFor) Await(int) bool { return true }
func (h *preparedFor) Begin(int) bool { return true }
func (h *preparedFor) End(int, error) {}
func (h *preparedFor) Prepared(i int) any {
	h.read++
	return h.prep[i]
}

// goMailMsgs are ms as go-mail messages, for sending them go-mail's own way.
func goMailMsgs(t *testing.T, s *SMTP, ms []*Message) []*mail.Msg {
	t.Helper()
	var gms []*mail.Msg
	for _, m := range ms {
		gm, err := s.build(m)
		if err != nil {
			t.Fatal(err)
		}
		gms = append(gms, gm)
	}
	return gms
}

func prepareAll(s *SMTP, ms []*Message) *preparedFor {
	h := &preparedFor{}
	for _, m := range ms {
		h.prep = append(h.prep, s.Prepare(m))
	}
	return h
}

// A prepared message, sent, arrives as go-mail's own Client.Send delivers
// the same message: the same envelope, headers and parts, decoded to the
// same bytes (the Date and Message-ID are the message's own either way).
func TestSMTPPreparedArrivesAsGoMailSendsIt(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    func() *Message
	}{
		{"dotted lines", func() *Message { return dottedMessage("statement/acme-001/2026-10") }},
		{"statement", func() *Message { return statementMessage(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &testBackend{}
			cfg := startServer(t, b)
			s := NewSMTP(cfg)
			m := tc.m()

			// go-mail's own path.
			gm, err := s.build(m)
			if err != nil {
				t.Fatal(err)
			}
			c, err := mail.NewClient(cfg.Host, mail.WithPort(cfg.Port), mail.WithTLSPolicy(mail.NoTLS))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.DialAndSend(gm); err != nil {
				t.Fatal(err)
			}
			// Ours, prepared beforehand.
			h := prepareAll(s, []*Message{m})
			if errs := s.SendBatch(context.Background(), []*Message{m}, h); errs[0] != nil {
				t.Fatal(errs[0])
			}
			if h.read != 1 {
				t.Fatalf("SendBatch took %d prepared messages, want 1", h.read)
			}
			_, got := b.Snapshot()
			if len(got) != 2 {
				t.Fatalf("the server got %d messages, want 2", len(got))
			}
			theirs, ours := got[0], got[1]
			if theirs.From != ours.From || strings.Join(theirs.To, ",") != strings.Join(ours.To, ",") {
				t.Errorf("envelope: go-mail %s → %v, ours %s → %v", theirs.From, theirs.To, ours.From, ours.To)
			}
			want, have := parseMessage(t, theirs.Data), parseMessage(t, ours.Data)
			if fmt.Sprintf("%q", want) != fmt.Sprintf("%q", have) {
				t.Errorf("received differently:\ngo-mail %q\nours    %q", want, have)
			}
			if len(want.Parts) == 0 {
				t.Errorf("no parts: %q", want)
			}
			// The Date and Message-ID are the message's own.
			for _, raw := range [][]byte{theirs.Data, ours.Data} {
				pm, _ := netmail.ReadMessage(bytes.NewReader(raw))
				if id := pm.Header.Get("Message-Id"); id != "<"+m.MessageID(s.domain(m.From))+">" && m.From != "" {
					t.Errorf("Message-ID %q", id)
				}
				if d, err := pm.Header.Date(); err != nil || !d.Equal(m.Date) {
					t.Errorf("Date %q (%v), want %v", pm.Header.Get("Date"), err, m.Date)
				}
			}
		})
	}
}

// A prepared message whose connection drops after its data went, before
// the server's reply, is ambiguous, and the next one temporary, with the
// very errors go-mail's Client.Send gave on the same connection.
func TestSMTPPreparedDroppedAfterDataIsAmbiguous(t *testing.T) {
	b := &testBackend{DropAfterData: true}
	cfg := startServer(t, b)
	s := NewSMTP(cfg)
	ms := []*Message{dottedMessage("k/amb"), testMessage("k/after")}
	h := prepareAll(s, ms)
	errs := s.SendBatch(context.Background(), ms, h)
	if h.read != 2 {
		t.Fatalf("SendBatch took %d prepared messages, want 2", h.read)
	}
	var a *AmbiguousError
	if class, _ := Classify(errs[0]); !errors.As(errs[0], &a) || class != Ambiguous {
		t.Fatalf("dropped after DATA: %v (%T), want *AmbiguousError", errs[0], errs[0])
	}
	if class, _ := Classify(errs[1]); errs[1] == nil || errors.As(errs[1], &a) || class != Temporary {
		t.Fatalf("the next message: %v, want temporary", errs[1])
	}
	if _, got := b.Snapshot(); len(got) != 1 {
		t.Fatalf("the server has %d messages, want 1", len(got))
	}

	// go-mail's own Client.Send of the same two messages on one connection.
	gms := goMailMsgs(t, s, ms)
	c, err := mail.NewClient(cfg.Host, mail.WithPort(cfg.Port), mail.WithTLSPolicy(mail.NoTLS), mail.WithTimeout(cfg.Timeout))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DialWithContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.Send(gms[0])
	if gms[0].IsDelivered() || gms[0].SendError() == nil {
		t.Fatalf("go-mail: delivered %v, %v", gms[0].IsDelivered(), gms[0].SendError())
	}
	next := c.Send(gms[1])
	for i, want := range []string{"delivery unknown: smtp: " + gms[0].SendError().Error(), "smtp: " + next.Error()} {
		if errs[i].Error() != want {
			t.Errorf("message %d: %q; go-mail's path gives %q", i, errs[i], want)
		}
	}
	t.Logf("after DATA: %v; next: %v", errs[0], errs[1])
}

// A refused recipient, a refused sender: the errors read as go-mail's,
// and the connection goes on.
func TestSMTPPreparedRefusalsReadAsGoMail(t *testing.T) {
	b := &testBackend{
		MailErr: func(n int) error {
			if n == 2 || n == 5 {
				return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
			}
			return nil
		},
		RcptErr: func(to string) error {
			if strings.HasPrefix(to, "nobody@") {
				return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			}
			return nil
		},
	}
	cfg := startServer(t, b)
	s := NewSMTP(cfg)
	bad := testMessage("k/bad")
	bad.To = []string{"nobody@client.example", "alice@client.example", "nobody@other.example"}
	ms := []*Message{bad, testMessage("k/busy"), testMessage("k/ok")}
	errs := s.SendBatch(context.Background(), ms, prepareAll(s, ms))

	gms := goMailMsgs(t, s, ms)
	c, err := mail.NewClient(cfg.Host, mail.WithPort(cfg.Port), mail.WithTLSPolicy(mail.NoTLS))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DialAndSend(gms...); err == nil {
		t.Fatal("go-mail sent every message")
	}
	classes := []Class{Permanent, Temporary}
	for i, gm := range gms[:2] {
		if gm.SendError() == nil {
			t.Fatalf("go-mail: message %d sent", i)
		}
		if errs[i] == nil {
			t.Fatalf("message %d sent", i)
		}
		class, _ := Classify(errs[i])
		if class != classes[i] {
			t.Errorf("message %d: %s, want %s", i, class, classes[i])
		}
		want := "smtp: " + gm.SendError().Error()
		if class == Permanent {
			want = "permanent: " + want
		}
		if errs[i].Error() != want {
			t.Errorf("message %d: %q; go-mail's path gives %q", i, errs[i], want)
		}
	}
	if errs[2] != nil || !gms[2].IsDelivered() {
		t.Errorf("the last message: %v (go-mail delivered it: %v)", errs[2], gms[2].IsDelivered())
	}
	if sessions, got := b.Snapshot(); sessions != 2 || len(got) != 2 {
		t.Errorf("%d connections, %d messages; want 2 and 2", sessions, len(got))
	}
}
