package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// TestAPIHostileEntries (issue 15, items 6 and 11): a posted entry dated
// outside 2000–2100 or holding a NUL byte is a 422 naming the entry and
// the field — never a date moved to 2262, never a raw database error or a
// 500 — and nothing of the request is stored. Names are cleaned as an
// import's are.
func TestAPIHostileEntries(t *testing.T) {
	f := newFixture(t)
	march := billing.NewPeriod(2026, time.March)
	before := apiWantStatus(t, f, f.env.Rules, march)
	fresh := apiEntryJSON("h-ok", "Globex", "2026-03-06", `"hours":"1"`)
	for _, tc := range []struct {
		name, bad, reason string
	}{
		{"year 9000", apiEntryJSON("h-1", "Globex", "9000-01-01", `"hours":"1"`), `date: "9000-01-01" is outside the years 2000–2100`},
		{"year 1", apiEntryJSON("h-1", "Globex", "0001-01-01", `"hours":"1"`), `date: "0001-01-01" is outside the years 2000–2100`},
		{"2101", apiEntryJSON("h-1", "Globex", "2101-01-01", `"hours":"1"`), "outside the years"},
		{"NUL in notes", apiEntryJSON("h-1", "Globex", "2026-03-06", `"hours":"1"`, `"notes":"a\u0000b"`), "notes: contains a NUL byte"},
		{"NUL in client", apiEntryJSON("h-1", "Globex", "2026-03-06", `"hours":"1"`, `"client":"Glo\u0000bex"`), "client: contains a NUL byte"},
		{"NUL in user", apiEntryJSON("h-1", "Globex", "2026-03-06", `"hours":"1"`, `"user":"\u0000"`), "user: contains a NUL byte"},
		{"NUL in id", apiEntryJSON("h-1", "Globex", "2026-03-06", `"hours":"1"`, `"id":"h-\u00001"`), "id: contains a NUL byte"},
		{"newline in id", apiEntryJSON("h-\n1", "Globex", "2026-03-06", `"hours":"1"`), "id: contains a control character (U+000A)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// apiEntryJSON's extra fields repeat its own (notes, user): the
			// later wins in encoding/json, as the test means.
			resp, out := apiPostEntries(t, f, apiEntriesBody(fresh, tc.bad))
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%d %s", resp.StatusCode, out)
			}
			var got apiEntriesResult
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Rejected) != 1 || got.Rejected[0].Index != 1 || !strings.Contains(got.Rejected[0].Reason, tc.reason) {
				t.Errorf("rejected %s, want index 1 with %q", out, tc.reason)
			}
		})
	}
	if after := apiWantStatus(t, f, f.env.Rules, march); !bytes.Equal(before, after) {
		t.Errorf("a rejected request changed the status:\n%s\nwas\n%s", after, before)
	}

	// A client written with a line break, a zero-width space and a
	// right-to-left override is the configured client once cleaned: its
	// hours count (they were unmatched), and nothing of those characters is
	// stored.
	resp, out := apiPostEntries(t, f, apiEntriesBody(apiEntryJSON("h-2", "Glo\u200bbex\u202e\n", "2026-03-06", `"hours":"2"`,
		`"notes":"line one\r\nline two \u202e"`, `"project":"Sup\nport"`)))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"unmatched":0`) {
		t.Fatalf("cleaned client: %d %s", resp.StatusCode, out)
	}
	_, status := apiCall(t, f, "GET", "/api/v1/status?month=2026-03&contract=globex", apiBearer, "", "")
	if !strings.Contains(string(status), `"hours_used":7.00`) {
		t.Errorf("globex after the cleaned entry (5 h + 2 h):\n%s", status)
	}
	found := false
	err := f.env.DB.EachEntry(t.Context(), march.FirstDay(), march.LastDay(), func(e store.Entry) error {
		if e.ExternalID == "h-2" {
			found = true
			if e.Client != "Globex" || e.Notes != "line one\nline two " || e.Project != "Sup port" {
				t.Errorf("stored %q %q %q", e.Client, e.Notes, e.Project)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Error("entry h-2 not stored")
	}
}

// TestAPIHostileStatusQuery: a month or as-of date outside 2000–2100 is a
// 400 naming the parameter, not a century of computation.
func TestAPIHostileStatusQuery(t *testing.T) {
	f := newFixture(t)
	for _, q := range []struct{ query, want string }{
		{"month=9999-12", `month: \"9999-12\" is outside the years 2000–2100`},
		{"month=0001-01", "month: "},
		{"as_of=9000-01-01", `as_of: \"9000-01-01\" is outside`},
	} {
		resp, body := apiCall(t, f, "GET", "/api/v1/status?"+q.query, apiBearer, "", "")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), q.want) {
			t.Errorf("%s: %d %s; want 400 and …%s…", q.query, resp.StatusCode, body, q.want)
		}
	}
}
