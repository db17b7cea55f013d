// Package config loads and validates retainer's one YAML file.
//
// Load reads the file with koanf, lays the RETAINER_ environment variables
// over it (prefix stripped, lower-cased, "__" between levels), decodes the
// result strictly (unknown keys are errors), applies the defaults of the
// spec, and checks everything it can. It never stops at the first problem:
// every bad value comes back at once in Errors, each named by its dotted
// path (contracts.acme-001.max_rollover: must be >= 0).
//
// Money and hours are decoded as text and converted with billing's exact
// decimal parsers, so no float64 ever carries an amount. Secrets (SMTP
// password, Slack webhook URL and token, tracker tokens, admin password hash,
// API tokens) are accepted only from the environment or from a *_file twin,
// and are held as Secret, which redacts itself in fmt, slog, JSON, YAML and
// text output.
//
// Config is a plain value: the package keeps no state of its own, so a
// reload is another call to Load whose result replaces the old one only when
// it succeeds.
package config
