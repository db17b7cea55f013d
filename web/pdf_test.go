package web

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/config"
	"retainer/store"
)

// pdfText is the text pdftotext (poppler-utils, installed by .ci/run)
// reads in pdf.
func pdfText(t *testing.T, pdf string) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext is needed to read the PDF's text: apt-get install poppler-utils (.ci/run does)")
	}
	path := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(path, []byte(pdf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

// pdfFixture is the shared fixture with February's statements sent (the
// outbox delivered to the file transport) and March closed under review:
// acme-2026-03 is a draft.
func pdfFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	ctx := context.Background()
	portalSwapConfig(t, f, func(cfg *config.Config) { cfg.Notify.Email.From = "billing@northwind.example" })
	if res, err := f.env.Dispatcher(f.clock).Dispatch(ctx, true); err != nil || res.Sent == 0 {
		t.Fatalf("dispatch: %+v, %v", res, err)
	}
	if st, err := f.env.DB.StatementByInvoice(ctx, "acme-2026-02"); err != nil || st.Status != store.StatusSent {
		t.Fatalf("acme-2026-02: %+v, %v", st, err)
	}
	ny := f.env.Config.Location
	f.mu.Lock()
	f.now = time.Date(2026, 4, 2, 10, 0, 0, 0, ny)
	f.mu.Unlock()
	if _, err := f.env.DB.CloseWith(ctx, f.env.Rules, billing.NewPeriod(2026, time.March),
		store.CloseOptions{Currency: "USD", Location: ny, Review: true}, f.clock()); err != nil {
		t.Fatal(err)
	}
	return f
}

func checkPDFResponse(t *testing.T, status int, header http.Header, body, invoice string) string {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("GET %s.pdf = %d\n%.200s", invoice, status, body)
	}
	if ct := header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := header.Get("Content-Disposition"); cd != "attachment; filename="+invoice+".pdf" {
		t.Errorf("Content-Disposition %q", cd)
	}
	if cc := header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	if !strings.HasPrefix(body, "%PDF-") {
		t.Fatalf("not a PDF: %.20q", body)
	}
	text := pdfText(t, body)
	if !strings.Contains(text, invoice) || !strings.Contains(text, "Northwind Studio") {
		t.Errorf("the PDF's text lacks %s or the agency:\n%s", invoice, text)
	}
	return text
}

// The portal serves the PDF of its own contract's issued statements; a
// draft, another contract's statement, an unknown invoice and a wrong
// token all get the plain 404 of an unknown path.
func TestPortalStatementPDF(t *testing.T) {
	f := pdfFixture(t)
	acme, globex := portalLink(t, f, "acme"), portalLink(t, f, "globex")

	// The portal's page links each listed statement's PDF.
	if page := portalGet(t, f, acme); !strings.Contains(page.body, `href="`+acme+`/statements/acme-2026-02.pdf"`) {
		t.Errorf("the portal page does not link the PDF:\n%s", page.body)
	}
	r := portalGet(t, f, acme+"/statements/acme-2026-02.pdf")
	text := checkPDFResponse(t, r.status, r.header, r.body, "acme-2026-02")
	if strings.Contains(text, "Globex") {
		t.Error("acme's PDF names Globex")
	}
	if r.header.Get("X-Robots-Tag") != "noindex, nofollow" {
		t.Errorf("X-Robots-Tag %q", r.header.Get("X-Robots-Tag"))
	}
	r = portalGet(t, f, globex+"/statements/globex-2026-02.pdf")
	checkPDFResponse(t, r.status, r.header, r.body, "globex-2026-02")

	unknown := portalGet(t, f, "/no/such/path")
	for _, path := range []string{
		acme + "/statements/acme-2026-03.pdf",   // a draft under review
		globex + "/statements/acme-2026-02.pdf", // another contract's
		acme + "/statements/globex-2026-02.pdf",
		acme + "/statements/acme-2026-04.pdf", // no such statement
		acme + "/statements/.pdf",
		"/p/not-a-token/statements/acme-2026-02.pdf",
	} {
		r := portalGet(t, f, path)
		if r.status != http.StatusNotFound || r.body != unknown.body || strings.HasPrefix(r.body, "%PDF") {
			t.Errorf("GET %s = %d %.40q, want the 404 of an unknown path", path, r.status, r.body)
		}
	}
	// The statement page beside it is unchanged.
	if r := portalGet(t, f, acme+"/statements/2026-02"); r.status != http.StatusOK || !strings.HasPrefix(r.body, "<!DOCTYPE html>") {
		t.Errorf("statement page: %d", r.status)
	}
}

// The dashboard serves any statement's PDF to the logged-in agency,
// drafts included (marked as such), and nothing without a login.
func TestDashboardStatementPDF(t *testing.T) {
	f := pdfFixture(t)
	if r := dashGet(t, f, f.client(), "/statements/acme-2026-02.pdf"); r.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Errorf("without a session: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	c, _ := dashLoggedIn(t, f)
	r := dashGet(t, f, c, "/statements/acme-2026-02.pdf")
	checkPDFResponse(t, r.StatusCode, r.Header, r.body, "acme-2026-02")
	r = dashGet(t, f, c, "/statements/acme-2026-03.pdf")
	if text := checkPDFResponse(t, r.StatusCode, r.Header, r.body, "acme-2026-03"); !strings.Contains(text, "DRAFT under review") {
		t.Errorf("the draft's PDF does not say it is a draft:\n%s", text)
	}
	if r := dashGet(t, f, c, "/statements/nope-2026-02.pdf"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown invoice: %d", r.StatusCode)
	}
	if r := dashGet(t, f, c, "/statements/acme-2026-02"); r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("statement page: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
}
