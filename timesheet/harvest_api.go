package timesheet

// Harvest API v2 client: time entries as Changes (import.harvest, SPEC §5, §10).
//
// What the Harvest docs say (sources below):
//   - GET /v2/time_entries lists time entries, sorted by spent_date. Query:
//     user_id, client_id, project_id, task_id, external_reference_id,
//     is_billed, is_running, updated_since (datetime: "only return time
//     entries that have been updated since the given date and time"),
//     from / to (date: spent_date on or after / on or before), page, per_page
//     (1..2000; default and maximum 2000; larger is a 422).
//   - A running timer: is_running true, timer_started_at set ("Returns
//     null for stopped timers"); hours is "Number of (decimal time) hours
//     tracked in this time entry" and hours_without_timer what was tracked
//     "before the timer was last started": hours is what the timer shows,
//     and it is counted (SPEC §15). Its updated_at need not move while it
//     runs, so every sync also lists is_running=true (Running).
//   - Time entry object: id (bigint), spent_date (date), user {id, name},
//     client {id, name, currency}, project {id, name, code}, task {id, name},
//     user_assignment, task_assignment, external_reference, invoice,
//     hours (decimal), hours_without_timer, rounded_hours (decimal, rounded by
//     the account's Time Rounding setting — not used: the contract's own
//     rounding_minutes applies, SPEC §5), notes, is_locked, locked_reason,
//     is_closed, is_billed, timer_started_at, started_time, ended_time,
//     is_running (boolean), billable (boolean), budgeted, billable_rate,
//     cost_rate, created_at, updated_at (datetime, ISO 8601 UTC).
//   - Pagination: the body carries page, per_page, total_pages,
//     total_entries, next_page, previous_page and links {first, next,
//     previous, last}; "always use the pagination URLs provided in the links
//     section" (links.next may be a cursor URL, with page/next_page null).
//   - Every request needs "Authorization: Bearer $ACCESS_TOKEN",
//     "Harvest-Account-Id: $ACCOUNT_ID" and a User-Agent with the app's name
//     and a link or email ("MyApp (you@example.com)"); without one: 400.
//   - Rate limit: 100 requests per 15 seconds (reports: 100 per 15 minutes);
//     over it, HTTP 429 with Retry-After = seconds until the throttle lifts.
//   - Status codes: 200, 201, 401/403 unauthorized, 404, 422, 429, 5xx.
//   - Deleted entries are not reported by updated_since; hence Window, the
//     re-listing of a date range whose unlisted entries are gone upstream.
//
// Sources:
//   https://help.getharvest.com/api-v2/timesheets-api/timesheets/time-entries/
//   https://help.getharvest.com/api-v2/introduction/overview/general (headers, User-Agent, 429)
//   pagination: a copy of Harvest's "Pagination" page in
//   https://glama.ai/mcp/servers/u2bir05hxy/blob/main/docs/harvest_api_docs/01_introduction/06_pagination.md

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

// harvestPerPage is Harvest's documented maximum page size.
const harvestPerPage = 2000

// HarvestAPI reads time entries from Harvest API v2.
type HarvestAPI struct {
	BaseURL    string // e.g. https://api.harvestapp.com/v2 (no trailing slash)
	AccountID  string
	Token      string                                           // never appears in any error or log
	HTTP       *http.Client                                     // nil = a client with a 30s timeout
	Sleep      func(ctx context.Context, d time.Duration) error // nil = real sleep honouring ctx
	MaxRetries int                                              // 0 = 5; < 0 = no retries
	UserAgent  string                                           // UserAgent(agency name, email); Harvest asks for "App (email or URL)"
}

// Changes streams every entry updated since `since` (zero = all), page by
// page, calling fn for each; a running timer comes with the hours it shows.
// It returns the cursor to store for next time: the largest updated_at seen,
// or since when nothing came. Harvest never reports deletions here: see
// Window.
func (h *HarvestAPI) Changes(ctx context.Context, since time.Time, fn func(Change) error) (time.Time, error) {
	q := url.Values{}
	if !since.IsZero() {
		q.Set("updated_since", since.UTC().Format(time.RFC3339))
	}
	cursor := since
	err := h.list(ctx, q, func(te *harvestTimeEntry) error {
		if te.UpdatedAt.After(cursor) {
			cursor = te.UpdatedAt
		}
		e, err := te.entry()
		if err != nil {
			return err
		}
		return fn(Change{Entry: e})
	})
	if err != nil {
		return since, err
	}
	return cursor, nil
}

// Window lists every entry with spent_date in from..to, running timers
// included, and returns the largest updated_at it saw (zero when none).
// Harvest does not report deleted entries, so the caller deletes the stored
// ids of this source in that window that Window did not list.
func (h *HarvestAPI) Window(ctx context.Context, from, to billing.Date, fn func(Entry) error) (time.Time, error) {
	if to < from {
		return time.Time{}, fmt.Errorf("%s: window %s..%s: to before from", SourceHarvestAPI, from, to)
	}
	q := url.Values{}
	q.Set("from", from.String())
	q.Set("to", to.String())
	var latest time.Time
	err := h.list(ctx, q, func(te *harvestTimeEntry) error {
		if te.UpdatedAt.After(latest) {
			latest = te.UpdatedAt
		}
		e, err := te.entry()
		if err != nil {
			return err
		}
		return fn(e)
	})
	return latest, err
}

// Running lists the running timers (is_running=true), each with the hours
// it shows now: a timer's updated_at need not change while it runs, so
// Changes alone would keep the hours it had when it was last edited.
func (h *HarvestAPI) Running(ctx context.Context, fn func(Entry) error) error {
	q := url.Values{}
	q.Set("is_running", "true")
	return h.list(ctx, q, func(te *harvestTimeEntry) error {
		e, err := te.entry()
		if err != nil {
			return err
		}
		return fn(e)
	})
}

// list walks every page of GET /time_entries with query q.
func (h *HarvestAPI) list(ctx context.Context, q url.Values, fn func(*harvestTimeEntry) error) error {
	base, err := url.Parse(strings.TrimRight(h.BaseURL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return fmt.Errorf("%s: base_url %q is not an absolute URL", SourceHarvestAPI, h.BaseURL)
	}
	if h.AccountID == "" {
		return fmt.Errorf("%s: account_id is empty", SourceHarvestAPI)
	}
	c := newAPIClient(SourceHarvestAPI, h.HTTP, h.Sleep, h.MaxRetries, h.Token, h.UserAgent, func(hd http.Header) {
		hd.Set("Authorization", "Bearer "+h.Token)
		hd.Set("Harvest-Account-Id", h.AccountID)
	})
	q.Set("per_page", strconv.Itoa(harvestPerPage))
	q.Set("page", "1")
	first := *base
	first.Path += "/time_entries"
	first.RawQuery = q.Encode()
	next := first.String()
	seen := map[string]bool{}
	for next != "" {
		if seen[next] {
			return fmt.Errorf("%s: pagination loops back to a page already read", SourceHarvestAPI)
		}
		seen[next] = true
		var page harvestPage
		if err := c.getJSON(ctx, next, &page); err != nil {
			return err
		}
		for i := range page.TimeEntries {
			if err := fn(&page.TimeEntries[i]); err != nil {
				return err
			}
		}
		if next, err = page.nextURL(base, first); err != nil {
			return err
		}
	}
	return nil
}

type harvestPage struct {
	TimeEntries []harvestTimeEntry `json:"time_entries"`
	PerPage     int                `json:"per_page"`
	Page        *int               `json:"page"`
	TotalPages  int                `json:"total_pages"`
	NextPage    *int               `json:"next_page"`
	Links       struct {
		Next *string `json:"next"`
	} `json:"links"`
}

// nextURL is links.next when given (the docs' advice), else the first URL
// with page=next_page, else "" on the last page.
func (p *harvestPage) nextURL(base *url.URL, first url.URL) (string, error) {
	if p.Links.Next != nil && *p.Links.Next != "" {
		u, err := base.Parse(*p.Links.Next)
		if err != nil {
			return "", fmt.Errorf("%s: bad links.next: %w", SourceHarvestAPI, err)
		}
		if !sameOrigin(base, u) {
			return "", fmt.Errorf("%s: links.next points at another host (%s); not following it with the token", SourceHarvestAPI, u.Host)
		}
		return u.String(), nil
	}
	if p.NextPage != nil && *p.NextPage > 0 {
		q := first.Query()
		q.Set("page", strconv.Itoa(*p.NextPage))
		first.RawQuery = q.Encode()
		return first.String(), nil
	}
	return "", nil
}

type harvestRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type harvestTimeEntry struct {
	ID        int64       `json:"id"`
	SpentDate string      `json:"spent_date"`
	Hours     json.Number `json:"hours"`
	Notes     *string     `json:"notes"`
	IsRunning bool        `json:"is_running"`
	Billable  bool        `json:"billable"`
	Client    *harvestRef `json:"client"`
	Project   *struct {
		ID   int64   `json:"id"`
		Name string  `json:"name"`
		Code *string `json:"code"`
	} `json:"project"`
	Task      *harvestRef `json:"task"`
	User      *harvestRef `json:"user"`
	UpdatedAt time.Time   `json:"updated_at"`
}

// entry converts a time entry, running or stopped; hours are converted
// exactly, never through a float.
func (te *harvestTimeEntry) entry() (Entry, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: time entry %d: %s", SourceHarvestAPI, te.ID, fmt.Sprintf(format, args...))
	}
	d, err := billing.ParseDate(te.SpentDate)
	if err != nil {
		return Entry{}, bad("spent_date: %v", err)
	}
	h := te.Hours.String()
	if h == "" || strings.ContainsAny(h, "eE-") {
		return Entry{}, bad("hours %q: want a non-negative decimal", h)
	}
	secs, err := billing.ParseHours(h)
	if err != nil {
		return Entry{}, bad("hours: %v", err)
	}
	if err := billing.CheckHours(secs); err != nil {
		return Entry{}, bad("hours %s: %v", h, err)
	}
	e := Entry{
		Format:     Format(SourceHarvestAPI),
		Date:       d,
		Seconds:    secs,
		Billable:   te.Billable,
		ExternalID: strconv.FormatInt(te.ID, 10),
	}
	if te.Notes != nil {
		e.Notes = *te.Notes
	}
	if te.Client != nil {
		e.Client = te.Client.Name
	}
	if te.Project != nil {
		e.Project = te.Project.Name
		if te.Project.Code != nil {
			e.ProjectCode = *te.Project.Code
		}
	}
	if te.Task != nil {
		e.Task = te.Task.Name
	}
	if te.User != nil {
		e.User = te.User.Name
	}
	if err := apiText(&e); err != nil {
		return Entry{}, bad("%v", err)
	}
	return e, nil
}
