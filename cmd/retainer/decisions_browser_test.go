package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"
)

// TestBrowserDecisions drives the real daemon with a real browser: a
// client approves an overage and asks for a retainer change on their
// portal, and the agency's email says so a few seconds later; a replayed
// form, another contract's form token and a form posted from contract B's
// portal to A's are refused and record nothing; the agency sees both
// decisions on the dashboard. The portal fits a phone and a laptop screen
// without scrolling sideways.
func TestBrowserDecisions(t *testing.T) {
	ctx := browserContext(t)
	e := newEnv(t)
	e.now = daemonClock
	addr := freePort(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-demo"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	e.extra = []string{"RETAINER_HTTP__LISTEN=" + addr, "RETAINER_HTTP__BASE_URL=" + base,
		"RETAINER_HTTP__ADMIN_PASSWORD_HASH=" + string(hash), "RETAINER_SCHEDULE__DISPATCH=@every 1s"}
	today := e.now.In(mustZone(t, "America/New_York")).Format("2006-01-02")
	e.must("log", "acme-001", "36", "--date", today) // 90% of 40 h
	linkA := strings.TrimSpace(strings.SplitN(e.must("portal", "link", "acme-001"), "\n", 2)[0])
	linkB := strings.TrimSpace(strings.SplitN(e.must("portal", "link", "globex-002"), "\n", 2)[0])
	d := startDaemon(t, filepath.Join(e.dir, "retainer.yaml"), e.extra...)
	d.waitFor(0, "catch-up done")
	shots := screenshotDir(t)

	// A decision is posted by filling a form and submitting it; the answer
	// is the page the browser lands on.
	submit := func(form string, fields map[string]string) int64 {
		t.Helper()
		var steps []chromedp.Action[chromedp.Void]
		for sel, v := range fields {
			steps = append(steps, chromedp.SetValue(chromedp.CSS("#"+form+" "+sel), v))
		}
		steps = append(steps, chromedp.Submit(chromedp.CSS("#"+form+" button")))
		resp, err := chromedp.RunResponse(ctx, steps...)
		if err != nil {
			t.Fatalf("submit %s: %v", form, err)
		}
		return resp.Status
	}
	open := func(link string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#approve-overage"))); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	csrf := func(form string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#"+form+" input[name=csrf]")))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	decisionsOfA := func() string {
		t.Helper()
		open(linkA)
		return text("#decision-list")
	}

	// The client approves 5 overage hours, then asks for 60 hours a month.
	open(linkA)
	saveScreenshot(t, ctx, shots, "portal-decisions.png")
	noSideways(t, ctx, 1280)
	if status := submit("approve-overage", map[string]string{"input[name=hours]": "5"}); status != 200 {
		t.Fatalf("approve: landed on a %d", status)
	}
	if status := submit("request-change", map[string]string{"input[name=hours]": "60", "textarea[name=message]": "More hours for the launch in December."}); status != 200 {
		t.Fatalf("change: landed on a %d", status)
	}
	got := text("#decision-list")
	for _, want := range []string{
		"Overage up to 5.00 h approved on " + today,
		"Retainer change requested on " + today + ": 60.00 h a month instead of 40.00 h: “More hours for the launch in December.”",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the portal's decisions lack %q:\n%s", want, got)
		}
	}
	if approval := text("#approval"); !strings.Contains(approval, "Overage approved up to 5.00 h") {
		t.Errorf("approval: %q", approval)
	}
	saveScreenshot(t, ctx, shots, "portal-decided.png")

	// The agency is told within seconds (the file transport stands in for
	// its email here).
	waitForFile(t, filepath.Join(e.dir, "outbox", "decision_acme-001_"+today[:7]+"_1.eml"), "Overage up to 5.00 h approved on "+today)
	waitForFile(t, filepath.Join(e.dir, "outbox", "decision_acme-001_"+today[:7]+"_2.eml"), "60.00 h a month instead of 40.00 h")

	// A replayed form: the pause form posted, then posted again with the
	// same token.
	open(linkA)
	used := csrf("pause")
	if status := submit("pause", nil); status != 200 {
		t.Fatalf("pause: landed on a %d", status)
	}
	open(linkA)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector("#pause input[name=csrf]").value = %q`, used))); err != nil {
		t.Fatal(err)
	}
	if status := submit("pause", nil); status != 409 {
		t.Errorf("a replayed form: %d, want 409", status)
	}
	if !strings.Contains(text("body"), "That form was sent already") {
		t.Error("the replay's answer does not say why")
	}

	// Contract A's form token on B's portal, and B's form posted to A's.
	open(linkA)
	tokenA := csrf("approve-overage")
	open(linkB)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector("#approve-overage").action = %q; document.querySelector("#approve-overage input[name=csrf]").value = %q`,
		linkB+"/approve-overage", tokenA))); err != nil {
		t.Fatal(err)
	}
	if status := submit("approve-overage", map[string]string{"input[name=hours]": "77"}); status != 403 {
		t.Errorf("A's token on B's portal: %d, want 403", status)
	}
	open(linkB)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector("#approve-overage").action = %q`, linkA+"/approve-overage"))); err != nil {
		t.Fatal(err)
	}
	if status := submit("approve-overage", map[string]string{"input[name=hours]": "88"}); status != 403 {
		t.Errorf("B's form posted to A's portal: %d, want 403", status)
	}
	got = decisionsOfA()
	if n := strings.Count(got, "approved on"); n != 1 || strings.Contains(got, "77") || strings.Contains(got, "88") || strings.Count(got, "Pause") != 1 {
		t.Errorf("after the refused posts, A's decisions are:\n%s", got)
	}
	open(linkB)
	if got := text("#decision-list"); !strings.Contains(got, "No decisions yet") {
		t.Errorf("B's decisions: %q", got)
	}

	// On a phone: nothing wider than the screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	open(linkA)
	noSideways(t, ctx, 390)
	saveScreenshot(t, ctx, shots, "portal-decisions-phone.png")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}

	// The agency sees both decisions on the dashboard.
	browserLogin(t, ctx, base+"/", "s3cret-demo")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#decisions"))); err != nil {
		t.Fatal(err)
	}
	dash := text("#decisions")
	for _, want := range []string{"acme-001: Overage up to 5.00 h approved on " + today, "acme-001: Retainer change requested on " + today + ": 60.00 h a month"} {
		if !strings.Contains(dash, want) {
			t.Errorf("the dashboard's decisions lack %q:\n%s", want, dash)
		}
	}
	saveScreenshot(t, ctx, shots, "dashboard-decisions.png")
}

// noSideways fails when the page is wider than width, the viewport.
func noSideways(t *testing.T, ctx context.Context, width int) {
	t.Helper()
	w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if w > width {
		t.Errorf("the page is %d px wide on a %d px screen", w, width)
	}
}

// waitForFile waits up to 10 s for path to exist and hold want.
func waitForFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not hold %q after 10 s (%v):\n%s", path, want, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
