package timesheet

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"retainer/billing"
)

// dateOrder is how an A/B/YYYY date reads.
type dateOrder int

const (
	orderUnknown dateOrder = iota
	orderMDY
	orderDMY
)

// evidence collects what a file's dates say about their order.
type evidence struct {
	dmyLine, mdyLine int // first line proving each order (0 = none)
	ambiguous        int // first line with a date both orders read (0 = none)
	ambiguousValue   string
}

// ErrDateOrder is wrapped by the error for a file whose dates read both
// month-first and day-first and nothing decides.
var ErrDateOrder = errors.New("the date order of this file cannot be decided: set import.date_order to mdy or dmy")

// decide returns the file's date order, using configured when the file
// does not tell.
func (ev *evidence) decide(configured string) (dateOrder, error) {
	switch {
	case ev.dmyLine > 0 && ev.mdyLine > 0:
		return orderUnknown, &dateContradiction{dmy: ev.dmyLine, mdy: ev.mdyLine}
	case ev.dmyLine > 0:
		return orderDMY, nil
	case ev.mdyLine > 0:
		return orderMDY, nil
	}
	switch configured {
	case "mdy":
		return orderMDY, nil
	case "dmy":
		return orderDMY, nil
	}
	if ev.ambiguous > 0 {
		return orderUnknown, fmt.Errorf("line %d: %q reads as month-first or day-first and no date in the file tells: %w",
			ev.ambiguous, ev.ambiguousValue, ErrDateOrder)
	}
	return orderUnknown, nil // no ambiguous date: the order never matters
}

type dateContradiction struct{ dmy, mdy int }

func (e *dateContradiction) Error() string {
	return "dates contradict each other: line " + itoa(e.dmy) + " is day-first (DD/MM/YYYY) but line " +
		itoa(e.mdy) + " is month-first (MM/DD/YYYY); fix the file (import.date_order cannot override the file)"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// atoiDigits reads 1..maxLen ASCII digits.
func atoiDigits(s string, maxLen int) (int, bool) {
	if len(s) == 0 || len(s) > maxLen {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func validYMD(y, m, d int) bool {
	return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, time.Month(m))
}

// parseDate reads ISO YYYY-MM-DD (or YYYY/MM/DD), dotted DD.MM.YYYY
// (day-first), or A/B/YYYY and A-B-YYYY whose order comes from order. In
// pass 1 (order unknown) an A/B date is recorded in ev and checked against
// whichever order it can be. Two-digit years are 20YY.
func parseDate(s string, order dateOrder, ev *evidence, line int) (billing.Date, bool) {
	var sep byte
	for _, c := range []byte{'-', '/', '.'} {
		if strings.IndexByte(s, c) >= 0 {
			sep = c
			break
		}
	}
	if sep == 0 {
		return 0, false
	}
	// Three parts, split without allocating (one date a row).
	var p [3]string
	rest, n := s, 0
	for ; n < 3; n++ {
		part, after, more := strings.Cut(rest, string(sep))
		p[n], rest = part, after
		if !more {
			break
		}
	}
	if n != 2 { // not exactly two separators
		return 0, false
	}
	var y, m, d int
	if len(p[0]) == 4 { // year first
		var ok1, ok2, ok3 bool
		y, ok1 = atoiDigits(p[0], 4)
		m, ok2 = atoiDigits(p[1], 2)
		d, ok3 = atoiDigits(p[2], 2)
		if !ok1 || !ok2 || !ok3 {
			return 0, false
		}
	} else {
		a, ok1 := atoiDigits(p[0], 2)
		b, ok2 := atoiDigits(p[1], 2)
		if len(p[2]) != 2 && len(p[2]) != 4 {
			return 0, false
		}
		yy, ok3 := atoiDigits(p[2], 4)
		if !ok1 || !ok2 || !ok3 {
			return 0, false
		}
		y = yy
		if len(p[2]) == 2 {
			y = 2000 + yy
		}
		switch {
		case sep == '.':
			d, m = a, b
		case a > 12 && b > 12:
			return 0, false
		case a > 12:
			if ev != nil && ev.dmyLine == 0 {
				ev.dmyLine = line
			}
			if order == orderMDY {
				return 0, false
			}
			d, m = a, b
		case b > 12:
			if ev != nil && ev.mdyLine == 0 {
				ev.mdyLine = line
			}
			if order == orderDMY {
				return 0, false
			}
			m, d = a, b
		default:
			if ev != nil && ev.ambiguous == 0 && a != b {
				ev.ambiguous, ev.ambiguousValue = line, s
			}
			if order == orderDMY {
				d, m = a, b
			} else {
				m, d = a, b // both read validly; pass 1 only checks validity
			}
		}
	}
	if !validYMD(y, m, d) {
		return 0, false
	}
	return billing.DateOf(y, time.Month(m), d), true
}

// parseClock reads 24-hour HH:MM[:SS] or 12-hour h:MM[:SS] AM/PM as
// seconds since midnight.
func parseClock(s string) (int, bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	ampm := ""
	for _, suf := range []string{"AM", "PM", "A.M.", "P.M."} {
		if strings.HasSuffix(u, suf) {
			ampm = suf[:1]
			u = strings.TrimSpace(strings.TrimSuffix(u, suf))
			break
		}
	}
	p := strings.Split(u, ":")
	if len(p) != 2 && len(p) != 3 {
		return 0, false
	}
	h, ok1 := atoiDigits(p[0], 2)
	mi, ok2 := atoiDigits(p[1], 2)
	if !ok1 || !ok2 || len(p[1]) != 2 || mi > 59 {
		return 0, false
	}
	sec := 0
	if len(p) == 3 {
		var ok bool
		sec, ok = atoiDigits(p[2], 2)
		if !ok || len(p[2]) != 2 || sec > 59 {
			return 0, false
		}
	}
	switch ampm {
	case "":
		if h > 23 {
			return 0, false
		}
	default:
		if h < 1 || h > 12 {
			return 0, false
		}
		h %= 12
		if ampm == "P" {
			h += 12
		}
	}
	return h*3600 + mi*60 + sec, true
}

// parseDuration reads H:MM[:SS] (hours unbounded), Toggl's "M:SS min", or
// decimal hours with a decimal point or comma and optional thousands
// separators. The reason is "" on success.
func parseDuration(raw string) (int64, string) {
	s := strings.TrimSpace(raw)
	neg := false
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "−") {
		neg = true
		s = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(s, "-"), "−"))
	} else if strings.HasPrefix(s, "+") {
		s = strings.TrimSpace(s[1:])
	}
	var secs int64
	var ok bool
	if m, isMin := strings.CutSuffix(s, "min"); isMin {
		secs, ok = minutesDuration(strings.TrimSpace(m))
	} else if strings.Contains(s, ":") {
		secs, ok = clockDuration(s)
	} else {
		secs, ok = decimalHours(s)
	}
	if !ok {
		return 0, "unparsable duration " + quote(raw)
	}
	if neg && secs != 0 {
		return 0, "negative duration " + quote(raw)
	}
	return secs, ""
}

// clockDuration reads H:MM or H:MM:SS where H may exceed 24.
func clockDuration(s string) (int64, bool) {
	p := strings.Split(s, ":")
	if len(p) != 2 && len(p) != 3 {
		return 0, false
	}
	h, ok := atoiDigits(p[0], 7)
	if !ok {
		return 0, false
	}
	m, ok := atoiDigits(p[1], 2)
	if !ok || len(p[1]) != 2 || m > 59 {
		return 0, false
	}
	sec := 0
	if len(p) == 3 {
		sec, ok = atoiDigits(p[2], 2)
		if !ok || len(p[2]) != 2 || sec > 59 {
			return 0, false
		}
	}
	return int64(h)*3600 + int64(m)*60 + int64(sec), true
}

// minutesDuration reads Toggl's M:SS before " min" ("47:06 min" is 47
// minutes 6 seconds, not 47 hours); minutes may exceed 59.
func minutesDuration(s string) (int64, bool) {
	m, sec, ok := strings.Cut(s, ":")
	if !ok {
		return 0, false
	}
	mins, ok := atoiDigits(m, 7)
	if !ok {
		return 0, false
	}
	secs, ok := atoiDigits(sec, 2)
	if !ok || len(sec) != 2 || secs > 59 {
		return 0, false
	}
	return int64(mins)*60 + int64(secs), true
}

// groupSeparators are thousands separators with no other meaning.
var groupSeparators = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "", "'", "", "’", "")

// decimalHours normalises "1,5", "1.234,5", "1,234.5", "1 234,5" to a dot
// decimal and converts it exactly with billing.ParseHours.
func decimalHours(s string) (int64, bool) {
	if plainDecimal(s) { // "1.25", as most exports write hours: nothing to normalise
		secs, err := billing.ParseHours(s)
		return secs, err == nil
	}
	return normalisedHours(s)
}

// normalisedHours is decimalHours for any spelling.
func normalisedHours(s string) (int64, bool) {
	s = groupSeparators.Replace(s)
	if s == "" {
		return 0, false
	}
	lastDot, lastComma := strings.LastIndexByte(s, '.'), strings.LastIndexByte(s, ',')
	dots, commas := strings.Count(s, "."), strings.Count(s, ",")
	var intPart, frac string
	switch {
	case dots == 0 && commas == 0:
		intPart = s
	case dots > 0 && commas > 0: // the last one is the decimal separator
		if lastDot > lastComma {
			if dots > 1 {
				return 0, false
			}
			intPart, frac = s[:lastDot], s[lastDot+1:]
			intPart = stripThousands(intPart, ',')
		} else {
			if commas > 1 {
				return 0, false
			}
			intPart, frac = s[:lastComma], s[lastComma+1:]
			intPart = stripThousands(intPart, '.')
		}
	case dots == 1:
		intPart, frac = s[:lastDot], s[lastDot+1:]
	case commas == 1:
		intPart, frac = s[:lastComma], s[lastComma+1:]
	case dots > 1:
		intPart = stripThousands(s, '.')
	default: // several commas
		intPart = stripThousands(s, ',')
	}
	if intPart == "" && frac == "" {
		return 0, false
	}
	if len(intPart) > 7 || len(frac) > 9 { // keeps ParseHours' arithmetic exact
		return 0, false
	}
	for _, c := range intPart + frac {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	if intPart == "" {
		intPart = "0"
	}
	n := intPart
	if frac != "" {
		n += "." + frac
	}
	secs, err := billing.ParseHours(n)
	if err != nil {
		return 0, false
	}
	return secs, true
}

// plainDecimal reports whether s is digits, or digits, a dot and digits,
// within the lengths decimalHours accepts: the form it would pass to
// billing.ParseHours unchanged.
func plainDecimal(s string) bool {
	dot := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.' && dot < 0:
			dot = i
		case c < '0' || c > '9':
			return false
		}
	}
	if dot < 0 {
		return len(s) > 0 && len(s) <= 7
	}
	return dot > 0 && dot <= 7 && len(s)-dot-1 > 0 && len(s)-dot-1 <= 9
}

// stripThousands removes sep when it groups digits by three; otherwise it
// returns a string that fails the digit check.
func stripThousands(s string, sep byte) string {
	p := strings.Split(s, string(sep))
	if len(p[0]) == 0 || len(p[0]) > 3 {
		return "x"
	}
	for _, g := range p[1:] {
		if len(g) != 3 {
			return "x"
		}
	}
	return strings.Join(p, "")
}

// parseBillable reads Yes/No, true/false, 1/0 (and Portuguese Sim/Não,
// German Ja/Nein and Spanish Sí/No as Clockify writes them in those
// languages, Japanese はい/いいえ as seen in a localised Toggl export).
// Empty reads as billable.
func parseBillable(s string) (bool, bool) {
	switch s { // as most exports write it: nothing to fold
	case "Yes", "yes", "true":
		return true, true
	case "No", "no", "false":
		return false, true
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "yes", "y", "true", "1", "sim", "ja", "sí", "si", "oui", "はい", "billable":
		return true, true
	case "no", "n", "false", "0", "não", "nao", "nein", "non", "いいえ", "non-billable":
		return false, true
	}
	return false, false
}

// quote shows a value in a reason, shortened.
func quote(s string) string {
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}
