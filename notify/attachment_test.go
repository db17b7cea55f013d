package notify

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"retainer/report"
	"retainer/store"
	"retainer/store/storetest"
)

// mimePart is one leaf of a parsed email, with its disposition.
type mimePart struct {
	Type, Disposition, FileName, ContentID string
	Body                                   []byte
}

// mimeParts parses raw as an email with mime/multipart and returns its
// leaves and the multipart types on the way to them.
func mimeParts(t *testing.T, raw []byte) (parts []mimePart, multiparts []string) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var visit func(h map[string][]string, body io.Reader)
	visit = func(h map[string][]string, body io.Reader) {
		get := func(k string) string {
			if v := h[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		mt, params, err := mime.ParseMediaType(get("Content-Type"))
		if err != nil {
			t.Fatalf("Content-Type %q: %v", get("Content-Type"), err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			multiparts = append(multiparts, mt)
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				visit(p.Header, p)
			}
		}
		if strings.EqualFold(get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, body)
		}
		data, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		p := mimePart{Type: mt, ContentID: get("Content-Id"), Body: data}
		if d, dp, err := mime.ParseMediaType(get("Content-Disposition")); err == nil {
			p.Disposition, p.FileName = d, dp["filename"]
		}
		parts = append(parts, p)
	}
	visit(msg.Header, msg.Body)
	return parts, multiparts
}

// statementMessage renders the worked example's February statement as
// the dispatcher would, with the agency's payment instructions.
func statementMessage(t *testing.T) *Message {
	t.Helper()
	db, rules := storetest.WorkedExample(t)
	r := &Renderer{DB: db, Rules: rules, Currency: "USD", Agency: "Northwind Studio", From: "billing@northwind.example", Location: time.UTC,
		Issuer: report.Issuer{PaymentInstructions: "IBAN GB33 BUKB 2020 1555 5555 55"}}
	m, err := r.Render(context.Background(), store.OutboxMessage{Key: "statement/acme-001/2026-02", Channel: ChannelEmail,
		To: []string{"ap@acme.example"}, CreatedAt: time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkStatementEmail checks that a statement email, as raw bytes, holds
// the text, the HTML with its inline chart, and the PDF invoice as an
// attachment named after the invoice, whose text names the invoice and
// its total.
func checkStatementEmail(t *testing.T, raw []byte) {
	t.Helper()
	parts, multiparts := mimeParts(t, raw)
	if got := strings.Join(multiparts, " "); !strings.HasPrefix(got, "multipart/mixed") || !strings.Contains(got, "multipart/related") ||
		!strings.Contains(got, "multipart/alternative") {
		t.Errorf("multipart structure %q: want mixed around related around alternative", got)
	}
	var pdf *mimePart
	seen := map[string]bool{}
	for i, p := range parts {
		seen[p.Type] = true
		if p.Type == "application/pdf" {
			pdf = &parts[i]
		}
	}
	if !seen["text/plain"] || !seen["text/html"] || !seen["image/png"] {
		t.Errorf("parts %v: want text, HTML and the inline chart", seen)
	}
	if pdf == nil {
		t.Fatalf("no application/pdf part among %v", seen)
	}
	if pdf.Disposition != "attachment" || pdf.FileName != "acme-001-2026-02.pdf" {
		t.Errorf("PDF part: disposition %q, filename %q", pdf.Disposition, pdf.FileName)
	}
	if !bytes.HasPrefix(pdf.Body, []byte("%PDF-")) {
		t.Fatalf("the attachment is not a PDF: %q", pdf.Body[:min(16, len(pdf.Body))])
	}
	text := pdfToText(t, pdf.Body)
	for _, want := range []string{"INVOICE", "acme-001-2026-02", "Northwind Studio", "Total due", "USD 5,000.00", "IBAN GB33"} {
		if !strings.Contains(text, want) {
			t.Errorf("the attached PDF's text lacks %q:\n%s", want, text)
		}
	}
	// Mail servers commonly refuse messages over 10 to 25 MB: the font is
	// subset and the chart is small, so the whole email stays tiny.
	if len(raw) > 256<<10 {
		t.Errorf("statement email is %d bytes", len(raw))
	}
}

func pdfToText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext is needed to read the PDF's text: apt-get install poppler-utils (.ci/run does)")
	}
	path := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

// The statement email received by a real SMTP server carries the PDF
// invoice as an attachment.
func TestStatementEmailAttachesPDFOverSMTP(t *testing.T) {
	m := statementMessage(t)
	if len(m.Attachments) != 1 || m.Attachments[0].Name != "acme-001-2026-02.pdf" || m.Attachments[0].ContentType != "application/pdf" {
		t.Fatalf("attachments: %+v", m.Attachments)
	}
	b := &testBackend{}
	if err := NewSMTP(startServer(t, b)).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	_, msgs := b.Snapshot()
	if len(msgs) != 1 {
		t.Fatalf("received %d messages", len(msgs))
	}
	checkStatementEmail(t, msgs[0].Data)
}

// The file transport's .eml is the same message, attachment included.
func TestStatementEmailAttachesPDFInFile(t *testing.T) {
	m := statementMessage(t)
	dir := t.TempDir()
	if err := NewFileSender(dir, "billing@northwind.example").Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "statement_acme-001_2026-02.eml"))
	if err != nil {
		t.Fatal(err)
	}
	checkStatementEmail(t, raw)
}

// An attachment's bytes arrive unchanged, with the type and name given;
// a message without attachments keeps its related/alternative shape.
func TestSMTPAttachmentBytes(t *testing.T) {
	data := bytes.Repeat([]byte("%PDF-1.4 \x00\xff binary\r\n"), 500)
	m := testMessage("statement/acme-001/2026-10")
	m.Attachments = []Attachment{{Name: "acme-001-2026-10.pdf", ContentType: "application/pdf", Data: data}}
	b := &testBackend{}
	if err := NewSMTP(startServer(t, b)).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	_, msgs := b.Snapshot()
	parts, _ := mimeParts(t, msgs[0].Data)
	found := false
	for _, p := range parts {
		if p.Type == "application/pdf" {
			found = true
			if !bytes.Equal(p.Body, data) || p.FileName != "acme-001-2026-10.pdf" || p.Disposition != "attachment" {
				t.Errorf("attachment: %d bytes (want %d), %q, %q", len(p.Body), len(data), p.FileName, p.Disposition)
			}
		}
	}
	if !found {
		t.Error("no application/pdf part")
	}

	plain := testMessage("statement/acme-001/2026-11")
	if err := NewSMTP(startServer(t, b)).Send(context.Background(), plain); err != nil {
		t.Fatal(err)
	}
	_, msgs = b.Snapshot()
	if _, multiparts := mimeParts(t, msgs[len(msgs)-1].Data); multiparts[0] != "multipart/related" {
		t.Errorf("without attachments the message is %v", multiparts)
	}
}
