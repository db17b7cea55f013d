// Package templates holds the default templates of every message and page,
// embedded in the binary. A file of the same name in the configured
// templates_dir overrides one.
package templates

import "embed"

// FS holds the default templates.
//
//go:embed *.tmpl
var FS embed.FS
