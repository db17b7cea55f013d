package timesheet

// Toggl Track client: the whole workspace's time entries through the Reports
// API v3 detailed search, names through API v9 (import.toggl, SPEC §5, §15).
//
// Why not API v9 GET /me/time_entries: it returns the token owner's entries
// only (the rest of the agency is missing), and it refuses a start_date
// older than about three months with HTTP 400 "start_date must not be
// earlier than <date>" (toggl/toggl_api_docs#294, where Toggl's staff point
// to the reports API for longer ranges; measured at 91 days in
// Daz92/omarchy-toggl-track toggl_api.py, HISTORY_FLOOR_DAYS). It is not
// called at all.
//
// What the Reports API v3 does (sources below):
//   - POST {reports_url}/workspace/{workspace_id}/search/time_entries,
//     basic auth (token, "api_token"), JSON body. Fields used: start_date,
//     end_date (dates; "end_date ... Should be greater than Start date"),
//     page_size, first_row_number. With end_date left out the answer covers
//     start_date plus six days only (recorded: X-Range-Start 2024-04-07,
//     X-Range-End 2024-04-13), so end_date is always sent.
//   - The answer is a JSON array of rows: user_id, username, project_id
//     (null without project), task_id, billable, description, tag_ids,
//     billable_amount_in_cents, hourly_rate_in_cents, currency, row_number,
//     and time_entries: [{id, seconds, start, stop, at}] (start with the
//     user's offset). No project or client names: they come from API v9
//     GET /workspaces/{id}/projects (active=both, per_page ≤ 200) and
//     /clients (status=both), once per run.
//   - Pagination: "Supports pagination via X-Next-ID and X-Next-Row-Number
//     headers returned in the response". A page that has more after it
//     answers X-Next-ID, X-Next-Row-Number and X-Next-Timestamp (recorded:
//     51 after a page of 50, X-Page-Size 50); the last page has none. The
//     recorded follow-up request sends first_row_number only and gets rows
//     51.., which is what this client does (a public client test reports
//     that adding first_id to it made the live API answer no rows).
//   - Range: one request spans at most a year (Reports v2 docs: "Maximum date
//     span (until - since) is one year"; a public Postman collection for v3:
//     "366-day maximum date range"). Windows here are calendar months.
//   - Limits: a leaky bucket answered with 429 (about 1 request a second),
//     and since 2025-09-05 an hourly quota per user and organisation (Free 30,
//     Starter 240, Premium 600 requests an hour) answered with HTTP 402 once
//     used up; the answers carry X-Toggl-Quota-Remaining and
//     X-Toggl-Quota-Resets-In (seconds). A 402 stops the run; the windows
//     already committed stay, and the next run goes on.
//
// Sources:
//   https://engineering.toggl.com/docs/reports/detailed_reports (POST Search time entries, body fields, X-Next-* headers)
//   mcordell/toggl_rb spec/vcr_cassettes/search_time_entries_simple_success.yml,
//     search_time_entries_long_first_page.yml, search_time_entries_long_all_pages.yml (recorded answers)
//   evrone/toggl-python tests/responses/report_time_entry_post.py (recorded row)
//   https://github.com/toggl/toggl_api_docs/blob/master/reports.md (v2: one-year span)
//   https://support.toggl.com/en/articles/11484112-api-webhook-limits (hourly quota, 402)
//   https://support.toggl.com/en/articles/11623558-faqs-about-api-limits (quota headers)
//   https://engineering.toggl.com/docs/api/clients/index.html, community.toggl.com/t/projects-endpoints-get-workspace-projects/370

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"retainer/billing"
)

const (
	togglProjectsPerPage = 200         // the documented maximum
	togglMaxProjectPages = 1000        // a guard against a server that never ends
	togglReportPageSize  = 50          // the recorded default page (X-Page-Size: 50)
	togglMaxReportPages  = 100000      // a guard against pagination that never ends
	togglAuthPassword    = "api_token" // Toggl's basic-auth password for token auth
	togglQuotaHeader     = "X-Toggl-Quota-Resets-In"
	togglRFC3339         = time.RFC3339Nano // also reads "+00:00" offsets and fractions
)

// TogglAPI reads a Toggl Track workspace: entries from the Reports API v3,
// project and client names from API v9.
type TogglAPI struct {
	BaseURL     string // API v9, e.g. https://api.track.toggl.com/api/v9 (no trailing slash)
	ReportsURL  string // Reports API v3, e.g. https://api.track.toggl.com/reports/api/v3
	WorkspaceID int64
	Token       string                                           // never appears in any error or log
	UserAgent   string                                           // UserAgent(agency name, email)
	HTTP        *http.Client                                     // nil = a client with a 30s timeout
	Sleep       func(ctx context.Context, d time.Duration) error // nil = real sleep honouring ctx
	MaxRetries  int                                              // 0 = 5; < 0 = no retries
	Agency      *time.Location                                   // the agency timezone, for Entry.Date; nil = UTC
	// Since is where the first sync's back-fill starts (import.toggl.since);
	// zero = the first day of the first open period.
	Since billing.Date

	names *togglNames // read once per TogglAPI value (one run)
}

func (t *TogglAPI) client() *apiClient {
	c := newAPIClient(SourceTogglAPI, t.HTTP, t.Sleep, t.MaxRetries, t.Token, t.UserAgent, func(h http.Header) {
		// As req.SetBasicAuth would, without needing the request.
		r := http.Request{Header: h}
		r.SetBasicAuth(t.Token, togglAuthPassword)
	})
	c.quotaHeader = togglQuotaHeader
	return c
}

func absoluteURL(source, key, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("%s: %s %q is not an absolute URL", source, key, raw)
	}
	return u, nil
}

// Window lists the workspace's stopped entries, of every member, that
// started from..to (agency dates). Toggl reads the dates in its user's
// timezone, so the request reaches a day further each way and the entries
// dated outside from..to in the agency timezone are left to their own
// window. A running entry (no stop yet) is not counted.
func (t *TogglAPI) Window(ctx context.Context, from, to billing.Date, fn func(Entry) error) error {
	if to < from {
		return fmt.Errorf("%s: window %s..%s: to before from", SourceTogglAPI, from, to)
	}
	reports, err := absoluteURL(SourceTogglAPI, "reports_url", t.ReportsURL)
	if err != nil {
		return err
	}
	if t.WorkspaceID <= 0 {
		return fmt.Errorf("%s: workspace_id must be > 0", SourceTogglAPI)
	}
	c := t.client()
	endpoint := *reports
	endpoint.Path += "/workspace/" + strconv.FormatInt(t.WorkspaceID, 10) + "/search/time_entries"
	agency := t.Agency
	if agency == nil {
		agency = time.UTC
	}
	req := togglSearch{
		StartDate: (from - 1).String(),
		EndDate:   (to + 1).String(),
		PageSize:  togglReportPageSize,
	}
	last := 0
	for page := 0; ; page++ {
		if page == togglMaxReportPages {
			return fmt.Errorf("%s: more than %d report pages for %s..%s", SourceTogglAPI, togglMaxReportPages, from, to)
		}
		var rows []togglRow
		hdr, err := c.postJSON(ctx, endpoint.String(), req, &rows)
		if err != nil {
			return err
		}
		for i := range rows {
			if err := t.row(ctx, c, &rows[i], from, to, agency, fn); err != nil {
				return err
			}
		}
		next := strings.TrimSpace(hdr.Get("X-Next-Row-Number"))
		if next == "" {
			return nil
		}
		n, err := strconv.Atoi(next)
		if err != nil || n <= last || n <= req.FirstRowNumber {
			return fmt.Errorf("%s: X-Next-Row-Number %q does not move forward", SourceTogglAPI, next)
		}
		last = n
		req.FirstRowNumber = n
	}
}

// togglSearch is the body of a detailed search.
type togglSearch struct {
	StartDate      string `json:"start_date"`
	EndDate        string `json:"end_date"`
	PageSize       int    `json:"page_size"`
	FirstRowNumber int    `json:"first_row_number,omitempty"`
}

// togglRow is one row of a detailed search: a user's entries with the same
// description, project, task, tags and billable flag (one entry unless
// grouped).
type togglRow struct {
	UserID      int64   `json:"user_id"`
	Username    string  `json:"username"`
	ProjectID   *int64  `json:"project_id"`
	TaskID      *int64  `json:"task_id"`
	Billable    bool    `json:"billable"`
	Description *string `json:"description"`
	RowNumber   int     `json:"row_number"`
	TimeEntries []struct {
		ID      int64   `json:"id"`
		Seconds int64   `json:"seconds"`
		Start   string  `json:"start"`
		Stop    *string `json:"stop"`
		At      string  `json:"at"`
	} `json:"time_entries"`
}

// row converts the row's stopped entries dated from..to.
func (t *TogglAPI) row(ctx context.Context, c *apiClient, r *togglRow, from, to billing.Date, agency *time.Location, fn func(Entry) error) error {
	for _, te := range r.TimeEntries {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%s: time entry %d: %s", SourceTogglAPI, te.ID, fmt.Sprintf(format, args...))
		}
		if te.Stop == nil || *te.Stop == "" || te.Seconds < 0 {
			continue // running: counted once it stops
		}
		start, err := time.Parse(togglRFC3339, te.Start)
		if err != nil {
			return bad("start %q: %v", te.Start, err)
		}
		date := billing.DateAt(start, agency)
		if err := billing.CheckDate(date); err != nil {
			return bad("start %q: %v", te.Start, err)
		}
		if date < from || date > to {
			continue // the request's margin: the entry's own window takes it
		}
		if err := billing.CheckHours(te.Seconds); err != nil {
			return bad("seconds %d: %v", te.Seconds, err)
		}
		e := Entry{
			Format:     Format(SourceTogglAPI),
			Date:       date,
			Seconds:    te.Seconds,
			Billable:   r.Billable,
			User:       r.Username,
			ExternalID: strconv.FormatInt(te.ID, 10),
		}
		if r.Description != nil {
			e.Notes = *r.Description
		}
		if r.ProjectID != nil {
			n, err := t.lookup(ctx, c)
			if err != nil {
				return err
			}
			if p, ok := n.projects[*r.ProjectID]; ok {
				e.Project = p.Name
				if p.ClientID != nil {
					e.Client = n.clients[*p.ClientID]
				}
			}
		}
		if err := apiText(&e); err != nil {
			return bad("%v", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// lookup reads the names once per TogglAPI value, at the first entry with a
// project: a window without entries costs no request for them.
func (t *TogglAPI) lookup(ctx context.Context, c *apiClient) (*togglNames, error) {
	if t.names != nil {
		return t.names, nil
	}
	base, err := absoluteURL(SourceTogglAPI, "base_url", t.BaseURL)
	if err != nil {
		return nil, err
	}
	n, err := t.readNames(ctx, c, base)
	if err != nil {
		return nil, err
	}
	t.names = n
	return n, nil
}

func endpoint(base *url.URL, path string, q url.Values) string {
	u := *base
	u.Path += path
	u.RawQuery = q.Encode()
	return u.String()
}

// togglNames resolves project ids to project and client names.
type togglNames struct {
	projects map[int64]togglProject
	clients  map[int64]string
}

type togglProject struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	ClientID *int64 `json:"client_id"`
}

type togglClient struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// readNames reads every project (active or not, page by page) and every
// client (active or archived) of the workspace: entries may point at
// archived ones.
func (t *TogglAPI) readNames(ctx context.Context, c *apiClient, base *url.URL) (*togglNames, error) {
	ws := "/workspaces/" + strconv.FormatInt(t.WorkspaceID, 10)
	n := &togglNames{projects: map[int64]togglProject{}, clients: map[int64]string{}}
	for page := 1; ; page++ {
		if page > togglMaxProjectPages {
			return nil, fmt.Errorf("%s: more than %d pages of projects", SourceTogglAPI, togglMaxProjectPages)
		}
		q := url.Values{}
		q.Set("active", "both")
		q.Set("page", strconv.Itoa(page))
		q.Set("per_page", strconv.Itoa(togglProjectsPerPage))
		var ps []togglProject
		if err := c.getJSON(ctx, endpoint(base, ws+"/projects", q), &ps); err != nil {
			return nil, err
		}
		for _, p := range ps {
			n.projects[p.ID] = p
		}
		if len(ps) < togglProjectsPerPage {
			break
		}
	}
	q := url.Values{}
	q.Set("status", "both")
	var cs []togglClient
	if err := c.getJSON(ctx, endpoint(base, ws+"/clients", q), &cs); err != nil {
		return nil, err
	}
	for _, cl := range cs {
		n.clients[cl.ID] = cl.Name
	}
	return n, nil
}
