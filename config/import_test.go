package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"retainer/billing"
)

// The tracker API keys of SPEC §15: defaults, the environment, and every
// problem named at its path.
func TestImportTrackerKeys(t *testing.T) {
	const agency = "agency:\n  name: Northwind Studio\n"
	d := func(s string) billing.Date {
		v, err := billing.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name  string
		yaml  string
		env   []string
		check func(t *testing.T, c *Config)
		errs  []string
	}{
		{
			name: "defaults",
			yaml: minimal,
			check: func(t *testing.T, c *Config) {
				im := c.Import
				got := []any{im.ReconcileMonths, im.Toggl.ReportsURL, im.Clockify.BaseURL, im.Clockify.ReportsURL, im.Toggl.SinceDate, im.APIs()}
				want := []any{2, "https://api.track.toggl.com/reports/api/v3", "https://api.clockify.me/api/v1",
					"https://reports.api.clockify.me/v1", billing.Date(0), false}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("got %v, want %v", got, want)
				}
			},
		},
		{
			name: "clockify from the environment, since as a month",
			yaml: minimal + agency + "import:\n  reconcile_months: 0\n  toggl:\n    workspace_id: 789\n    since: \"2025-11\"\n",
			env: []string{"RETAINER_IMPORT__CLOCKIFY__WORKSPACE_ID=5b715448b079875110792222", "RETAINER_IMPORT__CLOCKIFY__TOKEN=ck-hunter6",
				"RETAINER_IMPORT__TOGGL__TOKEN=tg-hunter7", "RETAINER_IMPORT__CLOCKIFY__REPORTS_URL=https://euc1.clockify.me/report/v1/"},
			check: func(t *testing.T, c *Config) {
				ck := c.Import.Clockify
				if !ck.Enabled() || ck.Token.Reveal() != "ck-hunter6" || ck.ReportsURL != "https://euc1.clockify.me/report/v1" {
					t.Errorf("clockify %+v", ck)
				}
				if c.Import.Toggl.SinceDate != d("2025-11-01") || c.Import.ReconcileMonths != 0 {
					t.Errorf("since %s, reconcile_months %d", c.Import.Toggl.SinceDate, c.Import.ReconcileMonths)
				}
				js, err := json.Marshal(c)
				if err != nil {
					t.Fatal(err)
				}
				for _, out := range []string{string(js), fmt.Sprintf("%+v", *c), fmt.Sprintf("%#v", *c)} {
					if strings.Contains(out, "ck-hunter6") || strings.Contains(out, "tg-hunter7") {
						t.Errorf("a token is printed: %s", out)
					}
				}
			},
		},
		{
			name: "since as a date",
			yaml: minimal + agency + "import:\n  toggl:\n    workspace_id: 789\n    since: \"2025-11-17\"\n",
			env:  []string{"RETAINER_IMPORT__TOGGL__TOKEN=tg"},
			check: func(t *testing.T, c *Config) {
				if c.Import.Toggl.SinceDate != d("2025-11-17") {
					t.Errorf("since %s", c.Import.Toggl.SinceDate)
				}
			},
		},
		{
			name: "every problem at its path",
			yaml: minimal + agency + "import:\n  reconcile_months: 25\n  toggl:\n    since: last year\n    reports_url: ftp://toggl\n" +
				"  clockify:\n    workspace_id: ../admin\n    base_url: nowhere\n",
			env: []string{"RETAINER_IMPORT__CLOCKIFY__TOKEN=ck"},
			errs: []string{
				"import.clockify.base_url: must be an http:// or https:// URL",
				"import.clockify.workspace_id: must be the workspace's id, letters and digits only (24 hex digits, such as 5b715448b079875110792222)",
				"import.reconcile_months: must be 0..24, not 25",
				`import.toggl.reports_url: must be an http:// or https:// URL`,
				`import.toggl.since: must be a date (YYYY-MM-DD) or a month (YYYY-MM), not "last year"`,
			},
		},
		{
			name: "a key without its workspace, a workspace without its key",
			yaml: minimal + agency + "import:\n  clockify:\n    workspace_id: 5b715448b079875110792222\n",
			errs: []string{"import.clockify.token: required with import.clockify.workspace_id (RETAINER_IMPORT__CLOCKIFY__TOKEN or token_file)"},
		},
		{
			name: "a key in the file is refused",
			yaml: minimal + agency + "import:\n  clockify:\n    workspace_id: 5b715448b079875110792222\n    token: ck-in-the-file\n",
			errs: []string{"import.clockify.token: secrets come from the environment (RETAINER_IMPORT__CLOCKIFY__TOKEN) or token_file"},
		},
		{
			name: "a tracker API needs a contact for its User-Agent",
			yaml: minimal + "import:\n  harvest:\n    account_id: \"123456\"\n",
			env:  []string{"RETAINER_IMPORT__HARVEST__TOKEN=hv"},
			errs: []string{"agency.email: required with a tracker API (import.harvest, import.toggl or import.clockify): " +
				"every request to it names the agency as its contact (agency.name will do if there is no email)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := load(t, tc.yaml, tc.env...)
			if tc.errs == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				tc.check(t, cfg)
				return
			}
			paths(t, err)
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tc.errs) {
				t.Errorf("errors:\n got %q\nwant %q", got, tc.errs)
			}
			if strings.Contains(err.Error(), "ck-in-the-file") {
				t.Error("an error quotes the key")
			}
		})
	}
}
