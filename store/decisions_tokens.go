package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"retainer/billing"
)

// The portal's credentials beyond its token (SPEC §12).
//
// A portal token is stored only as its SHA-256, so nothing the daemon keeps
// can rebuild the portal URL. Two things are signed instead, with one
// random key made once per database (table secrets, name "portal"), so
// that every replica on a shared PostgreSQL database signs and checks
// alike:
//
//   - Form tokens. Every decision form carries one: a random nonce, an
//     expiry, and an HMAC over them, the contract and the hash of the
//     portal token the page was opened with. A post whose token is missing,
//     forged, made for another contract or for a rotated portal token is
//     refused; the nonce is recorded with the decision, so a replayed form
//     records nothing more.
//   - Check-in links. The mid-month check-in email links to the portal
//     with "<contract>.<YYYY-MM>.<HMAC over the contract, the month and the
//     portal token's hash>" in place of the token: it opens the same
//     portal, only during that month, and dies when the portal token is
//     rotated (`retainer portal link`). A retried email carries the same
//     link.
//
// Whoever holds a copy of the database holds the key, and could make a
// check-in link for the current month of a contract that has a portal
// token: as with any message rendered from the database when it is sent,
// the database is as private as the portal it serves.

// portalSecretName names the portal's key in the secrets table.
const portalSecretName = "portal"

// portalSecretBytes is the key's size: 256 bits.
const portalSecretBytes = 32

// FormTokenTTL is how long a decision form may stay open before its post
// is refused as expired (the page is reloaded for a fresh one).
const FormTokenTTL = 12 * time.Hour

// Form token errors.
var (
	// ErrFormToken is a form token that is missing, malformed, or not made
	// for this portal (another contract's, a rotated token's, forged).
	ErrFormToken = errors.New("the form's token is missing or not this portal's")
	// ErrFormExpired is a genuine form token past its expiry.
	ErrFormExpired = errors.New("the form has expired")
)

// PortalAccess is a portal request's credential, resolved by OpenPortal:
// the contract, and what its form tokens are bound to.
type PortalAccess struct {
	Contract string
	// Link is true when the request came by a check-in link rather than
	// by the portal token.
	Link bool

	tokenHash string // the SHA-256 (hex) of the contract's portal token
	key       []byte // the database's portal key
}

// OpenPortal resolves the credential in a portal URL on day today (in the
// agency timezone): a contract's current portal token, or one of its
// check-in links (CheckinLink) during the month it was made for. Anything
// else — an unknown or rotated token, a link of a rotated token or of
// another month, a forged link — is ErrNotFound. The error never contains
// the credential.
func (s *DB) OpenPortal(ctx context.Context, credential string, today billing.Date) (*PortalAccess, error) {
	notFound := fmt.Errorf("portal token: %w", ErrNotFound)
	if credential == "" || len(credential) > maxPortalToken {
		return nil, notFound
	}
	if contract, p, mac, ok := parseCheckinLink(credential); ok {
		if today.Period() != p {
			return nil, notFound
		}
		a := &PortalAccess{Contract: contract, Link: true}
		err := s.read(ctx, func(tx *sql.Tx) error {
			if err := tx.QueryRowContext(ctx, `SELECT token_hash FROM portal_tokens WHERE contract_id = ?`, contract).Scan(&a.tokenHash); err != nil {
				return err
			}
			var err error
			a.key, err = readPortalSecret(ctx, tx)
			return err
		})
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound // no portal token, or no link was ever made
		}
		if err != nil {
			return nil, fmt.Errorf("portal token: %w", err)
		}
		if !hmac.Equal(mac, a.linkMAC(p)) {
			return nil, notFound
		}
		return a, nil
	}
	want := portalTokenHash(credential)
	a := &PortalAccess{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT contract_id, token_hash FROM portal_tokens WHERE token_hash = ?`, want).Scan(&a.Contract, &a.tokenHash); err != nil {
			return err
		}
		var err error
		if a.key, err = readPortalSecret(ctx, tx); errors.Is(err, sql.ErrNoRows) {
			err = nil // made below
		}
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("portal token: %w", err)
	}
	// The index found the row by its hash; compare again in constant time
	// before trusting it.
	if subtle.ConstantTimeCompare([]byte(a.tokenHash), []byte(want)) != 1 {
		return nil, notFound
	}
	if a.key == nil {
		if a.key, err = s.portalSecret(ctx); err != nil {
			return nil, fmt.Errorf("portal token: %w", err)
		}
	}
	return a, nil
}

// CheckinLink returns the credential of contract's check-in link for
// period p, to put in place of the portal token in a portal URL; it opens
// the portal during p while the contract's portal token is unchanged. A
// contract without a portal token has none: ErrNotFound.
func (s *DB) CheckinLink(ctx context.Context, contract string, p billing.Period) (string, error) {
	a := &PortalAccess{Contract: contract}
	err := s.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT token_hash FROM portal_tokens WHERE contract_id = ?`, contract).Scan(&a.tokenHash)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("portal token of %s: %w", contract, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("portal token of %s: %w", contract, err)
	}
	if a.key, err = s.portalSecret(ctx); err != nil {
		return "", fmt.Errorf("check-in link of %s: %w", contract, err)
	}
	return contract + "." + p.String() + "." + base64.RawURLEncoding.EncodeToString(a.linkMAC(p)), nil
}

// parseCheckinLink reads "<contract>.<YYYY-MM>.<mac>". A portal token
// (base64url) never holds a dot.
func parseCheckinLink(s string) (contract string, p billing.Period, mac []byte, ok bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] == "" {
		return "", 0, nil, false
	}
	p, err := billing.ParsePeriod(parts[1])
	if err != nil || p.String() != parts[1] {
		return "", 0, nil, false
	}
	mac, err = base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(mac) != sha256.Size {
		return "", 0, nil, false
	}
	return parts[0], p, mac, true
}

// linkMAC is the signature of a's contract's check-in link for period p.
func (a *PortalAccess) linkMAC(p billing.Period) []byte {
	m := hmac.New(sha256.New, a.key)
	fmt.Fprintf(m, "retainer check-in link\x00%s\x00%s\x00%s", a.Contract, p, a.tokenHash)
	return m.Sum(nil)
}

// formNonceBytes is the randomness of a form's nonce.
const formNonceBytes = 16

// formTokenLen is a form token's size before encoding: nonce, expiry
// (Unix seconds, big-endian), HMAC-SHA256.
const formTokenLen = formNonceBytes + 8 + sha256.Size

// FormToken returns a new form token for a decision form shown at now:
// a fresh nonce, valid until now + FormTokenTTL, bound to a's contract and
// portal token.
func (a *PortalAccess) FormToken(now time.Time) (string, error) {
	b := make([]byte, formNonceBytes, formTokenLen)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("form token: %w", err)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(now.Add(FormTokenTTL).Unix()))
	b = append(b, a.formMAC(b)...)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// CheckFormToken checks a posted form token at now and returns its nonce
// (hex), to be recorded with the decision: ErrFormToken when it is not a
// token FormToken made for a's contract and portal token, ErrFormExpired
// when it is but its time is up.
func (a *PortalAccess) CheckFormToken(token string, now time.Time) (nonce string, err error) {
	if token == "" || len(token) > 2*formTokenLen {
		return "", ErrFormToken
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != formTokenLen {
		return "", ErrFormToken
	}
	signed, mac := b[:formNonceBytes+8], b[formNonceBytes+8:]
	if !hmac.Equal(mac, a.formMAC(signed)) {
		return "", ErrFormToken
	}
	if expires := int64(binary.BigEndian.Uint64(signed[formNonceBytes:])); now.Unix() > expires {
		return "", ErrFormExpired
	}
	return hex.EncodeToString(signed[:formNonceBytes]), nil
}

// formMAC signs a form token's nonce and expiry for a's contract and
// portal token.
func (a *PortalAccess) formMAC(signed []byte) []byte {
	m := hmac.New(sha256.New, a.key)
	fmt.Fprintf(m, "retainer portal form\x00%s\x00%s\x00", a.Contract, a.tokenHash)
	m.Write(signed)
	return m.Sum(nil)
}

// readPortalSecret reads the portal key in tx; sql.ErrNoRows when it has
// not been made yet.
func readPortalSecret(ctx context.Context, tx *sql.Tx) ([]byte, error) {
	var v string
	if err := tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, portalSecretName).Scan(&v); err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) < portalSecretBytes {
		return nil, fmt.Errorf("secret %s: malformed", portalSecretName)
	}
	return key, nil
}

// portalSecret returns the database's portal key, making it on its first
// use. Two processes making it at once keep the first one written.
func (s *DB) portalSecret(ctx context.Context) ([]byte, error) {
	var key []byte
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		key, err = readPortalSecret(ctx, tx)
		return err
	})
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	fresh := make([]byte, portalSecretBytes)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("secret %s: %w", portalSecretName, err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets (name, value, created_at) VALUES (?, ?, `+s.d.now+`)
			ON CONFLICT (name) DO NOTHING`, portalSecretName, hex.EncodeToString(fresh)); err != nil {
			return err
		}
		var err error
		key, err = readPortalSecret(ctx, tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", portalSecretName, err)
	}
	return key, nil
}
