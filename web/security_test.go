package web

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// wantSecureHeaders checks the headers every response carries.
func wantSecureHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", what, csp, d)
		}
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe-") {
		t.Errorf("%s: Content-Security-Policy %q allows scripts", what, csp)
	}
	for name, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s = %q, want %q", what, name, got, want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		method, path string
		auth         string
	}{
		{"GET", "/healthz", ""},
		{"GET", "/no/such/page", ""},
		{"GET", "/p/00000000000000000000000000000000", ""},
		{"GET", "/p/", ""},
		{"GET", "/static/app.css", ""},
		{"GET", "/static/../go.mod", ""},
		{"GET", "/api/v1/status", ""},
		{"GET", "/api/v1/status", apiBearer},
		{"POST", "/api/v1/entries", apiBearer},
		{"GET", "/metrics", ""},
	} {
		resp, _ := apiCall(t, f, tc.method, tc.path, tc.auth, "application/json", "{}")
		what := tc.method + " " + tc.path + " (" + strconv.Itoa(resp.StatusCode) + ")"
		wantSecureHeaders(t, what, resp.Header)
		if hsts := resp.Header.Get("Strict-Transport-Security"); hsts != "" {
			t.Errorf("%s: Strict-Transport-Security %q over plain HTTP", what, hsts)
		}
	}
}

func TestSecurityHSTS(t *testing.T) {
	h := (&Server{DB: upDB{}}).Handler()
	tls := httptest.NewTLSServer(h)
	defer tls.Close()
	resp, err := tls.Client().Get(tls.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("over TLS: Strict-Transport-Security %q", got)
	}
	wantSecureHeaders(t, "TLS /healthz", resp.Header)

	plain := httptest.NewServer(h)
	defer plain.Close()
	resp, _ = get(t, plain.URL+"/healthz")
	if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("plain HTTP: Strict-Transport-Security %q", got)
	}
}

func TestSecurityPanic(t *testing.T) {
	logs := &logBuffer{}
	s := &Server{Log: slog.New(slog.NewTextHandler(logs, nil))}
	mux := http.NewServeMux()
	mux.HandleFunc("/boom", func(http.ResponseWriter, *http.Request) {
		panic("secret panic value: db password hunter2")
	})
	mux.HandleFunc("/p/{token}", func(http.ResponseWriter, *http.Request) {
		panic(errors.New("portal went wrong"))
	})
	mux.HandleFunc("/abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	srv := httptest.NewServer(s.secure(mux))
	defer srv.Close()

	for _, path := range []string{"/boom", "/p/portal-token-0123456789"} {
		resp, body := get(t, srv.URL+path)
		if resp.StatusCode != http.StatusInternalServerError || body != "internal error\n" {
			t.Errorf("%s: %d %q, want 500 %q", path, resp.StatusCode, body, "internal error\n")
		}
		wantSecureHeaders(t, path, resp.Header)
	}
	out := logs.String()
	for _, want := range []string{
		"http handler panic", "secret panic value", "portal went wrong",
		"path=/boom", "path=/p/…", // a portal token never reaches the log
		"goroutine ", "security_test.go", // the stack
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "portal-token-0123456789") {
		t.Errorf("the log shows a portal token:\n%s", out)
	}

	// http.ErrAbortHandler is the server's own signal to drop the
	// connection: passed on, not turned into a 500.
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("abort: recovered %v, want http.ErrAbortHandler", p)
			}
		}()
		s.secure(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/abort", nil))
	}()
}

func TestSecurityBodyLimit(t *testing.T) {
	s := &Server{}
	h := s.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "too big", http.StatusRequestEntityTooLarge)
			return
		}
		io.WriteString(w, strconv.FormatInt(n, 10))
	}))
	for _, tc := range []struct {
		path string
		size int
		want int
	}{
		{"/login", maxBody, 200},
		{"/login", maxBody + 1, 413},
		{"/api/v1/status", maxBody + 1, 413},
		{"/api/v1/entries", maxEntriesBody, 200},
		{"/api/v1/entries", maxEntriesBody + 1, 413},
		{"/api/v1/entries/", maxBody + 1, 413}, // only the exact path may send more
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", tc.path, strings.NewReader(strings.Repeat("x", tc.size))))
		if rec.Code != tc.want {
			t.Errorf("POST %s with %d bytes: %d, want %d", tc.path, tc.size, rec.Code, tc.want)
		}
	}
}
