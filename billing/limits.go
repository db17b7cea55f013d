package billing

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// The bounds that keep every figure exact. Each entrance — the config, the
// CLI's flags, an import file, a tracker API, the HTTP API — refuses a value
// outside them, naming where it came from. Inside them a figure outgrows
// int64 only when one contract-month holds more than twelve thousand
// month-long entries at the highest rate; such a figure is held at its
// limit and flagged (Figures.Overflow), never wrapped round or panicked on.

// MinYear and MaxYear bound every date and period retainer takes in. A
// year outside them is a typing mistake (9000 for 2000, 0001 from a broken
// export) that would otherwise open thousands of periods.
const (
	MinYear = 2000
	MaxYear = 2100
)

// The first and last periods and dates in range (TestRangeConstants
// checks them against NewPeriod and DateOf).
const (
	MinPeriod Period = MinYear * 12    // 2000-01
	MaxPeriod Period = MaxYear*12 + 11 // 2100-12
	MinDate   Date   = 10957           // 2000-01-01
	MaxDate   Date   = 47846           // 2100-12-31
)

// ErrOutOfRange is a date or period outside MinYear..MaxYear.
var ErrOutOfRange = fmt.Errorf("outside the years %d–%d", MinYear, MaxYear)

// Valid reports whether the period lies within MinYear..MaxYear.
func (p Period) Valid() bool { return p >= MinPeriod && p <= MaxPeriod }

// Valid reports whether the date lies within MinYear..MaxYear.
func (d Date) Valid() bool { return d >= MinDate && d <= MaxDate }

// CheckDate refuses a date outside MinYear..MaxYear.
func CheckDate(d Date) error {
	if !d.Valid() {
		return fmt.Errorf("%s is %w", d, ErrOutOfRange)
	}
	return nil
}

// MaxAmount bounds every amount of money a contract is configured with
// (monthly_fee, hourly_rate, overage_rate, in the terms too), in minor
// units: 10,000,000,000.00 in a two-decimal currency (one trillion yen).
// One contract-month at that rate needs over twelve thousand month-long
// entries before its overage fee stops fitting int64; the retainer fees of
// ten thousand contracts add up to a thousandth of int64.
const MaxAmount Money = 1_000_000_000_000

// MaxQuantityHours bounds a contract's monthly_hours, max_rollover and
// opening_bank: 100,000 hours (or sessions) — a hundred people full time.
const MaxQuantityHours = 100_000

// MaxQuantitySeconds is MaxQuantityHours in seconds.
const MaxQuantitySeconds = MaxQuantityHours * 3600

// MaxPaymentTermsDays bounds payment_terms_days: ten years.
const MaxPaymentTermsDays = 3650

// MaxExpiresAfter bounds rollover_expires_after: a hundred years of months.
const MaxExpiresAfter = 1200

// ErrOverflow is a result too large for int64.
var ErrOverflow = errors.New("number too large")

// mulDivRound returns a×b/c rounded half away from zero, computed in 128
// bits; ok is false when c is not positive or the result does not fit.
func mulDivRound(a, b, c int64) (q int64, ok bool) {
	if c <= 0 {
		return 0, false
	}
	neg := (a < 0) != (b < 0)
	hi, lo := bits.Mul64(abs64(a), abs64(b))
	if hi >= uint64(c) { // the quotient needs more than 64 bits
		return saturate(neg), false
	}
	u, r := bits.Div64(hi, lo, uint64(c))
	if r >= uint64(c)-r { // 2r >= c without overflow: round half away
		u++
	}
	if u > math.MaxInt64 {
		// −2^63 itself fits, but no figure is that: keep one rule.
		return saturate(neg), false
	}
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}

// MulDivRoundChecked returns a×b/c rounded half away from zero, or
// ErrOverflow when c is not positive or the result does not fit int64.
func MulDivRoundChecked(a, b, c int64) (int64, error) {
	q, ok := mulDivRound(a, b, c)
	if !ok {
		return 0, ErrOverflow
	}
	return q, nil
}

func saturate(neg bool) int64 {
	if neg {
		return math.MinInt64
	}
	return math.MaxInt64
}

// addSat returns a+b held at the int64 limits; ok is false when it was.
func addSat(a, b int64) (int64, bool) {
	s := a + b
	if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
		return saturate(a < 0), false
	}
	return s, true
}

// subSat returns a−b held at the int64 limits; ok is false when it was.
func subSat(a, b int64) (int64, bool) {
	if b == math.MinInt64 {
		if a >= 0 {
			return math.MaxInt64, false
		}
		return a - b, true
	}
	return addSat(a, -b)
}

// checked does a run of saturating arithmetic and remembers whether any of
// it saturated.
type checked struct{ overflow bool }

func (k *checked) add(a, b int64) int64 {
	s, ok := addSat(a, b)
	k.overflow = k.overflow || !ok
	return s
}

func (k *checked) sub(a, b int64) int64 {
	s, ok := subSat(a, b)
	k.overflow = k.overflow || !ok
	return s
}

func (k *checked) mulDiv(a, b, c int64) int64 {
	q, ok := mulDivRound(a, b, c)
	k.overflow = k.overflow || (!ok && c > 0)
	return q
}

func (k *checked) percent(num, den int64) Pct {
	if den == 0 {
		return Pct{}
	}
	return Pct{Tenths: k.mulDiv(num, 1000, den), Valid: true}
}
