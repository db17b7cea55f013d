package web

import (
	"fmt"
	"net/http"
	"runtime/debug"
)

// maxBody bounds every request body; the API's entries endpoint allows more.
const (
	maxBody        = 64 << 10
	maxEntriesBody = 8 << 20
)

// secure wraps every response: security headers, a bounded body, and a
// panic turned into a plain 500 (the stack goes to the log, never to the
// client).
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Pages use only their own stylesheet and inline SVG; no script runs.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// A portal URL is a credential: never send it on in a Referer.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		limit := int64(maxBody)
		if r.URL.Path == "/api/v1/entries" {
			limit = maxEntriesBody
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log().Error("http handler panic", "method", r.Method, "path", redactPath(r.URL.Path),
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// redactPath hides a portal token in a logged path.
func redactPath(p string) string {
	if len(p) > 3 && p[:3] == "/p/" {
		return "/p/…"
	}
	return p
}
