package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestClientOverdueDays: reminders.client_overdue_days (SPEC §14) is none
// by default, kept ascending, and every bad day is reported at its own
// index.
func TestClientOverdueDays(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want []int
		errs []string // the error paths, in order; nil = loads
	}{
		{name: "default none", yaml: minimal},
		{name: "listed", yaml: "reminders:\n  client_overdue_days: [3, 10]\n" + minimal, want: []int{3, 10}},
		{name: "sorted", yaml: "reminders:\n  client_overdue_days: [30, 3, 10]\n" + minimal, want: []int{3, 10, 30}},
		{name: "empty list", yaml: "reminders:\n  client_overdue_days: []\n" + minimal},
		{name: "bounds", yaml: "reminders:\n  client_overdue_days: [1, 365]\n" + minimal, want: []int{1, 365}},
		{name: "from the environment", yaml: minimal, env: []string{"RETAINER_REMINDERS__CLIENT_OVERDUE_DAYS=10,3"}, want: []int{3, 10}},
		{name: "zero, twice, too late", yaml: "reminders:\n  client_overdue_days: [0, 3, 3, 366, -2]\n" + minimal,
			errs: []string{"reminders.client_overdue_days[0]", "reminders.client_overdue_days[2]",
				"reminders.client_overdue_days[3]", "reminders.client_overdue_days[4]"}},
		{name: "not a number", yaml: "reminders:\n  client_overdue_days: [3, ten]\n" + minimal,
			errs: []string{"reminders.client_overdue_days[1]"}},
		{name: "not a list", yaml: "reminders:\n  client_overdue_days: {a: 1}\n" + minimal,
			errs: []string{"reminders.client_overdue_days"}},
		{name: "unknown key", yaml: "reminders:\n  client_overdue_day: [3]\n" + minimal,
			errs: []string{"reminders.client_overdue_day"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.errs != nil {
				_, err := load(t, tt.yaml, tt.env...)
				if got := paths(t, err); !reflect.DeepEqual(got, tt.errs) {
					t.Errorf("error paths %q, want %q: %v", got, tt.errs, err)
				}
				return
			}
			cfg := mustLoad(t, tt.yaml, tt.env...)
			if got := cfg.Reminders.ClientOverdueDays; !reflect.DeepEqual(got, tt.want) && len(got)+len(tt.want) > 0 {
				t.Errorf("client_overdue_days %v, want %v", got, tt.want)
			}
		})
	}
	// The message names the rule, not only the path.
	_, err := load(t, "reminders:\n  client_overdue_days: [3, 3]\n"+minimal)
	if err == nil || !strings.Contains(err.Error(), "reminders.client_overdue_days[1]: 3 is listed twice") {
		t.Errorf("twice: %v", err)
	}
}
