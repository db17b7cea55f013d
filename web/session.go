package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"retainer/billing"
	"retainer/jobs"
	"retainer/store"
)

// The dashboard's login. The agency has one admin password, kept as a
// bcrypt hash in http.admin_password_hash; with none the dashboard is off
// and every one of its routes is the mux's plain 404.
//
// A login starts a session: the cookie holds a random id and the store only
// its SHA-256, with the session's CSRF token that every form echoes back.
// Sessions last sessionTTL from the login; changing the password hash does
// not end them (log out, or delete the sessions rows, to do that).

const (
	sessionCookie = "retainer_session"
	// sessionTTL is how long a login lasts: a working day, not a month.
	sessionTTL = 12 * time.Hour

	// loginCSRFCookie holds the login form's double-submit token: a
	// SameSite=Strict cookie that a cross-site POST to /login does not carry.
	loginCSRFCookie = "retainer_login_csrf"
	loginCSRFTTL    = time.Hour

	// loginTokenBytes is the randomness of a login form token.
	loginTokenBytes = 32
	// maxBcryptPassword: bcrypt reads only the first 72 bytes, so a longer
	// password is refused rather than silently truncated.
	maxBcryptPassword = 72
)

// adminRequest is what a dashboard handler gets once the request has a valid
// session: one config and store for the whole request (a reload may swap
// them meanwhile), the session's CSRF token and the request's clock.
type adminRequest struct {
	env   *jobs.Env
	csrf  string
	now   time.Time
	today billing.Date // in the agency timezone
}

// page returns the layout fields of a dashboard page.
func (a *adminRequest) page(title string, data any) page {
	return page{Title: title, Agency: a.env.Config.Agency.Name, Admin: true, CSRF: a.csrf, Data: data}
}

// dashboardEnv returns the config and store in force, or nil when the
// dashboard is off (no admin password hash configured).
func (s *Server) dashboardEnv() *jobs.Env {
	env := s.Env()
	if env == nil || env.Config == nil || env.Config.HTTP.AdminPasswordHash.Reveal() == "" {
		return nil
	}
	return env
}

// adminSession returns the id and CSRF token of the request's session, or
// store.ErrNotFound when it has none that is valid at now.
func (s *Server) adminSession(r *http.Request, env *jobs.Env, now time.Time) (id, csrf string, err error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return "", "", store.ErrNotFound
	}
	csrf, err = env.DB.Session(r.Context(), c.Value, now)
	if err != nil {
		return "", "", err
	}
	return c.Value, csrf, nil
}

// requireAdmin wraps a dashboard handler: a plain 404 when the dashboard is
// off; without a valid session a GET is sent to the login form (and comes
// back after it) and anything else is refused with 403; a POST must carry
// the session's CSRF token in its csrf form field, else 403.
func (s *Server) requireAdmin(h func(http.ResponseWriter, *http.Request, *adminRequest)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		env := s.dashboardEnv()
		if env == nil {
			http.NotFound(w, r)
			return
		}
		now := s.Now()
		_, csrf, err := s.adminSession(r, env, now)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if _, cerr := r.Cookie(sessionCookie); cerr == nil {
				clearDashCookie(w, r, env, sessionCookie, "/")
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "forbidden: log in again", http.StatusForbidden)
			return
		case err != nil:
			s.log().Error("dashboard session", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		if r.Method == http.MethodPost && !s.csrfOK(w, r, csrf) {
			return
		}
		h(w, r, &adminRequest{env: env, csrf: csrf, now: now, today: billing.DateAt(now, env.Config.Location)})
	}
}

// csrfOK parses a POST's form and checks its csrf field against want; when
// it does not match it answers 400 or 403 and returns false.
func (s *Server) csrfOK(w http.ResponseWriter, r *http.Request, want string) bool {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return false
	}
	if !csrfEqual(want, r.PostForm.Get("csrf")) {
		http.Error(w, "forbidden: the form is stale or came from another site; reload the page", http.StatusForbidden)
		return false
	}
	return true
}

// csrfEqual compares two tokens in constant time; an empty one never
// matches.
func csrfEqual(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// loginView is the login form's Data.
type loginView struct {
	Next  string // where to go after the login: a local path
	Error string
}

// loginForm shows the login form, with a fresh double-submit token (or the
// one the browser already holds, so two open login tabs both work). A
// browser that is logged in already goes straight on.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	env := s.dashboardEnv()
	if env == nil {
		http.NotFound(w, r)
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	if _, _, err := s.adminSession(r, env, s.Now()); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	token := ""
	if c, err := r.Cookie(loginCSRFCookie); err == nil && validLoginToken(c.Value) {
		token = c.Value
	} else if token, err = newLoginToken(); err != nil {
		s.log().Error("login form", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	setLoginCSRF(w, r, env, token)
	s.showLogin(w, env, http.StatusOK, token, next, "")
}

func (s *Server) showLogin(w http.ResponseWriter, env *jobs.Env, status int, token, next, msg string) {
	s.render(w, status, "login.html.tmpl", page{Title: "Log in", Agency: env.Config.Agency.Name, CSRF: token,
		Data: loginView{Next: next, Error: msg}})
}

// login checks the admin password. Every try costs a token of the login
// rate limit, and bcrypt runs for every well-formed try, so a wrong
// password and a right one take the same path until the comparison.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	env := s.dashboardEnv()
	if env == nil {
		http.NotFound(w, r)
		return
	}
	if !s.limits.login.allow(clientKey(r)) || !s.limits.loginAll.allow(loginAllKey) {
		s.Metrics.Request("login", "limited")
		tooMany(w)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.Metrics.Request("login", "bad_request")
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	token := r.PostForm.Get("csrf")
	if c, err := r.Cookie(loginCSRFCookie); err != nil || !validLoginToken(c.Value) || !csrfEqual(c.Value, token) {
		// A cross-site POST, or a form left open past loginCSRFTTL: no
		// password is looked at. A fresh form lets a person try again; a
		// forging site cannot read its token.
		s.Metrics.Request("login", "denied")
		fresh, err := newLoginToken()
		if err != nil {
			s.log().Error("login form", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		setLoginCSRF(w, r, env, fresh)
		s.showLogin(w, env, http.StatusForbidden, fresh, next, "The form had expired. Enter the password again.")
		return
	}
	password := r.PostForm.Get("password")
	select { // one bcrypt at a time
	case s.limits.bcrypt <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	err := bcrypt.CompareHashAndPassword([]byte(env.Config.HTTP.AdminPasswordHash.Reveal()), []byte(password))
	<-s.limits.bcrypt
	if err != nil || len(password) > maxBcryptPassword {
		if err != nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			s.log().Error("login: the admin password hash is unusable", "err", err)
		}
		s.log().Warn("dashboard login refused", "client", clientKey(r))
		s.Metrics.Request("login", "denied")
		s.showLogin(w, env, http.StatusUnauthorized, token, next, "That password is not right.")
		return
	}
	now := s.Now()
	id, _, err := env.DB.CreateSession(r.Context(), now, sessionTTL)
	if err != nil {
		s.log().Error("dashboard login", "err", err)
		s.Metrics.Request("login", "error")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// A new id at every login: a session cookie planted before it is
	// never promoted. The old session, if any, ends.
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := env.DB.DeleteSession(r.Context(), c.Value); err != nil {
			s.log().Warn("dashboard login: end the previous session", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", MaxAge: int(sessionTTL / time.Second),
		HttpOnly: true, Secure: dashSecureCookie(r, env), SameSite: http.SameSiteLaxMode})
	clearDashCookie(w, r, env, loginCSRFCookie, "/login")
	s.log().Info("dashboard login", "client", clientKey(r))
	s.Metrics.Request("login", "ok")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session and clears its cookie. It needs the session's
// CSRF token like every POST; with no valid session there is nothing to
// end, and the browser is sent to the login form.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	env := s.dashboardEnv()
	if env == nil {
		http.NotFound(w, r)
		return
	}
	id, csrf, err := s.adminSession(r, env, s.Now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		clearDashCookie(w, r, env, sessionCookie, "/")
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	case err != nil:
		s.log().Error("dashboard logout", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if !s.csrfOK(w, r, csrf) {
		return
	}
	if err := env.DB.DeleteSession(r.Context(), id); err != nil {
		s.log().Error("dashboard logout", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	clearDashCookie(w, r, env, sessionCookie, "/")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// The session cookie is SameSite=Lax rather than Strict: a link to the
// dashboard followed from Slack or an email arrives logged in, and Lax still
// keeps the cookie off cross-site POSTs and embedded requests. Every POST
// is CSRF-checked besides, and no GET changes anything.

// dashSecureCookie reports whether cookies are marked Secure: the request came
// over TLS, or the server is published under https (behind a proxy).
func dashSecureCookie(r *http.Request, env *jobs.Env) bool {
	return r.TLS != nil || strings.HasPrefix(env.Config.HTTP.BaseURL, "https://")
}

func setLoginCSRF(w http.ResponseWriter, r *http.Request, env *jobs.Env, token string) {
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: token, Path: "/login", MaxAge: int(loginCSRFTTL / time.Second),
		HttpOnly: true, Secure: dashSecureCookie(r, env), SameSite: http.SameSiteStrictMode})
}

// clearDashCookie tells the browser to drop cookie name (set on path).
func clearDashCookie(w http.ResponseWriter, r *http.Request, env *jobs.Env, name, path string) {
	same := http.SameSiteLaxMode
	if name == loginCSRFCookie {
		same = http.SameSiteStrictMode
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, Secure: dashSecureCookie(r, env), SameSite: same})
}

// newLoginToken returns loginTokenBytes random bytes as unpadded base64url.
func newLoginToken() (string, error) {
	b := make([]byte, loginTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// validLoginToken reports whether s has the shape newLoginToken gives.
func validLoginToken(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == loginTokenBytes
}

// safeNext returns next when it is a path on this server ("/…", not
// "//host" nor "/\host", which browsers read as another site), else "/".
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || len(next) > 2048 {
		return "/"
	}
	for _, c := range []byte(next) {
		if c == '\\' || c < 0x20 || c == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}
