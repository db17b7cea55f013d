package web

import "net/http"

// dashboardRoutes registers the agency dashboard and its login.
func (s *Server) dashboardRoutes(mux *http.ServeMux) {}
