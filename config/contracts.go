package config

import (
	"fmt"
	"net/mail"
	"regexp"
	"sort"
	"strings"

	"retainer/billing"
)

// contractID is what a contract id may look like. A dot would be read as a
// level by the environment overrides (RETAINER_CONTRACTS__<ID>__…), and upper
// case cannot survive their lower-casing.
var contractID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// contracts converts every contract, sorted by id.
func (l *loader) contracts(docs map[string]*contractDoc, currency string) []*billing.Contract {
	ids := make([]string, 0, len(docs))
	for id := range docs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]*billing.Contract, 0, len(ids))
	for _, id := range ids {
		out = append(out, l.contract(id, docs[id], currency))
	}
	if len(out) == 0 {
		l.warn("contracts", "none configured")
	}
	return out
}

func (l *loader) contract(id string, d *contractDoc, currency string) *billing.Contract {
	p := "contracts." + id
	if !contractID.MatchString(id) {
		l.invalid(p, "contract id must match [a-z0-9][a-z0-9_-]* (lower-case letters, digits, - and _; "+
			"environment overrides split keys on dots and cannot express upper case)")
	}
	if d == nil {
		d = &contractDoc{}
	}
	c := &billing.Contract{ID: id, Tier: strings.TrimSpace(d.Tier)}

	switch {
	case d.Client == nil:
		l.invalid(p+".client", "required")
	case strings.TrimSpace(*d.Client) == "":
		l.invalid(p+".client", "must not be empty")
	default:
		c.Client = strings.TrimSpace(*d.Client)
		l.text(p+".client", c.Client)
	}
	l.text(p+".tier", c.Tier)

	c.Unit = billing.Unit(strings.ToLower(orDefault(d.Unit, string(billing.UnitHours))))
	if c.Unit != billing.UnitHours && c.Unit != billing.UnitSessions {
		l.invalid(p+".unit", fmt.Sprintf("must be hours or sessions, not %q", d.Unit))
		c.Unit = billing.UnitHours
	}

	c.Contacts = []string{}
	for i, a := range d.Contacts {
		a = strings.TrimSpace(a)
		if err := billing.CheckText(a, false); err != nil {
			l.invalid(fmt.Sprintf("%s.contacts[%d]", p, i), "must be one line of plain text: it "+err.Error())
			continue
		}
		if _, err := mail.ParseAddress(a); err != nil {
			l.invalid(fmt.Sprintf("%s.contacts[%d]", p, i), fmt.Sprintf("%q is not an email address", a))
			continue
		}
		c.Contacts = append(c.Contacts, a)
	}
	c.Match = []string{}
	for i, m := range d.Match {
		if m = strings.TrimSpace(m); m == "" {
			l.invalid(fmt.Sprintf("%s.match[%d]", p, i), "must not be empty")
			continue
		}
		l.text(fmt.Sprintf("%s.match[%d]", p, i), m)
		c.Match = append(c.Match, m)
	}

	c.Currency = currency
	if cur := strings.ToUpper(strings.TrimSpace(d.Currency)); cur != "" {
		switch {
		case !currencyCode.MatchString(cur):
			l.invalid(p+".currency", fmt.Sprintf("%q is not an ISO 4217 code (three letters, such as EUR)", d.Currency))
		case !billing.KnownCurrency(cur):
			l.invalid(p+".currency", fmt.Sprintf("%q is not an active ISO 4217 currency code (such as USD, EUR, GBP)", d.Currency))
		default:
			c.Currency, currency = cur, cur // the contract's amounts are in its own currency
		}
	}
	c.BillingName = strings.TrimSpace(d.BillingName)
	l.text(p+".billing_name", c.BillingName)
	c.BillingAddress = strings.TrimSpace(d.BillingAddress)
	l.textBlock(p+".billing_address", c.BillingAddress)
	c.TaxID = strings.TrimSpace(d.TaxID)
	l.text(p+".tax_id", c.TaxID)
	if d.TaxRate != nil {
		r, err := billing.ParseTaxRate(string(*d.TaxRate))
		if err != nil {
			l.invalid(p+".tax_rate", err.Error())
		}
		c.TaxRate = r
	}

	money := moneyParser{l: l, currency: currency}
	if d.MonthlyHours == nil {
		l.invalid(p+".monthly_hours", "required")
	} else if v, ok := l.quantity(p+".monthly_hours", *d.MonthlyHours, c.Unit); ok {
		c.Terms.MonthlyHours = v
	}
	if d.MonthlyFee == nil {
		l.invalid(p+".monthly_fee", "required")
	} else if v, ok := money.parse(p+".monthly_fee", *d.MonthlyFee); ok {
		c.Terms.MonthlyFee = v
	}
	if d.HourlyRate != nil {
		c.Terms.HourlyRate, _ = money.parse(p+".hourly_rate", *d.HourlyRate)
	}
	if d.OverageRate != nil {
		c.Terms.OverageRate, _ = money.parse(p+".overage_rate", *d.OverageRate)
	}

	c.OverageBillable = d.OverageBillable == nil || *d.OverageBillable
	c.Rollover = d.RolloverHours
	if d.MaxRollover != nil {
		if v, ok := l.quantity(p+".max_rollover", *d.MaxRollover, c.Unit); ok {
			c.MaxRollover = &v
		}
	}
	c.ExpiresAfter = d.RolloverExpiresAfter
	if c.ExpiresAfter < 0 || c.ExpiresAfter > billing.MaxExpiresAfter {
		l.invalid(p+".rollover_expires_after", fmt.Sprintf("must be 0..%d (months; 0 = never), not %d", billing.MaxExpiresAfter, c.ExpiresAfter))
	}
	c.RoundingMinutes = d.RoundingMinutes
	if c.RoundingMinutes < 0 || c.RoundingMinutes > 1440 {
		l.invalid(p+".rounding_minutes", fmt.Sprintf("must be 0..1440, not %d", c.RoundingMinutes))
	}
	c.CountNonBillable = d.CountNonBillable
	c.PaymentTermsDays = DefaultPaymentTerms
	if d.PaymentTermsDays != nil {
		c.PaymentTermsDays = *d.PaymentTermsDays
		if c.PaymentTermsDays < 0 || c.PaymentTermsDays > billing.MaxPaymentTermsDays {
			// More would put the due date past any date retainer reads.
			l.invalid(p+".payment_terms_days", fmt.Sprintf("must be 0..%d (days), not %d", billing.MaxPaymentTermsDays, c.PaymentTermsDays))
			c.PaymentTermsDays = DefaultPaymentTerms
		}
	}
	c.AlertClientAt = d.AlertClientAt
	c.Checkin = d.Checkin
	c.PortalEntries = d.PortalEntries
	if c.AlertClientAt < 0 || c.AlertClientAt > 1000 {
		l.invalid(p+".alert_client_at", fmt.Sprintf("must be 0..1000 (0 = off), not %d", c.AlertClientAt))
	}

	if d.OpeningBank != nil {
		if v, ok := l.quantity(p+".opening_bank", *d.OpeningBank, c.Unit); ok {
			c.OpeningBank = v
		}
	}

	c.Start = l.period(p+".start", d.Start)
	c.End = l.period(p+".end", d.End)
	if c.Start != nil && c.End != nil && *c.End < *c.Start {
		l.invalid(p+".end", fmt.Sprintf("%s is before start %s", *c.End, *c.Start))
	}

	for i, t := range d.Terms {
		tp := fmt.Sprintf("%s.terms[%d]", p, i)
		var ch billing.TermChange
		if t.From == nil || strings.TrimSpace(*t.From) == "" {
			l.invalid(tp+".from", "required (YYYY-MM)")
		} else if from := l.period(tp+".from", *t.From); from != nil {
			ch.From = *from
		}
		if t.MonthlyHours != nil {
			if v, ok := l.quantity(tp+".monthly_hours", *t.MonthlyHours, c.Unit); ok {
				ch.MonthlyHours = &v
			}
		}
		ch.MonthlyFee = money.optional(tp+".monthly_fee", t.MonthlyFee)
		ch.HourlyRate = money.optional(tp+".hourly_rate", t.HourlyRate)
		ch.OverageRate = money.optional(tp+".overage_rate", t.OverageRate)
		if t.MonthlyHours == nil && t.MonthlyFee == nil && t.HourlyRate == nil && t.OverageRate == nil {
			l.warn(tp, "changes nothing: name monthly_hours, monthly_fee, hourly_rate or overage_rate")
		}
		c.Changes = append(c.Changes, ch)
	}

	if len(c.Contacts) == 0 && len(d.Contacts) == 0 {
		l.warn(p, "no contacts: its statements will not be emailed")
		if c.AlertClientAt > 0 {
			l.warn(p, "alert_client_at is set but there are no contacts to alert")
		}
	}
	if !c.Rollover && (c.MaxRollover != nil || c.ExpiresAfter != 0) {
		l.warn(p, "max_rollover and rollover_expires_after have no effect without rollover_hours: true")
	}
	if c.Unit == billing.UnitSessions && c.RoundingMinutes != 0 {
		l.warn(p, "rounding_minutes does not apply to a sessions contract")
	}
	return c
}

func (l *loader) period(path, s string) *billing.Period {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	p, err := billing.ParsePeriod(s)
	if err != nil {
		l.invalid(path, err.Error())
		return nil
	}
	return &p
}

// number splits a plain decimal ("-12.50") into sign, integer and fraction
// digits; ok is false for anything else ("1e3", "5,000", "abc").
func number(s string) (neg bool, intPart, frac string, ok bool) {
	if s == "" {
		return false, "", "", false
	}
	if s[0] == '-' || s[0] == '+' {
		neg, s = s[0] == '-', s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" || hasDot && frac == "" {
		return false, "", "", false
	}
	for _, r := range intPart + frac {
		if r < '0' || r > '9' {
			return false, "", "", false
		}
	}
	return neg, intPart, frac, true
}

func isZero(digits string) bool { return strings.Trim(digits, "0") == "" }

// quantity converts hours (decimal, to seconds) or sessions (whole, to
// SessionSeconds each).
func (l *loader) quantity(path string, v decimal, unit billing.Unit) (int64, bool) {
	s := string(v)
	neg, intPart, frac, ok := number(s)
	switch {
	case !ok:
		l.invalid(path, fmt.Sprintf("must be a number, not %q", s))
		return 0, false
	case neg && !(isZero(intPart) && isZero(frac)):
		l.invalid(path, "must be >= 0")
		return 0, false
	case len(strings.TrimLeft(intPart, "0")) > 9 || len(frac) > 9:
		// billing's parsers work in int64: keep well inside it.
		l.invalid(path, fmt.Sprintf("%s is out of range", s))
		return 0, false
	}
	var secs int64
	if unit == billing.UnitSessions {
		if !isZero(frac) {
			l.invalid(path, fmt.Sprintf("must be a whole number of sessions, not %s", s))
			return 0, false
		}
		n, err := billing.ParseDecimal(intPart, 0)
		if err != nil {
			l.invalid(path, err.Error())
			return 0, false
		}
		secs = n * billing.SessionSeconds
	} else {
		var err error
		if secs, err = billing.ParseHours(strings.TrimPrefix(s, "-")); err != nil {
			l.invalid(path, err.Error())
			return 0, false
		}
	}
	if secs > billing.MaxQuantitySeconds {
		l.invalid(path, fmt.Sprintf("%s is more than %d %s", s, billing.MaxQuantityHours, unit))
		return 0, false
	}
	return secs, true
}

// moneyParser converts amounts to minor units of one currency, exactly.
type moneyParser struct {
	l        *loader
	currency string
}

func (m moneyParser) parse(path string, v decimal) (billing.Money, bool) {
	s := string(v)
	neg, intPart, frac, ok := number(s)
	switch {
	case !ok:
		m.l.invalid(path, fmt.Sprintf("must be an amount such as 5000 or 162.50, not %q", s))
		return 0, false
	case neg && !(isZero(intPart) && isZero(frac)):
		m.l.invalid(path, "must be >= 0")
		return 0, false
	}
	digits := billing.CurrencyDigits(m.currency)
	if len(strings.TrimLeft(intPart, "0")) > 13 { // past MaxAmount in any currency
		m.l.invalid(path, fmt.Sprintf("%s is more than %s", s, billing.MaxAmount.Format(m.currency)))
		return 0, false
	}
	if len(frac) > digits {
		if digits == 0 {
			m.l.invalid(path, fmt.Sprintf("%s has decimals; %s amounts are whole numbers", s, m.currency))
		} else {
			m.l.invalid(path, fmt.Sprintf("%s has more than %d decimals for %s", s, digits, m.currency))
		}
		return 0, false
	}
	n, err := billing.ParseDecimal(strings.TrimPrefix(s, "-"), digits)
	if err != nil {
		m.l.invalid(path, err.Error())
		return 0, false
	}
	if billing.Money(n) > billing.MaxAmount {
		// The bound that keeps every fee and total exact (billing.MaxAmount).
		m.l.invalid(path, fmt.Sprintf("%s is more than %s", s, billing.MaxAmount.Format(m.currency)))
		return 0, false
	}
	return billing.Money(n), true
}

func (m moneyParser) optional(path string, v *decimal) *billing.Money {
	if v == nil {
		return nil
	}
	if n, ok := m.parse(path, *v); ok {
		return &n
	}
	return nil
}
