package billing

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	clockRe    = regexp.MustCompile(`^(\d+):([0-5]\d)$`)
	durationRe = regexp.MustCompile(`^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$`)
)

// ParseAmount reads an amount of time as seconds: decimal hours (2.5), H:MM
// (2:30) or a duration (2h30m, 30h, 45m, 90s). It is what `retainer log` and
// the API's entries accept; a sign is the caller's to refuse.
func ParseAmount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if m := clockRe.FindStringSubmatch(s); m != nil {
		h, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || h > 1e7 {
			return 0, fmt.Errorf("amount %q is too large", s)
		}
		min, _ := strconv.ParseInt(m[2], 10, 64)
		return h*3600 + min*60, nil
	}
	if m := durationRe.FindStringSubmatch(s); m != nil && (m[1] != "" || m[2] != "" || m[3] != "") {
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
		return total, nil
	}
	secs, err := ParseHours(s)
	if err != nil {
		return 0, fmt.Errorf("amount %q: want decimal hours (2.5), H:MM (2:30) or a duration (2h30m)", s)
	}
	return secs, nil
}
