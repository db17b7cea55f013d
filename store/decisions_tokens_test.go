package store_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

// TestOpenPortal: which credentials open which contract's portal, on which
// day. A check-in link opens its contract's portal during its month only,
// and dies with the portal token it was made from.
func TestOpenPortal(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	acmeToken, err := db.RotatePortalToken(ctx, "acme-001", now)
	if err != nil {
		t.Fatal(err)
	}
	globexToken, err := db.RotatePortalToken(ctx, "globex-002", now)
	if err != nil {
		t.Fatal(err)
	}
	nov, dec := per("2026-11"), per("2026-12")
	acmeNov, err := db.CheckinLink(ctx, "acme-001", nov)
	if err != nil {
		t.Fatal(err)
	}
	again, err := db.CheckinLink(ctx, "acme-001", nov)
	if err != nil || again != acmeNov {
		t.Fatalf("the same link twice: %q then %q (%v): a retried email would differ", acmeNov, again, err)
	}
	if !strings.HasPrefix(acmeNov, "acme-001.2026-11.") {
		t.Fatalf("link %q", acmeNov)
	}
	acmeDec, err := db.CheckinLink(ctx, "acme-001", dec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CheckinLink(ctx, "initech-003", nov); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a contract without a portal token: %v", err)
	}
	mac := acmeNov[len("acme-001.2026-11."):]
	tampered := []byte(mac)
	tampered[3] ^= 1
	if tampered[3] == '.' || tampered[3] > 'z' {
		tampered[3] = 'A'
	}

	day := func(s string) billing.Date { d, _ := billing.ParseDate(s); return d }
	tests := []struct {
		name, cred string
		today      billing.Date
		want       string // the contract; "" = not found
		link       bool
	}{
		{"acme's token", acmeToken, day("2026-11-25"), "acme-001", false},
		{"globex's token", globexToken, day("2027-05-01"), "globex-002", false},
		{"acme's link in its month", acmeNov, day("2026-11-15"), "acme-001", true},
		{"on its last day", acmeNov, day("2026-11-30"), "acme-001", true},
		{"the next month", acmeNov, day("2026-12-01"), "", false},
		{"before its month", acmeDec, day("2026-11-30"), "", false},
		{"december's link in december", acmeDec, day("2026-12-01"), "acme-001", true},
		{"acme's signature on globex", "globex-002.2026-11." + mac, day("2026-11-15"), "", false},
		{"acme's signature on another month", "acme-001.2026-12." + mac, day("2026-12-15"), "", false},
		{"a tampered signature", "acme-001.2026-11." + string(tampered), day("2026-11-15"), "", false},
		{"no signature", "acme-001.2026-11.", day("2026-11-15"), "", false},
		{"a short signature", "acme-001.2026-11." + base64.RawURLEncoding.EncodeToString([]byte("short")), day("2026-11-15"), "", false},
		{"a bad month", "acme-001.2026-13." + mac, day("2026-11-15"), "", false},
		{"a guess", "xyz", day("2026-11-15"), "", false},
		{"empty", "", day("2026-11-15"), "", false},
		{"too long", strings.Repeat("a", 300), day("2026-11-15"), "", false},
	}
	for _, tt := range tests {
		a, err := db.OpenPortal(ctx, tt.cred, tt.today)
		if tt.want == "" {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: %+v, %v; want not found", tt.name, a, err)
			}
			continue
		}
		if err != nil || a.Contract != tt.want || a.Link != tt.link {
			t.Errorf("%s: %+v, %v; want %s (link %v)", tt.name, a, err, tt.want, tt.link)
		}
		if err != nil && strings.Contains(err.Error(), tt.cred) {
			t.Errorf("%s: the error holds the credential", tt.name)
		}
	}

	// A rotated token kills its links, and the old token.
	if _, err := db.RotatePortalToken(ctx, "acme-001", now); err != nil {
		t.Fatal(err)
	}
	for _, cred := range []string{acmeToken, acmeNov} {
		if _, err := db.OpenPortal(ctx, cred, day("2026-11-25")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after rotation: %v", err)
		}
	}
	fresh, err := db.CheckinLink(ctx, "acme-001", nov)
	if err != nil || fresh == acmeNov {
		t.Fatalf("a link after rotation: %q, %v", fresh, err)
	}
	if a, err := db.OpenPortal(ctx, fresh, day("2026-11-25")); err != nil || a.Contract != "acme-001" {
		t.Fatalf("the new link: %+v, %v", a, err)
	}
}

// TestFormTokens: a form token is good for its contract's portal until it
// expires; another contract's, a rotated token's, a tampered or a missing
// one is refused. Each token has its own nonce.
func TestFormTokens(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	day := billing.DateOf(2026, 11, 25)
	openAs := func(contract string) (string, *store.PortalAccess) {
		t.Helper()
		token, err := db.RotatePortalToken(ctx, contract, now)
		if err != nil {
			t.Fatal(err)
		}
		a, err := db.OpenPortal(ctx, token, day)
		if err != nil {
			t.Fatal(err)
		}
		return token, a
	}
	_, acme := openAs("acme-001")
	_, globex := openAs("globex-002")
	tokA, err := acme.FormToken(now)
	if err != nil {
		t.Fatal(err)
	}
	tokA2, _ := acme.FormToken(now)
	tokG, _ := globex.FormToken(now)
	// The same portal opened by its check-in link takes the same forms.
	link, err := db.CheckinLink(ctx, "acme-001", per("2026-11"))
	if err != nil {
		t.Fatal(err)
	}
	viaLink, err := db.OpenPortal(ctx, link, day)
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(tokA)
	if tampered[10] == 'A' {
		tampered[10] = 'B'
	} else {
		tampered[10] = 'A'
	}

	tests := []struct {
		name  string
		a     *store.PortalAccess
		token string
		at    time.Time
		want  error
	}{
		{"its own portal", acme, tokA, now, nil},
		{"another token of it", acme, tokA2, now.Add(time.Hour), nil},
		{"through the check-in link", viaLink, tokA, now, nil},
		{"just before expiry", acme, tokA, now.Add(store.FormTokenTTL), nil},
		{"expired", acme, tokA, now.Add(store.FormTokenTTL + time.Second), store.ErrFormExpired},
		{"another contract's token", acme, tokG, now, store.ErrFormToken},
		{"acme's token at globex", globex, tokA, now, store.ErrFormToken},
		{"tampered", acme, string(tampered), now, store.ErrFormToken},
		{"missing", acme, "", now, store.ErrFormToken},
		{"not base64", acme, "!!!!", now, store.ErrFormToken},
		{"too short", acme, tokA[:20], now, store.ErrFormToken},
	}
	nonces := map[string]bool{}
	for _, tt := range tests {
		nonce, err := tt.a.CheckFormToken(tt.token, tt.at)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (nonce != "") {
			t.Errorf("%s: %q, %v; want %v", tt.name, nonce, err, tt.want)
		}
		if nonce != "" {
			nonces[nonce] = true
		}
	}
	if len(nonces) != 2 {
		t.Errorf("nonces %v: want one per token", nonces)
	}
	// After a rotation, forms of the old token are refused.
	_, rotated := openAs("acme-001")
	if _, err := rotated.CheckFormToken(tokA, now); !errors.Is(err, store.ErrFormToken) {
		t.Errorf("a form of the rotated token: %v", err)
	}
}
