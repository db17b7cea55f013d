// Package report owns the figures people read: the burn tracker rows and
// the `status --json` object, the statement view and its text, markdown and
// HTML rendering, the burndown chart, and the statement page a browser
// shows. It formats what store and billing computed and sends nothing;
// notify composes messages from it. Templates are the embedded ones, which
// files of the same name in the configured templates_dir override; the
// loader and the override check live here so that notify's message
// templates are read and parsed the same way.
package report
