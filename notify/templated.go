package notify

import (
	"bytes"
	"fmt"
	"strings"

	"retainer/report"
)

// fromTemplate fills msg's Subject and Text from a message template: its
// first line is "Subject: …", then a blank line, then the body. The
// template is the config's (templates/<name>, or its override in
// templates_dir), parsed when the config was loaded.
func (r *Renderer) fromTemplate(name string, data any, msg *Message) error {
	subject, text, err := renderMessage(r.Templates, name, data)
	if err != nil {
		return err
	}
	msg.Subject, msg.Text = subject, text
	return nil
}

// renderMessage executes a message template into its subject and body.
func renderMessage(t *report.Templates, name string, data any) (subject, text string, err error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, name, data); err != nil {
		return "", "", err
	}
	head, rest, _ := strings.Cut(buf.String(), "\n")
	subject, ok := strings.CutPrefix(head, "Subject: ")
	if !ok {
		return "", "", fmt.Errorf("template %s: the first line must be \"Subject: …\"", name)
	}
	return strings.TrimSpace(subject), strings.TrimPrefix(rest, "\n"), nil
}
