package web

import "net/http"

// portalRoutes registers the client portal.
func (s *Server) portalRoutes(mux *http.ServeMux) {}
