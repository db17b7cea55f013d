// Package web serves retainer's HTTP on one server: the operator endpoints
// /healthz and /metrics, the client portal /p/<token>, the agency dashboard
// behind a login, and the JSON API /api/v1/ behind bearer tokens.
//
// Pages are html/template files embedded from templates/web (each
// overridable from templates_dir/web, parsed with the config), drawn from
// the same store and billing figures as the CLI and the statements, and
// work without JavaScript.
package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"retainer/jobs"
)

// pingTimeout bounds the database check of one /healthz request.
const pingTimeout = 2 * time.Second

// Pinger is the database, for /healthz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Server is the HTTP server's handler set.
type Server struct {
	DB      Pinger
	Metrics *Metrics     // nil: /metrics is 404
	Log     *slog.Logger // nil: slog.Default()

	// Env returns the config in force and the store (it changes on a
	// reload). Nil: only /healthz and /metrics are served.
	Env func() *jobs.Env
	// Now is the clock of every page and of the rate limits.
	Now func() time.Time
	// PageSize is how many rows a page of a history list (the dashboard's
	// statements and outbox) shows; 0 means dashPageSize.
	PageSize int

	limits  *limits
	answers *answerCache
}

// Handler routes every endpoint, behind the security middleware (headers,
// request size limits, panics turned into a plain 500).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics.handler(s.log()))
	}
	if s.Env != nil {
		if s.Now == nil {
			s.Now = time.Now
		}
		s.limits = newLimits(s.Now)
		s.answers = newAnswerCache(cacheMaxBytes)
		mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(s.serveStatic)))
		s.portalRoutes(mux)
		s.dashboardRoutes(mux)
		s.apiRoutes(mux)
		s.webhookRoutes(mux)
	}
	return s.secure(mux)
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// healthz answers 200 when the database answers within pingTimeout, 503
// otherwise. The error goes to the log only: the endpoint is often public to
// a load balancer, and a driver error can name paths or hosts.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), pingTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.DB.Ping(ctx); err != nil {
		s.log().Warn("healthz: database unavailable", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "database unavailable\n")
		return
	}
	io.WriteString(w, "ok\n")
}
