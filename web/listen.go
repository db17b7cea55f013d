package web

import (
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// Timeouts bound how long a client may hold a connection: a slow or idle
// client is closed instead of holding a descriptor the daemon's jobs and
// database need.
type Timeouts struct {
	ReadHeader time.Duration // the request line and headers
	Read       time.Duration // the whole request, body included (API batches up to 8 MiB)
	Write      time.Duration // the response
	Idle       time.Duration // a keep-alive connection between requests
}

// DefaultTimeouts are the daemon's.
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: 60 * time.Second, Write: 60 * time.Second, Idle: 60 * time.Second}

// maxHeaderBytes is far above what a browser or an API client sends.
const maxHeaderBytes = 64 << 10

// NewHTTPServer is the daemon's HTTP server for h, with t's timeouts.
func NewHTTPServer(h http.Handler, t Timeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// LimitListener accepts at most n connections at once; the rest wait in
// the kernel's backlog until one closes, so clients can never take every
// descriptor the process has.
func LimitListener(l net.Listener, n int) net.Listener {
	if n <= 0 {
		return l
	}
	return netutil.LimitListener(l, n)
}
