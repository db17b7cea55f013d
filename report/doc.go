// Package report owns the figures people read: the burn tracker rows and
// the `status --json` object, the statement view and its text, markdown and
// HTML rendering, the burndown chart, and the statement page a browser
// shows. It formats what store and billing computed and sends nothing;
// notify composes messages from it. It also owns Templates: every message,
// statement and web page template of one config, the embedded ones with any
// file of the same name in the configured templates_dir in their place,
// read and parsed once when the config is loaded, so that notify's
// messages, the statements and web's pages are all rendered from the same
// parsed set, and `retainer check` refuses a broken override with the very
// parser a render would use.
package report
