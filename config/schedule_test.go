package config

import (
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// firings lists every firing of expr in [from, to).
func firings(t *testing.T, expr string, loc *time.Location, from, to time.Time) []string {
	t.Helper()
	s, err := ParseSchedule(expr, loc)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for n := s.Next(from.Add(-time.Nanosecond)); n.Before(to); n = s.Next(n) {
		out = append(out, n.In(loc).Format("2006-01-02 15:04 MST"))
	}
	return out
}

func TestScheduleAcrossDST(t *testing.T) {
	ny, berlin := mustZone(t, "America/New_York"), mustZone(t, "Europe/Berlin")
	day := func(loc *time.Location, y int, m time.Month, d int) (time.Time, time.Time) {
		return time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	}
	for _, tc := range []struct {
		name string
		expr string
		loc  *time.Location
		y    int
		m    time.Month
		d    int
		want []string
	}{
		// 02:30 does not exist on a spring-forward day: once, at 03:30.
		{"ny spring 02:30", "30 2 * * *", ny, 2026, time.March, 8, []string{"2026-03-08 03:30 EDT"}},
		{"berlin spring 02:30", "30 2 * * *", berlin, 2026, time.March, 29, []string{"2026-03-29 03:30 CEST"}},
		// 01:30 happens twice on a fall-back day: once, the first time.
		{"ny fall 01:30", "30 1 * * *", ny, 2026, time.November, 1, []string{"2026-11-01 01:30 EDT"}},
		{"berlin fall 02:30", "30 2 * * *", berlin, 2026, time.October, 25, []string{"2026-10-25 02:30 CEST"}},
		// An ordinary time on those days is untouched.
		{"ny spring 09:00", "0 9 * * *", ny, 2026, time.March, 8, []string{"2026-03-08 09:00 EDT"}},
		{"ny fall 06:00", "0 6 * * *", ny, 2026, time.November, 1, []string{"2026-11-01 06:00 EST"}},
		// Hourly: 23 firings on the short day, 24 on the long one (each wall hour once).
		{"ny spring hourly", "@hourly", ny, 2026, time.March, 8, nil},
		{"ny fall hourly", "0 * * * *", ny, 2026, time.November, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, to := day(tc.loc, tc.y, tc.m, tc.d)
			got := firings(t, tc.expr, tc.loc, from, to)
			if tc.want == nil {
				want := 23
				if tc.m == time.November {
					want = 24
				}
				seen := map[string]bool{}
				for _, g := range got {
					if seen[g] {
						t.Errorf("fired twice at %s", g)
					}
					seen[g] = true
				}
				if len(got) != want {
					t.Errorf("%d firings, want %d: %v", len(got), want, got)
				}
				return
			}
			if len(got) != len(tc.want) || got[0] != tc.want[0] {
				t.Errorf("firings %v, want %v", got, tc.want)
			}
		})
	}
}

func TestScheduleDescriptorsAndZones(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	at := time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		expr string
		want time.Time
	}{
		{"0 6 1 * *", time.Date(2026, 3, 1, 6, 0, 0, 0, ny)}, // `at` is 02:00 in New York
		{"@every 30s", at.Add(30 * time.Second)},
		{"CRON_TZ=UTC 0 6 1 * *", time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC)},
		{"@monthly", time.Date(2026, 4, 1, 0, 0, 0, 0, ny)},
	} {
		s, err := ParseSchedule(tc.expr, ny)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Next(at); !got.Equal(tc.want) {
			t.Errorf("%s: next after %v = %v, want %v", tc.expr, at, got, tc.want)
		}
	}
	for _, bad := range []string{"CRON_TZ=UTC", "61 * * * *", "@sometimes"} {
		if _, err := ParseSchedule(bad, ny); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
