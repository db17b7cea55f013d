package jobs

import (
	"testing"
	"time"

	"retainer/config"
)

func TestLastFiring(t *testing.T) {
	s, _ := config.ParseSchedule("0 9 15 * *", time.UTC)
	at := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, time.UTC) }
	if got := lastFiring(s, at(3, 1, 0), at(4, 20, 0)); !got.Equal(at(4, 15, 9)) {
		t.Errorf("last = %v", got)
	}
	if got := lastFiring(s, at(3, 15, 9), at(4, 15, 8)); !got.IsZero() { // (from, to]: excludes from
		t.Errorf("last = %v, want none", got)
	}
}

// A daemon whose clock runs ahead of the wall clock (run --now) fires each
// job when its own clock reaches the scheduled time.
func TestShiftedSchedule(t *testing.T) {
	s, err := config.ParseSchedule("0 6 1 * *", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		offset time.Duration
		want   time.Time // wall time of the next firing
	}{
		{0, time.Date(2027, 1, 1, 6, 0, 0, 0, time.UTC)},
		// The daemon's clock reads 2026-11-30 12:00: the close fires 18 h later.
		{-7 * 24 * time.Hour, wall.Add(18 * time.Hour)},
		// Its clock reads 2027-03-01 05:59:50: ten seconds later.
		{time.Date(2027, 3, 1, 5, 59, 50, 0, time.UTC).Sub(wall), wall.Add(10 * time.Second)},
	} {
		var got time.Time
		if tc.offset == 0 {
			got = s.Next(wall)
		} else {
			got = shifted{s, tc.offset}.Next(wall)
		}
		if !got.Equal(tc.want) {
			t.Errorf("offset %v: next %v, want %v", tc.offset, got, tc.want)
		}
	}
}
