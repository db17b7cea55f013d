package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"
)

// browserContext starts Debian's headless Chromium for one test. Without
// it the test skips, saying how to install it; in CI (CI=true) it fails,
// since .ci/run installs it.
func browserContext(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed; .ci/run installs it (apt-get install chromium)")
		}
		t.Skip("no chromium: install Debian's with `sudo apt-get install chromium` to run the browser test")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in CI
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// screenshotDir is where the browser test leaves its PNG screenshots:
// $RETAINER_TEST_SCREENSHOTS, or a directory under the system's temp dir.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("RETAINER_TEST_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "retainer-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func saveScreenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// TestBrowser drives the real daemon with a real browser: a client opens
// their portal link and reads their remaining hours off the page; the
// agency logs in and switches the dashboard's month.
func TestBrowser(t *testing.T) {
	ctx := browserContext(t)
	e := newEnv(t)
	e.now = daemonClock // where the daemon's clock starts
	addr := freePort(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-demo"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	e.extra = []string{"RETAINER_HTTP__LISTEN=" + addr, "RETAINER_HTTP__BASE_URL=" + base,
		"RETAINER_HTTP__ADMIN_PASSWORD_HASH=" + string(hash), "RETAINER_SCHEDULE__DISPATCH="}
	today := e.now.Format("2006-01-02")
	e.must("log", "acme-001", "12.5", "--date", today)
	link := strings.TrimSpace(strings.SplitN(e.must("portal", "link", "acme-001"), "\n", 2)[0])
	if !strings.HasPrefix(link, base+"/p/") {
		t.Fatalf("portal link %q", link)
	}
	var st struct {
		Contracts []struct {
			Remaining float64 `json:"hours_remaining"`
		} `json:"contracts"`
	}
	if err := json.Unmarshal([]byte(e.must("status", "acme-001", "--json")), &st); err != nil || len(st.Contracts) != 1 {
		t.Fatalf("status: %v", err)
	}
	d := startDaemon(t, filepath.Join(e.dir, "retainer.yaml"), e.extra...)
	d.waitFor(0, "catch-up done")
	shots := screenshotDir(t)

	// The client's portal: the remaining hours, as status computes them.
	if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#remaining"))); err != nil {
		t.Fatal(err)
	}
	remaining, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#remaining")))
	if err != nil {
		t.Fatal(err)
	}
	if want := formatHours(st.Contracts[0].Remaining); strings.TrimSpace(remaining) != want {
		t.Errorf("portal shows %q remaining, want %q", remaining, want)
	}
	saveScreenshot(t, ctx, shots, "portal.png")

	// On a phone: nothing wider than the screen; and it prints.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844), chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#remaining"))); err != nil {
		t.Fatal(err)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if width > 390 {
		t.Errorf("the portal is %d px wide on a 390 px phone", width)
	}
	saveScreenshot(t, ctx, shots, "portal-phone.png")
	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF())
	if err != nil || !strings.HasPrefix(string(pdf), "%PDF") {
		t.Fatalf("print: %v", err)
	}
	if err := os.WriteFile(filepath.Join(shots, "portal.pdf"), pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}

	// The agency: log in, see this month, switch to the previous one.
	browserLogin(t, ctx, base+"/", "s3cret-demo")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#tracker"))); err != nil {
		t.Fatal(err)
	}
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil {
		t.Fatal(err)
	}
	saveScreenshot(t, ctx, shots, "dashboard.png")
	prev := e.now.AddDate(0, -1, 0).Format("2006-01")
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("input[name=month]"), prev)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Submit(chromedp.CSS("input[name=month]"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#tracker"))); err != nil {
		t.Fatal(err)
	}
	heading2, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil {
		t.Fatal(err)
	}
	saveScreenshot(t, ctx, shots, "dashboard-previous-month.png")
	if heading == heading2 || !strings.Contains(heading2, monthName(prev)) {
		t.Errorf("month switch: %q then %q, want %s", heading, heading2, monthName(prev))
	}
}

// browserLogin opens url, which sends the browser to the login form, and
// logs in with password.
func browserLogin(t *testing.T, ctx context.Context, url, password string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("input[name=password]")),
		chromedp.SendKeys(chromedp.CSS("input[name=password]"), password)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Submit(chromedp.CSS("input[name=password]"))); err != nil {
		t.Fatal(err)
	}
}

// formatHours writes hours as the pages do: two decimals.
func formatHours(h float64) string { return fmt.Sprintf("%.2f", h) }

// monthName is how pages title a month: "October 2026".
func monthName(yyyymm string) string {
	t, err := time.Parse("2006-01", yyyymm)
	if err != nil {
		return yyyymm
	}
	return t.Format("January 2006")
}
