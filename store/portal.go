package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"
)

// portalTokenBytes is the randomness of a portal token: 256 bits, well over
// the 128 the spec asks for, so a guess is hopeless even without the rate
// limit.
const portalTokenBytes = 32

// maxPortalToken bounds what is hashed for a lookup; a real token is 43
// characters.
const maxPortalToken = 256

// RotatePortalToken creates a new client portal token for contract id and
// returns it. Only its SHA-256 is stored; any earlier token of the contract
// stops working in the same transaction.
func (s *DB) RotatePortalToken(ctx context.Context, contractID string, now time.Time) (string, error) {
	raw := make([]byte, portalTokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("portal token for %s: %w", contractID, err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO portal_tokens (contract_id, token_hash, created_at) VALUES (?, ?, ?)
			ON CONFLICT (contract_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
			contractID, portalTokenHash(token), now.Unix())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("portal token for %s: %w", contractID, err)
	}
	return token, nil
}

// portalTokenHash is what is stored of a token: its SHA-256 in hex.
func portalTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
