package timesheet

// Clockify client: the workspace's detailed report (import.clockify, SPEC
// §15), every member's entries with their project, client, task and user
// names.
//
// What Clockify does (sources below):
//   - POST {reports_url}/workspaces/{workspaceId}/reports/detailed on the
//     reports host (https://reports.api.clockify.me/v1), header X-Api-Key,
//     JSON body: dateRangeStart and dateRangeEnd ("YYYY-MM-DDTHH:MM:SS.ssssss
//     ... Interpreted using the user's timezone or the provided timeZone"),
//     timeZone, exportType JSON, and detailedFilter {page, pageSize,
//     sortColumn} ("Pagination belongs in this nested filter"). The dates
//     are sent in the agency timezone, so a window is exactly its days.
//   - The answer: {"totals": [...], "timeentries": [...]} ("timeEntries" is
//     also seen); totals[0].entriesCount is the report's number of entries
//     (recorded), which ends the paging; without totals a short page does. An entry: _id, description, userId, userName, userEmail,
//     billable, projectId, projectName, clientId, clientName, taskId,
//     taskName, type, timeInterval {start (with the report timezone's
//     offset), end, duration (seconds, an integer)}.
//   - type is REGULAR, BREAK, HOLIDAY or TIME_OFF: only work counts, so
//     breaks, holidays and time off are left out (and counted).
//   - Limits: on the Free plan a detailed report spans at most one month
//     (31 days); windows here are calendar months. Page sizes up to 1000
//     are taken (200 is asked). Paid workspaces may send 50 requests a
//     second; newly created Free workspaces 30 requests an hour; over it,
//     429, whose Retry-After is honoured.
//   - There is no "modified since" in the report: recent windows are listed
//     again on every sync, and deletions are found by that re-listing.
//
// Sources:
//   https://docs.clockify.me/#tag/Time-Entry-Report (detailed report; as
//     captured in apet97/clockify-ts-sdk spec/corrected/clockify.corrected.openapi.yaml,
//     "Generate a detailed report", DetailedFilter, DetailedReportResponse,
//     the time entry type enum, cli/src/commands/reports.ts "max 1000")
//   a recorded detailed-report answer in a public "Clockify notes" file
//     (timeentries with timeInterval.duration 10440, projectName, clientName,
//     taskName, userName, type REGULAR)
//   https://clockify.me/help/getting-started/webhook-and-api-limitations (rate limits)

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"retainer/billing"
)

const (
	clockifyPageSize     = 200    // well under the 1000 a page may hold
	clockifyMaxPages     = 100000 // a guard against pagination that never ends
	clockifyRangeLayout  = "2006-01-02T15:04:05.000"
	clockifyRFC3339      = time.RFC3339Nano
	clockifyBreak        = "BREAK"
	clockifyHoliday      = "HOLIDAY"
	clockifyTimeOff      = "TIME_OFF"
	clockifyAPIKeyHeader = "X-Api-Key"
)

// ClockifyAPI reads a Clockify workspace's detailed report.
type ClockifyAPI struct {
	BaseURL     string // the regular API, e.g. https://api.clockify.me/api/v1 (not read by the import)
	ReportsURL  string // the reports API, e.g. https://reports.api.clockify.me/v1
	WorkspaceID string
	Token       string                                           // the API key; never appears in any error or log
	UserAgent   string                                           // UserAgent(agency name, email)
	HTTP        *http.Client                                     // nil = a client with a 30s timeout
	Sleep       func(ctx context.Context, d time.Duration) error // nil = real sleep honouring ctx
	MaxRetries  int                                              // 0 = 5; < 0 = no retries
	Agency      *time.Location                                   // the agency timezone: the report's timeZone and Entry.Date; nil = UTC

	// Excluded counts the entries left out because they are not work
	// (breaks, holidays, time off); Running those still running.
	Excluded, Running int
}

// Window lists the workspace's entries dated from..to (agency dates), every
// member's. Breaks, holidays and time off are left out and counted in
// Excluded; running entries in Running (counted once they stop).
func (c *ClockifyAPI) Window(ctx context.Context, from, to billing.Date, fn func(Entry) error) error {
	if to < from {
		return fmt.Errorf("%s: window %s..%s: to before from", SourceClockifyAPI, from, to)
	}
	reports, err := absoluteURL(SourceClockifyAPI, "reports_url", c.ReportsURL)
	if err != nil {
		return err
	}
	if c.WorkspaceID == "" || strings.ContainsAny(c.WorkspaceID, "/?#% ") {
		return fmt.Errorf("%s: workspace_id %q is not a Clockify id", SourceClockifyAPI, c.WorkspaceID)
	}
	cl := newAPIClient(SourceClockifyAPI, c.HTTP, c.Sleep, c.MaxRetries, c.Token, c.UserAgent, func(h http.Header) {
		h.Set(clockifyAPIKeyHeader, c.Token)
	})
	agency := c.Agency
	if agency == nil {
		agency = time.UTC
	}
	endpoint := *reports
	endpoint.Path += "/workspaces/" + url.PathEscape(c.WorkspaceID) + "/reports/detailed"
	req := clockifyReport{
		DateRangeStart: from.Time().Format(clockifyRangeLayout),
		DateRangeEnd:   (to + 1).Time().Add(-time.Millisecond).Format(clockifyRangeLayout),
		TimeZone:       agency.String(),
		ExportType:     "JSON",
	}
	req.DetailedFilter.PageSize = clockifyPageSize
	req.DetailedFilter.SortColumn = "ID"
	fetched := 0
	for page := 1; ; page++ {
		if page > clockifyMaxPages {
			return fmt.Errorf("%s: more than %d report pages for %s..%s", SourceClockifyAPI, clockifyMaxPages, from, to)
		}
		req.DetailedFilter.Page = page
		var ans clockifyAnswer
		if _, err := cl.postJSON(ctx, endpoint.String(), req, &ans); err != nil {
			return err
		}
		entries := ans.TimeEntries
		if len(entries) == 0 {
			entries = ans.TimeEntriesCamel
		}
		for i := range entries {
			if err := c.entry(&entries[i], from, to, agency, fn); err != nil {
				return err
			}
		}
		fetched += len(entries)
		// The totals say how many entries the report has: a page shorter
		// than asked (a host that caps the page size) does not end it early.
		// Without totals, a short page is the last.
		if len(entries) == 0 || (ans.total() >= 0 && fetched >= ans.total()) || (ans.total() < 0 && len(entries) < clockifyPageSize) {
			return nil
		}
	}
}

// clockifyReport is the body of a detailed report request.
type clockifyReport struct {
	DateRangeStart string `json:"dateRangeStart"`
	DateRangeEnd   string `json:"dateRangeEnd"`
	TimeZone       string `json:"timeZone"`
	ExportType     string `json:"exportType"`
	DetailedFilter struct {
		Page       int    `json:"page"`
		PageSize   int    `json:"pageSize"`
		SortColumn string `json:"sortColumn"`
	} `json:"detailedFilter"`
}

type clockifyAnswer struct {
	Totals []struct {
		EntriesCount *int `json:"entriesCount"`
	} `json:"totals"`
	TimeEntries      []clockifyEntry `json:"timeentries"`
	TimeEntriesCamel []clockifyEntry `json:"timeEntries"`
}

// total is the report's entry count from its totals, or -1 when it has none.
func (a *clockifyAnswer) total() int {
	if len(a.Totals) == 0 || a.Totals[0].EntriesCount == nil {
		return -1
	}
	return *a.Totals[0].EntriesCount
}

type clockifyEntry struct {
	ID           string  `json:"_id"`
	Description  *string `json:"description"`
	UserName     string  `json:"userName"`
	Billable     bool    `json:"billable"`
	ProjectName  *string `json:"projectName"`
	ClientName   *string `json:"clientName"`
	TaskName     *string `json:"taskName"`
	Type         string  `json:"type"`
	TimeInterval struct {
		Start    string       `json:"start"`
		End      *string      `json:"end"`
		Duration *json.Number `json:"duration"`
	} `json:"timeInterval"`
}

func (c *ClockifyAPI) entry(ce *clockifyEntry, from, to billing.Date, agency *time.Location, fn func(Entry) error) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: time entry %s: %s", SourceClockifyAPI, ce.ID, fmt.Sprintf(format, args...))
	}
	if ce.ID == "" {
		return fmt.Errorf("%s: a time entry without _id", SourceClockifyAPI)
	}
	switch ce.Type {
	case clockifyBreak, clockifyHoliday, clockifyTimeOff:
		c.Excluded++
		return nil
	}
	ti := ce.TimeInterval
	if ti.End == nil || *ti.End == "" || ti.Duration == nil {
		c.Running++
		return nil
	}
	start, err := time.Parse(clockifyRFC3339, ti.Start)
	if err != nil {
		return bad("start %q: %v", ti.Start, err)
	}
	date := billing.DateAt(start, agency)
	if err := billing.CheckDate(date); err != nil {
		return bad("start %q: %v", ti.Start, err)
	}
	if date < from || date > to {
		return nil // the report's own timezone edge: the entry's window takes it
	}
	secs, err := strconv.ParseInt(ti.Duration.String(), 10, 64)
	if err != nil {
		return bad("duration %q: want whole seconds", ti.Duration.String())
	}
	if err := billing.CheckHours(secs); err != nil {
		return bad("duration %ds: %v", secs, err)
	}
	e := Entry{
		Format:     Format(SourceClockifyAPI),
		Date:       date,
		Seconds:    secs,
		Billable:   ce.Billable,
		User:       ce.UserName,
		ExternalID: ce.ID,
	}
	for _, f := range []struct {
		to   *string
		from *string
	}{{&e.Notes, ce.Description}, {&e.Project, ce.ProjectName}, {&e.Client, ce.ClientName}, {&e.Task, ce.TaskName}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if err := apiText(&e); err != nil {
		return bad("%v", err)
	}
	return fn(e)
}
