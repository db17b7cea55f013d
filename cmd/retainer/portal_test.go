package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"retainer/billing"
	"retainer/store"
)

func TestPortalLink(t *testing.T) {
	e := newEnv(t)
	link := regexp.MustCompile(`^http://127\.0\.0\.1:8080/p/([A-Za-z0-9_-]{43})\nAny earlier portal link for acme-001 no longer works\.\n$`)

	first := e.must("portal", "link", "acme-001")
	m1 := link.FindStringSubmatch(first)
	if m1 == nil {
		t.Fatalf("output %q does not match %v", first, link)
	}
	second := e.must("portal", "--config", filepath.Join(e.dir, "retainer.yaml"), "link", "acme-001")
	m2 := link.FindStringSubmatch(second)
	if m2 == nil {
		t.Fatalf("output %q does not match %v", second, link)
	}
	if m1[1] == m2[1] {
		t.Fatal("a second link repeats the first")
	}

	// The second link works; the first no longer does.
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(e.dir, "retainer.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if a, err := db.OpenPortal(ctx, m2[1], billing.DateAt(e.now, time.UTC)); err != nil || a.Contract != "acme-001" {
		t.Errorf("new token: %+v, %v", a, err)
	}
	if _, err := db.OpenPortal(ctx, m1[1], billing.DateAt(e.now, time.UTC)); err == nil {
		t.Error("the rotated token still works")
	}

	// A trailing slash on base_url makes no double slash.
	e.extra = []string{"RETAINER_HTTP__BASE_URL=https://portal.example/"}
	if out := e.must("portal", "link", "globex-002"); !strings.HasPrefix(out, "https://portal.example/p/") {
		t.Errorf("output %q", out)
	}
}

func TestPortalLinkErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"portal"}, exitUsage, "want: portal link CONTRACT_ID"},
		{[]string{"portal", "link"}, exitUsage, "want: portal link CONTRACT_ID"},
		{[]string{"portal", "acme-001"}, exitUsage, "want: portal link CONTRACT_ID"},
		{[]string{"portal", "unlink", "acme-001"}, exitUsage, "want: portal link CONTRACT_ID"},
		{[]string{"portal", "link", "acme-001", "extra"}, exitUsage, "want: portal link CONTRACT_ID"},
		{[]string{"portal", "link", "nope"}, exitUsage, `no contract "nope"`}, // as status and log
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, stderr := e.run(tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.stderr)
			}
			if strings.Contains(out, "/p/") {
				t.Errorf("printed a link: %q", out)
			}
		})
	}
}

func TestPasswordHash(t *testing.T) {
	var out, errb bytes.Buffer
	a := &invocation{stdin: strings.NewReader("s3cret-demo\n"), stdout: &out, stderr: &errb, now: time.Now}
	if code := a.run(context.Background(), []string{"password-hash"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	hash := strings.TrimSpace(out.String())
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("s3cret-demo")); err != nil {
		t.Errorf("%q does not check: %v", hash, err)
	}
	a = &invocation{stdin: strings.NewReader("short\n"), stdout: &out, stderr: &errb, now: time.Now}
	if code := a.run(context.Background(), []string{"password-hash"}); code != exitUsage {
		t.Errorf("a short password: exit %d", code)
	}
}
