package timesheet

// Toggl Track API v9 client: time entries as Changes (import.toggl, SPEC §5, §10).
//
// What the Toggl docs say (sources below):
//   - GET /me/time_entries lists the token owner's time entries. Query:
//     since (integer UNIX timestamp: "Get entries modified since this date
//     using UNIX timestamp, including deleted ones"), before, start_date /
//     end_date (YYYY-MM-DD or RFC3339, on the entry's start; used together),
//     meta (boolean: add related entities' fields such as client_name,
//     project_name, task_name), include_sharing. No pagination.
//   - Time entry: id, workspace_id (wid legacy), project_id (pid legacy;
//     null if none or the project was deleted), task_id (tid legacy),
//     billable, start ("Start time in UTC", RFC3339), stop (null while
//     running), duration (integer seconds; "for running entries should be
//     negative"), description (null if not provided), tags, tag_ids, user_id
//     (uid legacy), duronly, at ("When was last updated", ISO 8601),
//     server_deleted_at ("When was deleted, null if not deleted"),
//     permissions, shared_with, and with meta=true client_name, project_name,
//     task_name, project_active, project_color, ...
//   - GET /workspaces/{workspace_id}/projects: items with id, name,
//     client_id (cid legacy), active, billable, at, ...; query active
//     (true/false/"both"), page, per_page ("default 151. Cannot exceed 200").
//   - GET /workspaces/{workspace_id}/clients: items with id, name, wid,
//     archived, at, ...; query status ("active" default, "archived", "both").
//   - Auth: HTTP basic, the API token as user name and the literal
//     "api_token" as password.
//   - Rate limit: a leaky bucket; over it, HTTP 429 "and it's the task of the
//     client to sleep/wait"; a safe pace is 1 request per second. Since
//     2025-09-05 there is also an hourly quota per user and organisation
//     (Free 30, Starter 240, Premium 600 requests/hour; /me endpoints 30/hour)
//     answered with HTTP 402 when used up: a permanent error here.
//
// Sources:
//   https://engineering.toggl.com/docs/api/time_entries (GET TimeEntries)
//   https://developers.track.toggl.com/docs/api/time_entries/index.html (server_deleted_at)
//   https://engineering.toggl.com/docs/api/clients/index.html
//   https://community.toggl.com/t/projects-endpoints-get-workspace-projects/370 (Toggl's copy of the projects reference)
//   https://engineering.toggl.space/docs/index.html (format, leaky bucket, 429)
//   https://engineering.toggl.com/docs/tracking (basic auth, "at" is UTC)
//   https://support.toggl.com/en/articles/11484112-api-webhook-limits (hourly quota, 402)

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"retainer/billing"
)

const (
	togglProjectsPerPage = 200              // the documented maximum
	togglMaxProjectPages = 1000             // a guard against a server that never ends
	togglBackfillDays    = 400              // how far back a first Changes (since zero) reaches
	togglAuthPassword    = "api_token"      // Toggl's basic-auth password for token auth
	togglDay             = 24 * time.Hour   // for the backfill window
	togglDateLayout      = "2006-01-02"     // start_date / end_date
	togglMaxTimeEntries  = 1 << 20          // sanity bound per response
	togglRFC3339         = time.RFC3339Nano // also reads "+00:00" offsets and fractions
)

// TogglAPI reads time entries from Toggl Track API v9.
type TogglAPI struct {
	BaseURL     string // e.g. https://api.track.toggl.com/api/v9 (no trailing slash)
	WorkspaceID int64
	Token       string                                           // never appears in any error or log
	HTTP        *http.Client                                     // nil = a client with a 30s timeout
	Sleep       func(ctx context.Context, d time.Duration) error // nil = real sleep honouring ctx
	MaxRetries  int                                              // 0 = 5; < 0 = no retries
	Agency      *time.Location                                   // the agency timezone, for Entry.Date; nil = UTC
	Now         func() time.Time                                 // the clock of the first (since zero) window; Importer.SyncToggl sets it
}

// Changes streams the entries of the workspace modified since `since`: GET
// /me/time_entries?since=UNIX, or, when since is zero, the entries started in
// the last 400 days up to tomorrow. Entries of other workspaces are ignored;
// one with server_deleted_at is a Change{Deleted: true}; a running one
// (duration < 0) is skipped. Client and project names are resolved once per
// call from the workspace's projects and clients. It returns the cursor to
// store for next time: the largest `at` seen, or since when nothing came.
func (t *TogglAPI) Changes(ctx context.Context, since time.Time, fn func(Change) error) (time.Time, error) {
	base, err := url.Parse(strings.TrimRight(t.BaseURL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return since, fmt.Errorf("%s: base_url %q is not an absolute URL", SourceTogglAPI, t.BaseURL)
	}
	if t.WorkspaceID <= 0 {
		return since, fmt.Errorf("%s: workspace_id must be > 0", SourceTogglAPI)
	}
	c := newAPIClient(SourceTogglAPI, t.HTTP, t.Sleep, t.MaxRetries, t.Token, func(h http.Header) {
		// As req.SetBasicAuth would, without needing the request.
		r := http.Request{Header: h}
		r.SetBasicAuth(t.Token, togglAuthPassword)
	})

	q := url.Values{}
	q.Set("meta", "true") // task_name; client/project names come from the lookups
	if since.IsZero() {
		if t.Now == nil {
			return since, errors.New("toggl: no clock for the first sync window")
		}
		today := t.Now().UTC()
		q.Set("start_date", today.Add(-togglBackfillDays*togglDay).Format(togglDateLayout))
		q.Set("end_date", today.Add(togglDay).Format(togglDateLayout))
	} else {
		q.Set("since", strconv.FormatInt(since.Unix(), 10))
	}
	var entries []togglTimeEntry
	if err := c.getJSON(ctx, t.endpoint(base, "/me/time_entries", q), &entries); err != nil {
		return since, err
	}
	if len(entries) == 0 {
		return since, nil
	}
	if len(entries) > togglMaxTimeEntries {
		return since, fmt.Errorf("%s: %d time entries in one response", SourceTogglAPI, len(entries))
	}

	names, err := t.names(ctx, c, base)
	if err != nil {
		return since, err
	}
	agency := t.Agency
	if agency == nil {
		agency = time.UTC
	}
	cursor := since
	for i := range entries {
		te := &entries[i]
		at, err := te.at()
		if err != nil {
			return since, err
		}
		if at.After(cursor) {
			cursor = at
		}
		if te.WorkspaceID != t.WorkspaceID {
			continue
		}
		if te.ServerDeletedAt != nil && *te.ServerDeletedAt != "" {
			if err := fn(Change{Deleted: true, Entry: Entry{Format: Format(SourceTogglAPI), ExternalID: strconv.FormatInt(te.ID, 10)}}); err != nil {
				return since, err
			}
			continue
		}
		if te.Duration < 0 {
			continue
		}
		e, err := te.entry(names, agency)
		if err != nil {
			return since, err
		}
		if err := fn(Change{Entry: e}); err != nil {
			return since, err
		}
	}
	return cursor, nil
}

func (t *TogglAPI) endpoint(base *url.URL, path string, q url.Values) string {
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

// names reads every project (active or not, page by page) and every client
// (active or archived) of the workspace: entries may point at archived ones.
func (t *TogglAPI) names(ctx context.Context, c *apiClient, base *url.URL) (*togglNames, error) {
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
		if err := c.getJSON(ctx, t.endpoint(base, ws+"/projects", q), &ps); err != nil {
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
	if err := c.getJSON(ctx, t.endpoint(base, ws+"/clients", q), &cs); err != nil {
		return nil, err
	}
	for _, cl := range cs {
		n.clients[cl.ID] = cl.Name
	}
	return n, nil
}

type togglTimeEntry struct {
	ID              int64    `json:"id"`
	WorkspaceID     int64    `json:"workspace_id"`
	ProjectID       *int64   `json:"project_id"`
	TaskID          *int64   `json:"task_id"`
	Billable        bool     `json:"billable"`
	Start           string   `json:"start"`
	Stop            *string  `json:"stop"`
	Duration        int64    `json:"duration"`
	Description     *string  `json:"description"`
	Tags            []string `json:"tags"`
	UserID          int64    `json:"user_id"`
	At              string   `json:"at"`
	ServerDeletedAt *string  `json:"server_deleted_at"`
	TaskName        *string  `json:"task_name"` // meta=true
	ClientName      *string  `json:"client_name"`
	ProjectName     *string  `json:"project_name"`
}

func (te *togglTimeEntry) at() (time.Time, error) {
	if te.At == "" {
		return time.Time{}, nil
	}
	at, err := time.Parse(togglRFC3339, te.At)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: time entry %d: at %q: %w", SourceTogglAPI, te.ID, te.At, err)
	}
	return at, nil
}

// entry converts a stopped, live time entry. Its date is the start's civil
// date in the agency timezone; its length is duration, never stop − start.
func (te *togglTimeEntry) entry(n *togglNames, agency *time.Location) (Entry, error) {
	start, err := time.Parse(togglRFC3339, te.Start)
	if err != nil {
		return Entry{}, fmt.Errorf("%s: time entry %d: start %q: %w", SourceTogglAPI, te.ID, te.Start, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: time entry %d: %s", SourceTogglAPI, te.ID, fmt.Sprintf(format, args...))
	}
	date := billing.DateAt(start, agency)
	if err := billing.CheckDate(date); err != nil {
		return Entry{}, bad("start %q: %v", te.Start, err)
	}
	if err := billing.CheckHours(te.Duration); err != nil {
		return Entry{}, bad("duration %ds: %v", te.Duration, err)
	}
	e := Entry{
		Format:     Format(SourceTogglAPI),
		Date:       date,
		Seconds:    te.Duration,
		Billable:   te.Billable,
		ExternalID: strconv.FormatInt(te.ID, 10),
	}
	if te.Description != nil {
		e.Notes = *te.Description
	}
	if te.TaskName != nil {
		e.Task = *te.TaskName
	}
	if te.ProjectID != nil {
		if p, ok := n.projects[*te.ProjectID]; ok {
			e.Project = p.Name
			if p.ClientID != nil {
				e.Client = n.clients[*p.ClientID]
			}
		}
	}
	// A project deleted since, or not visible to this token: fall back on
	// the meta names the entry itself carries.
	if e.Project == "" && te.ProjectName != nil {
		e.Project = *te.ProjectName
	}
	if e.Client == "" && te.ClientName != nil {
		e.Client = *te.ClientName
	}
	if err := apiText(&e); err != nil {
		return Entry{}, bad("%v", err)
	}
	return e, nil
}
