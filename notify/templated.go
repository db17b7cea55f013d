package notify

import (
	"bytes"
	"fmt"
	"strings"

	"retainer/report"
)

// fromTemplate fills msg's Subject and Text from a message template: its
// first line is "Subject: …", then a blank line, then the body. The
// embedded templates/<name> is used unless templates_dir has one.
func (r *Renderer) fromTemplate(name string, data any, msg *Message) error {
	subject, text, err := renderMessage(name, r.TemplatesDir, data)
	if err != nil {
		return err
	}
	msg.Subject, msg.Text = subject, text
	return nil
}

// renderMessage executes a message template into its subject and body.
func renderMessage(name, dir string, data any) (subject, text string, err error) {
	t, err := report.LoadTemplate(name, dir)
	if err != nil {
		return "", "", err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return "", "", fmt.Errorf("render %s: %w", name, err)
	}
	head, rest, _ := strings.Cut(buf.String(), "\n")
	subject, ok := strings.CutPrefix(head, "Subject: ")
	if !ok {
		return "", "", fmt.Errorf("template %s: the first line must be \"Subject: …\"", name)
	}
	return strings.TrimSpace(subject), strings.TrimPrefix(rest, "\n"), nil
}
