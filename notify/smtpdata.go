package notify

import (
	"bytes"
	"errors"
	"fmt"
	"net/textproto"
	"strings"

	mail "github.com/wneessen/go-mail"
)

// smtpPrepared is a message ready for its SMTP transaction: its envelope
// and the bytes that follow DATA, encoded and dot-stuffed, or why it
// cannot be sent.
type smtpPrepared struct {
	s     *SMTP    // the transport that prepared it (its From and domain)
	m     *Message // the message it was prepared from
	from  string   // MAIL FROM
	rcpts []string // RCPT TO, in order
	msgID string   // the Message-ID header, named in errors
	// data is the message as written after DATA's 354: every line ending
	// in CRLF, a line starting with "." given another, and the final
	// ".\r\n" not included.
	data []byte
	err  error // the message cannot be built: permanent, never sent
}

var _ Preparer = (*SMTP)(nil)

// Prepare builds and encodes m for SendBatch (implements Preparer): the
// headers, MIME parts, base64 and quoted-printable as go-mail writes them,
// dot-stuffed, so that the send loop only writes them.
func (s *SMTP) Prepare(m *Message) any { return s.prepare(m) }

// prepare builds m with go-mail and encodes it to its final bytes. A
// message that cannot be built, or encoded, keeps the error: it is
// permanent (the same message gives the same error again).
func (s *SMTP) prepare(m *Message) *smtpPrepared {
	p := &smtpPrepared{s: s, m: m}
	gm, err := s.build(m)
	if err != nil {
		p.err = err
		return p
	}
	if p.from, err = gm.GetSender(false); err != nil {
		p.err = fmt.Errorf("smtp: %w", &sendError{reason: mail.ErrGetSender, errs: []error{err}, msgID: gm.GetMessageID()})
		return p
	}
	if p.rcpts, err = gm.GetRecipients(); err != nil {
		p.err = fmt.Errorf("smtp: %w", &sendError{reason: mail.ErrGetRcpts, errs: []error{err}, msgID: gm.GetMessageID()})
		return p
	}
	var buf bytes.Buffer
	// The message is about the size of its parts, a third more in base64.
	size := len(m.Text) + len(m.HTML) + 4096
	for _, in := range m.Inline {
		size += len(in.Data)
	}
	for _, at := range m.Attachments {
		size += len(at.Data)
	}
	buf.Grow(size + size/3)
	if _, err := gm.WriteTo(&buf); err != nil {
		p.err = fmt.Errorf("smtp: %w", &sendError{reason: mail.ErrWriteContent, errs: []error{err}, msgID: gm.GetMessageID()})
		return p
	}
	p.msgID = gm.GetMessageID() // WriteTo sets it when it was not (never: build does)
	p.data = appendDotStuffed(make([]byte, 0, buf.Len()+buf.Len()/64+8), buf.Bytes())
	return p
}

// appendDotStuffed appends src to dst as SMTP's DATA carries it (RFC 5321
// §4.5.2), byte for byte what net/textproto's DotWriter writes for src up
// to its final ".\r\n": a line that starts with "." gets another; a bare
// LF becomes CRLF; the end is a CRLF (added when src does not end with
// one). It scans line ends with bytes.IndexByte and copies the runs in
// between whole, rather than byte by byte.
//
// Like the DotWriter, it counts a CR as ending a line only when an LF
// follows it, and takes an LF after an odd run of CRs as their CRLF (the
// DotWriter's state after a CR that followed a CR is "in a line").
func appendDotStuffed(dst, src []byte) []byte {
	if len(src) > 0 && src[0] == '.' {
		dst = append(dst, '.')
	}
	from, line := 0, 0 // copied up to from; the current line starts at line
	for {
		j := bytes.IndexByte(src[line:], '\n')
		if j < 0 {
			break
		}
		nl := line + j
		if trailingCRs(src[line:nl])%2 == 0 { // a bare LF: CR before it
			dst = append(dst, src[from:nl]...)
			dst = append(dst, '\r')
			from = nl
		}
		line = nl + 1
		if line < len(src) && src[line] == '.' {
			dst = append(dst, src[from:line]...)
			dst = append(dst, '.')
			from = line
		}
	}
	dst = append(dst, src[from:]...)
	switch {
	case len(src) > 0 && src[len(src)-1] == '\n':
	case trailingCRs(src[line:])%2 == 1:
		dst = append(dst, '\n')
	default:
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// trailingCRs counts the CRs that end b.
func trailingCRs(b []byte) int {
	n := 0
	for n < len(b) && b[len(b)-1-n] == '\r' {
		n++
	}
	return n
}

// sendError is the failure of a step of a message's SMTP transaction, in
// go-mail's terms and words (its SendError, which only go-mail can make):
// the step, the errors (the server's reply, a network error), the
// recipients refused, the message's ID.
type sendError struct {
	reason mail.SendErrReason
	errs   []error
	rcpts  []string
	msgID  string
	code   int // the 4xx or 5xx reply; 0 for anything else
}

// Error reads as go-mail's SendError does.
func (e *sendError) Error() string {
	var b strings.Builder
	b.WriteString(e.reason.String())
	if len(e.errs) > 0 {
		b.WriteByte(':')
		for i, err := range e.errs {
			b.WriteByte(' ')
			b.WriteString(err.Error())
			if i != len(e.errs)-1 {
				b.WriteByte(',')
			}
		}
	}
	if len(e.rcpts) > 0 {
		b.WriteString(", affected recipient(s): ")
		b.WriteString(strings.Join(e.rcpts, ", "))
	}
	if e.msgID != "" {
		b.WriteString(", affected message ID: ")
		b.WriteString(e.msgID)
	}
	return b.String()
}

func (e *sendError) Unwrap() []error { return e.errs }

// replyCode is the 4xx or 5xx code of the server's reply in err, 0 when err
// is no such reply.
func replyCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 400 && te.Code < 600 {
		return te.Code
	}
	return 0
}

// failed is a sendError for step reason of p, from err.
func (p *smtpPrepared) failed(reason mail.SendErrReason, err error) *sendError {
	return &sendError{reason: reason, errs: []error{err}, msgID: p.msgID, code: replyCode(err)}
}

// transact runs p's SMTP transaction on c, as go-mail's Client.Send runs
// one message's: the connection check (NOOP; the deadline extended), MAIL
// (RSET after a refusal), every RCPT (RSET after any refusal), DATA, the
// data and its ".". delivered is whether the server accepted the message;
// otherwise err is a *sendError.
//
// Two steps of go-mail's are left out. The NOOP and RSET it sends after an
// accepted message: the server's reply ends the transaction (RFC 5321
// §4.1.1.4), and a connection gone since is found by the next message's
// check, or by take's RSET before the connection carries another batch,
// as their failure would have (the message stays delivered either way).
// And the refusal of an unencoded message by a server without 8BITMIME:
// build leaves every part encoded.
func (c *smtpConn) transact(p *smtpPrepared) (delivered bool, err error) {
	sc := c.sc
	if err := c.check(); err != nil {
		return false, &sendError{reason: mail.ErrConnCheck, errs: []error{err}}
	}
	if err := sc.Mail(p.from); err != nil {
		e := p.failed(mail.ErrSMTPMailFrom, err)
		if rerr := sc.Reset(); rerr != nil {
			e.errs = append(e.errs, rerr)
		}
		return false, e
	}
	var refused *sendError
	for _, rcpt := range p.rcpts {
		if err := sc.Rcpt(rcpt); err != nil {
			if refused == nil {
				refused = &sendError{reason: mail.ErrSMTPRcptTo, msgID: p.msgID}
			}
			refused.errs = append(refused.errs, err)
			refused.rcpts = append(refused.rcpts, rcpt)
			refused.code = replyCode(err)
		}
	}
	if refused != nil {
		if rerr := sc.Reset(); rerr != nil {
			refused.errs = append(refused.errs, rerr)
		}
		return false, refused
	}
	text := sc.Text
	id, err := text.Cmd("DATA")
	if err == nil {
		text.StartResponse(id)
		_, _, err = text.ReadResponse(354)
		text.EndResponse(id)
	}
	if err != nil {
		return false, p.failed(mail.ErrSMTPData, err)
	}
	// The data in one write (the buffer is empty after DATA: it goes to
	// the connection as it is); until its "." goes, the server cannot
	// have the message.
	if _, err := text.W.Write(p.data); err != nil {
		return false, p.failed(mail.ErrWriteContent, err)
	}
	// From the "." on, a lost connection leaves the message in doubt. As
	// go-mail's DataCloser, a failed flush is heard as the reply that
	// does not come.
	_, _ = text.W.WriteString(".\r\n")
	_ = text.W.Flush()
	if _, _, err := text.ReadResponse(250); err != nil {
		return false, p.failed(mail.ErrSMTPDataClose, err)
	}
	return true, nil
}

// check is go-mail's connection check before each message: the
// connection is there, answers NOOP, and has its deadline extended.
func (c *smtpConn) check() error {
	if !c.sc.HasConnection() {
		return mail.ErrNoActiveConnection
	}
	if err := c.sc.Noop(); err != nil {
		return mail.ErrNoActiveConnection
	}
	if err := c.sc.UpdateDeadline(c.timeout); err != nil {
		return mail.ErrDeadlineExtendFailed
	}
	return nil
}
