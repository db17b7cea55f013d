package web

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"retainer/billing"
	"retainer/config"
	"retainer/jobs"
	"retainer/report"
	"retainer/store"
)

// The JSON API (SPEC §12): the status object of `retainer status --json`,
// the statements, and time entries pushed in by another program. Every
// endpoint takes a bearer token from http.api_tokens; every answer,
// errors included, is JSON.

const (
	// apiSource is the source of entries posted to the API: their ids are
	// upserted by (source, id), apart from every tracker's.
	apiSource = "api"
	// maxAPIEntries bounds one POST /api/v1/entries.
	maxAPIEntries = 10000
	// maxAPIIDLen bounds an entry's id (its idempotency key).
	maxAPIIDLen = 255
)

// apiHandler serves one authorised API request and returns its outcome for
// the request counter: ok, bad_request, not_found or error.
type apiHandler func(w http.ResponseWriter, r *http.Request, env *jobs.Env) (outcome string)

// apiRoutes registers the JSON API.
func (s *Server) apiRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/status", s.api(s.apiStatus))
	mux.Handle("GET /api/v1/statements", s.api(s.apiStatements))
	mux.Handle("POST /api/v1/entries", s.api(s.apiEntries))
	// Everything else under /api/ is a JSON 404 or 405, behind the token
	// too: an anonymous caller learns nothing about the routes.
	mux.Handle("/api/", s.api(s.apiOther))
}

// api wraps an endpoint: the rate limit first (a guessed token costs a
// request), then the bearer token.
func (s *Server) api(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !s.limits.api.allow(clientKey(r)) {
			s.Metrics.Request("api", "limited")
			w.Header().Set("Retry-After", "10")
			apiJSON(w, http.StatusTooManyRequests, apiError{"too many requests"})
			return
		}
		env := s.Env()
		if !apiAuthorized(r.Header.Get("Authorization"), env.Config.HTTP.APITokens) {
			s.Metrics.Request("api", "denied")
			w.Header().Set("WWW-Authenticate", "Bearer")
			apiJSON(w, http.StatusUnauthorized, apiError{"unauthorized"})
			return
		}
		s.Metrics.Request("api", h(w, r, env))
	})
}

// apiAuthorized reports whether header is "Bearer <token>" with one of
// tokens. The SHA-256 digests are compared, in constant time, with every
// configured token: neither the time taken nor an early return tells which
// token, or how much of one, matched. An empty token never matches, so with
// none configured nothing does.
func apiAuthorized(header string, tokens []config.Secret) bool {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return false
	}
	got := sha256.Sum256([]byte(token))
	match := 0
	for _, t := range tokens {
		if t.Reveal() == "" {
			continue
		}
		want := sha256.Sum256([]byte(t.Reveal()))
		match |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	return match == 1
}

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
}

// apiJSON writes v as the response with status.
func apiJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // only plain structs are written: cannot happen
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// apiInternal logs err and answers a 500 that says nothing about it: a
// database error can name tables, paths or hosts.
func (s *Server) apiInternal(w http.ResponseWriter, r *http.Request, err error) string {
	s.log().Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	apiJSON(w, http.StatusInternalServerError, apiError{"internal error"})
	return "error"
}

func apiBad(w http.ResponseWriter, status int, format string, args ...any) string {
	apiJSON(w, status, apiError{fmt.Sprintf(format, args...)})
	return "bad_request"
}

// apiOther answers every other path under /api/: 405 on a known path with
// the wrong method, 404 otherwise.
func (s *Server) apiOther(w http.ResponseWriter, r *http.Request, _ *jobs.Env) string {
	allow := map[string]string{"/api/v1/status": "GET, HEAD", "/api/v1/statements": "GET, HEAD", "/api/v1/entries": "POST"}
	if methods, ok := allow[r.URL.Path]; ok {
		w.Header().Set("Allow", methods)
		return apiBad(w, http.StatusMethodNotAllowed, "method %s not allowed: use %s", r.Method, methods)
	}
	apiJSON(w, http.StatusNotFound, apiError{"not found"})
	return "not_found"
}

// apiStatus serves GET /api/v1/status?month=YYYY-MM[&as_of=YYYY-MM-DD]
// [&contract=ID]: the object `retainer status --json` prints for the same
// arguments, byte for byte. As in the CLI, as_of defaults to today in the
// agency timezone and month to the period of as_of.
func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request, env *jobs.Env) string {
	cfg := env.Config
	q := r.URL.Query()
	asOf := billing.DateAt(s.Now(), cfg.Location)
	if v := q.Get("as_of"); v != "" {
		d, err := billing.ParseDate(v)
		if err != nil {
			return apiBad(w, http.StatusBadRequest, "as_of: %v", err)
		}
		asOf = d
	}
	p := asOf.Period()
	if v := q.Get("month"); v != "" {
		m, err := billing.ParsePeriod(v)
		if err != nil {
			return apiBad(w, http.StatusBadRequest, "month: %v", err)
		}
		p = m
	}
	rules := env.Rules
	if id := q.Get("contract"); id != "" {
		k := cfg.Contract(id)
		if k == nil {
			apiJSON(w, http.StatusNotFound, apiError{fmt.Sprintf("no contract %q", id)})
			return "not_found"
		}
		rules = store.NewRules([]*billing.Contract{k})
	}
	// The answer cache (web/cache.go): the same arguments under the same
	// config, data version and day are the same bytes.
	version, verr := env.DB.DataVersion(r.Context())
	gen := cacheGen{env: env, version: version, today: billing.DateAt(s.Now(), cfg.Location)}
	key := cacheKey("status", p.String(), asOf.String(), q.Get("contract"))
	if verr == nil {
		if hit, ok := s.answers.get(gen, key); ok {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write(hit.parts[0])
			return "ok"
		}
	}
	v, err := env.DB.Status(r.Context(), rules, p, asOf)
	if err != nil {
		return s.apiInternal(w, r, err)
	}
	var buf bytes.Buffer
	if err := report.StatusJSON(v, cfg.Currency, asOf).WriteJSON(&buf); err != nil {
		return s.apiInternal(w, r, err)
	}
	if verr == nil {
		s.answers.put(gen, &cached{key: key, parts: [][]byte{bytes.Clone(buf.Bytes())}})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	buf.WriteTo(w)
	return "ok"
}

// apiStatements serves GET /api/v1/statements[?contract=ID]: newest period
// first. One contract's list is whole (a statement a month). Every
// contract's list grows by one statement per contract a month, so it is
// read a page at a time: ?limit=N (1–1000, default 1000) statements after
// ?before=INVOICE (the last invoice number of the page before), each page
// one index seek however long the history (store.StatementsPage). When
// more follow, the answer carries a Link header with rel="next", the way
// paged HTTP APIs point to their next page; the body keeps its shape. A
// contract no longer in the config still has its statements.
func (s *Server) apiStatements(w http.ResponseWriter, r *http.Request, env *jobs.Env) string {
	q := r.URL.Query()
	today := billing.DateAt(s.Now(), env.Config.Location)
	var sts []store.Statement
	if id := q.Get("contract"); id != "" {
		var err error
		if sts, err = env.DB.Statements(r.Context(), id); err != nil {
			return s.apiInternal(w, r, err)
		}
	} else {
		limit := store.MaxPageSize
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > store.MaxPageSize {
				return apiBad(w, http.StatusBadRequest, "limit: want a whole number from 1 to %d, not %q", store.MaxPageSize, v)
			}
			limit = n
		}
		var after store.StatementCursor
		if v := q.Get("before"); v != "" {
			c, err := store.ParseStatementCursor(v)
			if err != nil {
				return apiBad(w, http.StatusBadRequest, "before: want the invoice number a page ended with, as its Link header gives it")
			}
			after = c
		}
		page, err := env.DB.StatementsPage(r.Context(), after, limit)
		if err != nil {
			return s.apiInternal(w, r, err)
		}
		if !page.Next.IsZero() {
			next := url.Values{"before": {page.Next.String()}}
			if q.Has("limit") {
				next.Set("limit", strconv.Itoa(limit))
			}
			w.Header().Set("Link", "</api/v1/statements?"+next.Encode()+`>; rel="next"`)
		}
		sts = page.Statements
	}
	out := struct {
		Statements []report.StatementRecord `json:"statements"`
	}{Statements: report.StatementRecords(sts, today)}
	apiJSON(w, http.StatusOK, out)
	return "ok"
}

// apiEntry is one posted time entry. Hours and Seconds are pointers so that
// "given" and "zero" differ: exactly one of them is required.
type apiEntry struct {
	ID          string  `json:"id"`
	Client      string  `json:"client"`
	Date        string  `json:"date"`
	Hours       *string `json:"hours"`
	Seconds     *int64  `json:"seconds"`
	Billable    *bool   `json:"billable"` // absent: billable, as in an import
	Project     string  `json:"project"`
	ProjectCode string  `json:"project_code"`
	Task        string  `json:"task"`
	Notes       string  `json:"notes"`
	User        string  `json:"user"`
}

// apiRejected is one invalid entry: its 0-based index in the request.
type apiRejected struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"`
}

// apiImportResult is the `import --json` object without "files".
type apiImportResult struct {
	Imported  int           `json:"imported"`
	Updated   int           `json:"updated"`
	Unchanged int           `json:"unchanged"`
	Unmatched int           `json:"unmatched"`
	Removed   int           `json:"removed"`
	Rejected  []apiRejected `json:"rejected"`
}

// apiEntries serves POST /api/v1/entries: {"entries": [...]}. Like an
// import file, the request is taken whole or not at all: every entry is
// validated first, and one invalid entry rejects the request (422, each bad
// entry listed). A valid request is one import transaction in which each
// entry is upserted by its id, so a retried request never counts an hour
// twice.
func (s *Server) apiEntries(w http.ResponseWriter, r *http.Request, env *jobs.Env) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return apiBad(w, http.StatusUnsupportedMediaType, "content type must be application/json")
	}
	var req struct {
		Entries []apiEntry `json:"entries"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return apiBodyError(w, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return apiBodyError(w, err)
		}
		return apiBad(w, http.StatusBadRequest, "body: unexpected data after the JSON object")
	}
	if req.Entries == nil {
		return apiBad(w, http.StatusBadRequest, `body: want {"entries": [...]}`)
	}
	if len(req.Entries) > maxAPIEntries {
		return apiBad(w, http.StatusRequestEntityTooLarge, "%d entries: at most %d in one request", len(req.Entries), maxAPIEntries)
	}

	out := apiImportResult{Rejected: []apiRejected{}}
	entries := make([]store.Entry, 0, len(req.Entries))
	seen := make(map[string]int, len(req.Entries))
	for i, e := range req.Entries {
		se, problems := apiValidate(e)
		if e.ID != "" {
			if j, dup := seen[e.ID]; dup {
				problems = append(problems, fmt.Sprintf("id %q: also the id of entry %d", e.ID, j))
			} else {
				seen[e.ID] = i
			}
		}
		if len(problems) > 0 {
			out.Rejected = append(out.Rejected, apiRejected{Index: i, Reason: strings.Join(problems, "; ")})
			continue
		}
		entries = append(entries, se)
	}
	if len(out.Rejected) > 0 {
		apiJSON(w, http.StatusUnprocessableEntity, out)
		return "bad_request"
	}
	if len(entries) > 0 {
		res, err := s.apiImport(r, env, entries)
		if err != nil {
			return s.apiInternal(w, r, err)
		}
		out.Imported, out.Updated, out.Unchanged, out.Unmatched = res.Imported, res.Updated, res.Unchanged, res.Unmatched
		out.Removed = res.Removed
		if s.Metrics != nil {
			s.Metrics.EntriesImported(res.Imported + res.Updated)
		}
	}
	apiJSON(w, http.StatusOK, out)
	return "ok"
}

// apiImport stores valid entries in one import transaction.
func (s *Server) apiImport(r *http.Request, env *jobs.Env, entries []store.Entry) (store.ImportResult, error) {
	im, err := env.DB.BeginImport(r.Context(), env.Rules, apiSource, s.Now())
	if err != nil {
		return store.ImportResult{}, err
	}
	defer im.Rollback()
	for i := range entries {
		env.Rules.Prepare(&entries[i])
		if err := im.Add(entries[i]); err != nil {
			return store.ImportResult{}, err
		}
	}
	return im.Commit()
}

// apiValidate checks one posted entry and returns it as a store entry, or
// every problem it has.
func apiValidate(e apiEntry) (store.Entry, []string) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	switch {
	case strings.TrimSpace(e.ID) == "":
		bad("id: required (it makes a retried request safe)")
	case len(e.ID) > maxAPIIDLen:
		bad("id: longer than %d bytes", maxAPIIDLen)
	case billing.CheckText(e.ID, false) != nil:
		bad("id: %v", billing.CheckText(e.ID, false))
	}
	// A NUL byte is refused in every text (PostgreSQL stores none); the
	// rest is cleaned as an import's rows are: names on one line without
	// bidirectional or zero-width format characters, notes without
	// control characters but their line breaks.
	for _, f := range []struct {
		name string
		v    *string
	}{{"client", &e.Client}, {"project", &e.Project}, {"project_code", &e.ProjectCode}, {"task", &e.Task}, {"user", &e.User}, {"notes", &e.Notes}} {
		if strings.IndexByte(*f.v, 0) >= 0 {
			bad("%s: %v", f.name, billing.ErrNUL)
		} else if f.name == "notes" {
			*f.v = billing.CleanNotes(*f.v)
		} else {
			*f.v = billing.CleanName(*f.v)
		}
	}
	var date billing.Date
	if e.Date == "" {
		bad("date: required (YYYY-MM-DD)")
	} else if d, err := billing.ParseDate(e.Date); err != nil {
		bad("date: %v", err)
	} else {
		date = d
	}
	var secs int64
	switch {
	case e.Hours != nil && e.Seconds != nil:
		bad("give hours or seconds, not both")
	case e.Hours != nil:
		// At most a month of hours (billing.MaxEntryHours), as `retainer
		// log` takes: more is a typing mistake, and the bound keeps sums
		// over a whole request far from overflowing.
		n, err := billing.ParseAmount(*e.Hours)
		switch {
		case err != nil:
			bad("hours: %v", err)
		case n <= 0:
			bad("hours %q: must be more than zero", *e.Hours)
		case billing.CheckHours(n) != nil:
			bad("hours %q: %v", *e.Hours, billing.CheckHours(n))
		}
		secs = n
	case e.Seconds != nil:
		switch n := *e.Seconds; {
		case n <= 0:
			bad("seconds %d: must be more than zero", n)
		case billing.CheckHours(n) != nil:
			bad("seconds %d: %v", n, billing.CheckHours(n))
		}
		secs = *e.Seconds
	default:
		bad("hours or seconds: required")
	}
	billable := true
	if e.Billable != nil {
		billable = *e.Billable
	}
	return store.Entry{
		Source: apiSource, ExternalID: e.ID, Date: date, Seconds: secs, Billable: billable,
		Client: e.Client, Project: e.Project, ProjectCode: e.ProjectCode, Task: e.Task, Notes: e.Notes, User: e.User,
	}, problems
}

// apiBodyError answers a body that could not be decoded: 413 past the size
// limit, 400 otherwise, naming the JSON problem but nothing internal.
func apiBodyError(w http.ResponseWriter, err error) string {
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return apiBad(w, http.StatusRequestEntityTooLarge, "body: larger than %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return apiBad(w, http.StatusBadRequest, `body: empty; want {"entries": [...]}`)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apiBad(w, http.StatusBadRequest, "body: the JSON ends too early")
	case errors.As(err, &syntax):
		return apiBad(w, http.StatusBadRequest, "body: invalid JSON at byte %d: %v", syntax.Offset, syntax)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return apiBad(w, http.StatusBadRequest, "%s: want %s, not a JSON %s", field, apiKind(typ.Type), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return apiBad(w, http.StatusBadRequest, "body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return apiBad(w, http.StatusBadRequest, "body: invalid JSON")
}

// apiKind names what a field of the request holds, for a type error.
func apiKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Slice:
		return "an array"
	case reflect.Struct:
		return "an object"
	}
	return "another value"
}
