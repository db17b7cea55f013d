package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"retainer/billing"
	"retainer/store"
)

func TestPortalTokens(t *testing.T) {
	ctx := context.Background()
	path := dsn(t)
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	t0 := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)

	first, err := db.RotatePortalToken(ctx, "acme-001", t0)
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.RotatePortalToken(ctx, "globex-002", t0)
	if err != nil {
		t.Fatal(err)
	}
	second, err := db.RotatePortalToken(ctx, "acme-001", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{first, other, second} {
		if len(tok) < 22 || strings.ContainsAny(tok, "+/=") {
			t.Errorf("token %q: want at least 22 URL-safe characters", tok)
		}
	}
	if first == second || first == other || second == other {
		t.Fatalf("tokens repeat: %q %q %q", first, other, second)
	}

	tests := []struct {
		name, token, want string // want "": ErrNotFound
	}{
		{"current", second, "acme-001"},
		{"other contract", other, "globex-002"},
		{"rotated", first, ""},
		{"empty", "", ""},
		{"unknown", strings.Repeat("A", 43), ""},
		{"one character off", second[:len(second)-1] + flip(second[len(second)-1]), ""},
		{"a stored hash is not a token", hashOf(second), ""},
		{"huge", strings.Repeat("x", 1<<20), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var id string
			a, err := db.OpenPortal(ctx, tt.token, billing.DateOf(2026, 3, 10))
			if err == nil {
				id = a.Contract
			}
			if tt.want == "" {
				if !errors.Is(err, store.ErrNotFound) || id != "" {
					t.Fatalf("OpenPortal = %q, %v; want ErrNotFound", id, err)
				}
				if tt.token != "" && strings.Contains(err.Error(), tt.token) {
					t.Errorf("error names the token: %v", err)
				}
				return
			}
			if err != nil || id != tt.want {
				t.Fatalf("OpenPortal = %q, %v; want %q", id, err, tt.want)
			}
		})
	}

	// Only hashes are stored: one row per contract, holding the SHA-256 of
	// its current token, and no token anywhere in the database files.
	if onPostgres() {
		return // the check reads the SQLite files
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT contract_id, token_hash, created_at FROM portal_tokens ORDER BY contract_id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id, hash string
		var at int64
		if err := rows.Scan(&id, &hash, &at); err != nil {
			t.Fatal(err)
		}
		got = append(got, id+" "+hash)
		if id == "acme-001" && at != t0.Add(time.Hour).Unix() {
			t.Errorf("acme created_at %d", at)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"acme-001 " + hashOf(second), "globex-002 " + hashOf(other)}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("portal_tokens:\n got %q\nwant %q", got, want)
	}
	for _, name := range []string{path, path + "-wal"} {
		body, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{first, second, other} {
			if bytes.Contains(body, []byte(tok)) {
				t.Errorf("%s holds a raw token", filepath.Base(name))
			}
		}
	}
}

func hashOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}
