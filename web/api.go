package web

import "net/http"

// apiRoutes registers the JSON API.
func (s *Server) apiRoutes(mux *http.ServeMux) {}
