package config

import (
	"encoding/json"
	"log/slog"
	"strconv"
)

// Secret is a credential read from the environment or a *_file. Every way of
// printing or serialising it shows "[redacted]" (or "" when it is empty); only
// Reveal returns the value, for the one call that needs it.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String shows "[redacted]" for a set secret and "" for an empty one.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// LogValue keeps log/slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON keeps encoding/json from writing the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML keeps YAML encoders from writing the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText keeps text encoders (and map keys) from writing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
