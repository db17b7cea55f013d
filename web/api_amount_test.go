package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAPIEntriesAtMostAMonth: SPEC §13, the API refuses an entry of more
// than 744 hours (31 × 24) with 422, as `retainer log` refuses it with exit
// 2; exactly 744 is fine.
func TestAPIEntriesAtMostAMonth(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, amount string
		status       int
		reason       string
	}{
		{"745 hours", `"hours":"745"`, 422, `hours "745": more than a month of hours (744 at most)`},
		{"744:01", `"hours":"744:01"`, 422, `hours "744:01": more than a month of hours`},
		{"a duration", `"hours":"745h"`, 422, "more than a month of hours"},
		{"744 h and a second", `"seconds":2678401`, 422, "seconds 2678401: more than a month of hours"},
		{"744 hours", `"hours":"744"`, 200, ""},
		{"744 hours in seconds", `"seconds":2678400`, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := apiPostEntries(t, f, apiEntriesBody(apiEntryJSON("big-"+tc.name, "Nobody Ltd", "2026-03-06", tc.amount)))
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
			var got apiEntriesResult
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if tc.status == http.StatusOK {
				if len(got.Rejected) != 0 || got.Imported != 1 {
					t.Errorf("%s", body)
				}
				return
			}
			if len(got.Rejected) != 1 || !strings.Contains(got.Rejected[0].Reason, tc.reason) {
				t.Errorf("%s, want the reason %q", body, tc.reason)
			}
		})
	}
}
