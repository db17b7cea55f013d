package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"
)

// fitNames are client names as agencies write them: long, in several
// scripts, with the words a sales deck adds.
var fitNames = []string{
	"Consolidated Amalgamated International Holdings Group — Digital Transformation Office",
	"Société Générale de Développement Durable et d'Innovation Numérique",
	"株式会社サンプル・デジタル・ソリューションズ東京本社営業部",
	"Northwestern Regional Healthcare Partners Foundation",
	"Globex",
}

// fitPage is what a page says about its width.
type fitPage struct {
	Doc, Win int      // the document's scroll width, the window's inner width
	Wraps    []string // tables scrolling inside their .table-wrap: "id 1400>1200"
}

// fitCheck measures the page in the browser.
const fitCheck = `(() => {
	const wraps = [...document.querySelectorAll('.table-wrap')]
		.filter(w => w.scrollWidth > w.clientWidth)
		.map(w => ((w.querySelector('table') || w).id || 'table') + ' ' + w.scrollWidth + '>' + w.clientWidth);
	return {Doc: document.documentElement.scrollWidth, Win: window.innerWidth, Wraps: wraps};
})()`

// TestDashboardFitsItsScreen: the burn tracker, a contract's page, the
// portfolio and the client portal, with 28 contracts — long client names in
// three scripts, money in USD, EUR and JPY up to seven figures, every pricing
// band — screenshotted at 1280 and 390 px wide. At 1280 px no page scrolls
// sideways and no table scrolls inside its box: every column fits. At 390 px
// no page scrolls sideways (a table may scroll inside its own box).
func TestDashboardFitsItsScreen(t *testing.T) {
	ctx := browserContext(t)
	e := newEnv(t)
	e.now = daemonClock
	config := filepath.Join(e.dir, "retainer.yaml")
	body, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	var yaml, csv strings.Builder
	yaml.Write(body)
	csv.WriteString("date,client,hours\n")
	// Burns of 45, 65, 85, 100 and 125% of the month's hours: every band.
	burns := []int{45, 65, 85, 100, 125}
	currencies := []struct {
		code string
		fee  int
	}{{"USD", 12500}, {"EUR", 98000}, {"JPY", 2450000}}
	const contracts = 24
	for i := range contracts {
		id := fmt.Sprintf("fit-%02d", i)
		client := fmt.Sprintf("%s %02d", fitNames[i%len(fitNames)], i)
		cur := currencies[i%len(currencies)]
		hours := 20 + i
		fmt.Fprintf(&yaml, "\n  %s:\n    client: %q\n    tier: Enterprise Growth Retainer Plus\n    currency: %s\n"+
			"    monthly_hours: %d\n    monthly_fee: %d\n    overage_rate: %d\n    start: 2026-01\n    end: 2026-12\n",
			id, client, cur.code, hours, cur.fee*(i+1), cur.fee/40)
		for m := 1; m <= 11; m++ {
			fmt.Fprintf(&csv, "2026-%02d-10,%s,%d.%02d\n", m, client, hours*burns[i%len(burns)]/100, hours*burns[i%len(burns)]%100)
		}
	}
	if err := os.WriteFile(config, []byte(yaml.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	hoursFile := filepath.Join(e.dir, "hours.csv")
	if err := os.WriteFile(hoursFile, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	e.must("import", hoursFile)

	addr := freePort(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-demo"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	e.extra = []string{"RETAINER_HTTP__LISTEN=" + addr, "RETAINER_HTTP__BASE_URL=" + base,
		"RETAINER_HTTP__ADMIN_PASSWORD_HASH=" + string(hash), "RETAINER_SCHEDULE__DISPATCH="}
	portal := strings.TrimSpace(strings.SplitN(e.must("portal", "link", "fit-02"), "\n", 2)[0])
	d := startDaemon(t, config, e.extra...) // closes January to October on its way up
	d.waitFor(0, "catch-up done")
	shots := screenshotDir(t)
	browserLogin(t, ctx, base+"/", "s3cret-demo")

	pages := []struct {
		name, url, ready string
		admin            bool // the agency's: its tables must fit at 1280 px
		contains         []string
	}{
		{"dashboard", base + "/", "#tracker", true,
			[]string{"12 MONTHS", "far over-sold", "over-sold", "under-used", "priced right", "under-priced", "JPY 7,350,000", "EUR 196,000.00"}},
		{"contract", base + "/contracts/fit-00", "#history-table", true,
			[]string{"Burn history 2025-11 to 2026-10", "far over-sold", "2026-10"}},
		{"portfolio", base + "/portfolio", "#portfolio", true,
			[]string{"28 contracts", "JPY", "EUR", "USD"}},
		{"portal", portal, "#remaining", false, nil},
	}
	for _, width := range []int64{1280, 390} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900)); err != nil {
			t.Fatal(err)
		}
		for _, p := range pages {
			if err := chromedp.Do(ctx, chromedp.Navigate(p.url), chromedp.WaitVisible(chromedp.CSS(p.ready))); err != nil {
				t.Fatalf("%s at %d px: %v", p.name, width, err)
			}
			fit, err := chromedp.Run(ctx, chromedp.Evaluate[fitPage](fitCheck))
			if err != nil {
				t.Fatal(err)
			}
			saveScreenshot(t, ctx, shots, fmt.Sprintf("fit-%s-%d.png", p.name, width))
			if fit.Doc > fit.Win {
				t.Errorf("%s at %d px: the page is %d px wide, wider than its %d px window", p.name, width, fit.Doc, fit.Win)
			}
			if width == 1280 && p.admin && len(fit.Wraps) > 0 {
				t.Errorf("%s at 1280 px: tables scroll sideways inside their box: %v", p.name, fit.Wraps)
			}
			if width != 1280 {
				continue
			}
			text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range p.contains {
				if !strings.Contains(text, want) {
					t.Errorf("%s lacks %q", p.name, want)
				}
			}
		}
	}
}
