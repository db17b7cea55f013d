package billing

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	clockRe    = regexp.MustCompile(`^(\d+):([0-5]\d)$`)
	durationRe = regexp.MustCompile(`^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$`)
)

// MaxEntryHours bounds one logged or posted entry: 744 hours, the longest
// month (31 days × 24 h). More is a typing mistake — a digit too many,
// minutes typed as hours — refused before it is billed. A sessions contract
// takes at most as many sessions in one go.
const MaxEntryHours = 744

// MaxEntrySeconds is MaxEntryHours in seconds.
const MaxEntrySeconds = MaxEntryHours * 3600

// ErrMoreThanAMonth is an amount over MaxEntryHours.
var ErrMoreThanAMonth = errors.New("more than a month of hours")

// CheckHours refuses an amount of time over MaxEntryHours; whether it must
// be more than zero is the caller's to say (the CLI and the API word it
// differently).
func CheckHours(seconds int64) error {
	if seconds > MaxEntrySeconds {
		return fmt.Errorf("%w (%d at most)", ErrMoreThanAMonth, MaxEntryHours)
	}
	return nil
}

// ParseAmount reads an amount of time as seconds: decimal hours (2.5), H:MM
// (2:30) or a duration (2h30m, 30h, 45m, 90s), each with an optional sign
// (-0:30 is -1800). It is what `retainer log` and the API's entries accept;
// a negative amount is the caller's to refuse, with a message that says so.
func ParseAmount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	body, sign := s, int64(1)
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		body, sign = rest, -1
	} else if rest, ok := strings.CutPrefix(s, "+"); ok {
		body = rest
	}
	if m := clockRe.FindStringSubmatch(body); m != nil {
		h, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || h > 1e7 {
			return 0, fmt.Errorf("amount %q is too large", s)
		}
		min, _ := strconv.ParseInt(m[2], 10, 64)
		return sign * (h*3600 + min*60), nil
	}
	if m := durationRe.FindStringSubmatch(body); m != nil && (m[1] != "" || m[2] != "" || m[3] != "") {
		var total int64
		for i, mult := range []int64{3600, 60, 1} {
			if m[i+1] == "" {
				continue
			}
			if len(m[i+1]) > 9 {
				return 0, fmt.Errorf("amount %q is too large", s)
			}
			v, _ := strconv.ParseInt(m[i+1], 10, 64)
			total += v * mult
		}
		return sign * total, nil
	}
	if strings.HasPrefix(body, "-") || strings.HasPrefix(body, "+") {
		return 0, fmt.Errorf("amount %q: want decimal hours (2.5), H:MM (2:30) or a duration (2h30m)", s)
	}
	secs, err := ParseHours(body)
	if err != nil {
		return 0, fmt.Errorf("amount %q: want decimal hours (2.5), H:MM (2:30) or a duration (2h30m)", s)
	}
	return sign * secs, nil
}
