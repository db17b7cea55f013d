package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"text/template"

	"retainer/templates"
)

// templateBody reads name from dir when it is there, else the embedded one.
func templateBody(name, dir string) ([]byte, error) {
	if dir != "" {
		body, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			return body, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
	}
	body, err := templates.FS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return body, nil
}

// LoadTemplate reads the text template name from dir when it is there,
// else the embedded one, and parses it as every text and markdown template
// is parsed (statement and message alike).
func LoadTemplate(name, dir string) (*template.Template, error) {
	body, err := templateBody(name, dir)
	if err != nil {
		return nil, err
	}
	t, err := parseText(name, body)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return t, nil
}
