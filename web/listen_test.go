package web

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (127.0.0.0/8 is all loopback on Linux), as if from another
// machine.
func clientFrom(ip string) *http.Client {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Jar: jar, Transport: &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Guesses spread over many addresses share one budget: 40 addresses, one
// guess each, get 30 answers and then 429s, although no address is over
// its own limit.
func TestLoginBudgetAcrossAddresses(t *testing.T) {
	f := newFixture(t)
	var limited, denied int
	for i := 0; i < 40; i++ {
		c := clientFrom("127.0.0." + strconv.Itoa(10+i))
		form := dashGet(t, f, c, "/login")
		resp := dashPost(t, f, c, "/login", url.Values{"csrf": {dashCSRF(t, form.body)}, "password": {"guess"}})
		switch resp.StatusCode {
		case http.StatusTooManyRequests:
			limited++
		case http.StatusUnauthorized:
			denied++
		default:
			t.Fatalf("guess %d: %d", i, resp.StatusCode)
		}
	}
	if denied != 30 || limited != 10 {
		t.Errorf("%d guesses answered, %d limited; want 30 and 10", denied, limited)
	}
	f.advance(2 * time.Second) // the shared budget refills one try every 2 s
	c := clientFrom("127.0.0.99")
	if resp := dashLogin(t, f, c, testPassword, ""); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the right password after 2 s: %d", resp.StatusCode)
	}
}

// A slow client — headers that never end, a body that never comes, a
// keep-alive connection left idle — is closed by its timeout; and past the
// connection cap, new clients wait rather than take every descriptor.
func TestHTTPTimeouts(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok\n")
	})
	srv := NewHTTPServer(h, Timeouts{ReadHeader: 200 * time.Millisecond, Read: 400 * time.Millisecond, Write: time.Second, Idle: 300 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(LimitListener(ln, 4))
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	closedWithin := func(name, send string, within time.Duration) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, send); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(within))
		start := time.Now()
		_, err = io.ReadAll(c) // returns when the server closes the connection
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: still open after %v", name, within)
			return
		}
		t.Logf("%s: closed after %v", name, time.Since(start).Round(time.Millisecond))
	}
	closedWithin("unfinished headers", "GET / HTTP/1.1\r\nHost: x\r\n", 3*time.Second)
	closedWithin("a body that never comes", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789", 3*time.Second)

	// Idle keep-alive: one request answered, then the connection is closed.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("keep-alive request: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("idle keep-alive connection: %v, want closed (EOF)", err)
	}

	// Four idle clients fill the cap; a fifth is served once their idle
	// timeout frees a place, not refused and not left hanging.
	for i := 0; i < 4; i++ {
		idle, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
		io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	r, err := hc.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("past the cap: %v", err)
	}
	r.Body.Close()
}
