package timesheet

import (
	"fmt"
	"strings"
)

// field is one logical column an entry is built from.
type field int

const (
	fDate field = iota
	fStartTime
	fEndDate
	fEndTime
	fDuration
	fClient
	fProject
	fProjectCode
	fTask
	fNotes
	fUser
	fEmail
	fFirstName
	fLastName
	fBillable
	fID
	fType // Clockify's break column: a "Break" row is not work
	numFields
)

// columns maps each field to its column index (-1 when absent) and keeps the
// header's own spelling for messages.
type columns struct {
	idx  [numFields]int
	name [numFields]string
}

func (c *columns) has(f field) bool { return c.idx[f] >= 0 }

// get returns the field's value in rec, "" when absent or short.
func (c *columns) get(rec []string, f field) string {
	i := c.idx[f]
	if i < 0 || i >= len(rec) {
		return ""
	}
	return rec[i]
}

// spec describes one format: the header names (lower-case, trimmed) each
// field may have, and which fields a header needs to be recognised.
type spec struct {
	format   Format
	aliases  map[field][]string
	required []field // detection: all must be present
	// oneOf: detection also needs at least one of these header names
	// (distinguishes Harvest from a generic file with date,client,hours).
	oneOf   []string
	running bool // the format can export running timers
	// span: a header without the duration column may have the start and
	// end (date and time) instead, and the duration is their difference.
	span bool
	// spellings, when set, says which languages each header spelling
	// (lower-case, trimmed) of this format belongs to: a tracker writes its
	// header in one language, so a header whose columns share none was
	// edited by hand and is refused (see mixedLanguages).
	spellings map[string]language
}

// specs in detection order.
var specs = []*spec{harvestSpec, togglSpec, clockifySpec, genericSpec}

func specFor(f Format) *spec {
	for _, s := range specs {
		if s.format == f {
			return s
		}
	}
	return nil
}

// mapColumns maps a normalised header through sp.
func mapColumns(sp *spec, names, raw []string) (columns, []field) {
	var c columns
	pos := make(map[string]int, len(names))
	for i := len(names) - 1; i >= 0; i-- { // first occurrence wins
		pos[names[i]] = i
	}
	for f := field(0); f < numFields; f++ {
		c.idx[f] = -1
		for _, a := range sp.aliases[f] {
			if i, ok := pos[a]; ok {
				c.idx[f] = i
				c.name[f] = strings.TrimSpace(strings.TrimPrefix(raw[i], "\ufeff"))
				break
			}
		}
	}
	var missing []field
	for _, f := range sp.required {
		if f == fDuration && sp.span && c.idx[fStartTime] >= 0 && c.idx[fEndDate] >= 0 && c.idx[fEndTime] >= 0 {
			continue // the duration is the span from start to end
		}
		if c.idx[f] < 0 {
			missing = append(missing, f)
		}
	}
	if len(sp.oneOf) > 0 && len(missing) == 0 {
		found := false
		for _, n := range sp.oneOf {
			if _, ok := pos[n]; ok {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, -1)
		}
	}
	return c, missing
}

// detect finds the format of a header (or checks the forced one).
func detect(forced Format, names, raw []string) (Format, columns, error) {
	if forced != "" {
		sp := specFor(forced)
		if sp == nil {
			return "", columns{}, fmt.Errorf("%w (format %q is not one of them)", ErrUnknownFormat, forced)
		}
		c, missing := mapColumns(sp, names, raw)
		for _, f := range missing {
			if f >= 0 {
				return "", columns{}, fmt.Errorf("%w: format %s needs a %q column", ErrUnknownFormat, forced, sp.aliases[f][0])
			}
		}
		return forced, c, nil
	}
	for _, sp := range specs {
		if c, missing := mapColumns(sp, names, raw); len(missing) == 0 {
			return sp.format, c, nil
		}
	}
	shown := strings.Join(raw, ",")
	if len(shown) > 200 {
		shown = shown[:200] + "…"
	}
	return "", columns{}, fmt.Errorf("%w (header %q)", ErrUnknownFormat, shown)
}

// duplicateColumn says which column a file names twice among those sp
// reads ("Hours" twice: which one holds the duration?), or "".
func duplicateColumn(sp *spec, names, raw []string) string {
	mapped := map[string]field{}
	for f, aliases := range sp.aliases {
		for _, a := range aliases {
			mapped[a] = f
		}
	}
	first := map[string]int{}
	for i, n := range names {
		if _, ok := mapped[n]; !ok {
			continue
		}
		j, seen := first[n]
		if !seen {
			first[n] = i
			continue
		}
		return fmt.Sprintf("columns %d (%s) and %d (%s) are the same column: remove one (which of them to read cannot be guessed)",
			j+1, quote(strings.TrimSpace(strings.TrimPrefix(raw[j], "\ufeff"))), i+1, quote(strings.TrimSpace(raw[i])))
	}
	return ""
}

// language is a set of the languages a header spelling is written in.
type language uint8

const (
	english    language = 1 << iota
	portuguese          // Brazilian Portuguese
	german
	spanish
	french

	anyLanguage = english | portuguese | german | spanish | french
)

var languageNames = []struct {
	l    language
	name string
}{{english, "English"}, {portuguese, "Brazilian Portuguese"}, {german, "German"}, {spanish, "Spanish"}, {french, "French"}}

// String names the languages in l: "English or German".
func (l language) String() string {
	var names []string
	for _, n := range languageNames {
		if l&n.l != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, " or ")
}

// mixedLanguages says why a header that spells sp's columns in more than
// one language is refused, or "". Columns sp does not read (custom fields,
// and those Clockify leaves in English whatever the language, like "Date
// of creation") are not looked at.
func mixedLanguages(sp *spec, names, raw []string) string {
	if sp.spellings == nil {
		return ""
	}
	common := anyLanguage
	var before []string
	for i, n := range names {
		l, ok := sp.spellings[n]
		if !ok {
			continue
		}
		shown := quote(strings.TrimSpace(strings.TrimPrefix(raw[i], "\ufeff")))
		if common&l == 0 {
			return fmt.Sprintf("the header mixes languages: column %d (%s) is %s, but the columns before it (%s) are %s; "+
				"export the report again instead of editing its header",
				i+1, shown, l, strings.Join(before, ", "), common)
		}
		common &= l
		if len(before) < 3 {
			before = append(before, shown)
		} else if len(before) == 3 {
			before = append(before, "…")
		}
	}
	return ""
}
