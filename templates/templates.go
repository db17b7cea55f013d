// Package templates holds the default templates of every message and page,
// embedded in the binary. A file of the same name in the configured
// templates_dir overrides one: messages and statements at its top, the web
// pages and app.css in its web/. report.ParseTemplates reads and parses
// them, once per config.
package templates

import "embed"

// FS holds the default templates: messages and statements at the top, the
// web pages and their stylesheet in web/.
//
//go:embed *.tmpl web
var FS embed.FS
