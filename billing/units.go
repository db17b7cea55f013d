package billing

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SessionSeconds is the quantity one session carries inside this package.
const SessionSeconds = 3600

// Money is an amount in the currency's minor units (cents).
type Money int64

// Pct is a percentage in tenths (1047 = 104.7%). Valid is false when its
// denominator was zero.
type Pct struct {
	Tenths int64
	Valid  bool
}

// Percent returns num/den×100 rounded half away from zero to one decimal, or
// an invalid Pct when den is 0.
func Percent(num, den int64) Pct {
	if den == 0 {
		return Pct{}
	}
	return Pct{Tenths: MulDivRound(num, 1000, den), Valid: true}
}

// String formats the percentage with one decimal, or "—" when invalid.
func (p Pct) String() string {
	if !p.Valid {
		return "—"
	}
	return formatScaled(p.Tenths, 1)
}

// MulDivRound returns a×b/c rounded half away from zero, computed in 128
// bits. It never panics: a result beyond int64 is held at its limit, and a
// divisor that is not positive gives 0. Figures that must say so use the
// checked form (MulDivRoundChecked, or Compute's Overflow).
func MulDivRound(a, b, c int64) int64 {
	q, _ := mulDivRound(a, b, c)
	return q
}

func abs64(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}

// OverageFee is round(seconds × rate / 3600): the price of a duration at an
// hourly rate, rounded once at the line.
func OverageFee(seconds int64, rate Money) Money {
	return Money(MulDivRound(seconds, int64(rate), 3600))
}

// ParseDecimal reads a plain decimal ("5000", "162.50", "-3.5") as an integer
// scaled by 10^scale. More fractional digits than scale are an error.
func ParseDecimal(s string, scale int) (int64, error) {
	num, den, err := parseRational(s)
	if err != nil {
		return 0, err
	}
	pow := int64(1)
	for i := 0; i < scale; i++ {
		pow *= 10
	}
	if den > pow || pow%den != 0 {
		return 0, fmt.Errorf("%q has more than %d decimals", s, scale)
	}
	v, ok := mulDivRound(num, pow/den, 1)
	if !ok {
		return 0, fmt.Errorf("%q: out of range", s)
	}
	return v, nil
}

// ParseHours reads decimal hours ("37.5") as seconds, rounded half away from
// zero to the second.
func ParseHours(s string) (int64, error) {
	num, den, err := parseRational(s)
	if err != nil {
		return 0, err
	}
	secs, ok := mulDivRound(num, 3600, den)
	if !ok {
		return 0, fmt.Errorf("%q: out of range", s)
	}
	return secs, nil
}

var errNotDecimal = errors.New("not a decimal number")

// parseRational reads a decimal as num/den with den a power of ten.
func parseRational(s string) (num, den int64, err error) {
	s = strings.TrimSpace(s)
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	} else if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" || (hasDot && frac == "" && intPart == "") {
		return 0, 0, fmt.Errorf("%q: %w", s, errNotDecimal)
	}
	if len(frac) > 9 || len(intPart) > 15 || len(intPart)+len(frac) > 17 {
		return 0, 0, fmt.Errorf("%q: out of range", s)
	}
	for _, r := range intPart + frac {
		if r < '0' || r > '9' {
			return 0, 0, fmt.Errorf("%q: %w", s, errNotDecimal)
		}
	}
	den = 1
	for range frac {
		den *= 10
	}
	if intPart == "" {
		intPart = "0"
	}
	ip, _ := strconv.ParseInt(intPart, 10, 64)
	fp := int64(0)
	if frac != "" {
		fp, _ = strconv.ParseInt(frac, 10, 64)
	}
	num = ip*den + fp
	if neg {
		num = -num
	}
	return num, den, nil
}

// formatScaled prints v/10^scale with exactly scale decimals.
func formatScaled(v int64, scale int) string {
	var buf [32]byte
	return string(appendScaled(buf[:0], v, scale))
}

// appendScaled appends v/10^scale with exactly scale decimals to b
// (formatScaled without its string): the status of 10,000 contracts
// formats about 150,000 figures.
func appendScaled(b []byte, v int64, scale int) []byte {
	u := abs64(v)
	pow := uint64(1)
	for i := 0; i < scale; i++ {
		pow *= 10
	}
	if v < 0 {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, u/pow, 10)
	if scale > 0 {
		b = append(b, '.')
		frac := u % pow
		for d := pow / 10; d > 1 && frac < d; d /= 10 { // the zeros the digits of frac leave
			b = append(b, '0')
		}
		b = strconv.AppendUint(b, frac, 10)
	}
	return b
}

// AppendDecimal appends m as Decimal formats it.
func (m Money) AppendDecimal(b []byte, digits int) []byte { return appendScaled(b, int64(m), digits) }

// AppendQuantity appends a quantity as FormatQuantity formats it.
func AppendQuantity(b []byte, seconds int64, u Unit) []byte {
	if u == UnitSessions {
		return strconv.AppendInt(b, MulDivRound(seconds, 1, SessionSeconds), 10)
	}
	return appendScaled(b, Hundredths(seconds), 2)
}

// AppendString appends the percentage as String formats it.
func (p Pct) AppendString(b []byte) []byte {
	if !p.Valid {
		return append(b, "—"...)
	}
	return appendScaled(b, p.Tenths, 1)
}

// Hundredths returns seconds as hundredths of an hour, rounded half away from
// zero: the exact basis of every hours figure that is shown.
func Hundredths(seconds int64) int64 { return MulDivRound(seconds, 100, 3600) }

// FormatQuantity shows a quantity in the contract's unit: hours with two
// decimals, sessions as a whole number.
func FormatQuantity(seconds int64, u Unit) string {
	if u == UnitSessions {
		return strconv.FormatInt(MulDivRound(seconds, 1, SessionSeconds), 10)
	}
	return formatScaled(Hundredths(seconds), 2)
}

// CurrencyDigits returns the number of minor-unit digits of an ISO 4217 code.
func CurrencyDigits(code string) int {
	switch strings.ToUpper(code) {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
		"UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	case "CLF", "UYW":
		return 4
	}
	return 2
}

// Decimal formats money as a plain decimal string in the currency's units
// ("5350.00"), as the JSON output carries it.
func (m Money) Decimal(digits int) string { return formatScaled(int64(m), digits) }

// Format shows money with thousands separators and the currency code
// ("USD 5,875.00").
func (m Money) Format(currency string) string {
	digits := CurrencyDigits(currency)
	s := formatScaled(int64(m), digits)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if digits > 0 {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return strings.ToUpper(currency) + " " + out
}
