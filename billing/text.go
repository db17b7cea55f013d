package billing

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Names (a client, a project, a user, an agency) reach email Subjects,
// Slack messages, statements and web pages. A line break there cuts a
// Subject or forges a header line; a bidirectional override (U+202E) makes
// a page or a Subject read backwards; a NUL byte is refused by PostgreSQL.
// The config refuses them (CheckText); imported names have them replaced
// (CleanName), because an export is not the operator's to edit.

// ErrNUL is text holding a NUL byte, which no database column takes.
var ErrNUL = errors.New("contains a NUL byte")

// ErrNotUTF8 is text that is not valid UTF-8.
var ErrNotUTF8 = errors.New("is not UTF-8 text")

// invisible reports the format characters that reorder or hide text: the
// bidirectional marks, embeddings, overrides and isolates, the zero-width
// characters and the byte-order mark.
func invisible(r rune) bool {
	switch {
	case r == '\u061c', r == '\u200e', r == '\u200f', // ALM, LRM, RLM
		r >= '\u202a' && r <= '\u202e', // LRE, RLE, PDF, LRO, RLO
		r >= '\u2066' && r <= '\u2069', // LRI, RLI, FSI, PDI
		r >= '\u200b' && r <= '\u200d', // zero-width space, non-joiner, joiner
		r == '\u2060', r == '\ufeff':   // word joiner, BOM
		return true
	}
	return false
}

// lineBreaking reports the control characters and line separators: C0, DEL,
// C1, U+2028 and U+2029.
func lineBreaking(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

// CheckText refuses text a name or a note must not hold: a NUL byte,
// invalid UTF-8, a control character or line separator (a tab or a line
// break too, unless multiline), or a bidirectional or zero-width format
// character. The error names the character (U+202E), never the text.
func CheckText(s string, multiline bool) error {
	for i, r := range s {
		switch {
		case r == 0:
			return ErrNUL
		case r == utf8.RuneError && isInvalidAt(s, i):
			return ErrNotUTF8
		case multiline && (r == '\n' || r == '\t' || r == '\r'):
			continue
		case lineBreaking(r):
			return fmt.Errorf("contains a control character (%U)", r)
		case invisible(r):
			return fmt.Errorf("contains an invisible formatting character (%U)", r)
		}
	}
	return nil
}

func isInvalidAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size <= 1
}

// CleanName makes an imported name safe to show on one line: each run of
// control characters and line separators (a line break, a tab) becomes one
// space, bidirectional and zero-width format characters are dropped,
// invalid UTF-8 becomes U+FFFD, and the result is trimmed. A NUL byte is
// not the caller's to clean: entrances refuse it (ErrNUL) first.
func CleanName(s string) string {
	if printableASCII(s, false) {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.ToValidUTF8(s, "\ufffd") {
		switch {
		case lineBreaking(r):
			if !space {
				b.WriteByte(' ')
				space = true
			}
		case invisible(r):
		default:
			b.WriteRune(r)
			space = false
		}
	}
	return strings.TrimSpace(b.String())
}

// CleanNotes is CleanName for free text: line breaks and tabs stay (a
// carriage return becomes a line break), other control characters become a
// space, format characters are dropped, invalid UTF-8 becomes U+FFFD. It
// is not trimmed.
func CleanNotes(s string) string {
	if printableASCII(s, true) {
		return s
	}
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToValidUTF8(s, "\ufffd") {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case lineBreaking(r):
			b.WriteByte(' ')
		case invisible(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// printableASCII reports whether s is printable ASCII (with breaks, also
// line feeds and tabs): the common case, kept as it is without an
// allocation.
func printableASCII(s string, breaks bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x7f || (c < 0x20 && !(breaks && (c == '\n' || c == '\t'))) {
			return false
		}
	}
	return true
}
