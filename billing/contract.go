package billing

import (
	"sort"
	"strings"
)

// Unit is what a contract sells: hours (the default) or sessions.
type Unit string

// The units a contract may sell.
const (
	UnitHours    Unit = "hours"
	UnitSessions Unit = "sessions"
)

// Terms are the effective-dated parts of a contract.
type Terms struct {
	MonthlyHours int64 // seconds (sessions × SessionSeconds)
	MonthlyFee   Money
	HourlyRate   Money
	OverageRate  Money
}

// TermChange changes the keys it names from period From on.
type TermChange struct {
	From         Period
	MonthlyHours *int64
	MonthlyFee   *Money
	HourlyRate   *Money
	OverageRate  *Money
}

// Contract is one client's retainer.
type Contract struct {
	ID       string
	Client   string
	Tier     string
	Unit     Unit
	Contacts []string
	Match    []string

	Terms   Terms        // the base terms
	Changes []TermChange // later entries apply over earlier ones

	OverageBillable  bool
	Rollover         bool
	MaxRollover      *int64 // seconds; nil = no cap
	ExpiresAfter     int    // months; 0 = never
	RoundingMinutes  int
	CountNonBillable bool
	PaymentTermsDays int
	AlertClientAt    int
	Checkin          bool // a mid-month check-in email to the contacts
	PortalEntries    bool // the client portal lists the period's work by project and task

	// OpeningBank is rollover the contract held when retainer took over
	// (seconds): a lot earned in the month before TakeOver.
	OpeningBank int64
	// TakeOver is the first period retainer handles: Start, or go_live
	// when later; nil when neither is set.
	TakeOver *Period

	Start *Period // first period; nil = unbounded
	End   *Period // last period; nil = unbounded

	// Invoice details (SPEC §14). Currency is the contract's money's ISO
	// 4217 code (the config's top-level currency unless it names its own).
	Currency       string
	BillingName    string // the invoice's addressee; "" = Client
	BillingAddress string // lines separated by "\n"
	TaxID          string
	TaxRate        TaxRate
}

// InvoiceName is who the invoice is addressed to.
func (c *Contract) InvoiceName() string {
	if c.BillingName != "" {
		return c.BillingName
	}
	return c.Client
}

// TermsAt returns the terms in effect in period p (ignoring start and end):
// for each key, the change with the latest From not after p names it; among
// changes from the same period, the later in the list wins.
func (c *Contract) TermsAt(p Period) Terms {
	t := c.Terms
	var hours, fee, hourly, over Period = -1, -1, -1, -1
	for _, ch := range c.Changes {
		if ch.From > p {
			continue
		}
		if ch.MonthlyHours != nil && ch.From >= hours {
			t.MonthlyHours, hours = *ch.MonthlyHours, ch.From
		}
		if ch.MonthlyFee != nil && ch.From >= fee {
			t.MonthlyFee, fee = *ch.MonthlyFee, ch.From
		}
		if ch.HourlyRate != nil && ch.From >= hourly {
			t.HourlyRate, hourly = *ch.HourlyRate, ch.From
		}
		if ch.OverageRate != nil && ch.From >= over {
			t.OverageRate, over = *ch.OverageRate, ch.From
		}
	}
	return t
}

// Active reports whether p lies within the contract's start..end.
func (c *Contract) Active(p Period) bool {
	return (c.Start == nil || p >= *c.Start) && (c.End == nil || p <= *c.End)
}

// Counted returns how much one entry of the given duration counts toward
// hours_used: nothing when it is non-billable and the contract does not count
// those, one session for a sessions contract, otherwise its seconds rounded up
// to the contract's increment.
func (c *Contract) Counted(seconds int64, billable bool) int64 {
	if !billable && !c.CountNonBillable {
		return 0
	}
	if c.Unit == UnitSessions {
		return SessionSeconds
	}
	return RoundUp(seconds, c.RoundingMinutes)
}

// RoundUp rounds seconds up to a whole number of increments of minutes.
func RoundUp(seconds int64, minutes int) int64 {
	if minutes <= 0 || seconds <= 0 {
		return seconds
	}
	inc := int64(minutes) * 60
	return (seconds + inc - 1) / inc * inc
}

// NormalizeName is the form names are compared in: trimmed, inner spaces
// collapsed, lower case, and cleaned as CleanName cleans imported names, so
// that a name stored before it was cleaned compares equal to its clean
// spelling.
func NormalizeName(s string) string {
	if !printableASCII(s, true) {
		s = CleanName(s)
	}
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// Matcher finds the contract an entry belongs to.
type Matcher struct {
	byClient map[string][]*Contract
	byMatch  map[string][]*Contract
}

// NewMatcher indexes contracts by client name and match list.
func NewMatcher(contracts []*Contract) *Matcher {
	m := &Matcher{byClient: map[string][]*Contract{}, byMatch: map[string][]*Contract{}}
	sorted := make([]*Contract, len(contracts))
	copy(sorted, contracts)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	for _, c := range sorted {
		k := NormalizeName(c.Client)
		m.byClient[k] = append(m.byClient[k], c)
		for _, s := range c.Match {
			k := NormalizeName(s)
			if k != "" {
				m.byMatch[k] = append(m.byMatch[k], c)
			}
		}
	}
	return m
}

// Match returns the id of the contract for an entry, or "" when none matches.
// The client name is tried first, then the match lists against client,
// project and project code. Among several candidates, one whose start..end
// contains the entry's date wins, then the lowest id.
func (m *Matcher) Match(client, project, projectCode string, d Date) string {
	if c := pick(m.byClient[NormalizeName(client)], d); c != nil {
		return c.ID
	}
	for _, s := range []string{client, project, projectCode} {
		if k := NormalizeName(s); k != "" {
			if c := pick(m.byMatch[k], d); c != nil {
				return c.ID
			}
		}
	}
	return ""
}

// pick chooses among the contracts a name matches: one whose start..end
// contains the date, else the first that has started (hours after end still
// count). An entry dated before every candidate's start counts nowhere.
func pick(cands []*Contract, d Date) *Contract {
	p := d.Period()
	for _, c := range cands {
		if c.Active(p) {
			return c
		}
	}
	for _, c := range cands {
		if !c.BeforeStart(p) {
			return c
		}
	}
	return nil
}

// BeforeStart reports whether p is before the contract's start: hours
// dated then are never billed.
func (c *Contract) BeforeStart(p Period) bool { return c.Start != nil && p < *c.Start }

// AfterEnd reports whether p is after the contract's end: hours dated then
// still count, at the overage rate.
func (c *Contract) AfterEnd(p Period) bool { return c.End != nil && p > *c.End }

// MatchAnyDate returns the contract an entry's names point to whatever its
// date, or nil: what an entry that counts nowhere would have matched.
func (m *Matcher) MatchAnyDate(client, project, projectCode string) *Contract {
	if cs := m.byClient[NormalizeName(client)]; len(cs) > 0 {
		return cs[0]
	}
	for _, s := range []string{client, project, projectCode} {
		if cs := m.byMatch[NormalizeName(s)]; len(cs) > 0 {
			return cs[0]
		}
	}
	return nil
}
