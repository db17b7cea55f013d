// Package web serves retainer's HTTP: the operator endpoints /healthz and
// /metrics (the client portal and agency dashboard will join them on the same
// server).
package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"
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
}

// Handler routes /healthz and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics.handler(s.log()))
	}
	return mux
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
