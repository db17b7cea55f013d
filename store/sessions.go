package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// sessionIDBytes is the entropy of a session id and of its CSRF token.
const sessionIDBytes = 32

// maxSessionID bounds what is hashed for a lookup; a real id is 43
// characters.
const maxSessionID = 256

// newSessionToken returns sessionIDBytes random bytes from crypto/rand as
// unpadded base64url (43 characters).
func newSessionToken() (string, error) {
	b := make([]byte, sessionIDBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// sessionHash is what the sessions table keeps of a session id.
func sessionHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// CreateSession starts a dashboard session that lasts ttl from now and
// returns its id (for the cookie; only its SHA-256 is stored) and its CSRF
// token. Sessions expired at now are deleted in the same transaction.
func (s *DB) CreateSession(ctx context.Context, now time.Time, ttl time.Duration) (id, csrf string, err error) {
	ctx = unversioned(ctx) // bookkeeping: no page shows it
	if ttl <= 0 {
		return "", "", fmt.Errorf("create session: ttl %s is not positive", ttl)
	}
	if id, err = newSessionToken(); err != nil {
		return "", "", fmt.Errorf("create session: %w", err)
	}
	if csrf, err = newSessionToken(); err != nil {
		return "", "", fmt.Errorf("create session: %w", err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, now.Unix()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, csrf, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			sessionHash(id), csrf, now.Unix(), now.Add(ttl).Unix())
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("create session: %w", err)
	}
	return id, csrf, nil
}

// Session returns the CSRF token of session id, or ErrNotFound when the id
// is unknown or the session has expired at now (an expired session is
// deleted then).
func (s *DB) Session(ctx context.Context, id string, now time.Time) (csrf string, err error) {
	ctx = unversioned(ctx) // bookkeeping: no page shows it
	if id == "" || len(id) > maxSessionID {
		return "", fmt.Errorf("session: %w", ErrNotFound)
	}
	h := sessionHash(id)
	var expires int64
	err = s.db.QueryRowContext(ctx, `SELECT csrf, expires_at FROM sessions WHERE id_hash = ?`, h).Scan(&csrf, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("session: %w", ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("session: %w", err)
	}
	if expires <= now.Unix() {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ? AND expires_at <= ?`, h, now.Unix()); err != nil {
			return "", fmt.Errorf("session: delete expired: %w", err)
		}
		return "", fmt.Errorf("session: %w", ErrNotFound)
	}
	return csrf, nil
}

// DeleteSession ends session id; an unknown id is not an error (the session
// is gone either way).
func (s *DB) DeleteSession(ctx context.Context, id string) error {
	ctx = unversioned(ctx) // bookkeeping: no page shows it
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, sessionHash(id)); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return nil
	})
}
