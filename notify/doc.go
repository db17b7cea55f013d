// Package notify renders what retainer tells people — the burn tracker, the
// monthly statement — from the embedded templates, which files of the same
// name in the configured templates_dir override.
package notify
