package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// FileSender is the `file` transport: each message becomes
// <dir>/<key with / as _>.eml (email) or .json (Slack), written through a
// temporary name and a rename, so a redelivery replaces the file.
type FileSender struct {
	Dir   string
	email *SMTP // builds the .eml exactly as SMTP would send it
}

// NewFileSender writes into dir; from is the default email From.
func NewFileSender(dir, from string) *FileSender {
	return &FileSender{Dir: dir, email: NewSMTP(SMTPConfig{From: from})}
}

// ReplacesOnRedelivery marks the file transport as a Replacer: writing a
// message again replaces its file, so a crash never leaves one in doubt.
func (f *FileSender) ReplacesOnRedelivery() {}

// Send writes m as a file.
func (f *FileSender) Send(ctx context.Context, m *Message) error {
	var body []byte
	var ext string
	switch m.Channel {
	case ChannelEmail:
		msg, err := f.email.build(m)
		if err != nil {
			return &PermanentError{err}
		}
		var buf bytes.Buffer
		if _, err := msg.WriteTo(&buf); err != nil {
			return &PermanentError{err}
		}
		body, ext = buf.Bytes(), ".eml"
	case ChannelSlack:
		var blocks json.RawMessage
		if len(m.Blocks) > 0 {
			blocks = m.Blocks
		}
		b, err := json.MarshalIndent(struct {
			Key    string          `json:"key"`
			To     []string        `json:"to"`
			Text   string          `json:"text"`
			Blocks json.RawMessage `json:"blocks,omitempty"`
		}{m.Key, m.To, m.Text, blocks}, "", "  ")
		if err != nil {
			return &PermanentError{err}
		}
		body, ext = append(b, '\n'), ".json"
	default:
		return &PermanentError{fmt.Errorf("file transport: unknown channel %q", m.Channel)}
	}
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return fmt.Errorf("file transport: %w", err)
	}
	final := filepath.Join(f.Dir, keyFileName(m.Key)+ext)
	tmp, err := os.CreateTemp(f.Dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("file transport: %w", err)
	}
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("file transport: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("file transport: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("file transport: %w", err)
	}
	return nil
}
