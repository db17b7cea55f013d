package billing

import (
	"fmt"
	"strconv"
	"time"
)

// Period is one calendar month, counted in months since January of year 0.
// The zero Period is 0000-01 and is used by no real contract.
type Period int32

// NewPeriod returns the period of year y and month m.
func NewPeriod(y int, m time.Month) Period { return Period(y*12 + int(m) - 1) }

// ParsePeriod reads YYYY-MM, within MinYear..MaxYear.
func ParsePeriod(s string) (Period, error) {
	if len(s) != 7 || s[4] != '-' {
		return 0, fmt.Errorf("%q is not a period (want YYYY-MM)", s)
	}
	for i := 0; i < len(s); i++ {
		if i != 4 && (s[i] < '0' || s[i] > '9') {
			return 0, fmt.Errorf("%q is not a period (want YYYY-MM)", s)
		}
	}
	y, _ := strconv.Atoi(s[:4])
	m, _ := strconv.Atoi(s[5:])
	if m < 1 || m > 12 {
		return 0, fmt.Errorf("%q is not a period (want YYYY-MM)", s)
	}
	p := NewPeriod(y, time.Month(m))
	if !p.Valid() {
		return 0, fmt.Errorf("%q is %w", s, ErrOutOfRange)
	}
	return p, nil
}

// Year returns the period's year.
func (p Period) Year() int { return int(p) / 12 }

// Month returns the period's month.
func (p Period) Month() time.Month { return time.Month(int(p)%12 + 1) }

// Name is the period as people say it: "March 2026".
func (p Period) Name() string { return fmt.Sprintf("%s %d", p.Month(), p.Year()) }

// String formats the period as YYYY-MM.
func (p Period) String() string { return fmt.Sprintf("%04d-%02d", p.Year(), int(p.Month())) }

// Next returns the following period.
func (p Period) Next() Period { return p + 1 }

// FirstDay returns the period's first date.
func (p Period) FirstDay() Date { return DateOf(p.Year(), p.Month(), 1) }

// LastDay returns the period's last date.
func (p Period) LastDay() Date { return (p + 1).FirstDay() - 1 }

// Start returns the instant the period begins in loc.
func (p Period) Start(loc *time.Location) time.Time {
	return time.Date(p.Year(), p.Month(), 1, 0, 0, 0, 0, loc)
}

// End returns the instant the period ends (the next one begins) in loc.
func (p Period) End(loc *time.Location) time.Time { return (p + 1).Start(loc) }

// Date is a civil date, counted in days since 1970-01-01.
type Date int32

var epoch = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// DateOf returns the civil date y-m-d (normalised like time.Date). It is
// exact for any year a Date can hold: counted from Unix seconds, not from a
// time.Duration, which saturates 292 years from 1970 and once moved year 1
// to 1677 and year 9000 to 2262.
func DateOf(y int, m time.Month, d int) Date {
	secs := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
	days := secs / 86400
	if secs%86400 < 0 {
		days--
	}
	return Date(days)
}

// DateAt returns the civil date of instant t in loc.
func DateAt(t time.Time, loc *time.Location) Date {
	t = t.In(loc)
	return DateOf(t.Year(), t.Month(), t.Day())
}

// ParseDate reads YYYY-MM-DD, within MinYear..MaxYear.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil || len(s) != 10 {
		return 0, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
	}
	d := DateOf(t.Year(), t.Month(), t.Day())
	if !d.Valid() {
		return 0, fmt.Errorf("%q is %w", s, ErrOutOfRange)
	}
	return d, nil
}

// Time returns midnight UTC of the date, for calendar arithmetic.
func (d Date) Time() time.Time { return epoch.AddDate(0, 0, int(d)) }

// String formats the date as YYYY-MM-DD.
func (d Date) String() string { return d.Time().Format("2006-01-02") }

// Period returns the period containing the date.
func (d Date) Period() Period {
	t := d.Time()
	return NewPeriod(t.Year(), t.Month())
}

// Weekday returns the date's day of the week.
func (d Date) Weekday() time.Weekday { return time.Weekday((int(d)%7 + 7 + 4) % 7) }

// IsBusinessDay reports whether the date is Monday to Friday.
func (d Date) IsBusinessDay() bool {
	w := d.Weekday()
	return w != time.Saturday && w != time.Sunday
}

// BusinessDays counts Monday–Friday dates in from..to inclusive.
func BusinessDays(from, to Date) int64 {
	if to < from {
		return 0
	}
	n := int64(to-from) + 1
	weeks := n / 7
	count := weeks * 5
	for d := from + Date(weeks*7); d <= to; d++ {
		if d.IsBusinessDay() {
			count++
		}
	}
	return count
}
