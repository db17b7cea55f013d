package jobs

import (
	"time"

	"github.com/robfig/cron/v3"
)

// lastFiring returns the latest firing of s in (from, to], or the zero time.
func lastFiring(s cron.Schedule, from, to time.Time) time.Time {
	var last time.Time
	for t, i := s.Next(from), 0; !t.IsZero() && !t.After(to) && i < 200000; t, i = s.Next(t), i+1 {
		last = t
	}
	return last
}
